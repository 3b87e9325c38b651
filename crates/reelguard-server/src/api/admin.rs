//! Health, metrics, documents and administration (members, keys, review scopes, audit).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::members;
use reelguard_store::{Caller, LegalProfile, Role};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Query};
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::routes::OPENAPI;
use crate::Shared;

pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

pub(super) async fn readyz(State(state): State<Shared>) -> Result<&'static str, ApiError> {
    members::ready(&state).await?;
    Ok("ready\n")
}

pub(super) async fn metrics(State(state): State<Shared>) -> Result<Response, ApiError> {
    let text = members::metrics_text(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub(super) async fn whoami(Auth(caller): Auth) -> Json<Caller> {
    Json(caller)
}

#[derive(Deserialize)]
pub(super) struct NewMember {
    name: String,
    #[serde(flatten)]
    legal: LegalProfile,
}

pub(super) async fn create_member(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<NewMember>,
) -> Result<Response, ApiError> {
    let member = members::create(&state, body.name, body.legal).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditNote(format!("member {}", member.member.id))),
        Json(member),
    )
        .into_response())
}

pub(super) async fn update_member(
    State(state): State<Shared>,
    Path(name): Path<String>,
    JsonBody(patch): JsonBody<LegalProfile>,
) -> Result<Response, ApiError> {
    let member = members::update(&state, name, patch).await?;
    Ok((
        Extension(AuditNote(format!("member {}", member.member.id))),
        Json(member),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct Language {
    language: Option<String>,
}

pub(super) async fn set_language(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Language>,
) -> Result<Response, ApiError> {
    members::set_language(&state, &caller, body.language.clone()).await?;
    Ok(Json(json!({"language": body.language})).into_response())
}

pub(super) async fn list_members(State(state): State<Shared>) -> Result<Response, ApiError> {
    let members = members::list(&state).await?;
    Ok(Json(json!({ "members": members })).into_response())
}

/// `{"members": [...]}` (only these; `[]`: none) or `{"all": true}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewScope {
    #[serde(default)]
    members: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

pub(super) async fn set_review_scope(
    State(state): State<Shared>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<ReviewScope>,
) -> Result<Response, ApiError> {
    match (body.all, body.members) {
        (true, None) => {
            let reviewer = members::set_review_scope_all(&state, name).await?;
            Ok(Json(json!({"reviewer": reviewer, "all": true})).into_response())
        }
        (false, Some(listed)) => {
            let reviewer = members::set_review_scope(&state, name, listed.clone()).await?;
            Ok(Json(json!({"reviewer": reviewer, "members": listed})).into_response())
        }
        _ => Err(ApiError::BadRequest(
            "give either \"members\": [names] or \"all\": true".into(),
        )),
    }
}

#[derive(Deserialize)]
pub(super) struct NewKey {
    member: String,
    role: Role,
}

pub(super) async fn create_key(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<Response, ApiError> {
    let (info, key) = members::create_key(&state, body.member, body.role).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditNote(format!("key {}", info.id))),
        Json(json!({"key": key, "id": info.id, "prefix": info.prefix, "member": info.member, "role": info.role})),
    )
        .into_response())
}

pub(super) async fn list_keys(State(state): State<Shared>) -> Result<Response, ApiError> {
    let keys = members::keys(&state).await?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

pub(super) async fn revoke_key(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = members::revoke_key(&state, &id).await?;
    Ok(Json(json!({"id": id, "revoked": true})).into_response())
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

pub(super) async fn audit_log(
    State(state): State<Shared>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let records = members::audit_log(&state, q.after, q.limit).await?;
    Ok(Json(json!({ "entries": records })).into_response())
}
