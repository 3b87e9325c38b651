//! Jobs: the caller's own (admins: all).

use axum::extract::{Path, State};
use axum::Json;
use reelguard_service::jobs;

use super::{pages, Query};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::present::job_out;
use crate::wire::requests::JobQuery;
use crate::wire::responses::{JobList, JobOut};
use crate::Shared;

pub(super) async fn list(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    let before = pages::decode(q.cursor.as_deref())?;
    let limit = pages::limit(q.limit);
    let mut rows = jobs::list(&state, &caller, q.state.as_deref(), before, Some(limit + 1)).await?;
    let next_cursor = pages::trim(&mut rows, limit, |j| j.id);
    Ok(Json(JobList {
        jobs: rows.iter().map(job_out).collect(),
        next_cursor,
    }))
}

pub(super) async fn get(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<JobOut>, ApiError> {
    let job = jobs::get(&state, &caller, &id).await?;
    Ok(Json(job_out(&job)))
}
