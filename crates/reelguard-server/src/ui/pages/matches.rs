//! The evidence of one match and the decisions taken on it: the page a reviewer decides on
//! (segments, time line, transformation, side-by-side stills), the stills themselves, and the
//! decision forms.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::Extension;
use reelguard_model::{ContentBox, RegionKind};
use reelguard_service::matches::{self, MatchDetail};
use reelguard_service::stills::{self, Still};
use reelguard_service::{evidence, review};
use reelguard_store::{MatchRow, MatchState, Role, Source, Verdict};
use serde::Deserialize;

use super::{local_next, see_other, Page};
use crate::auth::AuditNote;
use crate::error::ApiError;
use crate::ui::html::{self, clock, csrf_field, esc, esc_or_dash, link, utc};
use crate::ui::{html_page, CsrfForm, UiError, Viewer};
use crate::Shared;

/// The suspect as a time line, one lane per matched episode; this match's lane is marked.
fn timeline(view: &MatchDetail) -> String {
    const WIDTH: f64 = 900.0;
    const LEFT: f64 = 110.0;
    const LANE: f64 = 26.0;
    let span = WIDTH - LEFT - 10.0;
    let x = |t: f64| LEFT + span * (t / view.duration_s).clamp(0.0, 1.0);
    let this = &view.listed.row;
    let mut lanes: Vec<&MatchRow> = view.siblings.iter().collect();
    if !lanes.iter().any(|m| m.id == this.id) {
        lanes.push(this);
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
        let current = m.id == this.id;
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
        for s in &m.segments {
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

pub(super) fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        text.chars().take(chars - 1).chain(['…']).collect()
    }
}

/// Where the picture sat in the suspect's frame, drawn to scale.
fn content_box_svg(content: &ContentBox) -> String {
    let (fw, fh) = (
        f64::from(content.frame_width),
        f64::from(content.frame_height),
    );
    let (fw, fh) = if fw > 0.0 && fh > 0.0 {
        (fw, fh)
    } else {
        (16.0, 9.0)
    };
    let scale = 120.0 / fw.max(fh);
    let (sw, sh) = (fw * scale, fh * scale);
    format!(
        "<svg class=\"content-box\" viewBox=\"0 0 {sw:.0} {sh:.0}\" width=\"{sw:.0}\" \
         height=\"{sh:.0}\"><rect class=\"frame\" x=\"0\" y=\"0\" width=\"{sw:.0}\" \
         height=\"{sh:.0}\"/><rect class=\"picture\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" \
         height=\"{:.1}\"/></svg>",
        content.x * sw,
        content.y * sh,
        content.width * sw,
        content.height * sh
    )
}

fn transformation_html(row: &MatchRow) -> String {
    let segs = &row.segments;
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
        .filter(|c| c.kind != RegionKind::Full)
    {
        let kind = serde_json::to_value(content.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "region".to_string());
        items.push(format!(
            "<li>Picture at {:.0}%, {:.0}% of the frame, {:.0}% × {:.0}% ({}) {}</li>",
            content.x * 100.0,
            content.y * 100.0,
            content.width * 100.0,
            content.height * 100.0,
            esc(&kind),
            content_box_svg(content)
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
    let segs = &row.segments;
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
    let view = matches::detail(&state, &viewer.caller, &id).await?;
    let row = &view.listed.row;
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
    body.push_str(&sources_table(&view.listed.sources));
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
    for s in &row.segments {
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
    if !view.listed.decisions.is_empty() {
        body.push_str("<h2>Decisions</h2><ul class=\"decisions\">");
        for d in &view.listed.decisions {
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
    match stills::still(&state, &viewer.caller, &id, &file).await? {
        Still::Jpeg(bytes) => Ok((
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
        Still::Missing(what) => Ok(placeholder(what)),
    }
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

/// `POST /ui/matches/{id}/decision`.
pub async fn decide(
    State(state): State<Shared>,
    Path(id): Path<String>,
    CsrfForm(viewer, form): CsrfForm<DecisionForm>,
) -> Page {
    let verdict = match form.decision.as_str() {
        "confirm" => Verdict::Confirm,
        "reject" => Verdict::Reject,
        other => {
            return Err(UiError::Api(ApiError::BadRequest(format!(
                "decision must be confirm or reject, not {other:?}"
            ))))
        }
    };
    let row = matches::get(&state, &viewer.caller, &id).await?;
    let (_, notice) = review::decide(&state, &viewer.caller, &row, verdict, &form.reason).await?;
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
