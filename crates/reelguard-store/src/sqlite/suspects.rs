//! Suspects and their sources on SQLite: the crawler's submission path.
//!
//! The decision that shapes it: the look-up by content hash, the queue-depth check and the
//! inserts run as one grouped write (a savepoint of the writer's immediate transaction, shared
//! with the other submissions queued at the same moment), so two crawlers submitting the same
//! bytes at once still make one suspect and one job, and a hundred of them cost a few commits.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use super::jobs::unfinished;
use super::rows::in_list;
use super::SqliteStore;
use crate::error::StoreError;
use crate::jobs::{NewFile, QueueLimits, Source, SourceMeta, Submission, Suspects};
use crate::util::now;

/// Every submission of each of these suspects, on any connection (a reader, or the writer
/// inside a decision's transaction).
pub(super) fn sources_of(
    conn: &Connection,
    suspect_ids: &[i64],
) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
    sources_where_in(conn, "suspect_id", suspect_ids)
}

/// The sources whose `column` is one of `values`, by suspect, oldest first.
fn sources_where_in(
    conn: &Connection,
    column: &str,
    values: &[i64],
) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
    let mut params = Vec::new();
    let sql = format!(
        "SELECT {SOURCE_COLUMNS} FROM suspect_sources WHERE 1 = 1{} ORDER BY id",
        in_list(column, values, &mut params)
    );
    query_sources(conn, &sql, params)
}

/// [`Suspects::sources_page`]: ids above `after`, in id order, `limit` rows at most.
fn sources_page(
    conn: &Connection,
    suspect_id: i64,
    after: Option<i64>,
    limit: usize,
) -> Result<Vec<Source>, StoreError> {
    let params = vec![
        rusqlite::types::Value::Integer(suspect_id),
        rusqlite::types::Value::Integer(after.unwrap_or(0)),
        rusqlite::types::Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
    ];
    let sql = format!(
        "SELECT {SOURCE_COLUMNS} FROM suspect_sources WHERE suspect_id = ?1 AND id > ?2 \
         ORDER BY id LIMIT ?3"
    );
    Ok(query_sources(conn, &sql, params)?
        .remove(&suspect_id)
        .unwrap_or_default())
}

/// How many sources a suspect has (on the `(suspect_id)` index).
pub(super) fn source_count(conn: &Connection, suspect_id: i64) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM suspect_sources WHERE suspect_id = ?1",
        [suspect_id],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The sources with these ids, by suspect, oldest first: a sighting's source is read by its
/// id, not found among every source of its suspect.
pub(super) fn sources_by_id(
    conn: &Connection,
    source_ids: &[i64],
) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
    sources_where_in(conn, "id", source_ids)
}

/// The latest `per` submissions of each suspect (oldest first) and whether it has more; the
/// window function ranks each suspect's sources newest first, so the page reads at most
/// `per + 1` rows per suspect from the `(suspect_id)` index.
pub(super) fn latest_sources_of(
    conn: &Connection,
    suspect_ids: &[i64],
    per: usize,
) -> Result<HashMap<i64, (Vec<Source>, bool)>, StoreError> {
    let mut params = Vec::new();
    let sql = format!(
        "SELECT {SOURCE_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY suspect_id \
         ORDER BY id DESC) AS newest FROM suspect_sources WHERE 1 = 1{}) WHERE newest <= {} \
         ORDER BY id",
        in_list("suspect_id", suspect_ids, &mut params),
        per + 1
    );
    let mut all = query_sources(conn, &sql, params)?;
    Ok(all
        .drain()
        .map(|(suspect, mut sources)| {
            let more = sources.len() > per;
            if more {
                // Oldest first: the one past the page is the first.
                sources.remove(0);
            }
            (suspect, (sources, more))
        })
        .collect())
}

/// The columns [`query_sources`] reads, in its order.
const SOURCE_COLUMNS: &str =
    "suspect_id, id, member_id, platform, url, uploader, title_seen, found_at, submitted_at";

fn query_sources(
    conn: &Connection,
    sql: &str,
    params: Vec<rusqlite::types::Value>,
) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
        Ok((
            row.get::<_, i64>(0)?,
            Source {
                id: row.get(1)?,
                member_id: row.get(2)?,
                meta: SourceMeta {
                    platform: row.get(3)?,
                    url: row.get(4)?,
                    uploader: row.get(5)?,
                    title_seen: row.get(6)?,
                    found_at: row.get(7)?,
                },
                submitted_at: row.get(8)?,
            },
        ))
    })?;
    let mut by_suspect: HashMap<i64, Vec<Source>> = HashMap::new();
    for row in rows {
        let (suspect_id, source) = row?;
        by_suspect.entry(suspect_id).or_default().push(source);
    }
    Ok(by_suspect)
}

/// The suspect holding this content and its latest scan job, if the content is known.
fn known(conn: &Connection, sha256: &str) -> Result<Option<(i64, i64)>, StoreError> {
    let Some(suspect_id) = conn
        .query_row(
            "SELECT id FROM suspects WHERE sha256 = ?1",
            [sha256],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let job_id: i64 = conn.query_row(
        "SELECT id FROM jobs WHERE suspect_id = ?1 AND kind = 'scan' ORDER BY id DESC LIMIT 1",
        [suspect_id],
        |row| row.get(0),
    )?;
    Ok(Some((suspect_id, job_id)))
}

/// Records one sighting of a suspect.
fn add_source(
    conn: &Connection,
    suspect_id: i64,
    member_id: i64,
    source: &SourceMeta,
    t: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO suspect_sources (suspect_id, member_id, platform, url, uploader, \
         title_seen, found_at, submitted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (
            suspect_id,
            member_id,
            &source.platform,
            &source.url,
            &source.uploader,
            &source.title_seen,
            source.found_at,
            t,
        ),
    )?;
    Ok(())
}

impl Suspects for SqliteStore {
    fn submit_suspect(
        &self,
        member_id: i64,
        file: &NewFile,
        source: &SourceMeta,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError> {
        // A grouped write: the look-up, the queue check and the inserts are one savepoint of
        // the batch's immediate transaction, so two crawlers submitting the same bytes at once
        // still make one suspect and one job.
        let (file, source) = (file.clone(), source.clone());
        self.write_grouped(move |tx| {
            let t = now();
            let (suspect_id, job_id, deduplicated) = match known(tx, &file.sha256)? {
                Some((suspect_id, job_id)) => (suspect_id, job_id, true),
                None => {
                    let depth = unfinished(tx)?;
                    if depth >= limits.max_unfinished {
                        return Err(StoreError::QueueFull {
                            depth,
                            limit: limits.max_unfinished,
                        });
                    }
                    let suspect_id: i64 = tx.query_row(
                        "INSERT INTO suspects (sha256, size_bytes, file_path, created_at) \
                         VALUES (?1, ?2, ?3, ?4) RETURNING id",
                        (&file.sha256, file.size_bytes as i64, &file.path, t),
                        |row| row.get(0),
                    )?;
                    let job_id: i64 = tx.query_row(
                        "INSERT INTO jobs (kind, state, member_id, suspect_id, file_path, \
                         file_name, max_attempts, next_attempt_at, created_at) \
                         VALUES ('scan', 'queued', ?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
                        (
                            member_id,
                            suspect_id,
                            &file.path,
                            &file.name,
                            limits.max_attempts,
                            t,
                        ),
                        |row| row.get(0),
                    )?;
                    (suspect_id, job_id, false)
                }
            };
            add_source(tx, suspect_id, member_id, &source, t)?;
            Ok(Submission {
                job_id,
                suspect_id: Some(suspect_id),
                deduplicated,
                replayed: false,
            })
        })
    }

    fn submit_known_suspect(
        &self,
        member_id: i64,
        sha256: &str,
        source: &SourceMeta,
    ) -> Result<Option<Submission>, StoreError> {
        // A read first: most pre-checks in a crawl of new content find nothing, and those
        // never wait for the writer.
        if known(&self.read(), sha256)?.is_none() {
            return Ok(None);
        }
        let (sha256, source) = (sha256.to_string(), source.clone());
        self.write_grouped(move |tx| {
            let Some((suspect_id, job_id)) = known(tx, &sha256)? else {
                return Ok(None);
            };
            add_source(tx, suspect_id, member_id, &source, now())?;
            Ok(Some(Submission {
                job_id,
                suspect_id: Some(suspect_id),
                deduplicated: true,
                replayed: false,
            }))
        })
    }

    fn sources_of(&self, suspect_ids: &[i64]) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
        sources_of(&self.read(), suspect_ids)
    }

    fn latest_sources_of(
        &self,
        suspect_ids: &[i64],
        per_suspect: usize,
    ) -> Result<HashMap<i64, (Vec<Source>, bool)>, StoreError> {
        latest_sources_of(&self.read(), suspect_ids, per_suspect)
    }

    fn sources_page(
        &self,
        suspect_id: i64,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Source>, StoreError> {
        sources_page(&self.read(), suspect_id, after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{file, store, LIMITS};
    use crate::prelude::*;
    use crate::{SourceMeta, StoreError};

    #[test]
    fn identical_content_joins_the_same_suspect_and_job() {
        let (_dir, s) = store();
        let m = s.ensure_member("crawler").expect("member");
        let a = s
            .submit_suspect(m.id, &file("aa"), &SourceMeta::default(), LIMITS)
            .expect("first");
        let b = s
            .submit_suspect(m.id, &file("aa"), &SourceMeta::default(), LIMITS)
            .expect("second");
        assert!(!a.deduplicated && b.deduplicated);
        assert_eq!((a.job_id, a.suspect_id), (b.job_id, b.suspect_id));
        assert_eq!(
            s.sources(a.suspect_id.expect("suspect"))
                .expect("sources")
                .len(),
            2
        );
        let by_suspect = s
            .sources_of(&[a.suspect_id.expect("suspect"), 999])
            .expect("sources");
        assert_eq!(by_suspect.len(), 1, "an unknown suspect has no entry");
        assert_eq!(by_suspect[&a.suspect_id.expect("suspect")].len(), 2);
    }

    #[test]
    fn a_listing_gets_the_latest_sources_and_knows_there_are_more() {
        let (_dir, s) = store();
        let m = s.ensure_member("crawler").expect("member");
        let mut ids = Vec::new();
        for i in 0..5 {
            let source = SourceMeta {
                url: Some(format!("u{i}")),
                ..SourceMeta::default()
            };
            let sub = s
                .submit_suspect(m.id, &file("aa"), &source, LIMITS)
                .expect("submitted");
            ids.push(sub.suspect_id.expect("suspect"));
        }
        let b = s
            .submit_suspect(m.id, &file("bb"), &SourceMeta::default(), LIMITS)
            .expect("another")
            .suspect_id
            .expect("suspect");
        let page = s.latest_sources_of(&[ids[0], b], 3).expect("page");
        let (latest, more) = &page[&ids[0]];
        let urls: Vec<_> = latest
            .iter()
            .map(|s| s.meta.url.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            (urls, *more),
            (vec!["u2".into(), "u3".into(), "u4".into()], true)
        );
        assert_eq!((page[&b].0.len(), page[&b].1), (1, false));

        // Keyset pages of one suspect: every source once, in order, other suspects' never.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = s.sources_page(ids[0], after, 2).expect("page");
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            seen.extend(page.iter().map(|s| s.meta.url.clone().unwrap_or_default()));
        }
        assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4"]);
        assert_eq!(s.sources_page(b, None, 10).expect("b").len(), 1);
        assert!(s.sources_page(999, None, 10).expect("unknown").is_empty());
    }

    #[test]
    fn a_full_queue_refuses_new_content() {
        let (_dir, s) = store();
        let m = s.ensure_member("crawler").expect("member");
        for sha in ["a", "b"] {
            s.submit_suspect(m.id, &file(sha), &SourceMeta::default(), LIMITS)
                .expect("accepted");
        }
        let full = s.submit_suspect(m.id, &file("c"), &SourceMeta::default(), LIMITS);
        assert!(matches!(
            full,
            Err(StoreError::QueueFull { depth: 2, limit: 2 })
        ));
        // Known content is still accepted: it needs no new job.
        s.submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("dedup accepted");
    }
}
