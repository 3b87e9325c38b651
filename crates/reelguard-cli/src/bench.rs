//! `reelguard bench ...`: speed, measured as ratios within one run (medians over runs).
//!
//! - `hash`: ns per hash, ours vs the slow reference vs `image_hasher`'s pHash.
//! - `ingest FILE`: fingerprinting one file single-threaded vs `ffmpeg -threads 1 -i F -f null -`
//!   (the physical limit), full and key-frame modes.
//! - `scaling FILE...`: a batch on a rayon pool of 1 thread vs all cores.
//! - `index --frames N`: a synthetic catalogue of N frames: build rate, bytes per frame, and
//!   match time per 2-minute suspect (median, p99).
//! - `chance`: chance alignments of unrelated fixture footage and the tail fitted on them
//!   (`crate::chance`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use reelguard_align::QueryFrame;
use reelguard_hash::{hash_thumb, reference};
use reelguard_index::{Catalogue, MatchParams, NewEpisode, NewWork, StoredFrame};
use reelguard_media::{fingerprint_file, fingerprint_files, DecodeMode, Options};

use crate::bench_inputs::{grey_images, image_hasher_phash, sample_thumbs};

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
    /// Synthetic catalogue: build rate, bytes per frame, match latency.
    Index {
        /// Indexed frames.
        #[arg(long, default_value_t = 100_000)]
        frames: u64,
        /// Suspects matched.
        #[arg(long, default_value_t = 200, value_parser = crate::checks::at_least_one)]
        queries: usize,
        /// Files whose real frame hashes seed the generator (default: fixtures originals).
        #[arg(long, num_args = 1..)]
        seed_files: Vec<PathBuf>,
    },
    /// Chance alignments of unrelated footage: evidence distribution and the fitted tail.
    Chance(crate::chance::ChanceArgs),
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// xorshift: deterministic, dependency-free randomness for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn flip_bits(&mut self, hash: u64, bits: u32) -> u64 {
        (0..bits).fold(hash, |h, _| h ^ (1 << (self.next() % 64)))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runs = args.runs.max(1);
    match args.what {
        What::Hash => bench_hash(runs),
        What::Ingest { file } => bench_ingest(&file, runs)?,
        What::Scaling { files } => bench_scaling(&files, runs)?,
        What::Index {
            frames,
            queries,
            seed_files,
        } => bench_index(frames, queries, &seed_files)?,
        What::Chance(args) => crate::chance::run(args)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_hash(runs: usize) {
    use image_hasher::{HashAlg, HasherConfig};
    let thumbs = sample_thumbs(2000);
    let images = grey_images(&thumbs);
    let phash = image_hasher_phash();
    let same_layout = HasherConfig::new()
        .hash_size(16, 16)
        .hash_alg(HashAlg::Median)
        .resize_filter(image::imageops::FilterType::Nearest)
        .preproc_dct()
        .to_hasher();
    let time = |f: &dyn Fn() -> u64, n: usize| -> f64 {
        median(
            (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(f());
                    started.elapsed().as_nanos() as f64 / n as f64
                })
                .collect(),
        )
    };
    let ours = time(
        &|| {
            thumbs
                .iter()
                .map(|t| hash_thumb(t).hash)
                .fold(0, |a, h| a ^ h)
        },
        thumbs.len(),
    );
    let slow = time(
        &|| {
            thumbs[..50]
                .iter()
                .map(|t| reference::hash_thumb(t).hash)
                .fold(0, |a, h| a ^ h)
        },
        50,
    );
    let theirs = time(
        &|| {
            images
                .iter()
                .map(|i| phash.hash_image(i).as_bytes()[0] as u64)
                .sum()
        },
        images.len(),
    );
    let theirs_32 = time(
        &|| {
            images
                .iter()
                .map(|i| same_layout.hash_image(i).as_bytes()[0] as u64)
                .sum()
        },
        images.len(),
    );
    println!(
        "hash (median of {runs} runs, ns per hash; ours also yields the mirrored hash and quality)"
    );
    println!("  reelguard (32x32 DCT, 8x8 block)          {ours:>10.0}");
    println!(
        "  reference (textbook O(N^4) DCT)           {slow:>10.0}   {:>6.1}x ours",
        slow / ours
    );
    println!(
        "  image_hasher pHash (16x16 DCT, resize)    {theirs:>10.0}   {:>6.1}x ours",
        theirs / ours
    );
    println!(
        "  image_hasher 32x32 DCT, 16x16 block       {theirs_32:>10.0}   {:>6.1}x ours",
        theirs_32 / ours
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

/// Real frame hashes to seed the synthetic catalogue, so band values follow the skewed
/// distribution of real content rather than uniform bits.
fn seed_hashes(seed_files: &[PathBuf]) -> anyhow::Result<Vec<u64>> {
    let files: Vec<PathBuf> = if seed_files.is_empty() {
        let dir = Path::new("fixtures/out/originals");
        std::fs::read_dir(dir)
            .with_context(|| format!("no --seed-files and no {}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mp4"))
            .collect()
    } else {
        seed_files.to_vec()
    };
    let quiet = |_: reelguard_media::Progress| {};
    let mut hashes: Vec<u64> = fingerprint_files(&files, &Options::default(), &quiet)
        .into_iter()
        .filter_map(Result::ok)
        .flat_map(|fp| fp.frames.into_iter())
        .filter(|f| f.quality >= reelguard_hash::MIN_USEFUL_QUALITY)
        .map(|f| f.hash)
        .collect();
    hashes.dedup();
    if hashes.is_empty() {
        bail!("no usable frames in the seed files");
    }
    Ok(hashes)
}

/// A synthetic 2-minute episode at 5 fps: a walk through perturbed real hashes, where
/// consecutive frames differ by a few bits and shots change every few seconds.
fn synthetic_episode(rng: &mut Rng, seeds: &[u64], frames: usize) -> Vec<StoredFrame> {
    let pick = |rng: &mut Rng| seeds[(rng.next() % seeds.len() as u64) as usize];
    let first = pick(rng);
    let mut current = rng.flip_bits(first, 16);
    (0..frames)
        .map(|i| {
            if rng.next().is_multiple_of(20) {
                let seed = pick(rng);
                current = rng.flip_bits(seed, 16);
            } else {
                current = rng.flip_bits(current, 2);
            }
            StoredFrame {
                t: i as f32 / 5.0,
                hash: current,
                quality: 60,
            }
        })
        .collect()
}

fn bench_index(total_frames: u64, queries: usize, seed_files: &[PathBuf]) -> anyhow::Result<()> {
    const FRAMES_PER_EPISODE: usize = 600;
    const EPISODES_PER_WORK: usize = 80;
    let seeds = seed_hashes(seed_files)?;
    let dir = tempfile::tempdir()?;
    let mut catalogue = Catalogue::open(dir.path())?;
    let mut rng = Rng(0xC0FFEE);
    let episodes = (total_frames as usize).div_ceil(FRAMES_PER_EPISODE);
    let mut kept: Vec<(u64, Vec<StoredFrame>)> = Vec::new();
    let started = Instant::now();
    let mut built = 0;
    while built < episodes {
        let batch = EPISODES_PER_WORK.min(episodes - built);
        let new_episodes: Vec<NewEpisode> = (0..batch)
            .map(|i| {
                let frames = synthetic_episode(&mut rng, &seeds, FRAMES_PER_EPISODE);
                if kept.len() < queries && (built + i) % (episodes / queries.max(1)).max(1) == 0 {
                    // Episode ids are handed out from 1 in registration order.
                    kept.push(((built + i + 1) as u64, frames.clone()));
                }
                NewEpisode {
                    file: format!("synthetic-{}", built + i),
                    duration_s: FRAMES_PER_EPISODE as f64 / 5.0,
                    frames,
                }
            })
            .collect();
        catalogue.add_work(
            NewWork {
                title: format!("synthetic drama {}", built / EPISODES_PER_WORK),
                ..NewWork::default()
            },
            new_episodes,
        )?;
        built += batch;
    }
    let segments_before = catalogue.index_segments();
    catalogue.compact()?;
    let build_s = started.elapsed().as_secs_f64();
    let frames = (episodes * FRAMES_PER_EPISODE) as f64;
    let bytes = catalogue.disk_bytes() as f64;
    let params = MatchParams::default();
    let mut latencies = Vec::new();
    let mut candidate_latencies = Vec::new();
    let mut hits = 0;
    for (episode_id, frames) in &kept {
        // A pirated copy: every frame a few bits off.
        let query: Vec<QueryFrame> = frames
            .iter()
            .map(|f| {
                let hash = rng.flip_bits(f.hash, 6);
                QueryFrame {
                    t: f.t as f64,
                    hash,
                    mirrored: !hash,
                    quality: f.quality,
                }
            })
            .collect();
        let started = Instant::now();
        catalogue.candidates(&query, &params)?;
        candidate_latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let found = catalogue.find(&query, &params)?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        if found.first().is_some_and(|m| m.episode_id == *episode_id) {
            hits += 1;
        }
    }
    println!(
        "index bench: {frames:.0} frames in {episodes} synthetic episodes ({} real seed hashes)",
        seeds.len()
    );
    println!(
        "  build            {build_s:>8.1} s   {:>10.0} frames/s ({segments_before} segments merged into {})",
        frames / build_s,
        catalogue.index_segments()
    );
    println!(
        "  disk             {:>8.1} MB  {:>10.1} bytes/frame (frames.bin 13 + band index)",
        bytes / 1e6,
        bytes / frames
    );
    println!(
        "  candidates only (band postings + IDF votes): median {:.2} ms, p99 {:.2} ms",
        median(candidate_latencies.clone()),
        percentile(candidate_latencies, 0.99)
    );
    println!(
        "  match, 2-min suspect (600 frames), {} queries: median {:.2} ms, p99 {:.2} ms, found {}/{}",
        latencies.len(),
        median(latencies.clone()),
        percentile(latencies, 0.99),
        hits,
        kept.len()
    );
    Ok(())
}
