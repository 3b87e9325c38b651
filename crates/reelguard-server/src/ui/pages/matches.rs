//! The evidence of one match: the page a reviewer decides on (segments with a keep/drop choice
//! each, time line, transformation, side-by-side stills, the decision form from
//! [`super::decision`]) and the stills themselves.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::response::Response;
use reelguard_model::{ContentBox, RegionKind};
use reelguard_service::evidence;
use reelguard_service::matches::{self, MatchDetail};
use reelguard_service::stills::{self, Still};
use reelguard_store::{MatchRow, MatchState, Role};

use super::decision::decision_form;
use super::notices::{notice_link, notify_button};
use super::{code_text, edit_tags, Page};
use crate::ui::html::{
    self, clock, csrf_field, esc, esc_or_dash, link, t, tf, tf_plain, utc, Arg, Lang,
};
use crate::ui::{html_page, Viewer};
use crate::Shared;

/// The suspect as a time line, one lane per matched episode; this match's lane is marked.
///
/// The lane labels are HTML beside each lane's drawing, not SVG text: a title in Chinese runs
/// to any length, and HTML wraps it where SVG text would be cut or overflow. The drawings share
/// one view box width, so their time scales line up.
fn timeline(lang: Lang, view: &MatchDetail) -> String {
    const WIDTH: f64 = 1000.0;
    const LANE: f64 = 18.0;
    let x = |t: f64| WIDTH * (t / view.duration_s).clamp(0.0, 1.0);
    let this = &view.listed.row;
    let mut lanes: Vec<&MatchRow> = view.siblings.iter().collect();
    if !lanes.iter().any(|m| m.id == this.id) {
        lanes.push(this);
    }
    lanes.sort_by_key(|m| (m.work_id.clone(), m.episode));
    let mut out = format!(
        "<div id=\"timeline\" class=\"timeline\" role=\"img\" aria-label=\"{}\">\
         <div class=\"lane-label axis-label\"></div>\
         <svg class=\"axis\" viewBox=\"0 0 {WIDTH} 14\" preserveAspectRatio=\"xMinYMid meet\">",
        t(lang, "match.timeline_aria")
    );
    // Ticks at a round step that gives about ten of them.
    let step = [5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0]
        .into_iter()
        .find(|s| view.duration_s / s <= 12.0)
        .unwrap_or(1800.0);
    let mut t = 0.0;
    while t <= view.duration_s + 1e-9 {
        let anchor = if x(t) > WIDTH - 40.0 { "end" } else { "start" };
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"10\" y2=\"14\"/>\
             <text class=\"tick-label\" x=\"{0:.1}\" y=\"9\" text-anchor=\"{anchor}\">{1}</text>",
            x(t),
            clock(t).trim_end_matches(".0")
        );
        t += step;
    }
    out.push_str("</svg>");
    for m in lanes {
        let current = m.id == this.id;
        let _ = write!(
            out,
            "<div class=\"lane-label{0}\">{1}</div>\
             <svg class=\"lane{0}\" viewBox=\"0 0 {WIDTH} {LANE}\" preserveAspectRatio=\"xMinYMid meet\">\
             <rect class=\"lane-bg\" x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{LANE}\"/>",
            if current { " current" } else { "" },
            tf(
                lang,
                "match.lane",
                &[("title", (&m.title).into()), ("episode", m.episode.into())]
            ),
        );
        for s in &m.segments {
            let mirrored = if s.mirrored {
                lang.text("match.mirrored_suffix")
            } else {
                ""
            };
            let _ = write!(
                out,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"2\" width=\"{:.1}\" height=\"{:.1}\">\
                 <title>{}</title></rect>",
                if current { "segment" } else { "other-segment" },
                x(s.suspect_start_s),
                (x(s.suspect_end_s) - x(s.suspect_start_s)).max(2.0),
                LANE - 4.0,
                tf(
                    lang,
                    "match.segment_tip",
                    &[
                        ("s0", clock(s.suspect_start_s).into()),
                        ("s1", clock(s.suspect_end_s).into()),
                        ("r0", clock(s.ref_start_s).into()),
                        ("r1", clock(s.ref_end_s).into()),
                        ("speed", format!("{:.2}x", s.speed).into()),
                        ("mirrored", mirrored.into()),
                    ]
                ),
            );
        }
        out.push_str("</svg>");
    }
    out.push_str("</div>");
    out
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

fn transformation_html(lang: Lang, row: &MatchRow) -> String {
    let segs = &row.segments;
    let mut items = Vec::new();
    if segs.iter().any(|s| s.mirrored) {
        items.push(format!(
            "<li><strong>{}</strong></li>",
            t(lang, "tr.mirrored")
        ));
    }
    let speeds: Vec<String> = segs.iter().map(|s| format!("{:.2}x", s.speed)).collect();
    let speeds = if speeds.is_empty() {
        "–".to_string()
    } else {
        speeds.join(", ")
    };
    items.push(format!(
        "<li>{}</li>",
        tf(lang, "tr.speed", &[("speeds", speeds.into())])
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
        let pct = |v: f64| format!("{:.0}", v * 100.0);
        items.push(format!(
            "<li>{} {}</li>",
            tf(
                lang,
                "tr.picture",
                &[
                    ("x", pct(content.x).into()),
                    ("y", pct(content.y).into()),
                    ("w", pct(content.width).into()),
                    ("h", pct(content.height).into()),
                    ("kind", code_text(lang, "region", &kind).into()),
                ]
            ),
            content_box_svg(content)
        ));
    }
    if !row.transformation.is_empty() {
        items.push(format!(
            "<li>{}</li>",
            tf(
                lang,
                "tr.edits",
                &[("edits", edit_tags(lang, &row.transformation).into())]
            )
        ));
    }
    format!(
        "<ul id=\"transformation\" data-edits=\"{}\">{}</ul>",
        esc(&row.transformation.join(",")),
        items.concat()
    )
}

/// Where the upload was seen. Once the match is confirmed, each sighting says which notice
/// names it, or offers to notice it in one step (a re-post seen after the decision).
fn sources_table(lang: Lang, viewer: &Viewer, view: &MatchDetail) -> String {
    let confirmed = view.listed.row.state == MatchState::Confirmed && !view.notices.is_empty();
    let mut out = String::from("<table id=\"sources\"><thead><tr>");
    let mut cols = vec![
        "col.platform",
        "col.url",
        "col.uploader",
        "col.title_seen",
        "col.found_at",
        "col.submitted",
    ];
    if confirmed {
        cols.push("col.notice");
    }
    for col in cols {
        let _ = write!(out, "<th>{}</th>", t(lang, col));
    }
    out.push_str("</tr></thead><tbody>");
    let back = format!("/ui/matches/{}", view.listed.row.id);
    for s in &view.listed.sources {
        let _ = write!(
            out,
            "<tr data-source=\"{}\"><td>{}</td><td class=\"url\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            s.id,
            esc_or_dash(s.meta.platform.as_deref()),
            link(s.meta.url.as_deref()),
            esc_or_dash(s.meta.uploader.as_deref()),
            esc_or_dash(s.meta.title_seen.as_deref()),
            s.meta.found_at.map_or_else(|| "–".to_string(), utc),
            utc(s.submitted_at),
        );
        if confirmed {
            let cited = view.cited.iter().find(|(source, _)| *source == s.id);
            let cell = match cited.and_then(|(_, n)| view.notices.iter().find(|x| x.id == *n)) {
                Some(notice) => notice_link(notice),
                None => notify_button(lang, viewer, s.id, &back),
            };
            let _ = write!(out, "<td class=\"source-notice\">{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if view.listed.sources_more {
        let api = format!("/v1/matches/{}/sources", view.listed.row.id);
        let link = format!("<code>{}</code>", esc(&api));
        let _ = write!(
            out,
            "<p class=\"sources-more\">{}</p>",
            tf(
                lang,
                "match.sources_more",
                &[
                    ("n", Arg::Text(view.listed.sources.len().to_string())),
                    ("link", Arg::Html(&link)),
                ]
            )
        );
    }
    out
}

/// The stills, side by side. Each pair says which segment it shows and its index, so the page
/// script can tell when every pair has been in view (confirming waits for that).
fn stills_html(lang: Lang, row: &MatchRow) -> (String, usize) {
    let segs = &row.segments;
    let mut out = String::from("<div class=\"stills\" id=\"stills\">");
    let points = evidence::still_points(&row.segments);
    for p in &points {
        let mirrored = segs.get(p.segment).is_some_and(|s| s.mirrored);
        let (st, rt) = (clock(p.suspect_t), clock(p.ref_t));
        let _ = write!(
            out,
            "<figure class=\"thumb-pair\" data-segment=\"{seg}\" data-still=\"{k}\">\
             <div><img class=\"thumb-suspect\" src=\"/ui/matches/{id}/stills/{k}-suspect.jpg\" \
             alt=\"{alt_s}\"><figcaption>{cap_s}</figcaption></div>\
             <div><img class=\"thumb-registered\" src=\"/ui/matches/{id}/stills/{k}-registered.jpg\" \
             alt=\"{alt_r}\"><figcaption>{cap_r}</figcaption></div>\
             </figure>",
            seg = p.segment,
            id = row.id,
            k = p.index,
            alt_s = tf(lang, "still.alt_suspect", &[("t", (&st).into())]),
            alt_r = tf(lang, "still.alt_registered", &[("t", (&rt).into())]),
            cap_s = tf(lang, "still.suspect", &[("t", (&st).into())]),
            cap_r = tf(
                lang,
                "still.registered",
                &[
                    ("episode", row.episode.into()),
                    ("t", (&rt).into()),
                    (
                        "m",
                        if mirrored {
                            lang.text("still.unmirrored")
                        } else {
                            ""
                        }
                        .into()
                    )
                ]
            ),
        );
    }
    out.push_str("</div>");
    (out, points.len())
}

/// The matched segments, with a keep/drop choice per segment when the viewer may decide (the
/// reviewer's recorded choice checked), and which were dropped once decided.
fn segments_table(lang: Lang, row: &MatchRow, rejected: &[usize], deciding: bool) -> String {
    let decided_cut = !deciding && !rejected.is_empty();
    let mut out = String::from("<table class=\"segments\" id=\"segments\"><thead><tr>");
    for col in [
        "col.suspect_range",
        "col.episode_range",
        "col.speed",
        "col.mirrored",
        "col.signals",
    ] {
        let _ = write!(out, "<th>{}</th>", t(lang, col));
    }
    if deciding || decided_cut {
        let _ = write!(out, "<th>{}</th>", t(lang, "col.segment_decision"));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, s) in row.segments.iter().enumerate() {
        let dropped = rejected.contains(&i);
        // Which fingerprints found the stretch: the picture's, the sound's, or both.
        let signals: Vec<String> = std::iter::once(s.signal)
            .chain(s.confirmed_by)
            .map(|n| n.to_string())
            .collect();
        let _ = write!(
            out,
            "<tr data-segment=\"{i}\"{}><td>{}–{}</td><td>{}–{}</td><td>{:.2}x</td><td>{}</td>\
             <td class=\"signals\" data-signals=\"{}\">{}</td>",
            if dropped { " class=\"dropped\"" } else { "" },
            clock(s.suspect_start_s),
            clock(s.suspect_end_s),
            clock(s.ref_start_s),
            clock(s.ref_end_s),
            s.speed,
            t(lang, if s.mirrored { "yes" } else { "no" }),
            esc(&signals.join(",")),
            esc(&signals
                .iter()
                .map(|n| code_text(lang, "signal", n))
                .collect::<Vec<_>>()
                .join(" + ")),
        );
        if deciding {
            // Inputs of form#decision (the `form` attribute), though they sit in this table.
            let (keep, drop) = if dropped {
                ("", " checked")
            } else {
                (" checked", "")
            };
            let _ = write!(
                out,
                "<td class=\"segment-choice\"><label><input type=\"radio\" form=\"decision\" \
                 name=\"segment_{i}\" value=\"keep\"{keep}> {}</label> \
                 <label><input type=\"radio\" form=\"decision\" name=\"segment_{i}\" \
                 value=\"drop\" class=\"drop-segment\"{drop}> {}</label></td>",
                t(lang, "seg.keep"),
                t(lang, "seg.drop")
            );
        } else if decided_cut {
            let _ = write!(
                out,
                "<td class=\"segment-verdict\">{}</td>",
                t(lang, if dropped { "seg.dropped" } else { "seg.kept" })
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if deciding {
        let _ = write!(
            out,
            "<p class=\"hint\" id=\"segment-hint\">{}</p>",
            t(lang, "seg.hint")
        );
    }
    out
}

/// `GET /ui/matches/{id}`: everything a reviewer decides on.
pub async fn match_page(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    let view = matches::detail(&state, &viewer.caller, &id).await?;
    let lang = viewer.lang;
    let row = &view.listed.row;
    let state_html = format!(
        "<span id=\"state\" class=\"state-{0}\" data-state=\"{0}\">{1}</span>",
        row.state,
        esc(code_text(lang, "state", row.state.as_str()))
    );
    let holder = format!("<strong>{}</strong>", esc(&row.member));
    let score = format!("<span id=\"score\">{:.3}</span>", row.score);
    let sha = format!(
        "<code>{}</code>",
        esc(&row.suspect_sha256.chars().take(16).collect::<String>())
    );
    let mut body = format!(
        "<h1>{}</h1><p class=\"summary\">{}</p>",
        tf(
            lang,
            "match.heading",
            &[
                ("title", (&row.title).into()),
                ("episode", row.episode.into())
            ]
        ),
        tf(
            lang,
            "match.summary",
            &[
                ("holder", Arg::Html(&holder)),
                ("score", Arg::Html(&score)),
                ("state", Arg::Html(&state_html)),
                ("found", utc(row.created_at).into()),
                ("sha", Arg::Html(&sha)),
            ]
        ),
    );
    if !view.notices.is_empty() {
        let links: Vec<String> = view.notices.iter().map(notice_link).collect();
        let link = links.join(" · ");
        let _ = write!(
            body,
            "<p class=\"notice\">{}</p>",
            tf(lang, "match.notice_issued", &[("link", Arg::Html(&link))])
        );
    }
    let _ = write!(body, "<h2>{}</h2>", t(lang, "match.where_found"));
    body.push_str(&sources_table(lang, &viewer, &view));
    let _ = write!(
        body,
        "<h2>{}</h2><p class=\"hint\">{}</p>{}",
        t(lang, "match.timeline"),
        tf(
            lang,
            "match.timeline_hint",
            &[("duration", clock(view.duration_s).into())]
        ),
        timeline(lang, &view)
    );
    let deciding = viewer.caller.role == Role::Reviewer && row.state == MatchState::PendingReview;
    let _ = write!(body, "<h2>{}</h2>", t(lang, "match.what_done"));
    body.push_str(&transformation_html(lang, row));
    body.push_str(&segments_table(lang, row, &view.rejected, deciding));
    let (stills, still_count) = stills_html(lang, row);
    let _ = write!(body, "<h2>{}</h2>{stills}", t(lang, "match.side_by_side"));
    if deciding {
        body.push_str(&decision_form(lang, &viewer, row, still_count));
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
                 <label>{} <input name=\"reason\" maxlength=\"4000\" required \
                 value=\"{}\"></label> \
                 <button type=\"submit\" class=\"needs-viewing\" disabled>{}</button></form>",
                row.suspect_id,
                csrf_field(&viewer.csrf),
                row.id,
                t(lang, "match.reason"),
                t(lang, "match.confirm_all_reason"),
                tf(lang, "match.confirm_all", &[("n", pending.len().into())])
            );
        }
    }
    if !view.listed.decisions.is_empty() {
        let _ = write!(
            body,
            "<h2>{}</h2><ul class=\"decisions\">",
            t(lang, "match.decisions")
        );
        for d in &view.listed.decisions {
            let _ = write!(
                body,
                "<li data-decision=\"{}\">{}</li>",
                d.decision,
                tf(
                    lang,
                    "match.decision_line",
                    &[
                        (
                            "decision",
                            code_text(lang, "state", d.decision.as_str()).into()
                        ),
                        ("reviewer", (&d.reviewer).into()),
                        ("at", utc(d.decided_at).into()),
                        ("reason", (&d.reason).into()),
                    ]
                )
            );
        }
        body.push_str("</ul>");
    }
    let title = tf_plain(
        lang,
        "match.lane",
        &[("title", &row.title), ("episode", &row.episode.to_string())],
    );
    Ok(html_page(html::page(&viewer.frame(&title), &body)))
}

/// `GET /ui/matches/{id}/stills/{k}-{side}.jpg`: a still, extracted with FFmpeg on first view.
pub async fn still(
    State(state): State<Shared>,
    viewer: Viewer,
    Path((id, file)): Path<(String, String)>,
) -> Page {
    let lang = viewer.lang;
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
        Still::Missing(what) => Ok(placeholder(lang, what)),
    }
}

/// An image saying why there is no still (the page's layout stays whole).
fn placeholder(lang: Lang, why: &str) -> Response {
    let what = code_text(lang, "still.what", why);
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"202\" height=\"360\" viewBox=\"0 0 202 360\">\
         <rect width=\"202\" height=\"360\" fill=\"#ddd\"/><text x=\"101\" y=\"180\" \
         text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"13\">{}</text></svg>",
        tf(lang, "still.not_kept", &[("what", what.into())])
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
