//! Works and episodes: create, list, read and withdraw the caller's own works.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::works::{self, NewWorkRequest};
use serde::Deserialize;
use serde_json::json;

use super::JsonBody;
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::present::work_json;
use crate::Shared;

#[derive(Deserialize)]
pub(super) struct CreateWork {
    title: String,
    external_id: Option<String>,
    /// When the drama goes on sale, Unix seconds (orders the review queue).
    released_at: Option<i64>,
}

pub(super) async fn create(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<CreateWork>,
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
        Json(work_json(&view)),
    )
        .into_response())
}

pub(super) async fn list(
    State(state): State<Shared>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let list: Vec<_> = works::list(&state, &caller)
        .await?
        .iter()
        .map(work_json)
        .collect();
    Ok(Json(json!({ "works": list })).into_response())
}

pub(super) async fn get(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Response, ApiError> {
    let view = works::get(&state, &caller, &work_id).await?;
    Ok(Json(work_json(&view)).into_response())
}

pub(super) async fn withdraw(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Response, ApiError> {
    let view = works::withdraw(&state, &caller, &work_id).await?;
    Ok(Json(work_json(&view)).into_response())
}

pub(super) async fn withdraw_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path((work_id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = works::withdraw_episode(&state, &caller, &work_id, &number).await?;
    Ok(Json(work_json(&view)).into_response())
}
