//! Leased jobs: a worker that stops renewing its lease (stuck, or dead inside a live process)
//! loses the job once the lease runs out; another worker takes it over and completes it, and
//! the stuck worker's late result is refused, so the job is done exactly once.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{
    call, create_key, create_work, job_succeeds, matches_of, queue_suspect, street, street_variant,
    upload_episode, Daemon,
};

#[test]
fn a_job_whose_worker_stops_renewing_is_taken_over_and_done_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let config = tmp.path().join("reelguard.toml");
    // Two workers, so one can take over while the other is stuck; a short lease.
    std::fs::write(&config, "workers = 2\njob_lease_secs = 3\n").expect("config");
    let studio = create_key(&data, "studio", "member");
    let crawler = create_key(&data, "crawler-co", "crawler");
    // Job 1 registers the episode; job 2, the scan, gets the stuck worker.
    let daemon = Daemon::start_env(
        &data,
        &["--config", config.to_str().expect("utf-8")],
        &[("REELGUARD_TEST_STUCK_JOB", "2")],
    );
    let work = create_work(&daemon, &studio, &json!({"title": "Street"}));
    let registration = upload_episode(&daemon, &studio, &work, &street(1));
    assert_eq!(registration, 1, "a fresh store numbers jobs from 1");
    job_succeeds(&daemon, &studio, registration);

    let started = Instant::now();
    let answer = queue_suspect(&daemon, &crawler, &[], &street_variant(1, "mirror"));
    let (job, suspect) = (
        answer["job_id"].as_i64().expect("job_id"),
        answer["suspect_id"].as_i64().expect("suspect_id"),
    );
    assert_eq!(job, 2);
    let done = job_succeeds(&daemon, &crawler, job);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the job finished before its first lease could have run out: not a take-over"
    );
    assert_eq!(
        done["attempts"], 2,
        "the take-over is the job's second attempt: {done}"
    );

    // The stuck worker reports after twice the lease; its completion must be refused.
    let log = data.with_extension("daemon.log");
    support::poll(Duration::from_secs(30), Duration::from_millis(200), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("result dropped") {
            Ok(())
        } else {
            Err("the stuck worker's late result was never refused".to_string())
        }
    });
    let matches = matches_of(&daemon, &studio, suspect);
    assert_eq!(matches.len(), 1, "one match, recorded once: {matches:?}");
    let jobs = call("GET", &daemon.url("/v1/jobs"), Some(&crawler), None);
    let scans: Vec<_> = jobs.json["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| j["kind"] == "scan")
        .collect();
    assert_eq!(scans.len(), 1, "no second job was created: {scans:?}");
    assert_eq!(scans[0]["state"], "succeeded");
}
