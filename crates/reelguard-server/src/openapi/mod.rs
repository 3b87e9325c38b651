//! The API document (OpenAPI 3.1), served at `/v1/openapi.json` and rendered at `/v1/docs`
//! ([`docs`]).
//!
//! The decision that shapes it: the document is generated, once per process, from the route
//! table ([`crate::routes::ROUTES`]: paths, access, summaries, which Rust type each route
//! takes and answers) and from those types themselves (`utoipa::ToSchema`,
//! `utoipa::IntoParams`, derived next to the serde attributes that shape the JSON). Nothing
//! in it is written by hand but the prose, so a new route or field cannot go undocumented and
//! a documented shape cannot differ from the served one; `tests/api_conformance.rs` checks
//! both against a running daemon. The common error statuses are derived from each route's
//! access and path, in the order the guard decides them.

pub mod docs;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::error::ErrorBody;
use crate::routes::doc::{schema, Body, Schemas};
use crate::routes::{Access, RouteSpec, ROUTES};

const DESCRIPTION: &str = "Finds pirated copies of registered micro-short-drama episodes. \
Every route except the public ones needs `Authorization: Bearer KEY`. Access is decided in \
this order: no valid key 401, role not admitted 403 (`x-roles` lists the admitted roles), \
another member's resource 404 exactly as if it did not exist. Errors are `ErrorBody`; 429 \
carries `Retry-After`. JSON bodies refuse unknown fields and every route refuses query \
parameters it does not list, with a 400 naming them. Lists are paged: pass a page's \
`next_cursor` as `cursor` for the next one (`null`: the last page).";

/// The document, built on first use.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// The document as served.
pub fn document_json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| document().to_string())
}

fn build() -> Value {
    let mut schemas: Schemas = Vec::new();
    let error = schema::<ErrorBody>(&mut schemas);
    let error = to_json(&error);
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for route in ROUTES {
        let op = operation(route, &mut schemas, &error);
        paths
            .entry(route.path)
            .or_default()
            .insert(route.method.to_lowercase(), op);
    }
    let components: Map<String, Value> = schemas
        .iter()
        .map(|(name, s)| (name.clone(), to_json(s)))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "reelguard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components,
        },
        "paths": paths,
    })
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The path template's `{name}` segments.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn content(body: &Body, schemas: &mut Schemas) -> Option<Value> {
    match body {
        Body::Empty => None,
        Body::Json(of) => Some(json!({"application/json": {"schema": to_json(&of(schemas))}})),
        Body::Raw(types) => Some(Value::Object(
            types
                .iter()
                .map(|t| {
                    let schema = if t.starts_with("text/") {
                        json!({"type": "string"})
                    } else if *t == "application/json" {
                        json!({"type": "object"})
                    } else {
                        json!({"type": "string", "format": "binary"})
                    };
                    (t.to_string(), json!({ "schema": schema }))
                })
                .collect(),
        )),
    }
}

/// Every error status a route may answer, with why.
pub fn error_statuses(route: &RouteSpec) -> BTreeMap<u16, &'static str> {
    let mut out = BTreeMap::new();
    out.insert(
        400,
        "Malformed: an unknown query parameter or JSON field, a bad value or cursor.",
    );
    out.insert(408, "The request took longer than request_timeout_secs.");
    if route.access != Access::Public {
        out.insert(401, "No valid API key.");
    }
    if let Access::Roles(roles) = route.access {
        out.insert(403, "The key's role may not use this route.");
        if roles.contains(&reelguard_store::Role::Crawler) {
            out.insert(429, "Rate-limited (crawler keys) or the job queue is full.");
        }
    }
    if !path_params(route.path).is_empty() {
        out.insert(404, "No such resource, or not the caller's to see.");
    }
    if !matches!(route.doc.request, Body::Empty) {
        out.insert(413, "The body exceeds its limit.");
    }
    for status in route.doc.errors {
        out.insert(
            *status,
            match status {
                404 => "None set yet.",
                409 => "Conflicts with the current state.",
                422 => {
                    "Cannot be carried out yet (see `error.missing`), or an idempotency key reused."
                }
                429 => "The job queue is full: retry after Retry-After seconds.",
                503 => "Not ready, or stopping.",
                _ => "See the error's code.",
            },
        );
    }
    out
}

fn operation(route: &RouteSpec, schemas: &mut Schemas, error: &Value) -> Value {
    let mut parameters: Vec<Value> = path_params(route.path)
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    parameters.extend((route.doc.query)().iter().map(to_json));
    let mut responses = Map::new();
    let mut ok = json!({"description": success(route.doc.status)});
    if let Some(c) = content(&route.doc.response, schemas) {
        ok["content"] = c;
    }
    if route.doc.status == 202 || route.doc.status == 201 {
        ok["headers"] = json!({"Location": {"schema": {"type": "string"}}});
    }
    responses.insert(route.doc.status.to_string(), ok);
    for (status, why) in error_statuses(route) {
        let mut response = json!({
            "description": why,
            "content": {"application/json": {"schema": error}},
        });
        if status == 429 {
            response["headers"] = json!({"Retry-After": {"schema": {"type": "integer"}}});
        }
        responses.insert(status.to_string(), response);
    }
    responses.insert(
        "default".into(),
        json!({"description": "An internal error, or the daemon stopping (503).",
               "content": {"application/json": {"schema": error}}}),
    );
    let mut op = json!({
        "summary": route.summary,
        "operationId": operation_id(route),
        "tags": [tag(route.path)],
        "parameters": parameters,
        "responses": responses,
        "security": if route.access == Access::Public { json!([]) } else { json!([{"bearer": []}]) },
    });
    if let Access::Roles(roles) = route.access {
        op["x-roles"] = json!(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>());
    }
    if let Some(c) = content(&route.doc.request, schemas) {
        op["requestBody"] = json!({"required": true, "content": c});
    }
    op
}

fn success(status: u16) -> &'static str {
    match status {
        201 => "Created.",
        202 => "Accepted: a job will process it (poll `status_url`).",
        _ => "OK.",
    }
}

fn tag(path: &str) -> &str {
    let mut segments = path.trim_start_matches('/').split('/');
    match segments.next() {
        Some("v1") => segments.next().unwrap_or("v1"),
        Some(first) => first,
        None => "",
    }
}

fn operation_id(route: &RouteSpec) -> String {
    let mut id = route.method.to_lowercase();
    for seg in route
        .path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "v1")
    {
        id.push('_');
        id.extend(seg.trim_matches(|c| c == '{' || c == '}').chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        }));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once_and_every_reference_resolves() {
        let doc = document();
        let mut listed = 0;
        for r in ROUTES {
            assert!(
                doc["paths"][r.path][r.method.to_lowercase()].is_object(),
                "{} {} is missing",
                r.method,
                r.path
            );
            listed += 1;
        }
        let ops: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|p| p.as_object().map_or(0, Map::len))
            .sum();
        assert_eq!(ops, listed);
        let text = document_json();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "dangling reference to {name}");
        }
        let ids: std::collections::BTreeSet<String> = ROUTES.iter().map(operation_id).collect();
        assert_eq!(ids.len(), ROUTES.len(), "operation ids collide");
    }
}
