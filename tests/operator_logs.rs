//! What the daemon writes for a log shipper and shows a client: plain text without colour
//! codes when stderr is a file, one JSON object per line with `--log-format json`, and no
//! server path in a failed job's error.

mod support;

use std::time::Duration;

use support::{call, create_key, fixtures, queue_suspect, wait_job, Daemon, Site, JOB_LIMIT};

/// The daemon's log, written by [`Daemon::start`] to `DATA.daemon.log`.
fn log_of(daemon: &Daemon) -> String {
    std::fs::read_to_string(daemon.data.with_extension("daemon.log")).expect("daemon log")
}

/// A daemon that served a few requests and stopped cleanly, and its log.
fn served_and_stopped(mut daemon: Daemon, admin: &str) -> String {
    assert_eq!(call("GET", &daemon.url("/readyz"), None, None).status, 200);
    assert_eq!(
        call("GET", &daemon.url("/v1/nope"), Some(admin), None).status,
        404
    );
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "the daemon exited with {status}");
    log_of(&daemon)
}

#[test]
fn a_log_written_to_a_file_has_no_ansi_escape_codes() {
    let site = Site::start(&[]);
    let Site { daemon, admin, tmp } = site;
    let log = served_and_stopped(daemon, &admin);
    assert!(
        log.contains("serving"),
        "the log has the start-up line: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "ESC in a log written to a file: {log:?}"
    );
    drop(tmp);
}

fn assert_json_lines(log: &str) {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "expected several log lines: {log}");
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line:?}"));
        assert!(value["level"].is_string(), "no level: {line}");
        assert!(value["timestamp"].is_string(), "no timestamp: {line}");
        assert!(value["fields"].is_object(), "no fields: {line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"serving\"")),
        "the start-up line is there: {log}"
    );
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let admin = create_key(&data, "ops", "admin");
    let daemon = Daemon::start(&data, &["--log-format", "json"]);
    assert_json_lines(&served_and_stopped(daemon, &admin));
}

#[test]
fn the_log_format_can_come_from_the_environment() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let admin = create_key(&data, "ops", "admin");
    let daemon = Daemon::start_env(&data, &[], &[("REELGUARD_LOG_FORMAT", "json")]);
    assert_json_lines(&served_and_stopped(daemon, &admin));
}

#[test]
fn a_failed_job_tells_the_crawler_what_is_wrong_without_the_servers_paths() {
    let site = Site::start(&[]);
    let crawler = site.key("crawl", "crawler");
    let file = fixtures().join("bad/not_video.mp4");
    let answer = queue_suspect(&site.daemon, &crawler, &[], &file);
    let job_id = answer["job_id"].as_i64().expect("job_id");
    let job = wait_job(&site.daemon, &crawler, job_id, JOB_LIMIT);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error_kind"], "unrecognized", "{job}");
    let error = job["error"].as_str().expect("an error message");
    assert!(!error.is_empty(), "{job}");
    let data = site.data().display().to_string();
    for leak in [data.as_str(), "/uploads", "uploads/", "/tmp"] {
        assert!(
            !error.contains(leak),
            "{leak:?} in the job's error: {error}"
        );
    }
    assert!(!error.contains('/'), "a path in the job's error: {error}");
    // The operator still finds the whole story in the log.
    let log = log_of(&site.daemon);
    assert!(
        log.contains("job attempt failed") && log.contains(&data),
        "the log keeps the path: {log}"
    );
}
