//! The audio half of a scan (issue 14) and the fusion of both signals into one match per
//! (suspect, episode).
//!
//! The decision that shapes this module: **audio confirms, extends and, strictly, stands
//! alone.** A stretch both signals found is one segment that names both (`signal` and
//! `confirmed_by`); a stretch only audio found joins the episode's video match, or makes an
//! audio-only match (a still cover, a tiny picture-in-picture) when its evidence clears
//! [`AUDIO_ONLY_MIN_EVIDENCE`], a stricter floor than the aligner's; and a video match whose
//! sound, present on both sides, matched nowhere is tagged [`REDUBBED`].

use reelguard_align::{Params, QueryFrame};
use reelguard_audio::{AudioHk, AUDIO_HK};
use reelguard_index::{CatalogueSnapshot, Match, MatchParams, StoredAudio};
use reelguard_media::Fingerprint;

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
    let (matches, _) = catalogue.find_probes_signal::<AudioHk>(&probes, &audio_params(video))?;
    Ok(matches)
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

/// One match per episode from both signals (module docs). `suspect_has_audio`: the suspect
/// had sound to compare; an episode's own sound is read from the catalogue.
pub fn fuse(
    catalogue: &CatalogueSnapshot,
    mut video: Vec<Match>,
    audio: Vec<Match>,
    suspect_has_audio: bool,
) -> Vec<Match> {
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
    if suspect_has_audio {
        for m in &mut video {
            let episode_has_audio = catalogue
                .episode(m.episode_id)
                .is_some_and(|(_, e)| e.audio.is_some());
            if episode_has_audio && !heard.contains(&m.episode_id) {
                m.tags.push(REDUBBED.to_string());
            }
        }
    }
    video.sort_by(|a, b| {
        let start = |m: &Match| m.segments.first().map_or(0.0, |s| s.suspect_start_s);
        start(a).total_cmp(&start(b))
    });
    video
}
