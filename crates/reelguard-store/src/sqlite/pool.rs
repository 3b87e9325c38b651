//! The read side of the SQLite store: a fixed pool of read-only connections.
//!
//! The decision that shapes it: in WAL mode readers never wait for the writer nor for each
//! other, but a `rusqlite::Connection` may be used by one thread at a time; so each read
//! borrows a whole connection for its duration and gives it back on drop. The pool is small and
//! fixed (opened eagerly, so a missing file fails at start, not on the first request), and a
//! borrower waits on a condition variable, never polls.

use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;

/// A pool of read-only connections to one database file.
pub(crate) struct Pool {
    idle: Mutex<Vec<(usize, Connection)>>,
    returned: Condvar,
}

/// A borrowed read connection; back in the pool when dropped.
pub(crate) struct Reader<'a> {
    pool: &'a Pool,
    conn: Option<(usize, Connection)>,
}

impl Pool {
    /// Opens `size` (at least one) read-only connections to `path`, which must exist and be in
    /// WAL mode already (the writer opens and migrates it first).
    pub(crate) fn open(path: &Path, size: usize) -> Result<Pool, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut idle = Vec::new();
        for id in 0..size.max(1) {
            let conn = Connection::open_with_flags(path, flags)?;
            super::dialect::configure_reader(&conn)?;
            idle.push((id, conn));
        }
        Ok(Pool {
            idle: Mutex::new(idle),
            returned: Condvar::new(),
        })
    }

    /// Borrows a connection, waiting for one if all are in use.
    pub(crate) fn get(&self) -> Reader<'_> {
        // The lock guards only the idle list (never a query), so a panic cannot leave it
        // inconsistent: poisoning is ignored.
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = idle.pop() {
                return Reader {
                    pool: self,
                    conn: Some(conn),
                };
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Reader<'_> {
    /// Which pooled connection this is (for tests of the pool's exclusivity).
    #[cfg(test)]
    pub(crate) fn id(&self) -> usize {
        self.conn.as_ref().map_or(usize::MAX, |c| c.0)
    }
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Present from construction until drop.
        match &self.conn {
            Some((_, conn)) => conn,
            None => unreachable!("a reader is used after it was returned"),
        }
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            idle.push(conn);
            drop(idle);
            self.pool.returned.notify_one();
        }
    }
}
