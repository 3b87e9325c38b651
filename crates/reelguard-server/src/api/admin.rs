//! Health, metrics, documents and administration (members, keys, review scopes, audit).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::members;
use reelguard_store::Caller;

use super::{pages, JsonBody, Query};
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::wire::requests::{Language, LegalFields, NewKey, NewMember, Page, ReviewScope};
use crate::wire::responses::{
    AuditPage, KeyList, KeyRevoked, LanguageSet, MemberList, NewKeyOut, ReviewScopeSet,
};
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
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
        .into_response()
}

pub(super) async fn docs() -> Response {
    crate::openapi::docs::page()
}

pub(super) async fn whoami(Auth(caller): Auth) -> Json<Caller> {
    Json(caller)
}

pub(super) async fn create_member(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<NewMember>,
) -> Result<Response, ApiError> {
    let legal = body.legal();
    let member = members::create(&state, body.name, legal).await?;
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
    JsonBody(patch): JsonBody<LegalFields>,
) -> Result<Response, ApiError> {
    let member = members::update(&state, name, patch.into()).await?;
    Ok((
        Extension(AuditNote(format!("member {}", member.member.id))),
        Json(member),
    )
        .into_response())
}

pub(super) async fn set_language(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Language>,
) -> Result<Json<LanguageSet>, ApiError> {
    members::set_language(&state, &caller, body.language.clone()).await?;
    Ok(Json(LanguageSet {
        language: body.language,
    }))
}

pub(super) async fn list_members(
    State(state): State<Shared>,
    Query(page): Query<Page>,
) -> Result<Json<MemberList>, ApiError> {
    let all = members::list(&state).await?;
    let (members, next_cursor) =
        pages::of_whole(all, page.cursor.as_deref(), pages::limit(page.limit), |m| {
            m.member.id
        })?;
    Ok(Json(MemberList {
        members,
        next_cursor,
    }))
}

pub(super) async fn set_review_scope(
    State(state): State<Shared>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<ReviewScope>,
) -> Result<Json<ReviewScopeSet>, ApiError> {
    match (body.all, body.members) {
        (true, None) => {
            let reviewer = members::set_review_scope_all(&state, name).await?;
            Ok(Json(ReviewScopeSet {
                reviewer,
                all: Some(true),
                members: None,
            }))
        }
        (false, Some(listed)) => {
            let reviewer = members::set_review_scope(&state, name, listed.clone()).await?;
            Ok(Json(ReviewScopeSet {
                reviewer,
                all: None,
                members: Some(listed),
            }))
        }
        _ => Err(ApiError::BadRequest(
            "give either \"members\": [names] or \"all\": true".into(),
        )),
    }
}

pub(super) async fn create_key(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<Response, ApiError> {
    let (info, key) = members::create_key(&state, body.member, body.role).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditNote(format!("key {}", info.id))),
        Json(NewKeyOut {
            key,
            id: info.id,
            prefix: info.prefix,
            member: info.member,
            role: info.role,
        }),
    )
        .into_response())
}

pub(super) async fn list_keys(
    State(state): State<Shared>,
    Query(page): Query<Page>,
) -> Result<Json<KeyList>, ApiError> {
    let all = members::keys(&state).await?;
    let (keys, next_cursor) =
        pages::of_whole(all, page.cursor.as_deref(), pages::limit(page.limit), |k| {
            k.id
        })?;
    Ok(Json(KeyList { keys, next_cursor }))
}

pub(super) async fn revoke_key(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<KeyRevoked>, ApiError> {
    let id = members::revoke_key(&state, &id).await?;
    Ok(Json(KeyRevoked { id, revoked: true }))
}

pub(super) async fn audit_log(
    State(state): State<Shared>,
    Query(page): Query<Page>,
) -> Result<Json<AuditPage>, ApiError> {
    // The log is read oldest first after an id: the cursor is that id.
    let after = pages::decode(page.cursor.as_deref())?;
    let limit = pages::limit(page.limit);
    let mut entries = members::audit_log(&state, after, Some(limit + 1)).await?;
    let next_cursor = pages::trim(&mut entries, limit, |e| e.id);
    Ok(Json(AuditPage {
        entries,
        next_cursor,
    }))
}
