//! Matches, decisions and notices, as the caller's tenancy allows.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::matches::{self, MatchQuery};
use reelguard_service::review;
use reelguard_store::Verdict;
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Query};
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::present::{match_json, notice_json};
use crate::Shared;

#[derive(Deserialize)]
pub(super) struct MatchParams {
    state: Option<String>,
    member: Option<String>,
    platform: Option<String>,
    /// Unix seconds: matches found at or after.
    since: Option<i64>,
    /// Matches found at most this many seconds ago.
    max_age_secs: Option<i64>,
    suspect_id: Option<i64>,
    limit: Option<u32>,
}

pub(super) async fn list(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<MatchParams>,
) -> Result<Response, ApiError> {
    let query = MatchQuery {
        state: matches::state_filter(q.state.as_deref(), None)?,
        member: q.member,
        platform: q.platform,
        since: q.since,
        max_age_secs: q.max_age_secs,
        suspect_id: q.suspect_id,
        limit: matches::limit(q.limit),
        ..MatchQuery::default()
    };
    let list: Vec<_> = matches::list(&state, &caller, query)
        .await?
        .iter()
        .map(match_json)
        .collect();
    Ok(Json(json!({ "matches": list })).into_response())
}

pub(super) async fn get(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let listed = matches::get_listed(&state, &caller, &id).await?;
    Ok(Json(match_json(&listed)).into_response())
}

#[derive(Deserialize)]
pub(super) struct DecisionBody {
    decision: Verdict,
    reason: String,
}

pub(super) async fn decide(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Response, ApiError> {
    let row = matches::get(&state, &caller, &id).await?;
    let (decision, notice) =
        review::decide(&state, &caller, &row, body.decision, &body.reason).await?;
    let match_id = row.id;
    let fresh = matches::get(&state, &caller, &id).await?;
    let listed = matches::listed(&state, fresh).await?;
    let note = match &notice {
        Some(n) => format!("match {match_id} notice {}", n.id),
        None => format!("match {match_id}"),
    };
    let result = json!({
        "match": match_json(&listed),
        "decision": decision,
        "notice": notice.as_ref().map(notice_json),
    });
    Ok((Extension(AuditNote(note)), Json(result)).into_response())
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    limit: Option<u32>,
}

pub(super) async fn list_notices(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, ApiError> {
    let notices = review::notices(&state, &caller, q.limit).await?;
    Ok(
        Json(json!({"notices": notices.iter().map(notice_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

pub(super) async fn get_notice(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let notice = review::notice(&state, &caller, &id).await?;
    Ok(Json(notice_json(&notice)).into_response())
}
