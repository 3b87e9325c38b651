//! Fixtures shared by the SQLite implementation's unit tests.

use super::SqliteStore;
use crate::jobs::{NewFile, QueueLimits};

pub(crate) fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_in(dir.path()).expect("open");
    (dir, store)
}

pub(crate) fn file(sha: &str) -> NewFile {
    NewFile {
        sha256: sha.to_string(),
        size_bytes: 3,
        path: format!("/tmp/{sha}"),
        name: "x.mp4".to_string(),
    }
}

pub(crate) const LIMITS: QueueLimits = QueueLimits {
    max_unfinished: 2,
    max_attempts: 2,
};

/// Submits `file` as `submitter`'s suspect seen at `seen` and completes its scan with one
/// plain match against episode 1 of work `w000001` (which the test has inserted): the path a
/// suspect takes to a pending match, for tests about what happens after it.
pub(crate) fn scanned_to_match(
    s: &SqliteStore,
    submitter: i64,
    file: &NewFile,
    seen: &crate::SourceMeta,
    limits: QueueLimits,
) {
    use crate::prelude::*;
    let sub = s
        .submit_suspect(submitter, file, seen, limits)
        .expect("accepted");
    let job = s
        .claim_job("worker", std::time::Duration::from_secs(60))
        .expect("claim")
        .expect("job");
    let m = crate::NewMatch {
        work_id: "w000001".into(),
        episode: 1,
        episode_id: 1,
        score: 0.9,
        segments: vec![],
        transformation: vec![],
        content_box: None,
    };
    s.complete_job(sub.job_id, job.lease_token(), &serde_json::json!({}), &[m])
        .expect("done");
}

/// A reviewer's caller (member "review") and the id of the first listed match.
pub(crate) fn reviewer_and_first_match(s: &SqliteStore) -> (crate::Caller, i64) {
    use crate::prelude::*;
    let reviewer = s.ensure_member("review").expect("member");
    let (_, key) = s
        .create_key(reviewer.id, crate::Role::Reviewer)
        .expect("key");
    let caller = s.authenticate(&key).expect("auth").expect("valid");
    let id = s
        .matches(&crate::MatchFilter {
            limit: 1,
            ..Default::default()
        })
        .expect("m")[0]
        .id;
    (caller, id)
}
