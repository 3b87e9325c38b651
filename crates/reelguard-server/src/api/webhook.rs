//! The webhook routes: a member sets, reads and removes its own webhook and reads its own
//! delivery log. Access (member keys only) is decided by the guard; every handler works on the
//! caller's member, so no other member's webhook is reachable at all.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use reelguard_service::webhooks;

use super::{pages, JsonBody, Query};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::wire::requests::{NewWebhook, Page};
use crate::wire::responses::{DeliveryList, WebhookDeleted, WebhookOut, WebhookSet};
use crate::Shared;

/// `PUT /v1/webhook`: sets the caller's webhook with a new secret, shown only in this answer.
pub(crate) async fn put_webhook(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<NewWebhook>,
) -> Result<Response, ApiError> {
    let (hook, secret) = webhooks::set(&state, &caller, body.url).await?;
    Ok((
        // The one response that holds the secret must not linger in a cache.
        [(header::CACHE_CONTROL, "no-store")],
        Json(WebhookSet {
            url: hook.url,
            secret,
            created_at: hook.created_at,
            updated_at: hook.updated_at,
        }),
    )
        .into_response())
}

/// `GET /v1/webhook`: the caller's webhook, never its secret.
pub(crate) async fn get_webhook(
    State(state): State<Shared>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    match webhooks::get(&state, &caller).await? {
        Some(hook) => Ok(Json(WebhookOut {
            url: hook.url,
            created_at: hook.created_at,
            updated_at: hook.updated_at,
        })
        .into_response()),
        None => Err(ApiError::NotFound("webhook".into())),
    }
}

/// `DELETE /v1/webhook`: removes the caller's webhook; its pending deliveries fail.
pub(crate) async fn delete_webhook(
    State(state): State<Shared>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    webhooks::delete(&state, &caller).await?;
    Ok(Json(WebhookDeleted { deleted: true }).into_response())
}

/// `GET /v1/webhook/deliveries`: the caller's deliveries, newest first, with their attempts.
pub(crate) async fn list_deliveries(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(page): Query<Page>,
) -> Result<Json<DeliveryList>, ApiError> {
    let before = pages::decode(page.cursor.as_deref())?;
    let limit = pages::limit(page.limit);
    let mut deliveries = webhooks::deliveries(&state, &caller, before, Some(limit + 1)).await?;
    let next_cursor = pages::trim(&mut deliveries, limit, |d| d.id);
    Ok(Json(DeliveryList {
        deliveries,
        next_cursor,
    }))
}
