//! Real workers (the `reelguard-sandbox-worker` binary) against small clips made with the
//! `ffmpeg` CLI: answers equal to in-process decoding, reuse, and every way a worker can fail
//! classified (`crashed` with its signal, `timeout`, `memory_limit`, `cpu_limit`) and
//! followed by a fresh worker; and the seccomp filter seen refusing from inside.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reelguard_media::{extract_still, fingerprint_file, DecodeMode, Limits, MediaError, Options};
use reelguard_sandbox::{Sandbox, SandboxConfig, TestHook};

fn config() -> SandboxConfig {
    SandboxConfig {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_reelguard-sandbox-worker")),
        worker_args: Vec::new(),
        workers: 2,
        test_hooks: true,
        ..SandboxConfig::default()
    }
}

/// Makes `path` with the ffmpeg CLI from lavfi `sources` (one input each), encoded by `encode`.
fn lavfi(path: &Path, sources: &[&str], encode: &[&str]) {
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-y"]);
    for source in sources {
        command.args(["-f", "lavfi", "-i", source]);
    }
    let status = command
        .args(encode)
        .arg(path)
        .status()
        .expect("the ffmpeg CLI is needed to generate test clips");
    assert!(status.success());
}

fn clip(dir: &Path) -> PathBuf {
    let path = dir.join("clip.mp4");
    lavfi(
        &path,
        &["testsrc=s=160x284:r=25:d=4"],
        &["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"],
    );
    path
}

fn quiet(_: reelguard_media::Progress) {}

#[test]
fn a_worker_answers_like_in_process_decoding_and_is_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = clip(dir.path());
    let sandbox = Sandbox::new(config());
    // Threaded decoding too: the filter must allow FFmpeg's threads.
    for (mode, threads) in [
        (DecodeMode::Full, 1),
        (DecodeMode::Keyframes, 1),
        (DecodeMode::Full, 2),
    ] {
        let options = Options {
            mode,
            decoder_threads: threads,
            ..Options::default()
        };
        let inside = fingerprint_file(&path, &options, &quiet).expect("in process");
        let progressed = std::sync::atomic::AtomicU32::new(0);
        let isolated = sandbox
            .fingerprint(&path, &options, &|_| {
                progressed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .expect("sandboxed");
        assert_eq!(isolated.frames, inside.frames, "{mode:?}");
        assert_eq!(isolated.regions, inside.regions);
        assert!(progressed.into_inner() > 0, "progress crosses the pipe");
    }
    let limits = Limits::default();
    let still = sandbox.still(&path, 1.5, 64, &limits).expect("still");
    assert_eq!(
        still,
        extract_still(&path, 1.5, 64, &limits).expect("in process")
    );
    let stats = sandbox.stats();
    assert_eq!(stats.spawned, 1, "{stats:?}");
    assert_eq!(stats.reused, 3, "{stats:?}");
    assert!(stats.peak_worker_rss_kib > 0);
}

#[test]
fn media_errors_pass_through_with_the_callers_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("words.mp4");
    std::fs::write(&text, "no video here").expect("write");
    let sandbox = Sandbox::new(config());
    let error = sandbox
        .fingerprint(&text, &Options::default(), &quiet)
        .expect_err("text is not a video");
    assert_eq!(error.kind(), "unrecognized");
    assert_eq!(error.path(), text.as_path());
    assert!(!error.retryable());
    let missing = sandbox
        .fingerprint(&dir.path().join("gone.mp4"), &Options::default(), &quiet)
        .expect_err("missing");
    assert_eq!(missing.kind(), "io");
    let fifo = dir.path().join("never_ends.mp4");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    let error = sandbox
        .fingerprint(&fifo, &Options::default(), &quiet)
        .expect_err("a FIFO is no file");
    assert_eq!(error.kind(), "io");
    // A worker that answered with an error is healthy and kept.
    assert_eq!(sandbox.stats().killed, 0);
}

#[test]
fn a_crashed_worker_is_reported_with_its_signal_and_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = clip(dir.path());
    let sandbox = Sandbox::new(SandboxConfig {
        workers: 1,
        ..config()
    });
    sandbox
        .fingerprint(&path, &Options::default(), &quiet)
        .expect("warm worker");
    match sandbox.test_hook(TestHook::Abort, &Limits::default()) {
        Err(MediaError::Crashed { signal, .. }) => assert_eq!(signal, libc_sigabrt()),
        other => panic!("expected crashed, got {other:?}"),
    }
    let fresh = sandbox
        .fingerprint(&path, &Options::default(), &quiet)
        .expect("a fresh worker serves the next file");
    assert!(!fresh.frames.is_empty());
    let stats = sandbox.stats();
    assert_eq!((stats.spawned, stats.killed), (2, 1), "{stats:?}");
}

fn libc_sigabrt() -> i32 {
    6
}

#[test]
fn a_hanging_worker_is_killed_at_the_watchdog() {
    let sandbox = Sandbox::new(SandboxConfig {
        watchdog_grace: Duration::from_millis(500),
        ..config()
    });
    let limits = Limits {
        max_decode_time: Duration::from_secs(1),
        ..Limits::default()
    };
    let started = Instant::now();
    let error = sandbox
        .test_hook(TestHook::Hang, &limits)
        .expect_err("a hang fails");
    assert_eq!(error.kind(), "timeout", "{error}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

#[test]
fn an_allocation_bomb_ends_at_the_memory_limit() {
    let sandbox = Sandbox::new(SandboxConfig {
        memory_limit_bytes: 512 << 20,
        ..config()
    });
    let error = sandbox
        .test_hook(TestHook::AllocationBomb, &Limits::default())
        .expect_err("the bomb fails");
    assert_eq!(error.kind(), "memory_limit", "{error}");
}

#[test]
fn a_spinning_worker_ends_at_the_cpu_limit() {
    let sandbox = Sandbox::new(SandboxConfig {
        cpu_limit: Duration::from_secs(1),
        ..config()
    });
    let error = sandbox
        .test_hook(TestHook::Spin, &Limits::default())
        .expect_err("spinning fails");
    assert_eq!(error.kind(), "cpu_limit", "{error}");
}

#[test]
fn the_sandbox_refuses_sockets_paths_exec_and_executable_memory() {
    let sandbox = Sandbox::new(config());
    let (check, landlock) = sandbox.self_check().expect("self-check");
    eprintln!("landlock: {landlock}; {check:?}");
    assert_eq!(check.results.len(), 6);
    for (call, outcome) in &check.results {
        assert!(outcome.starts_with("refused"), "{call}: {outcome}");
    }
    let socket = &check.results[0];
    assert_eq!(socket.0, "socket(AF_INET)");
    assert!(socket.1.contains("not permitted"), "{socket:?}");
}

#[test]
fn test_hooks_are_refused_unless_enabled() {
    let sandbox = Sandbox::new(SandboxConfig {
        test_hooks: false,
        ..config()
    });
    let error = sandbox
        .test_hook(TestHook::Abort, &Limits::default())
        .expect_err("refused");
    assert_eq!(error.kind(), "invalid_request");
    assert_eq!(sandbox.stats().killed, 0);
}

/// A clip with sound: the worker decodes its audio in the same pass and sends back the same
/// sub-fingerprints as in-process decoding (protocol 2); the same clip without sound has none.
#[test]
fn a_worker_returns_the_audio_fingerprints_of_the_same_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("speech.mp4");
    lavfi(
        &path,
        &[
            "testsrc=s=160x284:r=25:d=6",
            "aevalsrc=sin(440*2*PI*t*(1+mod(floor(t*3)\\,5)/4))*0.5:s=44100:d=6",
        ],
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
        ],
    );
    let sandbox = Sandbox::new(config());
    let options = Options {
        audio_speeds: vec![1.0, 1.25],
        ..Options::default()
    };
    let inside = fingerprint_file(&path, &options, &quiet).expect("in process");
    let isolated = sandbox
        .fingerprint(&path, &options, &quiet)
        .expect("sandboxed");
    let audio = isolated
        .audio
        .as_ref()
        .expect("audio decoded in the worker");
    assert_eq!(isolated.audio, inside.audio);
    assert_eq!(audio.tracks.len(), 2);
    // AAC's priming and padding trim a little of the 6 s.
    assert!((audio.seconds - 6.0).abs() < 0.6, "{} s", audio.seconds);
    // 31.25 windows a second; 1.25 times as many for the stretched-back track.
    let n = audio.tracks[0].hashes.len() as f64;
    assert!((n - audio.seconds * 31.25).abs() < 12.0, "{n} windows");
    assert!(audio.tracks[1].hashes.len() as f64 > n * 1.2);
    let silent = clip(dir.path());
    let none = sandbox
        .fingerprint(&silent, &options, &quiet)
        .expect("no audio");
    assert_eq!(none.audio, None);
}
