//! Works and episodes: create, list, read and withdraw the caller's own works.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::works::{self, NewWorkRequest};

use super::{pages, JsonBody, Query};
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::present::work_out;
use crate::wire::requests::{NewWork, Page};
use crate::wire::responses::{WorkList, WorkOut};
use crate::Shared;

pub(super) async fn create(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<NewWork>,
) -> Result<Response, ApiError> {
    let request = NewWorkRequest {
        title: body.title,
        external_id: body.external_id,
        released_at: body.released_at,
    };
    let view = works::create(&state, &caller, request).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/works/{}", view.row.work_id))],
        Extension(AuditNote(format!("work {}", view.row.work_id))),
        Json(work_out(&view)),
    )
        .into_response())
}

pub(super) async fn list(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(page): Query<Page>,
) -> Result<Json<WorkList>, ApiError> {
    let all = works::list(&state, &caller).await?;
    // Work ids are text, so a work's key is its place in creation order: works are never
    // deleted (only withdrawn) and a new one sorts last, so that place is as stable as an id.
    let numbered: Vec<(i64, _)> = (0i64..).zip(all).collect();
    let (rows, next_cursor) = pages::of_whole(
        numbered,
        page.cursor.as_deref(),
        pages::limit(page.limit),
        |(n, _)| *n,
    )?;
    Ok(Json(WorkList {
        works: rows.iter().map(|(_, view)| work_out(view)).collect(),
        next_cursor,
    }))
}

pub(super) async fn get(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Json<WorkOut>, ApiError> {
    let view = works::get(&state, &caller, &work_id).await?;
    Ok(Json(work_out(&view)))
}

pub(super) async fn withdraw(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Json<WorkOut>, ApiError> {
    let view = works::withdraw(&state, &caller, &work_id).await?;
    Ok(Json(work_out(&view)))
}

pub(super) async fn withdraw_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path((work_id, number)): Path<(String, String)>,
) -> Result<Json<WorkOut>, ApiError> {
    let view = works::withdraw_episode(&state, &caller, &work_id, &number).await?;
    Ok(Json(work_out(&view)))
}
