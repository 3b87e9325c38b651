//! The audio half of a scan (issue 14) and the fusion of both signals into one match per
//! (suspect, episode).
//!
//! The decision that shapes this module: **audio confirms, extends and, strictly, stands
//! alone.** A stretch both signals found is one segment that names both (`signal` and
//! `confirmed_by`); a stretch only audio found joins the episode's video match, or makes an
//! audio-only match (a still cover, a tiny picture-in-picture) when its evidence clears
//! [`AUDIO_ONLY_MIN_EVIDENCE`], a stricter floor than the aligner's; and a video match whose
//! sound, present on both sides, matched nowhere is tagged [`REDUBBED`], but only once the
//! sound was compared at the speed the picture found ([`listen_again`]): a plain speed-up of
//! 1.15x or 1.4x lies between the grid's steps, and its sound, unheard at the grid's speeds,
//! is the episode's own.

use std::path::Path;

use reelguard_align::{Params, QueryFrame};
use reelguard_audio::{AudioHk, AUDIO_HK};
use reelguard_hash::SignalType;
use reelguard_index::{CatalogueSnapshot, Match, MatchParams, StoredAudio};
use reelguard_media::{AudioTrack, DecodeMode, Decoder, Fingerprint, Options, Progress};

use crate::PipelineError;

/// The tag of a video match whose audio does not match.
pub const REDUBBED: &str = "redubbed";

/// Least evidence of an audio segment with no video beside it. Audio evidence is scaled to
/// video's per second (`AudioHk::evidence`); 150 is about 5 s of windows at 3 bits, four
/// times the aligner's floor, so that chance alignments of unrelated speech, whose pairs
/// sit near the evidence distance, stay far below it.
pub const AUDIO_ONLY_MIN_EVIDENCE: f64 = 150.0;

/// The sub-fingerprints a registration stores: the audio as it is (speed 1).
pub fn stored_audio(fingerprint: &Fingerprint) -> Vec<StoredAudio> {
    let Some(track) = fingerprint
        .audio
        .as_ref()
        .and_then(|a| a.tracks.iter().find(|t| t.speed == 1.0))
    else {
        return Vec::new();
    };
    track
        .hashes
        .iter()
        .zip(&track.quality)
        .enumerate()
        .map(|(i, (&hash, &quality))| StoredAudio {
            t: track.time(i) as f32,
            hash,
            quality,
        })
        .collect()
}

/// The suspect's audio views, one per candidate speed, on the video's timeline.
pub fn audio_probes(fingerprint: &Fingerprint) -> Vec<Vec<QueryFrame<u32>>> {
    fingerprint
        .audio
        .iter()
        .flat_map(|a| &a.tracks)
        .map(|track| {
            track
                .hashes
                .iter()
                .zip(&track.quality)
                .enumerate()
                .map(|(i, (&hash, &quality))| QueryFrame {
                    t: track.time(i),
                    hash,
                    mirrored: hash,
                    quality,
                })
                .collect()
        })
        .collect()
}

/// The speed band of each of [`audio_probes`]' views, in the same order ([`speed_band`]).
pub fn audio_bands(fingerprint: &Fingerprint) -> Vec<(f64, f64)> {
    fingerprint
        .audio
        .iter()
        .flat_map(|a| &a.tracks)
        .map(|track| speed_band(track.speed))
        .collect()
}

/// Matching tuning for audio: the signal's distances, video's time-domain tuning, and the
/// candidate retrieval of `video` (same catalogue, same documents).
pub fn audio_params(video: &MatchParams) -> MatchParams {
    MatchParams {
        align: Params {
            // A second of windows: single words of unrelated speech do not make a segment.
            min_frames: 30,
            ..Params::for_signal::<AudioHk>()
        },
        ..video.clone()
    }
}

/// Audio matches of a suspect's fingerprint; none when it has no sound.
pub fn find_audio(
    catalogue: &CatalogueSnapshot,
    fingerprint: &Fingerprint,
    video: &MatchParams,
) -> Result<Vec<Match>, reelguard_index::IndexError> {
    let views = audio_probes(fingerprint);
    if views.is_empty() {
        return Ok(Vec::new());
    }
    let probes: Vec<&[QueryFrame<u32>]> = views.iter().map(Vec::as_slice).collect();
    let bands = audio_bands(fingerprint);
    let (matches, _) =
        catalogue.find_probes_banded::<AudioHk>(&probes, &bands, &audio_params(video))?;
    Ok(matches)
}

/// How far (relative) from the speed a track was stretched back by its sound is searched:
/// a little beyond the [`SPEED_TOLERANCE`] its sub-fingerprints survive, so the line of a
/// speed between two of the grid's steps is still seen whole.
pub const SPEED_BAND: f64 = 0.03;

/// The speeds a track is aligned at. The sound as it is (speed 1) is searched over the
/// aligner's whole range, since a pitch-preserving speed-up keeps its pitch and changes only
/// its timing; a track stretched back by a plain speed-up `s` only near `s`, since at any
/// other speed its pitch is wrong and a line there can only be chance. Measured on the
/// fixtures with sound: the speed search of the six stretched tracks was most of what audio
/// added to a full-decode scan.
pub fn speed_band(speed: f64) -> (f64, f64) {
    if speed == 1.0 {
        (0.0, f64::INFINITY)
    } else {
        (speed / (1.0 + SPEED_BAND), speed * (1.0 + SPEED_BAND))
    }
}

/// How near (relative) a speed the sound was heard at must be to the picture's for the
/// sound to count as compared: sub-fingerprints survive about 2% of plain stretch (README:
/// 1.01x keeps a median of 5 bits, 1.02x 8, unrelated audio 16).
pub const SPEED_TOLERANCE: f64 = 0.02;

/// The speeds, one per 2% band, at which the picture found episodes whose sound `heard` does
/// not hold and that no speed in `listened` is near.
pub fn unheard_speeds(video: &[Match], heard: &[Match], listened: &[f64]) -> Vec<f64> {
    let near = |a: f64, b: f64| (a / b - 1.0).abs() <= SPEED_TOLERANCE;
    let mut speeds: Vec<f64> = Vec::new();
    for m in video {
        if heard.iter().any(|h| h.episode_id == m.episode_id) {
            continue;
        }
        for segment in &m.segments {
            let s = segment.speed;
            let known = listened.iter().chain(&speeds).any(|&l| near(s, l));
            if s.is_finite() && s > 0.0 && !known {
                speeds.push(s);
            }
        }
    }
    speeds
}

/// Where and how a suspect is decoded again.
pub struct Relisten<'a> {
    /// The decoder of the scan (the daemon's sandbox).
    pub decoder: &'a dyn Decoder,
    /// The suspect file.
    pub path: &'a Path,
    /// The scan's fingerprinting options.
    pub media: &'a Options,
    /// The scan's matching tuning.
    pub matching: &'a MatchParams,
}

/// Hears the suspect again at the [`unheard_speeds`] of its video matches, when it has sound
/// and there are any: one key-frame pass with audio (all of the sound, only the key frames of
/// the picture). Its matches of episodes the picture found and `heard` lacked join `heard`.
/// Returns that pass's fingerprint (its sound at those speeds), if one was needed.
pub fn listen_again(
    catalogue: &CatalogueSnapshot,
    context: &Relisten<'_>,
    full: &Fingerprint,
    video: &[Match],
    heard: &mut Vec<Match>,
) -> Result<Option<Fingerprint>, PipelineError> {
    let Some(sound) = &full.audio else {
        return Ok(None);
    };
    let listened: Vec<f64> = sound.tracks.iter().map(|t| t.speed).collect();
    let speeds = unheard_speeds(video, heard, &listened);
    if speeds.is_empty() {
        return Ok(None);
    }
    tracing::debug!(path = %context.path.display(), ?speeds, "listening again at the picture's speeds");
    let options = Options {
        mode: DecodeMode::Keyframes,
        audio_speeds: speeds,
        ..context.media.clone()
    };
    let again = context
        .decoder
        .fingerprint(context.path, &options, &|_: Progress| {})?;
    let unheard: Vec<u64> = video
        .iter()
        .map(|m| m.episode_id)
        .filter(|id| !heard.iter().any(|h| h.episode_id == *id))
        .collect();
    let found = find_audio(catalogue, &again, context.matching)?;
    heard.extend(
        found
            .into_iter()
            .filter(|m| unheard.contains(&m.episode_id)),
    );
    Ok(Some(again))
}

/// Mean distance, in bits, from which the sound along the picture's alignment counts as
/// unrelated: a re-dub. Each suspect window is compared with the nearest of the episode's
/// three windows at the aligned moment, so chance sits below the signal's 16 bits. Set on the
/// tune split (`radio` of the fixtures with sound): its re-dubs (another voice) measured
/// 13.5–14.1, its copies whose loud added music kept the sound search from aligning
/// 7.2–7.6; the check split (`voice`) measured 13.6–14.2 and 5.0–6.2.
pub const REDUB_MIN_DISTANCE: f64 = 11.0;

/// Least windows compared before the sound may be called unrelated (about 2 s).
const AGREEMENT_MIN_WINDOWS: usize = 60;

/// How alike the suspect's sound is to the episode's along the picture's alignment: the mean
/// distance of each usable suspect window to the nearest of the episode's three windows at
/// the moment `m`'s segments map it to, heard at the speed nearest each segment's. `None`
/// when too few windows fall inside the segments or the episode has no sound. The alignment
/// is given, so this is a comparison, not a search: a copy whose added music keeps its
/// sound from aligning on its own still sits well below chance here, and is not a re-dub.
pub fn agreement(
    catalogue: &CatalogueSnapshot,
    tracks: &[&AudioTrack],
    m: &Match,
) -> Result<Option<f64>, PipelineError> {
    let Some((_, episode)) = catalogue.episode(m.episode_id) else {
        return Ok(None);
    };
    let records = catalogue.episode_records::<AudioHk>(episode)?;
    if records.is_empty() {
        return Ok(None);
    }
    let floor = audio_params(&MatchParams::default()).align.min_quality;
    // Two readings of each segment's speed: a plain speed-up (pitch moved; the sound heard
    // at the nearest speed undoes it) and a pitch-kept one (atempo; the sound as it is, on
    // the stretched timeline). The closer reading is the sound's agreement.
    let mut best: Option<f64> = None;
    for pitch_kept in [false, true] {
        let (mut total, mut windows) = (0u64, 0usize);
        for segment in &m.segments {
            let target = if pitch_kept { 1.0 } else { segment.speed };
            let Some(track) = tracks.iter().min_by(|a, b| {
                (a.speed / target - 1.0)
                    .abs()
                    .total_cmp(&(b.speed / target - 1.0).abs())
            }) else {
                continue;
            };
            for (i, (&hash, &quality)) in track.hashes.iter().zip(&track.quality).enumerate() {
                let t = track.time(i);
                if quality < floor || t < segment.suspect_start_s || t > segment.suspect_end_s {
                    continue;
                }
                let r = segment.ref_start_s + (t - segment.suspect_start_s) * segment.speed;
                let at = records.partition_point(|x| f64::from(x.t) < r);
                let nearest = (at.saturating_sub(1)..(at + 2).min(records.len()))
                    .map(|j| AudioHk::distance(&hash, &records[j].hash))
                    .min();
                if let Some(d) = nearest {
                    total += u64::from(d);
                    windows += 1;
                }
            }
        }
        if windows >= AGREEMENT_MIN_WINDOWS {
            let mean = total as f64 / windows as f64;
            best = Some(best.map_or(mean, |b: f64| b.min(mean)));
        }
    }
    Ok(best)
}

/// Two stretches of the suspect share at least half of the shorter.
fn overlaps(a: &reelguard_model::Segment, b: &reelguard_model::Segment) -> bool {
    let shared =
        (a.suspect_end_s.min(b.suspect_end_s) - a.suspect_start_s.max(b.suspect_start_s)).max(0.0);
    let shorter = (a.suspect_end_s - a.suspect_start_s)
        .min(b.suspect_end_s - b.suspect_start_s)
        .max(1e-6);
    shared / shorter >= 0.5
}

/// One match per episode from both signals (module docs). `tracks`: the suspect's sound at
/// every speed it was heard at (none when it has no sound); an episode's own sound is read
/// from the catalogue. A video match the sound search did not hear is tagged re-dubbed only
/// when its sound along the picture's alignment is unrelated ([`agreement`]).
pub fn fuse(
    catalogue: &CatalogueSnapshot,
    mut video: Vec<Match>,
    audio: Vec<Match>,
    tracks: &[&AudioTrack],
) -> Result<Vec<Match>, PipelineError> {
    let mut heard: Vec<u64> = Vec::new();
    for found in audio {
        heard.push(found.episode_id);
        match video.iter_mut().find(|m| m.episode_id == found.episode_id) {
            Some(seen) => {
                for segment in found.segments {
                    match seen.segments.iter_mut().find(|s| overlaps(s, &segment)) {
                        Some(both) => both.confirmed_by = Some(AUDIO_HK),
                        None => {
                            seen.score = seen.score.max(segment.score);
                            seen.segments.push(segment);
                        }
                    }
                }
                seen.segments
                    .sort_by(|a, b| a.suspect_start_s.total_cmp(&b.suspect_start_s));
            }
            None => {
                let segments: Vec<_> = found
                    .segments
                    .into_iter()
                    .filter(|s| s.evidence >= AUDIO_ONLY_MIN_EVIDENCE)
                    .collect();
                if let Some(score) = segments.iter().map(|s| s.score).reduce(f64::max) {
                    video.push(Match {
                        score,
                        segments,
                        ..found
                    });
                }
            }
        }
    }
    if !tracks.is_empty() {
        for m in &mut video {
            if heard.contains(&m.episode_id) {
                continue;
            }
            let distance = agreement(catalogue, tracks, m)?;
            tracing::debug!(
                episode = m.episode_id,
                ?distance,
                "unheard video match: sound along the picture"
            );
            if distance.is_some_and(|d| d >= REDUB_MIN_DISTANCE) {
                m.tags.push(REDUBBED.to_string());
            }
        }
    }
    video.sort_by(|a, b| {
        let start = |m: &Match| m.segments.first().map_or(0.0, |s| s.suspect_start_s);
        start(a).total_cmp(&start(b))
    });
    Ok(video)
}
