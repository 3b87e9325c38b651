//! The typed records that travel from the matcher to the page: a matched [`Segment`], where
//! the picture sat in the suspect's frame ([`ContentBox`], [`RegionKind`]), and the name of the
//! fingerprint kind that found a segment ([`SignalName`]).
//!
//! The decision that shapes this crate: **one definition of each record, below every crate
//! that produces or shows it.** The aligner produces segments, the media layer produces
//! regions, the store keeps them and the API, workbench and evidence bundles show them; each
//! of those crates depends on this one instead of re-declaring the shape or passing
//! `serde_json::Value` around. JSON exists only where a record is stored or sent (serde
//! derives here; the presentation, rounding included, belongs to the edges that print it).
//! Plain data: no I/O, no logic beyond the invariants stated on each type.
#![deny(missing_docs)]

mod signal;

pub use signal::{SignalName, SignalNameError, VIDEO_PHASH};

use serde::{Deserialize, Serialize};

/// One matched stretch of a suspect against one registered episode. Invariants:
/// `suspect_start_s <= suspect_end_s`, `ref_start_s <= ref_end_s`, `speed` within the
/// aligner's configured range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Where the stretch starts in the suspect.
    pub suspect_start_s: f64,
    /// Where it ends in the suspect.
    pub suspect_end_s: f64,
    /// Where it starts in the episode.
    pub ref_start_s: f64,
    /// Where it ends in the episode.
    pub ref_end_s: f64,
    /// Episode seconds per suspect second (1.25 = the suspect plays 1.25x fast).
    pub speed: f64,
    /// The suspect shows the episode mirrored left-right.
    pub mirrored: bool,
    /// Suspect frames that matched on the line.
    pub matched_frames: usize,
    /// Mean distance of the matched pairs, in the signal's own unit (bits for video pHash).
    pub mean_distance: f64,
    /// Share of the suspect's usable frames inside the stretch that matched, 0–1.
    pub coverage: f64,
    /// `coverage x (1 - mean_distance / chance)`: 1 for an identical copy, 0 for noise.
    pub score: f64,
    /// `sum(evidence distance - distance)` over matched pairs: pairs closer than chance count
    /// for the stretch, pairs at chance level against it. Grows with length *and* closeness,
    /// so a long crop (many pairs at 15 bits) and a short clean excerpt (few at 2 bits) both
    /// pass while a chance alignment (a dozen pairs at 18–21 bits) does not.
    pub evidence: f64,
    /// The signal type whose fingerprints found this stretch. Records written before signals
    /// had names were all video pHash, hence the default.
    #[serde(default = "video_phash")]
    pub signal: SignalName,
    /// Estimated chance alignments at least this strong per million suspects scanned against
    /// the catalogue (see `reelguard_align::chance`): how often a suspect that holds none of
    /// the catalogue would produce this segment. `None` for segments found before the
    /// estimate existed, or straight from the aligner (the matcher fills it in).
    #[serde(default)]
    pub false_match_rate: Option<f64>,
    /// The other signal that found the same stretch of the same episode, when both did
    /// (fused matches, `reelguard_pipeline::audio`); absent in JSON when only `signal` did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<SignalName>,
}

fn video_phash() -> SignalName {
    VIDEO_PHASH
}

/// What the region detector found around the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionKind {
    /// The picture fills the frame.
    Full,
    /// Flat borders (black or a colour) around the picture.
    Borders,
    /// A soft but moving surround, typically a blurred enlarged copy of the picture.
    Reframe,
    /// A picture-in-picture window over other footage.
    Inset,
}

/// Where the picture sits in a frame, as fractions of the frame (0–1, 3 decimals), so it reads
/// the same at any resolution and applies directly to a still of any size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContentBox {
    /// Left edge, fraction of the frame width.
    pub x: f64,
    /// Top edge, fraction of the frame height.
    pub y: f64,
    /// Width, fraction of the frame width.
    pub width: f64,
    /// Height, fraction of the frame height.
    pub height: f64,
    /// What surrounds the picture (`full`, `borders`, `reframe`, `inset`).
    pub kind: RegionKind,
    /// The suspect's frame width in pixels.
    pub frame_width: u32,
    /// The suspect's frame height in pixels.
    pub frame_height: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_stored_before_signals_had_names_reads_as_video_phash() {
        let old = r#"{"suspect_start_s":0.0,"suspect_end_s":1.0,"ref_start_s":0.0,
            "ref_end_s":1.0,"speed":1.0,"mirrored":false,"matched_frames":5,
            "mean_distance":2.0,"coverage":1.0,"score":0.9,"evidence":90.0}"#;
        let segment: Segment = serde_json::from_str(old).expect("old segment");
        assert_eq!(segment.signal, VIDEO_PHASH);
        assert_eq!(segment.false_match_rate, None);
        let again: Segment =
            serde_json::from_str(&serde_json::to_string(&segment).expect("json")).expect("back");
        assert_eq!(again, segment);
    }
}
