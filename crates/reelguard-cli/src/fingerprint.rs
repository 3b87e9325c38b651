//! `reelguard fingerprint FILE|DIR... [--json] [--keyframes] [--audio none|one|grid]`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use reelguard_media::{fingerprint_files, DecodeMode, Fingerprint, MediaError, Options};
use serde_json::json;

use crate::checks::{expand_dirs, sample_fps};
use crate::progress::VideoProgress;

#[derive(clap::Args)]
pub struct Args {
    /// Video files to fingerprint; a directory stands for the video files under it (by
    /// extension, recursively, in name order, hidden entries skipped).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object per file and line, with every hash and its timestamp.
    #[arg(long)]
    json: bool,
    /// Decode key frames only (fast first pass).
    #[arg(long)]
    keyframes: bool,
    /// Also look for a picture-in-picture window and hash it (as `scan` does).
    #[arg(long)]
    insets: bool,
    /// Frames sampled per second of video.
    // Negative numbers reach the parser, so that `--fps -1` gets its message, not a usage error.
    #[arg(long, default_value_t = reelguard_media::DEFAULT_SAMPLE_FPS, value_parser = sample_fps,
          allow_negative_numbers = true)]
    fps: f64,
    /// Audio sub-fingerprints: `one` (the audio as it is, what `register` stores), `grid`
    /// (also stretched back by each speed of `reelguard_audio::SPEED_GRID`, what a scan's
    /// full pass takes) or `none` (no audio decoded at all).
    #[arg(long, value_enum, default_value_t = Audio::One)]
    audio: Audio,
}

/// How much audio to fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Audio {
    /// None decoded.
    None,
    /// At speed 1.
    One,
    /// At every speed of the grid.
    Grid,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = Options {
        sample_fps: args.fps,
        detect_insets: args.insets,
        mode: if args.keyframes {
            DecodeMode::Keyframes
        } else {
            DecodeMode::Full
        },
        audio_speeds: match args.audio {
            Audio::None => Vec::new(),
            Audio::One => vec![1.0],
            Audio::Grid => reelguard_audio::SPEED_GRID.to_vec(),
        },
        ..Options::default()
    };
    let files = expand_dirs(&args.files)?;
    let progress = VideoProgress::new("fingerprinting");
    let results = fingerprint_files(&files, &options, &|p| progress.report(p));
    progress.finish();
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for (file, result) in files.iter().zip(&results) {
        if result.is_err() {
            failed += 1;
        }
        if args.json {
            writeln!(out, "{}", json_line(file, result))?;
        } else {
            writeln!(out, "{}", table_line(file, result))?;
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn error_json(file: &std::path::Path, error: &MediaError) -> serde_json::Value {
    json!({"file": file.display().to_string(), "error": error.to_string(), "error_kind": error.kind()})
}

fn json_line(
    file: &std::path::Path,
    result: &Result<Fingerprint, MediaError>,
) -> serde_json::Value {
    match result {
        Err(error) => error_json(file, error),
        Ok(fp) => {
            let decode_fps = fp.stats.frames_decoded as f64 / fp.stats.seconds.max(1e-9);
            json!({
                "file": file.display().to_string(),
                "duration_s": fp.duration_s,
                "width": fp.width,
                "height": fp.height,
                "codec": fp.codec,
                "mode": fp.mode,
                "frames_hashed": fp.frames.len(),
                "region": fp.main_region(),
                "regions": fp.regions,
                "insets": fp.insets,
                "audio": fp.audio.as_ref().map(|a| json!({
                    "codec": a.codec,
                    "seconds": a.seconds,
                    "tracks": a.tracks.iter().map(|t| json!({
                        "speed": t.speed,
                        "start_s": t.start_s,
                        "hashes": t.hashes.iter().map(|h| format!("{h:08x}")).collect::<Vec<_>>(),
                        "quality": t.quality,
                    })).collect::<Vec<_>>(),
                })),
                "decode": {
                    "frames_decoded": fp.stats.frames_decoded,
                    "packets_failed": fp.stats.packets_failed,
                    "seconds": fp.stats.seconds,
                    "frames_per_second": decode_fps,
                    "realtime_factor": fp.realtime_factor(),
                },
                "hashes": fp.frames.iter().map(|f| json!({
                    "t": (f.t * 1000.0).round() / 1000.0,
                    "hash": format!("{:016x}", f.hash),
                    "mirrored": format!("{:016x}", f.mirrored),
                    "quality": f.quality,
                })).collect::<Vec<_>>(),
            })
        }
    }
}

fn table_line(file: &std::path::Path, result: &Result<Fingerprint, MediaError>) -> String {
    match result {
        Err(error) => format!("error  {error}"),
        Ok(fp) => {
            let region = fp.main_region();
            format!(
                "ok     {}  {:.1} s  {}x{} {}  {} frames hashed  region {}x{}+{}+{} ({:?})  audio {}  decode {:.0} fps ({:.1}x real time) in {:.3} s",
                file.display(),
                fp.duration_s,
                fp.width,
                fp.height,
                fp.codec,
                fp.frames.len(),
                region.width,
                region.height,
                region.x,
                region.y,
                region.kind,
                fp.audio.as_ref().map_or("none".to_string(), |a| format!(
                    "{:.1} s {} x{} speeds",
                    a.seconds,
                    a.codec,
                    a.tracks.len()
                )),
                fp.stats.frames_decoded as f64 / fp.stats.seconds.max(1e-9),
                fp.realtime_factor(),
                fp.stats.seconds,
            )
        }
    }
}
