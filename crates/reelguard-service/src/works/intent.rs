//! The create-work intent: a small JSON file written durably before the catalogue commit, so
//! that a crash between the catalogue's write and the store's can be finished at start.
//!
//! Format: `<data>/intents/create-work.json`, one object `{"member_id", "title",
//! "external_id", "released_at", "requested_at"}`; written as `create-work.json.tmp`, fsynced,
//! renamed, directory fsynced. There is never more than one, because creations hold the
//! catalogue writer from the intent to its deletion.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A work creation that was requested but may not have reached both stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateIntent {
    /// The owner.
    pub member_id: i64,
    /// The owner's name, as the catalogue records it.
    pub owner: String,
    /// Title.
    pub title: String,
    /// The owner's reference.
    pub external_id: Option<String>,
    /// Release date, Unix seconds.
    pub released_at: Option<i64>,
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("intents")
}

fn path(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("create-work.json")
}

fn io(what: &str, error: std::io::Error) -> AppError {
    AppError::Internal(format!("work intent: {what}: {error}"))
}

fn sync_dir(dir: &Path) -> Result<(), AppError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing the directory", e))
}

/// Records the intent durably (blocking).
pub fn write(data_dir: &Path, intent: &CreateIntent) -> Result<(), AppError> {
    use std::io::Write;
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| io("creating the directory", e))?;
    let bytes = serde_json::to_vec(intent).map_err(|e| AppError::Internal(e.to_string()))?;
    let tmp = dir.join("create-work.json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| io("creating", e))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io("writing", e))?;
    std::fs::rename(&tmp, path(data_dir)).map_err(|e| io("renaming", e))?;
    sync_dir(&dir)
}

/// The pending intent, if any. A damaged file (a crash cannot make one, given the rename, but
/// a disk can) is reported, not guessed at.
pub fn read(data_dir: &Path) -> Result<Option<CreateIntent>, AppError> {
    match std::fs::read(path(data_dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            AppError::Internal(format!(
                "work intent {} is damaged: {e}",
                path(data_dir).display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", e)),
    }
}

/// Deletes the intent once both stores agree (blocking).
pub fn clear(data_dir: &Path) -> Result<(), AppError> {
    match std::fs::remove_file(path(data_dir)) {
        Ok(()) => sync_dir(&dir(data_dir)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("deleting", e)),
    }
}
