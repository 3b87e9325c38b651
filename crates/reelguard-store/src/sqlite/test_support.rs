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
