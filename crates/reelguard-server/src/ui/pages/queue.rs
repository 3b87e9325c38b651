//! The review queue: pending matches, newest release and highest score first, with the same
//! filters as `GET /v1/matches`.

use std::fmt::Write;

use axum::extract::{Query, State};
use reelguard_service::matches::{self, MatchQuery};
use reelguard_store::{MatchOrder, MatchRow, MatchState, Source};
use serde::Deserialize;

use super::{age, non_empty, number, platforms, Page, DAY};
use crate::ui::html::{self, csrf_field, esc, esc_or_dash, utc_date};
use crate::ui::{html_page, Viewer};
use crate::Shared;

const QUEUE_LIMIT: u32 = 200;
/// What the `c` shortcut and the queue's quick confirm record as the reason.
const QUICK_REASON: &str = "Confirmed from the review queue: matched segments and stills.";

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    /// `pending_review` (the default), `confirmed`, `rejected` or `all`.
    state: Option<String>,
    work: Option<String>,
    member: Option<String>,
    platform: Option<String>,
    min_score: Option<String>,
    max_age_days: Option<String>,
}

/// `GET /ui/queue`: pending matches, newest release and highest score first.
pub async fn queue(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(q): Query<QueueQuery>,
) -> Page {
    let max_age_days: Option<i64> = number(&q.max_age_days, "max_age_days")?;
    let query = MatchQuery {
        state: matches::state_filter(q.state.as_deref(), Some(MatchState::PendingReview))?,
        member: non_empty(&q.member),
        platform: non_empty(&q.platform),
        max_age_secs: max_age_days.map(|d| d.max(0).saturating_mul(DAY)),
        work_id: non_empty(&q.work),
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
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Review queue</h1><p class=\"summary\"><span id=\"queue-count\">{}</span> listed; \
         {total} pending in all. Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>o</kbd> open, \
         <kbd>c</kbd> confirm, <kbd>x</kbd> reject.</p>",
        rows.len()
    );
    body.push_str("<form id=\"filters\" method=\"get\" action=\"/ui/queue\"><label>State <select name=\"state\">");
    let current = non_empty(&q.state).unwrap_or_else(|| "pending_review".to_string());
    for (value, label) in [
        ("pending_review", "pending"),
        ("confirmed", "confirmed"),
        ("rejected", "rejected"),
        ("all", "all"),
    ] {
        let selected = if current == value { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{value}\"{selected}>{label}</option>");
    }
    body.push_str(
        "</select></label> <label>Drama <select name=\"work\"><option value=\"\">all</option>",
    );
    for c in &counts {
        let selected = if q.work.as_deref() == Some(c.work_id.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<option value=\"{}\"{selected}>{} ({}) — {}</option>",
            esc(&c.work_id),
            esc(&c.title),
            c.pending,
            esc(&c.member)
        );
    }
    let field = |v: &Option<String>| esc(v.as_deref().unwrap_or("")).to_string();
    let _ = write!(
        body,
        "</select></label> <label>Member <input name=\"member\" value=\"{}\"></label> \
         <label>Platform <input name=\"platform\" value=\"{}\"></label> \
         <label>Min score <input name=\"min_score\" type=\"number\" step=\"0.05\" min=\"0\" \
         max=\"1\" value=\"{}\"></label> <label>Max age (days) <input name=\"max_age_days\" \
         type=\"number\" min=\"0\" value=\"{}\"></label> <button type=\"submit\">Filter</button> \
         <a href=\"/ui/queue\">Clear</a></form>",
        field(&q.member),
        field(&q.platform),
        field(&q.min_score),
        field(&q.max_age_days)
    );
    body.push_str(
        "<table id=\"queue\"><thead><tr><th>Drama</th><th>Ep.</th><th>Member</th>\
         <th>Released</th><th>Platform</th><th>Uploader</th><th>Score</th><th>Edits</th>\
         <th>Found</th><th></th></tr></thead><tbody>",
    );
    for (row, sources) in &rows {
        let uploader = sources.iter().find_map(|s| s.meta.uploader.as_deref());
        let _ = write!(
            body,
            "<tr class=\"match-row\" data-match-id=\"{id}\"><td class=\"title\">{title}</td>\
             <td>{ep}</td><td>{member}</td><td>{released}</td><td class=\"platform\">{platform}</td>\
             <td>{uploader}</td><td class=\"score\">{score:.2}</td><td>{edits}</td>\
             <td>{found} ago</td><td><a class=\"open-match\" href=\"/ui/matches/{id}\">Open</a> \
             {quick}</td></tr>",
            id = row.id,
            title = esc(&row.title),
            ep = row.episode,
            member = esc(&row.member),
            released = row.released_at.map_or_else(|| "–".to_string(), utc_date),
            platform = esc_or_dash(Some(&platforms(sources))),
            uploader = esc_or_dash(uploader),
            score = row.score,
            edits = esc(&row.transformation.join(", ")),
            found = age(now - row.created_at),
            quick = if row.state == MatchState::PendingReview {
                format!(
                    "<form class=\"quick\" method=\"post\" action=\"/ui/matches/{}/decision\">{}\
                     <input type=\"hidden\" name=\"reason\" value=\"{}\">\
                     <input type=\"hidden\" name=\"next\" value=\"/ui/queue\">\
                     <button class=\"quick-confirm\" name=\"decision\" value=\"confirm\">Confirm</button>\
                     </form>",
                    row.id,
                    csrf_field(&viewer.csrf),
                    esc(QUICK_REASON)
                )
            } else {
                format!("<span class=\"state-{0}\">{0}</span>", row.state)
            },
        );
    }
    body.push_str("</tbody></table>");
    if rows.is_empty() {
        body.push_str("<p class=\"empty\">Nothing waiting. New matches appear here as crawlers submit uploads.</p>");
    }
    Ok(html_page(html::page(&viewer.frame("Review queue"), &body)))
}
