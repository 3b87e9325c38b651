//! One takedown notice in the workbench: the notice document itself (the same Chinese or
//! English text a platform reads, from `notice_doc`), what it still lacks to be sent, the
//! state actions its tracking allows (send, acknowledged, removed, counter-noticed...), and its
//! dated history; plus the document alone, for printing, and the state form's handler.
//!
//! The decision that shapes it: the page offers only the moves the service's transition table
//! allows from the current state (`takedown::allowed_from`), and sending is offered but
//! disabled while papers are missing, with each missing piece listed — the service refuses
//! the same things, so the page can never promise what the server will not do.

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use reelguard_service::legal::Gap;
use reelguard_service::takedown;
use reelguard_store::{Notice, NoticeState, Role, Tracking};
use serde::Deserialize;
use serde_json::Value;

use super::{code_text, see_other, Page};
use crate::auth::AuditNote;
use crate::notice_doc;
use crate::present::notice_json;
use crate::ui::html::{self, csrf_field, esc, t, tf, utc, Arg, Lang};
use crate::ui::{html_page, CsrfForm, Viewer};
use crate::wire::requests::DocumentQuery;
use crate::Shared;

/// The document's language: `?lang=` if given, else the viewer's.
fn document_lang(requested: Option<&str>, viewer: Lang) -> notice_doc::Lang {
    match requested {
        Some(tag) => notice_doc::Lang::parse(Some(tag)),
        None if viewer == Lang::En => notice_doc::Lang::En,
        None => notice_doc::Lang::ZhCn,
    }
}

/// What the document shows: a draft previews its papers as they stand today (and what is
/// missing); a sent notice shows exactly what was sent.
async fn shown_body(
    state: &Shared,
    notice: &Notice,
    tracking: &Tracking,
) -> Result<(Value, Vec<Gap>), crate::ui::UiError> {
    if tracking.state == NoticeState::Draft {
        Ok(takedown::final_body(state, notice, None, reelguard_store::now()).await?)
    } else {
        Ok((notice.body.clone(), Vec::new()))
    }
}

/// One missing paper, in the viewer's words (escaped HTML).
fn gap_text(lang: Lang, gap: &Gap) -> String {
    match gap {
        Gap::Holder(field) => tf(
            lang,
            "gap.holder",
            &[("field", code_text(lang, "gap.field", field).into())],
        ),
        Gap::Rights { work_id } => tf(lang, "gap.rights", &[("work", work_id.into())]),
        Gap::Authorisation { agent, work_id } => tf(
            lang,
            "gap.authorisation",
            &[("agent", agent.into()), ("work", work_id.into())],
        ),
        Gap::AuthorisationNotValid {
            agent,
            work_id,
            valid_from,
            valid_until,
        } => tf(
            lang,
            "gap.authorisation_not_valid",
            &[
                ("agent", agent.into()),
                ("work", work_id.into()),
                ("from", reelguard_service::time::cst(*valid_from).into()),
                ("until", reelguard_service::time::cst(*valid_until).into()),
            ],
        ),
    }
}

/// The state actions the current state allows, one small form each.
fn actions(lang: Lang, viewer: &Viewer, id: i64, tracking: &Tracking, missing: &[Gap]) -> String {
    let mut out = String::new();
    for to in NoticeState::ALL {
        if !takedown::allowed_from(*to).contains(&tracking.state) {
            continue;
        }
        let needs_reason = matches!(to, NoticeState::CounterNoticed | NoticeState::Escalated);
        let sending = *to == NoticeState::Sent;
        let blocked = sending && (!missing.is_empty() || viewer.caller.role != Role::Reviewer);
        let reason = if needs_reason {
            format!(
                "<label>{} <input name=\"reason\" maxlength=\"4000\" required></label> ",
                t(lang, "notice.reason")
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<form class=\"notice-action\" method=\"post\" action=\"/ui/notices/{id}/state\">{csrf}\
             {reason}<button type=\"submit\" name=\"state\" value=\"{to}\" id=\"to-{to}\"\
             {class}{disabled}>{label}</button></form>",
            csrf = csrf_field(&viewer.csrf),
            class = if sending { " class=\"confirm\"" } else { "" },
            disabled = if blocked { " disabled" } else { "" },
            label = t(lang, &format!("notice.to.{to}")),
        );
    }
    if out.is_empty() {
        out = format!("<p class=\"hint\">{}</p>", t(lang, "notice.no_actions"));
    }
    out
}

/// The notice's history. A notice written at confirmation has no event for its draft (its
/// creation is the decision), so that first row comes from the notice and its decision.
fn tracking_table(lang: Lang, notice: &Notice, tracking: &Tracking) -> String {
    let mut out = format!(
        "<table id=\"tracking\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(lang, "col.state"),
        t(lang, "col.at"),
        t(lang, "col.actor"),
        t(lang, "col.reason"),
    );
    if tracking.events.first().map(|e| e.state) != Some(NoticeState::Draft) {
        let _ = write!(
            out,
            "<tr data-state=\"draft\"><td>{}</td><td>{}</td><td>{}</td><td>–</td></tr>",
            esc(code_text(lang, "notice_state", "draft")),
            utc(notice.created_at),
            html::esc_or_dash(notice.body["decision"]["reviewer"].as_str()),
        );
    }
    for e in &tracking.events {
        let _ = write!(
            out,
            "<tr data-state=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.state,
            esc(code_text(lang, "notice_state", e.state.as_str())),
            utc(e.at),
            esc(&e.actor),
            html::esc_or_dash(Some(&e.reason)),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// `GET /ui/notices/{id}` (the notice, its actions and tracking) and `/ui/notices/{id}.json`.
pub async fn notice(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DocumentQuery>,
) -> Page {
    if let Some(id) = id.strip_suffix(".json") {
        let notice = reelguard_service::review::notice(&state, &viewer.caller, id).await?;
        return Ok(Json(notice_json(&notice)).into_response());
    }
    let (notice, tracking) = takedown::tracking(&state, &viewer.caller, &id).await?;
    let (body, missing) = shown_body(&state, &notice, &tracking).await?;
    let lang = viewer.lang;
    let doc_lang = document_lang(q.lang.as_deref(), lang);
    let public = notice.body["notice_id"].as_str().unwrap_or("").to_string();
    let sha = notice.body["evidence"]["bundle_sha256"]
        .as_str()
        .unwrap_or("");
    let state_code = tracking.state.as_str();
    let mut page = format!(
        "<h1>{heading}</h1><dl class=\"notice-summary\"><dt>{id_label}</dt>\
         <dd id=\"notice-id\">{public}</dd><dt>{state_label}</dt><dd><span id=\"notice-state\" \
         class=\"notice-state-{state_code}\" data-state=\"{state_code}\">{state_text}</span></dd>\
         <dt>{sha_label}</dt><dd><code id=\"evidence-sha256\">{sha}</code></dd></dl>",
        heading = tf(lang, "notice.heading", &[("id", (&public).into())]),
        id_label = t(lang, "notice.id_label"),
        public = esc(&public),
        state_label = t(lang, "col.state"),
        state_text = esc(code_text(lang, "notice_state", state_code)),
        sha_label = t(lang, "notice.evidence_sha"),
        sha = esc(sha),
    );
    if let Some(first) = notice.body["repost_of"]["notice"].as_i64() {
        let first_public = notice.body["repost_of"]["notice_id"].as_str().unwrap_or("");
        let link = format!(
            "<a id=\"repost-of\" href=\"/ui/notices/{first}\">{}</a>",
            esc(first_public)
        );
        let _ = write!(
            page,
            "<p class=\"hint\">{}</p>",
            tf(lang, "notice.repost_of", &[("link", Arg::Html(&link))])
        );
    }
    let other = match doc_lang {
        notice_doc::Lang::ZhCn => ("en", "notice.in_english"),
        notice_doc::Lang::En => ("zh-CN", "notice.in_chinese"),
    };
    let _ = write!(
        page,
        "<p class=\"print-hide\"><a id=\"notice-json\" href=\"/ui/notices/{n}.json\">{json}</a> · \
         <a id=\"notice-print\" href=\"/ui/notices/{n}/document?lang={tag}\">{print}</a> · \
         <a id=\"notice-other-language\" href=\"/ui/notices/{n}?lang={other}\">{other_text}</a></p>",
        n = notice.id,
        json = t(lang, "notice.json"),
        tag = doc_lang.tag(),
        print = t(lang, "notice.print"),
        other = other.0,
        other_text = t(lang, other.1),
    );
    let _ = write!(
        page,
        "<section id=\"notice-actions\" class=\"print-hide\"><h2>{}</h2>",
        t(lang, "notice.actions")
    );
    if !missing.is_empty() {
        let _ = write!(
            page,
            "<div id=\"missing\"><p>{}</p><ul>",
            t(lang, "notice.cannot_send")
        );
        for gap in &missing {
            let _ = write!(page, "<li>{}</li>", gap_text(lang, gap));
        }
        page.push_str("</ul></div>");
    }
    page.push_str(&actions(lang, &viewer, notice.id, &tracking, &missing));
    let _ = write!(
        page,
        "<h2>{}</h2>{}</section><h2 class=\"print-hide\">{}</h2>",
        t(lang, "notice.tracking"),
        tracking_table(lang, &notice, &tracking),
        t(lang, "notice.document"),
    );
    let files = format!("/ui/notices/{}/evidence/", notice.id);
    page.push_str(&notice_doc::render_fragment(
        &body, state_code, doc_lang, &files,
    ));
    let title = tf(lang, "notice.heading", &[("id", (&public).into())]);
    Ok(html_page(html::page(&viewer.frame(&title), &page)))
}

/// `GET /ui/notices/{id}/document`: the notice document alone (its own print stylesheet).
pub async fn notice_document(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DocumentQuery>,
) -> Page {
    let (notice, tracking) = takedown::tracking(&state, &viewer.caller, &id).await?;
    let (body, _) = shown_body(&state, &notice, &tracking).await?;
    let files = format!("/ui/notices/{}/evidence/", notice.id);
    let html = notice_doc::render(
        &body,
        tracking.state.as_str(),
        document_lang(q.lang.as_deref(), viewer.lang),
        &files,
    );
    Ok(notice_doc::response(html))
}

#[derive(Deserialize)]
pub struct StateForm {
    state: NoticeState,
    #[serde(default)]
    reason: String,
}

/// `POST /ui/notices/{id}/state`: one move of the notice, by the service's rules.
pub async fn notice_state(
    State(state): State<Shared>,
    Path(id): Path<String>,
    CsrfForm(viewer, form): CsrfForm<StateForm>,
) -> Page {
    let tracking =
        takedown::transition(&state, &viewer.caller, &id, form.state, &form.reason).await?;
    Ok((
        Extension(AuditNote(format!("notice {id} {}", tracking.state))),
        see_other(&format!("/ui/notices/{id}")),
    )
        .into_response())
}
