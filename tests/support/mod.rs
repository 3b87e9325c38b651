//! Shared helpers for the integration tests: fixture location and the `reelguard` binary.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The generated fixtures, made by `fixtures/generate` on first use if they are missing.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("REELGUARD_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("fixtures/out"));
        let complete = ["originals", "variants", "compilations", "bad"]
            .iter()
            .all(|d| dir.join(d).join("MANIFEST.tsv").exists() || dir.join(d).join("empty.mp4").exists());
        if !complete {
            let status = Command::new(repo_root().join("fixtures/generate"))
                .arg(&dir)
                .status()
                .expect("running fixtures/generate");
            assert!(status.success(), "fixtures/generate failed");
        }
        dir
    })
}

/// Reads a tab-separated manifest with a header line into rows keyed by column name.
pub fn read_tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .expect("header line")
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

/// Runs the `reelguard` binary with a time limit; panics if it does not finish in time.
pub fn reelguard(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reelguard"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning reelguard");
    // Drain the pipes while waiting, or a chatty child blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("reelguard {args:?} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout thread").expect("reading stdout"),
        stderr: err.join().expect("stderr thread").expect("reading stderr"),
    }
}

/// Parses one JSON object per line.
pub fn json_lines(output: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(output)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The `p`-th percentile (0–100) of sorted values.
pub fn percentile(sorted: &[u32], p: usize) -> u32 {
    assert!(!sorted.is_empty());
    sorted[(sorted.len() - 1) * p / 100]
}
