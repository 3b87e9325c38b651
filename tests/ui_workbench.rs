//! The review workbench over plain HTTP: a compilation confirmed in one go, and the session's
//! security properties (logout, key revocation, CSRF on every form, roles, tenancy of stills and
//! evidence files, and the API refusing the cookie).

mod support;

use serde_json::json;
use support::web::{Form, Web};
use support::{
    audit_entries, call, create_work, fixtures, matches_of, register_episodes, street,
    street_variant, submit_suspect, wait_deliveries, Daemon, Site,
};

/// A work of `episodes` street episodes owned by `member`; returns its id.
fn register_street(daemon: &Daemon, member: &str, episodes: u32) -> String {
    let body = json!({"title": "Street", "released_at": 1_795_000_000});
    let work_id = create_work(daemon, member, &body);
    let files: Vec<_> = (1..=episodes).map(street).collect();
    register_episodes(daemon, member, &work_id, &files);
    work_id
}

#[test]
fn a_compilation_is_confirmed_in_one_go_with_a_notice_per_episode() {
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let studio = site.key("studio", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let work_id = register_street(daemon, &studio, 3);

    let submitted = submit_suspect(
        daemon,
        &crawler,
        &[
            ("platform", "bilibili"),
            ("url", "https://b.example/full"),
            ("uploader", "full-series"),
        ],
        &fixtures().join("compilations/street_full.mp4"),
    );
    let suspect = submitted["suspect_id"].as_i64().expect("suspect id");
    let found = matches_of(daemon, &reviewer, suspect);
    let mut episodes: Vec<u64> = found
        .iter()
        .map(|m| m["episode"].as_u64().expect("episode"))
        .collect();
    episodes.sort_unstable();
    assert_eq!(
        episodes,
        [1, 2, 3],
        "the registered episodes in the compilation"
    );

    let mut web = Web::new(daemon);
    assert_eq!(web.log_in(&reviewer), "/ui/queue");
    let first = found[0]["id"].as_i64().expect("match id");
    let page = web.get(&format!("/ui/matches/{first}"));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.matches("<svg class=\"lane").count(),
        3,
        "the time line has a lane for each episode found in the upload"
    );
    assert!(page.body.matches("<rect class=\"other-segment\"").count() >= 2);
    let form = Form::find(&page.body, "confirm-all").expect("form#confirm-all on a compilation");
    let action = form.action.clone().expect("action");
    let csrf = form.value("csrf").expect("csrf");

    // Without the token nothing is decided.
    let refused = web.post_form(&action, &[("reason", "all of it")]);
    assert_eq!(refused.status, 403);
    assert!(matches_of(daemon, &reviewer, suspect)
        .iter()
        .all(|m| m["state"] == "pending_review"));

    let done = web.post_form(
        &action,
        &[
            ("reason", "full-series upload"),
            ("csrf", &csrf),
            ("back", &first.to_string()),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let decided = matches_of(daemon, &reviewer, suspect);
    assert!(
        decided.iter().all(|m| m["state"] == "confirmed"),
        "every episode confirmed: {decided:?}"
    );
    let r = call("GET", &daemon.url("/v1/notices"), Some(&studio), None);
    let notices = r.json["notices"].as_array().expect("notices");
    assert_eq!(notices.len(), 3, "one notice per episode");
    let ids: std::collections::BTreeSet<&str> = notices
        .iter()
        .map(|n| n["notice"]["notice_id"].as_str().expect("public id"))
        .collect();
    assert_eq!(ids.len(), 3, "notice ids are distinct: {ids:?}");
    assert!(notices
        .iter()
        .all(|n| n["notice"]["infringing_copies"][0]["url"] == "https://b.example/full"));

    // Withdrawing takes the member's kept episode files back; the notices' evidence stays.
    let references = site.data().join("references");
    let kept = || std::fs::read_dir(&references).map_or(0, |d| d.count());
    assert_eq!(kept(), 3, "one kept file per registered episode");
    let r = call(
        "DELETE",
        &daemon.url(&format!("/v1/works/{work_id}/episodes/3")),
        Some(&studio),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(kept(), 2);
    let r = call(
        "DELETE",
        &daemon.url(&format!("/v1/works/{work_id}")),
        Some(&studio),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(kept(), 0);
    let bundle = notices[0]["notice"]["evidence"]["bundle_file"]
        .as_str()
        .expect("bundle file");
    let match_dir = site.data().join(format!(
        "evidence/match-{}",
        notices[0]["match_id"].as_i64().expect("match id")
    ));
    assert!(
        match_dir.join(bundle).exists(),
        "notice evidence outlives withdrawal"
    );

    // The workbench's decision is audited like an API call.
    let entries = audit_entries(daemon, &site.admin);
    let bulk = entries
        .iter()
        .find(|e| e["action"] == "POST /ui/suspects/{id}/confirm-all" && e["status"] == 303)
        .expect("the bulk confirmation is audited");
    assert_eq!(bulk["actor"], "review-team/reviewer");
    assert!(entries
        .iter()
        .any(|e| e["action"] == "POST /ui/suspects/{id}/confirm-all" && e["status"] == 403));
}

#[test]
fn a_session_is_only_as_good_as_its_key_and_its_forms_tokens() {
    let site = Site::start(&[]);
    let (daemon, admin) = (&site.daemon, &site.admin);
    let studio = site.key("studio", "member");
    let rival = site.key("rival", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    register_street(daemon, &studio, 1);
    let submitted = submit_suspect(
        daemon,
        &crawler,
        &[("platform", "douyin"), ("url", "https://d.example/1")],
        &street_variant(1, "mirror"),
    );
    let suspect = submitted["suspect_id"].as_i64().expect("suspect id");
    let match_id = matches_of(daemon, &reviewer, suspect)[0]["id"]
        .as_i64()
        .expect("match id");

    // Not logged in: every page sends the visitor to the login form.
    let mut anonymous = Web::new(daemon);
    for path in [
        "/ui/queue",
        &format!("/ui/matches/{match_id}"),
        "/ui/member",
    ] {
        let page = anonymous.get(path);
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location.as_deref(), Some("/ui/login"), "{path}");
    }

    // Roles: crawlers and admins have nothing to review; members have no queue.
    let mut crawling = Web::new(daemon);
    crawling.log_in(&crawler);
    assert_eq!(crawling.get("/ui/queue").status, 403);
    assert_eq!(crawling.get(&format!("/ui/matches/{match_id}")).status, 403);
    let mut member = Web::new(daemon);
    assert_eq!(member.log_in(&studio), "/ui/member");
    assert_eq!(member.get("/ui/queue").status, 403);

    // Tenancy: another member sees neither the match, its stills, nor anything of its notice.
    let mut other = Web::new(daemon);
    other.log_in(&rival);
    for path in [
        format!("/ui/matches/{match_id}"),
        format!("/ui/matches/{match_id}/stills/0-suspect.jpg"),
        format!("/ui/matches/{match_id}/stills/0-registered.jpg"),
    ] {
        assert_eq!(other.get(&path).status, 404, "{path}");
    }
    let still = member.get(&format!("/ui/matches/{match_id}/stills/0-registered.jpg"));
    assert_eq!(
        (still.status, still.content_type.as_str()),
        (200, "image/jpeg")
    );

    // A member's webhook cannot reach into the daemon's own network: an address literal is
    // refused when set, a host name that resolves to one fails when delivered.
    let hook = |url: &str| {
        call(
            "PUT",
            &daemon.url("/v1/webhook"),
            Some(&studio),
            Some(&json!({ "url": url })),
        )
    };
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let r = hook(url);
        assert_eq!(r.status, 400, "{url}: {}", r.text);
    }
    let r = hook("http://localhost:9/hook");
    assert_eq!(r.status, 200, "{}", r.text);

    // The reviewer confirms; the notice's files are its rights holder's and reviewers' only.
    let mut web = Web::new(daemon);
    web.log_in(&reviewer);
    let page = web.get(&format!("/ui/matches/{match_id}"));
    let form = Form::find(&page.body, "decision").expect("form#decision");
    let csrf = form.value("csrf").expect("csrf");
    let wrong = web.post_form(
        &format!("/ui/matches/{match_id}/decision"),
        &[
            ("decision", "confirm"),
            ("reason", "x"),
            ("csrf", &"0".repeat(64)),
        ],
    );
    assert_eq!(wrong.status, 403, "a forged token is refused");
    let done = web.post_form(
        &format!("/ui/matches/{match_id}/decision"),
        &[
            ("decision", "confirm"),
            ("reason", "mirrored copy"),
            ("csrf", &csrf),
            ("next", "https://evil.example/"),
        ],
    );
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/ui/matches/{match_id}").as_str()),
        "an off-site `next` is not followed"
    );
    let r = call("GET", &daemon.url("/v1/notices"), Some(&studio), None);
    let notice = &r.json["notices"][0];
    let notice_id = notice["id"].as_i64().expect("notice id");
    let bundle = notice["notice"]["evidence"]["bundle_file"]
        .as_str()
        .expect("bundle file");
    let bundle_path = format!("/ui/notices/{notice_id}/evidence/{bundle}");
    assert_eq!(member.get(&bundle_path).status, 200);
    assert_eq!(other.get(&bundle_path).status, 404);
    assert_eq!(other.get(&format!("/ui/notices/{notice_id}")).status, 404);
    assert_eq!(
        other.get(&format!("/ui/notices/{notice_id}.json")).status,
        404
    );
    for name in [
        "..%2F..%2Freelguard.sqlite3",
        "bundle-..%2F..%2Freelguard.sqlite3",
        "x.jpg",
    ] {
        let path = format!("/ui/notices/{notice_id}/evidence/{name}");
        assert_eq!(member.get(&path).status, 404, "{path}");
    }

    let delivery = wait_deliveries(daemon, &studio, |d| {
        d.first()
            .is_some_and(|first| first["attempts"].as_u64().unwrap_or(0) >= 1)
    })[0]
        .clone();
    assert!(
        delivery["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("private or local")),
        "a host resolving to loopback is not contacted: {delivery}"
    );

    let r = call("GET", &daemon.url("/metrics"), Some(admin), None);
    assert!(
        r.text
            .contains("reelguard_webhook_attempts_total{outcome=\"failed\"}"),
        "{}",
        r.text
    );
    let stills_served = r
        .text
        .lines()
        .find_map(|l| l.strip_prefix("reelguard_still_request_seconds_count "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(stills_served.is_some_and(|n| n >= 1), "{}", r.text);

    // The cookie is no key for the API.
    let cookie = web.cookie_header();
    let whoami = Web::with_cookies(daemon, &cookie).get("/v1/whoami");
    assert_eq!(whoami.status, 401);

    // Logging out needs the token too, then ends the session.
    let refused = web.post_form("/ui/logout", &[]);
    assert_eq!(refused.status, 403);
    let page = web.get("/ui/queue");
    let csrf = Form::find(&page.body, "logout")
        .and_then(|f| f.value("csrf"))
        .expect("form#logout");
    assert_eq!(web.post_form("/ui/logout", &[("csrf", &csrf)]).status, 303);
    let mut stale = Web::with_cookies(daemon, &cookie);
    assert_eq!(
        stale.get("/ui/queue").status,
        303,
        "a logged-out cookie opens nothing"
    );

    // Revoking the key ends its sessions at once.
    let mut revoked = Web::new(daemon);
    let key = site.key("temp-review", "reviewer");
    revoked.log_in(&key);
    assert_eq!(revoked.get("/ui/queue").status, 200);
    let r = call("GET", &daemon.url("/v1/keys"), Some(admin), None);
    let key_id = r.json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["member"] == "temp-review")
        .and_then(|k| k["id"].as_i64())
        .expect("key id");
    let r = call(
        "DELETE",
        &daemon.url(&format!("/v1/keys/{key_id}")),
        Some(admin),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(revoked.get("/ui/queue").status, 303);
}
