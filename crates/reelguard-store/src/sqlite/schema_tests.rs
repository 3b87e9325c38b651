//! The schema's migration tests: stores as older builds left them, brought up to date.

use super::*;
use rusqlite::OptionalExtension;

/// A store as a build that applied exactly `versions` (of [`MIGRATIONS`], in order) left it,
/// on a file of its own; `configured` sets the connection up as the store does.
fn store_at(versions: &[i64], configured: bool) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = Connection::open(dir.path().join("s.sqlite3")).expect("open");
    if configured {
        dialect::configure(&conn).expect("configure");
    }
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .expect("table");
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| versions.contains(v)) {
        conn.execute_batch(&dialect::ddl(sql)).expect("ddl");
        if *version == 4 {
            super::super::upgrade::v4_typed_segments(&conn).expect("v4");
        }
        conn.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [version])
            .expect("version row");
    }
    (dir, conn)
}

#[test]
fn a_version_1_store_migrates_past_the_missing_version_2() {
    // A store as a version-1 build left it.
    let (_dir, mut conn) = store_at(&[1], false);
    migrate(&mut conn).expect("migrate");
    assert_eq!(version(&conn).expect("version"), latest());
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM webhook_deliveries", [], |r| r.get(0))
        .expect("the webhook tables exist");
    assert_eq!(rows, 0);
    migrate(&mut conn).expect("migrating again is a no-op");
}

#[test]
fn an_upgraded_reviewer_without_a_scope_keeps_reviewing_everyone_and_others_do_not() {
    let (_dir, mut conn) = store_at(&[1, 2, 3, 4, 5], false);
    // A build before version 6: an unscoped reviewer (1), a scoped one (2), a studio (3).
    conn.execute_batch(
        "INSERT INTO members (id, name, created_at) VALUES (1, 'team', 0), (2, 'narrow', 0), (3, 'studio', 0);
         INSERT INTO api_keys (member_id, role, key_sha256, prefix, created_at)
             VALUES (1, 'reviewer', 'a', 'a', 0), (2, 'reviewer', 'b', 'b', 0), (3, 'member', 'c', 'c', 0);
         INSERT INTO review_scopes VALUES (2, 3);",
    )
    .expect("rows");
    migrate(&mut conn).expect("migrate");
    let modes: Vec<String> = conn
        .prepare("SELECT review_scope FROM members ORDER BY id")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("modes");
    assert_eq!(modes, ["all", "listed", "listed"]);
}

#[test]
fn version_9_keeps_every_notice_and_its_history_and_names_the_sightings_it_covered() {
    let (_dir, mut conn) = store_at(&[1, 2, 3, 4, 5, 6, 7, 8], true);
    // A version-8 store: one notice on a match whose upload was seen before (1) and after
    // (2) the notice was written.
    conn.execute_batch(
        "INSERT INTO members (id, name, created_at) VALUES (1, 'studio', 0);
         INSERT INTO works (work_id, member_id, title, created_at) VALUES ('w1', 1, 'T', 0);
         INSERT INTO suspects (id, sha256, size_bytes, file_path, created_at) VALUES (1, 'a', 1, 'f', 0);
         INSERT INTO suspect_sources (id, suspect_id, member_id, url, submitted_at)
             VALUES (1, 1, 1, 'https://d/1', 10), (2, 1, 1, 'https://b/2', 30);
         INSERT INTO jobs (id, kind, state, member_id, suspect_id, file_path, file_name,
             max_attempts, next_attempt_at, created_at)
             VALUES (1, 'scan', 'succeeded', 1, 1, 'f', 'f', 1, 0, 0);
         INSERT INTO matches (id, suspect_id, job_id, work_id, episode, episode_id, score,
             segments, transformation, state, created_at)
             VALUES (1, 1, 1, 'w1', 1, 1, 0.9, '[]', '[]', 'confirmed', 0);
         INSERT INTO notices (id, match_id, member_id, body, created_at, state)
             VALUES (1, 1, 1, '{}', 20, 'sent');
         INSERT INTO notice_events (notice_id, state, reason, actor, at)
             VALUES (1, 'sent', '', 'x', 20);",
    )
    .expect("a version-8 store");
    migrate(&mut conn).expect("migrate");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        count("SELECT COUNT(*) FROM notices WHERE state = 'sent'"),
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM notice_events WHERE notice_id = 1"),
        1
    );
    assert_eq!(
        count("SELECT source_id FROM notice_sources WHERE notice_id = 1"),
        1,
        "the notice named the sighting known when it was written, not the later one"
    );
    assert_eq!(count("PRAGMA foreign_keys"), 1, "foreign keys are on again");
    conn.execute(
        "INSERT INTO notices (match_id, member_id, body, created_at) VALUES (1, 1, '{}', 40)",
        [],
    )
    .expect("a second notice on the same match");
    let orphan = conn.execute(
        "INSERT INTO notice_events (notice_id, state, reason, actor, at) \
         VALUES (99, 'draft', '', 'x', 0)",
        [],
    );
    assert!(orphan.is_err(), "events still reference notices");
}

#[test]
fn a_store_taken_from_1_straight_to_3_still_gets_version_2() {
    // A store as the webhooks branch's build left it: versions 1 and 3, no 2.
    let (_dir, mut conn) = store_at(&[1, 3], false);
    migrate(&mut conn).expect("migrate");
    let sessions: i64 = conn
        .query_row("SELECT COUNT(*) FROM ui_sessions", [], |r| r.get(0))
        .expect("version 2's tables exist");
    assert_eq!(sessions, 0);
    conn.query_row("SELECT content_box FROM matches LIMIT 1", [], |_| Ok(()))
        .optional()
        .expect("version 2's columns exist");
    migrate(&mut conn).expect("migrating again is a no-op");
}
