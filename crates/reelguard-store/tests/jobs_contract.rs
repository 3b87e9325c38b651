//! The job queue's contract, run on both stores: SQLite (a store file in a temporary
//! directory) and a real PostgreSQL server (Debian's package, started per test by
//! `reelguard_store::postgres::throwaway`). Claims by concurrent workers with their own store
//! handles (as separate processes would have), lease take-over and the stale holder's refused
//! writes, bounded attempts, and idempotency keys under a race run on both; the shared
//! migrations under concurrent starts and the `LISTEN/NOTIFY` wake-up are PostgreSQL's own.
//!
//! Rows that the PostgreSQL store cannot write through its traits yet (members, works,
//! suspects) are seeded with the same portable SQL on both engines.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reelguard_store::postgres::throwaway::PgServer;
use reelguard_store::postgres::{PgStore, Wake};
use reelguard_store::{
    IdempotencyKey, JobKind, JobState, Jobs, NewFile, NewMatch, QueueLimits, SqliteStore,
    StoreError,
};

const LEASE: Duration = Duration::from_secs(60);
const LIMITS: QueueLimits = QueueLimits {
    max_unfinished: 10_000,
    max_attempts: 3,
};

fn server() -> (PgServer, String) {
    let server = PgServer::start().expect("a throwaway PostgreSQL server");
    let url = server.create_database("reelguard").expect("a database");
    (server, url)
}

/// One store under test, and a way to write rows directly.
struct Engine {
    name: &'static str,
    jobs: Box<dyn Jobs + Send + Sync>,
    raw: Raw,
    // What the store lives in (its directory, or its server), dropped after the store.
    _home: Box<dyn std::any::Any + Send + Sync>,
}

enum Raw {
    Sqlite(std::path::PathBuf),
    Pg(String, Box<PgStore>),
}

impl std::ops::Deref for Engine {
    type Target = dyn Jobs + Send + Sync;
    fn deref(&self) -> &Self::Target {
        &*self.jobs
    }
}

impl Engine {
    /// Runs portable SQL on the store's database, outside the store.
    fn sql(&self, sql: &str) -> Result<(), String> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                conn.busy_timeout(Duration::from_secs(10))
                    .map_err(|e| e.to_string())?;
                conn.execute_batch(&format!("PRAGMA foreign_keys=ON; {sql}"))
                    .map_err(|e| e.to_string())
            }
            Raw::Pg(_, raw) => raw.execute_batch(sql).map_err(|e| e.to_string()),
        }
    }

    /// Another handle on the same store, as another process would open.
    fn worker(&self) -> Box<dyn Jobs + Send + Sync> {
        match &self.raw {
            Raw::Sqlite(path) => Box::new(SqliteStore::open(path).expect("open")),
            Raw::Pg(url, _) => Box::new(PgStore::connect(url, 1).expect("connect")),
        }
    }
}

/// A fresh SQLite store and a fresh PostgreSQL one.
fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.sqlite3");
    let sqlite = Engine {
        name: "sqlite",
        jobs: Box::new(SqliteStore::open(&path).expect("sqlite store")),
        raw: Raw::Sqlite(path),
        _home: Box::new(dir),
    };
    let (server, url) = server();
    let pg = Engine {
        name: "postgresql",
        jobs: Box::new(PgStore::connect(&url, 8).expect("connect")),
        raw: Raw::Pg(
            url.clone(),
            Box::new(PgStore::connect(&url, 1).expect("connect")),
        ),
        _home: Box::new(server),
    };
    vec![sqlite, pg]
}

fn file(name: &str) -> NewFile {
    NewFile {
        sha256: format!("{name:0>64}"),
        size_bytes: 1,
        path: format!("/data/{name}"),
        name: name.into(),
    }
}

/// Members 1 (owner) and 2 (crawler), works `w0`..`w{works-1}` of member 1.
fn seed(s: &Engine, works: usize) {
    let mut sql = String::from(
        "INSERT INTO members (id, name, created_at) VALUES (1, 'acme', 0), (2, 'crawler', 0);",
    );
    for w in 0..works {
        sql += &format!(
            "INSERT INTO works (work_id, member_id, title, created_at) VALUES ('w{w}', 1, 'W', 0);"
        );
    }
    s.sql(&sql).expect("seed");
}

/// A scan job of member 2 for a new suspect (the suspect half of the store is not on
/// PostgreSQL yet, so the rows are written directly).
fn scan_job(s: &Engine, n: i64) -> i64 {
    s.sql(&format!(
        "INSERT INTO suspects (id, sha256, size_bytes, file_path, created_at) \
             VALUES ({n}, 'sha{n}', 1, '/s/{n}', 0); \
         INSERT INTO jobs (kind, state, member_id, suspect_id, file_path, file_name, \
             max_attempts, next_attempt_at, created_at) \
             VALUES ('scan', 'queued', 2, {n}, '/s/{n}', 's{n}', 2, 0, 0);"
    ))
    .expect("scan job");
    s.jobs(&reelguard_store::JobFilter {
        limit: 1,
        ..Default::default()
    })
    .expect("jobs")[0]
        .id
}

#[test]
fn the_shared_migrations_apply_once_under_concurrent_starts() {
    let (_server, url) = server();
    let stores: Vec<PgStore> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PgStore::connect(&url, 2)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("connect"))
            .collect()
    });
    for s in &stores {
        assert_eq!(
            s.schema_version().expect("version"),
            reelguard_store::schema::latest()
        );
    }
    let s = &stores[0];
    s.ping().expect("ping");
    // Version 9 on PostgreSQL drops the uniqueness of a notice's match: two notices of one
    // match are allowed.
    s.execute_batch(
        "INSERT INTO members (id, name, created_at) VALUES (1, 'acme', 0), (2, 'crawler', 0);
         INSERT INTO works (work_id, member_id, title, created_at) VALUES ('w0', 1, 'W', 0);
         INSERT INTO suspects (id, sha256, size_bytes, file_path, created_at) VALUES (1, 'x', 1, 'p', 0);
         INSERT INTO jobs (id, kind, state, member_id, suspect_id, file_path, file_name, max_attempts, next_attempt_at, created_at)
             VALUES (1, 'scan', 'succeeded', 2, 1, 'p', 'p', 1, 0, 0);
         INSERT INTO matches (id, suspect_id, job_id, work_id, episode, episode_id, score, segments, transformation, state, created_at)
             VALUES (1, 1, 1, 'w0', 1, 1, 0.9, '[]', '', 'confirmed', 0);
         INSERT INTO notices (match_id, member_id, body, created_at) VALUES (1, 1, 'a', 0), (1, 1, 'b', 0);",
    )
    .expect("two notices of one match");
    // The audit log is append-only in the database itself.
    s.execute_batch(
        "INSERT INTO audit_log (at, actor, action, target, status) VALUES (0, 'a', 'x', 't', 200)",
    )
    .expect("append");
    for change in [
        "UPDATE audit_log SET status = 500",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = s.execute_batch(change).expect_err(change);
        assert!(err.to_string().contains("append-only"), "{change}: {err}");
    }
}

#[test]
fn concurrent_workers_claim_every_job_exactly_once_in_registration_order() {
    for engine in engines() {
        eprintln!("{}", engine.name);
        concurrent_workers_claim_every_job_exactly_once_in_registration_order_on(&engine);
    }
}

fn concurrent_workers_claim_every_job_exactly_once_in_registration_order_on(s: &Engine) {
    const WORKS: usize = 20;
    const PER_WORK: usize = 15;
    seed(s, WORKS);
    let mut order: HashMap<String, Vec<i64>> = HashMap::new();
    for e in 0..PER_WORK {
        for w in 0..WORKS {
            let sub = s
                .submit_registration(
                    1,
                    &format!("w{w}"),
                    &file(&format!("{w}-{e}")),
                    None,
                    LIMITS,
                )
                .expect("submit");
            order.entry(format!("w{w}")).or_default().push(sub.job_id);
        }
    }
    assert_eq!(s.queue_depth().expect("depth"), (WORKS * PER_WORK) as u64);
    // Each worker has its own pool, as a separate process would.
    let running: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let done: Mutex<HashMap<String, Vec<i64>>> = Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for w in 0..4 {
            let (running, done) = (&running, &done);
            let s = s.worker();
            scope.spawn(move || {
                let owner = format!("worker-{w}");
                let mut idle = 0;
                while idle < 20 {
                    let Some(job) = s.claim_job(&owner, LEASE).expect("claim") else {
                        idle += 1;
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    idle = 0;
                    let work = job.work_id.clone().expect("a registration");
                    assert!(
                        running.lock().expect("lock").insert(work.clone()),
                        "two registrations of {work} ran at once"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                    running.lock().expect("lock").remove(&work);
                    done.lock()
                        .expect("lock")
                        .entry(work)
                        .or_default()
                        .push(job.id);
                    assert!(s
                        .complete_job(job.id, job.lease_token(), &serde_json::json!({}), &[])
                        .expect("complete"));
                }
            });
        }
    });
    let done = done.into_inner().expect("lock");
    assert_eq!(
        done, order,
        "every job once, each work's in submission order"
    );
    let counts = s.job_counts().expect("counts");
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].kind, Some(JobKind::Register));
    assert_eq!(counts[0].state, Some(JobState::Succeeded));
    assert_eq!(counts[0].count, (WORKS * PER_WORK) as u64);
    let jobs = s
        .jobs(&reelguard_store::JobFilter {
            limit: 1000,
            ..Default::default()
        })
        .expect("jobs");
    assert!(
        jobs.iter().all(|j| j.attempts == 1),
        "no job was claimed twice"
    );
}

fn one_match() -> NewMatch {
    NewMatch {
        work_id: "w0".into(),
        episode: 1,
        episode_id: 1,
        score: 0.9,
        segments: vec![],
        transformation: vec!["mirror".into()],
        content_box: None,
    }
}

#[test]
fn a_lapsed_lease_is_taken_over_and_the_stale_holder_writes_nothing() {
    for engine in engines() {
        eprintln!("{}", engine.name);
        a_lapsed_lease_is_taken_over_and_the_stale_holder_writes_nothing_on(&engine);
    }
}

fn a_lapsed_lease_is_taken_over_and_the_stale_holder_writes_nothing_on(s: &Engine) {
    seed(s, 1);
    let id = scan_job(s, 1);
    let a = s.claim_job("a", LEASE).expect("claim").expect("a job");
    assert_eq!((a.id, a.attempts), (id, 1));
    assert!(s.claim_job("b", LEASE).expect("claim").is_none(), "held");
    assert!(s.renew_lease(id, a.lease_token(), LEASE).expect("renew"));
    s.sql("UPDATE jobs SET lease_until = 0").expect("age");
    assert_eq!(s.next_due().expect("due"), Some(0));
    let b = s.claim_job("b", LEASE).expect("claim").expect("taken over");
    assert_eq!((b.id, b.attempts), (id, 2));
    assert_ne!(a.lease_token(), b.lease_token());
    // The stale holder: every write refused, nothing changed.
    assert!(!s.renew_lease(id, a.lease_token(), LEASE).expect("renew"));
    assert!(!s.set_progress(id, a.lease_token(), 0.5).expect("progress"));
    assert!(!s.requeue(id, a.lease_token()).expect("requeue"));
    assert!(matches!(
        s.fail_job(id, a.lease_token(), "x", "x", None),
        Err(StoreError::LeaseLost { .. })
    ));
    let m = one_match();
    assert!(!s
        .complete_job(
            id,
            a.lease_token(),
            &serde_json::json!({"by": "a"}),
            std::slice::from_ref(&m)
        )
        .expect("complete"));
    // The holder completes once; a repeat is refused and records nothing twice.
    assert!(s.set_progress(id, b.lease_token(), 0.5).expect("progress"));
    for expected in [true, false] {
        assert_eq!(
            s.complete_job(
                id,
                b.lease_token(),
                &serde_json::json!({"by": "b"}),
                std::slice::from_ref(&m)
            )
            .expect("complete"),
            expected
        );
    }
    let job = s.job(id).expect("job").expect("exists");
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.result, Some(serde_json::json!({"by": "b"})));
    assert_eq!(s.queue_depth().expect("depth"), 0);
    let err = s
        .sql("INSERT INTO matches (suspect_id, job_id, work_id, episode, episode_id, score, segments, transformation, state, created_at) VALUES (1, 1, 'w0', 1, 1, 0.9, '[]', '', 'pending_review', 0)")
        .expect_err("the one match exists: a second is a unique violation");
    assert!(
        err.contains("duplicate key") || err.contains("UNIQUE constraint failed"),
        "{err}"
    );
    assert!(s.job_visible_to(&job, 2).expect("visible"));
    assert!(!s.job_visible_to(&job, 1).expect("visible"));
}

#[test]
fn attempts_stay_bounded_and_failures_retry_or_end() {
    for engine in engines() {
        eprintln!("{}", engine.name);
        attempts_stay_bounded_and_failures_retry_or_end_on(&engine);
    }
}

fn attempts_stay_bounded_and_failures_retry_or_end_on(s: &Engine) {
    seed(s, 1);
    // A job whose every holder stops renewing fails after its two attempts.
    let id = scan_job(s, 1);
    for _ in 0..2 {
        s.claim_job("a", LEASE).expect("claim").expect("a job");
        s.sql("UPDATE jobs SET lease_until = 0").expect("age");
    }
    assert!(s.claim_job("a", LEASE).expect("claim").is_none());
    let job = s.job(id).expect("job").expect("exists");
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.error_kind.as_deref(), Some("lease_expired"));
    // A retryable failure is queued again for later, then fails for good.
    let id = scan_job(s, 2);
    let j = s.claim_job("a", LEASE).expect("claim").expect("a job");
    assert_eq!(
        s.fail_job(id, j.lease_token(), "decode", "bad", Some(3600))
            .expect("fail"),
        JobState::Queued
    );
    assert!(s.claim_job("a", LEASE).expect("claim").is_none(), "not due");
    let due = s.next_due().expect("due").expect("a due time");
    let job = s.job(id).expect("job").expect("exists");
    assert_eq!(due, job.next_attempt_at);
    s.sql("UPDATE jobs SET next_attempt_at = 0")
        .expect("due now");
    let j = s.claim_job("a", LEASE).expect("claim").expect("a job");
    assert_eq!(
        s.fail_job(id, j.lease_token(), "decode", "bad", Some(0))
            .expect("fail"),
        JobState::Failed,
        "no attempts left"
    );
    // A graceful re-queue does not count the attempt; start-up recovery does.
    let id = scan_job(s, 3);
    let j = s.claim_job("a", LEASE).expect("claim").expect("a job");
    assert!(s.requeue(id, j.lease_token()).expect("requeue"));
    assert_eq!(s.job(id).expect("job").expect("exists").attempts, 0);
    s.claim_job("old", LEASE).expect("claim").expect("a job");
    assert_eq!(s.expire_leases_of_others("old").expect("expire"), (0, 0));
    assert_eq!(s.expire_leases_of_others("new").expect("expire"), (1, 0));
    s.claim_job("a", LEASE).expect("claim").expect("a job");
    assert_eq!(s.recover_interrupted().expect("recover"), (0, 1));
    let job = s.job(id).expect("job").expect("exists");
    assert_eq!(
        (job.state, job.error_kind.as_deref()),
        (JobState::Failed, Some("interrupted"))
    );
}

#[test]
fn an_idempotency_key_gives_racing_retries_one_job() {
    for engine in engines() {
        eprintln!("{}", engine.name);
        an_idempotency_key_gives_racing_retries_one_job_on(&engine);
    }
}

fn an_idempotency_key_gives_racing_retries_one_job_on(s: &Engine) {
    seed(s, 1);
    let key = IdempotencyKey {
        key: "k1".into(),
        request_sha256: "d1".into(),
    };
    let subs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| s.submit_registration(1, "w0", &file("e1"), Some(&key), LIMITS))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("submit"))
            .collect()
    });
    let ids: HashSet<i64> = subs.iter().map(|s| s.job_id).collect();
    assert_eq!(ids.len(), 1, "one job for eight racing retries");
    assert_eq!(subs.iter().filter(|s| !s.replayed).count(), 1);
    assert_eq!(s.queue_depth().expect("depth"), 1);
    assert_eq!(
        s.idempotent_job(1, &key).expect("lookup"),
        ids.iter().next().copied()
    );
    let other = IdempotencyKey {
        key: "k1".into(),
        request_sha256: "d2".into(),
    };
    assert!(matches!(
        s.submit_registration(1, "w0", &file("e2"), Some(&other), LIMITS),
        Err(StoreError::IdempotencyKeyReused(_))
    ));
    let full = QueueLimits {
        max_unfinished: 1,
        max_attempts: 3,
    };
    assert!(matches!(
        s.submit_registration(1, "w0", &file("e3"), None, full),
        Err(StoreError::QueueFull { depth: 1, limit: 1 })
    ));
}

#[test]
fn a_submission_wakes_an_idle_worker_and_a_lost_listener_falls_back_to_polling() {
    let (_server, url) = server();
    let s = Arc::new(PgStore::connect(&url, 2).expect("connect"));
    s.execute_batch(
        "INSERT INTO members (id, name, created_at) VALUES (1, 'acme', 0);
         INSERT INTO works (work_id, member_id, title, created_at) VALUES ('w0', 1, 'W', 0);",
    )
    .expect("seed");
    let mut waker = s.job_waker().expect("listen");
    assert_eq!(waker.wait(Duration::from_millis(50)), Wake::TimedOut);
    let mut latencies = Vec::new();
    for n in 0..5 {
        let submitter = Arc::clone(&s);
        let sent = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let at = Instant::now();
            submitter
                .submit_registration(1, "w0", &file(&format!("n{n}")), None, LIMITS)
                .expect("submit");
            at
        });
        assert_eq!(waker.wait(Duration::from_secs(10)), Wake::Notified);
        let woke = Instant::now();
        latencies.push(woke.duration_since(sent.join().expect("thread")));
        let job = s
            .claim_job("a", LEASE)
            .expect("claim")
            .expect("the job woken for");
        s.complete_job(job.id, job.lease_token(), &serde_json::json!({}), &[])
            .expect("complete");
    }
    latencies.sort();
    eprintln!("notify-to-wake latencies: {latencies:?}");
    assert!(latencies[2] < Duration::from_secs(1), "{latencies:?}");
    // The listening session is killed: the waker says so and sleeps out its timeout.
    s.execute_batch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
    )
    .expect("terminate the listener");
    let started = Instant::now();
    let mut wake = Wake::TimedOut;
    while wake != Wake::Lost && started.elapsed() < Duration::from_secs(10) {
        wake = waker.wait(Duration::from_millis(100));
    }
    assert_eq!(wake, Wake::Lost);
}
