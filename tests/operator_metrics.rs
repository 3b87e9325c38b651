//! Metrics an operator can graph: after a registration, a matched suspect, a failed one and a
//! decision, both `/metrics` (keyed, on the API) and the keyless metrics listener
//! (`metrics_listen`) parse as Prometheus text and carry the operator's series.

mod support;

use std::time::Duration;

use support::prom::{parse, Exposition};
use support::{
    call, create_key, decide, fixtures, member_key, pending_match, queue_suspect, register_work,
    street, street_variant, submit_suspect, wait_job, Daemon, JOB_LIMIT,
};

fn scrape(url: &str, key: Option<&str>) -> Exposition {
    let r = call("GET", url, key, None);
    assert_eq!(r.status, 200, "GET {url}: {}", r.text);
    parse(&r.text).unwrap_or_else(|e| panic!("{url} is not Prometheus text: {e}\n{}", r.text))
}

#[test]
fn both_metrics_endpoints_parse_and_carry_the_operators_series() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let admin = create_key(&data, "ops", "admin");
    let mut daemon = Daemon::start_env(&data, &[], &[("REELGUARD_METRICS_LISTEN", "127.0.0.1:0")]);
    let metrics_base = daemon
        .metrics_base
        .clone()
        .expect("the listening line names the metrics listener");
    let studio = member_key(&daemon, &admin, "studio", "member");
    let crawler = member_key(&daemon, &admin, "crawl", "crawler");
    let reviewer = member_key(&daemon, &admin, "review", "reviewer");
    let work_id = register_work(&daemon, &studio, "Street", None, &street(1));
    submit_suspect(&daemon, &crawler, &[], &street_variant(1, "mirror"));
    let bad = queue_suspect(&daemon, &crawler, &[], &fixtures().join("bad/garbage.mp4"));
    let job = wait_job(
        &daemon,
        &crawler,
        bad["job_id"].as_i64().expect("job"),
        JOB_LIMIT,
    );
    assert_eq!(job["state"], "failed", "{job}");
    let m = pending_match(&daemon, &reviewer, &work_id);
    let id = m["id"].as_i64().expect("match id");
    decide(&daemon, &reviewer, id, "confirm", "a mirrored copy");

    // The keyless listener serves /metrics only; the API's /metrics still needs a key.
    assert_eq!(
        call("GET", &format!("{metrics_base}/v1/works"), None, None).status,
        404
    );
    assert_eq!(
        call("GET", &format!("{metrics_base}/healthz"), None, None).status,
        404
    );
    assert_eq!(call("GET", &daemon.url("/metrics"), None, None).status, 401);
    let keyless = scrape(&format!("{metrics_base}/metrics"), None);
    let keyed = scrape(&daemon.url("/metrics"), Some(&admin));

    for m in [&keyless, &keyed] {
        let upload = [
            ("route", "/v1/suspects"),
            ("method", "POST"),
            ("status_class", "2xx"),
        ];
        assert!(m.value("reelguard_http_route_seconds_count", &upload) >= 2.0);
        assert_eq!(m.types["reelguard_http_route_seconds"], "histogram");
        for (kind, outcome) in [
            ("register", "succeeded"),
            ("scan", "succeeded"),
            ("scan", "failed"),
        ] {
            let labels = [("kind", kind), ("outcome", outcome)];
            assert!(
                m.value("reelguard_job_duration_seconds_count", &labels) >= 1.0,
                "{labels:?}"
            );
        }
        assert!(
            m.value(
                "reelguard_job_queue_wait_seconds_count",
                &[("kind", "scan")]
            ) >= 2.0
        );
        assert!(
            m.value(
                "reelguard_job_queue_wait_seconds_count",
                &[("kind", "register")]
            ) >= 1.0
        );
        assert_eq!(
            m.value("reelguard_suspect_to_match_seconds_count", &[]),
            1.0
        );
        let failures = [("kind", "scan"), ("error_kind", "unrecognized")];
        assert_eq!(m.value("reelguard_job_failures_total", &failures), 1.0);
        assert_eq!(
            m.value("reelguard_review_backlog", &[]),
            0.0,
            "the one match was decided"
        );
        assert_eq!(
            m.value("reelguard_review_backlog", &[("age", "ge_7d")]),
            0.0
        );
        assert_eq!(
            m.value("reelguard_decisions", &[("decision", "confirmed")]),
            1.0
        );
        assert_eq!(
            m.value("reelguard_decisions", &[("decision", "rejected")]),
            0.0
        );
        assert_eq!(m.value("reelguard_notices", &[]), 1.0);
        assert_eq!(m.value("reelguard_catalogue_works", &[]), 1.0);
        assert_eq!(m.value("reelguard_catalogue_episodes", &[]), 1.0);
        assert!(m.value("reelguard_catalogue_frames", &[]) > 10.0);
    }
    // The second listener does not hold up a clean stop.
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "the daemon exited with {status}");
}

#[test]
fn the_review_backlog_counts_a_pending_match_as_recent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let admin = create_key(&data, "ops", "admin");
    let daemon = Daemon::start(&data, &[]);
    assert!(
        daemon.metrics_base.is_none(),
        "no metrics listener unless configured"
    );
    let studio = member_key(&daemon, &admin, "studio", "member");
    let crawler = member_key(&daemon, &admin, "crawl", "crawler");
    register_work(&daemon, &studio, "Street", None, &street(2));
    submit_suspect(&daemon, &crawler, &[], &street_variant(2, "borders"));
    let m = scrape(&daemon.url("/metrics"), Some(&admin));
    assert_eq!(
        m.value("reelguard_review_backlog", &[("age", "lt_1h")]),
        1.0
    );
    assert_eq!(
        m.value("reelguard_review_backlog", &[("age", "1h_1d")]),
        0.0
    );
    let oldest = m.value("reelguard_review_oldest_pending_seconds", &[]);
    assert!((0.0..3600.0).contains(&oldest), "{oldest}");
}

#[test]
fn the_parser_rejects_what_a_scraper_would_reject() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
    assert!(parse(good).is_ok());
    for bad in [
        "a b c\n",
        "# TYPE a counter\na{x=1} 3\n",
        "# TYPE a counter\na{x=\"1\"} 3\na{x=\"1\"} 4\n",
        "# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "a 1\n# TYPE a counter\n",
    ] {
        assert!(parse(bad).is_err(), "accepted: {bad:?}");
    }
}
