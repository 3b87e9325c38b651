//! What the sandbox costs: one file fingerprinted in this process and through a pooled worker,
//! full decode and key-frame mode, `RUNS` times each (interleaved, after a warm-up), printing
//! the medians and their ratio.
//!
//! ```text
//! cargo build --release -p reelguard-sandbox --bins --examples
//! target/release/examples/overhead fixtures/out/originals/blupi_e1.mp4 [RUNS [THREADS]]
//! ```
//!
//! The worker is `reelguard-sandbox-worker` beside the example's directory; set
//! `REELGUARD_WORKER_WRAPPER=strace,-f,-o,/tmp/trace` to run it under a tracer (that is how
//! the seccomp allow-list was found).

use std::path::PathBuf;
use std::time::Instant;

use reelguard_media::{fingerprint_file, DecodeMode, Options};
use reelguard_sandbox::{Sandbox, SandboxConfig};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = PathBuf::from(args.next().ok_or("usage: overhead FILE [RUNS [THREADS]]")?);
    let runs: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let threads: usize = args.next().map_or(Ok(1), |r| r.parse())?;
    let exe = std::env::current_exe()?;
    let worker = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("no target directory")?
        .join("reelguard-sandbox-worker");
    let mut config = SandboxConfig {
        worker_exe: worker.clone(),
        worker_args: Vec::new(),
        workers: 1,
        ..SandboxConfig::default()
    };
    if let Ok(wrapper) = std::env::var("REELGUARD_WORKER_WRAPPER") {
        let mut parts = wrapper.split(',');
        config.worker_exe = parts.next().ok_or("empty wrapper")?.into();
        config.worker_args = parts.map(Into::into).collect();
        config.worker_args.push(worker.into());
    }
    let sandbox = Sandbox::new(config);
    let quiet = |_| {};
    for mode in [DecodeMode::Full, DecodeMode::Keyframes] {
        let options = Options {
            mode,
            decoder_threads: threads,
            ..Options::default()
        };
        // Warm-up: page cache, the worker's start, FFmpeg's one-time setup.
        fingerprint_file(&file, &options, &quiet)?;
        sandbox.fingerprint(&file, &options, &quiet)?;
        let (mut inside, mut isolated) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            fingerprint_file(&file, &options, &quiet)?;
            inside.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            sandbox.fingerprint(&file, &options, &quiet)?;
            isolated.push(t.elapsed().as_secs_f64());
        }
        let (a, b) = (median(inside), median(isolated));
        println!(
            "{mode:?}: in-process median {:.1} ms, sandboxed median {:.1} ms, ratio {:.3} ({runs} runs each)",
            a * 1e3,
            b * 1e3,
            b / a
        );
    }
    println!("{:?}", sandbox.stats());
    Ok(())
}
