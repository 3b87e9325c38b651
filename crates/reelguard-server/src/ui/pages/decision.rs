//! Deciding a match: the decision form (confirm waits for the evidence, asks once, and can be
//! taken without viewing only with a reason; each segment kept or dropped, a dropped one left
//! out of the notice), and its two handlers, one match or every pending match of a compilation.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Extension;
use reelguard_service::{matches, review};
use reelguard_store::{MatchRow, Verdict};
use serde::Deserialize;

use super::{local_next, see_other, Page};
use crate::auth::AuditNote;
use crate::error::ApiError;
use crate::ui::html::{csrf_field, t, tf, tf_plain, Lang};
use crate::ui::{CsrfForm, UiError, Viewer};
use crate::Shared;

/// The decision form: confirm waits until every still pair has been seen (the page script
/// enables it; without script only the explicit "confirm without viewing" path is open), and
/// confirming asks once (`dialog#confirm-dialog`).
pub(super) fn decision_form(lang: Lang, viewer: &Viewer, row: &MatchRow, stills: usize) -> String {
    format!(
        "<h2>{heading}</h2><form id=\"decision\" method=\"post\" action=\"/ui/matches/{id}/decision\" \
         data-stills=\"{stills}\">{csrf}<input type=\"hidden\" name=\"viewed\" value=\"\">\
         <label>{reason} <textarea name=\"reason\" rows=\"2\" maxlength=\"4000\" required \
         placeholder=\"{placeholder}\"></textarea></label>\
         <p class=\"hint\" id=\"evidence-progress\">{view_first}</p>\
         <button type=\"submit\" name=\"decision\" value=\"confirm\" class=\"confirm\" disabled>{confirm}</button> \
         <button type=\"submit\" name=\"decision\" value=\"reject\" class=\"reject\">{reject}</button>\
         <details id=\"without-viewing\"><summary>{without}</summary>\
         <label>{without_reason} <input name=\"unviewed_reason\" maxlength=\"4000\"></label> \
         <button type=\"submit\" name=\"decision\" value=\"confirm_unviewed\" class=\"confirm-unviewed\">{without}</button>\
         </details></form>\
         <dialog id=\"confirm-dialog\"><h3>{ask_title}</h3><p>{ask_body}</p>\
         <button type=\"button\" id=\"confirm-yes\" class=\"confirm\">{ask_yes}</button> \
         <button type=\"button\" id=\"confirm-no\">{ask_no}</button></dialog>",
        heading = t(lang, "match.decision"),
        id = row.id,
        csrf = csrf_field(&viewer.csrf),
        reason = t(lang, "match.reason"),
        placeholder = t(lang, "match.reason_placeholder"),
        view_first = tf(lang, "match.view_first", &[("n", stills.into())]),
        confirm = t(lang, "match.confirm"),
        reject = t(lang, "match.reject"),
        without = t(lang, "match.without_viewing"),
        without_reason = t(lang, "match.without_viewing_reason"),
        ask_title = t(lang, "match.ask_title"),
        ask_body = t(lang, "match.ask_body"),
        ask_yes = t(lang, "match.ask_yes"),
        ask_no = t(lang, "match.ask_no"),
    )
}

/// The decision form, read as pairs: its per-segment fields are named by index
/// (`segment_0=keep`, `segment_1=drop`), which no fixed struct can describe.
#[derive(Debug, Default)]
struct DecisionForm {
    decision: String,
    reason: String,
    unviewed_reason: String,
    next: Option<String>,
    dropped: Vec<usize>,
}

impl DecisionForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<DecisionForm, UiError> {
        let mut form = DecisionForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "decision" => form.decision = value,
                "reason" => form.reason = value,
                "unviewed_reason" => form.unviewed_reason = value,
                "next" => form.next = Some(value),
                _ => {
                    if let Some(index) = name.strip_prefix("segment_") {
                        let index: usize = index.parse().map_err(|_| {
                            ApiError::BadRequest(format!("{name}: not a segment index"))
                        })?;
                        match value.as_str() {
                            "keep" => {}
                            "drop" => form.dropped.push(index),
                            other => {
                                return Err(UiError::Api(ApiError::BadRequest(format!(
                                    "{name} must be keep or drop, not {other:?}"
                                ))))
                            }
                        }
                    }
                }
            }
        }
        Ok(form)
    }
}

/// `POST /ui/matches/{id}/decision`.
///
/// `confirm_unviewed` is a confirm whose reviewer said why they did not view the stills; the
/// reason is recorded with the decision, so it stands in the audit trail and the notice.
pub async fn decide(
    State(state): State<Shared>,
    Path(id): Path<String>,
    CsrfForm(viewer, pairs): CsrfForm<Vec<(String, String)>>,
) -> Page {
    let form = DecisionForm::from_pairs(pairs)?;
    let (verdict, reason) = match form.decision.as_str() {
        "confirm" => (Verdict::Confirm, form.reason.clone()),
        "confirm_unviewed" => {
            let why = form.unviewed_reason.trim();
            if why.is_empty() {
                return Err(UiError::Api(ApiError::BadRequest(
                    "confirming without viewing the stills needs a reason".into(),
                )));
            }
            let marker = tf_plain(viewer.lang, "match.unviewed_marker", &[("why", why)]);
            let reason = form.reason.trim();
            let reason = if reason.is_empty() {
                marker
            } else {
                format!("{reason} {marker}")
            };
            (Verdict::Confirm, reason)
        }
        "reject" => (Verdict::Reject, form.reason.clone()),
        other => {
            return Err(UiError::Api(ApiError::BadRequest(format!(
                "decision must be confirm, confirm_unviewed or reject, not {other:?}"
            ))))
        }
    };
    let row = matches::get(&state, &viewer.caller, &id).await?;
    let (_, notice) = review::decide_with_segments(
        &state,
        &viewer.caller,
        &row,
        verdict,
        &reason,
        &form.dropped,
    )
    .await?;
    let note = match &notice {
        Some(n) => format!("match {} notice {}", row.id, n.id),
        None => format!("match {}", row.id),
    };
    let to = local_next(form.next.as_deref(), format!("/ui/matches/{}", row.id));
    Ok((Extension(AuditNote(note)), see_other(&to)).into_response())
}

#[derive(Deserialize)]
pub struct ConfirmAllForm {
    reason: String,
    back: Option<i64>,
}

/// `POST /ui/suspects/{id}/confirm-all`: a compilation, every pending episode in it at once.
pub async fn confirm_all(
    State(state): State<Shared>,
    Path(id): Path<String>,
    CsrfForm(viewer, form): CsrfForm<ConfirmAllForm>,
) -> Page {
    let (pending, issued) = review::confirm_all(&state, &viewer.caller, &id, &form.reason).await?;
    let suspect = pending[0].suspect_id;
    let notices: Vec<String> = issued.iter().map(|n| n.id.to_string()).collect();
    let back = form.back.unwrap_or(pending[0].id);
    let note = format!("suspect {suspect} notices {}", notices.join(","));
    Ok((
        Extension(AuditNote(note)),
        see_other(&format!("/ui/matches/{back}")),
    )
        .into_response())
}
