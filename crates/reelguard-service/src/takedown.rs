//! From a confirmed match to a removed copy: per-segment verdicts before a decision, a
//! notice's way through its states (draft → sent → acknowledged → removed, or counter-noticed,
//! restored, escalated), crawlers' "URL gone" / "still up" reports, the public evidence a
//! platform opens without a login, and the time from first sighting to removal per platform.
//!
//! The decision that shapes it: the transitions are one table ([`allowed_from`]) enforced by
//! the store's compare-and-set, and a draft becomes a sent notice only through
//! [`final_body`], which copies in the parties and papers of the day and the public link: the
//! sent document is complete and never changes afterwards.

use reelguard_store::{
    Caller, Notice, NoticeState, Role, SegmentVerdict, StoreError, Tracking, Transition,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::AppError;
use crate::query::parse_id;
use crate::{legal, matches, review, tenancy, Service};

/// Longest tracking reason, in bytes.
pub const MAX_REASON_BYTES: usize = 4000;

/// The states a notice may be in to enter `to`.
pub fn allowed_from(to: NoticeState) -> &'static [NoticeState] {
    use NoticeState::*;
    match to {
        Draft => &[],
        Sent => &[Draft],
        Acknowledged => &[Sent, Escalated],
        Removed => &[Sent, Acknowledged, Escalated, Restored],
        CounterNoticed => &[Sent, Acknowledged, Removed],
        Restored => &[CounterNoticed],
        Escalated => &[Sent, Acknowledged, CounterNoticed, Restored],
    }
}

/// Records a reviewer's verdict on one segment of a pending match the caller may read.
pub async fn segment_verdict(
    service: &Service,
    caller: &Caller,
    raw_match: &str,
    raw_segment: &str,
    verdict: SegmentVerdict,
) -> Result<Vec<usize>, AppError> {
    let row = matches::get(service, caller, raw_match).await?;
    let index: usize = raw_segment
        .parse()
        .ok()
        .filter(|i| *i < row.segments.len())
        .ok_or_else(|| AppError::NotFound(format!("segment {raw_segment} of match {}", row.id)))?;
    let (id, key) = (row.id, caller.key_id);
    service
        .db(move |s| {
            s.set_segment_verdict(id, index, verdict, key)?;
            s.rejected_segments(id)
        })
        .await
}

/// Who did it, as events record it.
pub(crate) fn actor(caller: &Caller) -> String {
    format!("{}/{}", caller.member, caller.role)
}

/// A notice's tracking, for a caller who may read the notice.
pub async fn tracking(
    service: &Service,
    caller: &Caller,
    raw_id: &str,
) -> Result<(Notice, Tracking), AppError> {
    let notice = review::notice(service, caller, raw_id).await?;
    let id = notice.id;
    let tracking = service.db(move |s| s.tracking(id)).await?;
    Ok((notice, tracking))
}

/// The notice's public evidence address for a token.
pub fn public_url(service: &Service, token: &str) -> String {
    let base = service
        .config
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", service.config.listen));
    format!("{}/public/evidence/{token}", base.trim_end_matches('/'))
}

/// The notice's body completed with the parties and papers as they stand at `at`: what a draft
/// previews and what sending freezes. `token` is the public evidence link's (none for a
/// preview). Answers with it every [`legal::Gap`]: anything a platform needs that is missing.
pub async fn final_body(
    service: &Service,
    notice: &Notice,
    token: Option<&str>,
    at: i64,
) -> Result<(Value, Vec<legal::Gap>), AppError> {
    let mut body = notice.body.clone();
    let work_id = body["work"]["work_id"].as_str().unwrap_or("").to_string();
    let (member, wid) = (notice.member_id, work_id.clone());
    let (legal, rights, auth) = service
        .db(move |s| {
            Ok((
                s.legal_profile(member)?,
                s.work_rights(&wid)?,
                s.authorisation(&wid)?,
            ))
        })
        .await?;
    let missing = legal::gaps(
        service,
        &legal,
        &work_id,
        rights.as_ref(),
        auth.as_ref(),
        at,
    );
    let agent = legal::agent(service);
    let mut holder = serde_json::to_value(&legal).unwrap_or_else(|_| json!({}));
    holder["name"] = body["rights_holder"].clone();
    body["parties"] = json!({
        "rights_holder": holder,
        "agent": agent,
        "authorisation": if agent.is_some() { json!(auth) } else { Value::Null },
    });
    body["rights"] = json!(rights);
    body["sent_at"] = json!(at);
    body["sent_at_cst"] = json!(crate::time::cst(at));
    body["issued_at_cst"] = json!(crate::time::cst(body["issued_at"].as_i64().unwrap_or(at)));
    if let Some(token) = token {
        body["public_evidence"] = json!({"url": public_url(service, token)});
    }
    Ok((body, missing))
}

/// Moves a notice the caller may read to `to`. Sending needs a reviewer and complete papers
/// (refused with everything missing named); a counter-notice and an escalation need a reason.
pub async fn transition(
    service: &Service,
    caller: &Caller,
    raw_id: &str,
    to: NoticeState,
    reason: &str,
) -> Result<Tracking, AppError> {
    let reason = reason.trim().to_string();
    if reason.len() > MAX_REASON_BYTES {
        return Err(AppError::Invalid(format!(
            "reason must be at most {MAX_REASON_BYTES} bytes"
        )));
    }
    if matches!(to, NoticeState::CounterNoticed | NoticeState::Escalated) && reason.is_empty() {
        return Err(AppError::Invalid(format!(
            "a reason is required to record {to} (for a counter-notice: the uploader's reasons)"
        )));
    }
    let (notice, tracking) = tracking(service, caller, raw_id).await?;
    if !allowed_from(to).contains(&tracking.state) {
        return Err(AppError::Conflict(format!(
            "notice {} is {}; it cannot become {to}",
            notice.id, tracking.state
        )));
    }
    let at = reelguard_store::now();
    let body = if to == NoticeState::Sent {
        tenancy::require(caller, &[Role::Reviewer])?;
        let incomplete = |gaps: Vec<legal::Gap>| {
            AppError::Incomplete(gaps.iter().map(legal::Gap::to_string).collect())
        };
        let (_, missing) = final_body(service, &notice, None, at).await?;
        if !missing.is_empty() {
            return Err(incomplete(missing));
        }
        let id = notice.id;
        let token = service.db(move |s| s.public_token(id)).await?;
        let (body, missing) = final_body(service, &notice, Some(&token), at).await?;
        if !missing.is_empty() {
            return Err(incomplete(missing));
        }
        Some(body)
    } else {
        None
    };
    let (id, who) = (notice.id, actor(caller));
    service
        .db(move |s| {
            s.transition(
                id,
                &Transition {
                    from: allowed_from(to),
                    to,
                    reason: &reason,
                    actor: &who,
                    at,
                    body: body.as_ref(),
                },
            )
        })
        .await
}

/// What a crawler saw at a notice's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UrlStatus {
    /// The copy is gone: the notices citing it that are out with the platform become removed.
    Gone,
    /// Still up: recorded on each such notice, in the state it is in.
    StillUp,
}

/// One notice a crawler's report touched.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Touched {
    /// The notice.
    pub notice_id: i64,
    /// Its state after the report.
    pub state: NoticeState,
}

/// A crawler's report on a URL: applies to every notice out with a platform that cites it.
pub async fn report_url(
    service: &Service,
    caller: &Caller,
    url: String,
    status: UrlStatus,
) -> Result<Vec<Touched>, AppError> {
    if url.trim().is_empty() || url.len() > 4000 {
        return Err(AppError::Invalid("url must be 1–4000 characters".into()));
    }
    let who = format!("crawler:{}", caller.member);
    let at = reelguard_store::now();
    service
        .db(move |s| {
            let mut touched = Vec::new();
            for (id, state) in s.notices_citing(&url)? {
                // A draft is not out with the platform; a removed or escalated notice has its own
                // course. Only the states that wait on the platform take a report.
                let waiting = [
                    NoticeState::Sent,
                    NoticeState::Acknowledged,
                    NoticeState::Restored,
                ];
                if !waiting.contains(&state) {
                    continue;
                }
                let (to, reason) = match status {
                    UrlStatus::Gone => (NoticeState::Removed, "URL gone (crawler report)"),
                    UrlStatus::StillUp => (state, "still up (crawler report)"),
                };
                let change = Transition {
                    from: &[state],
                    to,
                    reason,
                    actor: &who,
                    at,
                    body: None,
                };
                match s.transition(id, &change) {
                    Ok(t) => touched.push(Touched {
                        notice_id: id,
                        state: t.state,
                    }),
                    // Moved by someone else meanwhile: theirs stands.
                    Err(StoreError::Conflict(_)) => {}
                    Err(other) => return Err(other),
                }
            }
            Ok(touched)
        })
        .await
}

/// Time from first sighting to removal on one platform.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlatformRemoval {
    /// The platform (`null`: not reported by the crawler).
    pub platform: Option<String>,
    /// Copies removed.
    pub removed: usize,
    /// Median hours from first sighting to removal.
    pub median_hours: f64,
    /// Longest, in hours.
    pub max_hours: f64,
    /// Removed within 72 hours of first sighting (the days that decide a drama's revenue).
    pub within_72h: usize,
}

/// Time to removal per platform, over the notices the caller may read.
pub async fn removal_times(
    service: &Service,
    caller: &Caller,
) -> Result<Vec<PlatformRemoval>, AppError> {
    let readable = tenancy::readable(service, caller).await?;
    let owners = readable.owners().map(<[i64]>::to_vec);
    let removals = service.db(move |s| s.removals(owners.as_deref())).await?;
    let mut by_platform: std::collections::BTreeMap<Option<String>, Vec<f64>> =
        std::collections::BTreeMap::new();
    for r in removals {
        let hours = (r.removed_at - r.first_seen).max(0) as f64 / 3600.0;
        by_platform.entry(r.platform).or_default().push(hours);
    }
    Ok(by_platform
        .into_iter()
        .map(|(platform, mut hours)| {
            hours.sort_by(f64::total_cmp);
            let n = hours.len();
            let median = if n % 2 == 1 {
                hours[n / 2]
            } else {
                (hours[n / 2 - 1] + hours[n / 2]) / 2.0
            };
            PlatformRemoval {
                platform,
                removed: n,
                median_hours: crate::present::round(median, 2),
                max_hours: crate::present::round(hours[n - 1], 2),
                within_72h: hours.iter().filter(|h| **h <= 72.0).count(),
            }
        })
        .collect())
}

/// The notice a public evidence token opens: only a notice that left draft, and nothing else.
pub async fn public_notice(
    service: &Service,
    token: &str,
) -> Result<(Notice, NoticeState), AppError> {
    let token = token.to_string();
    let not_found = || AppError::NotFound("evidence".into());
    let notice = service
        .db(move |s| s.notice_by_token(&token))
        .await?
        .ok_or_else(not_found)?;
    let id = notice.id;
    let tracking = service.db(move |s| s.tracking(id)).await?;
    if tracking.state == NoticeState::Draft {
        return Err(not_found());
    }
    Ok((notice, tracking.state))
}

/// The files a notice cites: its bundle and the stills it lists (never a rejected segment's).
pub fn cited_files(body: &Value) -> Vec<String> {
    let mut files = Vec::new();
    if let Some(f) = body["evidence"]["bundle_file"].as_str() {
        files.push(f.to_string());
    }
    for still in body["evidence"]["stills"].as_array().into_iter().flatten() {
        for side in ["suspect", "registered"] {
            if let Some(f) = still[side]["file"].as_str() {
                files.push(f.to_string());
            }
        }
    }
    files
}

/// A file of the notice a public token opens, if the notice cites it; answers the bytes and
/// whether it is JSON.
pub async fn public_file(
    service: &Service,
    token: &str,
    file: &str,
) -> Result<(Vec<u8>, bool), AppError> {
    let (notice, _) = public_notice(service, token).await?;
    let not_found = || AppError::NotFound(format!("evidence file {file}"));
    if !cited_files(&notice.body).iter().any(|f| f == file) {
        return Err(not_found());
    }
    let path = crate::evidence::evidence_file(&service.evidence, notice.match_id, file)
        .ok_or_else(not_found)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
    Ok((bytes, file.ends_with(".json")))
}

/// The notice id of a raw path segment (for handlers that take one).
pub fn notice_id(raw: &str) -> Result<i64, AppError> {
    parse_id(raw, "notice")
}
