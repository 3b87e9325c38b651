//! The API reference page at `/v1/docs`: the API document rendered as one HTML page on the
//! server, with no script and nothing loaded from elsewhere (a CDN-hosted viewer would leak
//! every operator's browsing to a third party, and fail on air-gapped deployments).
//!
//! The decision that shapes it: the page is rendered from the same document served at
//! `/v1/openapi.json`, never from its own description of the routes, so the two cannot differ.

use std::fmt::Write;
use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70em;margin:2em auto;\
padding:0 1em;color:#222}code,pre{font:13px ui-monospace,monospace}h2{margin-top:2em;\
border-bottom:1px solid #ccc}.op{margin:1.5em 0;padding:.5em 1em;border-left:4px solid #888}\
.m{font-weight:bold;display:inline-block;min-width:4.5em}.GET{border-color:#2a7}\
.POST{border-color:#27c}.PUT,.PATCH{border-color:#c80}.DELETE{border-color:#c33}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .6em;\
text-align:left;vertical-align:top}th{background:#f4f4f4}.muted{color:#666}";

/// `GET /v1/docs`.
pub fn page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    let html = PAGE.get_or_init(|| render(super::document()));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ),
            ),
        ],
        html.as_str(),
    )
        .into_response()
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline `code` in a description, rendered; the rest escaped.
fn prose(text: &str) -> String {
    esc(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// A schema, as one line: a link for a reference, the type with its choices otherwise.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            let sep = if key == "allOf" { " &amp; " } else { " | " };
            return list.iter().map(type_of).collect::<Vec<_>>().join(sep);
        }
    }
    let mut out = match schema.get("type") {
        Some(Value::String(t)) => esc(t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(esc)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_string(),
    };
    if let Some(items) = schema.get("items") {
        out = out.replace("array", &format!("array of {}", type_of(items)));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&v.to_string())))
            .collect();
        let _ = write!(out, ": {}", names.join(", "));
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        let _ = write!(out, " <span class=\"muted\">({})</span>", esc(format));
    }
    out
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn render_operation(out: &mut String, path: &str, method: &str, op: &Value) {
    let m = method.to_uppercase();
    let _ = write!(
        out,
        "<div class=\"op {m}\" id=\"{}\"><p><span class=\"m\">{m}</span> <code>{}</code><br>{}",
        esc(text(op, "operationId")),
        esc(path),
        prose(text(op, "summary"))
    );
    let access = match op.get("x-roles").and_then(Value::as_array) {
        Some(roles) => roles
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        None if op["security"].as_array().is_some_and(Vec::is_empty) => "public".into(),
        None => "any key".into(),
    };
    let _ = write!(
        out,
        "<br><span class=\"muted\">Access: {}</span></p>",
        esc(&access)
    );
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str(
            "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>",
        );
        for p in params {
            let required = if p["required"].as_bool() == Some(true) {
                " (required)"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{required}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(text(p, "name")),
                esc(text(p, "in")),
                type_of(&p["schema"]),
                prose(text(p, "description"))
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = op["requestBody"]["content"].as_object() {
        for (media, c) in body {
            let _ = write!(
                out,
                "<p>Body (<code>{}</code>): {}</p>",
                esc(media),
                type_of(&c["schema"])
            );
        }
    }
    out.push_str("<table><tr><th>Status</th><th>Body</th><th>When</th></tr>");
    if let Some(responses) = op["responses"].as_object() {
        for (status, r) in responses {
            let bodies: Vec<String> = r["content"]
                .as_object()
                .map(|c| {
                    c.iter()
                        .map(|(media, c)| {
                            format!("<code>{}</code> {}", esc(media), type_of(&c["schema"]))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                bodies.join("<br>"),
                prose(text(r, "description"))
            );
        }
    }
    out.push_str("</table></div>");
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        out,
        "<div class=\"op\" id=\"schema-{0}\"><p><b>{0}</b> {1}</p>",
        esc(name),
        prose(text(schema, "description"))
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut parts = vec![schema];
    if let Some(all) = schema["allOf"].as_array() {
        parts.extend(all.iter());
    }
    let mut table = String::new();
    for part in &parts {
        if let Some(r) = part.get("$ref") {
            let _ = write!(
                out,
                "<p>Includes every field of {}.</p>",
                type_of(&serde_json::json!({ "$ref": r }))
            );
        }
        let Some(props) = part["properties"].as_object() else {
            continue;
        };
        let required: Vec<&str> = part["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| required.clone());
        for (field, p) in props {
            let mark = if required.contains(&field.as_str()) {
                ""
            } else {
                " <span class=\"muted\">(optional)</span>"
            };
            let _ = write!(
                table,
                "<tr><td><code>{}</code>{mark}</td><td>{}</td><td>{}</td></tr>",
                esc(field),
                type_of(p),
                prose(text(p, "description"))
            );
        }
    }
    if table.is_empty() {
        let _ = write!(out, "<p>{}</p>", type_of(schema));
    } else {
        let _ = write!(
            out,
            "<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>{table}</table>"
        );
    }
    if schema["additionalProperties"] == Value::Bool(false) {
        out.push_str("<p class=\"muted\">Unknown fields are refused (400).</p>");
    }
    out.push_str("</div>");
}

/// The page for a document.
pub fn render(doc: &Value) -> String {
    let mut out = String::new();
    let title = text(&doc["info"], "title");
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0} API</title>\
         <style>{STYLE}</style></head><body><h1>{0} API <span class=\"muted\">{1}</span></h1>\
         <p>{2}</p><p>The machine-readable document: <a href=\"/v1/openapi.json\">\
         <code>/v1/openapi.json</code></a> (OpenAPI {3}).</p><h2>Routes</h2>",
        esc(title),
        esc(text(&doc["info"], "version")),
        prose(text(&doc["info"], "description")),
        esc(text(doc, "openapi"))
    );
    // In the route table's order (grouped by purpose), not the document's alphabetical one.
    for route in crate::routes::ROUTES {
        let method = route.method.to_lowercase();
        let op = &doc["paths"][route.path][&method];
        if op.is_object() {
            render_operation(&mut out, route.path, &method, op);
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_every_route_and_schema_and_escapes_what_it_shows() {
        let doc = super::super::document();
        let html = render(doc);
        for r in crate::routes::ROUTES {
            assert!(
                html.contains(&format!("<code>{}</code>", esc(r.path))),
                "{}",
                r.path
            );
        }
        for name in doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            assert!(html.contains(&format!("id=\"schema-{name}\"")), "{name}");
        }
        assert!(!html.contains("<script"));
        assert_eq!(prose("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
    }
}
