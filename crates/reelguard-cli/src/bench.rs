//! `reelguard bench ...`: speed, measured as ratios within one run (medians over runs).
//!
//! - `hash`: ns per hash, ours vs the slow reference (vs `image_hasher`'s pHash with the
//!   `image-hasher` feature: a clean build of the daemon should not pay for a comparison).
//! - `ingest FILE`: fingerprinting one file single-threaded vs `ffmpeg -threads 1 -i F -f null -`
//!   (the physical limit), full and key-frame modes.
//! - `scaling FILE...`: a batch on a rayon pool of 1 thread vs all cores.
//! - `index --frames N`: a synthetic catalogue grown to N frames, measured at every decade
//!   beside its anchors (`crate::bench_index`).
//! - `chance`: chance alignments of unrelated fixture footage and the tail fitted on them
//!   (`crate::chance`).
//! - `chance-audio`: the same for the sound, on the fixtures with sound (`crate::chance_audio`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use reelguard_hash::{hash_thumb, reference};
use reelguard_media::{fingerprint_file, fingerprint_files, DecodeMode, Options};

use crate::bench_inputs::sample_thumbs;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
    /// Repetitions; the median is reported.
    #[arg(long, global = true, default_value_t = 5, value_parser = crate::checks::at_least_one)]
    runs: usize,
}

#[derive(clap::Subcommand)]
enum What {
    /// ns per hash: ours, the reference, image_hasher.
    Hash,
    /// Fingerprinting throughput vs FFmpeg's own single-threaded decode of the same file.
    Ingest {
        /// A video file (e.g. a 720x1280 H.264 episode).
        file: PathBuf,
    },
    /// Batch fingerprinting on 1 thread vs all cores.
    Scaling {
        /// Video files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Synthetic catalogue grown to N frames: build rate, bytes per frame, memory, match
    /// latency at every decade, beside a brute-force scan (see `bench_index`).
    Index(crate::bench_index::IndexArgs),
    /// Chance alignments of unrelated footage: evidence distribution and the fitted tail.
    Chance(crate::chance::ChanceArgs),
    /// The sound's chance alignments on the fixtures with sound, beside the calibration in force.
    ChanceAudio(crate::chance_audio::ChanceAudioArgs),
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runs = args.runs.max(1);
    match args.what {
        What::Hash => bench_hash(runs),
        What::Ingest { file } => bench_ingest(&file, runs)?,
        What::Scaling { files } => bench_scaling(&files, runs)?,
        What::Index(args) => crate::bench_index::run(args)?,
        What::Chance(args) => crate::chance::run(args)?,
        What::ChanceAudio(args) => crate::chance_audio::run(args)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Median ns per item of `f` over `runs` runs, `n` items a run.
fn ns_per(runs: usize, n: usize, f: &dyn Fn() -> u64) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(f());
                started.elapsed().as_nanos() as f64 / n as f64
            })
            .collect(),
    )
}

fn bench_hash(runs: usize) {
    let thumbs = sample_thumbs(2000);
    let ours = ns_per(runs, thumbs.len(), &|| {
        thumbs
            .iter()
            .map(|t| hash_thumb(t).hash)
            .fold(0, |a, h| a ^ h)
    });
    let slow = ns_per(runs, 50, &|| {
        thumbs[..50]
            .iter()
            .map(|t| reference::hash_thumb(t).hash)
            .fold(0, |a, h| a ^ h)
    });
    println!(
        "hash (median of {runs} runs, ns per hash; ours also yields the mirrored hash and quality)"
    );
    println!("  reelguard (32x32 DCT, 8x8 block)          {ours:>10.0}");
    println!(
        "  reference (textbook O(N^4) DCT)           {slow:>10.0}   {:>6.1}x ours",
        slow / ours
    );
    image_hasher_rows(runs, &thumbs, ours);
}

/// The same frames through `image_hasher`, an independent pHash.
#[cfg(feature = "image-hasher")]
fn image_hasher_rows(runs: usize, thumbs: &[reelguard_hash::Thumb], ours: f64) {
    use crate::bench_inputs::{grey_images, image_hasher_phash};
    use image_hasher::{HashAlg, HasherConfig};
    let images = grey_images(thumbs);
    let phash = image_hasher_phash();
    let same_layout = HasherConfig::new()
        .hash_size(16, 16)
        .hash_alg(HashAlg::Median)
        .resize_filter(image::imageops::FilterType::Nearest)
        .preproc_dct()
        .to_hasher();
    let theirs = ns_per(runs, images.len(), &|| {
        images
            .iter()
            .map(|i| phash.hash_image(i).as_bytes()[0] as u64)
            .sum()
    });
    let theirs_32 = ns_per(runs, images.len(), &|| {
        images
            .iter()
            .map(|i| same_layout.hash_image(i).as_bytes()[0] as u64)
            .sum()
    });
    println!(
        "  image_hasher pHash (16x16 DCT, resize)    {theirs:>10.0}   {:>6.1}x ours",
        theirs / ours
    );
    println!(
        "  image_hasher 32x32 DCT, 16x16 block       {theirs_32:>10.0}   {:>6.1}x ours",
        theirs_32 / ours
    );
}

#[cfg(not(feature = "image-hasher"))]
fn image_hasher_rows(_: usize, _: &[reelguard_hash::Thumb], _: f64) {
    println!(
        "  (image_hasher's rows: build with `--features image-hasher`, e.g. \
         `cargo run --release -p reelguard-cli --features image-hasher -- bench hash`)"
    );
}

/// Wall seconds of `ffmpeg -threads 1 -i FILE -f null -` (plus `extra` input options).
fn ffmpeg_decode_seconds(file: &Path, extra: &[&str]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-threads", "1"])
        .args(extra)
        .arg("-i")
        .arg(file)
        .args(["-map", "0:v:0", "-f", "null", "-"])
        .stdout(Stdio::null())
        .status()
        .context("running ffmpeg (is it installed?)")?;
    if !status.success() {
        bail!("ffmpeg failed on {}", file.display());
    }
    Ok(started.elapsed().as_secs_f64())
}

fn bench_ingest(file: &Path, runs: usize) -> anyhow::Result<()> {
    let quiet = |_: reelguard_media::Progress| {};
    let single = |mode, skip_loop_filter, skip_unsampled| Options {
        mode,
        decoder_threads: 1,
        skip_loop_filter,
        skip_unsampled,
        ..Options::default()
    };
    // The default path first; the others show what each shortcut is worth.
    let variants = [
        ("full (default)", single(DecodeMode::Full, true, true)),
        (
            "full, every frame decoded",
            single(DecodeMode::Full, true, false),
        ),
        (
            "full, every frame, deblocking",
            single(DecodeMode::Full, false, false),
        ),
        ("key frames", single(DecodeMode::Keyframes, true, true)),
    ];
    let mut ffmpeg = Vec::new();
    let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut decoded = vec![0u64; variants.len()];
    let mut duration = 0.0;
    // Runs interleave ffmpeg and every variant, so a change in machine load hits them alike.
    for _ in 0..runs {
        ffmpeg.push(ffmpeg_decode_seconds(file, &[])?);
        for (i, (label, options)) in variants.iter().enumerate() {
            // One variant failing on a file (an HEVC open GOP in key-frame mode, say) must not
            // hide the others' figures.
            match fingerprint_file(file, options, &quiet) {
                Ok(fp) => {
                    duration = fp.duration_s;
                    decoded[i] = fp.stats.frames_decoded;
                    seconds[i].push(fp.stats.seconds);
                }
                Err(e) => eprintln!("  {label}: {e}"),
            }
        }
    }
    let ffmpeg = median(ffmpeg);
    println!(
        "ingest {} ({duration:.1} s of video), one thread, median of {runs} runs",
        file.display()
    );
    println!(
        "  ffmpeg -threads 1 -f null (decode only)  {:>7.3} s  {:>6.1}x real time",
        ffmpeg,
        duration / ffmpeg
    );
    for (((label, _), runs), decoded) in variants.iter().zip(seconds).zip(decoded) {
        if runs.is_empty() {
            println!("  reelguard {label:<30} failed");
            continue;
        }
        let t = median(runs);
        println!(
            "  reelguard {label:<30} {t:>7.3} s  {:>6.1}x real time  {:.2}x ffmpeg  {decoded} frames decoded",
            duration / t,
            ffmpeg / t
        );
    }
    Ok(())
}

fn bench_scaling(files: &[PathBuf], runs: usize) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let quiet = |_: reelguard_media::Progress| {};
    let mut results = Vec::new();
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let seconds = median(
            (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    let done =
                        pool.install(|| fingerprint_files(files, &Options::default(), &quiet));
                    let failures = done.iter().filter(|r| r.is_err()).count();
                    if failures > 0 {
                        tracing::warn!(failures, "some files failed");
                    }
                    started.elapsed().as_secs_f64()
                })
                .collect(),
        );
        results.push((threads, seconds));
    }
    println!("scaling over {} files, median of {runs} runs", files.len());
    let base = results[0].1;
    for (threads, seconds) in results {
        println!(
            "  {threads} thread(s)  {seconds:>7.3} s  speed-up {:.2}x",
            base / seconds
        );
    }
    Ok(())
}
