//! Group commit: many writers' transactions committed (and `fsync`ed) as one.
//!
//! The decision that shapes it: **the caller that finds the writer free commits for everyone
//! queued behind it** (leader/follower, no extra thread). A grouped write is a closure queued
//! with a slot for its result; whoever then takes the writer lock runs every queued closure in
//! one immediate transaction, each inside its own savepoint — so a closure that fails (or
//! panics) is rolled back alone and the others still commit — and hands each caller its own
//! result only after the single `COMMIT` returned. Under `synchronous=FULL` that keeps the
//! rule "an answered write survives power loss" while a hundred concurrent submissions cost a
//! few `fsync`s instead of a hundred. Writes that are not grouped take the same writer lock and
//! so still run one at a time, between batches.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, TryRecvError};
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, TransactionBehavior};

use super::SqliteStore;
use crate::error::StoreError;

/// Most closures run in one transaction (bounds how long one commit holds the writer).
const MAX_BATCH: usize = 256;

/// What a queued write leaves once it ran: a delivery of its result, told whether the batch's
/// commit failed (and why).
type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;
/// A queued write.
type Item = Box<dyn FnOnce(&Connection) -> Delivery + Send>;

/// Writes waiting for the next batch.
#[derive(Default)]
pub(crate) struct Queue {
    items: Mutex<Vec<Item>>,
}

impl Queue {
    fn push(&self, item: Item) {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item);
    }

    fn take(&self) -> Vec<Item> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let n = items.len().min(MAX_BATCH);
        items.drain(..n).collect()
    }
}

/// Runs `f` inside a savepoint of the open transaction: released on success, rolled back on an
/// error or a panic (a panic becomes an error for this caller alone).
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT grouped")?;
    let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
        Err(StoreError::Grouped(
            "a grouped write panicked and was rolled back".into(),
        ))
    });
    match &result {
        Ok(_) => conn.execute_batch("RELEASE grouped")?,
        Err(_) => conn.execute_batch("ROLLBACK TO grouped; RELEASE grouped")?,
    }
    result
}

impl SqliteStore {
    /// Runs `f` as part of the next grouped commit and returns its own result once that commit
    /// is durable. `f` must not open a transaction (it runs inside one).
    pub(crate) fn write_grouped<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (slot, result) = sync_channel::<Result<T, StoreError>>(1);
        self.group.push(Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |commit_failed: Option<&str>| {
                let outcome = match commit_failed {
                    None => outcome,
                    Some(why) => Err(StoreError::Grouped(why.to_string())),
                };
                // The caller waits on the other end until this is sent.
                let _ = slot.send(outcome);
            })
        }));
        loop {
            let mut conn = self.write();
            // A leader that ran this write delivered its result while holding the lock.
            match result.try_recv() {
                Ok(outcome) => return outcome,
                Err(TryRecvError::Disconnected) => {
                    return Err(StoreError::Grouped("the grouped write was lost".into()))
                }
                Err(TryRecvError::Empty) => {}
            }
            let batch = self.group.take();
            if batch.is_empty() {
                // Unreachable while this write is unanswered; never spin on it.
                return Err(StoreError::Grouped("the grouped write was lost".into()));
            }
            run_batch(&mut conn, batch);
            drop(conn);
            if let Ok(outcome) = result.try_recv() {
                return outcome;
            }
            // More than MAX_BATCH were queued before this one: lead the next batch.
        }
    }
}

/// One transaction for the whole batch; every caller gets its result after the commit.
fn run_batch(conn: &mut Connection, batch: Vec<Item>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => {
            let why = format!("starting the grouped transaction: {error}");
            // Nothing ran: each caller learns why.
            for item in batch {
                deliver_unrun(item, &why);
            }
            return;
        }
    };
    let deliveries: Vec<Delivery> = batch.into_iter().map(|item| item(&tx)).collect();
    let committed = tx.commit();
    let why = committed
        .err()
        .map(|e| format!("the grouped commit failed: {e}"));
    if let Some(why) = &why {
        tracing::error!(writes = deliveries.len(), %why, "group commit failed");
    }
    for deliver in deliveries {
        deliver(why.as_deref());
    }
}

/// Answers a write that could not run (its transaction never began).
fn deliver_unrun(item: Item, why: &str) {
    // Running it against a connection would write outside a transaction; instead the
    // closure is dropped (its result slot closes) — the caller sees "lost"; log the cause.
    tracing::error!(%why, "grouped write not run");
    drop(item);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::test_support::store;
    use crate::error::StoreError;

    #[test]
    fn concurrent_grouped_writes_each_get_their_own_result_and_a_failure_stays_alone() {
        let (_dir, s) = store();
        let s = Arc::new(s);
        s.write()
            .execute_batch("CREATE TABLE g (n INTEGER PRIMARY KEY)")
            .expect("table");
        let threads: Vec<_> = (0..64i64)
            .map(|n| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    s.write_grouped(move |conn| {
                        conn.execute("INSERT INTO g (n) VALUES (?1)", [n])?;
                        if n % 8 == 0 {
                            // Written, then refused: its savepoint must undo the insert.
                            return Err(StoreError::Invalid(format!("refused {n}")));
                        }
                        Ok(n * 10)
                    })
                })
            })
            .collect();
        for (n, t) in threads.into_iter().enumerate() {
            let got = t.join().expect("thread");
            let n = n as i64;
            if n % 8 == 0 {
                assert!(
                    matches!(got, Err(StoreError::Invalid(ref m)) if *m == format!("refused {n}"))
                );
            } else {
                assert_eq!(got.expect("committed"), n * 10);
            }
        }
        let count: i64 = s
            .read()
            .query_row("SELECT count(*) FROM g", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 56, "every accepted write committed, no refused one");
    }

    #[test]
    fn a_panicking_grouped_write_is_rolled_back_alone() {
        let (_dir, s) = store();
        s.write()
            .execute_batch("CREATE TABLE g (n INTEGER PRIMARY KEY)")
            .expect("table");
        let panicked = s.write_grouped(|conn| -> Result<(), StoreError> {
            conn.execute("INSERT INTO g (n) VALUES (1)", [])?;
            panic!("a bug in a write");
        });
        assert!(matches!(panicked, Err(StoreError::Grouped(_))));
        s.write_grouped(|conn| Ok(conn.execute("INSERT INTO g (n) VALUES (2)", [])?))
            .expect("the next write commits");
        let rows: Vec<i64> = {
            let conn = s.read();
            let mut stmt = conn.prepare("SELECT n FROM g").expect("prepare");
            let rows = stmt
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            rows
        };
        assert_eq!(rows, vec![2]);
    }
}
