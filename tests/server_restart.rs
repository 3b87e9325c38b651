//! Durability: the daemon killed with SIGKILL in the middle of jobs loses nothing and
//! duplicates nothing once it is started again; SIGTERM stops it cleanly, re-queueing what it
//! could not finish.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use support::{
    call, create_key, create_work, job_succeeds, matches_of, poll, queue_suspect, street,
    street_variant, upload_episode, Daemon, KillOnDrop, JOB_LIMIT,
};

/// One worker, so jobs run one after another and one is surely mid-way when the kill comes.
fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("reelguard.toml");
    std::fs::write(
        &path,
        format!("workers = 1\nretry_backoff_secs = 1\n{extra}"),
    )
    .expect("config");
    path
}

/// Waits until `job` is running; returns false if it finished first.
fn wait_running(daemon: &Daemon, key: &str, job: i64) -> bool {
    poll(JOB_LIMIT, Duration::from_millis(5), || {
        let r = call(
            "GET",
            &daemon.url(&format!("/v1/jobs/{job}")),
            Some(key),
            None,
        );
        match r.json["state"].as_str() {
            Some("running") => Ok(true),
            Some("succeeded") | Some("failed") => Ok(false),
            _ => Err(format!("job {job} never ran: {}", r.text)),
        }
    })
}

#[test]
fn jobs_interrupted_by_sigkill_complete_after_a_restart_without_duplicates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let cfg = config(tmp.path(), "");
    let cfg = cfg.to_str().expect("utf-8");
    let studio = create_key(&data, "studio", "member");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let mut daemon = Daemon::start(&data, &["--config", cfg]);

    // Kill in the middle of registering episode 1 (episode 2 is still queued behind it).
    let work = create_work(&daemon, &studio, &json!({"title": "Street"}));
    let registrations =
        [street(1), street(2)].map(|file| upload_episode(&daemon, &studio, &work, &file));
    assert!(
        wait_running(&daemon, &studio, registrations[0]),
        "registration finished too soon"
    );
    daemon.kill9();
    let mut daemon = Daemon::start(&data, &["--config", cfg]);
    for job in registrations {
        job_succeeds(&daemon, &studio, job);
    }
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/works/{work}")),
        Some(&studio),
        None,
    );
    let numbers: Vec<u64> = r.json["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["number"].as_u64().expect("number"))
        .collect();
    assert_eq!(
        numbers,
        [1, 2],
        "each episode registered exactly once: {}",
        r.json
    );

    // Kill in the middle of a scan, with more scans queued behind it.
    let suspects = [
        street_variant(1, "mirror"),
        street_variant(2, "mirror"),
        street(1),
    ];
    let scans = suspects.map(|file| {
        let answer = queue_suspect(&daemon, &crawler, &[("platform", "test")], &file);
        answer["job_id"].as_i64().expect("job")
    });
    assert!(
        wait_running(&daemon, &crawler, scans[0]),
        "scan finished too soon"
    );
    daemon.kill9();
    let daemon = Daemon::start(&data, &["--config", cfg]);
    let expected_episode = [1, 2, 1]; // e1 mirrored, e2 mirrored, e1 itself
    let mut pairs = BTreeSet::new();
    let mut reported = 0;
    for (i, job) in scans.iter().enumerate() {
        let job = job_succeeds(&daemon, &crawler, *job);
        if i == 0 {
            assert_eq!(job["attempts"], 2, "the interrupted attempt counts: {job}");
        }
        reported += job["result"]["matches"].as_u64().expect("match count");
        let suspect = job["suspect_id"].as_i64().expect("suspect");
        let matches = matches_of(&daemon, &studio, suspect);
        assert_eq!(
            matches.len() as u64,
            job["result"]["matches"].as_u64().expect("count")
        );
        let episodes: Vec<u64> = matches
            .iter()
            .map(|m| m["episode"].as_u64().expect("episode"))
            .collect();
        assert!(
            episodes.contains(&expected_episode[i]),
            "suspect {i} found {episodes:?}"
        );
        for episode in episodes {
            assert!(
                pairs.insert((suspect, episode)),
                "duplicate match {suspect}/{episode}"
            );
        }
    }
    let r = call(
        "GET",
        &daemon.url("/v1/matches?limit=1000"),
        Some(&studio),
        None,
    );
    let total = r.json["matches"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(total, reported, "every match recorded once");
}

#[test]
fn sigterm_stops_the_daemon_cleanly_and_requeues_the_unfinished_job() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    // No grace: a running job is re-queued at once.
    let cfg = config(tmp.path(), "shutdown_grace_secs = 0\n");
    let cfg = cfg.to_str().expect("utf-8");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let mut daemon = Daemon::start(&data, &["--config", cfg]);
    let job = queue_suspect(&daemon, &crawler, &[], &street(2))["job_id"]
        .as_i64()
        .expect("job");
    let ran = wait_running(&daemon, &crawler, job);
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
    let daemon = Daemon::start(&data, &["--config", cfg]);
    let finished = job_succeeds(&daemon, &crawler, job);
    if ran {
        assert_eq!(
            finished["attempts"], 1,
            "a shutdown does not count as an attempt: {finished}"
        );
    }
}

#[test]
fn under_systemd_the_daemon_reports_ready_then_stopping() {
    use std::os::unix::net::UnixDatagram;
    let tmp = tempfile::tempdir().expect("tempdir");
    let socket = tmp.path().join("notify.sock");
    let manager = UnixDatagram::bind(&socket).expect("bind notify socket");
    manager
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut child = KillOnDrop(
        std::process::Command::new(support::reelguard_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(tmp.path().join("data"))
            .env("NOTIFY_SOCKET", &socket)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let mut buf = [0u8; 256];
    let n = manager.recv(&mut buf).expect("READY=1 arrives");
    assert_eq!(&buf[..n], b"READY=1");
    support::sigterm(&child.0);
    let n = manager.recv(&mut buf).expect("STOPPING=1 arrives");
    assert_eq!(&buf[..n], b"STOPPING=1");
    let status = support::wait_exit(&mut child.0, Duration::from_secs(30), "the daemon");
    assert!(status.success(), "exit status {status:?}");
}
