//! The takedown notice as a platform reads it: an HTML document following the sections of the
//! National Copyright Administration's recommended form (要求删除或断开链接侵权网络内容的通知),
//! in Simplified Chinese by default or in English, with a print stylesheet for "print to PDF".
//!
//! The decision that shapes it: the notice is a legal document, so every word of it lives in
//! one template per language (`templates/notice.<lang>.html`, sharing `notice.css`), sections marked
//! `<!--section:name-->`; this module only fills `{{field}}` (escaped) and `{{{block}}}`
//! (markup it built from other sections). Values come from the notice's stored body, so the
//! document shows exactly what was sent.

use std::collections::HashMap;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::ui::html::esc;

const ZH: &str = include_str!("../templates/notice.zh-CN.html");
const EN: &str = include_str!("../templates/notice.en.html");
const CSS: &str = include_str!("../templates/notice.css");

/// The languages a notice is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (the default: the platforms and the alliance read it).
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// The language's tag, as `<html lang>` takes it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// `en` is English; anything else (absent, `zh-CN`) is Chinese.
    pub fn parse(text: Option<&str>) -> Lang {
        match text {
            Some(t) if t.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::ZhCn,
        }
    }
}

struct Template(HashMap<&'static str, &'static str>);

impl Template {
    fn of(lang: Lang) -> Template {
        let text = match lang {
            Lang::ZhCn => ZH,
            Lang::En => EN,
        };
        let mut sections = HashMap::new();
        for part in text.split("<!--section:").skip(1) {
            if let Some((name, body)) = part.split_once("-->") {
                sections.insert(name, body.trim_matches('\n'));
            }
        }
        Template(sections)
    }

    fn section(&self, name: &str) -> &'static str {
        self.0.get(name).copied().unwrap_or("")
    }

    /// Fills a section: `{{{k}}}` with `blocks[k]` as is, `{{k}}` with `fields[k]` escaped.
    fn fill(&self, name: &str, fields: &[(&str, String)], blocks: &[(&str, String)]) -> String {
        let mut out = self.section(name).to_string();
        for (k, v) in blocks {
            out = out.replace(&format!("{{{{{{{k}}}}}}}"), v);
        }
        for (k, v) in fields {
            out = out.replace(&format!("{{{{{k}}}}}"), &esc(v).to_string());
        }
        out
    }
}

/// A tracking state in the document's language (the code itself if the template lacks it).
fn state_label(t: &Template, state: &str) -> String {
    match t.section(&format!("state.{state}")) {
        "" => state.to_string(),
        label => label.to_string(),
    }
}

fn text(v: &Value, unknown: &str) -> String {
    match v {
        Value::String(s) if !s.trim().is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => unknown.to_string(),
    }
}

fn cst(v: &Value, unknown: &str) -> String {
    v.as_i64()
        .map_or_else(|| unknown.to_string(), reelguard_service::time::cst)
}

/// The notice document. `files` is the address prefix its stills are served under (the public
/// evidence link's for a sent notice); `state` is the notice's tracking state.
pub fn render(body: &Value, state: &str, lang: Lang, files: &str) -> String {
    let t = Template::of(lang);
    let unknown = t.section("unknown");
    let ev = &body["evidence"];
    let copies = body["infringing_copies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let items: String = copies
        .iter()
        .map(|c| {
            t.fill(
                "item",
                &[
                    ("title_seen", text(&c["title_seen"], unknown)),
                    ("url", text(&c["url"], unknown)),
                    ("uploader", text(&c["uploader"], unknown)),
                    ("platform", text(&c["platform"], unknown)),
                    ("found_at", cst(&c["found_at"], unknown)),
                ],
                &[],
            )
        })
        .collect();
    let mut platforms: Vec<String> = copies
        .iter()
        .filter_map(|c| c["platform"].as_str().map(str::to_string))
        .collect();
    platforms.dedup();
    let ranges: String = ev["segments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mirrored = if s["mirrored"] == Value::Bool(true) {
                t.section("yes")
            } else {
                t.section("no")
            };
            t.fill(
                "range",
                &[
                    ("suspect_start", text(&s["suspect_start_s"], unknown)),
                    ("suspect_end", text(&s["suspect_end_s"], unknown)),
                    ("ref_start", text(&s["ref_start_s"], unknown)),
                    ("ref_end", text(&s["ref_end_s"], unknown)),
                    ("speed", text(&s["speed"], unknown)),
                    ("mirrored", mirrored.to_string()),
                    ("signal", text(&s["signal"], unknown)),
                    ("score", text(&s["score"], unknown)),
                    ("false_match_rate", text(&s["false_match_rate"], unknown)),
                ],
                &[],
            )
        })
        .collect();
    let stills: String = ev["stills"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let suspect = s["suspect"]["file"].as_str()?;
            let registered = s["registered"]["file"].as_str()?;
            Some(t.fill(
                "still",
                &[
                    ("suspect_src", format!("{files}{suspect}")),
                    ("registered_src", format!("{files}{registered}")),
                    ("suspect_t", text(&s["suspect_t"], unknown)),
                    ("ref_t", text(&s["ref_t"], unknown)),
                ],
                &[],
            ))
        })
        .collect();
    let parties = &body["parties"];
    let holder = &parties["rights_holder"];
    let agent = &parties["agent"];
    let agent_block = if agent.is_object() {
        let auth = &parties["authorisation"];
        t.fill(
            "agent",
            &[
                ("agent_name", text(&agent["name"], unknown)),
                ("agent_contact", text(&agent["contact"], unknown)),
                ("agent_phone", text(&agent["phone"], unknown)),
                ("agent_email", text(&agent["email"], unknown)),
                ("agent_address", text(&agent["address"], unknown)),
                ("auth_scope", text(&auth["scope"], unknown)),
                ("auth_from", cst(&auth["valid_from"], unknown)),
                ("auth_until", cst(&auth["valid_until"], unknown)),
                ("auth_file", text(&auth["file_name"], unknown)),
                ("auth_sha256", text(&auth["file_sha256"], unknown)),
            ],
            &[],
        )
    } else {
        t.section("no_agent").to_string()
    };
    let public_link = match body["public_evidence"]["url"].as_str() {
        Some(url) => t.fill("link", &[("public_url", url.to_string())], &[]),
        None => t.section("no_link").to_string(),
    };
    let rights = &body["rights"];
    let sender = if agent.is_object() {
        text(&agent["name"], unknown)
    } else {
        text(&body["rights_holder"], unknown)
    };
    let sent_at = body["sent_at"]
        .as_i64()
        .filter(|_| state != "draft")
        .map_or_else(
            || t.section("unsent").to_string(),
            reelguard_service::time::cst,
        );
    let transformation = ev["transformation"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let signals = ev["signals"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    t.fill(
        "document",
        &[
            ("notice_id", text(&body["notice_id"], unknown)),
            ("state", state_label(&t, state)),
            ("platforms", platforms.join("、")),
            ("holder_name", text(&body["rights_holder"], unknown)),
            (
                "holder_registration_id",
                text(&holder["registration_id"], unknown),
            ),
            ("holder_contact", text(&holder["contact"], unknown)),
            ("holder_phone", text(&holder["phone"], unknown)),
            ("holder_email", text(&holder["email"], unknown)),
            ("holder_address", text(&holder["address"], unknown)),
            ("work_title", text(&body["work"]["title"], unknown)),
            ("episode", text(&body["episode"], unknown)),
            (
                "rights_registration",
                text(&rights["registration_number"], unknown),
            ),
            (
                "rights_certificate",
                text(&rights["certificate_name"], unknown),
            ),
            (
                "rights_certificate_sha256",
                text(&rights["certificate_sha256"], unknown),
            ),
            ("transformation", transformation),
            ("signals", signals),
            ("score", text(&ev["score"], unknown)),
            ("bundle_sha256", text(&ev["bundle_sha256"], unknown)),
            ("sender", sender),
            ("sent_at", sent_at),
            ("issued_at", cst(&body["issued_at"], unknown)),
        ],
        &[
            ("style", CSS.to_string()),
            ("agent", agent_block),
            ("items", items),
            ("ranges", ranges),
            ("stills", stills),
            ("public_link", public_link),
        ],
    )
}

/// A document page as served (the workbench's copy and the public link alike): no referrer
/// (a public token must not leak to the sites its links lead to), no indexing, no scripts,
/// and the inline stylesheet the document carries.
pub fn response(html: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
                ),
            ),
            (
                header::HeaderName::from_static("x-robots-tag"),
                HeaderValue::from_static("noindex"),
            ),
        ],
        html,
    )
        .into_response()
}

/// The document's content without its page (no head, no stylesheet: the workbench's own
/// styles it), in `<article class="notice-doc" lang="…">`, for the workbench to show the notice
/// inside its frame. The words are the template's, exactly as in [`render`].
pub fn render_fragment(body: &Value, state: &str, lang: Lang, files: &str) -> String {
    let page = render(body, state, lang, files);
    let inner = page
        .split_once("<body>")
        .and_then(|(_, rest)| rest.rsplit_once("</body>"))
        .map_or("", |(inner, _)| inner);
    format!(
        "<article class=\"notice-doc\" lang=\"{}\">{inner}</article>",
        lang.tag()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_fragment_is_the_documents_body_with_its_state_in_words() {
        let body = json!({"notice_id": "RGN-1", "rights_holder": "星河影业",
                          "work": {"title": "街头"}, "episode": 1});
        let fragment = render_fragment(&body, "draft", Lang::ZhCn, "/f/");
        assert!(fragment.starts_with("<article class=\"notice-doc\" lang=\"zh-CN\">"));
        assert!(fragment.contains("要求删除或断开链接侵权网络内容的通知"));
        assert!(fragment.contains("状态：草稿"), "{fragment}");
        assert!(!fragment.contains("<style>") && !fragment.contains("<html"));
        let en = render_fragment(&body, "counter_noticed", Lang::En, "/f/");
        assert!(en.contains("state: counter-noticed"), "{en}");
    }
}
