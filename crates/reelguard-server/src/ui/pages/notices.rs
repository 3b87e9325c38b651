//! Takedown notices: the list, the re-posts of confirmed content waiting for a notice (each
//! noticed in one step), and the evidence files a notice cites. One notice's page is
//! [`super::notice`].

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::Extension;
use reelguard_service::{review, sightings, stills};
use reelguard_store::{Notice, Role, Sighting};
use serde::Deserialize;

use super::{local_next, see_other, Page};
use crate::auth::AuditNote;
use crate::ui::html::{self, csrf_field, esc, esc_or_dash, link, t, tf, utc, Lang};
use crate::ui::{html_page, CsrfForm, Viewer};
use crate::Shared;

/// `GET /ui/notices`.
pub async fn notices(State(state): State<Shared>, viewer: Viewer) -> Page {
    let list = review::notices(&state, &viewer.caller, None, Some(200)).await?;
    let waiting = sightings::list(&state, &viewer.caller, Some(200)).await?;
    let lang = viewer.lang;
    let mut body = format!("<h1>{}</h1>", t(lang, "notices.title"));
    let _ = write!(
        body,
        "<h2>{}</h2><p class=\"hint\">{}</p>",
        t(lang, "notices.sightings"),
        t(lang, "notices.sightings_hint")
    );
    body.push_str(&sightings_table(lang, &viewer, &waiting, "/ui/notices"));
    let _ = write!(body, "<h2>{}</h2>", t(lang, "notices.issued"));
    body.push_str(&notices_table(lang, &list));
    Ok(html_page(html::page(
        &viewer.frame(lang.text("notices.title")),
        &body,
    )))
}

pub(super) fn notices_table(lang: Lang, list: &[Notice]) -> String {
    let mut out = String::from("<table id=\"notices\"><thead><tr>");
    for col in [
        "col.notice",
        "col.drama",
        "col.episode",
        "col.platform",
        "col.infringing_url",
        "col.issued",
    ] {
        let _ = write!(out, "<th>{}</th>", t(lang, col));
    }
    out.push_str("</tr></thead><tbody>");
    for n in list {
        let b = &n.body;
        let first = &b["infringing_copies"][0];
        let _ = write!(
            out,
            "<tr><td><a href=\"/ui/notices/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"url\">{}</td><td>{}</td></tr>",
            n.id,
            esc(b["notice_id"]
                .as_str()
                .unwrap_or_else(|| lang.text("notices.unnamed"))),
            esc(b["work"]["title"].as_str().unwrap_or("")),
            b["episode"].as_u64().unwrap_or(0),
            esc_or_dash(first["platform"].as_str()),
            link(first["url"].as_str()),
            utc(n.created_at),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// `GET /ui/notices/{id}/evidence/{file}`: a still or the bundle a notice cites.
pub async fn notice_file(
    State(state): State<Shared>,
    viewer: Viewer,
    Path((id, file)): Path<(String, String)>,
) -> Page {
    let (bytes, json) = stills::notice_file(&state, &viewer.caller, &id, &file).await?;
    let kind = if json {
        "application/json"
    } else {
        "image/jpeg"
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(kind))],
        bytes,
    )
        .into_response())
}

/// The "notify this re-post" button for one sighting (reviewers only), returning to `back`.
pub(super) fn notify_button(lang: Lang, viewer: &Viewer, source_id: i64, back: &str) -> String {
    if viewer.caller.role != Role::Reviewer {
        return format!(
            "<span class=\"hint\">{}</span>",
            t(lang, "sighting.pending")
        );
    }
    format!(
        "<form class=\"notify-repost\" method=\"post\" action=\"/ui/sightings/{source_id}/notice\">\
         {}<input type=\"hidden\" name=\"back\" value=\"{}\">\
         <button type=\"submit\" class=\"confirm\" data-source=\"{source_id}\">{}</button></form>",
        csrf_field(&viewer.csrf),
        esc(back),
        t(lang, "sighting.notify")
    )
}

/// Sightings of confirmed content that no notice names yet, each with its one-step button.
fn sightings_table(lang: Lang, viewer: &Viewer, list: &[Sighting], back: &str) -> String {
    if list.is_empty() {
        return format!(
            "<p id=\"no-sightings\" class=\"hint\">{}</p>",
            t(lang, "notices.no_sightings")
        );
    }
    let mut out = String::from("<table id=\"sightings\"><thead><tr>");
    for col in [
        "col.drama",
        "col.episode",
        "col.platform",
        "col.url",
        "col.uploader",
        "col.found_at",
        "col.original_notice",
        "col.action",
    ] {
        let _ = write!(out, "<th>{}</th>", t(lang, col));
    }
    out.push_str("</tr></thead><tbody>");
    for s in list {
        let m = &s.source.meta;
        let _ = write!(
            out,
            "<tr class=\"sighting\" data-source=\"{}\" data-match=\"{}\"><td class=\"title\">\
             <a href=\"/ui/matches/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"url\">{}</td>\
             <td>{}</td><td>{}</td><td><a href=\"/ui/notices/{}\">{}</a></td><td>{}</td></tr>",
            s.source.id,
            s.match_id,
            s.match_id,
            esc(&s.title),
            s.episode,
            esc_or_dash(m.platform.as_deref()),
            link(m.url.as_deref()),
            esc_or_dash(m.uploader.as_deref()),
            m.found_at.map_or_else(|| "–".to_string(), utc),
            s.notice_id,
            tf(lang, "sighting.notice_number", &[("n", s.notice_id.into())]),
            notify_button(lang, viewer, s.source.id, back),
        );
    }
    out.push_str("</tbody></table>");
    out
}

#[derive(Deserialize)]
pub struct SightingForm {
    back: Option<String>,
}

/// `POST /ui/sightings/{id}/notice`: the re-post noticed in one step; shows the new notice
/// (the first, for a compilation seen again), or goes back where the button was.
pub async fn notice_sighting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    CsrfForm(viewer, form): CsrfForm<SightingForm>,
) -> Page {
    let made = sightings::notice(&state, &viewer.caller, &id).await?;
    let ids: Vec<String> = made.iter().map(|n| n.id.to_string()).collect();
    let to = match made.first() {
        Some(n) => format!("/ui/notices/{}", n.id),
        None => local_next(form.back.as_deref(), "/ui/notices".to_string()),
    };
    Ok((
        Extension(AuditNote(format!(
            "sighting {id} notices {}",
            ids.join(",")
        ))),
        see_other(&to),
    )
        .into_response())
}

/// A link to a notice, by its public id (the match page lists them).
pub(super) fn notice_link(notice: &Notice) -> String {
    let public = notice.body["notice_id"].as_str().unwrap_or("");
    format!(
        "<a class=\"notice-link\" href=\"/ui/notices/{}\">{}</a>",
        notice.id,
        esc(public)
    )
}
