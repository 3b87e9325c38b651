//! `reelguard scan --data DIR [--json] [--full] [--no-audio] FILE...`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rayon::prelude::*;
use reelguard_index::{Catalogue, Match};
use reelguard_pipeline::{scan_file, PipelineError, ScanOptions, ScanReport};
use reelguard_service::present::{round, segment_json};
use serde_json::{json, Value};

use crate::checks::scan_catalogue;
use crate::progress::VideoProgress;

#[derive(clap::Args)]
pub struct Args {
    /// Catalogue directory made by `reelguard register`; opened read-only, and it must exist. A
    /// daemon's data directory is refused: submit suspects to the daemon instead.
    #[arg(long)]
    data: PathBuf,
    /// One JSON object per file and line, in input order.
    #[arg(long)]
    json: bool,
    /// Skip the key-frame first pass and always decode fully.
    #[arg(long)]
    full: bool,
    /// Match the picture only: decode no sound (what audio costs a scan, measured by
    /// comparison; the daemon always uses the sound).
    #[arg(long)]
    no_audio: bool,
    /// Suspect files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = scan_catalogue(&args.data)?;
    let catalogue = Catalogue::open_read_only(&dir)
        .with_context(|| format!("opening catalogue {}", dir.display()))?
        .snapshot();
    let options = ScanOptions {
        keyframes_first: !args.full,
        audio: !args.no_audio,
        ..ScanOptions::default()
    };
    let progress = VideoProgress::new("scanning");
    let results: Vec<Result<ScanReport, PipelineError>> = args
        .files
        .par_iter()
        .with_max_len(1)
        .map(|file| scan_file(&catalogue, file, &options, &|p| progress.report(p)))
        .collect();
    progress.finish();
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for (file, result) in args.files.iter().zip(&results) {
        failed |= result.is_err();
        let line = if args.json {
            report_json(file, result).to_string()
        } else {
            report_table(file, result)
        };
        writeln!(out, "{line}")?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The JSON contract of `scan --json` (stable: external evaluators script against it).
pub fn report_json(file: &Path, result: &Result<ScanReport, PipelineError>) -> Value {
    match result {
        Err(error) => {
            json!({"file": file.display().to_string(), "error": error.to_string(), "error_kind": error.kind()})
        }
        Ok(report) => json!({
            "file": file.display().to_string(),
            "duration_s": round(report.duration_s, 3),
            "matches": report.matches.iter().map(match_json).collect::<Vec<_>>(),
            "passes": report.passes,
            // Additive: where the picture sat in the frame (null after a key-frame-only scan).
            "content": report.content,
        }),
    }
}

pub fn match_json(m: &Match) -> Value {
    json!({
        "work_id": m.work_id,
        "title": m.title,
        "episode": m.episode,
        "score": round(m.score, 3),
        "segments": m.segments.iter().map(segment_json).collect::<Vec<_>>(),
        // Additive (issue 14): `redubbed` when the picture matches and the sound does not.
        "tags": m.tags,
    })
}

fn report_table(file: &Path, result: &Result<ScanReport, PipelineError>) -> String {
    match result {
        Err(error) => format!("error  {error}"),
        Ok(report) if report.matches.is_empty() => {
            format!(
                "clean  {}  ({:.1} s, no match)",
                file.display(),
                report.duration_s
            )
        }
        Ok(report) => {
            let mut lines = vec![format!(
                "MATCH  {}  ({:.1} s)",
                file.display(),
                report.duration_s
            )];
            for m in &report.matches {
                for s in &m.segments {
                    lines.push(format!(
                        "       {} [{}] ep {:>3}  suspect {:>7.1}-{:<7.1} episode {:>7.1}-{:<7.1} speed {:.2}{}  score {:.2}",
                        m.title,
                        m.work_id,
                        m.episode,
                        s.suspect_start_s,
                        s.suspect_end_s,
                        s.ref_start_s,
                        s.ref_end_s,
                        s.speed,
                        if s.mirrored { " mirrored" } else { "" },
                        s.score,
                    ));
                }
            }
            lines.join("\n")
        }
    }
}
