//! The HTTP API: thin handlers over the application layer (`reelguard_service`). Access
//! (401/403) is decided before any handler runs ([`crate::auth`], from
//! [`crate::routes::ROUTES`]); a handler parses the request, calls one service function with
//! the caller, and shapes the answer with [`crate::present`]. Handlers hold no domain rule: tenancy,
//! ownership, decisions and notices are the service's, shared with the workbench.

mod admin;
mod jobs;
mod matches;
mod pages;
mod submissions;
mod takedown;
mod webhook;
mod works;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::auth::guard;
use crate::error::ApiError;
use crate::Shared;

/// The separate metrics listener's only route (`metrics_listen`): `GET /metrics` without a
/// key, and 404 for anything else, so nothing of the API is reachable through it.
pub fn metrics_router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(admin::metrics))
        .fallback(not_found)
        .with_state(state)
}

/// The API's routes: every route of [`crate::routes::ROUTES`], behind the guard.
pub fn router(state: Shared) -> Router<Shared> {
    Router::new()
        .route("/healthz", get(admin::healthz))
        .route("/readyz", get(admin::readyz))
        .route("/metrics", get(admin::metrics))
        .route("/v1/openapi.json", get(admin::openapi))
        .route("/v1/docs", get(admin::docs))
        .route("/v1/whoami", get(admin::whoami))
        .route(
            "/v1/members",
            post(admin::create_member).get(admin::list_members),
        )
        .route("/v1/members/{name}", patch(admin::update_member))
        .route("/v1/whoami/language", put(admin::set_language))
        .route(
            "/v1/members/{name}/review-scope",
            put(admin::set_review_scope),
        )
        .route("/v1/keys", post(admin::create_key).get(admin::list_keys))
        .route("/v1/keys/{id}", delete(admin::revoke_key))
        .route("/v1/audit", get(admin::audit_log))
        .route("/v1/works", post(works::create).get(works::list))
        .route(
            "/v1/works/{work_id}",
            get(works::get).delete(works::withdraw),
        )
        .route(
            "/v1/works/{work_id}/episodes",
            post(submissions::upload_episode),
        )
        .route(
            "/v1/works/{work_id}/episodes/ingest",
            post(submissions::ingest_episode),
        )
        .route(
            "/v1/works/{work_id}/episodes/{number}",
            delete(works::withdraw_episode),
        )
        .route("/v1/suspects", post(submissions::upload_suspect))
        .route("/v1/suspects/ingest", post(submissions::ingest_suspect))
        .route("/v1/jobs", get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::get))
        .route("/v1/matches", get(matches::list))
        .route("/v1/matches/{id}", get(matches::get))
        .route("/v1/matches/{id}/sources", get(matches::sources))
        .route("/v1/matches/{id}/decision", post(matches::decide))
        .route("/v1/notices", get(matches::list_notices))
        .route("/v1/notices/{id}", get(matches::get_notice))
        .route(
            "/v1/webhook",
            put(webhook::put_webhook)
                .get(webhook::get_webhook)
                .delete(webhook::delete_webhook),
        )
        .route("/v1/webhook/deliveries", get(webhook::list_deliveries))
        .route("/v1/works/{work_id}/rights", put(takedown::put_rights))
        .route(
            "/v1/works/{work_id}/authorisation",
            put(takedown::put_authorisation),
        )
        .route("/v1/works/{work_id}/papers", get(takedown::get_papers))
        .route(
            "/v1/matches/{id}/segments/{segment}",
            put(takedown::put_segment),
        )
        .route("/v1/notices/{id}/tracking", get(takedown::get_tracking))
        .route("/v1/notices/{id}/state", post(takedown::post_state))
        .route("/v1/notices/{id}/document", get(takedown::get_document))
        .route("/v1/url-reports", post(takedown::post_url_report))
        .route("/v1/removal-times", get(takedown::get_removal_times))
        .route("/v1/sightings", get(takedown::list_sightings))
        .route(
            "/v1/sightings/{source_id}/notice",
            post(takedown::notice_sighting),
        )
        .route("/public/evidence/{token}", get(takedown::public_evidence))
        .route(
            "/public/evidence/{token}/{file}",
            get(takedown::public_evidence_file),
        )
        .route_layer(middleware::from_fn_with_state(state, guard))
}

/// What any path outside both tables answers: 404 in the API's error format.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("route".into())
}

// ---- extractors that answer in our error format ---------------------------------------------

/// A JSON body; a malformed one is a 400 in the API's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| JsonBody(v))
            .map_err(|e| {
                ApiError::body_rejected(crate::limits::BODY_LIMIT, e.status(), e.body_text())
            })
    }
}

/// A query string; a malformed one is a 400 in the API's error format.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}
