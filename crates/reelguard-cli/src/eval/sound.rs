//! `reelguard eval` on the fixtures with sound (`<fixtures>/sound`, made by
//! `fixtures/sound.sh`, issue 14): a table for the picture alone, one for the sound alone, and
//! one for the fused scan that `reelguard scan` reports.
//!
//! The decision that shapes this module: **one decode, three readings, one scorer.** Each
//! suspect is scanned as `reelguard scan` scans it (fused); the fingerprint of its full pass is
//! then matched by each signal alone, so the tables differ in the signal only, never in the
//! decode, and all three are scored by [`super::score`]. A signal is not blamed for what it
//! cannot see: a suspect whose manifest row says `expect = video` (a re-dub) has no truth in
//! the sound's table, and `expect = audio` (sound over a still cover) none in the picture's,
//! so a match there counts as wrong. The sound's table holds what audio would report on its
//! own: segments with the evidence an audio-only match needs
//! ([`reelguard_pipeline::audio::AUDIO_ONLY_MIN_EVIDENCE`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use reelguard_index::{Catalogue, CatalogueSnapshot, Match, MatchParams};
use reelguard_media::{Decoder, Fingerprint, InProcess, Progress};
use reelguard_pipeline::audio::{find_audio, AUDIO_ONLY_MIN_EVIDENCE, REDUBBED};
use reelguard_pipeline::{full_options, probe_frames, scan_file_probes, ScanOptions};
use serde::Serialize;

use super::{
    cases, fingerprint_originals, print_rows, register, score, Case, Evaluation, Found, Outcome,
};
use crate::progress::VideoProgress;
use crate::splits::{field, read_tsv, Split};

/// The three tables, and what only the fused scan shows.
#[derive(Debug, Clone, Serialize)]
pub struct SoundEvaluation {
    /// The full pass's picture views alone.
    pub video: Evaluation,
    /// The full pass's sound alone.
    pub audio: Evaluation,
    /// The scan as `reelguard scan` runs it.
    pub fused: Evaluation,
    /// Per family: how the fused scan's right matches were found.
    pub signals: Vec<SignalRow>,
}

/// How one family's right fused matches were found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SignalRow {
    pub family: String,
    pub split: Option<Split>,
    /// Right (episode) matches.
    pub right: usize,
    /// ... with a segment both signals found.
    pub both_signals: usize,
    /// ... found by the sound alone (every segment audio's, none confirmed by the picture).
    pub audio_only: usize,
    /// ... tagged `redubbed`.
    pub redubbed: usize,
}

/// Which signals should find a suspect: `both`, `video` or `audio`.
fn expectations(sound: &Path) -> anyhow::Result<HashMap<PathBuf, String>> {
    let mut out = HashMap::new();
    for row in read_tsv(&sound.join("variants/MANIFEST.tsv"))? {
        out.insert(
            sound.join(field(&row, "file")?),
            field(&row, "expect")?.to_string(),
        );
    }
    Ok(out)
}

/// The cases as one signal should see them: truths the signal cannot carry dropped.
fn for_signal(cases: &[Case], expect: &HashMap<PathBuf, String>, signal: &str) -> Vec<Case> {
    cases
        .iter()
        .map(|case| {
            let mut case = case.clone();
            if expect
                .get(&case.file)
                .is_some_and(|e| e != "both" && e != signal)
            {
                case.truths.clear();
            }
            case
        })
        .collect()
}

/// The sound alone: audio matches whose segments clear the audio-only floor.
fn audio_alone(
    catalogue: &CatalogueSnapshot,
    full: &Fingerprint,
    params: &MatchParams,
) -> Result<Vec<Found>, String> {
    let heard = find_audio(catalogue, full, params).map_err(|e| e.to_string())?;
    Ok(heard
        .into_iter()
        .filter_map(|mut m: Match| {
            m.segments.retain(|s| s.evidence >= AUDIO_ONLY_MIN_EVIDENCE);
            (!m.segments.is_empty()).then(|| Found::from(&m))
        })
        .collect())
}

/// The picture alone: the full pass's views, matched as the scan matches them.
fn video_alone(
    catalogue: &CatalogueSnapshot,
    full: &Fingerprint,
    params: &MatchParams,
) -> Result<Vec<Found>, String> {
    let views = probe_frames(full);
    let probes: Vec<&[reelguard_align::QueryFrame]> = views.iter().map(Vec::as_slice).collect();
    let (matches, _) = catalogue
        .find_probes(&probes, params)
        .map_err(|e| e.to_string())?;
    Ok(matches.iter().map(Found::from).collect())
}

/// One case's three outcomes: fused, picture alone, sound alone.
type Three = (Outcome, Outcome, Outcome);

fn scan_case(
    catalogue: &CatalogueSnapshot,
    case: &Case,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Three {
    let started = std::time::Instant::now();
    let quiet = |_: Progress| {};
    let scanned = scan_file_probes(catalogue, &InProcess, &case.file, options, progress);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let (fused, full) = match scanned {
        Ok((report, full)) => (Ok(report.matches.iter().map(Found::from).collect()), full),
        Err(e) => {
            let e = e.to_string();
            return ((Err(e.clone()), ms), (Err(e.clone()), ms), (Err(e), ms));
        }
    };
    // Ruled out by its key frames: the signals alone still get a full pass to read.
    let full = match full {
        Some(full) => Ok(full),
        None => InProcess
            .fingerprint(&case.file, &full_options(options), &quiet)
            .map_err(|e| e.to_string()),
    };
    let (video, audio) = match &full {
        Ok(full) => (
            video_alone(catalogue, full, &options.matching),
            audio_alone(catalogue, full, &options.matching),
        ),
        Err(e) => (Err(e.clone()), Err(e.clone())),
    };
    ((fused, ms), (video, ms), (audio, ms))
}

/// Tallies how the fused scan's right matches were found, per family, overall and per split.
fn signal_rows(cases: &[Case], fused: &[Outcome], ids: &super::Registered) -> Vec<SignalRow> {
    let mut rows: std::collections::BTreeMap<(Option<Split>, String), SignalRow> =
        Default::default();
    for (case, (found, _)) in cases.iter().zip(fused) {
        let Ok(found) = found else { continue };
        for split in [None, Some(case.split)] {
            let row = rows.entry((split, case.family.clone())).or_default();
            row.family = case.family.clone();
            row.split = split;
            for m in found {
                let right = case.truths.iter().any(|t| {
                    ids.get(&t.original)
                        .is_some_and(|(w, e)| *w == m.work_id && *e == m.episode)
                });
                if !right {
                    continue;
                }
                row.right += 1;
                row.both_signals += usize::from(m.spans.iter().any(|s| s.confirmed_by.is_some()));
                row.audio_only += usize::from(m.spans.iter().all(|s| {
                    s.signal.as_deref() == Some(reelguard_audio::AUDIO_HK.as_str())
                        && s.confirmed_by.is_none()
                }));
                row.redubbed += usize::from(m.tags.iter().any(|t| t == REDUBBED));
            }
        }
    }
    rows.into_values().collect()
}

/// Scores the fixtures with sound, if `fixtures` has them (a `--quick` run makes none).
pub fn evaluate(
    fixtures: &Path,
    full: bool,
    matching: &MatchParams,
) -> anyhow::Result<Option<SoundEvaluation>> {
    let sound = fixtures.join("sound");
    if !sound.join("variants/MANIFEST.tsv").exists() {
        return Ok(None);
    }
    let episodes = fingerprint_originals(&sound)?;
    let data = tempfile::tempdir()?;
    let mut catalogue = Catalogue::open(data.path())?;
    let ids = register(&episodes, &mut catalogue, None)?;
    let catalogue = catalogue.snapshot();
    let cases = cases(&sound)?;
    let expect = expectations(&sound)?;
    let options = ScanOptions {
        keyframes_first: !full,
        matching: matching.clone(),
        ..ScanOptions::default()
    };
    let progress = VideoProgress::new("scanning fixtures with sound");
    let three: Vec<Three> = cases
        .par_iter()
        .with_max_len(1)
        .map(|case| scan_case(&catalogue, case, &options, &|p| progress.report(p)))
        .collect();
    progress.finish();
    let mut fused = Vec::new();
    let mut video = Vec::new();
    let mut audio = Vec::new();
    for (f, v, a) in three {
        fused.push(f);
        video.push(v);
        audio.push(a);
    }
    let signals = signal_rows(&cases, &fused, &ids);
    Ok(Some(SoundEvaluation {
        video: score(&for_signal(&cases, &expect, "video"), video, &ids),
        audio: score(&for_signal(&cases, &expect, "audio"), audio, &ids),
        fused: score(&cases, fused, &ids),
        signals,
    }))
}

/// Prints the three tables of each split asked for, and the fused matches' signals.
pub fn print(sound: &SoundEvaluation, only: Option<Split>) {
    for split in Split::ALL {
        if only.is_some_and(|s| s != split) {
            continue;
        }
        for (name, evaluation) in [
            ("picture alone", &sound.video),
            ("sound alone", &sound.audio),
            ("fused (as `reelguard scan`)", &sound.fused),
        ] {
            if let Some(rows) = evaluation.splits.get(&split) {
                print_rows(
                    &format!("\nwith sound, {} split: {name}", split.name()),
                    rows,
                );
            }
        }
        println!(
            "\nwith sound, {} split: how the fused right matches were found",
            split.name()
        );
        println!(
            "{:<13} {:>6} {:>8} {:>11} {:>9}",
            "family", "right", "both", "audio-only", "redubbed"
        );
        for row in sound.signals.iter().filter(|r| r.split == Some(split)) {
            println!(
                "{:<13} {:>6} {:>8} {:>11} {:>9}",
                row.family, row.right, row.both_signals, row.audio_only, row.redubbed
            );
        }
    }
}
