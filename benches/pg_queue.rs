//! Jobs claimed per second from PostgreSQL (issue 13): starts a throwaway server (Debian's
//! `postgresql`), queues `--jobs` (20000) scan jobs, and lets N workers (`--workers 1,2,4,8`),
//! each with its own connection as a separate process would have, claim and complete them
//! with empty results until the queue is empty. Prints jobs/s and the mean time of one
//! claim + completion per worker, which is the queue's overhead on every real job; the median
//! of `--runs` (3) runs per N.
//!
//! The decision that shaped it: claim and completion are timed together through the store's
//! own trait calls (two transactions, `FOR UPDATE SKIP LOCKED`, the lease sweep included),
//! because that is what a worker pays per job, not a bare `SELECT`.
//!
//! ```text
//! cargo bench -p reelguard-store --bench pg_queue -- --run [--jobs 20000] [--workers 1,2,4,8] [--runs 3]
//! ```

use std::time::{Duration, Instant};

use anyhow::Result;
use reelguard_store::postgres::throwaway::PgServer;
use reelguard_store::postgres::PgStore;
use reelguard_store::Jobs;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Queues `jobs` scan jobs in one statement (submission speed is not what is measured).
fn fill(store: &PgStore, jobs: usize) -> Result<()> {
    store.execute_batch(&format!(
        "TRUNCATE jobs, suspects RESTART IDENTITY CASCADE;
         INSERT INTO suspects (sha256, size_bytes, file_path, created_at)
             SELECT 'sha' || g, 1, '/s/' || g, 0 FROM generate_series(1, {jobs}) g;
         INSERT INTO jobs (kind, state, member_id, suspect_id, file_path, file_name,
             max_attempts, next_attempt_at, created_at)
             SELECT 'scan', 'queued', 1, id, file_path, 'f', 3, 0, 0 FROM suspects;
         ANALYZE jobs;"
    ))?;
    Ok(())
}

/// Drains the queue with `workers` workers; returns (elapsed, jobs done).
fn drain(url: &str, workers: usize) -> Result<(Duration, usize)> {
    let stores: Vec<PgStore> = (0..workers)
        .map(|_| PgStore::connect(url, 1))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let done: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(w, s)| {
                scope.spawn(move || -> Result<usize> {
                    let owner = format!("bench-{w}");
                    let mut n = 0;
                    while let Some(job) = s.claim_job(&owner, Duration::from_secs(60))? {
                        anyhow::ensure!(
                            s.complete_job(job.id, job.lease_token(), &serde_json::json!({}), &[])?,
                            "job {} lost its lease",
                            job.id
                        );
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .sum::<Result<usize>>()
    })?;
    Ok((started.elapsed(), done))
}

fn main() -> Result<()> {
    if !std::env::args().any(|a| a == "--run") {
        println!("pg_queue: pass --run to start a PostgreSQL server and time claims");
        return Ok(());
    }
    let jobs: usize = flag("--jobs").map_or(Ok(20_000), |v| v.parse())?;
    let runs: usize = flag("--runs").map_or(Ok(3), |v| v.parse())?;
    let workers: Vec<usize> = flag("--workers")
        .unwrap_or_else(|| "1,2,4,8".into())
        .split(',')
        .map(|w| w.parse())
        .collect::<Result<_, _>>()?;
    let server = PgServer::start()?;
    let url = server.create_database("bench")?;
    let store = PgStore::connect(&url, 2)?;
    store.execute_batch("INSERT INTO members (id, name, created_at) VALUES (1, 'crawler', 0)")?;
    println!("workers  jobs/s (median of {runs})  ms per claim+complete per worker");
    for &n in &workers {
        let mut rates = Vec::new();
        for _ in 0..runs {
            fill(&store, jobs)?;
            let (elapsed, done) = drain(&url, n)?;
            anyhow::ensure!(done == jobs, "{done} of {jobs} jobs done");
            rates.push(done as f64 / elapsed.as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        println!(
            "{n:>7}  {median:>8.0}  (runs: {})  {:.3}",
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            1000.0 * n as f64 / median
        );
    }
    drop(store);
    drop(server);
    Ok(())
}
