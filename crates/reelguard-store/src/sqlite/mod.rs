//! The SQLite implementation of the store traits: [`SqliteStore`], its connections, and the
//! per-concern modules that implement each trait on it.
//!
//! The decision that shapes it: **one writer connection, a pool of readers.** SQLite admits one
//! writer at a time anyway, so writes take the writer's lock (and only writes wait for it);
//! the hot writes (submissions, the audit log) are grouped by [`group`] so that concurrent
//! ones share one transaction and one `fsync`;
//! every query that only reads borrows a read-only connection from [`pool`], in WAL mode, so it
//! neither waits for a write in progress nor blocks one. A read sees every write committed
//! before it started (each read statement, or read transaction, takes a fresh WAL snapshot).

pub mod dialect;
pub mod schema;

mod audit;
mod group;
mod jobs;
mod legal;
mod matches;
mod members;
pub(crate) mod pool;
mod reviews;
pub(crate) mod rows;
mod sightings;
mod suspects;
mod takedown;
mod upgrade;
mod webhooks;
mod works;

#[cfg(test)]
mod concurrency_tests;
#[cfg(test)]
mod jobs_tests;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::error::StoreError;
use crate::store::Store;
use crate::webhooks::WebhookPolicy;

/// The store's file name inside the data directory.
pub const FILE_NAME: &str = "reelguard.sqlite3";

/// How a [`SqliteStore`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Read-only connections in the pool (at least one is opened).
    pub readers: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { readers: 4 }
    }
}

/// The SQLite store: `Send + Sync`, shared as `Arc<dyn Store>` (or `Arc<SqliteStore>`).
pub struct SqliteStore {
    writer: Mutex<Connection>,
    group: group::Queue,
    readers: pool::Pool,
    webhook_policy: Mutex<WebhookPolicy>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and migrates it to the current schema, with
    /// the default options.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, StoreOptions::default())
    }

    /// Opens (creating if needed) the store file with these options and migrates it.
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path)?;
        dialect::configure(&conn)?;
        schema::migrate(&mut conn)?;
        // Readers open after the writer has created the file and switched it to WAL.
        let readers = pool::Pool::open(path, options.readers)?;
        Ok(SqliteStore {
            writer: Mutex::new(conn),
            group: group::Queue::default(),
            readers,
            webhook_policy: Mutex::new(WebhookPolicy::default()),
            path: path.to_path_buf(),
        })
    }

    /// Opens the store of a data directory (creating the directory if needed).
    pub fn open_in(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_in_with(data_dir, StoreOptions::default())
    }

    /// Opens the store of a data directory with these options.
    pub fn open_in_with(data_dir: &Path, options: StoreOptions) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.display().to_string(),
            source,
        })?;
        SqliteStore::open_with(&data_dir.join(FILE_NAME), options)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer connection, for the duration of one write.
    pub(crate) fn write(&self) -> MutexGuard<'_, Connection> {
        // A write that panicked cannot leave the database half-written: its transaction rolls
        // back as it is dropped during the unwind. So the writer is used on after a poisoning.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A read-only connection, for the duration of one read.
    pub(crate) fn read(&self) -> pool::Reader<'_> {
        self.readers.get()
    }

    pub(crate) fn policy(&self) -> WebhookPolicy {
        *self
            .webhook_policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_policy(&self, policy: WebhookPolicy) {
        *self
            .webhook_policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = policy;
    }
}

impl Store for SqliteStore {
    fn schema_version(&self) -> Result<i64, StoreError> {
        schema::version(&self.read())
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}
