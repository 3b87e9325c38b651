//! The guard every routed request passes: authentication (`Authorization: Bearer KEY`), the
//! role check from [`crate::routes::ROUTES`], crawler keys' rate limit (429 with
//! `Retry-After`), the refusal of query parameters the route does not take, request metrics, and the audit log entry for every state-changing request
//! (refused ones included).
//!
//! Keys never reach a log: the key is read from its header and handed to the store, which
//! compares its hash in constant time; log lines and audit entries name the member and role.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use reelguard_store::{AuditEntry, Caller, Role};

use crate::error::ApiError;
use crate::routes::{self, Access};
use crate::Shared;

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
        .map_err(|e| (ApiError::from(e), None))?
        .ok_or((ApiError::Unauthorized, None))?;
    match access {
        Access::Roles(roles) if !roles.contains(&caller.role) => {
            Err((ApiError::Forbidden, Some(caller)))
        }
        _ => {
            if caller.role == Role::Crawler {
                if let Err(retry_after) = state.crawler_rates.take(caller.key_id, Instant::now()) {
                    return Err((ApiError::RateLimited { retry_after }, Some(caller)));
                }
            }
            Ok(Some(caller))
        }
    }
}

/// The 400 for query parameters the route does not document (a misspelt filter such as
/// `?platfrom=` would otherwise be ignored and widen the answer), naming them; `None` when
/// every parameter is known. Checked here, once for every API route and (from the workbench's
/// layer) every page, against the route table.
pub fn unknown_query_parameters(
    route: &'static routes::RouteSpec,
    query: Option<&str>,
) -> Option<ApiError> {
    let query = query.filter(|q| !q.is_empty())?;
    let known = routes::query_names(route);
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(query) {
        Ok(pairs) => pairs,
        Err(e) => return Some(ApiError::BadRequest(format!("malformed query string: {e}"))),
    };
    // Each unknown name once, in the order first given (a repeat need not be adjacent).
    let mut unknown: Vec<String> = Vec::new();
    for (name, _) in pairs {
        if !known.contains(&name) && !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    if unknown.is_empty() {
        return None;
    }
    let takes = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    Some(ApiError::BadRequest(format!(
        "unknown query parameter{} {}; this route takes: {takes}",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", ")
    )))
}

/// A request refused before its handler ran. A known caller's body is drained (bounded)
/// first, since a keep-alive client still sending it would otherwise see its connection reset
/// — on this request or, pooled, on its next one. A caller without a valid key is answered
/// at once: reading up to [`crate::upload::DRAIN_LIMIT`] for anyone would let an anonymous
/// client make the daemon read 64 MiB and hold a connection for 30 s per request.
async fn refuse(error: ApiError, request: Request, known: bool) -> Response {
    if known {
        crate::upload::drain(request.into_body()).await;
    }
    error.into_response()
}

/// The middleware (a `route_layer`, so the matched route is known).
pub async fn guard(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let exchange = Exchange::begin(&request);
    let route = routes::find(exchange.method.as_str(), &exchange.route);
    // A route missing from the table is a bug; it is closed to everyone but keys of no role.
    let access = route.map_or(Access::Roles(&[]), |r| r.access);
    let (response, caller) = match authorize(&state, access, request.headers()).await {
        Ok(caller) => {
            match route.and_then(|r| unknown_query_parameters(r, request.uri().query())) {
                Some(error) => (refuse(error, request, caller.is_some()).await, caller),
                None => {
                    if let Some(c) = &caller {
                        request.extensions_mut().insert(c.clone());
                    }
                    (next.run(request).await, caller)
                }
            }
        }
        Err((error, caller)) => (refuse(error, request, caller.is_some()).await, caller),
    };
    exchange
        .finish(&state, caller.as_ref(), Answered::of(&response))
        .await;
    response
}

/// What the bookkeeping needs of a response.
pub(crate) struct Answered {
    status: u16,
    note: Option<String>,
}

impl Answered {
    /// The status and the handler's audit note.
    pub fn of(response: &Response) -> Answered {
        Answered {
            status: response.status().as_u16(),
            note: response
                .extensions()
                .get::<AuditNote>()
                .map(|n| n.0.clone()),
        }
    }
}

/// One request, as the bookkeeping sees it.
pub(crate) struct Exchange {
    pub method: Method,
    pub route: String,
    path: String,
    remote: Option<String>,
    started: Instant,
}

impl Exchange {
    /// Notes what the request is, before it is handled.
    pub fn begin(request: &Request) -> Exchange {
        Exchange {
            method: request.method().clone(),
            route: request
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            path: request.uri().path().to_string(),
            remote: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.to_string()),
            started: Instant::now(),
        }
    }

    /// Request metrics, and the audit entry for every state-changing request (refused ones
    /// included): shared by the API's guard and the workbench's layer.
    ///
    /// Takes the status and audit note rather than the response: a response body is not
    /// `Sync`, so holding a reference to it across an await would make the future not `Send`.
    pub async fn finish(self, state: &Shared, caller: Option<&Caller>, answered: Answered) {
        let Answered { status, note } = answered;
        state.metrics.http_request(
            self.method.as_str(),
            &self.route,
            status,
            self.started.elapsed().as_secs_f64(),
        );
        if matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return;
        }
        let entry = AuditEntry {
            member_id: caller.map(|c| c.member_id),
            key_id: caller.map(|c| c.key_id),
            actor: caller.map_or_else(
                || "anonymous".to_string(),
                |c| format!("{}/{}", c.member, c.role),
            ),
            action: format!("{} {}", self.method, self.route),
            target: match note {
                Some(note) => format!("{} {note}", self.path),
                None => self.path,
            },
            status,
            remote_addr: self.remote,
        };
        if let Err(error) = state.db(move |s| s.audit(&entry)).await {
            // The action already happened; failing the response now would mislead the client.
            tracing::error!(%error, "writing the audit log failed");
        }
    }
}
