//! Members' webhooks: which URLs a member may register (only `http(s)`, no credentials, no
//! private or local address literals unless the operator allows them; host names are checked
//! again at each delivery, see [`crate::webhook_target`]) and the member's own webhook and
//! deliveries. Delivery itself is [`crate::webhook`].

use reelguard_store::webhooks::{Delivery, Webhook, MAX_URL_LEN};
use reelguard_store::Caller;
use ureq::http::Uri;

use crate::error::AppError;
use crate::Service;

/// Checks a webhook URL: `http` or `https`, a host, no credentials, at most
/// [`MAX_URL_LEN`] bytes, no spaces or control characters.
pub fn validate_url(raw: &str) -> Result<(), AppError> {
    let bad = |why: &str| Err(AppError::Invalid(format!("url {why}")));
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
pub fn check_target(raw: &str, allow_private: bool) -> Result<(), AppError> {
    validate_url(raw)?;
    let host = raw
        .parse::<Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string))
        .unwrap_or_default();
    match crate::webhook_target::literal_address(&host) {
        Some(ip) if !allow_private && !crate::webhook_target::is_public(ip) => {
            Err(AppError::Invalid(format!(
                "url: {ip} is a private or local address, which webhooks may not reach"
            )))
        }
        _ => Ok(()),
    }
}

/// Sets the caller's webhook with a new signing secret (answered once, never stored in clear).
pub async fn set(
    service: &Service,
    caller: &Caller,
    url: String,
) -> Result<(Webhook, String), AppError> {
    check_target(&url, service.config.webhook_allow_private_targets)?;
    let member = caller.member_id;
    service.db(move |s| s.put_webhook(member, &url)).await
}

/// The caller's webhook.
pub async fn get(service: &Service, caller: &Caller) -> Result<Option<Webhook>, AppError> {
    let member = caller.member_id;
    service.db(move |s| s.webhook(member)).await
}

/// Removes the caller's webhook; its pending deliveries fail.
pub async fn delete(service: &Service, caller: &Caller) -> Result<(), AppError> {
    let member = caller.member_id;
    service.db(move |s| s.delete_webhook(member)).await
}

/// The caller's deliveries, newest first, with their attempts.
pub async fn deliveries(
    service: &Service,
    caller: &Caller,
    before_id: Option<i64>,
    limit: Option<u32>,
) -> Result<Vec<Delivery>, AppError> {
    let member = caller.member_id;
    let limit = crate::query::limit(limit);
    service
        .db(move |s| s.webhook_deliveries(member, before_id, limit))
        .await
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
