//! The guard every routed request passes: authentication (`Authorization: Bearer KEY`), the
//! role check from [`crate::routes::ROUTES`], request metrics, and the audit log entry for every
//! state-changing request (refused ones included).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use reelguard_store::{AuditEntry, Caller};

use crate::error::ApiError;
use crate::routes::{self, Access};
use crate::state::Shared;

/// What a handler adds to the audit entry's target (e.g. the id it created).
#[derive(Debug, Clone)]
pub struct AuditNote(pub String);

/// The authenticated caller, for handlers of routes that require a key.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Auth)
            .ok_or(ApiError::Unauthorized)
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_string())
}

async fn authorize(
    state: &Shared,
    access: Access,
    headers: &HeaderMap,
) -> Result<Option<Caller>, (ApiError, Option<Caller>)> {
    if access == Access::Public {
        return Ok(None);
    }
    let Some(key) = bearer(headers) else {
        return Err((ApiError::Unauthorized, None));
    };
    let caller = state
        .db(move |s| s.authenticate(&key))
        .await
        .map_err(|e| (e, None))?
        .ok_or((ApiError::Unauthorized, None))?;
    match access {
        Access::Roles(roles) if !roles.contains(&caller.role) => {
            Err((ApiError::Forbidden, Some(caller)))
        }
        _ => Ok(Some(caller)),
    }
}

/// The middleware (a `route_layer`, so the matched route is known).
pub async fn guard(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let path = request.uri().path().to_string();
    // A route missing from the table is a bug; it is closed to everyone but keys of no role.
    let access = routes::find(method.as_str(), &route).map_or(Access::Roles(&[]), |r| r.access);
    let (response, caller) = match authorize(&state, access, request.headers()).await {
        Ok(caller) => {
            if let Some(c) = &caller {
                request.extensions_mut().insert(c.clone());
            }
            (next.run(request).await, caller)
        }
        Err((error, caller)) => (error.into_response(), caller),
    };
    let status = response.status().as_u16();
    state.metrics.http_request(
        method.as_str(),
        &route,
        status,
        started.elapsed().as_secs_f64(),
    );
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let note = response
            .extensions()
            .get::<AuditNote>()
            .map(|n| n.0.clone());
        let entry = AuditEntry {
            member_id: caller.as_ref().map(|c| c.member_id),
            key_id: caller.as_ref().map(|c| c.key_id),
            actor: caller.as_ref().map_or_else(
                || "anonymous".to_string(),
                |c| format!("{}/{}", c.member, c.role),
            ),
            action: format!("{method} {route}"),
            target: match note {
                Some(note) => format!("{path} {note}"),
                None => path,
            },
            status,
            remote_addr: remote,
        };
        if let Err(error) = state.db(move |s| s.audit(&entry)).await {
            // The action already happened; failing the response now would mislead the client.
            tracing::error!(%error, "writing the audit log failed");
        }
    }
    response
}
