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
//!
//! 3. **Sound beside the picture** (module [`audio`]): the full pass also decodes the audio
//!    (at each speed of `reelguard_audio::SPEED_GRID`), matches it, and fuses both signals
//!    into one match per episode. When the picture found an episode at a speed between the
//!    grid's steps and the sound did not, the sound is heard again at that speed (a key-frame
//!    pass with audio) before the match may be called re-dubbed. The key-frame pass decodes no audio unless it found no video
//!    candidate, when a key-frame pass with audio looks for audio candidates (a still cover)
//!    before ruling the file out.
//!
//! A full pass also says where the picture sat in the suspect's frame ([`ContentBox`]), so a
//! reviewer sees "pillarboxed in a landscape canvas" next to the match and evidence stills can
//! be cropped to the picture.
#![deny(missing_docs)]

pub mod audio;

use std::path::Path;

use reelguard_align::QueryFrame;
use reelguard_index::{CatalogueSnapshot, IndexError, Match, MatchParams, NewEpisode, StoredFrame};
use reelguard_media::{
    DecodeMode, Decoder, Fingerprint, InProcess, MediaError, Options, Progress, RegionKind,
};
use serde::{Deserialize, Serialize};

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
    /// Where the picture sat in the suspect's frame, from the full pass; `None` when only the
    /// key-frame pass ran (its few frames are not enough to judge borders).
    pub content: Option<ContentBox>,
}

pub use reelguard_model::ContentBox;

/// Below this fraction of the frame's area a content box is worth a tag: the region detector
/// quantises to analysis pixels (a 256-pixel long side) and trims of under 3% of a side are
/// already ignored, so a box covering 95% or more is the picture filling the frame.
pub const FULL_FRAME_AREA: f64 = 0.95;

/// The content box of a fingerprint: its [`Fingerprint::main_region`] (which is in source
/// pixels, like `width`/`height`) as fractions of the frame.
pub fn content_box(fingerprint: &Fingerprint) -> ContentBox {
    let region = fingerprint.main_region();
    let (frame_width, frame_height) = (fingerprint.width, fingerprint.height);
    let fraction = |value: u32, side: u32| {
        if side == 0 {
            0.0
        } else {
            // The box's stated precision (3 decimals), part of the record, not of its display.
            ((value as f64 / side as f64).clamp(0.0, 1.0) * 1000.0).round() / 1000.0
        }
    };
    ContentBox {
        x: fraction(region.x, frame_width),
        y: fraction(region.y, frame_height),
        width: fraction(region.width, frame_width),
        height: fraction(region.height, frame_height),
        kind: region.kind,
        frame_width,
        frame_height,
    }
}

/// Short labels for how the picture was placed, for reviewers and filters: `"border"` (flat
/// bars, black or coloured), `"reframe"` (a blurred or otherwise soft surround), `"inset"` (a
/// window over other footage). Nothing when the picture fills the frame (at least
/// [`FULL_FRAME_AREA`] of it).
///
/// There is no `"crop"`: a cropped copy is scaled back to fill its frame, so the box cannot
/// show it (the aligner sees it as a match at reduced similarity instead).
pub fn content_tags(content: &ContentBox) -> Vec<&'static str> {
    if content.width * content.height >= FULL_FRAME_AREA {
        return Vec::new();
    }
    match content.kind {
        RegionKind::Full => Vec::new(),
        RegionKind::Borders => vec!["border"],
        RegionKind::Reframe => vec!["reframe"],
        RegionKind::Inset => vec!["inset"],
    }
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
    /// Match the file's sound too (when it has any).
    pub audio: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            media: Options::default(),
            matching: MatchParams::default(),
            keyframes_first: true,
            audio: true,
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
        audio: audio::stored_audio(fingerprint),
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

/// Scans one suspect file against one committed state of the catalogue. The snapshot is
/// all it reads, so a scan holds no lock however long it decodes.
pub fn scan_file(
    catalogue: &CatalogueSnapshot,
    path: &Path,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ScanReport, PipelineError> {
    scan_file_with(catalogue, &InProcess, path, options, progress)
}

/// [`scan_file`] with every decode (both passes) done by `decoder`: the daemon passes its
/// sandbox, so an untrusted file is only ever opened by a locked-down worker process.
pub fn scan_file_with(
    catalogue: &CatalogueSnapshot,
    decoder: &dyn Decoder,
    path: &Path,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ScanReport, PipelineError> {
    scan_file_probes(catalogue, decoder, path, options, progress).map(|(report, _)| report)
}

/// A suspect's views on one timeline: the whole frame, then each inset window.
pub type Views = Vec<Vec<QueryFrame>>;

/// The suspect views a full pass aligns, on one timeline: the whole frame, then each
/// picture-in-picture window candidate.
pub fn probe_frames(full: &Fingerprint) -> Views {
    std::iter::once(query_frames(full))
        .chain(inset_query_frames(full))
        .collect()
}

/// The fingerprinting options of a scan's full pass: inset windows, and the sound at every
/// candidate speed when audio is on.
pub fn full_options(options: &ScanOptions) -> Options {
    Options {
        detect_insets: true,
        audio_speeds: if options.audio {
            reelguard_audio::SPEED_GRID.to_vec()
        } else {
            Vec::new()
        },
        ..options.media.clone()
    }
}

/// [`scan_file_with`], also handing back the full pass's fingerprint (`None` when the key
/// frames ruled the file out), so an evaluation can match its views ([`probe_frames`]) again,
/// signal by signal or against other catalogues, without decoding the file again.
pub fn scan_file_probes(
    catalogue: &CatalogueSnapshot,
    decoder: &dyn Decoder,
    path: &Path,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(ScanReport, Option<Fingerprint>), PipelineError> {
    let mut decode_seconds = 0.0;
    let mut passes = Passes::Full;
    if options.keyframes_first {
        // No audio: the first pass costs what it cost before audio existed.
        let keyframe_options = Options {
            mode: DecodeMode::Keyframes,
            audio_speeds: Vec::new(),
            ..options.media.clone()
        };
        let quiet = |_: Progress| {};
        let first = decoder.fingerprint(path, &keyframe_options, &quiet)?;
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
        let representative = first.frames.len() >= MIN_KEYFRAMES && rate >= MIN_KEYFRAME_RATE;
        let heard = if candidates.is_empty() && representative && options.audio {
            // No picture candidate: the sound may still be ours (audio over a still cover).
            let with_audio = Options {
                audio_speeds: reelguard_audio::SPEED_GRID.to_vec(),
                ..keyframe_options.clone()
            };
            let again = decoder.fingerprint(path, &with_audio, &quiet)?;
            decode_seconds += again.stats.seconds;
            let views = audio::audio_probes(&again);
            let probes: Vec<&[reelguard_align::QueryFrame<u32>]> =
                views.iter().map(Vec::as_slice).collect();
            let params = audio::audio_params(&options.matching);
            let (work, _) = catalogue
                .candidates_to_align_signal::<reelguard_audio::AudioHk>(&probes, &params)?;
            !work.is_empty()
        } else {
            false
        };
        if candidates.is_empty() && representative && !heard {
            let report = ScanReport {
                duration_s: first.duration_s,
                matches: Vec::new(),
                passes: Passes::Keyframes,
                decode_seconds,
                match_seconds: started.elapsed().as_secs_f64(),
                content: None,
            };
            return Ok((report, None));
        }
        passes = Passes::KeyframesThenFull;
    }
    let full = decoder.fingerprint(path, &full_options(options), progress)?;
    decode_seconds += full.stats.seconds;
    let started = std::time::Instant::now();
    let views = probe_frames(&full);
    let probes: Vec<&[QueryFrame]> = views.iter().map(Vec::as_slice).collect();
    let (matches, _) = catalogue.find_probes(&probes, &options.matching)?;
    let mut listened_again = 0.0;
    let matches = if options.audio {
        let mut heard = audio::find_audio(catalogue, &full, &options.matching)?;
        let context = audio::Relisten {
            decoder,
            path,
            media: &options.media,
            matching: &options.matching,
        };
        let again = audio::listen_again(catalogue, &context, &full, &matches, &mut heard)?;
        listened_again = again.as_ref().map_or(0.0, |f| f.stats.seconds);
        let tracks: Vec<&reelguard_media::AudioTrack> = [&full]
            .into_iter()
            .chain(&again)
            .filter_map(|f| f.audio.as_ref())
            .flat_map(|a| &a.tracks)
            .collect();
        audio::fuse(catalogue, matches, heard, &tracks)?
    } else {
        matches
    };
    decode_seconds += listened_again;
    let report = ScanReport {
        duration_s: full.duration_s,
        matches,
        passes,
        decode_seconds,
        match_seconds: (started.elapsed().as_secs_f64() - listened_again).max(0.0),
        content: Some(content_box(&full)),
    };
    Ok((report, Some(full)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelguard_media::{DecodeStats, Region, RegionSpan};

    fn fingerprint(width: u32, height: u32, regions: &[(f64, f64, Region)]) -> Fingerprint {
        Fingerprint {
            duration_s: 18.0,
            width,
            height,
            codec: "h264".to_string(),
            mode: DecodeMode::Full,
            frames: Vec::new(),
            regions: regions
                .iter()
                .map(|&(start_t, end_t, region)| RegionSpan {
                    start_t,
                    end_t,
                    region,
                })
                .collect(),
            inset_frames: Vec::new(),
            insets: Vec::new(),
            audio: None,
            stats: DecodeStats::default(),
        }
    }

    fn content(width: f64, height: f64, kind: RegionKind) -> ContentBox {
        ContentBox {
            x: (1.0 - width) / 2.0,
            y: (1.0 - height) / 2.0,
            width,
            height,
            kind,
            frame_width: 1280,
            frame_height: 720,
        }
    }

    #[test]
    fn the_box_is_the_main_region_in_fractions_of_the_source_frame() {
        // A 720x1280 episode pillarboxed in a 1280x720 canvas: 405 pixels wide, centred.
        let picture = Region {
            x: 437,
            y: 0,
            width: 405,
            height: 720,
            kind: RegionKind::Borders,
        };
        let box_ = content_box(&fingerprint(
            1280,
            720,
            &[(0.0, 9.6, picture), (9.8, 12.0, Region::full(1280, 720))],
        ));
        assert_eq!(
            box_,
            ContentBox {
                x: 0.341,
                y: 0.0,
                width: 0.316,
                height: 1.0,
                kind: RegionKind::Borders,
                frame_width: 1280,
                frame_height: 720,
            }
        );
        assert_eq!(
            serde_json::to_value(box_).ok(),
            Some(serde_json::json!({
                "x": 0.341, "y": 0.0, "width": 0.316, "height": 1.0, "kind": "borders",
                "frame_width": 1280, "frame_height": 720,
            }))
        );
    }

    #[test]
    fn no_regions_is_the_whole_frame() {
        let box_ = content_box(&fingerprint(720, 1280, &[]));
        assert_eq!(
            (box_.x, box_.y, box_.width, box_.height),
            (0.0, 0.0, 1.0, 1.0)
        );
        assert_eq!(box_.kind, RegionKind::Full);
        assert!(content_tags(&box_).is_empty());
    }

    #[test]
    fn tags_name_the_surround_unless_the_picture_fills_the_frame() {
        assert_eq!(
            content_tags(&content(0.6, 0.8, RegionKind::Borders)),
            ["border"]
        );
        assert_eq!(
            content_tags(&content(0.32, 1.0, RegionKind::Reframe)),
            ["reframe"]
        );
        assert_eq!(
            content_tags(&content(0.4, 0.3, RegionKind::Inset)),
            ["inset"]
        );
        assert!(content_tags(&content(1.0, 1.0, RegionKind::Full)).is_empty());
        // Thin bars a detector may still report: the picture fills 96% of the frame.
        assert!(content_tags(&content(1.0, 0.96, RegionKind::Borders)).is_empty());
        assert!(content_tags(&content(0.97, 0.98, RegionKind::Reframe)).is_empty());
        assert_eq!(
            content_tags(&content(1.0, 0.94, RegionKind::Borders)),
            ["border"]
        );
    }
}
