//! The path from a file to a catalogue answer: register an episode, scan a suspect.
//!
//! This is the only crate that knows both ends — `reelguard-media` (decode and hash) and
//! `reelguard-index` (catalogue and matcher) — so the CLI and the daemon share one
//! implementation of the scanning strategy:
//!
//! 1. **Key frames first.** Decode only key frames (an order of magnitude cheaper than
//!    playing the file) and look for candidate episodes. Most crawled uploads are not ours: when
//!    the key frames are dense enough to be representative and no candidate gets a vote, the
//!    answer is "no match" without a full decode.
//! 2. **Full decode when it matters.** If anything was found, or the key frames were too
//!    sparse to tell, decode every frame at the sampling rate and align precisely.
#![deny(missing_docs)]

use std::path::Path;

use reelguard_align::QueryFrame;
use reelguard_index::{Catalogue, IndexError, Match, MatchParams, NewEpisode, StoredFrame};
use reelguard_media::{fingerprint_file, DecodeMode, Fingerprint, MediaError, Options, Progress};
use serde::{Deserialize, Serialize};

/// Rounds for reports: reviewers and evaluators read centiseconds, not float noise.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// A matched segment in the shape `reelguard scan --json` documents (and the API reuses).
pub fn segment_json(segment: &reelguard_align::Segment) -> serde_json::Value {
    serde_json::json!({
        "suspect_start_s": round(segment.suspect_start_s, 2),
        "suspect_end_s": round(segment.suspect_end_s, 2),
        "ref_start_s": round(segment.ref_start_s, 2),
        "ref_end_s": round(segment.ref_end_s, 2),
        "speed": round(segment.speed, 3),
        "mirrored": segment.mirrored,
    })
}

/// Why a scan or a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The file could not be fingerprinted.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The catalogue failed.
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl PipelineError {
    /// A short stable identifier of the failure kind.
    pub fn kind(&self) -> &'static str {
        match self {
            PipelineError::Media(e) => e.kind(),
            PipelineError::Index(_) => "catalogue",
        }
    }
}

/// Key frames per second below which the first pass cannot rule a file out.
pub const MIN_KEYFRAME_RATE: f64 = 0.2;
/// Fewest key frames for the first pass to rule a file out.
pub const MIN_KEYFRAMES: usize = 12;

/// Which passes a scan ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Passes {
    /// Key frames only: nothing related was found in a representative sample.
    Keyframes,
    /// Key frames, then a full decode.
    KeyframesThenFull,
    /// A full decode only.
    Full,
}

/// The answer for one suspect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanReport {
    /// Seconds of video.
    pub duration_s: f64,
    /// Matched episodes in suspect order.
    pub matches: Vec<Match>,
    /// Which passes ran.
    pub passes: Passes,
    /// Wall-clock seconds spent decoding.
    pub decode_seconds: f64,
    /// Wall-clock seconds spent matching.
    pub match_seconds: f64,
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Fingerprinting options for the full pass (the key-frame pass derives from them).
    pub media: Options,
    /// Matching tuning.
    pub matching: MatchParams,
    /// Try the key-frame pass first.
    pub keyframes_first: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            media: Options::default(),
            matching: MatchParams::default(),
            keyframes_first: true,
        }
    }
}

/// The suspect-side view of a fingerprint.
pub fn query_frames(fingerprint: &Fingerprint) -> Vec<QueryFrame> {
    to_query(&fingerprint.frames)
}

/// The suspect-side views of a fingerprint's picture-in-picture window candidates.
pub fn inset_query_frames(fingerprint: &Fingerprint) -> Vec<Vec<QueryFrame>> {
    fingerprint
        .inset_frames
        .iter()
        .map(|frames| to_query(frames))
        .collect()
}

fn to_query(frames: &[reelguard_media::SampledFrame]) -> Vec<QueryFrame> {
    frames
        .iter()
        .map(|f| QueryFrame {
            t: f.t,
            hash: f.hash,
            mirrored: f.mirrored,
            quality: f.quality,
        })
        .collect()
}

/// The catalogue-side view of a fingerprint.
pub fn new_episode(file: &str, fingerprint: &Fingerprint) -> NewEpisode {
    NewEpisode {
        file: file.to_string(),
        duration_s: fingerprint.duration_s,
        frames: fingerprint
            .frames
            .iter()
            .map(|f| StoredFrame {
                t: f.t as f32,
                hash: f.hash,
                quality: f.quality,
            })
            .collect(),
    }
}

/// Scans one suspect file against the catalogue.
pub fn scan_file(
    catalogue: &Catalogue,
    path: &Path,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ScanReport, PipelineError> {
    let mut decode_seconds = 0.0;
    let mut passes = Passes::Full;
    if options.keyframes_first {
        let keyframe_options = Options {
            mode: DecodeMode::Keyframes,
            ..options.media.clone()
        };
        let quiet = |_: Progress| {};
        let first = fingerprint_file(path, &keyframe_options, &quiet)?;
        decode_seconds += first.stats.seconds;
        let started = std::time::Instant::now();
        let query = query_frames(&first);
        let (candidates, _) = catalogue.candidates(&query, &options.matching)?;
        let rate = first.frames.len() as f64 / first.duration_s.max(1e-3);
        tracing::debug!(
            path = %path.display(),
            keyframes = first.frames.len(),
            candidates = candidates.len(),
            "key-frame pass"
        );
        if candidates.is_empty() && first.frames.len() >= MIN_KEYFRAMES && rate >= MIN_KEYFRAME_RATE
        {
            return Ok(ScanReport {
                duration_s: first.duration_s,
                matches: Vec::new(),
                passes: Passes::Keyframes,
                decode_seconds,
                match_seconds: started.elapsed().as_secs_f64(),
            });
        }
        passes = Passes::KeyframesThenFull;
    }
    let full_options = Options {
        detect_insets: true,
        ..options.media.clone()
    };
    let full = fingerprint_file(path, &full_options, progress)?;
    decode_seconds += full.stats.seconds;
    let started = std::time::Instant::now();
    let whole = query_frames(&full);
    let insets = inset_query_frames(&full);
    let probes: Vec<&[QueryFrame]> = std::iter::once(whole.as_slice())
        .chain(insets.iter().map(Vec::as_slice))
        .collect();
    let (matches, _) = catalogue.find_probes(&probes, &options.matching)?;
    Ok(ScanReport {
        duration_s: full.duration_s,
        matches,
        passes,
        decode_seconds,
        match_seconds: started.elapsed().as_secs_f64(),
    })
}
