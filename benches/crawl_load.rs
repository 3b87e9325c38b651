//! Crawler load (issue 10's "Load"): starts its own daemon (the release `reelguard` binary) on a
//! temporary data directory, makes 100 crawler keys, a reviewer and one registered episode, and
//! drives `--clients` (200) crawler clients for `--secs` (60): every upload is a pre-check
//! (`X-Content-SHA256`, empty body) and, on a miss, the upload; half of them re-find a file
//! already accepted. A reviewer loops on `GET /v1/matches?limit=50`. `--rate N` makes it an
//! open loop of N submissions per second; `--memory N` instead makes N re-finds as fast as the
//! clients go and reports the daemon's RSS growth. Prints accept p50/p99 (new uploads and
//! re-finds), reviewer p50/p99 and largest answer, drain rate under load against idle, RSS and
//! threads, errors, and submissions lost (checked in the store afterwards).
//!
//! The decision that shaped it: the daemon is its own, with the shipped defaults, so a run is
//! reproducible from one command and the store can be checked after it; the work is in
//! `crawl_load/driver.rs`, which `tests/server_crawl_load.rs` runs small.
//!
//! ```text
//! cargo bench -p reelguard-cli --bench crawl_load -- --run [--clients 200] [--keys 100] \
//!   [--secs 60] [--rate 100] [--memory 100000] [--clip-kbps 1500 (0: ultrafast, ~5.9 Mbps)]
//! ```

#[path = "crawl_load/driver.rs"]
mod driver;

use anyhow::{Context, Result};

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    if !std::env::args().any(|a| a == "--run") {
        // `cargo bench` without `--run` (the whole bench suite): too long to run unasked.
        println!("crawl_load: pass --run to start a daemon and load it");
        return Ok(());
    }
    let scratch = tempfile::tempdir().context("scratch directory")?;
    let options = driver::Options {
        exe: env!("CARGO_BIN_EXE_reelguard").into(),
        scratch: scratch.path().to_path_buf(),
        clients: flag("--clients").map_or(Ok(200), |v| v.parse())?,
        keys: flag("--keys").map_or(Ok(100), |v| v.parse())?,
        secs: flag("--secs").map_or(Ok(60), |v| v.parse())?,
        rate: flag("--rate").map(|v| v.parse()).transpose()?,
        memory: flag("--memory").map(|v| v.parse()).transpose()?,
        idle_jobs: flag("--idle-jobs").map_or(Ok(40), |v| v.parse())?,
        // `--clip-kbps 0`: the first runs' ultrafast clip at x264's default quality.
        clip_kbps: match flag("--clip-kbps").map_or(Ok(1500), |v| v.parse())? {
            0 => None,
            k => Some(k),
        },
    };
    let report = driver::run(&options)?;
    driver::print(&options, &report);
    Ok(())
}
