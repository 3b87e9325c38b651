//! The webhook routes: a member sets, reads and removes its own webhook and reads its own
//! delivery log. Access (member keys only) is decided by the guard; every handler works on the
//! caller's member, so no other member's webhook is reachable at all.

use axum::extract::State;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use reelguard_store::webhooks::MAX_URL_LEN;
use serde::Deserialize;
use serde_json::json;

use crate::api::{JsonBody, Query};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::Shared;

/// Checks a webhook URL: `http` or `https`, a host, no credentials, at most
/// [`MAX_URL_LEN`] bytes, no spaces or control characters.
pub fn validate_url(raw: &str) -> Result<(), ApiError> {
    let bad = |why: &str| Err(ApiError::BadRequest(format!("url {why}")));
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return bad(&format!("must be 1–{MAX_URL_LEN} bytes"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces or control characters");
    }
    let Ok(uri) = raw.parse::<Uri>() else {
        return bad("is not a valid URL");
    };
    if !uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
    {
        return bad("must start with http:// or https://");
    }
    let Some(authority) = uri.authority() else {
        return bad("must name a host");
    };
    // Credentials in the URL would be stored and shown in the delivery log.
    if authority.as_str().contains('@') {
        return bad("must not carry credentials");
    }
    if authority.host().is_empty() {
        return bad("must name a host");
    }
    Ok(())
}

/// [`validate_url`], and no address literal outside the public internet unless the operator
/// allows private targets (host names are checked when each delivery resolves them).
pub fn check_target(raw: &str, allow_private: bool) -> Result<(), ApiError> {
    validate_url(raw)?;
    let host = raw
        .parse::<Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string))
        .unwrap_or_default();
    match crate::webhook_target::literal_address(&host) {
        Some(ip) if !allow_private && !crate::webhook_target::is_public(ip) => {
            Err(ApiError::BadRequest(format!(
                "url: {ip} is a private or local address, which webhooks may not reach"
            )))
        }
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
pub(crate) struct WebhookBody {
    url: String,
}

/// `PUT /v1/webhook`: sets the caller's webhook with a new secret, shown only in this answer.
pub(crate) async fn put_webhook(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<Response, ApiError> {
    check_target(&body.url, state.config.webhook_allow_private_targets)?;
    let member = caller.member_id;
    let (hook, secret) = state.db(move |s| s.put_webhook(member, &body.url)).await?;
    Ok((
        // The one response that holds the secret must not linger in a cache.
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "url": hook.url,
            "secret": secret,
            "created_at": hook.created_at,
            "updated_at": hook.updated_at,
        })),
    )
        .into_response())
}

/// `GET /v1/webhook`: the caller's webhook, never its secret.
pub(crate) async fn get_webhook(
    State(state): State<Shared>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let member = caller.member_id;
    match state.db(move |s| s.webhook(member)).await? {
        Some(hook) => Ok(Json(json!({
            "url": hook.url,
            "created_at": hook.created_at,
            "updated_at": hook.updated_at,
        }))
        .into_response()),
        None => Err(ApiError::NotFound("webhook".into())),
    }
}

/// `DELETE /v1/webhook`: removes the caller's webhook; its pending deliveries fail.
pub(crate) async fn delete_webhook(
    State(state): State<Shared>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let member = caller.member_id;
    state.db(move |s| s.delete_webhook(member)).await?;
    Ok(Json(json!({"deleted": true})).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DeliveryQuery {
    limit: Option<u32>,
}

/// `GET /v1/webhook/deliveries`: the caller's deliveries, newest first, with their attempts.
pub(crate) async fn list_deliveries(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<DeliveryQuery>,
) -> Result<Response, ApiError> {
    let member = caller.member_id;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let deliveries = state
        .db(move |s| s.webhook_deliveries(member, limit))
        .await?;
    Ok(Json(json!({ "deliveries": deliveries })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        for good in [
            "https://hooks.example.com/reelguard",
            "http://127.0.0.1:8080/h?x=1",
            "HTTPS://example.com",
            "https://[::1]:9000/",
        ] {
            assert!(validate_url(good).is_ok(), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        for bad in [
            "",
            "ftp://example.com/",
            "example.com/hook",
            "/relative",
            "https://",
            "http:///path",
            "https://user:pw@example.com/",
            "https://exa mple.com/",
            "https://example.com/\n",
            "javascript:alert(1)",
            long.as_str(),
        ] {
            assert!(validate_url(bad).is_err(), "{bad:?}");
        }
    }
}
