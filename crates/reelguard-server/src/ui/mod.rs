//! The review workbench: server-rendered pages under `/ui/` for reviewers (the queue, the
//! evidence of a match, confirm/reject, notices) and members (their works, infringements over
//! time, notices, webhook deliveries).
//!
//! Security model, in the order a request meets it:
//! - **Who:** a browser logs in with an API key and gets a session cookie (`HttpOnly`,
//!   `SameSite=Strict`, path `/ui`) that stands for that key: same member, same role, same
//!   tenancy as the API, and revoking the key ends the session ([`reelguard_store::Session`]).
//!   The API itself never accepts the cookie, so the cookie cannot be used against `/v1`.
//! - **May they:** the page's role comes from the route table
//!   ([`crate::routes::UI_ROUTES`]), checked by the layer before any handler runs; a match or
//!   notice outside the caller's tenancy is a 404, exactly as in the API (the service's
//!   tenancy rule decides both).
//! - **Forged requests:** every state-changing form carries the session's CSRF token and is
//!   refused (403) without it; the login form uses a double-submit cookie, since there is no
//!   session yet. A cross-site `Origin` is refused too.
//! - **Injected content:** every user-supplied string reaches a page through
//!   [`html::esc`]; pages are served with a Content-Security-Policy that allows scripts,
//!   styles and images from this origin only, so even a missed escape could not run script.
//!
//! Every state-changing request is written to the audit log, as for the API.
//!
//! Language: every page is rendered in the viewer's language ([`i18n`]), resolved once per
//! request by the layer (stored preference, then the `rg_lang` cookie, then zh-CN) and handed
//! to pages as [`Viewer::lang`] or the [`Lang`] extractor.

pub mod html;
pub mod i18n;
mod pages;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use reelguard_service::sessions;
use reelguard_store::{Caller, Session};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::ApiError;
use crate::routes::{self, Access};
use crate::Shared;
use html::{esc, t, Frame, Lang};

/// The session cookie.
const SESSION_COOKIE: &str = "rg_session";
/// The login form's double-submit cookie.
const LOGIN_COOKIE: &str = "rg_login";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The workbench's routes (merged beside the API's; the API's bearer guard does not apply).
pub fn router(state: Shared) -> Router<Shared> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::home))
        .route("/ui/login", get(pages::login_form).post(pages::login))
        .route("/ui/logout", post(pages::logout))
        .route("/ui/language", post(pages::set_language))
        .route("/ui/queue", get(pages::queue))
        .route("/ui/matches/{id}", get(pages::match_page))
        .route("/ui/matches/{id}/decision", post(pages::decide))
        .route("/ui/matches/{id}/stills/{file}", get(pages::still))
        .route("/ui/suspects/{id}/confirm-all", post(pages::confirm_all))
        .route("/ui/notices", get(pages::notices))
        .route("/ui/notices/{id}", get(pages::notice))
        .route("/ui/notices/{id}/evidence/{file}", get(pages::notice_file))
        .route("/ui/notices/{id}/state", post(pages::notice_state))
        .route("/ui/notices/{id}/document", get(pages::notice_document))
        .route("/ui/sightings/{id}/notice", post(pages::notice_sighting))
        .route("/ui/member", get(pages::member))
        .route("/ui/member/webhook", post(pages::set_webhook))
        .route("/ui/static/{file}", get(pages::static_file))
        .route_layer(middleware::from_fn_with_state(state, layer))
}

/// The logged-in caller of a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who.
    pub caller: Caller,
    /// The session's CSRF token.
    pub csrf: String,
    /// The language the viewer reads.
    pub lang: Lang,
}

impl Viewer {
    /// The page frame for this viewer.
    pub fn frame<'a>(&'a self, title: &'a str) -> Frame<'a> {
        Frame {
            title,
            role: Some(self.caller.role.as_str()),
            member: Some(&self.caller.member),
            csrf: Some(&self.csrf),
            lang: self.lang,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, UiError> {
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or_default();
        match parts.extensions.get::<Session>() {
            Some(session) => Ok(Viewer {
                caller: session.caller.clone(),
                csrf: session.csrf.clone(),
                lang,
            }),
            None => Err(UiError::LoginRequired),
        }
    }
}

/// The request's language, as the layer resolved it (for pages shown before a login).
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Lang>().copied().unwrap_or_default())
    }
}

/// A failed page request, rendered as an HTML page.
#[derive(Debug)]
pub enum UiError {
    /// Not logged in: go to the login page.
    LoginRequired,
    /// Anything the API would refuse, for the same reason and with the same status.
    Api(ApiError),
}

impl From<reelguard_service::AppError> for UiError {
    fn from(error: reelguard_service::AppError) -> Self {
        UiError::Api(ApiError::from(error))
    }
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        UiError::Api(error)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let error = match self {
            UiError::LoginRequired => return Redirect::to("/ui/login").into_response(),
            UiError::Api(error) => error,
        };
        let status = error.status();
        let heading = match status {
            StatusCode::NOT_FOUND => "error.not_found",
            StatusCode::FORBIDDEN => "error.forbidden",
            StatusCode::BAD_REQUEST => "error.bad_request",
            StatusCode::CONFLICT => "error.conflict",
            StatusCode::UNAUTHORIZED => "error.unauthorized",
            _ => "error.other",
        };
        if let ApiError::Internal(detail) = &error {
            tracing::error!(%detail, "workbench page failed");
        }
        let page = ErrorPage {
            heading,
            message: error.to_string(),
        };
        let body = page.render(None, Lang::default());
        let mut response = (status, page_headers(), body).into_response();
        // The layer re-renders it in the viewer's language and, when logged in, inside the
        // logged-in frame (navigation, logout), which an extractor's rejection cannot see.
        response.extensions_mut().insert(page);
        response
    }
}

/// An error page's content, kept on the response so the layer can frame it for the viewer.
#[derive(Debug, Clone)]
struct ErrorPage {
    /// The heading's catalogue key.
    heading: &'static str,
    /// The service's own words for the refusal (English, for support; marked `lang="en"`).
    message: String,
}

impl ErrorPage {
    fn render(&self, session: Option<&Session>, lang: Lang) -> String {
        let heading = lang.text(self.heading);
        let frame = Frame {
            title: heading,
            role: session.map(|s| s.caller.role.as_str()),
            member: session.map(|s| s.caller.member.as_str()),
            csrf: session.map(|s| s.csrf.as_str()),
            lang,
        };
        let detail = if lang == Lang::En {
            String::new()
        } else {
            format!("<p class=\"detail\">{}</p>", t(lang, "error.detail_label"))
        };
        let body = format!(
            "<h1>{}</h1>{detail}<p class=\"error\" lang=\"en\">{}</p><p><a href=\"/ui/\">{}</a></p>",
            esc(heading),
            esc(&self.message),
            t(lang, "error.back")
        );
        html::page(&frame, &body)
    }
}

/// The headers every page carries.
pub fn page_headers() -> [(header::HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        // Not `no-referrer`: under it, browsers send `Origin: null` even on this site's own
        // form posts, which the cross-site check has to refuse.
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// A page response.
pub fn html_page(body: String) -> Response {
    (page_headers(), body).into_response()
}

/// A cookie's value from the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the workbench.
fn set_cookie(state: &Shared, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A cross-site request: an `Origin` header naming another host than the one addressed.
fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let refused = origin == "null" || origin_host != host;
    if refused {
        tracing::info!(origin, host, "refused a cross-site form post");
    }
    refused
}

/// The middleware: resolves the session, then records metrics and (for state-changing
/// requests) the audit entry — the same bookkeeping the API's guard does.
async fn layer(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let exchange = crate::auth::Exchange::begin(&request);
    let session = match cookie(request.headers(), SESSION_COOKIE) {
        Some(token) => {
            // A store failure reads as "not logged in" (the page asks for a login) but is
            // logged, so an outage is not mistaken for expired sessions.
            match sessions::lookup(&state, token.to_string()).await {
                Ok(session) => session,
                Err(error) => {
                    tracing::error!(%error, "looking up a workbench session failed");
                    None
                }
            }
        }
        None => None,
    };
    let caller = session.as_ref().map(|s| s.caller.clone());
    // The key's stored choice first, then the browser's cookie, then zh-CN.
    let lang = Lang::resolve(
        caller.as_ref().and_then(|c| c.language.as_deref()),
        cookie(request.headers(), i18n::LANG_COOKIE),
    );
    request.extensions_mut().insert(lang);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| routes::find_ui(exchange.method.as_str(), p.as_str()));
    let access = route.map_or(Access::AnyKey, |r| r.access);
    let refused = match (access, &caller) {
        (Access::Public, _) => None,
        (_, None) => Some(UiError::LoginRequired),
        (Access::Roles(roles), Some(c)) if !roles.contains(&c.role) => {
            Some(UiError::Api(ApiError::Forbidden))
        }
        // Only a viewer allowed to see the page learns which parameters it takes.
        _ => route
            .and_then(|r| crate::auth::unknown_query_parameters(r, request.uri().query()))
            .map(UiError::Api),
    };
    let response = if exchange.method == Method::POST && cross_site(request.headers()) {
        UiError::Api(ApiError::Forbidden).into_response()
    } else if let Some(refused) = refused {
        refused.into_response()
    } else {
        if let Some(session) = &session {
            request.extensions_mut().insert(session.clone());
        }
        next.run(request).await
    };
    let response = reframe_error(response, session.as_ref(), lang);
    exchange
        .finish(
            &state,
            caller.as_ref(),
            crate::auth::Answered::of(&response),
        )
        .await;
    response
}

/// Renders an error page again in the viewer's language and frame.
fn reframe_error(response: Response, session: Option<&Session>, lang: Lang) -> Response {
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let body = page.render(session, lang);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// A form posted by a logged-in viewer, with its CSRF token checked.
pub struct CsrfForm<T>(pub Viewer, pub T);

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, UiError> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                ApiError::body_rejected(crate::limits::BODY_LIMIT, e.status(), e.body_text())
            })?;
        let token: CsrfOnly = parse_form(&bytes)?;
        if !token
            .csrf
            .as_deref()
            .is_some_and(|t| reelguard_store::secrets_equal(t, &viewer.csrf))
        {
            return Err(UiError::Api(ApiError::Forbidden));
        }
        let form: T = parse_form(&bytes)?;
        Ok(CsrfForm(viewer, form))
    }
}

/// Parses a urlencoded form body; a malformed one is a 400.
fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, UiError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| UiError::Api(ApiError::BadRequest(format!("malformed form: {e}"))))
}
