//! Every way a request fails, mapped to HTTP in one place.
//!
//! The body is always `{"error": {"code": "...", "message": "..."}}`, where `code` is a short
//! stable identifier clients can branch on ([`ErrorBody`], one of [`CODES`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use reelguard_service::AppError;
use serde::Serialize;
use utoipa::ToSchema;

/// Every `code` an error body may carry.
pub const CODES: &[&str] = &[
    "unauthorized",
    "forbidden",
    "not_found",
    "bad_request",
    "conflict",
    "idempotency_key_reused",
    "too_large",
    "queue_full",
    "request_timeout",
    "rate_limited",
    "unavailable",
    "incomplete",
    "internal",
];

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A short stable identifier to branch on.
    #[schema(schema_with = code_schema)]
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// For `incomplete`: every piece the request still lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}

fn code_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(CODES.iter().copied()))
        .description(Some("A short stable identifier to branch on."))
        .build()
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No key, or not a valid one.
    #[error("a valid API key is required (Authorization: Bearer KEY)")]
    Unauthorized,
    /// The key's role may not use this route.
    #[error("this key's role may not do this")]
    Forbidden,
    /// No such thing, or not the caller's to see.
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// An idempotency key reused for a different request.
    #[error("the Idempotency-Key {0:?} was already used for a different request")]
    IdempotencyKeyReused(String),
    /// The body exceeds the upload limit.
    #[error("the body exceeds the limit of {0} bytes")]
    TooLarge(u64),
    /// The job queue is full.
    #[error("the job queue is full; retry in {retry_after} s")]
    QueueFull {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The client took too long to send its request (a stalled body, a slow request).
    #[error("{0}")]
    Timeout(&'static str),
    /// The key made more requests than its rate limit allows.
    #[error("too many requests from this key; retry in {retry_after} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The daemon is not ready, or stopping.
    #[error("{0}")]
    Unavailable(String),
    /// The request is well-formed but cannot be carried out until these are supplied.
    #[error("the notice cannot be sent; missing: {}", .0.join("; "))]
    Incomplete(Vec<String>),
    /// A bug or an environment failure; the details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::IdempotencyKeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Incomplete(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Conflict(_) => "conflict",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::TooLarge(_) => "too_large",
            ApiError::QueueFull { .. } => "queue_full",
            ApiError::Timeout(_) => "request_timeout",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Incomplete(_) => "incomplete",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ApiError {
    /// A buffered body the extractor refused: 413 past `limit` bytes, else 400.
    pub fn body_rejected(limit: usize, status: StatusCode, text: String) -> ApiError {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(limit as u64)
        } else {
            ApiError::BadRequest(text)
        }
    }
}

impl From<AppError> for ApiError {
    /// The one place a domain refusal becomes an HTTP status.
    fn from(error: AppError) -> Self {
        match error {
            AppError::Forbidden => ApiError::Forbidden,
            AppError::NotFound(what) => ApiError::NotFound(what),
            AppError::Invalid(what) => ApiError::BadRequest(what),
            AppError::Conflict(what) => ApiError::Conflict(what),
            AppError::IdempotencyKeyReused(key) => ApiError::IdempotencyKeyReused(key),
            AppError::TooLarge(limit) => ApiError::TooLarge(limit),
            AppError::QueueFull { retry_after } => ApiError::QueueFull { retry_after },
            AppError::Unavailable(what) => ApiError::Unavailable(what),
            AppError::Incomplete(missing) => ApiError::Incomplete(missing),
            AppError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                missing: match &self {
                    ApiError::Incomplete(missing) => Some(missing.clone()),
                    _ => None,
                },
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::QueueFull { retry_after } | ApiError::RateLimited { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            // The rest of a stalled body is not waited for.
            ApiError::Timeout(_) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_one_the_document_lists() {
        let all = [
            ApiError::Unauthorized,
            ApiError::Forbidden,
            ApiError::NotFound(String::new()),
            ApiError::BadRequest(String::new()),
            ApiError::Conflict(String::new()),
            ApiError::IdempotencyKeyReused(String::new()),
            ApiError::TooLarge(1),
            ApiError::QueueFull { retry_after: 1 },
            ApiError::Timeout(""),
            ApiError::RateLimited { retry_after: 1 },
            ApiError::Unavailable(String::new()),
            ApiError::Incomplete(Vec::new()),
            ApiError::Internal(String::new()),
        ];
        let codes: Vec<&str> = all.iter().map(ApiError::code).collect();
        assert_eq!(codes, CODES);
    }
}
