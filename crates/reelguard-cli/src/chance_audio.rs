//! `reelguard bench chance-audio`: the evidence of the sound's chance alignments, measured on
//! the fixtures with sound, beside what the calibration the sound is scored with says of it.
//!
//! Every suspect of `<fixtures>/sound` (the originals, their 13 edits, the unrelated clips) is
//! fingerprinted as a scan's full pass fingerprints it (the sound as it is and stretched back
//! by each grid speed), and each of its tracks is aligned, as the scan aligns it (each
//! stretched track near its own speed), against every episode whose sound it does not carry,
//! with the aligner's reporting floors off. A re-dub against its own episode is chance too:
//! its sound was replaced. The true pairs are aligned with the floors on, for contrast.
//!
//! The decision that shapes it: the sound's segments are scored with the tail fitted on the
//! picture's chance alignments (audio evidence is scaled to video's per second), so this
//! measures whether that holds: the strongest chance evidence of each split against
//! [`AUDIO_ONLY_MIN_EVIDENCE`], and the tail fitted on the tune split's sound, validated on
//! the check split, beside the one in force.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rayon::prelude::*;
use reelguard_align::chance::{Calibration, ChanceModel};
use reelguard_align::{align_signal, QueryFrame, RefFrame, Segment};
use reelguard_audio::AudioHk;
use reelguard_media::{fingerprint_files, Fingerprint, Options};
use reelguard_pipeline::audio::{
    audio_bands, audio_params, audio_probes, stored_audio, AUDIO_ONLY_MIN_EVIDENCE,
};

use crate::chance::quantile;
use crate::progress::VideoProgress;
use crate::splits::{field, read_tsv, Sources, Split};

#[derive(clap::Args)]
pub struct ChanceAudioArgs {
    /// Fixtures directory made by `fixtures/generate` (its `sound` part is read).
    #[arg(long, default_value = "fixtures/out")]
    fixtures: PathBuf,
    /// Fraction of the strongest chance segments the tail is fitted on.
    #[arg(long, default_value_t = 0.1)]
    tail_fraction: f64,
}

/// A suspect with sound and the episode whose sound it carries, if any.
struct Suspect {
    file: PathBuf,
    split: Split,
    carries: Option<String>,
}

/// Every clip with sound: the originals, their edits (a re-dub carries no episode's sound)
/// and the unrelated clips, each on its side of the split as `reelguard eval` puts it.
fn suspects(sound: &Path, sources: &Sources) -> anyhow::Result<Vec<Suspect>> {
    // In name order, so that a run is reproducible (the sources are hash maps).
    let mut originals: Vec<&String> = sources.drama_of.keys().collect();
    originals.sort();
    let mut out: Vec<Suspect> = originals
        .into_iter()
        .map(|name| Suspect {
            file: sound.join("originals").join(format!("{name}.mp4")),
            split: sources.originals_split([name.as_str()]),
            carries: Some(name.clone()),
        })
        .collect();
    for row in read_tsv(&sound.join("variants/MANIFEST.tsv"))? {
        let original = field(&row, "original")?;
        out.push(Suspect {
            file: sound.join(field(&row, "file")?),
            split: sources.originals_split([original]),
            carries: (field(&row, "expect")? != "video").then(|| original.to_string()),
        });
    }
    let mut unrelated: Vec<(&String, &Split)> = sources.unrelated.iter().collect();
    unrelated.sort();
    for (name, &split) in unrelated {
        out.push(Suspect {
            file: sound.join("unrelated").join(format!("{name}.mp4")),
            split,
            carries: None,
        });
    }
    Ok(out)
}

/// The episode's sound as the catalogue stores it and the aligner reads it.
fn references(fp: &Fingerprint) -> Vec<RefFrame<u32>> {
    stored_audio(fp)
        .into_iter()
        .map(|r| RefFrame {
            t: f64::from(r.t),
            hash: r.hash,
            quality: r.quality,
        })
        .collect()
}

pub fn run(args: ChanceAudioArgs) -> anyhow::Result<()> {
    let sound = args.fixtures.join("sound");
    let sources = &Sources::read(&sound)?;
    let mut names: Vec<&String> = sources.drama_of.keys().collect();
    names.sort();
    let files: Vec<PathBuf> = names
        .iter()
        .map(|n| sound.join("originals").join(format!("{n}.mp4")))
        .collect();
    let progress = VideoProgress::new("fingerprinting episodes");
    let stored = Options {
        audio_speeds: vec![1.0],
        ..Options::default()
    };
    let episodes: Vec<Vec<RefFrame<u32>>> =
        fingerprint_files(&files, &stored, &|p| progress.report(p))
            .into_iter()
            .map(|fp| fp.map(|fp| references(&fp)))
            .collect::<Result<_, _>>()
            .context("fingerprinting an episode")?;
    progress.finish();

    let suspects = suspects(&sound, sources)?;
    let scan = Options {
        audio_speeds: reelguard_audio::SPEED_GRID.to_vec(),
        ..Options::default()
    };
    let progress = VideoProgress::new("fingerprinting suspects");
    let paths: Vec<PathBuf> = suspects.iter().map(|s| s.file.clone()).collect();
    let prints = fingerprint_files(&paths, &scan, &|p| progress.report(p));
    progress.finish();

    let deployed = audio_params(&reelguard_index::MatchParams::default()).align;
    let floors_off = deployed.floors_off();
    // (split, chance, segment) and alignments per split.
    let mut samples: Vec<(Split, bool, Segment)> = Vec::new();
    let mut alignments = [0usize; 2];
    for (suspect, fp) in suspects.iter().zip(prints) {
        let fp = fp.with_context(|| format!("fingerprinting {}", suspect.file.display()))?;
        let views: Vec<Vec<QueryFrame<u32>>> = audio_probes(&fp);
        let bands = audio_bands(&fp);
        let work: Vec<(usize, usize, Split, bool)> = (0..views.len())
            .flat_map(|v| {
                names.iter().enumerate().map(move |(e, name)| {
                    let chance = suspect.carries.as_ref() != Some(*name);
                    let split = suspect.split.and(sources.originals_split([name.as_str()]));
                    (v, e, split, chance)
                })
            })
            .collect();
        for &(_, _, split, chance) in &work {
            alignments[split as usize] += usize::from(chance);
        }
        let found: Vec<(Split, bool, Segment)> = work
            .par_iter()
            .flat_map_iter(|&(v, e, split, chance)| {
                let base = if chance { &floors_off } else { &deployed };
                // As the scan aligns the view: only near its speed (nothing if out of range).
                base.within_speeds(bands[v])
                    .map(|params| align_signal::<AudioHk>(&views[v], &episodes[e], &params))
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |s| (split, chance, s))
            })
            .collect();
        samples.extend(found);
    }
    report(&samples, alignments, args.tail_fraction)
}

fn report(
    samples: &[(Split, bool, Segment)],
    alignments: [usize; 2],
    tail: f64,
) -> anyhow::Result<()> {
    let in_force = Calibration::default();
    let evidence_of = |split: Split, chance: bool| -> Vec<f64> {
        let mut e: Vec<f64> = samples
            .iter()
            .filter(|(s, c, _)| *s == split && *c == chance)
            .map(|(_, _, g)| g.evidence)
            .collect();
        e.sort_by(f64::total_cmp);
        e
    };
    println!("sound's chance segments (floors off) and true segments, evidence quantiles:");
    println!(
        "{:<6} {:>6} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8} {:>12}   true: {:>5} {:>7} {:>7}",
        "split",
        "align.",
        "segments",
        "p50",
        "p90",
        "p99",
        "max",
        ">= floor",
        "rate at max",
        "n",
        "min",
        "p50"
    );
    for split in Split::ALL {
        let chance = evidence_of(split, true);
        let truth = evidence_of(split, false);
        let max = quantile(&chance, 1.0);
        let strongest = samples
            .iter()
            .filter(|(s, c, _)| *s == split && *c)
            .max_by(|a, b| a.2.evidence.total_cmp(&b.2.evidence))
            .map(|(_, _, g)| in_force.false_match_rate(g, crate::chance::TABLE_ALIGNMENTS))
            .unwrap_or(f64::NAN);
        println!(
            "{:<6} {:>6} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8} {:>12.3e}   true: {:>5} {:>7.1} {:>7.1}",
            split.name(),
            alignments[split as usize],
            chance.len(),
            quantile(&chance, 0.5),
            quantile(&chance, 0.9),
            quantile(&chance, 0.99),
            max,
            chance.iter().filter(|&&e| e >= AUDIO_ONLY_MIN_EVIDENCE).count(),
            strongest,
            truth.len(),
            quantile(&truth, 0.0),
            quantile(&truth, 0.5),
        );
    }
    // What a scan would report of them: past the aligner's floors and within the rate.
    let gate = audio_params(&reelguard_index::MatchParams::default()).align;
    for split in Split::ALL {
        let past: Vec<&Segment> = samples
            .iter()
            .filter(|(s, c, _)| *s == split && *c)
            .map(|(_, _, g)| g)
            .filter(|g| {
                g.matched_frames >= gate.min_frames
                    && g.suspect_end_s - g.suspect_start_s >= gate.min_duration_s
                    && g.score >= gate.min_score
                    && g.evidence >= gate.min_evidence
            })
            .collect();
        let reported = past
            .iter()
            .filter(|g| {
                in_force.accepts(in_force.false_match_rate(g, crate::chance::TABLE_ALIGNMENTS))
            })
            .count();
        println!(
            "{}: chance segments past the aligner's floors {}, also within {} per million at {} alignments {reported}",
            split.name(),
            past.len(),
            in_force.max_rate_per_million,
            crate::chance::TABLE_ALIGNMENTS
        );
    }
    let tune = evidence_of(Split::Tune, true);
    let Some(fit) = ChanceModel::fit(&tune, alignments[Split::Tune as usize], tail) else {
        bail!("too few tune chance segments to fit a tail");
    };
    println!(
        "tune fit of the sound: {fit:?}; in force (the picture's): {:?}",
        in_force.any
    );
    let check = evidence_of(Split::Check, true);
    let n = alignments[Split::Check as usize] as f64;
    println!("check split: chance segments with evidence >= e, observed vs predicted by the sound's tune fit and by the one in force");
    for e in [
        fit.threshold,
        fit.threshold + 10.0,
        40.0,
        80.0,
        AUDIO_ONLY_MIN_EVIDENCE,
    ] {
        println!(
            "  e >= {e:>6.1}: observed {:>5}, sound's fit {:>10.3}, in force {:>10.3}",
            check.iter().filter(|&&x| x >= e).count(),
            fit.exceedance(e) * n,
            in_force.any.exceedance(e) * n
        );
    }
    Ok(())
}
