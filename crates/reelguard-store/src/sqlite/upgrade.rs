//! Reading records in the shapes earlier versions stored, and the data conversions of schema
//! migrations that rewrite them in today's shape.
//!
//! The decision that shapes it: one lenient reader serves both the migration (which rewrites
//! every stored row once) and the row decoder (so a row that escaped the migration, say one
//! written by an older binary still running beside it, still reads instead of failing a whole
//! listing). Until schema version 4, segments were stored in the API's rounded shape
//! (`suspect_start_s`, `suspect_end_s`, `ref_start_s`, `ref_end_s`, `speed`, `mirrored`,
//! `score`) with no signal name; the fields that shape lacks read as 0, and the signal as
//! video pHash, the only signal there was.

use reelguard_model::{Segment, SignalName, VIDEO_PHASH};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::Value;

use crate::error::StoreError;

/// A stored segment of any version.
#[derive(Deserialize)]
struct StoredSegment {
    suspect_start_s: f64,
    suspect_end_s: f64,
    ref_start_s: f64,
    ref_end_s: f64,
    speed: f64,
    mirrored: bool,
    #[serde(default)]
    matched_frames: usize,
    #[serde(default)]
    mean_distance: f64,
    #[serde(default)]
    coverage: f64,
    #[serde(default)]
    score: f64,
    #[serde(default)]
    evidence: f64,
    #[serde(default = "video_phash")]
    signal: SignalName,
    #[serde(default)]
    false_match_rate: Option<f64>,
    #[serde(default)]
    confirmed_by: Option<SignalName>,
}

fn video_phash() -> SignalName {
    VIDEO_PHASH
}

impl From<StoredSegment> for Segment {
    fn from(s: StoredSegment) -> Segment {
        Segment {
            suspect_start_s: s.suspect_start_s,
            suspect_end_s: s.suspect_end_s,
            ref_start_s: s.ref_start_s,
            ref_end_s: s.ref_end_s,
            speed: s.speed,
            mirrored: s.mirrored,
            matched_frames: s.matched_frames,
            mean_distance: s.mean_distance,
            coverage: s.coverage,
            score: s.score,
            evidence: s.evidence,
            signal: s.signal,
            false_match_rate: s.false_match_rate,
            confirmed_by: s.confirmed_by,
        }
    }
}

/// A stored `segments` column, of any version. Entries of no known shape are skipped (as the
/// evidence reader always did); a column that is not a JSON array is damaged.
pub(super) fn decode_segments(text: &str) -> Result<Vec<Segment>, serde_json::Error> {
    if let Ok(all) = serde_json::from_str::<Vec<StoredSegment>>(text) {
        return Ok(all.into_iter().map(Segment::from).collect());
    }
    let entries: Vec<Value> = serde_json::from_str(text)?;
    Ok(entries
        .into_iter()
        .filter_map(|entry| serde_json::from_value::<StoredSegment>(entry).ok())
        .map(Segment::from)
        .collect())
}

/// Schema version 4's data step: every match's segments rewritten in today's shape (the new
/// `signals` column already defaults to video pHash, which found every earlier match).
pub(super) fn v4_typed_segments(tx: &Connection) -> Result<(), StoreError> {
    let rows: Vec<(i64, String)> = tx
        .prepare("SELECT id, segments FROM matches")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE matches SET segments = ?2 WHERE id = ?1")?;
    for (id, text) in rows {
        // A damaged column stays as it was: the reader reports it where it is read.
        let Ok(segments) = decode_segments(&text) else {
            tracing::warn!(
                match_id = id,
                "stored segments do not parse; left as they are"
            );
            continue;
        };
        update.execute((id, serde_json::to_string(&segments)?))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use reelguard_model::{ContentBox, RegionKind, Segment, VIDEO_PHASH};
    use rusqlite::Connection;

    use super::super::{dialect, schema, SqliteStore, FILE_NAME};
    use crate::prelude::*;
    use crate::{MatchFilter, NewMatch, SourceMeta};

    /// What `segments_json` in the server wrote before schema version 4: rounded, no signal.
    const SCHEMA_3_SEGMENTS: &str = r#"[{"suspect_start_s":1.23,"suspect_end_s":9.5,"ref_start_s":0.0,"ref_end_s":8.27,"speed":1.0,"mirrored":true,"score":0.912},{"suspect_start_s":12.0,"suspect_end_s":20.0,"ref_start_s":30.0,"ref_end_s":38.0,"speed":1.25,"mirrored":false,"score":0.5},{"unrelated":true}]"#;
    const SCHEMA_3_BOX: &str = r#"{"x":0.1,"y":0.2,"width":0.8,"height":0.6,"kind":"borders","frame_width":720,"frame_height":1280}"#;

    /// A data directory as a build of schema version 3 left it, with one match.
    fn schema_3_store(dir: &std::path::Path) {
        let conn = Connection::open(dir.join(FILE_NAME)).expect("open");
        dialect::configure(&conn).expect("pragmas");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .expect("table");
        for (version, sql) in schema::tests_support::first_three() {
            conn.execute_batch(&dialect::ddl(sql)).expect("ddl");
            conn.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [version])
                .expect("version row");
        }
        conn.execute_batch(
            "INSERT INTO members (id, name, created_at) VALUES (1, 'acme', 0);
             INSERT INTO works (work_id, member_id, title, created_at) VALUES ('w000001', 1, 'Street', 0);
             INSERT INTO suspects (id, sha256, size_bytes, file_path, created_at) VALUES (1, 'aa', 3, '/tmp/aa', 0);
             INSERT INTO jobs (id, kind, state, member_id, suspect_id, file_path, file_name, attempts, max_attempts, next_attempt_at, created_at)
                 VALUES (1, 'scan', 'succeeded', 1, 1, '/tmp/aa', 'x.mp4', 1, 3, 0, 0);
             INSERT INTO suspects (id, sha256, size_bytes, file_path, created_at) VALUES (2, 'bb', 3, '/tmp/bb', 0);
             INSERT INTO jobs (id, kind, state, member_id, suspect_id, file_path, file_name, attempts, max_attempts, next_attempt_at, created_at)
                 VALUES (2, 'scan', 'running', 1, 2, '/tmp/bb', 'y.mp4', 1, 3, 0, 0);",
        )
        .expect("rows");
        conn.execute(
            "INSERT INTO matches (suspect_id, job_id, work_id, episode, episode_id, score, \
             segments, transformation, state, created_at, content_box) \
             VALUES (1, 1, 'w000001', 1, 7, 0.9, ?1, 'mirror', 'pending_review', 0, ?2)",
            (SCHEMA_3_SEGMENTS, SCHEMA_3_BOX),
        )
        .expect("match");
    }

    #[test]
    fn matches_written_by_schema_3_read_typed_after_the_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        schema_3_store(dir.path());
        let s = SqliteStore::open_in(dir.path()).expect("open migrates");
        assert!(s.schema_version().expect("version") >= 4);
        let all = s
            .matches(&MatchFilter {
                limit: 10,
                ..MatchFilter::default()
            })
            .expect("matches read");
        assert_eq!(all.len(), 1);
        let m = &all[0];
        assert_eq!(m.signals, vec![VIDEO_PHASH]);
        assert_eq!(
            m.segments.len(),
            2,
            "the entry of no known shape is skipped"
        );
        let first = m.segments[0];
        assert_eq!(
            (
                first.suspect_start_s,
                first.ref_end_s,
                first.speed,
                first.mirrored
            ),
            (1.23, 8.27, 1.0, true)
        );
        assert_eq!((first.score, first.matched_frames), (0.912, 0));
        assert_eq!(first.signal, VIDEO_PHASH);
        assert_eq!(m.segments[1].speed, 1.25);
        let content = m.content_box.expect("content box");
        assert_eq!(content.kind, RegionKind::Borders);
        assert_eq!((content.frame_width, content.width), (720, 0.8));
        // The column itself now holds the typed shape.
        let stored: String = s
            .write()
            .query_row("SELECT segments FROM matches", [], |r| r.get(0))
            .expect("column");
        assert!(stored.contains("\"matched_frames\":0") && stored.contains("video_phash"));
        // A job left running by a build without leases has no lease: it is claimable at once.
        let job = s
            .claim_job("worker", std::time::Duration::from_secs(60))
            .expect("claim")
            .expect("the unleased running job");
        assert_eq!((job.id, job.attempts), (2, 2));
    }

    #[test]
    fn a_new_match_keeps_its_segments_at_full_precision_with_their_signal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open_in(dir.path()).expect("open");
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let file = super::super::test_support::file("a");
        let sub = s
            .submit_suspect(
                owner.id,
                &file,
                &SourceMeta::default(),
                super::super::test_support::LIMITS,
            )
            .expect("submit");
        let job = s
            .claim_job("worker", std::time::Duration::from_secs(60))
            .expect("claim")
            .expect("job");
        let segment = Segment {
            suspect_start_s: 1.234_567,
            suspect_end_s: 9.876_543,
            ref_start_s: 0.5,
            ref_end_s: 9.1,
            speed: 1.000_3,
            mirrored: false,
            matched_frames: 42,
            mean_distance: 3.25,
            coverage: 0.97,
            score: 0.871_234,
            evidence: 612.5,
            signal: VIDEO_PHASH,
            false_match_rate: Some(0.0123),
            confirmed_by: None,
        };
        let content = ContentBox {
            x: 0.0,
            y: 0.125,
            width: 1.0,
            height: 0.75,
            kind: RegionKind::Reframe,
            frame_width: 1080,
            frame_height: 1920,
        };
        let new = NewMatch {
            work_id: "w000001".into(),
            episode: 1,
            episode_id: 1,
            score: 0.87,
            segments: vec![segment, segment],
            transformation: vec![],
            content_box: Some(content),
        };
        s.complete_job(
            sub.job_id,
            job.lease_token(),
            &serde_json::json!({}),
            &[new],
        )
        .expect("done");
        let m = s
            .matches(&MatchFilter {
                limit: 1,
                ..MatchFilter::default()
            })
            .expect("matches")
            .remove(0);
        assert_eq!(m.segments, vec![segment, segment]);
        assert_eq!(m.signals, vec![VIDEO_PHASH], "each signal once");
        assert_eq!(m.content_box, Some(content));
    }
}
