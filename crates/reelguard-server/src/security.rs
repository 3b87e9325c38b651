//! Security headers on every response, pages and API alike: `X-Content-Type-Options: nosniff`,
//! `X-Frame-Options: DENY`, a `Referrer-Policy`, and a Content-Security-Policy that allows
//! nothing (`default-src 'none'; frame-ancestors 'none'`) unless the response set its own (the
//! workbench's pages do, see `crate::ui`).
//!
//! The decision that shapes it: one outermost layer rather than headers per handler, so error
//! pages, redirects, static files, stills and 404s carry them too; a handler's own value wins.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of a response that sets none: nothing may load, nothing may frame it.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The middleware.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Not `no-referrer`: under it, browsers send `Origin: null` even on the workbench's
        // own form posts, which its cross-site check has to refuse.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, DEFAULT_CSP),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
