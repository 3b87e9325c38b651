//! The API document is the truth: it passes a real OpenAPI validator (openapi-spec-validator,
//! installed by fixtures/install-deps), and every answer a running daemon gives in the access
//! walk (`support::route_walk`: every route, every kind of caller) is an answer the document
//! lists for that route — its status, its media type and, for JSON, its schema with no field
//! the schema does not name. Also: unknown fields and query parameters are refused naming
//! them, and every list pages with an opaque cursor.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};
use support::{all_pages, call, route_walk, Daemon, Site};

/// The Python with openapi-spec-validator: `REELGUARD_PYENV`, or where fixtures/install-deps
/// puts it.
fn validator_python() -> PathBuf {
    let env =
        std::env::var("REELGUARD_PYENV").unwrap_or_else(|_| "/var/cache/reelguard-pyenv".into());
    let python = PathBuf::from(env).join("bin/python3");
    assert!(
        python.exists(),
        "{} is missing: run fixtures/install-deps (it installs openapi-spec-validator there)",
        python.display()
    );
    python
}

/// Runs `tests/support/openapi_check.py` on a document and observed answers.
fn check(doc: &std::path::Path, observed: &std::path::Path) -> (bool, String) {
    let out = Command::new(validator_python())
        .arg(support::repo_root().join("tests/support/openapi_check.py"))
        .arg(doc)
        .arg(observed)
        .output()
        .expect("running the validator");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

fn header<'a>(reply: &'a support::Reply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn ids(items: &[Value], field: &str) -> Vec<String> {
    items.iter().map(|i| i[field].to_string()).collect()
}

/// Paging through a list gives each item once, in the order of the unpaged list.
fn pages_cover(daemon: &Daemon, key: &str, path: &str, field: &str, id: &str) -> usize {
    let whole = call("GET", &daemon.url(path), Some(key), None);
    assert_eq!(whole.status, 200, "{path}: {}", whole.text);
    assert!(
        whole.json["next_cursor"].is_null(),
        "{path}: one page holds it all"
    );
    let whole = whole.json[field].as_array().expect("a list").clone();
    let paged = all_pages(daemon, key, path, field, 1);
    assert_eq!(
        ids(&paged, id),
        ids(&whole, id),
        "{path}: pages differ from the list"
    );
    whole.len()
}

#[test]
fn the_document_validates_and_every_answer_of_the_walk_matches_it() {
    let walk = route_walk::walk();
    let daemon = &walk.site.daemon;
    let doc_reply = call("GET", &daemon.url("/v1/openapi.json"), None, None);
    assert_eq!(doc_reply.status, 200);
    let doc = doc_reply.json.clone();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(schemas.len() > 30, "only {} schemas", schemas.len());

    let dir = tempfile::tempdir().expect("tempdir");
    let doc_path = dir.path().join("openapi.json");
    std::fs::write(&doc_path, &doc_reply.text).expect("document");
    let seen_path = dir.path().join("observed.jsonl");
    let mut seen = std::fs::File::create(&seen_path).expect("observed");
    let mut succeeded: BTreeSet<(String, String)> = BTreeSet::new();
    for o in &walk.observed {
        let content_type = header(&o.reply, "content-type").unwrap_or("");
        let body = if content_type.starts_with("application/json") {
            serde_json::from_str::<Value>(&o.reply.text).expect("a JSON answer parses")
        } else {
            Value::Null
        };
        let template = route_walk::generic(o.template);
        if (200..300).contains(&o.reply.status) {
            succeeded.insert((o.method.to_string(), template.clone()));
        }
        let line = json!({
            "method": o.method, "path": template, "status": o.reply.status,
            "content_type": content_type, "body": body,
        });
        writeln!(seen, "{line}").expect("write");
    }
    drop(seen);
    let (ok, report) = check(&doc_path, &seen_path);
    assert!(ok, "the validator refused:\n{report}");
    eprintln!("{}", report.trim());

    // The checker is not a rubber stamp: a real answer with a field the schema does not name,
    // a field of the wrong type, or a status the route does not list is refused.
    let real = walk
        .observed
        .iter()
        .find(|o| o.template == "/v1/matches/{M}" && o.reply.status == 200)
        .expect("a match was read");
    let mut extra = real.reply.json.clone();
    extra["suspect"]["secret_path"] = json!("/var/lib/x");
    let mut wrong = real.reply.json.clone();
    wrong["score"] = json!("high");
    for (status, body, why) in [
        (200, extra, "secret_path"),
        (200, wrong, "score"),
        (418, real.reply.json.clone(), "status not documented"),
    ] {
        let bad_path = dir.path().join("bad.jsonl");
        let line = json!({"method": "GET", "path": "/v1/matches/{id}", "status": status,
                          "content_type": "application/json", "body": body});
        std::fs::write(&bad_path, format!("{line}\n")).expect("bad");
        let (ok, report) = check(&doc_path, &bad_path);
        assert!(
            !ok && report.contains(why),
            "not refused ({why}):\n{report}"
        );
    }

    // Every route was seen succeeding, but those whose success needs a sent notice (papers,
    // an agent, a platform) or a draft that cannot move: their answers are the same types
    // as the routes next to them. Noticing a sighting needs a confirmed match whose content
    // was submitted again; `tests/server_takedown.rs` walks that and reads its answer, but
    // not against the schema (left for the walk to reach).
    let unseen: Vec<_> = route_walk::documented(&doc)
        .into_iter()
        .filter(|r| !succeeded.contains(r))
        .collect();
    let expected: Vec<(String, String)> = [
        ("GET", "/public/evidence/{token}"),
        ("GET", "/public/evidence/{token}/{file}"),
        ("POST", "/v1/notices/{id}/state"),
        ("POST", "/v1/sightings/{source_id}/notice"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(unseen, expected, "routes never seen succeeding");

    // Lists page with an opaque cursor, the same items in the same order.
    let site = &walk.site;
    let member = site.key("studio", "member");
    let reviewer = site.key("review-team", "reviewer");
    let admin = &site.admin;
    let mut sizes = Vec::new();
    for (key, path, field, id) in [
        (admin.as_str(), "/v1/members", "members", "id"),
        (admin, "/v1/keys", "keys", "id"),
        (admin, "/v1/jobs", "jobs", "id"),
        (member.as_str(), "/v1/works", "works", "work_id"),
        (&member, "/v1/matches?state=all", "matches", "id"),
        (reviewer.as_str(), "/v1/notices", "notices", "id"),
        (&member, "/v1/webhook/deliveries", "deliveries", "id"),
    ] {
        sizes.push((path, pages_cover(daemon, key, path, field, id)));
    }
    // The audit log grows with every call (each page read is not audited, but the walk's
    // writes are): page it from the start, then check it against one long read.
    let audit = all_pages(daemon, admin, "/v1/audit", "entries", 7);
    let whole = call("GET", &daemon.url("/v1/audit?limit=999"), Some(admin), None);
    assert_eq!(
        ids(&audit, "id"),
        ids(whole.json["entries"].as_array().expect("entries"), "id")
    );
    eprintln!("paged: {sizes:?}, audit {}", audit.len());
    // (The walk's webhook is set after its one notice, so deliveries may be empty.)
    for (path, n) in sizes.iter().filter(|(p, _)| !p.contains("deliveries")) {
        assert!(*n >= 1, "{path} is empty: nothing was paged");
    }
    let bad = call("GET", &daemon.url("/v1/jobs?cursor=42"), Some(admin), None);
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("cursor"), "{}", bad.text);
}

#[test]
fn unknown_fields_and_query_parameters_are_refused_naming_them() {
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let member = site.key("studio", "member");
    let reviewer = site.key("review-team", "reviewer");
    let works = daemon.url("/v1/works");
    let r = call(
        "POST",
        &works,
        Some(&member),
        Some(&json!({"title": "A", "titel": "B"})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error"]["code"], "bad_request");
    assert!(r.text.contains("titel"), "{}", r.text);
    let r = call("POST", &works, Some(&member), Some(&json!({"title": "A"})));
    assert_eq!(r.status, 201, "{}", r.text);

    // A flattened body too (members carry their legal profile inline).
    let r = call(
        "POST",
        &daemon.url("/v1/members"),
        Some(&site.admin),
        Some(&json!({"name": "n", "phnoe": "1"})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("phnoe"), "{}", r.text);

    let mut refusals = Vec::new();
    for (key, path, template, unknown) in [
        (
            &reviewer,
            "/v1/matches?platfrom=douyin",
            "/v1/matches",
            "platfrom",
        ),
        (
            &reviewer,
            "/v1/matches?state=all&colour=red&colour=blue",
            "/v1/matches",
            "colour",
        ),
        (&member, "/v1/works?sort=title", "/v1/works", "sort"),
        (&member, "/v1/whoami?verbose=1", "/v1/whoami", "verbose"),
    ] {
        let r = call("GET", &daemon.url(path), Some(key), None);
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        let message = r.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(unknown), "{path}: {message}");
        assert!(message.contains("this route takes"), "{path}: {message}");
        refusals.push(
            json!({"method": "GET", "path": template, "status": r.status,
            "content_type": header(&r, "content-type"), "body": r.json}),
        );
    }
    // The refusals are answers the document lists, in its error schema.
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = call("GET", &daemon.url("/v1/openapi.json"), None, None);
    std::fs::write(dir.path().join("doc.json"), &doc.text).expect("doc");
    let lines: String = refusals.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("seen.jsonl"), lines).expect("seen");
    let (ok, report) = check(&dir.path().join("doc.json"), &dir.path().join("seen.jsonl"));
    assert!(ok, "{report}");
    // The parameters a route documents pass, the workbench's filter values among them.
    for (key, path) in [
        (
            &reviewer,
            "/v1/matches?platform=douyin&state=all&min_score=0.5",
        ),
        (&reviewer, "/v1/matches?state=pending_review&work_id=w"),
        (&member, "/v1/jobs?state=all"),
        (&member, "/v1/works?limit=1"),
    ] {
        let r = call("GET", &daemon.url(path), Some(key), None);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    // Refused before anything else but the key: without one it is still 401.
    let r = call("GET", &daemon.url("/v1/matches?platfrom=x"), None, None);
    assert_eq!(r.status, 401);
}

#[test]
fn the_reference_page_is_served_without_scripts_or_outside_resources() {
    let site = Site::start(&[]);
    let r = call("GET", &site.daemon.url("/v1/docs"), None, None);
    assert_eq!(r.status, 200);
    assert!(header(&r, "content-type").is_some_and(|t| t.starts_with("text/html")));
    let csp = header(&r, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!r.text.contains("<script"), "a script on the page");
    assert!(!r.text.contains("src=\"http"), "a resource from elsewhere");
    for needle in [
        "<code>/v1/matches</code>",
        "id=\"schema-MatchOut\"",
        "<code>platform</code>",
        "<code>next_cursor</code>",
        "Unknown fields are refused",
    ] {
        assert!(r.text.contains(needle), "the page lacks {needle}");
    }
}
