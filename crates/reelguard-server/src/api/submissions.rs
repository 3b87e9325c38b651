//! Submissions: episodes for registration and suspects for scanning, uploaded as a request
//! body or named by path in the ingest directory. What is HTTP stays here (declared lengths,
//! streaming and draining bodies); every rule is `reelguard_service::submit`'s.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use reelguard_service::files::Received;
use reelguard_service::{submit, AppError};
use reelguard_store::SourceMeta;
use serde::Deserialize;

use super::{JsonBody, Query};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::present::accepted;
use crate::upload;
use crate::Shared;

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Runs the checks that must pass before a body is read; a refused request's body is drained
/// (so the client, still sending, gets the answer) and the accepted one is streamed to disk.
async fn receive_checked(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    checks: impl std::future::Future<Output = Result<(), AppError>>,
) -> Result<Received, ApiError> {
    let checks = async {
        checks.await?;
        submit::check_length(state, declared_length(headers))?;
        submit::check_queue(state).await
    };
    if let Err(error) = checks.await {
        upload::drain(body).await;
        return Err(error.into());
    }
    upload::receive(body, &state.uploads, state.config.max_upload_bytes).await
}

#[derive(Deserialize)]
pub(super) struct EpisodeQuery {
    filename: Option<String>,
}

pub(super) async fn upload_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    Query(q): Query<EpisodeQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = submit::live_target(&state, &caller, &work_id);
    let received = receive_checked(&state, &headers, body, target).await?;
    let name = submit::file_name(q.filename, "upload");
    let submission = submit::registration(&state, &caller, work_id, received, name).await?;
    Ok(accepted(&submission))
}

#[derive(Deserialize)]
pub(super) struct IngestEpisode {
    path: String,
}

pub(super) async fn ingest_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    JsonBody(body): JsonBody<IngestEpisode>,
) -> Result<Response, ApiError> {
    submit::live_target(&state, &caller, &work_id).await?;
    submit::check_queue(&state).await?;
    let (received, name) = submit::from_ingest(&state, &body.path).await?;
    let submission = submit::registration(&state, &caller, work_id, received, name).await?;
    Ok(accepted(&submission))
}

#[derive(Deserialize, Default)]
pub(super) struct SuspectMeta {
    platform: Option<String>,
    url: Option<String>,
    uploader: Option<String>,
    title_seen: Option<String>,
    /// Unix seconds.
    found_at: Option<i64>,
    filename: Option<String>,
}

impl SuspectMeta {
    fn source(&self) -> SourceMeta {
        SourceMeta {
            platform: self.platform.clone(),
            url: self.url.clone(),
            uploader: self.uploader.clone(),
            title_seen: self.title_seen.clone(),
            found_at: self.found_at,
        }
    }
}

pub(super) async fn upload_suspect(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(meta): Query<SuspectMeta>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = meta.source();
    let checked = std::future::ready(submit::check_source(&source));
    let received = receive_checked(&state, &headers, body, checked).await?;
    let name = submit::file_name(meta.filename, "suspect");
    let submission = submit::scan(&state, &caller, received, source, name).await?;
    Ok(accepted(&submission))
}

#[derive(Deserialize)]
pub(super) struct IngestSuspect {
    path: String,
    #[serde(flatten)]
    source: SourceMeta,
}

pub(super) async fn ingest_suspect(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<IngestSuspect>,
) -> Result<Response, ApiError> {
    submit::check_source(&body.source)?;
    submit::check_queue(&state).await?;
    let (received, name) = submit::from_ingest(&state, &body.path).await?;
    let submission = submit::scan(&state, &caller, received, body.source, name).await?;
    Ok(accepted(&submission))
}
