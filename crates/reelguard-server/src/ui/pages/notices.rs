//! Takedown notices: the list, the printable notice, and the evidence files it cites.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use reelguard_service::{review, stills};
use reelguard_store::Notice;
use serde_json::Value;

use super::Page;
use crate::present::notice_json;
use crate::ui::html::{self, clock, esc, esc_or_dash, link, t, utc, Lang};
use crate::ui::{html_page, Viewer};
use crate::Shared;

/// `GET /ui/notices`.
pub async fn notices(State(state): State<Shared>, viewer: Viewer) -> Page {
    let list = review::notices(&state, &viewer.caller, None, Some(200)).await?;
    let lang = viewer.lang;
    let mut body = format!("<h1>{}</h1>", t(lang, "notices.title"));
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

/// `GET /ui/notices/{id}` (printable HTML) and `/ui/notices/{id}.json`.
pub async fn notice(State(state): State<Shared>, viewer: Viewer, Path(id): Path<String>) -> Page {
    if let Some(id) = id.strip_suffix(".json") {
        let notice = review::notice(&state, &viewer.caller, id).await?;
        return Ok(Json(notice_json(&notice)).into_response());
    }
    let notice = review::notice(&state, &viewer.caller, &id).await?;
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
    // The notice is a stored document: it is shown as issued, field by field.
    for seg in b["matched_time_ranges"].as_array().into_iter().flatten() {
        let t = |k: &str| seg[k].as_f64().unwrap_or(0.0);
        let _ = write!(
            body,
            "<tr><td>{}–{}</td><td>{}–{}</td><td>{:.2}x</td><td>{}</td></tr>",
            clock(t("suspect_start_s")),
            clock(t("suspect_end_s")),
            clock(t("ref_start_s")),
            clock(t("ref_end_s")),
            t("speed"),
            if seg["mirrored"].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            }
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
