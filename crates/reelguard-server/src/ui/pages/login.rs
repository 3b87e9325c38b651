//! Logging in and out: a key in, a session cookie out (see [`crate::ui`] for the model).

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use reelguard_service::sessions;
use serde::Deserialize;

use super::{see_other, Page};
use crate::auth::AuditNote;
use crate::error::ApiError;
use crate::ui::html::{self, csrf_field, esc, Frame};
use crate::ui::{cookie, set_cookie, CsrfForm, UiError, Viewer, LOGIN_COOKIE, SESSION_COOKIE};
use crate::Shared;

fn login_page(state: &Shared, error: Option<&str>) -> Result<Response, UiError> {
    let token = reelguard_store::random_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let frame = Frame {
        title: "Log in",
        role: None,
        member: None,
        csrf: None,
    };
    let mut body = String::from("<h1>Log in to the review workbench</h1>");
    if let Some(error) = error {
        let _ = write!(body, "<p class=\"error\">{}</p>", esc(error));
    }
    let _ = write!(
        body,
        "<form id=\"login\" method=\"post\" action=\"/ui/login\">{}\
         <label>API key <input type=\"password\" name=\"key\" autocomplete=\"off\" required \
         autofocus></label> <button type=\"submit\">Log in</button></form>\
         <p class=\"hint\">Use the key your administrator gave you. The session lasts {} hours \
         and ends when the key is revoked.</p>",
        csrf_field(&token),
        state.config.session_hours
    );
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let cookie = set_cookie(state, LOGIN_COOKIE, &token, "/ui/login", 3600);
    Ok((
        status,
        crate::ui::page_headers(),
        [(header::SET_COOKIE, cookie)],
        html::page(&frame, &body),
    )
        .into_response())
}

/// `GET /ui/login`.
pub async fn login_form(State(state): State<Shared>, viewer: Result<Viewer, UiError>) -> Page {
    if viewer.is_ok() {
        return Ok(see_other("/ui/"));
    }
    login_page(&state, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    key: String,
    csrf: Option<String>,
}

/// `POST /ui/login`: a key in, a session cookie out.
pub async fn login(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Page {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty()
        || !form
            .csrf
            .as_deref()
            .is_some_and(|t| reelguard_store::secrets_equal(t, expected))
    {
        return Err(UiError::Api(ApiError::Forbidden));
    }
    let Some((caller, token, lifetime)) = sessions::login(&state, form.key).await? else {
        return login_page(&state, Some("That key is not valid."));
    };
    let session = set_cookie(&state, SESSION_COOKIE, &token, "/ui", lifetime);
    let spent = set_cookie(&state, LOGIN_COOKIE, "", "/ui/login", 0);
    let mut response = see_other("/ui/");
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session);
    headers.append(header::SET_COOKIE, spent);
    response.extensions_mut().insert(AuditNote(format!(
        "login {}/{} key {}",
        caller.member, caller.role, caller.key_id
    )));
    Ok(response)
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /ui/logout`.
pub async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    CsrfForm(_viewer, _): CsrfForm<Empty>,
) -> Page {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        sessions::logout(&state, token.to_string()).await?;
    }
    let mut response = see_other("/ui/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", "/ui", 0),
    );
    Ok(response)
}
