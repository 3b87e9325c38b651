//! Retries and known content: a registration retried with its `Idempotency-Key` makes one
//! episode, and content the daemon already holds is answered from its record, before the body
//! is read when the client names it (`X-Content-SHA256`) and even while the queue is full.

mod support;

use serde_json::json;
use support::{
    call, create_key, create_work, job_succeeds, post_with, sha256_hex, street, street_variant,
    Daemon,
};

fn episodes_url(daemon: &Daemon, work_id: &str) -> String {
    daemon.url(&format!("/v1/works/{work_id}/episodes?filename=ep1.mp4"))
}

#[test]
fn an_idempotency_key_replays_its_registration_and_refuses_another_body() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let studio = create_key(&data, "studio", "member");
    let daemon = Daemon::start(&data, &[]);
    let work_id = create_work(&daemon, &studio, &json!({"title": "Street"}));
    let url = episodes_url(&daemon, &work_id);
    let episode = std::fs::read(street(1)).expect("episode");
    let other = std::fs::read(street(2)).expect("another episode");
    let key = [("Idempotency-Key", "3f1c2a9e-retry-me")];

    let first = post_with(&url, Some(&studio), &key, &episode);
    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let job = first.json["job_id"].as_i64().expect("job_id");

    let retry = post_with(&url, Some(&studio), &key, &episode);
    assert_eq!(retry.status, 202, "{}", retry.text);
    assert_eq!(
        retry.json["job_id"].as_i64(),
        Some(job),
        "the same job comes back"
    );
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));

    let reused = post_with(&url, Some(&studio), &key, &other);
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.json["error"]["code"], "idempotency_key_reused");

    // Named by its SHA-256, a retry is answered without its body being read: this body is not
    // the episode, and reading it would have failed the declared hash.
    let sha = sha256_hex(&episode);
    let named = [key[0], ("X-Content-SHA256", sha.as_str())];
    let unread = post_with(&url, Some(&studio), &named, b"not the episode");
    assert_eq!(unread.status, 202, "{}", unread.text);
    assert_eq!(unread.json["job_id"].as_i64(), Some(job));

    let bad = post_with(
        &url,
        Some(&studio),
        &[("Idempotency-Key", "has spaces")],
        &episode,
    );
    assert_eq!(bad.status, 400, "{}", bad.text);

    let done = job_succeeds(&daemon, &studio, job);
    assert_eq!(done["result"]["episode"], 1);
    let work = call(
        "GET",
        &daemon.url(&format!("/v1/works/{work_id}")),
        Some(&studio),
        None,
    );
    assert_eq!(
        work.json["episodes"].as_array().map(Vec::len),
        Some(1),
        "{}",
        work.text
    );
    // The replays' copies of the body were discarded, and the registered file is gone.
    for dir in ["uploads/episodes", "uploads/tmp"] {
        let left: Vec<_> = std::fs::read_dir(data.join(dir))
            .expect("upload dir")
            .collect();
        assert!(left.is_empty(), "{dir} holds {left:?}");
    }
}

#[test]
fn a_suspect_named_by_its_sha256_is_answered_from_its_record_without_its_body() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let daemon = Daemon::start(&data, &[]);
    let url = daemon.url("/v1/suspects?platform=test");
    let bytes = std::fs::read(street_variant(1, "mirror")).expect("suspect");
    let sha = sha256_hex(&bytes);

    let first = post_with(&url, Some(&crawler), &[], &bytes);
    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(first.json["deduplicated"], false);

    let named = post_with(
        &url,
        Some(&crawler),
        &[("X-Content-SHA256", &sha.to_uppercase())],
        b"",
    );
    assert_eq!(named.status, 202, "{}", named.text);
    assert_eq!(named.json["deduplicated"], true);
    assert_eq!(named.json["job_id"], first.json["job_id"]);
    assert_eq!(named.json["suspect_id"], first.json["suspect_id"]);
    let whole = post_with(&url, Some(&crawler), &[], &bytes);
    assert_eq!(whole.status, 202, "{}", whole.text);
    assert_eq!(whole.json["deduplicated"], true);
    assert_eq!(whole.json["job_id"], first.json["job_id"]);

    // Unknown content named by a hash its body does not have is refused, and nothing is kept.
    let wrong = sha256_hex(b"something else");
    let lied = post_with(
        &url,
        Some(&crawler),
        &[("X-Content-SHA256", &wrong)],
        b"bytes",
    );
    assert_eq!(lied.status, 400, "{}", lied.text);
    let malformed = post_with(&url, Some(&crawler), &[("X-Content-SHA256", "abc")], b"x");
    assert_eq!(malformed.status, 400, "{}", malformed.text);
    let stored: Vec<_> = std::fs::read_dir(data.join("uploads/suspects"))
        .expect("suspects dir")
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let left: Vec<_> = std::fs::read_dir(data.join("uploads/tmp"))
        .expect("tmp dir")
        .collect();
    assert!(left.is_empty(), "copies left behind: {left:?}");
}

#[test]
fn duplicates_are_answered_while_the_queue_is_full() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let config = tmp.path().join("reelguard.toml");
    std::fs::write(
        &config,
        "workers = 1\nqueue_limit = 1\nretry_after_secs = 9\njob_lease_secs = 60\n",
    )
    .expect("config");
    let crawler = create_key(&data, "crawler-co", "crawler");
    // Job 1 stops renewing its lease and reports only after it: the queue stays full.
    let daemon = Daemon::start_env(
        &data,
        &["--config", config.to_str().expect("utf-8")],
        &[("REELGUARD_TEST_STUCK_JOB", "1")],
    );
    let url = daemon.url("/v1/suspects?platform=test");
    let known = std::fs::read(street_variant(1, "mirror")).expect("suspect");
    let new = std::fs::read(street_variant(1, "crop15")).expect("another suspect");

    let first = post_with(&url, Some(&crawler), &[], &known);
    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(first.json["job_id"], 1);

    let refused = post_with(&url, Some(&crawler), &[], &new);
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.retry_after.as_deref(), Some("9"));
    let refused_named = post_with(
        &url,
        Some(&crawler),
        &[("X-Content-SHA256", &sha256_hex(&new))],
        &new,
    );
    assert_eq!(refused_named.status, 429, "{}", refused_named.text);

    let again = post_with(&url, Some(&crawler), &[], &known);
    assert_eq!(again.status, 202, "a duplicate sent whole: {}", again.text);
    assert_eq!(again.json["deduplicated"], true);
    assert_eq!(again.json["job_id"], 1);
    let named = post_with(
        &url,
        Some(&crawler),
        &[("X-Content-SHA256", &sha256_hex(&known))],
        b"",
    );
    assert_eq!(named.status, 202, "a duplicate named: {}", named.text);
    assert_eq!(named.json["job_id"], 1);
    let jobs = call("GET", &daemon.url("/v1/jobs"), Some(&crawler), None);
    assert_eq!(
        jobs.json["jobs"].as_array().map(Vec::len),
        Some(1),
        "{}",
        jobs.text
    );
}
