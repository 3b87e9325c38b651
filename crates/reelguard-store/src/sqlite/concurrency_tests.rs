//! Tests of the one-writer, many-readers design: a long read holds up neither a write nor
//! other reads, reads see every earlier commit, and the pool lends a connection to one thread
//! at a time.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use super::{SqliteStore, StoreOptions};
use crate::prelude::*;
use crate::Role;

/// How long a step may take before the test calls it blocked. A guard against hanging, not a
/// sleep: every step normally finishes in milliseconds.
const BLOCKED: Duration = Duration::from_secs(30);

fn store(readers: usize) -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_in_with(dir.path(), StoreOptions { readers }).expect("open");
    (dir, Arc::new(store))
}

#[test]
fn a_long_read_blocks_neither_a_write_nor_another_read() {
    let (_dir, s) = store(2);
    let member = s.create_member("acme").expect("member");
    let (_, key) = s.create_key(member.id, Role::Member).expect("key");

    // Thread A opens a read transaction on a pooled reader and holds it open.
    let started = Arc::new(Barrier::new(2));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let long_read = {
        let (s, started) = (Arc::clone(&s), Arc::clone(&started));
        std::thread::spawn(move || {
            let reader = s.read();
            let tx = reader.unchecked_transaction().expect("read transaction");
            let count = |tx: &rusqlite::Transaction<'_>| -> i64 {
                tx.query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0))
                    .expect("count")
            };
            let before = count(&tx);
            started.wait();
            // Held until the other threads are done (or the test gave up on them).
            let _ = release_rx.recv();
            (before, count(&tx))
        })
    };
    started.wait();

    // Meanwhile, on other threads: a write, then reads that must see it.
    let (done_tx, done_rx) = mpsc::channel();
    {
        let (s, key) = (Arc::clone(&s), key.clone());
        std::thread::spawn(move || {
            let written = s.create_member("studio").expect("write beside a long read");
            let seen = s.member_by_name("studio").expect("read").map(|m| m.id);
            let caller = s.authenticate(&key).expect("auth").map(|c| c.member_id);
            let _ = done_tx.send((written.id, seen, caller));
        });
    }
    let (written, seen, caller) = done_rx
        .recv_timeout(BLOCKED)
        .expect("the write and the reads finished while the long read was open");
    assert_eq!(
        seen,
        Some(written),
        "a read sees the write committed before it"
    );
    assert_eq!(caller, Some(member.id));

    release_tx.send(()).expect("release");
    let (before, during) = long_read.join().expect("long read");
    assert_eq!(
        before, during,
        "the long read kept its snapshot: it really was open across the write"
    );
    assert_eq!(s.members().expect("members").len(), 2);
}

#[test]
fn the_pool_never_lends_one_connection_to_two_threads() {
    const THREADS: usize = 8;
    let (_dir, s) = store(3);
    let in_use = Arc::new(Mutex::new(HashSet::new()));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (s, in_use, seen, start) = (
                Arc::clone(&s),
                Arc::clone(&in_use),
                Arc::clone(&seen),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..200 {
                    let reader = s.read();
                    let id = reader.id();
                    assert!(
                        in_use.lock().expect("set").insert(id),
                        "connection {id} lent twice"
                    );
                    seen.lock().expect("set").insert(id);
                    let one: i64 = reader
                        .query_row("SELECT 1", [], |r| r.get(0))
                        .expect("query");
                    assert_eq!(one, 1);
                    in_use.lock().expect("set").remove(&id);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no connection was lent twice");
    }
    let seen = seen.lock().expect("set");
    assert!(seen.len() <= 3, "at most the pool's size: {seen:?}");
}

#[test]
fn pooled_readers_refuse_writes() {
    let (_dir, s) = store(1);
    assert!(s
        .read()
        .execute("INSERT INTO members (name, created_at) VALUES ('x', 0)", [])
        .is_err());
    assert!(s.members().expect("members").is_empty());
}
