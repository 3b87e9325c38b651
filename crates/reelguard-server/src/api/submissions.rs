//! Submissions: episodes for registration and suspects for scanning, uploaded as a request
//! body or named by path in the ingest directory. What is HTTP stays here (declared lengths,
//! the `Idempotency-Key` and `X-Content-SHA256` headers, streaming and draining bodies); every
//! rule is `reelguard_service::submit`'s.
//!
//! Known content is answered before its body is read where the client makes that possible: a
//! registration retried with its `Idempotency-Key` and `X-Content-SHA256`, a suspect whose
//! `X-Content-SHA256` is already a suspect. A client that sends `Expect: 100-continue` then
//! never sends the body at all.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use reelguard_service::files::{self, Received};
use reelguard_service::{submit, AppError};
use reelguard_store::Submission;

use super::{JsonBody, Query};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::present::accepted;
use crate::upload;
use crate::wire::requests::{EpisodeQuery, IngestEpisode, IngestSuspect, SuspectQuery};
use crate::Shared;

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::BadRequest(format!("{name} is not ASCII")))
        })
        .transpose()
}

/// The client's `Idempotency-Key`, checked.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    Ok(submit::idempotency_key(header_text(
        headers,
        IDEMPOTENCY_KEY,
    )?)?)
}

/// The SHA-256 the client declares for its body (`X-Content-SHA256`), checked.
fn declared_sha256(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    Ok(submit::content_sha256(header_text(
        headers,
        CONTENT_SHA256,
    )?)?)
}

/// The header naming a registration, so that a retry makes no second episode.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header declaring the body's SHA-256, so that known content is answered unread.
pub const CONTENT_SHA256: &str = "x-content-sha256";

/// Runs the checks that must pass before a body is read; a refused request's body is drained
/// (so the client, still sending, gets the answer) and the accepted one is streamed to disk.
/// A body whose SHA-256 is not the one declared is refused.
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
    receive_declared(state, headers, body, upload::Sync::Now).await
}

/// Streams an accepted body to disk and holds it to its declared SHA-256, if any.
async fn receive_declared(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    durability: upload::Sync,
) -> Result<Received, ApiError> {
    let declared = declared_sha256(headers)?;
    let received = upload::receive(
        body,
        &state.uploads,
        state.config.max_upload_bytes,
        body_idle(state),
        durability,
    )
    .await?;
    if declared.is_some_and(|d| d != received.sha256) {
        files::discard(&received.path).await;
        return Err(ApiError::BadRequest(
            "the body's SHA-256 is not the X-Content-SHA256 sent with it".into(),
        ));
    }
    Ok(received)
}

fn body_idle(state: &Shared) -> Duration {
    Duration::from_secs(state.config.body_idle_secs)
}

/// The answer to a submission; a replay says so (`Idempotent-Replayed: true`).
fn answer(submission: &Submission) -> Response {
    let mut response = accepted(submission);
    if submission.replayed {
        response.headers_mut().insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    response
}

pub(super) async fn upload_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    Query(q): Query<EpisodeQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Headers refused before the body is read: the body is still drained, or the client,
    // still sending, sees a reset connection instead of the answer.
    let (key, declared) =
        match idempotency_key(&headers).and_then(|key| Ok((key, declared_sha256(&headers)?))) {
            Ok(checked) => checked,
            Err(error) => {
                upload::drain(body).await;
                return Err(error);
            }
        };
    let name = submit::file_name(q.filename, "upload");
    // A retry that names its content is answered before its body is read.
    if let (Some(key), Some(sha256)) = (&key, declared) {
        let identity = submit::registration_identity(key.clone(), &work_id, &sha256, &name);
        if let Some(replayed) = submit::replayed_registration(&state, &caller, identity).await? {
            upload::drain(body).await;
            return Ok(answer(&replayed));
        }
    }
    let target = submit::live_target(&state, &caller, &work_id);
    let received = receive_checked(&state, &headers, body, target).await?;
    let submission = submit::registration(&state, &caller, work_id, received, name, key).await?;
    Ok(answer(&submission))
}

pub(super) async fn ingest_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<IngestEpisode>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    submit::live_target(&state, &caller, &work_id).await?;
    submit::check_queue(&state).await?;
    let (received, name) = submit::from_ingest(&state, &body.path).await?;
    let submission = submit::registration(&state, &caller, work_id, received, name, key).await?;
    Ok(answer(&submission))
}

pub(super) async fn upload_suspect(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(meta): Query<SuspectQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = meta.source();
    let early = || -> Result<Option<String>, ApiError> {
        submit::check_source(&source)?;
        submit::check_length(&state, declared_length(&headers))?;
        declared_sha256(&headers)
    };
    let declared = match early() {
        Ok(declared) => declared,
        Err(error) => {
            // Drained, so the client still sending gets the answer, not a reset connection.
            upload::drain(body).await;
            return Err(error);
        }
    };
    // Known content named by its SHA-256 is answered before its body is read (or stored).
    if let Some(sha256) = declared {
        if let Some(known) = submit::known_suspect(&state, &caller, sha256, source.clone()).await? {
            upload::drain(body).await;
            return Ok(answer(&known));
        }
    }
    if let Err(full) = submit::check_queue(&state).await {
        // A duplicate is never refused for a full queue: the body is hashed (not stored) to
        // find out whether it is one.
        let limit = state.config.max_upload_bytes;
        let sha256 = upload::hash_only(body, limit, body_idle(&state)).await?;
        return match submit::known_suspect(&state, &caller, sha256, source).await? {
            Some(known) => Ok(answer(&known)),
            None => Err(full.into()),
        };
    }
    // Not made durable yet: a duplicate sent whole is found by its hash and discarded, and
    // only new content pays for the fsync.
    let received = receive_declared(&state, &headers, body, upload::Sync::Later).await?;
    let sha256 = received.sha256.clone();
    if let Some(known) = submit::known_suspect(&state, &caller, sha256, source.clone()).await? {
        files::discard(&received.path).await;
        return Ok(answer(&known));
    }
    if let Err(error) = upload::sync(&received.path).await {
        files::discard(&received.path).await;
        return Err(error);
    }
    let name = submit::file_name(meta.filename, "suspect");
    let submission = submit::scan(&state, &caller, received, source, name).await?;
    Ok(answer(&submission))
}

pub(super) async fn ingest_suspect(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<IngestSuspect>,
) -> Result<Response, ApiError> {
    let source = body.source();
    submit::check_source(&source)?;
    submit::check_queue(&state).await?;
    let (received, name) = submit::from_ingest(&state, &body.path).await?;
    let submission = submit::scan(&state, &caller, received, source, name).await?;
    Ok(answer(&submission))
}
