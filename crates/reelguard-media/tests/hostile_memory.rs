//! Refusing a hostile file costs little memory: a gzip bomb named `.mp4` and an H.264 stream
//! whose SPS claims 8192x8192 are refused with this process's peak RSS (VmHWM) staying low.
//! One test in its own binary, so no other test's allocations share the peak.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reelguard_media::{fingerprint_file, Options};

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn sh(script: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("sh");
    assert!(status.success(), "{script}");
}

fn refuse(path: &Path, expected: &str) -> Duration {
    let started = Instant::now();
    let result = fingerprint_file(path, &Options::default(), &|_| {});
    let kind = result.as_ref().map_or_else(|e| e.kind(), |_| "ok");
    assert_eq!(kind, expected, "{}: {result:?}", path.display());
    started.elapsed()
}

#[test]
fn hostile_files_are_refused_fast_and_within_little_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = dir.path().join("bomb.mp4");
    // ~1 MB that libgme would inflate to 1 GB (unbounded: 16 s and 2 GB of RSS).
    sh(&format!(
        "head -c 1000000000 /dev/zero | gzip -9 > '{}'",
        bomb.display()
    ));
    let big = dir.path().join("big.h264");
    sh(&format!(
        "ffmpeg -hide_banner -loglevel error -y -f lavfi -i color=s=8192x8192:r=5 -frames:v 1 \
         -c:v libx264 -preset ultrafast -tune zerolatency -threads 1 -pix_fmt yuv420p \
         -f h264 '{}'",
        big.display()
    ));
    let before = peak_rss_mib();
    let bomb_time = refuse(&bomb, "unrecognized");
    assert!(bomb_time < Duration::from_secs(2), "{bomb_time:?}");
    let after_bomb = peak_rss_mib();
    refuse(&big, "too_large");
    let after_big = peak_rss_mib();
    eprintln!(
        "peak RSS: {before} MiB before, {after_bomb} after the bomb, {after_big} after 8192²"
    );
    assert!(after_bomb < before + 32, "{before} -> {after_bomb} MiB");
    // One 8192x8192 yuv420p frame is 96 MiB: refusing it must not allocate one.
    assert!(after_big < before + 80, "{before} -> {after_big} MiB");
}
