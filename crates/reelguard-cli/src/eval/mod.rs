//! `reelguard eval [--fixtures DIR] [--json]`: accuracy per edit family on the fixtures.
//!
//! Registers every drama of `originals/MANIFEST.tsv` as a work (episodes in number order) in a
//! temporary catalogue, scans every suspect of `variants/`, `compilations/` and `unrelated/`
//! exactly as `reelguard scan` does, and compares with the ground truth the fixture generator
//! wrote: recall of the right (work, episode), matches to anything not in the suspect,
//! boundary error of the matched segment, speed error and the mirrored flag. Then it matches
//! the same decodes again with each episode left out of the catalogue in turn ([`neighbour`]):
//! whatever is found on the missing episode's stretch is false.
//!
//! The fixtures with sound (`<fixtures>/sound`) are scored the same way, once per signal and
//! fused ([`sound`]).
//!
//! The scoring ([`score`]) takes matches as [`Found`], not as the pipeline's types, so that
//! `reelguard demo`, which gets its matches from the daemon's API, prints the same table by the
//! same rules.

mod neighbour;
mod sound;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use rayon::prelude::*;
use reelguard_index::{Catalogue, Match, MatchParams, NewEpisode, NewWork};
use reelguard_media::{fingerprint_files, InProcess, Options};
use reelguard_pipeline::{new_episode, probe_frames, scan_file_probes, ScanOptions};
use serde::Serialize;

use crate::progress::VideoProgress;
use crate::splits::{field, read_tsv, Sources, Split};

#[derive(clap::Args)]
pub struct Args {
    /// Fixtures directory made by `fixtures/generate`.
    #[arg(long, default_value = "fixtures/out")]
    fixtures: PathBuf,
    /// Print the table as one JSON object.
    #[arg(long)]
    json: bool,
    /// Always decode suspects fully (skip the key-frame first pass).
    #[arg(long)]
    full: bool,
    /// Print only this split's table (`tune` or `check`; see `splits.rs`). JSON always holds
    /// both.
    #[arg(long)]
    split: Option<Split>,
    /// The mutual-best-match test's least share of winning frames
    /// (`reelguard_index::Distinctness::min_share`); 0 turns it off, which is the matcher
    /// before the test, for before/after tables.
    #[arg(long, default_value_t = reelguard_index::Distinctness::default().min_share)]
    min_distinct_share: f64,
    /// Only the fixtures with sound (`<fixtures>/sound`): the picture's, the sound's and the
    /// fused tables.
    #[arg(long)]
    sound_only: bool,
}

/// What a suspect should match: original name → truth.
#[derive(Debug, Clone)]
pub struct Truth {
    original: String,
    suspect_start_s: f64,
    suspect_end_s: f64,
    ref_start_s: f64,
    ref_end_s: f64,
    speed: f64,
    mirrored: bool,
}

#[derive(Debug, Clone)]
pub struct Case {
    /// The edit family (`mirror`, `compilation`, `unrelated`, ...).
    pub family: String,
    split: Split,
    /// The suspect file.
    pub file: PathBuf,
    truths: Vec<Truth>,
}

impl Case {
    /// Whether the suspect shows this original (an episode's name).
    pub fn shows(&self, original: &str) -> bool {
        self.truths.iter().any(|t| t.original == original)
    }
}

/// One matched stretch, as scored.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Span {
    pub suspect_start_s: f64,
    pub suspect_end_s: f64,
    pub ref_start_s: f64,
    pub ref_end_s: f64,
    pub speed: f64,
    pub mirrored: bool,
    /// The signal that found it (absent from API JSON written before signals had names).
    #[serde(default)]
    pub signal: Option<String>,
    /// The other signal that found the same stretch.
    #[serde(default)]
    pub confirmed_by: Option<String>,
}

/// One match of a suspect, as scored: a registered episode and where it was found.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Found {
    pub work_id: String,
    pub episode: u32,
    #[serde(rename = "segments")]
    pub spans: Vec<Span>,
    /// Labels for reviewers (`redubbed`).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl From<&Match> for Found {
    fn from(m: &Match) -> Found {
        let spans = m
            .segments
            .iter()
            .map(|s| Span {
                suspect_start_s: s.suspect_start_s,
                suspect_end_s: s.suspect_end_s,
                ref_start_s: s.ref_start_s,
                ref_end_s: s.ref_end_s,
                speed: s.speed,
                mirrored: s.mirrored,
                signal: Some(s.signal.as_str().to_string()),
                confirmed_by: s.confirmed_by.as_ref().map(|c| c.as_str().to_string()),
            })
            .collect();
        Found {
            work_id: m.work_id.clone(),
            episode: m.episode,
            spans,
            tags: m.tags.clone(),
        }
    }
}

/// What scanning one case gave: its matches or why it failed, and the milliseconds it took.
pub type Outcome = (Result<Vec<Found>, String>, f64);

/// Original name → (work id, episode number) of the registered episodes.
pub type Registered = HashMap<String, (String, u32)>;

/// One row of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FamilyRow {
    pub family: String,
    pub cases: usize,
    pub expected: usize,
    pub found: usize,
    pub recall: f64,
    pub wrong: usize,
    /// Segments whose suspect span lies mostly (over half its length) outside the true span of
    /// the episode they name: every segment of a wrong match, and those of a right match that
    /// lie elsewhere.
    pub false_segments: usize,
    pub median_boundary_error_s: Option<f64>,
    pub max_speed_error: Option<f64>,
    pub mirrored_right: usize,
    pub failed_scans: usize,
    pub median_scan_ms: f64,
}

fn number(row: &HashMap<String, String>, key: &str) -> anyhow::Result<f64> {
    field(row, key)?
        .parse()
        .with_context(|| format!("{key} is not a number in {row:?}"))
}

fn truth(row: &HashMap<String, String>) -> anyhow::Result<Truth> {
    Ok(Truth {
        original: field(row, "original")?.to_string(),
        suspect_start_s: number(row, "suspect_start_s")?,
        suspect_end_s: number(row, "suspect_end_s")?,
        ref_start_s: number(row, "ref_start_s")?,
        ref_end_s: number(row, "ref_end_s")?,
        speed: number(row, "speed")?,
        mirrored: field(row, "mirrored")? == "true",
    })
}

/// Every suspect of the fixtures with its ground truth.
pub fn cases(fixtures: &Path) -> anyhow::Result<Vec<Case>> {
    let sources = Sources::read(fixtures)?;
    let mut cases = Vec::new();
    for row in read_tsv(&fixtures.join("variants/MANIFEST.tsv"))? {
        cases.push(Case {
            family: field(&row, "variant")?.to_string(),
            split: sources.originals_split([field(&row, "original")?]),
            file: fixtures.join(field(&row, "file")?),
            truths: vec![truth(&row)?],
        });
    }
    let mut compilations: BTreeMap<String, Vec<Truth>> = BTreeMap::new();
    for row in read_tsv(&fixtures.join("compilations/MANIFEST.tsv"))? {
        compilations
            .entry(field(&row, "file")?.to_string())
            .or_default()
            .push(truth(&row)?);
    }
    for (file, truths) in compilations {
        cases.push(Case {
            family: "compilation".into(),
            split: sources.originals_split(truths.iter().map(|t| t.original.as_str())),
            file: fixtures.join(file),
            truths,
        });
    }
    for row in read_tsv(&fixtures.join("unrelated/MANIFEST.tsv"))? {
        let name = field(&row, "name")?;
        cases.push(Case {
            family: "unrelated".into(),
            split: sources.unrelated.get(name).copied().unwrap_or(Split::Check),
            file: fixtures.join("unrelated").join(format!("{name}.mp4")),
            truths: Vec::new(),
        });
    }
    Ok(cases)
}

/// The fixture dramas: drama → its episodes' (number, original name), in number order.
pub fn dramas(fixtures: &Path) -> anyhow::Result<BTreeMap<String, Vec<(u32, String)>>> {
    let mut dramas: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for row in read_tsv(&fixtures.join("originals/MANIFEST.tsv"))? {
        let episode: u32 = field(&row, "episode")?.parse().context("episode number")?;
        dramas
            .entry(field(&row, "drama")?.to_string())
            .or_default()
            .push((episode, field(&row, "name")?.to_string()));
    }
    for episodes in dramas.values_mut() {
        episodes.sort();
    }
    Ok(dramas)
}

/// Fails unless `fixtures` holds generated fixtures.
pub fn require_fixtures(fixtures: &Path) -> anyhow::Result<()> {
    if !fixtures.join("variants/MANIFEST.tsv").exists() {
        bail!(
            "{} has no fixtures: run fixtures/generate first",
            fixtures.display()
        );
    }
    Ok(())
}

/// The fixture episodes, fingerprinted once: drama → its episodes' (original name, catalogue
/// record), in number order.
pub type Episodes = BTreeMap<String, Vec<(String, NewEpisode)>>;

/// Fingerprints every fixture episode, as `reelguard register` does.
fn fingerprint_originals(fixtures: &Path) -> anyhow::Result<Episodes> {
    let progress = VideoProgress::new("fingerprinting episodes");
    let mut out = Episodes::new();
    for (drama, episodes) in dramas(fixtures)? {
        let files: Vec<PathBuf> = episodes
            .iter()
            .map(|(_, name)| fixtures.join("originals").join(format!("{name}.mp4")))
            .collect();
        let fingerprints = fingerprint_files(&files, &Options::default(), &|p| progress.report(p));
        let mut records = Vec::new();
        for (((_, name), file), fp) in episodes.iter().zip(&files).zip(fingerprints) {
            records.push((name.clone(), new_episode(&file.display().to_string(), &fp?)));
        }
        out.insert(drama, records);
    }
    progress.finish();
    Ok(out)
}

/// Registers the fixture dramas in `catalogue`, one work each, every episode but
/// `leave_out` (an original's name).
pub fn register(
    episodes: &Episodes,
    catalogue: &mut Catalogue,
    leave_out: Option<&str>,
) -> anyhow::Result<Registered> {
    let mut ids = HashMap::new();
    for (drama, records) in episodes {
        let kept: Vec<&(String, NewEpisode)> = records
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != leave_out)
            .collect();
        let work = catalogue.add_work(
            NewWork {
                title: drama.clone(),
                owner: Some("fixtures".into()),
                external_id: None,
            },
            kept.iter().map(|(_, record)| record.clone()).collect(),
        )?;
        for ((name, _), episode) in kept.iter().zip(&work.episodes) {
            ids.insert(name.clone(), (work.id.clone(), episode.number));
        }
    }
    Ok(ids)
}

/// The segment of `m` that overlaps the truth's suspect span most.
fn best_segment<'a>(m: &'a Found, truth: &Truth) -> Option<&'a Span> {
    m.spans.iter().max_by(|a, b| {
        let overlap = |s: &Span| {
            (s.suspect_end_s.min(truth.suspect_end_s)
                - s.suspect_start_s.max(truth.suspect_start_s))
            .max(0.0)
        };
        overlap(a).total_cmp(&overlap(b))
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

/// Rows per family over every case, and per split ([`crate::splits`]).
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Every case, one row per family.
    pub families: Vec<FamilyRow>,
    /// The cases of each split, one row per family.
    pub splits: BTreeMap<Split, Vec<FamilyRow>>,
}

type Tally = (FamilyRow, Vec<f64>, Vec<f64>);

/// Runs the evaluation and returns one row per family, in a stable order, overall and per
/// split; then the unregistered-neighbour scenario ([`neighbour`]) on the same decodes.
pub fn evaluate(
    fixtures: &Path,
    full: bool,
    matching: &MatchParams,
) -> anyhow::Result<(Evaluation, Evaluation)> {
    require_fixtures(fixtures)?;
    let episodes = fingerprint_originals(fixtures)?;
    let data = tempfile::tempdir()?;
    let mut catalogue = Catalogue::open(data.path())?;
    let ids = register(&episodes, &mut catalogue, None)?;
    let catalogue = catalogue.snapshot();
    let cases = cases(fixtures)?;
    let options = ScanOptions {
        keyframes_first: !full,
        matching: matching.clone(),
        ..ScanOptions::default()
    };
    let progress = VideoProgress::new("scanning fixtures");
    let (results, views): (Vec<Outcome>, Vec<_>) = cases
        .par_iter()
        .with_max_len(1)
        .map(|case| {
            let _case = tracing::debug_span!("case", file = %case.file.display()).entered();
            let started = std::time::Instant::now();
            let report = scan_file_probes(&catalogue, &InProcess, &case.file, &options, &|p| {
                progress.report(p)
            });
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match report {
                Ok((r, full)) => (
                    (Ok(r.matches.iter().map(Found::from).collect()), ms),
                    full.map(|f| probe_frames(&f)),
                ),
                Err(e) => ((Err(e.to_string()), ms), None),
            }
        })
        .unzip();
    progress.finish();
    let main = score(&cases, results, &ids);
    let neighbour = neighbour::evaluate(&episodes, &cases, views, matching)?;
    Ok((main, neighbour))
}

/// Scores what scanning each case found (`outcomes[i]` is `cases[i]`'s) against the truth.
pub fn score(cases: &[Case], outcomes: Vec<Outcome>, ids: &Registered) -> Evaluation {
    score_each(cases, outcomes, &vec![ids; cases.len()])
}

/// [`score`] with each case's own registrations (`ids[i]` is what was registered when
/// `cases[i]` was scanned).
pub fn score_each(cases: &[Case], outcomes: Vec<Outcome>, ids: &[&Registered]) -> Evaluation {
    let mut rows: BTreeMap<(Option<Split>, String), Tally> = BTreeMap::new();
    for ((case, (found, ms)), ids) in cases.iter().zip(outcomes).zip(ids) {
        let found = found.as_deref().map_err(String::as_str);
        for split in [None, Some(case.split)] {
            let tally = rows.entry((split, case.family.clone())).or_default();
            tally_case(tally, case, found, ms, ids);
        }
    }
    let mut evaluation = Evaluation {
        families: Vec::new(),
        splits: BTreeMap::new(),
    };
    for ((split, _), (mut row, mut boundaries, mut times)) in rows {
        row.recall = if row.expected == 0 {
            1.0
        } else {
            row.found.min(row.expected) as f64 / row.expected as f64
        };
        row.median_boundary_error_s = median(&mut boundaries);
        row.median_scan_ms = median(&mut times).unwrap_or(0.0);
        match split {
            None => evaluation.families.push(row),
            Some(split) => evaluation.splits.entry(split).or_default().push(row),
        }
    }
    evaluation
}

/// Adds one scanned case to its family's tally.
fn tally_case(
    (row, boundaries, times): &mut Tally,
    case: &Case,
    found: Result<&[Found], &str>,
    ms: f64,
    ids: &Registered,
) {
    {
        row.family = case.family.clone();
        row.cases += 1;
        times.push(ms);
        let found = match found {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(file = %case.file.display(), %error, "scan failed");
                row.failed_scans += 1;
                row.expected += case.truths.len();
                return;
            }
        };
        let expected: Vec<(&Truth, &(String, u32))> = case
            .truths
            .iter()
            .filter_map(|t| ids.get(&t.original).map(|id| (t, id)))
            .collect();
        row.expected += expected.len();
        for m in found {
            let Some((truth, _)) = expected
                .iter()
                .find(|(_, (work, episode))| *work == m.work_id && *episode == m.episode)
            else {
                row.wrong += 1;
                // Every segment of a match to something the suspect does not show is false.
                row.false_segments += m.spans.len();
                tracing::info!(file = %case.file.display(), work = %m.work_id, episode = m.episode, "wrong match");
                continue;
            };
            row.found += 1;
            row.false_segments += m.spans.iter().filter(|s| outside_truth(s, truth)).count();
            if let Some(segment) = best_segment(m, truth) {
                boundaries.extend([
                    (segment.suspect_start_s - truth.suspect_start_s).abs(),
                    (segment.suspect_end_s - truth.suspect_end_s).abs(),
                    (segment.ref_start_s - truth.ref_start_s).abs(),
                    (segment.ref_end_s - truth.ref_end_s).abs(),
                ]);
                let speed_error = (segment.speed - truth.speed).abs();
                row.max_speed_error = Some(row.max_speed_error.unwrap_or(0.0).max(speed_error));
                if segment.mirrored == truth.mirrored {
                    row.mirrored_right += 1;
                }
            }
        }
    }
}

/// Over half of the segment's suspect span lies outside the true one.
fn outside_truth(segment: &Span, truth: &Truth) -> bool {
    let length = (segment.suspect_end_s - segment.suspect_start_s).max(1e-6);
    let inside = (segment.suspect_end_s.min(truth.suspect_end_s)
        - segment.suspect_start_s.max(truth.suspect_start_s))
    .max(0.0);
    inside / length < 0.5
}

/// Prints one table: a row per family.
pub fn print_rows(title: &str, rows: &[FamilyRow]) {
    println!("{title}");
    println!(
        "{:<13} {:>5} {:>7} {:>6} {:>6} {:>9} {:>9} {:>8} {:>7}",
        "family",
        "cases",
        "recall",
        "wrong",
        "false",
        "bound.err",
        "speed.err",
        "mirror",
        "scan.ms"
    );
    for row in rows {
        let opt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
        println!(
            "{:<13} {:>5} {:>7.3} {:>6} {:>6} {:>9} {:>9} {:>8} {:>7.0}",
            row.family,
            row.cases,
            row.recall,
            row.wrong,
            row.false_segments,
            opt(row.median_boundary_error_s, 2),
            opt(row.max_speed_error, 3),
            format!("{}/{}", row.mirrored_right, row.found),
            row.median_scan_ms,
        );
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let fixtures = crate::checks::existing_dir(&args.fixtures, "fixtures directory")?;
    let mut matching = MatchParams::default();
    matching.distinct.min_share = args.min_distinct_share;
    let with_sound = sound::evaluate(&fixtures, args.full, &matching)?;
    if args.sound_only {
        let Some(with_sound) = with_sound else {
            bail!(
                "{} has no fixtures with sound: run fixtures/generate (not --quick)",
                fixtures.display()
            );
        };
        if args.json {
            println!("{}", serde_json::json!({ "sound": with_sound }));
        } else {
            sound::print(&with_sound, args.split);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (evaluation, neighbour) = evaluate(&fixtures, args.full, &matching)?;
    let calibration = crate::chance::calibration_table(&MatchParams::default().calibration);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "families": evaluation.families,
                "splits": evaluation.splits,
                "neighbour": neighbour,
                "sound": with_sound,
                "calibration": calibration,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.split.is_none() {
        print_rows("all cases", &evaluation.families);
    }
    for (split, rows) in &evaluation.splits {
        if args.split.is_none_or(|s| s == *split) {
            print_rows(&format!("\n{} split", split.name()), rows);
        }
    }
    for (split, rows) in &neighbour.splits {
        if args.split.is_none_or(|s| s == *split) {
            print_rows(
                &format!(
                    "\nunregistered neighbour, {} split (every episode left out in turn; \
                     every segment naming another episode is false)",
                    split.name()
                ),
                rows,
            );
        }
    }
    if let Some(with_sound) = &with_sound {
        sound::print(with_sound, args.split);
    }
    println!();
    crate::chance::print_calibration(&calibration);
    Ok(ExitCode::SUCCESS)
}
