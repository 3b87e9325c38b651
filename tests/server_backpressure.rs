//! Backpressure: with a tiny queue, submissions past it get 429 with Retry-After, and every
//! submission that was accepted is processed.

mod support;

use std::path::PathBuf;

use support::{call, create_key, fixtures, job_succeeds, submit_suspect, upload, Daemon};

/// Distinct suspect files (identical content would be deduplicated, not queued).
fn distinct_files(count: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["variants/street_e1", "variants/street_e2", "originals"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        // Skip hidden files: fixtures/generate writes `.NAME.part.mp4` before renaming.
        found.retain(|p| {
            p.extension().is_some_and(|e| e == "mp4")
                && p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        });
        found.sort();
        files.extend(found);
    }
    assert!(
        files.len() >= count,
        "need {count} distinct clips, found {}",
        files.len()
    );
    files.truncate(count);
    files
}

#[test]
fn a_full_queue_answers_429_and_loses_nothing_it_accepted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let config = tmp.path().join("reelguard.toml");
    std::fs::write(
        &config,
        "workers = 1\nqueue_limit = 2\nretry_after_secs = 7\n",
    )
    .expect("config");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let daemon = Daemon::start(&data, &["--config", config.to_str().expect("utf-8")]);

    let files = distinct_files(6);
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for file in &files {
        let r = upload(
            &daemon.url("/v1/suspects?platform=test"),
            Some(&crawler),
            file,
        );
        match r.status {
            202 => accepted.push(r.json["job_id"].as_i64().expect("job")),
            429 => {
                assert_eq!(r.retry_after.as_deref(), Some("7"));
                assert_eq!(r.json["error"]["code"], "queue_full");
                refused.push(file.clone());
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(accepted.len() >= 2, "the queue holds two jobs");
    assert!(
        !refused.is_empty(),
        "more submissions than the queue holds must be refused"
    );

    // Every accepted job is processed; the refused ones go through once the queue has drained.
    for job in accepted {
        job_succeeds(&daemon, &crawler, job);
    }
    for file in &refused {
        submit_suspect(&daemon, &crawler, &[("platform", "test")], file);
    }
    let r = call(
        "GET",
        &daemon.url("/v1/jobs?state=succeeded&limit=100"),
        Some(&crawler),
        None,
    );
    assert_eq!(r.json["jobs"].as_array().map(Vec::len), Some(files.len()));
    let metrics = call("GET", &daemon.url("/metrics"), Some(&crawler), None).text;
    assert!(
        metrics.contains("route=\"/v1/suspects\",status=\"429\""),
        "{metrics}"
    );
}
