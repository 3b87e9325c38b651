//! Review decisions and takedown notices: deciding a match, the evidence bundle a notice is
//! issued on, and what the notice states. A decision and its notice (and the members' webhook
//! delivery) are written in one store transaction, so a notice never exists without its
//! decision or the other way round.

use reelguard_store::{
    Caller, Cited, Decision, MatchFilter, MatchRow, MatchState, Notice, SegmentVerdict, Verdict,
    NOTICE_SOURCES,
};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::evidence::{self, Bundle};
use crate::present::source_json;
use crate::query::{limit, parse_id};
use crate::tenancy;
use crate::Service;

/// What a notice states on the rights holder's behalf (the good-faith and accuracy statements
/// a notice-and-takedown request carries).
pub const GOOD_FAITH: &str = "The rights holder has a good faith belief that the use of the \
material identified above is not authorised by the rights holder, its agent, or the law.";
/// See [`GOOD_FAITH`].
pub const ACCURACY: &str = "The information in this notice is accurate, and the sender is \
authorised to act on behalf of the owner of the exclusive rights that are allegedly infringed.";

/// Longest decision reason, in bytes.
pub const MAX_REASON_BYTES: usize = 4000;

/// The notice's stable public id: its issue date and the start of its evidence hash, so the
/// id itself ties the notice to the bundle it was issued on.
pub(crate) fn public_notice_id(decided_at: i64, bundle_sha256: &str) -> String {
    let date = crate::time::utc_date(decided_at).replace('-', "");
    format!(
        "RGN-{date}-{}",
        &bundle_sha256[..bundle_sha256.len().min(12)]
    )
}

/// The takedown notice record (structured; the workbench renders it, webhooks carry it).
fn notice_body(
    row: &MatchRow,
    cited: Cited<'_>,
    decision: &Decision,
    bundle: &Bundle,
    rejected: &[usize],
) -> Value {
    // A rejected segment is not infringement the notice claims: it is left out of the time
    // ranges and the evidence alike.
    let segments = evidence::segments_value(&evidence::accepted(&row.segments, rejected));
    json!({
        "kind": "takedown_request",
        "notice_id": public_notice_id(decision.decided_at, &bundle.sha256),
        "rights_holder": row.member,
        "work": {"work_id": row.work_id, "title": row.title},
        "episode": row.episode,
        "infringing_copies": cited.sources.iter().map(source_json).collect::<Vec<_>>(),
        // More copies than a notice names (NOTICE_SOURCES) are left to further notices.
        "infringing_copies_total": cited.total,
        "content_sha256": row.suspect_sha256,
        "matched_time_ranges": segments,
        "evidence": {
            "match_id": row.id,
            "score": row.score,
            "segments": segments,
            "segment_indices": evidence::accepted_indices(row.segments.len(), rejected),
            "rejected_segments": rejected,
            "signals": row.signals.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "transformation": row.transformation,
            "content_box": row.content_box,
            "found_at": row.created_at,
            "bundle_sha256": bundle.sha256,
            "bundle_file": format!("bundle-{}.json", bundle.sha256),
            "stills": bundle.content["stills"],
        },
        "decision": {
            "reviewer": decision.reviewer,
            "reason": decision.reason,
            "decided_at": decision.decided_at,
        },
        "statements": {"good_faith": GOOD_FAITH, "accuracy": ACCURACY},
        "issued_at": decision.decided_at,
    })
}

/// Decides a match the caller has read. Confirming first makes the evidence bundle (FFmpeg
/// stills, off the runtime and outside any store transaction), then records the decision and
/// the notice citing the bundle in one store transaction. A match already decided is a
/// conflict.
pub async fn decide(
    service: &Service,
    caller: &Caller,
    row: &MatchRow,
    verdict: Verdict,
    reason: &str,
) -> Result<(Decision, Option<Notice>), AppError> {
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.len() > MAX_REASON_BYTES {
        return Err(AppError::Invalid(format!(
            "reason must be 1–{MAX_REASON_BYTES} characters"
        )));
    }
    if row.state != MatchState::PendingReview {
        return Err(AppError::Conflict(format!(
            "match {} is already {}",
            row.id, row.state
        )));
    }
    let id = row.id;
    let rejected = service.db(move |s| s.rejected_segments(id)).await?;
    let bundle = match verdict {
        Verdict::Confirm => {
            if !row.segments.is_empty() && rejected.len() >= row.segments.len() {
                return Err(AppError::Invalid(format!(
                    "every segment of match {id} is rejected: reject the match instead"
                )));
            }
            let suspect = row.suspect_id;
            // The sources the notice will name: the store cites the newest NOTICE_SOURCES.
            let sources = service
                .db(move |s| s.latest_sources_of(&[suspect], NOTICE_SOURCES))
                .await?
                .remove(&suspect)
                .map(|(sources, _)| sources)
                .unwrap_or_default();
            let (dirs, bundled) = (service.evidence.clone(), row.clone());
            let (decoder, cut) = (std::sync::Arc::clone(&service.decoder), rejected.clone());
            let bundle = service
                .blocking(move || {
                    evidence::bundle(decoder.as_ref(), &dirs, &bundled, &sources, &cut)
                        .map_err(|e| AppError::Internal(format!("evidence for match {id}: {e}")))
                })
                .await?;
            Some(bundle)
        }
        Verdict::Reject => None,
    };
    let (caller, match_id) = (caller.clone(), row.id);
    service
        .db(move |s| {
            let compose = |row: &MatchRow, cited: Cited<'_>, decision: &Decision| {
                bundle.as_ref().map_or(Value::Null, |b| {
                    notice_body(row, cited, decision, b, &rejected)
                })
            };
            s.decide(match_id, &caller, verdict, &reason, &compose)
        })
        .await
}

/// Decides a match with the reviewer's keep/drop choice for each of its segments: the
/// choices are recorded as segment verdicts first (dropped → rejected, the others accepted),
/// so the notice a confirmation issues leaves the dropped segments and their stills out. A
/// rejection of the whole match records no segment verdicts. The verdicts stay recorded if the
/// decision is then refused (a missing reason): they are the reviewer's, on a match still
/// pending, and the page shows them as chosen.
pub async fn decide_with_segments(
    service: &Service,
    caller: &Caller,
    row: &MatchRow,
    verdict: Verdict,
    reason: &str,
    dropped: &[usize],
) -> Result<(Decision, Option<Notice>), AppError> {
    if verdict == Verdict::Confirm && row.state == MatchState::PendingReview {
        let count = row.segments.len();
        if let Some(bad) = dropped.iter().find(|i| **i >= count) {
            return Err(AppError::Invalid(format!(
                "match {} has {count} segments; there is no segment {bad}",
                row.id
            )));
        }
        let (id, key, dropped) = (row.id, caller.key_id, dropped.to_vec());
        service
            .db(move |s| {
                for index in 0..count {
                    let verdict = if dropped.contains(&index) {
                        SegmentVerdict::Rejected
                    } else {
                        SegmentVerdict::Accepted
                    };
                    s.set_segment_verdict(id, index, verdict, key)?;
                }
                Ok(())
            })
            .await?;
    }
    decide(service, caller, row, verdict, reason).await
}

/// Confirms every pending match of one suspect the caller may read (a compilation at once);
/// answers the notices issued. Matches decided meanwhile by someone else are skipped.
pub async fn confirm_all(
    service: &Service,
    caller: &Caller,
    raw_suspect: &str,
    reason: &str,
) -> Result<(Vec<MatchRow>, Vec<Notice>), AppError> {
    let suspect = parse_id(raw_suspect, "suspect")?;
    let readable = tenancy::readable(service, caller).await?;
    let owners = readable.owners().map(<[i64]>::to_vec);
    let pending = service
        .db(move |s| {
            s.matches(&MatchFilter {
                state: Some(MatchState::PendingReview),
                suspect_id: Some(suspect),
                owners,
                limit: 500,
                ..MatchFilter::default()
            })
        })
        .await?;
    if pending.is_empty() {
        return Err(AppError::NotFound(format!(
            "pending matches of suspect {raw_suspect}"
        )));
    }
    let mut notices = Vec::new();
    for row in &pending {
        match decide(service, caller, row, Verdict::Confirm, reason).await {
            Ok((_, Some(n))) => notices.push(n),
            Ok((_, None)) | Err(AppError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok((pending, notices))
}

/// The notices the caller may read, newest first.
pub async fn notices(
    service: &Service,
    caller: &Caller,
    before_id: Option<i64>,
    requested_limit: Option<u32>,
) -> Result<Vec<Notice>, AppError> {
    let readable = tenancy::readable(service, caller).await?;
    let owners = readable.owners().map(<[i64]>::to_vec);
    let n = limit(requested_limit);
    service
        .db(move |s| s.notices(owners.as_deref(), before_id, n))
        .await
}

/// One notice the caller may read; not found otherwise.
pub async fn notice(service: &Service, caller: &Caller, raw_id: &str) -> Result<Notice, AppError> {
    let id = parse_id(raw_id, "notice")?;
    let readable = tenancy::readable(service, caller).await?;
    match service.db(move |s| s.notice(id)).await? {
        Some(n) if readable.can_read(n.member_id) => Ok(n),
        _ => Err(AppError::NotFound(format!("notice {raw_id}"))),
    }
}
