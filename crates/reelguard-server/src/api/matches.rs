//! Matches, decisions and notices, as the caller's tenancy allows.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::matches::{self, MatchQuery};
use reelguard_service::present::SourceView;
use reelguard_service::review;

use super::{pages, JsonBody, Query};
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::present::{match_out, notice_out};
use crate::wire::requests::{self, NewDecision, Page};
use crate::wire::responses::{Decided, MatchList, MatchOut, NoticeList, NoticeOut, SourceList};
use crate::Shared;

pub(super) async fn list(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<requests::MatchQuery>,
) -> Result<Json<MatchList>, ApiError> {
    let limit = pages::limit(q.limit);
    let query = MatchQuery {
        state: matches::state_filter(q.state.as_deref(), None)?,
        member: q.member,
        platform: q.platform,
        since: q.since,
        max_age_secs: q.max_age_secs,
        max_age_days: q.max_age_days,
        suspect_id: q.suspect_id,
        work_id: q.work_id,
        min_score: q.min_score,
        before_id: pages::decode(q.cursor.as_deref())?,
        limit: limit + 1,
        ..MatchQuery::default()
    };
    let mut rows = matches::list(&state, &caller, query).await?;
    let next_cursor = pages::trim(&mut rows, limit, |l| l.row.id);
    Ok(Json(MatchList {
        matches: rows.iter().map(match_out).collect(),
        next_cursor,
    }))
}

pub(super) async fn get(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<MatchOut>, ApiError> {
    let listed = matches::get_listed(&state, &caller, &id).await?;
    Ok(Json(match_out(&listed)))
}

pub(super) async fn sources(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<SourceList>, ApiError> {
    let after = pages::decode(page.cursor.as_deref())?;
    let limit = pages::limit(page.limit);
    let mut rows = matches::sources_page(&state, &caller, &id, after, limit as usize + 1).await?;
    let next_cursor = pages::trim(&mut rows, limit, |s| s.id);
    Ok(Json(SourceList {
        sources: rows.iter().map(SourceView::from).collect(),
        next_cursor,
    }))
}

pub(super) async fn decide(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewDecision>,
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
    let result = Decided {
        decided: match_out(&listed),
        decision,
        notice: notice.as_ref().map(notice_out),
    };
    Ok((Extension(AuditNote(note)), Json(result)).into_response())
}

pub(super) async fn list_notices(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(page): Query<Page>,
) -> Result<Json<NoticeList>, ApiError> {
    let before = pages::decode(page.cursor.as_deref())?;
    let limit = pages::limit(page.limit);
    let mut rows = review::notices(&state, &caller, before, Some(limit + 1)).await?;
    let next_cursor = pages::trim(&mut rows, limit, |n| n.id);
    Ok(Json(NoticeList {
        notices: rows.iter().map(notice_out).collect(),
        next_cursor,
    }))
}

pub(super) async fn get_notice(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<NoticeOut>, ApiError> {
    let notice = review::notice(&state, &caller, &id).await?;
    Ok(Json(notice_out(&notice)))
}
