//! `reelguard register --data DIR --work TITLE [--owner NAME] FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use reelguard_index::{Catalogue, NewWork};
use reelguard_media::{fingerprint_files, Options};
use reelguard_pipeline::new_episode;
use reelguard_service::present::round;
use serde_json::json;

use crate::progress::VideoProgress;

#[derive(clap::Args)]
pub struct Args {
    /// Catalogue directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// Title of the work (drama).
    #[arg(long)]
    work: String,
    /// Rights holder.
    #[arg(long)]
    owner: Option<String>,
    /// The owner's reference for the work.
    #[arg(long)]
    external_id: Option<String>,
    /// Episode files, numbered 1..n in this order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let progress = VideoProgress::new("registering");
    let fingerprints = fingerprint_files(&args.files, &Options::default(), &|p| progress.report(p));
    progress.finish();
    // All or nothing: a work is registered with every episode or not at all.
    let mut episodes = Vec::new();
    let mut failures = Vec::new();
    for (file, result) in args.files.iter().zip(fingerprints) {
        match result {
            Ok(fp) => episodes.push(new_episode(&file.display().to_string(), &fp)),
            Err(error) => failures.push(error),
        }
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("reelguard: {failure}");
        }
        println!(
            "{}",
            json!({"error": format!("{} of {} files could not be read; nothing registered",
                failures.len(), args.files.len()),
                "files": failures.iter().map(|f| json!({"file": f.path().display().to_string(), "error": f.to_string()})).collect::<Vec<_>>()})
        );
        return Ok(ExitCode::from(1));
    }
    let frames: Vec<usize> = episodes.iter().map(|e| e.frames.len()).collect();
    let mut catalogue = Catalogue::open(&args.data)
        .with_context(|| format!("opening catalogue {}", args.data.display()))?;
    let work = catalogue.add_work(
        NewWork {
            title: args.work,
            owner: args.owner,
            external_id: args.external_id,
        },
        episodes,
    )?;
    let out = json!({
        "work_id": work.id,
        "title": work.title,
        "episodes": work.episodes.iter().zip(&frames).map(|(e, frames)| json!({
            "number": e.number,
            "file": e.file,
            "duration_s": round(e.duration_s, 3),
            "frames": frames,
        })).collect::<Vec<_>>(),
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}
