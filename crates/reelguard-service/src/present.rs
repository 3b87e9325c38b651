//! The JSON shapes that leave reelguard — API responses, `reelguard scan --json`, notices and
//! evidence bundles — for the records that several of them print. Rounding happens here and
//! only here: reviewers and evaluators read centiseconds, not float noise, while the records
//! themselves keep full precision.

use reelguard_model::Segment;
use reelguard_store::Source;
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
    })
}

/// A match's segments as the API, notices and bundles show them: the scan shape plus each
/// segment's score and the signal that found it.
pub fn segments_json(segments: &[Segment]) -> Value {
    Value::Array(
        segments
            .iter()
            .map(|s| {
                let mut segment = segment_json(s);
                segment["score"] = json!(round(s.score, 3));
                segment["signal"] = json!(s.signal.as_str());
                segment["false_match_rate"] = json!(s.false_match_rate);
                segment
            })
            .collect(),
    )
}

/// A source as notices, bundles and the API show it.
pub fn source_json(source: &Source) -> Value {
    json!({
        "platform": source.meta.platform,
        "url": source.meta.url,
        "uploader": source.meta.uploader,
        "title_seen": source.meta.title_seen,
        "found_at": source.meta.found_at,
        "submitted_at": source.submitted_at,
    })
}
