//! Jobs: the caller's own (admins: all).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use reelguard_service::jobs;
use serde::Deserialize;
use serde_json::json;

use super::Query;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::present::job_json;
use crate::Shared;

#[derive(Deserialize)]
pub(super) struct JobQuery {
    state: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn list(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<JobQuery>,
) -> Result<Response, ApiError> {
    let jobs = jobs::list(&state, &caller, q.state.as_deref(), q.limit).await?;
    Ok(Json(json!({"jobs": jobs.iter().map(job_json).collect::<Vec<_>>()})).into_response())
}

pub(super) async fn get(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = jobs::get(&state, &caller, &id).await?;
    Ok(Json(job_json(&job)).into_response())
}
