//! `reelguard bench chance`: the evidence of chance alignments, measured, and the tail fitted
//! on it that `reelguard_align::chance::Calibration::default()` carries.
//!
//! Every fixture clip (originals, variants, compilations, unrelated footage) and a set of
//! generated lavfi clips (crops of testsrc2, cellauto, mandelbrot, life) is aligned against
//! every registered episode it does *not* show, with the aligner's reporting floors off so
//! chance lines come out as segments; each probe the scan would align (the whole frame and
//! every picture-in-picture candidate) counts as one alignment. Episode A's pirated variants
//! against episode B is the neighbouring-episode error itself. The blupi episodes share a
//! 2-second title card: a segment on it (reference span within its first 2.5 s) is shared
//! content, not chance, and the matcher's overlap resolution handles it; it is left out.
//!
//! The decision that shapes this command: **fit on the tune split, validate on the check
//! split** ([`crate::splits`]): the check split's observed exceedances are printed next to what
//! the tune fit predicts for them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use rayon::prelude::*;
use reelguard_align::chance::{Calibration, ChanceModel};
use reelguard_align::{align, Params, QueryFrame, RefFrame, Segment};
use reelguard_media::{fingerprint_files, Options};
use reelguard_pipeline::{inset_query_frames, query_frames};
use serde::Serialize;

use crate::progress::VideoProgress;
use crate::splits::{field, generator_split, read_tsv, Sources, Split};

#[derive(clap::Args)]
pub struct ChanceArgs {
    /// Fixtures directory made by `fixtures/generate`.
    #[arg(long, default_value = "fixtures/out")]
    fixtures: PathBuf,
    /// Where the generated lavfi clips are written (kept and reused when present).
    #[arg(long, default_value = "target/chance-clips")]
    clips: PathBuf,
    /// Write every chance segment here as JSON lines.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Fraction of the strongest chance segments the tail is fitted on.
    #[arg(long, default_value_t = 0.1)]
    tail_fraction: f64,
}

/// Generated unrelated footage: (name, generator, lavfi graph at 360x640, 30 fps, 12 s).
const GENERATED: &[(&str, &str, &str)] = &[
    ("testsrc2_crop", "testsrc2", "testsrc2=s=640x480:r=30:d=12,crop=270:480:185:0"),
    ("testsrc2_wide", "testsrc2", "testsrc2=s=1280x720:r=30:d=12,crop=405:720:500:0"),
    ("cellauto_30", "cellauto", "cellauto=s=180x320:rule=30:rate=10:random_fill_ratio=0.5:seed=7:scroll=1,fps=30"),
    ("cellauto_110", "cellauto", "cellauto=s=320x320:rule=110:rate=10:random_fill_ratio=0.3:seed=3,crop=180:320:70:0,fps=30"),
    ("mandelbrot_elephant", "mandelbrot", "mandelbrot=s=180x320:r=10:start_x=0.2850:start_y=0.0110:start_scale=0.5:end_scale=0.01:end_pts=120:maxiter=256,fps=30"),
    ("mandelbrot_spiral", "mandelbrot", "mandelbrot=s=240x240:r=10:start_x=-0.7746:start_y=0.1102:start_scale=0.2:end_scale=0.005:end_pts=120:maxiter=256,crop=135:240:50:0,fps=30"),
    ("life_seed99", "life", "life=s=90x160:r=10:seed=99:ratio=0.3:mold=10:life_color=#40ff80:death_color=#202020,fps=30"),
    ("life_crop", "life", "life=s=200x200:r=10:seed=5:ratio=0.5,crop=112:200:40:0,fps=30"),
];

/// A suspect clip and what it must not be credited with.
struct Clip {
    name: String,
    family: String,
    file: PathBuf,
    split: Split,
    /// Originals it shows.
    shows: Vec<String>,
}

/// One chance segment.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub split: Split,
    pub clip: String,
    pub family: String,
    pub episode: String,
    pub probe: usize,
    /// False for a segment against an episode the clip does show (with the aligner's
    /// default floors): the true matches a threshold must keep.
    pub chance: bool,
    pub segment: Segment,
}

/// What the measurement found, per split.
pub struct Measured {
    pub samples: Vec<Sample>,
    /// Alignments per split (tune, check).
    pub alignments: [usize; 2],
}

fn generate(dir: &Path) -> anyhow::Result<Vec<Clip>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut clips = Vec::new();
    for &(name, generator, graph) in GENERATED {
        let file = dir.join(format!("{name}.mp4"));
        if !file.exists() {
            let tmp = dir.join(format!("{name}.tmp.mp4"));
            let vf = format!("{graph},scale=360:640:flags=neighbor,setsar=1,format=yuv420p");
            let status = Command::new("ffmpeg")
                .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
                .args(["-f", "lavfi", "-i", &vf, "-t", "12"])
                .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"])
                .args(["-threads", "1"])
                .arg(&tmp)
                .status()
                .context("running ffmpeg")?;
            if !status.success() {
                bail!("ffmpeg failed on {name}: {graph}");
            }
            std::fs::rename(&tmp, &file)?;
        }
        clips.push(Clip {
            name: name.to_string(),
            family: format!("lavfi:{generator}"),
            file,
            split: generator_split(generator),
            shows: Vec::new(),
        });
    }
    Ok(clips)
}

fn fixture_clips(fixtures: &Path, sources: &Sources) -> anyhow::Result<Vec<Clip>> {
    let mut clips = Vec::new();
    for row in read_tsv(&fixtures.join("originals/MANIFEST.tsv"))? {
        let name = field(&row, "name")?.to_string();
        clips.push(Clip {
            file: fixtures.join("originals").join(format!("{name}.mp4")),
            family: "original".into(),
            split: sources.originals_split([name.as_str()]),
            shows: vec![name.clone()],
            name,
        });
    }
    for row in read_tsv(&fixtures.join("variants/MANIFEST.tsv"))? {
        let original = field(&row, "original")?.to_string();
        clips.push(Clip {
            name: field(&row, "file")?.to_string(),
            family: field(&row, "variant")?.to_string(),
            file: fixtures.join(field(&row, "file")?),
            split: sources.originals_split([original.as_str()]),
            shows: vec![original],
        });
    }
    let mut compilations: Vec<Clip> = Vec::new();
    for row in read_tsv(&fixtures.join("compilations/MANIFEST.tsv"))? {
        let file = field(&row, "file")?;
        let original = field(&row, "original")?.to_string();
        match compilations.iter_mut().find(|c| c.name == file) {
            Some(c) => c.shows.push(original),
            None => compilations.push(Clip {
                name: file.to_string(),
                family: "compilation".into(),
                file: fixtures.join(file),
                split: Split::Tune,
                shows: vec![original],
            }),
        }
    }
    for c in &mut compilations {
        c.split = sources.originals_split(c.shows.iter().map(String::as_str));
    }
    clips.extend(compilations);
    for row in read_tsv(&fixtures.join("unrelated/MANIFEST.tsv"))? {
        let name = field(&row, "name")?.to_string();
        clips.push(Clip {
            file: fixtures.join("unrelated").join(format!("{name}.mp4")),
            family: "unrelated".into(),
            split: sources
                .unrelated
                .get(&name)
                .copied()
                .unwrap_or(Split::Check),
            shows: Vec::new(),
            name,
        });
    }
    Ok(clips)
}

/// Aligns every clip against every episode it does not show.
pub fn measure(fixtures: &Path, clips_dir: &Path) -> anyhow::Result<Measured> {
    let sources = Sources::read(fixtures)?;
    let mut episodes: Vec<(String, String)> = sources
        .drama_of
        .iter()
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect();
    episodes.sort();
    let files: Vec<PathBuf> = episodes
        .iter()
        .map(|(n, _)| fixtures.join("originals").join(format!("{n}.mp4")))
        .collect();
    let progress = VideoProgress::new("fingerprinting episodes");
    let mut references: Vec<Vec<RefFrame>> = Vec::new();
    for fp in fingerprint_files(&files, &Options::default(), &|p| progress.report(p)) {
        let fp = fp?;
        references.push(
            fp.frames
                .iter()
                .map(|f| RefFrame {
                    t: f.t,
                    hash: f.hash,
                    quality: f.quality,
                })
                .collect(),
        );
    }
    progress.finish();

    let mut clips = fixture_clips(fixtures, &sources)?;
    clips.extend(generate(clips_dir)?);
    let options = Options {
        detect_insets: true,
        ..Options::default()
    };
    let progress = VideoProgress::new("fingerprinting suspects");
    let paths: Vec<PathBuf> = clips.iter().map(|c| c.file.clone()).collect();
    let fingerprints = fingerprint_files(&paths, &options, &|p| progress.report(p));
    progress.finish();

    let params = Params::default().floors_off();
    let mut alignments = [0usize; 2];
    let mut samples = Vec::new();
    for (clip, fp) in clips.iter().zip(fingerprints) {
        let fp = fp.with_context(|| format!("fingerprinting {}", clip.file.display()))?;
        let probes: Vec<Vec<QueryFrame>> = std::iter::once(query_frames(&fp))
            .chain(inset_query_frames(&fp))
            .collect();
        let shows_blupi = clip
            .shows
            .iter()
            .any(|o| sources.drama_of.get(o).is_some_and(|d| d == "blupi"));
        let work: Vec<(usize, usize, Split, bool)> = episodes
            .iter()
            .enumerate()
            .flat_map(|(e, (name, drama))| {
                let split = clip.split.and(crate::splits::drama_split(drama));
                let chance = !clip.shows.contains(name);
                (0..probes.len()).map(move |p| (e, p, split, chance))
            })
            .collect();
        for &(_, _, split, chance) in &work {
            if chance {
                alignments[split as usize] += 1;
            }
        }
        let deployed = Params::default();
        let found: Vec<Sample> = work
            .par_iter()
            .flat_map_iter(|&(e, p, split, chance)| {
                let (episode, drama) = &episodes[e];
                let title_card = chance && shows_blupi && drama == "blupi";
                let params = if chance { &params } else { &deployed };
                align(&probes[p], &references[e], params)
                    .into_iter()
                    .filter(move |s| !(title_card && s.ref_end_s <= 2.5))
                    .map(move |segment| Sample {
                        split,
                        clip: clip.name.clone(),
                        family: clip.family.clone(),
                        episode: episode.clone(),
                        probe: p,
                        chance,
                        segment,
                    })
            })
            .collect();
        samples.extend(found);
    }
    Ok(Measured {
        samples,
        alignments,
    })
}

/// The tail of one split: pooled and short segments.
pub fn fit(
    measured: &Measured,
    split: Split,
    tail_fraction: f64,
) -> Option<(ChanceModel, ChanceModel)> {
    let short_s = Calibration::default().short_s;
    // Implausible speeds pay their own factor; fitting them too would count them twice.
    let (slow, fast) = Calibration::default().plausible_speed;
    let of_split = || {
        measured.samples.iter().filter(move |s| {
            s.chance
                && s.split == split
                && s.segment.speed >= slow - 1e-9
                && s.segment.speed <= fast + 1e-9
        })
    };
    let all: Vec<f64> = of_split().map(|s| s.segment.evidence).collect();
    let short: Vec<f64> = of_split()
        .filter(|s| s.segment.suspect_end_s - s.segment.suspect_start_s < short_s)
        .map(|s| s.segment.evidence)
        .collect();
    let alignments = measured.alignments[split as usize];
    Some((
        ChanceModel::fit(&all, alignments, tail_fraction)?,
        ChanceModel::fit(&short, alignments, tail_fraction)?,
    ))
}

/// The `q` quantile of ascending `sorted` (NaN when empty).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub fn run(args: ChanceArgs) -> anyhow::Result<()> {
    let measured = measure(&args.fixtures, &args.clips)?;
    if let Some(path) = &args.samples {
        let mut text = String::new();
        for sample in &measured.samples {
            text.push_str(&serde_json::to_string(sample)?);
            text.push('\n');
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let default = Calibration::default();
    println!("chance segments (reporting floors off), evidence quantiles:");
    println!(
        "{:<6} {:>6} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}  strongest",
        "split", "align.", "segments", "p50", "p90", "p99", "max", "score.max"
    );
    for split in Split::ALL {
        let of: Vec<&Sample> = measured
            .samples
            .iter()
            .filter(|s| s.chance && s.split == split)
            .collect();
        let mut evidence: Vec<f64> = of.iter().map(|s| s.segment.evidence).collect();
        evidence.sort_by(f64::total_cmp);
        let score = of.iter().map(|s| s.segment.score).fold(f64::NAN, f64::max);
        let strongest = of
            .iter()
            .max_by(|a, b| a.segment.evidence.total_cmp(&b.segment.evidence))
            .map(|s| {
                let g = &s.segment;
                format!(
                    "{} vs {} probe {}: {:.1}-{:.1}s x{:.2} frames {} dist {:.1} cov {:.2}",
                    s.clip,
                    s.episode,
                    s.probe,
                    g.suspect_start_s,
                    g.suspect_end_s,
                    g.speed,
                    g.matched_frames,
                    g.mean_distance,
                    g.coverage
                )
            })
            .unwrap_or_default();
        println!(
            "{:<6} {:>6} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.3}  {strongest}",
            split.name(),
            measured.alignments[split as usize],
            of.len(),
            quantile(&evidence, 0.5),
            quantile(&evidence, 0.9),
            quantile(&evidence, 0.99),
            quantile(&evidence, 1.0),
            score,
        );
    }
    let Some((any, short)) = fit(&measured, Split::Tune, args.tail_fraction) else {
        bail!("too few tune chance segments to fit a tail");
    };
    println!(
        "tune fit: pooled {any:?}\n          short (< {} s) {short:?}",
        default.short_s
    );
    println!(
        "paste into reelguard-align/src/chance.rs: FIT_ANY = ({:.3}, {:.5}, {:.4}); FIT_SHORT = ({:.3}, {:.5}, {:.4})",
        any.threshold, any.per_alignment, any.scale, short.threshold, short.per_alignment, short.scale
    );
    // Validation: chance segments of the check split at least this strong, observed vs what
    // the tune fit predicts for as many alignments.
    // At the speeds the tail was fitted on: the others pay their own factor.
    let (slow, fast) = default.plausible_speed;
    let check: Vec<&Sample> = measured
        .samples
        .iter()
        .filter(|s| s.chance && s.split == Split::Check)
        .filter(|s| s.segment.speed >= slow - 1e-9 && s.segment.speed <= fast + 1e-9)
        .collect();
    let n = measured.alignments[Split::Check as usize] as f64;
    println!(
        "check split: chance segments with evidence >= e, observed vs predicted by the tune fit"
    );
    for e in [
        any.threshold,
        any.threshold + 5.0,
        any.threshold + 10.0,
        any.threshold + 20.0,
        40.0,
    ] {
        let observed = check.iter().filter(|s| s.segment.evidence >= e).count();
        println!(
            "  e >= {e:>5.1}: observed {observed:>5}, predicted {:>9.2}",
            any.exceedance(e) * n
        );
    }
    let fitted = Calibration {
        any,
        short,
        ..default.clone()
    };
    let gate = Params::default();
    for split in Split::ALL {
        let passes_floors = |s: &&&Sample| {
            let g = &s.segment;
            g.matched_frames >= gate.min_frames
                && g.suspect_end_s - g.suspect_start_s >= gate.min_duration_s
                && g.score >= gate.min_score
                && g.evidence >= gate.min_evidence
        };
        let of: Vec<&Sample> = measured
            .samples
            .iter()
            .filter(|s| s.chance && s.split == split)
            .collect();
        let floors = of.iter().filter(passes_floors).count();
        let reported = of
            .iter()
            .filter(passes_floors)
            .filter(|s| fitted.accepts(fitted.false_match_rate(&s.segment, 12)))
            .count();
        println!(
            "{}: chance segments past the aligner's floors {floors}, also within {} per million at 12 alignments {reported}",
            split.name(),
            fitted.max_rate_per_million
        );
    }
    print_calibration(&calibration_table(&fitted));
    Ok(())
}

/// One row of the calibration table: the estimated false-match rate of a segment of this
/// evidence, per million suspects, for each kind of segment.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationRow {
    pub evidence: f64,
    /// A segment of at least `short_s` at a plausible speed.
    pub long: f64,
    /// A shorter one at a plausible speed.
    pub short: f64,
    /// A long one at an implausible speed.
    pub implausible_speed: f64,
}

/// Alignments per suspect the table assumes: the matcher's least number of candidates (a
/// suspect's rate grows in proportion to the alignments it takes).
pub const TABLE_ALIGNMENTS: usize = 12;

/// Estimated false-match rates over a range of evidence.
pub fn calibration_table(calibration: &Calibration) -> Vec<CalibrationRow> {
    let at = |evidence: f64, speed: f64, seconds: f64| {
        let segment = Segment {
            suspect_start_s: 0.0,
            suspect_end_s: seconds,
            ref_start_s: 0.0,
            ref_end_s: seconds * speed,
            speed,
            mirrored: false,
            matched_frames: 0,
            mean_distance: 0.0,
            coverage: 0.0,
            score: 0.0,
            evidence,
            signal: <reelguard_hash::VideoPhash as reelguard_hash::SignalType>::NAME,
            false_match_rate: None,
            confirmed_by: None,
        };
        calibration.false_match_rate(&segment, TABLE_ALIGNMENTS)
    };
    let long_s = calibration.short_s.max(1.0) * 2.0;
    let short_s = calibration.short_s / 2.0;
    [
        40.0, 60.0, 80.0, 100.0, 120.0, 150.0, 200.0, 250.0, 300.0, 400.0,
    ]
    .into_iter()
    .map(|evidence| CalibrationRow {
        evidence,
        long: at(evidence, 1.0, long_s),
        short: at(evidence, 1.0, short_s),
        implausible_speed: at(evidence, 0.72, long_s),
    })
    .collect()
}

/// Prints [`calibration_table`]'s rows.
pub fn print_calibration(rows: &[CalibrationRow]) {
    let c = Calibration::default();
    println!(
        "calibration: evidence -> estimated false matches per million suspects ({TABLE_ALIGNMENTS} alignments each; reported only <= {})",
        c.max_rate_per_million
    );
    println!(
        "{:>8} {:>12} {:>12} {:>14}",
        "evidence",
        format!(">= {} s", c.short_s),
        format!("< {} s", c.short_s),
        format!("speed {}-{}x out", c.plausible_speed.0, c.plausible_speed.1)
    );
    for row in rows {
        println!(
            "{:>8.0} {:>12.3e} {:>12.3e} {:>14.3e}",
            row.evidence, row.long, row.short, row.implausible_speed
        );
    }
}
