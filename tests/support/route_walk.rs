//! The access matrix: every API route, called by every kind of caller, with the status each
//! must get, over one setup that gives every route something real to answer about. Walked
//! by `tests/server_access.rs` (the statuses) and `tests/api_conformance.rs` (every answer
//! against the API document).

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};

use super::{
    call, create_work, decide, job_succeeds, matches_of, queue_suspect, street, street_variant,
    upload, upload_episode, Daemon, Reply, Site,
};

/// The callers, in the order of the table's columns.
pub const CALLERS: [&str; 7] = [
    "none", "bad key", "admin", "member", "foreign", "crawler", "reviewer",
];

/// How a row sends its body.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    None,
    Json(&'static str),
    Raw,
}

/// `(method, path, body, expected status per caller)`. Paths use placeholders filled from
/// the setup: {W} the member's work (episode 1 registered), {W2} a second work of the member,
/// {JR} the member's registration job, {JS} the crawler's scan job, {M} a pending match
/// against {W}, {M2} another pending match against {W}, {N} the notice of a confirmed
/// match, {K} a spare key. The member (not the foreign member) has a webhook. Rows run in
/// order; the ones that change state come last.
#[rustfmt::skip]
pub const TABLE: &[(&str, &str, Body, [u16; 7])] = &[
    //                                                             none bad  adm  mem  for  crw  rev
    ("GET",    "/healthz",                          Body::None,   [200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/readyz",                           Body::None,   [200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/openapi.json",                  Body::None,   [200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/docs",                          Body::None,   [200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/metrics",                          Body::None,   [401, 401, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/whoami",                        Body::None,   [401, 401, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/members",                       Body::None,   [401, 401, 200, 403, 403, 403, 403]),
    ("GET",    "/v1/keys",                          Body::None,   [401, 401, 200, 403, 403, 403, 403]),
    ("GET",    "/v1/audit",                         Body::None,   [401, 401, 200, 403, 403, 403, 403]),
    ("GET",    "/v1/works",                         Body::None,   [401, 401, 403, 200, 200, 403, 403]),
    ("GET",    "/v1/works/{W}",                     Body::None,   [401, 401, 403, 200, 404, 403, 403]),
    ("GET",    "/v1/jobs",                          Body::None,   [401, 401, 200, 200, 200, 200, 403]),
    ("GET",    "/v1/jobs/{JR}",                     Body::None,   [401, 401, 200, 200, 404, 404, 403]),
    ("GET",    "/v1/jobs/{JS}",                     Body::None,   [401, 401, 200, 404, 404, 200, 403]),
    ("GET",    "/v1/matches",                       Body::None,   [401, 401, 403, 200, 200, 403, 200]),
    ("GET",    "/v1/matches/{M}",                   Body::None,   [401, 401, 403, 200, 404, 403, 200]),
    ("GET",    "/v1/matches/{M}/sources",           Body::None,   [401, 401, 403, 200, 404, 403, 200]),
    ("GET",    "/v1/notices",                       Body::None,   [401, 401, 403, 200, 200, 403, 200]),
    ("GET",    "/v1/notices/{N}",                   Body::None,   [401, 401, 403, 200, 404, 403, 200]),
    ("GET",    "/v1/webhook",                       Body::None,   [401, 401, 403, 200, 404, 403, 403]),
    ("GET",    "/v1/webhook/deliveries",            Body::None,   [401, 401, 403, 200, 200, 403, 403]),
    ("POST",   "/v1/members",                       Body::Json(r#"{"name": "matrix"}"#),
                                                                  [401, 401, 201, 403, 403, 403, 403]),
    ("PATCH",  "/v1/members/studio",                Body::Json(r#"{"phone": "+86 10 8888 0000"}"#),
                                                                  [401, 401, 200, 403, 403, 403, 403]),
    ("PUT",    "/v1/whoami/language",               Body::Json(r#"{"language": "en"}"#),
                                                                  [401, 401, 200, 200, 200, 200, 200]),
    ("PUT",    "/v1/members/review-team/review-scope", Body::Json(r#"{"all": true}"#),
                                                                  [401, 401, 200, 403, 403, 403, 403]),
    ("POST",   "/v1/keys",                          Body::Json(r#"{"member": "matrix", "role": "crawler"}"#),
                                                                  [401, 401, 201, 403, 403, 403, 403]),
    ("POST",   "/v1/works",                         Body::Json(r#"{"title": "Another"}"#),
                                                                  [401, 401, 403, 201, 201, 403, 403]),
    ("POST",   "/v1/works/{W}/episodes",            Body::Raw,    [401, 401, 403, 202, 404, 403, 403]),
    ("POST",   "/v1/works/{W}/episodes/ingest",     Body::Json(r#"{"path": "junk.mp4"}"#),
                                                                  [401, 401, 403, 202, 404, 403, 403]),
    ("POST",   "/v1/suspects",                      Body::Raw,    [401, 401, 403, 403, 403, 202, 403]),
    ("POST",   "/v1/suspects/ingest",               Body::Json(r#"{"path": "junk.mp4"}"#),
                                                                  [401, 401, 403, 403, 403, 202, 403]),
    ("GET",    "/v1/works/{W}/papers",              Body::None,   [401, 401, 403, 200, 404, 403, 403]),
    ("GET",    "/v1/notices/{N}/tracking",          Body::None,   [401, 401, 403, 200, 404, 403, 200]),
    ("GET",    "/v1/notices/{N}/document",          Body::None,   [401, 401, 403, 200, 404, 403, 200]),
    ("GET",    "/v1/removal-times",                 Body::None,   [401, 401, 403, 200, 200, 403, 200]),
    ("GET",    "/v1/sightings",                     Body::None,   [401, 401, 403, 200, 200, 403, 200]),
    // No such sighting: only a reviewer gets as far as looking it up.
    ("POST",   "/v1/sightings/999999/notice",       Body::None,   [401, 401, 403, 403, 403, 403, 404]),
    ("GET",    "/public/evidence/{T}",              Body::None,   [404, 404, 404, 404, 404, 404, 404]),
    ("GET",    "/public/evidence/{T}/0-suspect.jpg", Body::None,  [404, 404, 404, 404, 404, 404, 404]),
    ("PUT",    "/v1/works/{W}/rights",              Body::Json(r#"{"registration_number": "R-1", "certificate": {"name": "c.pdf", "content_base64": "eA=="}}"#),
                                                                  [401, 401, 403, 200, 404, 403, 403]),
    ("PUT",    "/v1/works/{W}/authorisation",       Body::Json(r#"{"scope": "notices", "valid_from": 0, "valid_until": 1, "file": {"name": "a.pdf", "content_base64": "eA=="}}"#),
                                                                  [401, 401, 403, 200, 404, 403, 403]),
    ("PUT",    "/v1/matches/{M2}/segments/0",       Body::Json(r#"{"verdict": "accepted"}"#),
                                                                  [401, 401, 403, 403, 403, 403, 200]),
    // {N} is a draft: it cannot be acknowledged before it is sent.
    ("POST",   "/v1/notices/{N}/state",             Body::Json(r#"{"state": "acknowledged"}"#),
                                                                  [401, 401, 403, 409, 404, 403, 409]),
    ("POST",   "/v1/url-reports",                   Body::Json(r#"{"url": "https://x.example/1", "status": "gone"}"#),
                                                                  [401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/matches/{M2}/decision",         Body::Json(r#"{"decision": "reject", "reason": "parody"}"#),
                                                                  [401, 401, 403, 403, 403, 403, 200]),
    ("DELETE", "/v1/works/{W}/episodes/1",          Body::None,   [401, 401, 403, 200, 404, 403, 403]),
    ("DELETE", "/v1/works/{W2}",                    Body::None,   [401, 401, 403, 200, 404, 403, 403]),
    ("DELETE", "/v1/keys/{K}",                      Body::None,   [401, 401, 200, 403, 403, 403, 403]),
    ("PUT",    "/v1/webhook",                       Body::Json(r#"{"url": "https://hooks.example/hook"}"#),
                                                                  [401, 401, 403, 200, 200, 403, 403]),
    ("DELETE", "/v1/webhook",                       Body::None,   [401, 401, 403, 200, 200, 403, 403]),
];

fn send(
    daemon: &Daemon,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Body,
    junk: &std::path::Path,
) -> Reply {
    let url = daemon.url(path);
    match body {
        Body::None => call(method, &url, key, None),
        Body::Json(text) => {
            let value: Value = serde_json::from_str(text).expect("row body is JSON");
            call(method, &url, key, Some(&value))
        }
        Body::Raw => upload(&url, key, junk),
    }
}

/// One call of the walk.
pub struct Observed {
    /// The row's method.
    pub method: &'static str,
    /// The row's path, with its placeholders.
    pub template: &'static str,
    /// The path called.
    pub path: String,
    /// Index into [`CALLERS`].
    pub caller: usize,
    /// The status the table expects.
    pub expected: u16,
    /// What came back.
    pub reply: Reply,
}

/// The walk's site and what it saw.
pub struct Walk {
    /// The daemon, still running.
    pub site: Site,
    /// Every call, in order.
    pub observed: Vec<Observed>,
    /// The spare key (revoked by the walk's last rows).
    pub spare_key: String,
}

/// Sets up a site and calls every row as every caller.
pub fn walk() -> Walk {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ingest = tmp.path().join("ingest");
    std::fs::create_dir_all(&ingest).expect("ingest");
    let junk = ingest.join("junk.mp4");
    std::fs::write(&junk, b"not a video").expect("junk");
    let site = Site::start_in(tmp, &["--ingest-dir", ingest.to_str().expect("utf-8")]);
    let (daemon, admin) = (&site.daemon, &site.admin);
    let member = site.key("studio", "member");
    let foreign = site.key("rival", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let spare = call(
        "POST",
        &daemon.url("/v1/keys"),
        Some(admin),
        Some(&json!({"member": "studio", "role": "crawler"})),
    );
    let spare_key = spare.json["key"].as_str().expect("spare key").to_string();

    // Setup: a work with one episode, a second work, two matches (one confirmed: a notice).
    let mut ids: HashMap<&str, String> = HashMap::new();
    for (name, title) in [("{W}", "Street"), ("{W2}", "Spare")] {
        ids.insert(name, create_work(daemon, &member, &json!({"title": title})));
    }
    let register = upload_episode(daemon, &member, &ids["{W}"], &street(1));
    job_succeeds(daemon, &member, register);
    let scans = [street_variant(1, "mirror"), street(1)]
        .map(|file| queue_suspect(daemon, &crawler, &[("platform", "test")], &file));
    let mut matches = Vec::new();
    for scan in &scans {
        let job = job_succeeds(daemon, &crawler, scan["job_id"].as_i64().expect("job"));
        let suspect = job["suspect_id"].as_i64().expect("suspect");
        let found = matches_of(daemon, &reviewer, suspect);
        matches.push(found[0]["id"].as_i64().expect("a match"));
    }
    let confirmed = decide(daemon, &reviewer, matches[0], "confirm", "copy");
    ids.insert("{N}", confirmed["notice"]["id"].to_string());
    let r = call(
        "PUT",
        &daemon.url("/v1/webhook"),
        Some(&member),
        Some(&json!({"url": "https://hooks.example/setup"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    ids.insert("{M}", matches[0].to_string());
    ids.insert("{M2}", matches[1].to_string());
    ids.insert("{JR}", register.to_string());
    ids.insert("{JS}", scans[0]["job_id"].to_string());
    ids.insert("{K}", spare.json["id"].to_string());
    ids.insert("{T}", "0".repeat(64));

    let bad = format!("rgk_{}", "0".repeat(64));
    let keys: [Option<&str>; 7] = [
        None,
        Some(&bad),
        Some(admin),
        Some(&member),
        Some(&foreign),
        Some(&crawler),
        Some(&reviewer),
    ];
    let mut observed = Vec::new();
    for (method, template, body, expected) in TABLE {
        let mut path = template.to_string();
        for (placeholder, id) in &ids {
            path = path.replace(placeholder, id);
        }
        for (i, key) in keys.iter().enumerate() {
            let reply = send(daemon, method, &path, *key, *body, &junk);
            observed.push(Observed {
                method,
                template,
                path: path.clone(),
                caller: i,
                expected: expected[i],
                reply,
            });
        }
    }
    Walk {
        site,
        observed,
        spare_key,
    }
}

/// A row's path as the route table spells it (`/v1/works/{W}` → `/v1/works/{work_id}`).
pub fn generic(template: &str) -> String {
    let mut out = template.to_string();
    for (from, to) in [
        ("{W2}", "{work_id}"),
        ("{W}", "{work_id}"),
        ("{JR}", "{id}"),
        ("{JS}", "{id}"),
        ("{M2}", "{id}"),
        ("{M}", "{id}"),
        ("{N}", "{id}"),
        ("{K}", "{id}"),
        ("/episodes/1", "/episodes/{number}"),
        ("/members/review-team/", "/members/{name}/"),
        ("/members/studio", "/members/{name}"),
        ("{T}", "{token}"),
        ("/0-suspect.jpg", "/{file}"),
        ("/segments/0", "/segments/{segment}"),
        ("/sightings/999999/", "/sightings/{source_id}/"),
    ] {
        out = out.replace(from, to);
    }
    out
}

/// The `(METHOD, path template)` of every operation a document lists.
pub fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// The `(METHOD, path template)` of every row.
pub fn tested() -> BTreeSet<(String, String)> {
    TABLE
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), generic(p)))
        .collect()
}
