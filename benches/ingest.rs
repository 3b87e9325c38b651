//! Fingerprinting throughput against FFmpeg's own single-threaded decode of the same file
//! (`ffmpeg -threads 1 -i F -f null -`), with and without dropping unsampled non-reference
//! frames. Needs the fixtures
//! (`fixtures/generate`); set `REELGUARD_BENCH_FILE` to measure another file.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};
use reelguard_media::{fingerprint_file, DecodeMode, Options, Progress};

fn episode() -> Option<PathBuf> {
    let file = std::env::var_os("REELGUARD_BENCH_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/out/originals/street_e1.mp4")
        });
    file.exists().then_some(file)
}

fn ingest(c: &mut Criterion) {
    let Some(file) = episode() else {
        eprintln!("ingest bench skipped: run fixtures/generate first");
        return;
    };
    let quiet = |_: Progress| {};
    let options = |mode| Options {
        mode,
        decoder_threads: 1,
        ..Options::default()
    };
    let mut group = c.benchmark_group("ingest_one_episode_single_thread");
    group.sample_size(10);
    group.bench_function("ffmpeg -threads 1 -f null (decode only)", |b| {
        b.iter(|| {
            let status = Command::new("ffmpeg")
                .args(["-nostdin", "-loglevel", "error", "-threads", "1", "-i"])
                .arg(&file)
                .args(["-map", "0:v:0", "-f", "null", "-"])
                .stdout(Stdio::null())
                .status();
            assert!(status.is_ok_and(|s| s.success()), "ffmpeg failed");
        })
    });
    group.bench_function("reelguard fingerprint, full decode", |b| {
        b.iter(|| {
            fingerprint_file(&file, &options(DecodeMode::Full), &quiet).map(|f| f.frames.len())
        })
    });
    group.bench_function(
        "reelguard fingerprint, full decode, every frame decoded",
        |b| {
            let every_frame = Options {
                skip_unsampled: false,
                ..options(DecodeMode::Full)
            };
            b.iter(|| fingerprint_file(&file, &every_frame, &quiet).map(|f| f.frames.len()))
        },
    );
    group.bench_function("reelguard fingerprint, key frames", |b| {
        b.iter(|| {
            fingerprint_file(&file, &options(DecodeMode::Keyframes), &quiet).map(|f| f.frames.len())
        })
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
