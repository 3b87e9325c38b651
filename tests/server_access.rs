//! Tenancy and roles: every route, called by every kind of caller, answers with exactly the
//! status the table says (`support::route_walk::TABLE`, shared with `tests/api_conformance.rs`).
//! No route but the public ones is reachable without a valid key; a role a route does not
//! admit gets 403; another member's resource is 404.

mod support;

use serde_json::json;
use support::{
    audit_entries, call, create_work, register_episodes, route_walk, street, street_variant,
    submit_suspect, Site,
};

#[test]
fn every_route_answers_every_caller_with_the_status_in_the_table() {
    let walk = route_walk::walk();
    let failures: Vec<String> = walk
        .observed
        .iter()
        .filter(|o| o.reply.status != o.expected)
        .map(|o| {
            format!(
                "{} {} as {}: expected {}, got {} ({})",
                o.method,
                o.template,
                route_walk::CALLERS[o.caller],
                o.expected,
                o.reply.status,
                o.reply.text
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let (daemon, admin) = (&walk.site.daemon, &walk.site.admin);

    // The table covers every route the daemon documents.
    let doc = call("GET", &daemon.url("/v1/openapi.json"), None, None).json;
    let tested = route_walk::tested();
    let missing: Vec<_> = route_walk::documented(&doc)
        .into_iter()
        .filter(|r| !tested.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the table: {missing:?}"
    );

    // A revoked key ({K}, revoked in the last row) authenticates nothing.
    assert_eq!(
        call(
            "GET",
            &daemon.url("/v1/whoami"),
            Some(&walk.spare_key),
            None
        )
        .status,
        401
    );
    // Refused state-changing requests are audited too.
    let entries = audit_entries(daemon, admin);
    assert!(entries
        .iter()
        .any(|e| e["status"] == 401 && e["actor"] == "anonymous"));
    assert!(entries
        .iter()
        .any(|e| e["status"] == 403 && e["actor"] == "rival/member"));
}

#[test]
fn a_reviewer_limited_to_some_members_sees_nothing_of_the_others() {
    let site = Site::start(&[]);
    let (daemon, admin) = (&site.daemon, &site.admin);
    let member = site.key("studio", "member");
    let _other = site.key("rival", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let work = create_work(daemon, &member, &json!({"title": "Street"}));
    register_episodes(daemon, &member, &work, &[street(1)]);
    let mirror = street_variant(1, "mirror");
    submit_suspect(daemon, &crawler, &[("platform", "test")], &mirror);
    let r = call("GET", &daemon.url("/v1/matches"), Some(&reviewer), None);
    let id = r.json["matches"][0]["id"]
        .as_i64()
        .expect("the reviewer sees the match");

    let scope = daemon.url("/v1/members/review-team/review-scope");
    let r = call(
        "PUT",
        &scope,
        Some(admin),
        Some(&json!({"members": ["rival"]})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call("GET", &daemon.url("/v1/matches"), Some(&reviewer), None);
    assert_eq!(r.json["matches"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        call(
            "GET",
            &daemon.url(&format!("/v1/matches/{id}")),
            Some(&reviewer),
            None
        )
        .status,
        404
    );
    let decide = daemon.url(&format!("/v1/matches/{id}/decision"));
    let body = json!({"decision": "confirm", "reason": "x"});
    assert_eq!(
        call("POST", &decide, Some(&reviewer), Some(&body)).status,
        404
    );

    let r = call(
        "PUT",
        &scope,
        Some(admin),
        Some(&json!({"members": ["studio"]})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        call("POST", &decide, Some(&reviewer), Some(&body)).status,
        200
    );
}
