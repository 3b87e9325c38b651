//! The workbench's pages and form handlers. Each reads what it shows through the same store
//! calls and tenancy checks as the API, then writes HTML with [`super::html`].

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use reelguard_store::webhooks::{Delivery, Webhook};
use reelguard_store::{
    Decision, InfringementDay, MatchFilter, MatchOrder, MatchRow, MatchState, Notice, Role, Source,
    Verdict,
};
use serde::Deserialize;
use serde_json::Value;

use super::html::{self, clock, csrf_field, esc, esc_or_dash, link, utc, utc_date, Frame};
use super::{
    cookie, html_page, same_secret, set_cookie, CsrfForm, UiError, Viewer, LOGIN_COOKIE,
    SESSION_COOKIE,
};
use crate::api::{can_read, decide_match, notice_json, readable_match, readable_owners};
use crate::auth::AuditNote;
use crate::error::ApiError;
use crate::evidence::{self, segments, Side};
use crate::state::Shared;

const QUEUE_LIMIT: u32 = 200;
const CHART_DAYS: i64 = 30;
const DAY: i64 = 86_400;
/// What the `c` shortcut and the queue's quick confirm record as the reason.
const QUICK_REASON: &str = "Confirmed from the review queue: matched segments and stills.";

type Page = Result<Response, UiError>;

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `/ui/`: where each role starts.
pub async fn home(viewer: Viewer) -> Page {
    Ok(match viewer.caller.role {
        Role::Reviewer => see_other("/ui/queue"),
        Role::Member => see_other("/ui/member"),
        _ => html_page(html::page(
            &viewer.frame("reelguard"),
            "<h1>Nothing to review here</h1><p>The workbench is for reviewers and members; \
             administrators and crawlers use the API (<code>/v1/openapi.json</code>).</p>",
        )),
    })
}

// ---- login ----------------------------------------------------------------------------------

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
        super::page_headers(),
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
            .is_some_and(|t| same_secret(t, expected))
    {
        return Err(UiError::Api(ApiError::Forbidden));
    }
    let key = form.key.trim().to_string();
    let Some(caller) = state.db(move |s| s.authenticate(&key)).await? else {
        return login_page(&state, Some("That key is not valid."));
    };
    let lifetime = i64::try_from(state.config.session_hours.saturating_mul(3600)).unwrap_or(3600);
    let who = caller.clone();
    let (_, token) = state.db(move |s| s.open_session(&who, lifetime)).await?;
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
        let token = token.to_string();
        state.db(move |s| s.close_session(&token)).await?;
    }
    let mut response = see_other("/ui/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", "/ui", 0),
    );
    Ok(response)
}

// ---- the queue ------------------------------------------------------------------------------

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

fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * DAY => format!("{} h", s / 3600),
        s => format!("{} d", s / DAY),
    }
}

/// `GET /ui/queue`: pending matches, newest release and highest score first.
pub async fn queue(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(q): Query<QueueQuery>,
) -> Page {
    viewer.require(&[Role::Reviewer])?;
    let mut owners = readable_owners(&state, &viewer.caller).await?;
    if let Some(name) = non_empty(&q.member) {
        let member = state.db(move |s| s.member_by_name(&name)).await?;
        let wanted = member.map_or(-1, |m| m.id);
        owners = Some(if can_read(&owners, wanted) {
            vec![wanted]
        } else {
            Vec::new()
        });
    }
    let max_age_days: Option<i64> = number(&q.max_age_days, "max_age_days")?;
    let state_filter = match non_empty(&q.state).as_deref() {
        None => Some(MatchState::PendingReview),
        Some("all") => None,
        Some(other) => Some(
            other
                .parse::<MatchState>()
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ),
    };
    let filter = MatchFilter {
        state: state_filter,
        owners: owners.clone(),
        platform: non_empty(&q.platform),
        // Saturating: a huge max_age_days means "any age", not an overflow.
        since: max_age_days
            .map(|d| reelguard_store::now().saturating_sub(d.max(0).saturating_mul(DAY))),
        work_id: non_empty(&q.work),
        min_score: number(&q.min_score, "min_score")?,
        order: MatchOrder::Triage,
        limit: QUEUE_LIMIT,
        ..MatchFilter::default()
    };
    let (rows, counts) = state
        .db(move |s| {
            let rows = s.matches(&filter)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.suspect_id).collect();
            // One query for every row's sources (a compilation's rows share theirs).
            let sources = s.sources_of(&ids)?;
            let listed: Vec<(MatchRow, Vec<Source>)> = rows
                .into_iter()
                .map(|row| {
                    let of_row = sources.get(&row.suspect_id).cloned().unwrap_or_default();
                    (row, of_row)
                })
                .collect();
            Ok((listed, s.pending_per_work(owners.as_deref())?))
        })
        .await?;
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

// ---- the evidence of a match ----------------------------------------------------------------

struct MatchView {
    row: MatchRow,
    sources: Vec<Source>,
    decisions: Vec<Decision>,
    notice: Option<Notice>,
    siblings: Vec<MatchRow>,
    duration_s: f64,
}

async fn load_match(state: &Shared, viewer: &Viewer, id: &str) -> Result<MatchView, UiError> {
    viewer.require(&[Role::Reviewer, Role::Member])?;
    let row = readable_match(state, &viewer.caller, id).await?;
    let owners = readable_owners(state, &viewer.caller).await?;
    let suspect = row.suspect_id;
    let (match_id, job_id) = (row.id, row.job_id);
    let (sources, decisions, notice, siblings, job) = state
        .db(move |s| {
            let siblings = s.matches(&MatchFilter {
                suspect_id: Some(suspect),
                owners,
                limit: 500,
                ..MatchFilter::default()
            })?;
            Ok((
                s.sources(suspect)?,
                s.decisions(match_id)?,
                s.notice_for_match(match_id)?,
                siblings,
                s.job(job_id)?,
            ))
        })
        .await?;
    let latest_end = siblings
        .iter()
        .flat_map(|m| segments(&m.segments))
        .map(|s| s.suspect_end_s)
        .fold(0.0, f64::max);
    let duration_s = job
        .and_then(|j| j.result)
        .and_then(|r| r["duration_s"].as_f64())
        .unwrap_or(latest_end)
        .max(latest_end)
        .max(1.0);
    Ok(MatchView {
        row,
        sources,
        decisions,
        notice,
        siblings,
        duration_s,
    })
}

/// The suspect as a time line, one lane per matched episode; this match's lane is marked.
fn timeline(view: &MatchView) -> String {
    const WIDTH: f64 = 900.0;
    const LEFT: f64 = 110.0;
    const LANE: f64 = 26.0;
    let span = WIDTH - LEFT - 10.0;
    let x = |t: f64| LEFT + span * (t / view.duration_s).clamp(0.0, 1.0);
    let mut lanes: Vec<&MatchRow> = view.siblings.iter().collect();
    if !lanes.iter().any(|m| m.id == view.row.id) {
        lanes.push(&view.row);
    }
    lanes.sort_by_key(|m| (m.work_id.clone(), m.episode));
    let height = 30.0 + LANE * lanes.len() as f64;
    let mut svg = format!(
        "<svg id=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" role=\"img\" aria-label=\"Matched segments on the suspect's time line\">"
    );
    // Ticks at a round step that gives about ten of them.
    let step = [5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0]
        .into_iter()
        .find(|s| view.duration_s / s <= 12.0)
        .unwrap_or(1800.0);
    let mut t = 0.0;
    while t <= view.duration_s + 1e-9 {
        let _ = write!(
            svg,
            "<line class=\"tick\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"14\" y2=\"{1:.1}\"/>\
             <text class=\"tick-label\" x=\"{0:.1}\" y=\"11\">{2}</text>",
            x(t),
            height,
            clock(t).trim_end_matches(".0")
        );
        t += step;
    }
    for (lane, m) in lanes.iter().enumerate() {
        let y = 20.0 + LANE * lane as f64;
        let current = m.id == view.row.id;
        let _ = write!(
            svg,
            "<text class=\"lane-label{}\" x=\"4\" y=\"{:.1}\">{} ep. {}</text>\
             <rect class=\"lane\" x=\"{LEFT}\" y=\"{y:.1}\" width=\"{span:.1}\" height=\"{:.1}\"/>",
            if current { " current" } else { "" },
            y + LANE * 0.6,
            esc(&truncate(&m.title, 10)),
            m.episode,
            LANE - 6.0
        );
        for s in segments(&m.segments) {
            let _ = write!(
                svg,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\">\
                 <title>suspect {}–{} = episode {}–{} at {:.2}x{}</title></rect>",
                if current { "segment" } else { "other-segment" },
                x(s.suspect_start_s),
                y + 2.0,
                (x(s.suspect_end_s) - x(s.suspect_start_s)).max(2.0),
                LANE - 10.0,
                clock(s.suspect_start_s),
                clock(s.suspect_end_s),
                clock(s.ref_start_s),
                clock(s.ref_end_s),
                s.speed,
                if s.mirrored { ", mirrored" } else { "" },
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        text.chars().take(chars - 1).chain(['…']).collect()
    }
}

/// Where the picture sat in the suspect's frame, drawn to scale.
fn content_box_svg(content: &Value) -> Option<String> {
    let f = |k: &str| content[k].as_f64();
    let (x, y, w, h) = (f("x")?, f("y")?, f("width")?, f("height")?);
    let (fw, fh) = (
        f("frame_width").unwrap_or(16.0),
        f("frame_height").unwrap_or(9.0),
    );
    let scale = 120.0 / fw.max(fh).max(1.0);
    let (sw, sh) = (fw * scale, fh * scale);
    Some(format!(
        "<svg class=\"content-box\" viewBox=\"0 0 {sw:.0} {sh:.0}\" width=\"{sw:.0}\" \
         height=\"{sh:.0}\"><rect class=\"frame\" x=\"0\" y=\"0\" width=\"{sw:.0}\" \
         height=\"{sh:.0}\"/><rect class=\"picture\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" \
         height=\"{:.1}\"/></svg>",
        x * sw,
        y * sh,
        w * sw,
        h * sh
    ))
}

fn transformation_html(row: &MatchRow) -> String {
    let segs = segments(&row.segments);
    let mut items = Vec::new();
    if segs.iter().any(|s| s.mirrored) {
        items.push("<li><strong>Mirrored</strong> left–right</li>".to_string());
    }
    let speeds: Vec<String> = segs.iter().map(|s| format!("{:.2}x", s.speed)).collect();
    items.push(format!(
        "<li>Speed {}</li>",
        esc(&if speeds.is_empty() {
            "–".to_string()
        } else {
            speeds.join(", ")
        })
    ));
    if let Some(content) = row
        .content_box
        .as_ref()
        .filter(|c| c["kind"].as_str() != Some("full"))
    {
        let pct = |k: &str| content[k].as_f64().unwrap_or(0.0) * 100.0;
        let kind = content["kind"].as_str().unwrap_or("region");
        items.push(format!(
            "<li>Picture at {:.0}%, {:.0}% of the frame, {:.0}% × {:.0}% ({}) {}</li>",
            pct("x"),
            pct("y"),
            pct("width"),
            pct("height"),
            esc(kind),
            content_box_svg(content).unwrap_or_default()
        ));
    }
    if !row.transformation.is_empty() {
        items.push(format!(
            "<li>Edits: {}</li>",
            esc(&row.transformation.join(", "))
        ));
    }
    format!("<ul id=\"transformation\">{}</ul>", items.concat())
}

fn sources_table(sources: &[Source]) -> String {
    let mut out = String::from(
        "<table id=\"sources\"><thead><tr><th>Platform</th><th>URL</th><th>Uploader</th>\
         <th>Title seen</th><th>Found</th><th>Submitted</th></tr></thead><tbody>",
    );
    for s in sources {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"url\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc_or_dash(s.meta.platform.as_deref()),
            link(s.meta.url.as_deref()),
            esc_or_dash(s.meta.uploader.as_deref()),
            esc_or_dash(s.meta.title_seen.as_deref()),
            s.meta.found_at.map_or_else(|| "–".to_string(), utc),
            utc(s.submitted_at),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn stills_html(row: &MatchRow) -> String {
    let segs = segments(&row.segments);
    let mut out = String::from("<div class=\"stills\">");
    for p in evidence::still_points(&row.segments) {
        let mirrored = segs.get(p.segment).is_some_and(|s| s.mirrored);
        let _ = write!(
            out,
            "<figure class=\"thumb-pair\" data-segment=\"{seg}\">\
             <div><img class=\"thumb-suspect\" src=\"/ui/matches/{id}/stills/{k}-suspect.jpg\" \
             alt=\"suspect at {st}\"><figcaption>Suspect {st}</figcaption></div>\
             <div><img class=\"thumb-registered\" src=\"/ui/matches/{id}/stills/{k}-registered.jpg\" \
             alt=\"registered at {rt}\"><figcaption>Episode {ep} at {rt}{m}</figcaption></div>\
             </figure>",
            seg = p.segment,
            id = row.id,
            k = p.index,
            st = clock(p.suspect_t),
            rt = clock(p.ref_t),
            ep = row.episode,
            m = if mirrored { " (shown unmirrored)" } else { "" },
        );
    }
    out.push_str("</div>");
    out
}

/// `GET /ui/matches/{id}`: everything a reviewer decides on.
pub async fn match_page(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    let view = load_match(&state, &viewer, &id).await?;
    let row = &view.row;
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{} — episode {}</h1><p class=\"summary\">Rights holder <strong>{}</strong> · \
         score <span id=\"score\">{:.3}</span> · state <span id=\"state\" class=\"state-{}\">{}</span> \
         · found {} · suspect <code>{}</code></p>",
        esc(&row.title),
        row.episode,
        esc(&row.member),
        row.score,
        row.state,
        row.state,
        utc(row.created_at),
        esc(&row.suspect_sha256.chars().take(16).collect::<String>()),
    );
    if let Some(notice) = &view.notice {
        let public = notice.body["notice_id"].as_str().unwrap_or("");
        let _ = write!(
            body,
            "<p class=\"notice\">Notice issued: <a class=\"notice-link\" href=\"/ui/notices/{}\">{}</a></p>",
            notice.id,
            esc(public)
        );
    }
    body.push_str("<h2>Where it was found</h2>");
    body.push_str(&sources_table(&view.sources));
    let _ = write!(
        body,
        "<h2>Time line</h2><p class=\"hint\">The suspect, {} long; each lane is a registered \
         episode found in it.</p>{}",
        clock(view.duration_s),
        timeline(&view)
    );
    body.push_str("<h2>What was done to it</h2>");
    body.push_str(&transformation_html(row));
    body.push_str("<table class=\"segments\"><thead><tr><th>Suspect</th><th>Episode</th><th>Speed</th><th>Mirrored</th></tr></thead><tbody>");
    for s in segments(&row.segments) {
        let _ = write!(
            body,
            "<tr><td>{}–{}</td><td>{}–{}</td><td>{:.2}x</td><td>{}</td></tr>",
            clock(s.suspect_start_s),
            clock(s.suspect_end_s),
            clock(s.ref_start_s),
            clock(s.ref_end_s),
            s.speed,
            if s.mirrored { "yes" } else { "no" }
        );
    }
    body.push_str("</tbody></table><h2>Side by side</h2>");
    body.push_str(&stills_html(row));
    if viewer.caller.role == Role::Reviewer && row.state == MatchState::PendingReview {
        let _ = write!(
            body,
            "<h2>Decision</h2><form id=\"decision\" method=\"post\" action=\"/ui/matches/{}/decision\">{}\
             <label>Reason <textarea name=\"reason\" rows=\"2\" maxlength=\"4000\" required \
             placeholder=\"What you saw (recorded in the notice)\"></textarea></label>\
             <button type=\"submit\" name=\"decision\" value=\"confirm\" class=\"confirm\">Confirm \
             infringement (c)</button> <button type=\"submit\" name=\"decision\" value=\"reject\" \
             class=\"reject\">Reject (x)</button></form>",
            row.id,
            csrf_field(&viewer.csrf)
        );
        let pending: Vec<&MatchRow> = view
            .siblings
            .iter()
            .filter(|m| m.state == MatchState::PendingReview)
            .collect();
        if pending.len() > 1 {
            let _ = write!(
                body,
                "<form id=\"confirm-all\" method=\"post\" action=\"/ui/suspects/{}/confirm-all\">{}\
                 <input type=\"hidden\" name=\"back\" value=\"{}\">\
                 <label>Reason <input name=\"reason\" maxlength=\"4000\" required \
                 value=\"Compilation of registered episodes: every matched episode confirmed.\"></label> \
                 <button type=\"submit\">Confirm all {} pending episodes of this upload</button></form>",
                row.suspect_id,
                csrf_field(&viewer.csrf),
                row.id,
                pending.len()
            );
        }
    }
    if !view.decisions.is_empty() {
        body.push_str("<h2>Decisions</h2><ul class=\"decisions\">");
        for d in &view.decisions {
            let _ = write!(
                body,
                "<li>{} by {} at {}: {}</li>",
                d.decision,
                esc(&d.reviewer),
                utc(d.decided_at),
                esc(&d.reason)
            );
        }
        body.push_str("</ul>");
    }
    let title = format!("{} ep. {}", row.title, row.episode);
    Ok(html_page(html::page(&viewer.frame(&title), &body)))
}

/// `GET /ui/matches/{id}/stills/{k}-{side}.jpg`: a still, extracted with FFmpeg on first view.
pub async fn still(
    State(state): State<Shared>,
    viewer: Viewer,
    Path((id, file)): Path<(String, String)>,
) -> Page {
    viewer.require(&[Role::Reviewer, Role::Member])?;
    let row = readable_match(&state, &viewer.caller, &id).await?;
    let not_found = || UiError::Api(ApiError::NotFound(format!("still {file}")));
    let (index, side) = file
        .strip_suffix(".jpg")
        .and_then(|name| name.split_once('-'))
        .and_then(|(k, side)| Some((k.parse::<usize>().ok()?, Side::parse(side)?)))
        .ok_or_else(not_found)?;
    // A page asks for all its stills at once; decoding more of them at a time than there are
    // cores only makes each one slower (and would starve the job workers).
    let _permit = still_permits()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("still permits: {e}")))?;
    let dirs = state.evidence.clone();
    let started = std::time::Instant::now();
    let made = tokio::task::spawn_blocking(move || {
        let path = evidence::still(&dirs, &row, index, side)?;
        std::fs::read(&path).map_err(|source| evidence::EvidenceError::Io {
            what: format!("reading {}", path.display()),
            source,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("still task: {e}")))?;
    state
        .metrics
        .still_latency
        .observe(started.elapsed().as_secs_f64());
    match made {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=86400, immutable"),
                ),
            ],
            bytes,
        )
            .into_response()),
        Err(evidence::EvidenceError::NoSuchStill(_)) => Err(not_found()),
        Err(evidence::EvidenceError::SourceGone(what)) => Ok(placeholder(what)),
        Err(other) => {
            tracing::warn!(error = %other, "still extraction failed");
            Ok(placeholder("unreadable"))
        }
    }
}

fn still_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// An image saying why there is no still (the page's layout stays whole).
fn placeholder(why: &str) -> Response {
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"202\" height=\"360\" viewBox=\"0 0 202 360\">\
         <rect width=\"202\" height=\"360\" fill=\"#ddd\"/><text x=\"101\" y=\"180\" \
         text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"13\">{} file not kept</text></svg>",
        esc(why)
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        )],
        svg,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
    reason: String,
    next: Option<String>,
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

/// `POST /ui/matches/{id}/decision`.
pub async fn decide(
    State(state): State<Shared>,
    Path(id): Path<String>,
    CsrfForm(viewer, form): CsrfForm<DecisionForm>,
) -> Page {
    viewer.require(&[Role::Reviewer])?;
    let verdict = match form.decision.as_str() {
        "confirm" => Verdict::Confirm,
        "reject" => Verdict::Reject,
        other => {
            return Err(UiError::Api(ApiError::BadRequest(format!(
                "decision must be confirm or reject, not {other:?}"
            ))))
        }
    };
    let row = readable_match(&state, &viewer.caller, &id).await?;
    let (_, notice) = decide_match(&state, &viewer.caller, &row, verdict, &form.reason).await?;
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
    viewer.require(&[Role::Reviewer])?;
    let suspect: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("suspect {id}")))?;
    let owners = readable_owners(&state, &viewer.caller).await?;
    let pending = state
        .db(move |s| {
            s.matches(&MatchFilter {
                state: Some(MatchState::PendingReview),
                suspect_id: Some(suspect),
                owners,
                limit: 500,
                ..MatchFilter::default()
            })
        })
        .await?;
    if pending.is_empty() {
        return Err(ApiError::NotFound(format!("pending matches of suspect {id}")).into());
    }
    let mut notices = Vec::new();
    for row in &pending {
        match decide_match(&state, &viewer.caller, row, Verdict::Confirm, &form.reason).await {
            Ok((_, Some(n))) => notices.push(n.id.to_string()),
            Ok((_, None)) => {}
            // Decided meanwhile by someone else: the rest still go ahead.
            Err(ApiError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let back = form.back.unwrap_or(pending[0].id);
    let note = format!("suspect {suspect} notices {}", notices.join(","));
    Ok((
        Extension(AuditNote(note)),
        see_other(&format!("/ui/matches/{back}")),
    )
        .into_response())
}

// ---- notices --------------------------------------------------------------------------------

/// `GET /ui/notices`.
pub async fn notices(State(state): State<Shared>, viewer: Viewer) -> Page {
    viewer.require(&[Role::Reviewer, Role::Member])?;
    let owners = readable_owners(&state, &viewer.caller).await?;
    let list = state.db(move |s| s.notices(owners.as_deref(), 200)).await?;
    let mut body = String::from("<h1>Takedown notices</h1>");
    body.push_str(&notices_table(&list));
    Ok(html_page(html::page(&viewer.frame("Notices"), &body)))
}

fn notices_table(list: &[Notice]) -> String {
    let mut out = String::from(
        "<table id=\"notices\"><thead><tr><th>Notice</th><th>Drama</th><th>Ep.</th>\
         <th>Platform</th><th>Infringing URL</th><th>Issued</th></tr></thead><tbody>",
    );
    for n in list {
        let b = &n.body;
        let first = &b["infringing_copies"][0];
        let _ = write!(
            out,
            "<tr><td><a href=\"/ui/notices/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"url\">{}</td><td>{}</td></tr>",
            n.id,
            esc(b["notice_id"].as_str().unwrap_or("(unnamed)")),
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

async fn readable_notice(state: &Shared, viewer: &Viewer, id: &str) -> Result<Notice, UiError> {
    viewer.require(&[Role::Reviewer, Role::Member])?;
    let notice_id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("notice {id}")))?;
    let owners = readable_owners(state, &viewer.caller).await?;
    match state.db(move |s| s.notice(notice_id)).await? {
        Some(n) if can_read(&owners, n.member_id) => Ok(n),
        _ => Err(ApiError::NotFound(format!("notice {id}")).into()),
    }
}

/// `GET /ui/notices/{id}` (printable HTML) and `/ui/notices/{id}.json`.
pub async fn notice(State(state): State<Shared>, viewer: Viewer, Path(id): Path<String>) -> Page {
    if let Some(id) = id.strip_suffix(".json") {
        let notice = readable_notice(&state, &viewer, id).await?;
        return Ok(Json(notice_json(&notice)).into_response());
    }
    let notice = readable_notice(&state, &viewer, &id).await?;
    let b = &notice.body;
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let public = s(&b["notice_id"]);
    let mut body = String::new();
    let _ = write!(
        body,
        "<article class=\"notice-doc\"><h1>Notice of copyright infringement</h1>\
         <p class=\"print-hide\"><a id=\"notice-json\" href=\"/ui/notices/{id}.json\">JSON</a> · \
         print this page for a paper copy</p>\
         <dl><dt>Notice id</dt><dd id=\"notice-id\">{public}</dd>\
         <dt>Date</dt><dd>{date}</dd><dt>Rights holder</dt><dd>{holder}</dd>\
         <dt>Work</dt><dd>{title} (catalogue id {work_id}), episode {ep}</dd>\
         <dt>Evidence bundle SHA-256</dt><dd><code id=\"evidence-sha256\">{sha}</code></dd></dl>",
        id = notice.id,
        public = esc(&public),
        date = utc(notice.created_at),
        holder = esc(&s(&b["rights_holder"])),
        title = esc(&s(&b["work"]["title"])),
        work_id = esc(&s(&b["work"]["work_id"])),
        ep = b["episode"].as_u64().unwrap_or(0),
        sha = esc(&s(&b["evidence"]["bundle_sha256"])),
    );
    body.push_str("<h2>Infringing copies</h2><table class=\"copies\"><thead><tr><th>Platform</th><th>URL</th><th>Uploader</th><th>Title shown</th></tr></thead><tbody>");
    for c in b["infringing_copies"].as_array().into_iter().flatten() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"url\">{}</td><td>{}</td><td>{}</td></tr>",
            esc_or_dash(c["platform"].as_str()),
            link(c["url"].as_str()),
            esc_or_dash(c["uploader"].as_str()),
            esc_or_dash(c["title_seen"].as_str()),
        );
    }
    let _ = write!(
        body,
        "</tbody></table><p>Identical file: SHA-256 <code>{}</code></p>\
         <h2>Matched time ranges</h2><table class=\"segments\"><thead><tr><th>In the upload</th>\
         <th>In the registered episode</th><th>Speed</th><th>Mirrored</th></tr></thead><tbody>",
        esc(&s(&b["content_sha256"]))
    );
    for seg in segments(&b["matched_time_ranges"]) {
        let _ = write!(
            body,
            "<tr><td>{}–{}</td><td>{}–{}</td><td>{:.2}x</td><td>{}</td></tr>",
            clock(seg.suspect_start_s),
            clock(seg.suspect_end_s),
            clock(seg.ref_start_s),
            clock(seg.ref_end_s),
            seg.speed,
            if seg.mirrored { "yes" } else { "no" }
        );
    }
    body.push_str("</tbody></table><h2>Evidence</h2><div class=\"stills\">");
    for still in b["evidence"]["stills"].as_array().into_iter().flatten() {
        body.push_str("<figure class=\"thumb-pair\">");
        for side in ["suspect", "registered"] {
            if let Some(file) = still[side]["file"].as_str() {
                let _ = write!(
                    body,
                    "<div><img class=\"evidence-thumb\" src=\"/ui/notices/{}/evidence/{}\" alt=\"{} still\">\
                     <figcaption>{} at {} · sha256 {}…</figcaption></div>",
                    notice.id,
                    esc(file),
                    side,
                    if side == "suspect" { "Upload" } else { "Registered" },
                    clock(still[if side == "suspect" { "suspect_t" } else { "ref_t" }].as_f64().unwrap_or(0.0)),
                    esc(&s(&still[side]["sha256"]).chars().take(12).collect::<String>()),
                );
            }
        }
        body.push_str("</figure>");
    }
    let _ = write!(
        body,
        "</div><p class=\"hint\">To verify: the SHA-256 of <a href=\"/ui/notices/{id}/evidence/{file}\">the \
         evidence bundle</a> must equal the hash above, and each still's SHA-256 the one the \
         bundle lists.</p><h2>Statements</h2><p>{gf}</p><p>{acc}</p>\
         <p>Reviewed by {reviewer} on {decided}: {reason}</p></article>",
        id = notice.id,
        file = esc(&s(&b["evidence"]["bundle_file"])),
        gf = esc(&s(&b["statements"]["good_faith"])),
        acc = esc(&s(&b["statements"]["accuracy"])),
        reviewer = esc(&s(&b["decision"]["reviewer"])),
        decided = utc(b["decision"]["decided_at"].as_i64().unwrap_or(0)),
        reason = esc(&s(&b["decision"]["reason"])),
    );
    let title = format!("Notice {public}");
    Ok(html_page(html::page(&viewer.frame(&title), &body)))
}

/// `GET /ui/notices/{id}/evidence/{file}`: a still or the bundle a notice cites.
pub async fn notice_file(
    State(state): State<Shared>,
    viewer: Viewer,
    Path((id, file)): Path<(String, String)>,
) -> Page {
    let notice = readable_notice(&state, &viewer, &id).await?;
    let path = evidence::evidence_file(&state.evidence, notice.match_id, &file)
        .ok_or_else(|| ApiError::NotFound(format!("evidence file {file}")))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::NotFound(format!("evidence file {file}")))?;
    let kind = if file.ends_with(".json") {
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

// ---- the member's view ----------------------------------------------------------------------

/// Confirmed and pending counts per day over the last [`CHART_DAYS`] days.
struct Series {
    label: String,
    confirmed: Vec<u64>,
    pending: Vec<u64>,
}

impl Series {
    fn new(label: String) -> Series {
        Series {
            label,
            confirmed: vec![0; CHART_DAYS as usize],
            pending: vec![0; CHART_DAYS as usize],
        }
    }

    fn add(&mut self, day: &InfringementDay, first: i64) {
        if let Ok(i) = usize::try_from((day.day - first) / DAY) {
            if i < self.confirmed.len() {
                self.confirmed[i] += day.confirmed;
                self.pending[i] += day.pending;
            }
        }
    }

    fn peak(&self) -> u64 {
        self.confirmed
            .iter()
            .zip(&self.pending)
            .map(|(c, p)| c + p)
            .max()
            .unwrap_or(0)
    }
}

/// Infringements found per day over the last [`CHART_DAYS`] days, confirmed and pending stacked:
/// all dramas together, then one row per drama (each row scaled to its own peak, which it
/// shows, so a drama pirated a little is still visible beside one pirated a lot).
fn infringement_chart(days: &[InfringementDay], works: &[(String, String)], today: i64) -> String {
    const LABEL: f64 = 150.0;
    const W: f64 = 600.0;
    const TOTAL_H: f64 = 100.0;
    const ROW_H: f64 = 34.0;
    let first = today - (CHART_DAYS - 1) * DAY;
    let mut total = Series::new("All dramas".to_string());
    let mut rows: Vec<Series> = works
        .iter()
        .map(|(_, title)| Series::new(title.clone()))
        .collect();
    for d in days {
        total.add(d, first);
        if let Some(i) = works.iter().position(|(id, _)| *id == d.work_id) {
            rows[i].add(d, first);
        }
    }
    let height = 14.0 + TOTAL_H + 8.0 + rows.len() as f64 * (ROW_H + 6.0) + 16.0;
    let mut svg = format!(
        "<svg id=\"infringement-chart\" viewBox=\"0 0 {0} {height}\" width=\"{0}\" \
         height=\"{height}\" role=\"img\" aria-label=\"Infringements found per day and drama, \
         last {CHART_DAYS} days\">",
        LABEL + W
    );
    let bar = W / CHART_DAYS as f64;
    let mut y = 14.0;
    for (series, h) in std::iter::once((&total, TOTAL_H)).chain(rows.iter().map(|r| (r, ROW_H))) {
        let peak = series.peak();
        let scale = h / peak.max(1) as f64;
        let _ = write!(
            svg,
            "<g class=\"drama\"><text class=\"axis\" x=\"0\" y=\"{:.1}\">{}</text>\
             <text class=\"axis\" x=\"0\" y=\"{:.1}\">peak {peak}/day</text>",
            y + h / 2.0,
            esc(&truncate(&series.label, 22)),
            y + h / 2.0 + 12.0,
        );
        for i in 0..CHART_DAYS as usize {
            let x = LABEL + i as f64 * bar + 1.0;
            let hc = scale * series.confirmed[i] as f64;
            let hp = scale * series.pending[i] as f64;
            let day = utc_date(first + i as i64 * DAY);
            let _ = write!(
                svg,
                "<rect class=\"confirmed\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hc:.1}\">\
                 <title>{day}: {} confirmed</title></rect>\
                 <rect class=\"pending\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hp:.1}\">\
                 <title>{day}: {} pending</title></rect>",
                y + h - hc,
                bar - 2.0,
                series.confirmed[i],
                y + h - hc - hp,
                bar - 2.0,
                series.pending[i]
            );
        }
        let _ = write!(
            svg,
            "<line class=\"baseline\" x1=\"{LABEL}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\"/></g>",
            LABEL + W,
            y + h
        );
        y += h + if std::ptr::eq(series, &total) {
            8.0
        } else {
            6.0
        };
    }
    let _ = write!(
        svg,
        "<text class=\"axis\" x=\"{LABEL}\" y=\"{0:.1}\">{1}</text><text class=\"axis end\" \
         x=\"{2}\" y=\"{0:.1}\">{3}</text></svg>",
        y + 10.0,
        utc_date(first),
        LABEL + W,
        utc_date(today),
    );
    svg
}

/// `GET /ui/member`: a member's works, infringements over time, and notices.
pub async fn member(State(state): State<Shared>, viewer: Viewer) -> Page {
    viewer.require(&[Role::Member])?;
    let me = viewer.caller.member_id;
    let today = reelguard_store::now().div_euclid(DAY) * DAY;
    let since = today - (CHART_DAYS - 1) * DAY;
    let (works, days, notices, hook, deliveries) = state
        .db(move |s| {
            Ok((
                s.works_of(me)?,
                s.infringements_per_day(Some(&[me]), since)?,
                s.notices(Some(&[me]), 100)?,
                s.webhook(me)?,
                s.webhook_deliveries(me, 20)?,
            ))
        })
        .await?;
    let ids: Vec<String> = works.iter().map(|w| w.work_id.clone()).collect();
    let episodes = state
        .read_catalogue(move |c| {
            Ok(ids
                .iter()
                .map(|id| {
                    c.manifest()
                        .work(id)
                        .map_or(0, |w| w.episodes.iter().filter(|e| !e.withdrawn).count())
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let mut body = format!(
        "<h1>{}: works and infringements</h1><h2>Works</h2><table id=\"works\"><thead><tr>\
         <th>Drama</th><th>Your id</th><th>Episodes registered</th><th>Released</th>\
         <th>Found (30 days)</th><th>Confirmed (30 days)</th><th>State</th></tr></thead><tbody>",
        esc(&viewer.caller.member)
    );
    for (w, count) in works.iter().zip(&episodes) {
        let found: u64 = days
            .iter()
            .filter(|d| d.work_id == w.work_id)
            .map(|d| d.confirmed + d.pending)
            .sum();
        let confirmed: u64 = days
            .iter()
            .filter(|d| d.work_id == w.work_id)
            .map(|d| d.confirmed)
            .sum();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{count}</td><td>{}</td><td>{found}</td>\
             <td>{confirmed}</td><td>{}</td></tr>",
            esc(&w.title),
            esc_or_dash(w.external_id.as_deref()),
            w.released_at.map_or_else(|| "–".to_string(), utc_date),
            if w.withdrawn_at.is_some() {
                "withdrawn"
            } else {
                "active"
            }
        );
    }
    let charted: Vec<(String, String)> = works
        .iter()
        .map(|w| (w.work_id.clone(), w.title.clone()))
        .collect();
    let _ = write!(
        body,
        "</tbody></table><h2>Infringements found per day, by drama</h2><p class=\"legend\">\
         <span class=\"key confirmed\"></span> confirmed <span class=\"key pending\"></span> \
         awaiting review</p>{}<h2>Notices sent</h2>{}",
        infringement_chart(&days, &charted, today),
        notices_table(&notices)
    );
    body.push_str(&webhook_section(&viewer, hook.as_ref(), &deliveries, None));
    Ok(html_page(html::page(&viewer.frame("My works"), &body)))
}

/// The member's webhook: where confirmed infringements are sent, and the delivery log.
fn webhook_section(
    viewer: &Viewer,
    hook: Option<&Webhook>,
    deliveries: &[Delivery],
    new_secret: Option<&str>,
) -> String {
    let mut out = String::from("<h2>Notifications</h2>");
    match hook {
        Some(h) => {
            let _ = write!(
                out,
                "<p>Confirmed infringements are sent, signed (HMAC-SHA256, header \
                 <code>X-Reelguard-Signature</code>), to <code id=\"webhook-url\">{}</code>.</p>",
                esc(&h.url)
            );
        }
        None => out.push_str("<p>No webhook set: notices are only listed here.</p>"),
    }
    if let Some(secret) = new_secret {
        let _ = write!(
            out,
            "<p class=\"secret\">Signing secret (shown once; store it now): \
             <code id=\"webhook-secret\">{}</code></p>",
            esc(secret)
        );
    }
    let _ = write!(
        out,
        "<form id=\"webhook\" method=\"post\" action=\"/ui/member/webhook\">{}\
         <label>Webhook URL <input name=\"url\" type=\"url\" maxlength=\"2000\" required \
         placeholder=\"https://\"></label> <button type=\"submit\">{}</button></form>",
        csrf_field(&viewer.csrf),
        if hook.is_some() {
            "Replace (new secret)"
        } else {
            "Set"
        }
    );
    out.push_str(
        "<table id=\"deliveries\"><thead><tr><th>Delivery</th><th>Notice</th><th>State</th>\
         <th>Attempts</th><th>Last answer</th><th>Queued</th></tr></thead><tbody>",
    );
    for d in deliveries {
        let last = match (d.last_status, d.last_error.as_deref()) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => esc(error).to_string(),
            (None, None) => "–".to_string(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td><a href=\"/ui/notices/{}\">{}</a></td><td>{}</td><td>{}/{}</td>\
             <td>{}</td><td>{}</td></tr>",
            d.id,
            d.notice_id,
            d.notice_id,
            d.state.as_str(),
            d.attempts,
            d.max_attempts,
            last,
            utc(d.created_at)
        );
    }
    out.push_str("</tbody></table>");
    out
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
}

/// `POST /ui/member/webhook`: sets the member's webhook and shows its new secret once.
pub async fn set_webhook(
    State(state): State<Shared>,
    CsrfForm(viewer, form): CsrfForm<WebhookForm>,
) -> Page {
    viewer.require(&[Role::Member])?;
    let url = form.url.trim().to_string();
    crate::webhook_api::check_target(&url, state.config.webhook_allow_private_targets)?;
    let me = viewer.caller.member_id;
    let (hook, secret, deliveries) = state
        .db(move |s| {
            let (hook, secret) = s.put_webhook(me, &url)?;
            Ok((hook, secret, s.webhook_deliveries(me, 20)?))
        })
        .await?;
    let body = format!(
        "<h1>Webhook set</h1>{}<p><a href=\"/ui/member\">Back to my works</a></p>",
        webhook_section(&viewer, Some(&hook), &deliveries, Some(&secret))
    );
    Ok((
        Extension(AuditNote("webhook set".into())),
        html_page(html::page(&viewer.frame("Webhook"), &body)),
    )
        .into_response())
}

// ---- assets ---------------------------------------------------------------------------------

const APP_CSS: &str = include_str!("static/app.css");
const APP_JS: &str = include_str!("static/app.js");

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
