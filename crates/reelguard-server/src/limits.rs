//! Size and time limits on every route, so no request can hold the daemon's memory or a
//! connection without bound.
//!
//! - **Size.** Uploads (`POST /v1/works/{id}/episodes`, `POST /v1/suspects`) stream to disk
//!   and stop at `max_upload_bytes` ([`crate::upload`]). Every other body (JSON, forms) is
//!   buffered, and refused with 413 past [`BODY_LIMIT`].
//! - **Time.** An upload may take as long as its size needs, but never waits more than
//!   `body_idle_secs` for the next piece of its body ([`crate::upload::Chunks`]). Any other
//!   request has `request_timeout_secs` in all, its body included ([`deadline`]), and gets
//!   408 past it.
//!
//! The decision that shapes it: uploads are told apart by route here, in one place, rather
//! than by each handler; a new streaming route must be added to [`is_upload`].

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::Shared;

/// Largest buffered request body (JSON, forms), in bytes.
pub const BODY_LIMIT: usize = 1 << 20;

/// Whether a request is one of the streaming uploads, which have their own bounds.
pub fn is_upload(method: &Method, path: &str) -> bool {
    if method != Method::POST {
        return false;
    }
    if path == "/v1/suspects" {
        return true;
    }
    let parts: Vec<&str> = path.split('/').collect();
    matches!(parts.as_slice(), ["", "v1", "works", id, "episodes"] if !id.is_empty())
}

/// The middleware bounding the time of every request that is not an upload.
pub async fn deadline(State(state): State<Shared>, request: Request, next: Next) -> Response {
    if is_upload(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let limit = Duration::from_secs(state.config.request_timeout_secs);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::Timeout("the request took longer than request_timeout_secs").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_upload_routes_stream() {
        assert!(is_upload(&Method::POST, "/v1/suspects"));
        assert!(is_upload(&Method::POST, "/v1/works/w000001/episodes"));
        assert!(!is_upload(&Method::GET, "/v1/suspects"));
        assert!(!is_upload(&Method::POST, "/v1/suspects/ingest"));
        assert!(!is_upload(
            &Method::POST,
            "/v1/works/w000001/episodes/ingest"
        ));
        assert!(!is_upload(&Method::POST, "/v1/works//episodes"));
        assert!(!is_upload(&Method::POST, "/v1/works"));
        assert!(!is_upload(&Method::POST, "/ui/login"));
    }
}
