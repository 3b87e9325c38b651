//! The JSON shapes that leave reelguard — API responses, `reelguard scan --json`, notices and
//! evidence bundles — for the records that several of them print. Rounding happens here and
//! only here: reviewers and evaluators read centiseconds, not float noise, while the records
//! themselves keep full precision.

use reelguard_model::Segment;
use reelguard_store::Source;
use serde::Serialize;
use serde_json::{json, Value};

/// Rounds for reports.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// A matched segment in the shape `reelguard scan --json` documents.
pub fn segment_json(segment: &Segment) -> Value {
    json!({
        "suspect_start_s": round(segment.suspect_start_s, 2),
        "suspect_end_s": round(segment.suspect_end_s, 2),
        "ref_start_s": round(segment.ref_start_s, 2),
        "ref_end_s": round(segment.ref_end_s, 2),
        "speed": round(segment.speed, 3),
        "mirrored": segment.mirrored,
        // Additive (issue 14): the signals that found the stretch, the first the one whose
        // timings these are.
        "signals": std::iter::once(segment.signal).chain(segment.confirmed_by).map(|s| s.to_string()).collect::<Vec<_>>(),
    })
}

/// A matched segment as the API, notices and bundles show it: the scan shape plus its score
/// and the signal that found it (rounded; the record keeps full precision).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    /// Start in the suspect, seconds.
    pub suspect_start_s: f64,
    /// End in the suspect, seconds.
    pub suspect_end_s: f64,
    /// Start in the registered episode, seconds.
    pub ref_start_s: f64,
    /// End in the registered episode, seconds.
    pub ref_end_s: f64,
    /// Episode seconds per suspect second (1.25 = the suspect plays 1.25x fast).
    pub speed: f64,
    /// The suspect shows the episode mirrored left-right.
    pub mirrored: bool,
    /// 1 for an identical copy, 0 for noise.
    pub score: f64,
    /// The signal whose fingerprints found it (e.g. `video_phash`).
    pub signal: String,
    /// Estimated chance alignments this strong per million suspects scanned (`null`: found
    /// before the estimate existed).
    pub false_match_rate: Option<f64>,
}

impl From<&Segment> for SegmentView {
    fn from(s: &Segment) -> SegmentView {
        SegmentView {
            suspect_start_s: round(s.suspect_start_s, 2),
            suspect_end_s: round(s.suspect_end_s, 2),
            ref_start_s: round(s.ref_start_s, 2),
            ref_end_s: round(s.ref_end_s, 2),
            speed: round(s.speed, 3),
            mirrored: s.mirrored,
            score: round(s.score, 3),
            signal: s.signal.as_str().to_string(),
            false_match_rate: s.false_match_rate,
        }
    }
}

/// A match's segments as the API, notices and bundles show them ([`SegmentView`]).
pub fn segments_json(segments: &[Segment]) -> Value {
    json!(segments.iter().map(SegmentView::from).collect::<Vec<_>>())
}

/// Where a suspect was seen, as notices, bundles and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SourceView {
    /// E.g. `douyin`, `youtube`.
    pub platform: Option<String>,
    /// The page or video URL.
    pub url: Option<String>,
    /// The uploading account.
    pub uploader: Option<String>,
    /// The title shown with the upload.
    pub title_seen: Option<String>,
    /// When the crawler found it, Unix seconds.
    pub found_at: Option<i64>,
    /// When it was submitted, Unix seconds.
    pub submitted_at: i64,
}

impl From<&Source> for SourceView {
    fn from(source: &Source) -> SourceView {
        SourceView {
            platform: source.meta.platform.clone(),
            url: source.meta.url.clone(),
            uploader: source.meta.uploader.clone(),
            title_seen: source.meta.title_seen.clone(),
            found_at: source.meta.found_at,
            submitted_at: source.submitted_at,
        }
    }
}

/// A source as notices, bundles and the API show it ([`SourceView`]).
pub fn source_json(source: &Source) -> Value {
    json!(SourceView::from(source))
}
