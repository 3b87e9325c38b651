//! Members as legal parties, over HTTP against a real daemon: a member's legal profile is
//! accepted at creation, listed, and editable; a new reviewer key reviews nothing until an
//! admin assigns it members; a key's interface language is kept and shown on its principal.

mod support;

use serde_json::json;
use support::{
    call, create_work, job_succeeds, queue_suspect, register_episodes, street, street_variant, Site,
};

#[test]
fn a_member_is_created_with_its_legal_profile_and_edited_later() {
    let site = Site::start(&[]);
    let (daemon, admin) = (&site.daemon, &site.admin);
    let body = json!({
        "name": "星河影业",
        "registration_id": "91110105MA01XYZ12K",
        "contact": "李明",
        "phone": "+86 10 6500 0000",
        "email": "legal@xinghe.example",
        "address": "北京市朝阳区建国路 1 号",
    });
    let r = call("POST", &daemon.url("/v1/members"), Some(admin), Some(&body));
    assert_eq!(r.status, 201, "{}", r.text);
    for field in ["registration_id", "contact", "phone", "email", "address"] {
        assert_eq!(r.json[field], body[field], "{field} answered: {}", r.text);
    }
    assert_eq!(r.json["legal_missing"], json!([]));

    // A member made before its paperwork has every field missing, by name.
    let r = call(
        "POST",
        &daemon.url("/v1/members"),
        Some(admin),
        Some(&json!({"name": "newcomer", "contact": "  "})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json["legal_missing"],
        json!(["registration_id", "contact", "phone", "email", "address"])
    );

    let r = call("GET", &daemon.url("/v1/members"), Some(admin), None);
    assert_eq!(r.status, 200);
    let listed = r.json["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["name"] == "星河影业")
        .expect("the member is listed")
        .clone();
    assert_eq!(listed["address"], body["address"]);
    assert_eq!(listed["registration_id"], body["registration_id"]);

    // PATCH replaces what it names, clears what it sets empty, keeps the rest.
    let url = daemon.url(&format!("/v1/members/{}", support::url_encode("星河影业")));
    let r = call(
        "PATCH",
        &url,
        Some(admin),
        Some(&json!({"phone": "+86 10 6500 1111", "email": ""})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["phone"], "+86 10 6500 1111");
    assert_eq!(r.json["contact"], "李明");
    assert!(r.json.get("email").is_none(), "{}", r.text);
    assert_eq!(r.json["legal_missing"], json!(["email"]));
    let r = call("GET", &daemon.url("/v1/members"), Some(admin), None);
    let listed = r.json["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["name"] == "星河影业")
        .expect("listed")
        .clone();
    assert_eq!(listed["phone"], "+86 10 6500 1111", "the edit is stored");

    let r = call(
        "PATCH",
        &daemon.url("/v1/members/nobody"),
        Some(admin),
        Some(&json!({"phone": "1"})),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let r = call(
        "PATCH",
        &url,
        Some(admin),
        Some(&json!({"address": "x".repeat(501)})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
}

#[test]
fn a_new_reviewer_key_sees_nothing_until_an_admin_assigns_members() {
    let site = Site::start(&[]);
    let (daemon, admin) = (&site.daemon, &site.admin);
    let studio = site.key("studio", "member");
    let crawler = site.key("crawler-co", "crawler");
    let work = create_work(daemon, &studio, &json!({"title": "Street"}));
    register_episodes(daemon, &studio, &work, &[street(1)]);
    let r = queue_suspect(
        daemon,
        &crawler,
        &[("platform", "douyin")],
        &street_variant(1, "mirror"),
    );
    job_succeeds(daemon, &crawler, r["job_id"].as_i64().expect("job"));
    let seen = call("GET", &daemon.url("/v1/matches"), Some(&studio), None);
    let id = seen.json["matches"][0]["id"].as_i64().expect("a match");

    // The key is made the plain way, with no scope step.
    let r = call(
        "POST",
        &daemon.url("/v1/members"),
        Some(admin),
        Some(&json!({"name": "new-team"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = call(
        "POST",
        &daemon.url("/v1/keys"),
        Some(admin),
        Some(&json!({"member": "new-team", "role": "reviewer"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let reviewer = r.json["key"].as_str().expect("key").to_string();
    let r = call("GET", &daemon.url("/v1/matches"), Some(&reviewer), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["matches"], json!([]), "no scope, no matches");
    let one = daemon.url(&format!("/v1/matches/{id}"));
    assert_eq!(call("GET", &one, Some(&reviewer), None).status, 404);
    let decide = daemon.url(&format!("/v1/matches/{id}/decision"));
    let body = json!({"decision": "reject", "reason": "x"});
    assert_eq!(
        call("POST", &decide, Some(&reviewer), Some(&body)).status,
        404
    );

    let scope = daemon.url("/v1/members/new-team/review-scope");
    let r = call(
        "PUT",
        &scope,
        Some(admin),
        Some(&json!({"members": ["studio"]})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(call("GET", &one, Some(&reviewer), None).status, 200);
    let r = call(
        "PUT",
        &scope,
        Some(admin),
        Some(&json!({"members": ["studio"], "all": true})),
    );
    assert_eq!(r.status, 400, "either a list or all: {}", r.text);
}

#[test]
fn a_key_keeps_its_interface_language_on_its_principal() {
    let site = Site::start(&[]);
    let reviewer = site.key("review-team", "reviewer");
    let whoami = site.daemon.url("/v1/whoami");
    let r = call("GET", &whoami, Some(&reviewer), None);
    assert_eq!(r.json["language"], json!(null), "{}", r.text);
    let set = site.daemon.url("/v1/whoami/language");
    let r = call(
        "PUT",
        &set,
        Some(&reviewer),
        Some(&json!({"language": "en"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        call("GET", &whoami, Some(&reviewer), None).json["language"],
        "en"
    );
    let r = call(
        "PUT",
        &set,
        Some(&reviewer),
        Some(&json!({"language": "fr"})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let r = call(
        "PUT",
        &set,
        Some(&reviewer),
        Some(&json!({"language": null})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        call("GET", &whoami, Some(&reviewer), None).json["language"],
        json!(null)
    );
}
