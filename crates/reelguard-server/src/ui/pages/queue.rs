//! The review queue: pending matches, newest release and highest score first, with the same
//! filters as `GET /v1/matches`.

use std::fmt::Write;

use axum::extract::{Query, State};
use reelguard_service::matches::{self, MatchQuery};
use reelguard_store::{MatchOrder, MatchRow, MatchState, Source};

use super::{age, non_empty, number, platforms, Page};
use crate::ui::html::{self, csrf_field, esc, esc_or_dash, t, tf, utc_date, Arg};
use crate::ui::{html_page, Viewer};
use crate::wire::requests::QueueQuery;
use crate::Shared;

const QUEUE_LIMIT: u32 = 200;

/// `GET /ui/queue`: pending matches, newest release and highest score first.
pub async fn queue(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(q): Query<QueueQuery>,
) -> Page {
    // The API's filters, read by the service the way it reads the API's.
    let query = MatchQuery {
        state: matches::state_filter(q.state.as_deref(), Some(MatchState::PendingReview))?,
        member: non_empty(&q.member),
        platform: non_empty(&q.platform),
        since: number(&q.since, "since")?,
        max_age_secs: number(&q.max_age_secs, "max_age_secs")?,
        max_age_days: number(&q.max_age_days, "max_age_days")?,
        suspect_id: number(&q.suspect_id, "suspect_id")?,
        work_id: non_empty(&q.work_id),
        min_score: number(&q.min_score, "min_score")?,
        order: MatchOrder::Triage,
        limit: QUEUE_LIMIT,
        ..MatchQuery::default()
    };
    let (listed, counts) = matches::queue(&state, &viewer.caller, query).await?;
    let rows: Vec<(MatchRow, Vec<Source>)> =
        listed.into_iter().map(|l| (l.row, l.sources)).collect();
    let now = reelguard_store::now();
    let total: u64 = counts.iter().map(|c| c.pending).sum();
    let lang = viewer.lang;
    let mut body = String::new();
    let kbd = |k: &str| format!("<kbd>{k}</kbd>");
    let (j, k, o, c, x) = (kbd("j"), kbd("k"), kbd("o"), kbd("c"), kbd("x"));
    let listed = format!("<span id=\"queue-count\">{}</span>", rows.len());
    let _ = write!(
        body,
        "<h1>{}</h1><p class=\"summary\">{}</p>",
        t(lang, "queue.title"),
        tf(
            lang,
            "queue.summary",
            &[
                ("listed", Arg::Html(&listed)),
                ("total", total.into()),
                ("j", Arg::Html(&j)),
                ("k", Arg::Html(&k)),
                ("o", Arg::Html(&o)),
                ("c", Arg::Html(&c)),
                ("x", Arg::Html(&x)),
            ]
        )
    );
    let _ = write!(
        body,
        "<form id=\"filters\" method=\"get\" action=\"/ui/queue\"><label>{} <select name=\"state\">",
        t(lang, "queue.state")
    );
    let current = non_empty(&q.state).unwrap_or_else(|| "pending_review".to_string());
    // The API's values, from the one list both use (`GET /v1/matches?state=`).
    for value in matches::STATE_FILTERS.iter().copied() {
        let label = match value {
            "pending_review" => "queue.state_pending",
            "confirmed" => "queue.state_confirmed",
            "rejected" => "queue.state_rejected",
            _ => "queue.state_all",
        };
        let selected = if current == value { " selected" } else { "" };
        let _ = write!(
            body,
            "<option value=\"{value}\"{selected}>{}</option>",
            t(lang, label)
        );
    }
    let _ = write!(
        body,
        "</select></label> <label>{} <select name=\"work_id\"><option value=\"\">{}</option>",
        t(lang, "queue.drama"),
        t(lang, "queue.all")
    );
    for c in &counts {
        let selected = if q.work_id.as_deref() == Some(c.work_id.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<option value=\"{}\"{selected}>{}</option>",
            esc(&c.work_id),
            tf(
                lang,
                "queue.drama_option",
                &[
                    ("title", (&c.title).into()),
                    ("pending", c.pending.into()),
                    ("member", (&c.member).into())
                ]
            )
        );
    }
    let field = |v: &Option<String>| esc(v.as_deref().unwrap_or("")).to_string();
    // The filters without a field of their own (links and scripts set them) stay in force when
    // the form is sent again.
    let mut carried = String::new();
    for (name, value) in [
        ("since", &q.since),
        ("max_age_secs", &q.max_age_secs),
        ("suspect_id", &q.suspect_id),
    ] {
        if let Some(value) = non_empty(value) {
            let _ = write!(
                carried,
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                esc(&value)
            );
        }
    }
    let _ = write!(
        body,
        "</select></label> <label>{} <input name=\"member\" value=\"{}\"></label> \
         <label>{} <input name=\"platform\" value=\"{}\"></label> \
         <label>{} <input name=\"min_score\" type=\"number\" step=\"0.05\" min=\"0\" \
         max=\"1\" value=\"{}\"></label> <label>{} <input name=\"max_age_days\" \
         type=\"number\" min=\"0\" value=\"{}\"></label>{carried} <button type=\"submit\">{}</button> \
         <a href=\"/ui/queue\">{}</a></form>",
        t(lang, "queue.member"),
        field(&q.member),
        t(lang, "queue.platform"),
        field(&q.platform),
        t(lang, "queue.min_score"),
        field(&q.min_score),
        t(lang, "queue.max_age"),
        field(&q.max_age_days),
        t(lang, "queue.filter"),
        t(lang, "queue.clear"),
    );
    body.push_str("<table id=\"queue\"><thead><tr>");
    for col in [
        "col.drama",
        "col.episode",
        "col.member",
        "col.released",
        "col.platform",
        "col.uploader",
        "col.score",
        "col.edits",
        "col.found",
    ] {
        let _ = write!(body, "<th>{}</th>", t(lang, col));
    }
    body.push_str("<th></th></tr></thead><tbody>");
    for (row, sources) in &rows {
        let uploader = sources.iter().find_map(|s| s.meta.uploader.as_deref());
        // No one-click confirm here: confirming needs the evidence seen, so it happens on the
        // match page. The row keeps a reject form, which `x` fills with a reason it asks for.
        let action = if row.state == MatchState::PendingReview {
            format!(
                "<form class=\"quick\" method=\"post\" action=\"/ui/matches/{}/decision\">{}\
                 <input type=\"hidden\" name=\"reason\" value=\"\">\
                 <input type=\"hidden\" name=\"next\" value=\"/ui/queue\">\
                 <input type=\"hidden\" name=\"decision\" value=\"reject\"></form>",
                row.id,
                csrf_field(&viewer.csrf),
            )
        } else {
            format!(
                "<span class=\"state-{0}\" data-state=\"{0}\">{1}</span>",
                row.state,
                esc(super::code_text(lang, "state", row.state.as_str()))
            )
        };
        let _ = write!(
            body,
            "<tr class=\"match-row\" data-match-id=\"{id}\"><td class=\"title\">{title}</td>\
             <td>{ep}</td><td>{member}</td><td>{released}</td><td class=\"platform\">{platform}</td>\
             <td>{uploader}</td><td class=\"score\">{score:.2}</td><td>{edits}</td>\
             <td>{found}</td><td><a class=\"open-match\" href=\"/ui/matches/{id}\">{open}</a> \
             {action}</td></tr>",
            id = row.id,
            title = esc(&row.title),
            ep = row.episode,
            member = esc(&row.member),
            released = row.released_at.map_or_else(|| "–".to_string(), utc_date),
            platform = esc_or_dash(Some(&platforms(sources))),
            uploader = esc_or_dash(uploader),
            score = row.score,
            edits = esc(&super::edit_tags(lang, &row.transformation)),
            found = tf(lang, "queue.found_ago", &[("age", age(lang, now - row.created_at).into())]),
            open = t(lang, "queue.open"),
        );
    }
    body.push_str("</tbody></table>");
    if rows.is_empty() {
        let _ = write!(body, "<p class=\"empty\">{}</p>", t(lang, "queue.empty"));
    }
    Ok(html_page(html::page(
        &viewer.frame(lang.text("queue.title")),
        &body,
    )))
}
