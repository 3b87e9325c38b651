//! From a confirmed match to a removed copy, over HTTP against a real daemon that sends as the
//! alliance (an agent): a notice cannot leave draft until the rights holder's profile, the
//! work's proof of rights and a valid authorisation are there, and the refusal names each
//! missing piece; a rejected segment leaves the notice and its stills; the sent notice is a
//! Chinese document (English on request) with China Standard Time dates and a public evidence
//! link that works logged out and opens nothing else; a notice moves through its states by the
//! rules, a crawler's "URL gone" removes it, and the time to removal is measured per platform.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::takedown::{
    alliance_site, now as reelguard_now, paper, two_segment_copy, Papers, AGENT,
};
use support::{
    call, create_work, decide, job_succeeds, queue_suspect, register_episodes, street, Site,
};

struct Case {
    site: Site,
    studio: String,
    crawler: String,
    reviewer: String,
    work_id: String,
}

/// The studio registers episode 1; a crawler submits `file` seen on `platform` at `url`,
/// found `found_at`; answers the pending match.
fn crawl(case: &Case, file: &Path, platform: &str, url: &str, found_at: i64) -> Value {
    let daemon = &case.site.daemon;
    let found = found_at.to_string();
    let meta = [
        ("platform", platform),
        ("url", url),
        ("uploader", "搬运工"),
        ("title_seen", "《街头》第1集 高清"),
        ("found_at", found.as_str()),
    ];
    let r = queue_suspect(daemon, &case.crawler, &meta, file);
    job_succeeds(daemon, &case.crawler, r["job_id"].as_i64().expect("job"));
    let suspect = r["suspect_id"].as_i64().expect("suspect");
    let matches = support::matches_of(daemon, &case.reviewer, suspect);
    assert_eq!(matches.len(), 1, "{matches:?}");
    matches[0].clone()
}

fn case() -> Case {
    let site = alliance_site();
    let studio = site.key("星河影业", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let work_id = create_work(&site.daemon, &studio, &json!({"title": "街头"}));
    register_episodes(&site.daemon, &studio, &work_id, &[street(1)]);
    Case {
        site,
        studio,
        crawler,
        reviewer,
        work_id,
    }
}

/// Records everything a notice needs: profile, rights, a valid authorisation.
fn complete_papers(case: &Case) {
    Papers {
        site: &case.site,
        member: "星河影业",
        member_key: &case.studio,
        work_id: &case.work_id,
    }
    .complete();
}

fn move_notice(case: &Case, key: &str, id: i64, state: &str, reason: &str) -> support::Reply {
    call(
        "POST",
        &case.site.daemon.url(&format!("/v1/notices/{id}/state")),
        Some(key),
        Some(&json!({"state": state, "reason": reason})),
    )
}

/// Confirms the match into a draft notice; answers its id.
fn confirm(case: &Case, match_id: i64) -> i64 {
    let r = decide(
        &case.site.daemon,
        &case.reviewer,
        match_id,
        "confirm",
        "同一画面，镜像",
    );
    r["notice"]["id"].as_i64().expect("notice id")
}

fn get_bytes(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).call().expect("GET");
    let status = r.status().as_u16();
    let bytes = r.body_mut().read_to_vec().unwrap_or_default();
    (status, bytes)
}

#[test]
fn a_notice_cannot_be_sent_until_its_papers_are_complete_and_the_refusal_names_each_gap() {
    let case = case();
    let m = crawl(
        &case,
        &support::street_variant(1, "mirror"),
        "douyin",
        "https://www.douyin.example/video/1",
        1_700_000_000,
    );
    let notice = confirm(&case, m["id"].as_i64().expect("id"));
    let r = call(
        "GET",
        &case
            .site
            .daemon
            .url(&format!("/v1/notices/{notice}/tracking")),
        Some(&case.studio),
        None,
    );
    assert_eq!(r.json["state"], "draft", "{}", r.text);

    let r = move_notice(&case, &case.reviewer, notice, "sent", "");
    assert_eq!(r.status, 422, "{}", r.text);
    let missing: Vec<String> = r.json["error"]["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .map(|v| v.as_str().expect("text").to_string())
        .collect();
    for field in ["registration_id", "contact", "phone", "email", "address"] {
        assert!(
            missing.contains(&format!("rights holder's {field}")),
            "{field}: {missing:?}"
        );
    }
    assert!(missing
        .iter()
        .any(|m| m.starts_with("proof of rights for work")));
    assert!(missing
        .iter()
        .any(|m| m.contains("authorisation of 短剧版权联盟")));
    let r = call(
        "GET",
        &case
            .site
            .daemon
            .url(&format!("/v1/works/{}/papers", case.work_id)),
        Some(&case.studio),
        None,
    );
    assert_eq!(
        r.json["missing"].as_array().map(Vec::len),
        Some(missing.len())
    );

    // An authorisation that has run out is named as such.
    complete_papers(&case);
    let r = call(
        "PUT",
        &case
            .site
            .daemon
            .url(&format!("/v1/works/{}/authorisation", case.work_id)),
        Some(&case.studio),
        Some(&json!({
            "scope": "发送删除通知",
            "valid_from": 1_600_000_000,
            "valid_until": 1_650_000_000,
            "file": paper("旧授权书.pdf", b"old"),
        })),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = move_notice(&case, &case.reviewer, notice, "sent", "");
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.json["error"]["missing"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
    assert!(r.text.contains("a valid authorisation"), "{}", r.text);

    complete_papers(&case);
    let r = move_notice(&case, &case.studio, notice, "sent", "");
    assert_eq!(r.status, 403, "only a reviewer sends: {}", r.text);
    let r = move_notice(&case, &case.reviewer, notice, "sent", "");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["state"], "sent");
    let r = move_notice(&case, &case.reviewer, notice, "sent", "");
    assert_eq!(r.status, 409, "sent once: {}", r.text);

    // The document is Chinese by default, in the NCA form's sections, CST dates.
    let doc = call(
        "GET",
        &case
            .site
            .daemon
            .url(&format!("/v1/notices/{notice}/document")),
        Some(&case.studio),
        None,
    )
    .text;
    for expected in [
        "<html lang=\"zh-CN\">",
        "要求删除或断开链接侵权网络内容的通知",
        "一、权利人信息",
        "91110105MA01XYZ12K",
        "北京市朝阳区建国路 1 号",
        "二、代理人信息及授权",
        AGENT,
        "信息网络传播权维权，发送删除通知",
        "国作登字-2026-I-00012345",
        "https://www.douyin.example/video/1",
        "搬运工",
        "《街头》第1集 高清",
        // found_at 1700000000 is 2023-11-14 22:13 UTC, 06:13 the next day in Beijing.
        "2023-11-15 06:13",
        "北京时间",
        "对本通知书的真实性负责",
        "mirror",
        "video_phash",
        "@media print",
        "/public/evidence/",
    ] {
        assert!(doc.contains(expected), "{expected:?} missing from:\n{doc}");
    }
    let en = call(
        "GET",
        &case
            .site
            .daemon
            .url(&format!("/v1/notices/{notice}/document?lang=en")),
        Some(&case.studio),
        None,
    )
    .text;
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Article 14"),
        "{en}"
    );
    assert!(en.contains("China Standard Time"), "{en}");
}

#[test]
fn a_rejected_segment_leaves_the_notice_and_its_stills() {
    let case = case();
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = two_segment_copy(tmp.path());
    let m = crawl(
        &case,
        &copy,
        "kuaishou",
        "https://www.kuaishou.example/v/2",
        1_700_000_000,
    );
    let segments = m["segments"].as_array().expect("segments").clone();
    assert_eq!(segments.len(), 2, "{m}");
    let id = m["id"].as_i64().expect("id");
    let daemon = &case.site.daemon;
    let r = call(
        "PUT",
        &daemon.url(&format!("/v1/matches/{id}/segments/0")),
        Some(&case.reviewer),
        Some(&json!({"verdict": "rejected"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["rejected_segments"], json!([0]));
    let r = call(
        "PUT",
        &daemon.url(&format!("/v1/matches/{id}/segments/7")),
        Some(&case.reviewer),
        Some(&json!({"verdict": "rejected"})),
    );
    assert_eq!(r.status, 404, "no such segment: {}", r.text);

    let notice = confirm(&case, id);
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice}")),
        Some(&case.studio),
        None,
    );
    let body = &r.json["notice"];
    assert_eq!(body["evidence"]["segments"], json!([segments[1].clone()]));
    assert_eq!(body["matched_time_ranges"], json!([segments[1].clone()]));
    assert_eq!(body["evidence"]["segment_indices"], json!([1]));
    let stills = body["evidence"]["stills"].as_array().expect("stills");
    assert!(!stills.is_empty());
    assert!(
        stills.iter().all(|s| s["segment"] == 1),
        "only the kept segment's stills: {stills:?}"
    );
    // The bundle the notice cites says the same.
    let bundle = body["evidence"]["bundle_file"].as_str().expect("bundle");
    let path = case
        .site
        .data()
        .join(format!("evidence/match-{id}/{bundle}"));
    let cited: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("bundle file")).expect("json");
    assert_eq!(cited["segments"], json!([segments[1].clone()]));
    assert!(cited["stills"]
        .as_array()
        .expect("stills")
        .iter()
        .all(|s| s["segment"] == 1));
    // The rejected segment's time range is nowhere in the document.
    let doc = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice}/document")),
        Some(&case.studio),
        None,
    )
    .text;
    let first_start = segments[0]["suspect_start_s"].to_string();
    let first_end = segments[0]["suspect_end_s"].to_string();
    assert!(
        !doc.contains(&format!("{first_start}–{first_end}")),
        "rejected range {first_start}–{first_end} in:\n{doc}"
    );
}

#[test]
fn the_public_evidence_link_opens_logged_out_and_nothing_else() {
    let case = case();
    let m = crawl(
        &case,
        &support::street_variant(1, "mirror"),
        "bilibili",
        "https://www.bilibili.example/video/BV1",
        1_700_000_000,
    );
    let notice = confirm(&case, m["id"].as_i64().expect("id"));
    complete_papers(&case);
    let daemon = &case.site.daemon;
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice}")),
        Some(&case.studio),
        None,
    );
    assert!(
        r.json["notice"]["public_evidence"].is_null(),
        "a draft has no link yet"
    );
    let r = move_notice(&case, &case.reviewer, notice, "sent", "");
    assert_eq!(r.status, 200, "{}", r.text);
    let body = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice}")),
        Some(&case.studio),
        None,
    )
    .json["notice"]
        .clone();
    let link = body["public_evidence"]["url"].as_str().expect("link");
    let token = link.rsplit('/').next().expect("token").to_string();
    assert_eq!(token.len(), 64, "256 random bits: {link}");
    let page_path = format!("/public/evidence/{token}");
    assert!(link.ends_with(&page_path));
    assert!(
        link.starts_with(&format!("{}/", daemon.base)),
        "the link points at the daemon's bound address: {link}"
    );

    // Logged out: no key, no cookie.
    let page = call("GET", &daemon.url(&page_path), None, None);
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("https://www.bilibili.example/video/BV1"));
    assert!(page.text.contains("要求删除或断开链接侵权网络内容的通知"));
    assert!(
        !page.text.contains("同一画面，镜像") && !page.text.contains("review-team"),
        "the reviewer's reason and name stay private"
    );
    assert!(!page.text.contains("/v1/") && !page.text.contains("/ui/"));
    // Every still it shows is served under the token, byte for byte what the bundle hashed.
    let stills = body["evidence"]["stills"].as_array().expect("stills");
    assert!(!stills.is_empty());
    for still in stills {
        for side in ["suspect", "registered"] {
            let file = still[side]["file"].as_str().expect("file");
            assert!(
                page.text.contains(&format!("src=\"{token}/{file}\"")),
                "{file}"
            );
            let (status, bytes) = get_bytes(&daemon.url(&format!("{page_path}/{file}")));
            assert_eq!(status, 200, "{file}");
            assert_eq!(
                format!("{:x}", Sha256::digest(&bytes)),
                still[side]["sha256"].as_str().expect("sha256")
            );
        }
    }
    let bundle = body["evidence"]["bundle_file"].as_str().expect("bundle");
    let (status, bytes) = get_bytes(&daemon.url(&format!("{page_path}/{bundle}")));
    assert_eq!(status, 200);
    assert_eq!(
        format!("{:x}", Sha256::digest(&bytes)),
        body["evidence"]["bundle_sha256"].as_str().expect("sha")
    );

    // A wrong token, a file the notice does not cite, a path out: 404, and the API stays shut.
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).expect("hex");
    for path in [
        format!("/public/evidence/{wrong}"),
        format!("/public/evidence/{wrong}/{bundle}"),
        "/public/evidence/short".to_string(),
        format!("{page_path}/99-suspect.jpg"),
        format!("{page_path}/..%2F..%2Freelguard.sqlite3"),
    ] {
        let r = call("GET", &daemon.url(&path), None, None);
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    for path in [
        format!("/v1/notices/{notice}"),
        format!("/v1/notices/{notice}/document"),
        "/v1/matches".to_string(),
    ] {
        assert_eq!(
            call("GET", &daemon.url(&path), None, None).status,
            401,
            "{path}"
        );
    }
}

#[test]
fn a_notice_moves_by_the_rules_and_time_to_removal_is_measured_per_platform() {
    let case = case();
    let url = "https://www.douyin.example/video/9";
    let two_hours_ago = reelguard_now() - 7200;
    let m = crawl(
        &case,
        &support::street_variant(1, "borders"),
        "douyin",
        url,
        two_hours_ago,
    );
    let notice = confirm(&case, m["id"].as_i64().expect("id"));
    complete_papers(&case);
    // A crawler's report does not touch a draft.
    let report = case.site.daemon.url("/v1/url-reports");
    let r = call(
        "POST",
        &report,
        Some(&case.crawler),
        Some(&json!({"url": url, "status": "gone"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["notices"], json!([]));

    assert_eq!(
        move_notice(&case, &case.reviewer, notice, "sent", "").status,
        200
    );
    let r = move_notice(&case, &case.studio, notice, "acknowledged", "平台已受理");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = move_notice(&case, &case.studio, notice, "restored", "");
    assert_eq!(
        r.status, 409,
        "restored only after a counter-notice: {}",
        r.text
    );
    let r = move_notice(&case, &case.studio, notice, "counter_noticed", "");
    assert_eq!(
        r.status, 400,
        "a counter-notice needs its reasons: {}",
        r.text
    );

    let r = call(
        "POST",
        &report,
        Some(&case.crawler),
        Some(&json!({"url": url, "status": "still_up"})),
    );
    assert_eq!(
        r.json["notices"],
        json!([{"notice_id": notice, "state": "acknowledged"}])
    );
    let r = call(
        "POST",
        &report,
        Some(&case.crawler),
        Some(&json!({"url": url, "status": "gone"})),
    );
    assert_eq!(
        r.json["notices"],
        json!([{"notice_id": notice, "state": "removed"}])
    );

    let r = move_notice(
        &case,
        &case.studio,
        notice,
        "counter_noticed",
        "上传者称已获得授权（第十六条）",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let states: Vec<&str> = r.json["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["state"].as_str().expect("state"))
        .collect();
    assert_eq!(
        states,
        [
            "sent",
            "acknowledged",
            "acknowledged",
            "removed",
            "counter_noticed"
        ]
    );
    let events = r.json["events"].as_array().expect("events");
    assert!(events
        .iter()
        .all(|e| e["at"].as_i64() >= Some(two_hours_ago)));
    assert_eq!(events[3]["actor"], "crawler:crawler-co");
    assert_eq!(events[4]["reason"], "上传者称已获得授权（第十六条）");

    // The member sees the time from first sighting to removal, per platform.
    let r = call(
        "GET",
        &case.site.daemon.url("/v1/removal-times"),
        Some(&case.studio),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let platforms = r.json["platforms"].as_array().expect("platforms");
    assert_eq!(platforms.len(), 1, "{}", r.text);
    assert_eq!(platforms[0]["platform"], "douyin");
    assert_eq!(platforms[0]["removed"], 1);
    assert_eq!(platforms[0]["within_72h"], 1);
    let hours = platforms[0]["median_hours"].as_f64().expect("hours");
    assert!(
        (2.0..2.2).contains(&hours),
        "found two hours before removal: {hours}"
    );
    // Another member sees none of it.
    let rival = case.site.key("rival", "member");
    let r = call(
        "GET",
        &case.site.daemon.url("/v1/removal-times"),
        Some(&rival),
        None,
    );
    assert_eq!(r.json["platforms"], json!([]));
}

#[test]
fn a_repost_on_a_second_platform_is_noticed_in_one_step_and_only_its_notice_follows_its_url() {
    let case = case();
    let daemon = &case.site.daemon;
    let file = support::street_variant(1, "mirror");
    let first_url = "https://www.douyin.example/video/5";
    let m = crawl(&case, &file, "douyin", first_url, 1_700_000_000);
    let match_id = m["id"].as_i64().expect("id");
    let sightings = |key: &str| call("GET", &daemon.url("/v1/sightings"), Some(key), None);
    let first = confirm(&case, match_id);
    complete_papers(&case);
    assert_eq!(
        move_notice(&case, &case.reviewer, first, "sent", "").status,
        200
    );
    assert_eq!(sightings(&case.reviewer).json["sightings"], json!([]));

    // The same file, re-posted on another platform: deduplicated into the confirmed match.
    let repost_url = "https://www.bilibili.example/video/BV9";
    let r = queue_suspect(
        daemon,
        &case.crawler,
        &[
            ("platform", "bilibili"),
            ("url", repost_url),
            ("uploader", "二次搬运"),
            ("title_seen", "街头 第1集 合集版"),
            ("found_at", "1700003600"),
        ],
        &file,
    );
    assert_eq!(r["deduplicated"], true, "{r}");
    let listed = sightings(&case.reviewer).json["sightings"].clone();
    let listed = listed.as_array().expect("sightings");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["match_id"], match_id);
    assert_eq!(listed[0]["notice_id"], first);
    assert_eq!(listed[0]["source"]["platform"], "bilibili");
    let source = listed[0]["source"]["id"].as_i64().expect("source id");
    assert_eq!(
        sightings(&case.studio).json["sightings"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the rights holder sees its re-posts"
    );
    let rival = case.site.key("rival", "member");
    assert_eq!(sightings(&rival).json["sightings"], json!([]));

    // One step, by a reviewer only: a draft naming the re-post alone, on the same evidence.
    let notify = daemon.url(&format!("/v1/sightings/{source}/notice"));
    assert_eq!(call("POST", &notify, Some(&case.studio), None).status, 403);
    let r = call("POST", &notify, Some(&case.reviewer), None);
    assert_eq!(r.status, 200, "{}", r.text);
    let made = r.json["notices"].as_array().expect("notices");
    assert_eq!(made.len(), 1, "{}", r.text);
    let repost = made[0]["id"].as_i64().expect("notice id");
    let body = &made[0]["notice"];
    let copies = body["infringing_copies"].as_array().expect("copies");
    assert_eq!(copies.len(), 1, "{body}");
    assert_eq!(copies[0]["url"], repost_url);
    let first_body = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{first}")),
        Some(&case.studio),
        None,
    )
    .json["notice"]
        .clone();
    assert_eq!(body["evidence"], first_body["evidence"]);
    assert_eq!(body["repost_of"]["notice"], first);
    assert_ne!(body["notice_id"], first_body["notice_id"]);
    assert!(body["public_evidence"].is_null(), "a draft: {body}");
    assert_eq!(
        call("POST", &notify, Some(&case.reviewer), None).status,
        404,
        "noticed once"
    );
    assert_eq!(sightings(&case.reviewer).json["sightings"], json!([]));

    // Sent with its own public link; the platform's "URL gone" moves only this notice.
    let r = move_notice(&case, &case.reviewer, repost, "sent", "");
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{repost}")),
        Some(&case.studio),
        None,
    )
    .json["notice"]
        .clone();
    assert_ne!(
        sent["public_evidence"]["url"],
        first_body["public_evidence"]["url"]
    );
    let doc = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{repost}/document")),
        Some(&case.studio),
        None,
    )
    .text;
    assert!(
        doc.contains(repost_url) && !doc.contains(first_url),
        "{doc}"
    );
    assert!(doc.contains("致：bilibili"), "{doc}");
    let r = call(
        "POST",
        &daemon.url("/v1/url-reports"),
        Some(&case.crawler),
        Some(&json!({"url": repost_url, "status": "gone"})),
    );
    assert_eq!(
        r.json["notices"],
        json!([{"notice_id": repost, "state": "removed"}])
    );
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{first}/tracking")),
        Some(&case.studio),
        None,
    );
    assert_eq!(r.json["state"], "sent", "the first notice is untouched");
    let r = call(
        "GET",
        &daemon.url("/v1/removal-times"),
        Some(&case.studio),
        None,
    );
    let platforms = r.json["platforms"].as_array().expect("platforms");
    assert_eq!(platforms.len(), 1, "{}", r.text);
    assert_eq!(platforms[0]["platform"], "bilibili");
}
