//! The workbench's pages and form handlers, one module per page family. Each reads what it
//! shows through the service (`reelguard_service`), with the same tenancy and filters as the
//! API, then writes HTML with [`super::html`]. Who may open a page is decided before the
//! handler runs, from the route table (`crate::routes::UI_ROUTES`); no handler checks a role.

mod decision;
mod login;
mod matches;
mod member;
mod notice;
mod notices;
mod queue;

pub use decision::{confirm_all, decide};
pub use login::{login, login_form, logout, set_language};
pub use matches::{match_page, still};
pub use member::{member, set_webhook};
pub use notice::{notice, notice_document, notice_state};
pub use notices::{notice_file, notice_sighting, notices};
pub use queue::queue;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use reelguard_store::{Role, Source};

use super::html;
use super::{html_page, UiError, Viewer};
use crate::error::ApiError;

/// Seconds in a day.
const DAY: i64 = 86_400;

type Page = Result<Response, UiError>;

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `/ui/`: where each role starts.
pub async fn home(viewer: Viewer) -> Page {
    Ok(match viewer.caller.role {
        Role::Reviewer => see_other("/ui/queue"),
        Role::Member => see_other("/ui/member"),
        _ => {
            let lang = viewer.lang;
            let body = format!(
                "<h1>{}</h1><p>{}</p>",
                html::t(lang, "home.nothing"),
                html::tf(
                    lang,
                    "home.api_only",
                    &[("doc", html::Arg::Html("<code>/v1/openapi.json</code>"))]
                )
            );
            html_page(html::page(&viewer.frame("reelguard"), &body))
        }
    })
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn number<T: std::str::FromStr>(value: &Option<String>, what: &str) -> Result<Option<T>, UiError> {
    non_empty(value)
        .map(|v| {
            v.parse()
                .map_err(|_| UiError::Api(ApiError::BadRequest(format!("{what}: not a number"))))
        })
        .transpose()
}

fn platforms(sources: &[Source]) -> String {
    let mut names: Vec<&str> = sources
        .iter()
        .filter_map(|s| s.meta.platform.as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

fn age(lang: html::Lang, seconds: i64) -> String {
    let (key, n) = match seconds.max(0) {
        s if s < 3600 => ("age.minutes", s / 60),
        s if s < 2 * DAY => ("age.hours", s / 3600),
        s => ("age.days", s / DAY),
    };
    html::tf_plain(lang, key, &[("n", &n.to_string())])
}

/// A code (a state, an edit tag, a delivery state) in the viewer's words: the catalogue's
/// `{prefix}.{code}`, or the code itself for one the catalogue does not know yet.
fn code_text<'a>(lang: html::Lang, prefix: &str, code: &'a str) -> &'a str {
    lang.get(&format!("{prefix}.{code}")).unwrap_or(code)
}

/// A match's edit tags (`mirror`, `speed`, ...) in the viewer's words, joined.
fn edit_tags(lang: html::Lang, tags: &[String]) -> String {
    let sep = if lang == html::Lang::ZhCn {
        "、"
    } else {
        ", "
    };
    tags.iter()
        .map(|t| code_text(lang, "edit", t))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Only workbench paths are followed after a form, so a crafted `next` cannot send a reviewer
/// elsewhere.
fn local_next(next: Option<&str>, fallback: String) -> String {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("//") && !n.contains("\\") => {
            n.to_string()
        }
        _ => fallback,
    }
}

// ---- assets ---------------------------------------------------------------------------------

const APP_CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");

/// `GET /ui/static/{file}`: the stylesheet and the script, compiled into the binary.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (kind, text) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        text,
    )
        .into_response()
}
