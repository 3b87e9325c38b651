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
use crate::ui::html::{self, csrf_field, t, tf, Frame, Lang};
use crate::ui::i18n::LANG_COOKIE;
use crate::ui::{cookie, set_cookie, CsrfForm, UiError, Viewer, LOGIN_COOKIE, SESSION_COOKIE};
use crate::Shared;

/// The login page; `error` is a catalogue key.
fn login_page(state: &Shared, lang: Lang, error: Option<&str>) -> Result<Response, UiError> {
    let token = reelguard_store::random_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let frame = Frame {
        title: lang.text("login.title"),
        role: None,
        member: None,
        csrf: None,
        lang,
    };
    let mut body = format!("<h1>{}</h1>", t(lang, "login.heading"));
    if let Some(error) = error {
        let _ = write!(body, "<p class=\"error\">{}</p>", t(lang, error));
    }
    let _ = write!(
        body,
        "<form id=\"login\" method=\"post\" action=\"/ui/login\">{}\
         <label>{} <input type=\"password\" name=\"key\" autocomplete=\"off\" required \
         autofocus></label> <button type=\"submit\">{}</button></form>\
         <p class=\"hint\">{}</p>",
        csrf_field(&token),
        t(lang, "login.key"),
        t(lang, "login.submit"),
        tf(
            lang,
            "login.hint",
            &[("hours", state.config.session_hours.to_string().into())]
        )
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
pub async fn login_form(
    State(state): State<Shared>,
    lang: Lang,
    viewer: Result<Viewer, UiError>,
) -> Page {
    if viewer.is_ok() {
        return Ok(see_other("/ui/"));
    }
    login_page(&state, lang, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    key: String,
    csrf: Option<String>,
}

/// `POST /ui/login`: a key in, a session cookie out.
pub async fn login(
    State(state): State<Shared>,
    lang: Lang,
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
        return login_page(&state, lang, Some("login.bad_key"));
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

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    csrf: Option<String>,
}

/// `POST /ui/language`: the language switcher. Logged in, the form must carry the session's
/// CSRF token and the choice is stored on the key (so it follows the user to another
/// browser); before a login there is nothing to protect but a display choice, and the layer
/// has already refused a cross-site post. Either way the browser keeps it in a cookie too, and
/// goes back to the page it came from (its same-origin `Referer`).
pub async fn set_language(
    State(state): State<Shared>,
    headers: HeaderMap,
    viewer: Result<Viewer, UiError>,
    Form(form): Form<LanguageForm>,
) -> Page {
    if let Ok(viewer) = &viewer {
        if !form
            .csrf
            .as_deref()
            .is_some_and(|t| reelguard_store::secrets_equal(t, &viewer.csrf))
        {
            return Err(UiError::Api(ApiError::Forbidden));
        }
    }
    let Some(lang) = Lang::parse(&form.lang) else {
        return Err(UiError::Api(ApiError::BadRequest(format!(
            "unknown language {:?}",
            form.lang
        ))));
    };
    let mut note = None;
    if let Ok(viewer) = &viewer {
        reelguard_service::members::set_language(
            &state,
            &viewer.caller,
            Some(lang.code().to_string()),
        )
        .await?;
        note = Some(AuditNote(format!("language {}", lang.code())));
    }
    let back = referer_path(&headers);
    let to = super::local_next(back, "/ui/".to_string());
    let mut response = see_other(&to);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, LANG_COOKIE, lang.code(), "/ui", LANG_COOKIE_SECS),
    );
    if let Some(note) = note {
        response.extensions_mut().insert(note);
    }
    Ok(response)
}

/// A year: the choice outlives sessions.
const LANG_COOKIE_SECS: i64 = 365 * 86_400;

/// The path of a same-origin `Referer` (the host must be the one addressed).
fn referer_path(headers: &HeaderMap) -> Option<&str> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer.split_once("://")?.1;
    let path = rest.strip_prefix(host)?;
    path.starts_with('/').then_some(path)
}
