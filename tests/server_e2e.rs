//! The daemon end to end, as its users drive it over HTTP: a member registers a drama's
//! episodes, a crawler submits a pirated copy, a reviewer confirms the match, and the notice
//! record is there to read.

mod support;

use serde_json::{json, Value};
use support::{
    audit_entries, call, create_key, create_work, job_succeeds, pages, queue_suspect,
    register_episodes, sha256_hex, street, street_variant, upload, Daemon, Site,
};

#[test]
fn a_pirated_episode_goes_from_crawl_to_a_takedown_notice() {
    let site = Site::start(&[]);
    let (daemon, admin) = (&site.daemon, &site.admin);
    let studio = site.key("studio", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");

    // The member registers the drama's first two episodes by upload.
    let work_id = create_work(
        daemon,
        &studio,
        &json!({"title": "Street", "external_id": "ST-001"}),
    );
    let jobs = register_episodes(daemon, &studio, &work_id, &[street(1), street(2)]);
    for (n, job) in jobs.iter().enumerate() {
        assert_eq!(
            job["result"]["episode"],
            n + 1,
            "episodes are numbered in upload order"
        );
    }
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/works/{work_id}")),
        Some(&studio),
        None,
    );
    assert_eq!(r.status, 200);
    let files: Vec<&str> = r.json["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["file"].as_str().expect("file"))
        .collect();
    assert_eq!(files, ["street_e1.mp4", "street_e2.mp4"]);

    // A crawler submits a mirrored re-upload of episode 1 and gets a job at once.
    let mirror = street_variant(1, "mirror");
    let meta = [
        ("platform", "douyin"),
        ("url", "https://video.example/v/123"),
        ("uploader", "copycat"),
        ("title_seen", "Street ep1"),
        ("found_at", "1700000000"),
        ("filename", "v123.mp4"),
    ];
    let r = queue_suspect(daemon, &crawler, &meta, &mirror);
    assert_eq!(r["deduplicated"], false);
    let scan_job = r["job_id"].as_i64().expect("job_id");
    let suspect_id = r["suspect_id"].as_i64().expect("suspect_id");
    let job = job_succeeds(daemon, &crawler, scan_job);
    assert!(job["result"]["matches"].as_u64() >= Some(1), "{job}");

    // The same bytes seen elsewhere join the same suspect and job.
    let again = [
        ("platform", "kuaishou"),
        ("url", "https://other.example/9"),
        ("found_at", "1700000100"),
    ];
    let r = queue_suspect(daemon, &crawler, &again, &mirror);
    assert_eq!(r["deduplicated"], true);
    assert_eq!(r["job_id"], scan_job);
    assert_eq!(r["suspect_id"], suspect_id);

    // The reviewer's queue shows the match, with segments, edit and both sightings.
    let r = call(
        "GET",
        &daemon.url("/v1/matches?state=pending_review&platform=douyin"),
        Some(&reviewer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let matches = r.json["matches"].as_array().expect("matches").clone();
    let found: Vec<&Value> = matches
        .iter()
        .filter(|m| m["work_id"] == work_id.as_str() && m["episode"] == 1)
        .collect();
    assert_eq!(found.len(), 1, "one match for episode 1: {matches:?}");
    let m = found[0];
    assert_eq!(m["member"], "studio");
    assert_eq!(m["suspect"]["id"], suspect_id);
    assert_eq!(m["suspect"]["sources"].as_array().map(Vec::len), Some(2));
    assert!(m["score"].as_f64() > Some(0.5), "{m}");
    let segments = m["segments"].as_array().expect("segments");
    assert!(!segments.is_empty());
    assert!(segments.iter().all(|s| s["mirrored"] == true), "{m}");
    assert!(m["transformation"]
        .as_array()
        .expect("transformation")
        .contains(&json!("mirror")));
    let match_id = m["id"].as_i64().expect("id");

    // The rights holder sees it too; the reviewer confirms it once.
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/matches/{match_id}")),
        Some(&studio),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let decision_url = daemon.url(&format!("/v1/matches/{match_id}/decision"));
    let body = json!({"decision": "confirm", "reason": "same footage, mirrored"});
    let r = call("POST", &decision_url, Some(&reviewer), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["match"]["state"], "confirmed");
    let notice_id = r.json["notice"]["id"].as_i64().expect("notice id");
    let r = call("POST", &decision_url, Some(&reviewer), Some(&body));
    assert_eq!(r.status, 409, "a decided match cannot be decided again");

    // The notice record names the work, the episode, where the copy was seen and the evidence.
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice_id}")),
        Some(&studio),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let notice = &r.json["notice"];
    assert_eq!(notice["kind"], "takedown_request");
    assert_eq!(notice["rights_holder"], "studio");
    assert_eq!(notice["work"]["work_id"], work_id.as_str());
    assert_eq!(notice["episode"], 1);
    assert_eq!(
        notice["infringing_copies"][0]["url"],
        "https://video.example/v/123"
    );
    assert_eq!(notice["infringing_copies"][0]["platform"], "douyin");
    assert_eq!(notice["evidence"]["segments"], m["segments"]);
    assert_eq!(notice["decision"]["reason"], "same footage, mirrored");
    verify_evidence(site.data(), notice);
    let r = call(
        "GET",
        &daemon.url("/v1/matches?state=confirmed"),
        Some(&studio),
        None,
    );
    assert_eq!(r.json["matches"][0]["id"], match_id);

    // Every state-changing request is in the audit log, with who and from where.
    let entries = audit_entries(daemon, admin);
    let decision = entries
        .iter()
        .find(|e| e["action"] == "POST /v1/matches/{id}/decision" && e["status"] == 200)
        .expect("the decision is audited");
    assert_eq!(decision["actor"], "review-team/reviewer");
    assert!(decision["remote_addr"]
        .as_str()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert!(decision["target"]
        .as_str()
        .is_some_and(|t| t.contains("notice")));
    assert!(entries
        .iter()
        .any(|e| e["actor"].as_str().is_some_and(|a| a.starts_with("cli:"))));

    // Metrics count the work done.
    let r = call("GET", &daemon.url("/metrics"), Some(admin), None);
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .contains("reelguard_jobs{kind=\"scan\",state=\"succeeded\"} 1"),
        "{}",
        r.text
    );
    assert!(r
        .text
        .contains("reelguard_jobs{kind=\"register\",state=\"succeeded\"} 2"));
    assert!(r.text.contains("reelguard_match_seconds_count 1"));
    assert!(r.text.contains("reelguard_queue_depth 0"));
    assert!(r.text.contains(
        "reelguard_http_requests_total{method=\"POST\",route=\"/v1/matches/{id}/decision\",status=\"409\"} 1"
    ));

    sources_are_paged(&site, match_id, &crawler, &mirror);
}

/// A suspect re-found a hundred times: the match carries its latest 100 sources and says there
/// are more; `GET /v1/matches/{id}/sources` pages through every one, in order, once.
fn sources_are_paged(site: &Site, match_id: i64, crawler: &str, file: &std::path::Path) {
    let daemon = &site.daemon;
    for i in 0..100 {
        let url = format!("https://mirror.example/{i}");
        let r = queue_suspect(
            daemon,
            crawler,
            &[("platform", "bilibili"), ("url", &url)],
            file,
        );
        assert_eq!(r["deduplicated"], true);
        // Under the crawler key's 20 requests a second.
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    let reviewer = site.key("second-reviewer", "reviewer");
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/matches/{match_id}")),
        Some(&reviewer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let latest = r.json["suspect"]["sources"].as_array().expect("sources");
    assert_eq!(latest.len(), 100);
    assert_eq!(r.json["suspect"]["sources_more"], true);
    assert_eq!(
        latest[99]["url"], "https://mirror.example/99",
        "the latest last"
    );

    let path = format!("/v1/matches/{match_id}/sources");
    let pages = pages(daemon, &reviewer, &path, "sources", 40);
    assert_eq!(pages.len(), 3, "102 sources in pages of 40");
    let urls: Vec<String> = pages
        .concat()
        .iter()
        .map(|s| s["url"].as_str().unwrap_or("").to_string())
        .collect();
    let mut expected = vec![
        "https://video.example/v/123".to_string(),
        "https://other.example/9".to_string(),
    ];
    expected.extend((0..100).map(|i| format!("https://mirror.example/{i}")));
    assert_eq!(urls, expected);

    // A member who owns nothing in it does not learn it exists; a forged cursor is refused.
    let stranger = site.key("another-studio", "member");
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/matches/{match_id}/sources")),
        Some(&stranger),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/matches/{match_id}/sources?cursor=12")),
        Some(&reviewer),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text);
}

#[test]
fn a_file_that_is_not_a_video_fails_its_job_with_a_reason_and_the_daemon_carries_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let daemon = Daemon::start(&data, &[]);
    let junk = tmp.path().join("junk.mp4");
    std::fs::write(
        &junk,
        b"\x00\x01 this is not a video file at all \xff".repeat(100),
    )
    .expect("write junk");
    let r = upload(
        &daemon.url("/v1/suspects?platform=x"),
        Some(&crawler),
        &junk,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let job = support::wait_job(
        &daemon,
        &crawler,
        r.json["job_id"].as_i64().expect("id"),
        support::JOB_LIMIT,
    );
    assert_eq!(job["state"], "failed");
    assert_eq!(job["attempts"], 1, "a file's own fault is not retried");
    assert_eq!(job["error_kind"], "unrecognized", "{job}");
    assert!(job["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(call("GET", &daemon.url("/healthz"), None, None).status, 200);
    let r = call(
        "GET",
        &daemon.url("/v1/jobs?state=failed"),
        Some(&crawler),
        None,
    );
    assert_eq!(r.json["jobs"].as_array().map(Vec::len), Some(1));
}

#[test]
fn episodes_are_registered_by_path_only_from_inside_the_ingest_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let ingest = tmp.path().join("ingest");
    std::fs::create_dir_all(&ingest).expect("ingest dir");
    std::fs::copy(street(1), ingest.join("ep1.mp4")).expect("copy episode");
    std::fs::write(tmp.path().join("outside.mp4"), b"secret").expect("outside file");
    std::os::unix::fs::symlink(tmp.path().join("outside.mp4"), ingest.join("escape.mp4"))
        .expect("symlink");
    let studio = create_key(&data, "studio", "member");
    let ingest_arg = ingest.to_str().expect("utf-8");
    let daemon = Daemon::start(&data, &["--ingest-dir", ingest_arg]);
    let work_id = create_work(&daemon, &studio, &json!({"title": "Street"}));
    let url = daemon.url(&format!("/v1/works/{work_id}/episodes/ingest"));
    let outside = tmp.path().join("outside.mp4");
    for refused in [
        "../outside.mp4",
        "escape.mp4",
        outside.to_str().expect("utf-8"),
        "/etc/passwd",
    ] {
        let r = call("POST", &url, Some(&studio), Some(&json!({"path": refused})));
        assert_eq!(r.status, 400, "{refused}: {}", r.text);
    }
    let r = call(
        "POST",
        &url,
        Some(&studio),
        Some(&json!({"path": "ep1.mp4"})),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let job = job_succeeds(&daemon, &studio, r.json["job_id"].as_i64().expect("id"));
    assert_eq!(job["result"]["episode"], 1);
    assert!(
        ingest.join("ep1.mp4").exists(),
        "the ingest file is copied, not moved"
    );
}

/// What a platform or a court would do with a notice: recompute the evidence bundle's hash
/// from the file the daemon kept, then each still's hash from the bundle's list.
fn verify_evidence(data: &std::path::Path, notice: &Value) {
    let evidence = &notice["evidence"];
    let bundle_sha = evidence["bundle_sha256"].as_str().expect("bundle hash");
    assert_eq!(bundle_sha.len(), 64);
    let id = notice["notice_id"].as_str().expect("public notice id");
    assert!(
        id.starts_with("RGN-") && id.ends_with(&bundle_sha[..12]),
        "the notice id carries the start of its evidence hash: {id}"
    );
    assert!(notice["statements"]["good_faith"]
        .as_str()
        .is_some_and(|s| s.contains("good faith")));
    let dir = data.join(format!(
        "evidence/match-{}",
        evidence["match_id"].as_i64().expect("match id")
    ));
    let bundle_bytes =
        std::fs::read(dir.join(evidence["bundle_file"].as_str().expect("bundle file")))
            .expect("the bundle file is kept");
    assert_eq!(sha256_hex(&bundle_bytes), bundle_sha, "the bundle verifies");
    let bundle: Value = serde_json::from_slice(&bundle_bytes).expect("bundle JSON");
    let registered = std::fs::read(street(1)).expect("the registered episode");
    assert_eq!(
        bundle["registered_sha256"],
        sha256_hex(&registered),
        "the bundle names the exact registered file"
    );
    assert_eq!(bundle["stills"], evidence["stills"]);
    let stills = bundle["stills"].as_array().expect("stills");
    assert!(stills.len() >= 3, "three stills per segment at least");
    for still in stills {
        for side in ["suspect", "registered"] {
            let file = still[side]["file"]
                .as_str()
                .unwrap_or_else(|| panic!("{side} still missing: {still}"));
            let bytes = std::fs::read(dir.join(file)).expect("still kept");
            assert_eq!(&bytes[..3], &[0xff, 0xd8, 0xff], "{file} is a JPEG");
            assert_eq!(sha256_hex(&bytes), still[side]["sha256"], "{file} verifies");
        }
    }
}
