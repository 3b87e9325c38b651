//! Crawler load on a running daemon (issue 10's "Load"): `--clients` concurrent crawler clients
//! each POST a new suspect (a fixture clip ending in a unique MP4 `free` box, so none is
//! deduplicated) in a closed loop for `--secs`, while one reviewer client loops on
//! `GET /v1/matches?limit=50`. Prints accept latency p50/p99 by status, the reader's p50/p99 and
//! response size, and the daemon's RSS and threads (from /proc) before and after.
//!
//! The decision that shaped it: it drives a daemon started by hand (`--base URL --pid PID`,
//! keys in `$CRAWLER_KEY` and `$REVIEWER_KEY`), so the daemon's configuration is the operator's
//! and nothing here decides it. One blocking client per thread, one timeout per request.
//!
//! ```text
//! CRAWLER_KEY=... REVIEWER_KEY=... cargo bench -p reelguard-cli --bench crawl_load -- \
//!   --base http://127.0.0.1:8080 --pid $(pidof reelguard) --file CLIP --clients 200 --secs 60
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// `VmRSS` in KiB and `Threads` of a process.
fn proc_status(pid: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn main() -> Result<()> {
    if std::env::args().any(|a| a == "--bench") && flag("--base").is_none() {
        // `cargo bench` without arguments: nothing to drive.
        return Ok(());
    }
    let base = flag("--base").context("--base URL")?;
    let pid = flag("--pid").context("--pid PID")?;
    let file = std::fs::read(flag("--file").context("--file CLIP")?)?;
    let clients: usize = flag("--clients").map_or(Ok(200), |v| v.parse())?;
    let secs: u64 = flag("--secs").map_or(Ok(60), |v| v.parse())?;
    let crawler = std::env::var("CRAWLER_KEY").context("$CRAWLER_KEY")?;
    let reviewer = std::env::var("REVIEWER_KEY").context("$REVIEWER_KEY")?;
    let file = Arc::new(file);
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let accepts: Arc<Mutex<Vec<(u16, f64)>>> = Arc::default();
    let before = proc_status(&pid);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let started = Instant::now();
    let mut threads = Vec::new();
    for _ in 0..clients {
        let (file, stop, counter, accepts) = (
            Arc::clone(&file),
            Arc::clone(&stop),
            Arc::clone(&counter),
            Arc::clone(&accepts),
        );
        let (url, auth) = (
            format!("{base}/v1/suspects?platform=load"),
            format!("Bearer {crawler}"),
        );
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut body = file.as_ref().clone();
                body.extend_from_slice(&16u32.to_be_bytes());
                body.extend_from_slice(b"free");
                body.extend_from_slice(&n.to_be_bytes());
                let t = Instant::now();
                let status = agent
                    .post(&url)
                    .header("Authorization", &auth)
                    .send(&body[..])
                    .map_or(0, |r| r.status().as_u16());
                mine.push((status, t.elapsed().as_secs_f64() * 1000.0));
            }
            accepts.lock().map(|mut a| a.extend(mine)).ok();
        }));
    }
    let reader = {
        let stop = Arc::clone(&stop);
        let (url, auth) = (
            format!("{base}/v1/matches?limit=50"),
            format!("Bearer {reviewer}"),
        );
        std::thread::spawn(move || {
            let agent = agent();
            let (mut times, mut sizes) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if let Ok(mut r) = agent.get(&url).header("Authorization", &auth).call() {
                    let size = r.body_mut().read_to_vec().map_or(0, |b| b.len());
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    sizes.push(size);
                }
            }
            (times, sizes)
        })
    };
    let mut peak = before;
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        let now = proc_status(&pid);
        peak = (peak.0.max(now.0), peak.1.max(now.1));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let (mut reads, sizes) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))?;
    let after = proc_status(&pid);
    let accepts = accepts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut by_status: std::collections::BTreeMap<u16, Vec<f64>> = Default::default();
    for (status, ms) in accepts.iter() {
        by_status.entry(*status).or_default().push(*ms);
    }
    println!(
        "clients {clients}, {secs} s, load average at start {}",
        load.trim()
    );
    for (status, times) in &mut by_status {
        times.sort_by(f64::total_cmp);
        println!(
            "POST /v1/suspects {status}: {} requests, p50 {:.1} ms, p99 {:.1} ms",
            times.len(),
            percentile(times, 0.5),
            percentile(times, 0.99)
        );
    }
    reads.sort_by(f64::total_cmp);
    println!(
        "GET /v1/matches?limit=50: {} requests, p50 {:.1} ms, p99 {:.1} ms, largest {} bytes",
        reads.len(),
        percentile(&reads, 0.5),
        percentile(&reads, 0.99),
        sizes.iter().max().unwrap_or(&0)
    );
    println!(
        "daemon RSS {} -> {} KiB (peak {}), threads {} -> {} (peak {})",
        before.0, after.0, peak.0, before.1, after.1, peak.1
    );
    println!(
        "load average at end {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}
