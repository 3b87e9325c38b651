//! `reelguard bench index --frames N`: the catalogue at scale, with its anchors, in one run.
//!
//! The decision that shapes this module: **one growing catalogue, measured at every decade.**
//! The catalogue is built once, from real frame hashes ([`crate::synthetic`]), and the same
//! suspects are matched against it at 1e6, 1e7, ... frames up to N, so the growth per decade
//! is a ratio within one run on one machine state. Suspects are catalogue episodes distorted
//! frame by frame with the bit-flip distributions measured on the fixture variants
//! (`tests/candidate_recall.rs`), edit family by edit family. Matching runs on a one-thread
//! rayon pool: the target is per core.
//!
//! Anchors, on the same hashes and suspects: a brute-force popcount scan of the frame records
//! (the physical reference: every record compared with every suspect frame), and, through
//! `--export DIR`, FAISS's `IndexBinaryMultiHash` in `benches/faiss_multihash.py`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use reelguard_align::QueryFrame;
use reelguard_index::{Catalogue, MatchParams, NewEpisode, NewWork, FRAME_RECORD_BYTES};
use reelguard_media::{fingerprint_files, Options};

use crate::synthetic::{Generator, Rng, SeedClips, FPS};

/// Frames of a synthetic episode and of a suspect: 2 minutes at 5 fps.
const FRAMES_PER_EPISODE: usize = 600;
const EPISODES_PER_WORK: usize = 80;
/// Catalogue records the brute-force anchor reads per block (13 bytes each).
const BRUTE_BLOCK: usize = 1 << 16;

/// Per edit family, the deciles (p0, p10, ..., p100) of the distance between a pirated frame
/// and its reference frame, measured on the fixtures (the frame pairs
/// `tests/candidate_recall.rs` writes with `REELGUARD_RECALL_PAIRS`; 330–947 pairs a family).
/// The suspects cycle through them, so a fifth of them are the hard edits (crop15, pip,
/// subs_logo).
const FAMILIES: &[(&str, [u32; 11])] = &[
    ("borders", [0, 0, 2, 2, 2, 2, 4, 4, 4, 6, 30]),
    ("color", [0, 0, 0, 2, 2, 2, 2, 4, 4, 8, 30]),
    ("crop15", [4, 12, 14, 16, 18, 18, 20, 22, 24, 24, 32]),
    ("fps24", [0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 36]),
    ("lowres", [0, 0, 0, 0, 0, 2, 2, 2, 4, 8, 24]),
    ("pip", [0, 4, 4, 6, 6, 8, 10, 12, 16, 24, 32]),
    ("reframe", [0, 2, 2, 2, 2, 4, 4, 4, 6, 14, 30]),
    ("speed125", [0, 0, 0, 0, 2, 2, 2, 4, 6, 12, 34]),
    ("speed150", [0, 0, 0, 0, 2, 2, 4, 6, 8, 14, 38]),
    ("subs_logo", [0, 2, 4, 4, 4, 6, 6, 8, 10, 12, 28]),
];

#[derive(clap::Args)]
pub struct IndexArgs {
    /// Indexed frames at the end (`1e8` works); the growth is printed at every decade from
    /// 1e6 (or from N when smaller).
    #[arg(long, default_value = "1e6", value_parser = frame_count)]
    frames: u64,
    /// Suspects matched at every decade.
    #[arg(long, default_value_t = 200, value_parser = crate::checks::at_least_one)]
    queries: usize,
    /// Suspects the brute-force anchor scans at every decade (it reads every record for each).
    #[arg(long, default_value_t = 3)]
    brute_queries: usize,
    /// Fixtures whose originals, unrelated clips and footage seed the generator.
    #[arg(long, default_value = "fixtures/out")]
    fixtures: PathBuf,
    /// Write the catalogue's hashes, the suspects and our timings here for
    /// `benches/faiss_multihash.py`.
    #[arg(long)]
    export: Option<PathBuf>,
}

/// A frame count: a whole number, also in exponent form (`1e8`), 1..=1e10.
fn frame_count(text: &str) -> Result<u64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(1.0..=1e10).contains(&value) || value.fract() != 0.0 {
        return Err(format!("{text:?}: a whole number from 1 to 1e10"));
    }
    Ok(value as u64)
}

/// Every frame of the fixture footage, each clip as six 5-fps clips (one per phase of its
/// 30 fps frames), so every decoded frame seeds shots and each seed clip moves as 5 fps does.
fn seed_clips(fixtures: &Path) -> anyhow::Result<SeedClips> {
    let mut files = Vec::new();
    for sub in ["originals", "unrelated", "footage"] {
        let dir = fixtures.join(sub);
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let video = path.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                ["mp4", "avi", "mkv", "ogv", "mpg"].contains(&x.to_ascii_lowercase().as_str())
            });
            if video {
                files.push(path);
            }
        }
    }
    files.sort();
    let options = Options {
        sample_fps: 30.0,
        ..Options::default()
    };
    let mut clips = Vec::new();
    for (file, fp) in files
        .iter()
        .zip(fingerprint_files(&files, &options, &|_| {}))
    {
        let fp = match fp {
            Ok(fp) => fp,
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "seed file skipped");
                continue;
            }
        };
        let usable: Vec<u64> = fp
            .frames
            .iter()
            .filter(|f| f.quality >= reelguard_hash::MIN_USEFUL_QUALITY)
            .map(|f| f.hash)
            .collect();
        for phase in 0..6 {
            clips.push(usable.iter().skip(phase).step_by(6).copied().collect());
        }
    }
    SeedClips::new(clips).context("no usable frames in the fixture footage")
}

/// A distance drawn from a family's deciles (linear between them).
fn draw_distance(rng: &mut Rng, deciles: &[u32; 11]) -> u32 {
    let u = (rng.next() % 10_000) as f64 / 1000.0;
    let (i, frac) = (u.floor() as usize, u.fract());
    let (a, b) = (deciles[i] as f64, deciles[i + 1] as f64);
    (a + (b - a) * frac).round() as u32
}

struct Suspect {
    episode_id: u64,
    family: &'static str,
    frames: Vec<QueryFrame>,
}

fn suspect(rng: &mut Rng, episode_id: u64, frames: &[u64], family: usize) -> Suspect {
    let (name, deciles) = FAMILIES.get(family).copied().unwrap_or(("exact", [0; 11]));
    let frames = frames
        .iter()
        .enumerate()
        .map(|(i, &h)| {
            let bits = draw_distance(rng, &deciles);
            let hash = h ^ rng.mask(bits);
            QueryFrame {
                t: i as f64 / f64::from(FPS),
                hash,
                // The other orientation probes as much as a real mirrored twin does.
                mirrored: !hash,
                quality: crate::synthetic::QUALITY,
            }
        })
        .collect();
    Suspect {
        episode_id,
        family: name,
        frames,
    }
}

/// The brute-force anchor: every frame record against every suspect frame, by popcount;
/// then each suspect frame votes for the episode of its nearest record, if that is nearer
/// than the aligner's pair limit. Returns the best-voted episode id.
fn brute_force(frames_bin: &Path, records: u64, suspect: &[u64]) -> anyhow::Result<u64> {
    let file = File::open(frames_bin).with_context(|| format!("{}", frames_bin.display()))?;
    let record = FRAME_RECORD_BYTES as usize;
    let mut bytes = vec![0u8; BRUTE_BLOCK * record];
    let mut hashes = Vec::with_capacity(BRUTE_BLOCK);
    let mut best = vec![(u32::MAX, 0u64); suspect.len()];
    let mut first = 0u64;
    while first < records {
        let n = (records - first).min(BRUTE_BLOCK as u64) as usize;
        file.read_exact_at(&mut bytes[..n * record], first * record as u64)?;
        hashes.clear();
        hashes.extend(bytes[..n * record].chunks_exact(record).map(|r| {
            let mut h = [0u8; 8];
            h.copy_from_slice(&r[..8]);
            u64::from_le_bytes(h)
        }));
        nearest(&hashes, first, suspect, &mut best);
        first += n as u64;
    }
    let mut votes: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    for &(d, index) in &best {
        if d <= <reelguard_hash::VideoPhash as reelguard_hash::SignalType>::PAIR_DISTANCE {
            *votes
                .entry(index / FRAMES_PER_EPISODE as u64 + 1)
                .or_default() += 1;
        }
    }
    Ok(votes
        .into_iter()
        .max_by_key(|&(id, v)| (v, std::cmp::Reverse(id)))
        .map_or(0, |(id, _)| id))
}

fn nearest(block: &[u64], base: u64, suspect: &[u64], best: &mut [(u32, u64)]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has just been checked to support POPCNT.
        unsafe { nearest_popcnt(block, base, suspect, best) };
        return;
    }
    nearest_portable(block, base, suspect, best);
}

/// [`nearest_portable`] compiled with the POPCNT instruction (`u64::count_ones` becomes one
/// instruction instead of a bit-twiddling sequence).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn nearest_popcnt(block: &[u64], base: u64, suspect: &[u64], best: &mut [(u32, u64)]) {
    nearest_portable(block, base, suspect, best)
}

#[inline(always)]
fn nearest_portable(block: &[u64], base: u64, suspect: &[u64], best: &mut [(u32, u64)]) {
    for (&q, b) in suspect.iter().zip(best.iter_mut()) {
        for (i, &h) in block.iter().enumerate() {
            let d = (q ^ h).count_ones();
            if d < b.0 {
                *b = (d, base + i as u64);
            }
        }
    }
}

/// CPU seconds of `clock` (`CLOCK_THREAD_CPUTIME_ID`, `CLOCK_PROCESS_CPUTIME_ID`): on a
/// machine shared with other work, what a query costs a core, unlike wall time.
fn cpu_seconds(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn thread_cpu() -> f64 {
    cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn process_cpu() -> f64 {
    cpu_seconds(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// `VmRSS` and `VmHWM` of this process, in MB.
fn resident_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One decade's measurements.
struct Row {
    frames: u64,
    build_rate: f64,
    bytes_per_frame: f64,
    rss_mb: f64,
    candidates: Vec<f64>,
    matches: Vec<f64>,
    matches_wall: Vec<f64>,
    /// Episodes aligned per suspect.
    aligned: Vec<f64>,
    found: usize,
    brute_ms: Vec<f64>,
    brute_found: usize,
    /// (family, suspects, found).
    families: Vec<(&'static str, usize, usize)>,
}

fn checkpoints(total: u64) -> Vec<u64> {
    let mut points: Vec<u64> = std::iter::successors(Some(1_000_000u64), |p| p.checked_mul(10))
        .take_while(|&p| p < total)
        .collect();
    points.push(total);
    points
}

pub fn run(args: IndexArgs) -> anyhow::Result<()> {
    let seeds = seed_clips(&args.fixtures)?;
    let seed_frames = seeds.frames();
    let mut generator = Generator::new(seeds, 0xC0FFEE);
    let points = checkpoints(args.frames);
    let first_episodes = points[0].div_ceil(FRAMES_PER_EPISODE as u64) as usize;
    let query_every = (first_episodes / args.queries).max(1);
    let dir = tempfile::tempdir()?;
    let mut catalogue = Catalogue::open(dir.path())?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let params = MatchParams::default();
    let mut rng = Rng(0xD15C0);
    let mut suspects: Vec<Suspect> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let (mut built, mut build_s) = (0usize, 0.0);
    for &point in &points {
        let target = point.div_ceil(FRAMES_PER_EPISODE as u64) as usize;
        let (built_before, build_before) = (built, build_s);
        while built < target {
            generator.new_work();
            let batch = EPISODES_PER_WORK.min(target - built);
            let mut episodes = Vec::with_capacity(batch);
            for i in 0..batch {
                let frames = generator.episode(FRAMES_PER_EPISODE);
                let n = built + i;
                if n % query_every == 0 && suspects.len() < args.queries {
                    let hashes: Vec<u64> = frames.iter().map(|f| f.hash).collect();
                    let family = suspects.len() % FAMILIES.len().max(1);
                    // Episode ids are handed out from 1 in registration order.
                    suspects.push(suspect(&mut rng, n as u64 + 1, &hashes, family));
                }
                episodes.push(NewEpisode {
                    audio: Vec::new(),
                    file: format!("synthetic-{n}"),
                    duration_s: FRAMES_PER_EPISODE as f64 / f64::from(FPS),
                    frames,
                });
            }
            let started = process_cpu();
            catalogue.add_work(
                NewWork {
                    title: format!("synthetic drama {}", built / EPISODES_PER_WORK),
                    ..NewWork::default()
                },
                episodes,
            )?;
            build_s += process_cpu() - started;
            built += batch;
        }
        let started = process_cpu();
        catalogue.compact()?;
        build_s += process_cpu() - started;
        let frames = (built * FRAMES_PER_EPISODE) as u64;
        let snapshot = catalogue.snapshot();
        let mut row = Row {
            frames,
            build_rate: ((built - built_before) * FRAMES_PER_EPISODE) as f64
                / (build_s - build_before),
            bytes_per_frame: snapshot.disk_bytes() as f64 / frames as f64,
            rss_mb: 0.0,
            candidates: Vec::new(),
            matches: Vec::new(),
            matches_wall: Vec::new(),
            aligned: Vec::new(),
            found: 0,
            brute_ms: Vec::new(),
            brute_found: 0,
            families: Vec::new(),
        };
        pool.install(|| -> anyhow::Result<()> {
            for s in &suspects {
                let started = thread_cpu();
                snapshot.candidates(&s.frames, &params)?;
                row.candidates.push((thread_cpu() - started) * 1e3);
                let (started, wall) = (thread_cpu(), Instant::now());
                let (found, stats) = snapshot.find_with_stats(&s.frames, &params)?;
                row.matches.push((thread_cpu() - started) * 1e3);
                row.matches_wall.push(wall.elapsed().as_secs_f64() * 1e3);
                row.aligned.push(stats.aligned as f64);
                let hit = found.first().is_some_and(|m| m.episode_id == s.episode_id);
                row.found += usize::from(hit);
                match row.families.iter_mut().find(|f| f.0 == s.family) {
                    Some(f) => {
                        f.1 += 1;
                        f.2 += usize::from(hit);
                    }
                    None => row.families.push((s.family, 1, usize::from(hit))),
                }
            }
            Ok(())
        })?;
        row.rss_mb = resident_mb().0;
        let frames_bin = dir.path().join("frames.bin");
        for s in suspects.iter().take(args.brute_queries) {
            let hashes: Vec<u64> = s.frames.iter().map(|f| f.hash).collect();
            let started = thread_cpu();
            let best = brute_force(&frames_bin, frames, &hashes)?;
            row.brute_ms.push((thread_cpu() - started) * 1e3);
            row.brute_found += usize::from(best == s.episode_id);
        }
        print_row(&row, suspects.len());
        rows.push(row);
    }
    if suspects.is_empty() {
        bail!("no suspects: the catalogue is too small");
    }
    print_summary(&rows, seed_frames, suspects.len(), resident_mb().1);
    if let Some(out) = &args.export {
        export(out, &dir.path().join("frames.bin"), &suspects, &rows)?;
    }
    Ok(())
}

fn print_row(row: &Row, suspects: usize) {
    eprintln!(
        "  {:.0e} frames: match median {:.2} ms p99 {:.2} ms CPU ({:.2} / {:.2} ms wall), \
         {:.0} episodes aligned (median), found {}/{}",
        row.frames as f64,
        median(&row.matches),
        percentile(&row.matches, 0.99),
        median(&row.matches_wall),
        percentile(&row.matches_wall, 0.99),
        median(&row.aligned),
        row.found,
        suspects
    );
}

fn print_summary(rows: &[Row], seed_frames: usize, suspects: usize, peak_mb: f64) {
    println!(
        "index bench: synthetic catalogue from {seed_frames} real frames; {suspects} suspects of \
         {FRAMES_PER_EPISODE} frames (2 min), one thread; times are CPU time (build: \
         of the process, per frame; queries: of the matching thread)"
    );
    println!(
        "{:>8} {:>10} {:>7} {:>8} {:>17} {:>17} {:>9} {:>15} {:>7}",
        "frames",
        "build f/s",
        "B/frame",
        "RSS MB",
        "candidates ms",
        "match ms",
        "found",
        "brute ms",
        "brute/x"
    );
    for row in rows {
        let brute = median(&row.brute_ms);
        println!(
            "{:>8.0e} {:>10.0} {:>7.1} {:>8.0} {:>8.2} /{:>7.2} {:>8.2} /{:>7.2} {:>4}/{:<4} {:>8.0} ({}/{}) {:>6.0}x",
            row.frames as f64,
            row.build_rate,
            row.bytes_per_frame,
            row.rss_mb,
            median(&row.candidates),
            percentile(&row.candidates, 0.99),
            median(&row.matches),
            percentile(&row.matches, 0.99),
            row.found,
            suspects,
            brute,
            row.brute_found,
            row.brute_ms.len(),
            brute / median(&row.matches)
        );
    }
    for pair in rows.windows(2) {
        let decades = (pair[1].frames as f64 / pair[0].frames as f64).log10();
        println!(
            "growth {:.0e} -> {:.0e}: match median x{:.2} per decade, candidates x{:.2}",
            pair[0].frames as f64,
            pair[1].frames as f64,
            (median(&pair[1].matches) / median(&pair[0].matches)).powf(1.0 / decades),
            (median(&pair[1].candidates) / median(&pair[0].candidates)).powf(1.0 / decades),
        );
    }
    if let Some(last) = rows.last() {
        let families: Vec<String> = last
            .families
            .iter()
            .map(|(f, n, hit)| format!("{f} {hit}/{n}"))
            .collect();
        println!(
            "found by family at {:.0e}: {}",
            last.frames as f64,
            families.join(", ")
        );
    }
    println!("peak resident memory {peak_mb:.0} MB");
}

/// `catalogue.u64` (every record's hash, LE; record i is in episode i / 600), `suspects.u64`
/// (each suspect's 600 hashes), `suspects.tsv` (true episode index, family) and `ours.tsv`
/// (frames, match median and p99 ms, per decade) for `benches/faiss_multihash.py`.
fn export(out: &Path, frames_bin: &Path, suspects: &[Suspect], rows: &[Row]) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let record = FRAME_RECORD_BYTES as usize;
    let file = File::open(frames_bin)?;
    let total = file.metadata()?.len() / FRAME_RECORD_BYTES;
    let mut writer = BufWriter::new(File::create(out.join("catalogue.u64"))?);
    let mut bytes = vec![0u8; BRUTE_BLOCK * record];
    let mut first = 0u64;
    while first < total {
        let n = (total - first).min(BRUTE_BLOCK as u64) as usize;
        file.read_exact_at(&mut bytes[..n * record], first * record as u64)?;
        for r in bytes[..n * record].chunks_exact(record) {
            writer.write_all(&r[..8])?;
        }
        first += n as u64;
    }
    writer.flush()?;
    let mut hashes = BufWriter::new(File::create(out.join("suspects.u64"))?);
    let mut truth = BufWriter::new(File::create(out.join("suspects.tsv"))?);
    for s in suspects {
        for f in &s.frames {
            hashes.write_all(&f.hash.to_le_bytes())?;
        }
        writeln!(truth, "{}\t{}", s.episode_id - 1, s.family)?;
    }
    hashes.flush()?;
    truth.flush()?;
    let mut ours = BufWriter::new(File::create(out.join("ours.tsv"))?);
    for row in rows {
        writeln!(
            ours,
            "{}\t{:.3}\t{:.3}\t{:.3}",
            row.frames,
            median(&row.matches),
            percentile(&row.matches, 0.99),
            median(&row.brute_ms)
        )?;
    }
    ours.flush()?;
    println!("exported to {}", out.display());
    Ok(())
}
