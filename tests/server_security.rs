//! The API security review, tested on a real daemon: security headers on every response, no
//! key or session cookie in the log, size and time limits on every route class (JSON, form,
//! upload), and crawler keys' rate limit. (Path inputs confined to the ingest directory, with
//! `..`, absolute and symlink escapes, are `server_e2e`'s
//! `episodes_are_registered_by_path_only_from_inside_the_ingest_directory`.)

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::web::Web;
use support::{call, create_key, post_with, Daemon, Site};

fn config_file(tmp: &tempfile::TempDir, text: &str) -> String {
    let path = tmp.path().join("reelguard.toml");
    std::fs::write(&path, text).expect("config");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn every_response_carries_the_security_headers() {
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let mut web = Web::new(daemon);
    let login = web.get("/ui/login");
    assert_eq!(login.status, 200);
    let page_csp = login.csp.clone().expect("the login page's CSP");
    assert!(page_csp.contains("frame-ancestors 'none'"), "{page_csp}");
    for (path, key) in [
        ("/ui/login", None),
        ("/ui/queue", None),
        ("/ui/static/no-such-file", None),
        ("/healthz", None),
        ("/v1/whoami", None),
        ("/v1/whoami", Some(site.admin.as_str())),
        ("/no/such/route", None),
    ] {
        let r = call("GET", &daemon.url(path), key, None);
        let what = format!("GET {path} ({})", r.status);
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{what}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{what}: CSP {csp:?}"
        );
        assert!(csp.contains("default-src 'none'"), "{what}: CSP {csp:?}");
    }
}

#[test]
fn keys_and_session_cookies_never_reach_the_log() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let admin = create_key(&data, "ops", "admin");
    let reviewer = create_key(&data, "desk", "reviewer");
    let daemon = Daemon::start_env(&data, &[], &[("REELGUARD_LOG", "debug")]);
    let wrong = format!("rgk_{}", "5a".repeat(32));
    let mut secrets = vec![admin.clone(), reviewer.clone(), wrong.clone()];
    assert_eq!(
        call("GET", &daemon.url("/v1/whoami"), Some(&admin), None).status,
        200
    );
    assert_eq!(
        call("GET", &daemon.url("/v1/audit"), Some(&admin), None).status,
        200
    );
    assert_eq!(
        call("GET", &daemon.url("/v1/whoami"), Some(&wrong), None).status,
        401
    );
    let made = call(
        "POST",
        &daemon.url("/v1/keys"),
        Some(&admin),
        Some(&serde_json::json!({"member": "desk", "role": "reviewer"})),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    secrets.push(made.json["key"].as_str().expect("key").to_string());
    let mut web = Web::new(&daemon);
    web.log_in(&reviewer);
    assert_eq!(web.get("/ui/queue").status, 200);
    let cookies = web.cookie_header();
    let values: Vec<String> = cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() >= 16)
        .collect();
    assert!(
        !values.is_empty(),
        "the login set no session cookie: {cookies:?}"
    );
    secrets.extend(values);
    let log = std::fs::read_to_string(data.with_extension("daemon.log")).expect("log");
    assert!(log.contains("serving"), "the daemon logged nothing: {log}");
    for secret in &secrets {
        // The secret part alone too: a log that cut the `rgk_` off would still leak it.
        let tail = &secret[secret.len() - 24..];
        assert!(!log.contains(tail), "a secret ending {tail} is in the log");
    }
}

/// Sends `head` and `body`, then waits up to 20 s for the status line; returns it with the
/// time it took (measured from the end of sending).
fn answer_to(addr: &str, head: &str, body: &[u8]) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("head");
    // The server may answer (and close) before it has read all of a refused body.
    let _ = stream.write_all(body);
    let sent = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    (
        text.lines().next().unwrap_or("").to_string(),
        sent.elapsed(),
    )
}

fn host(daemon: &Daemon) -> String {
    daemon.base.trim_start_matches("http://").to_string()
}

#[test]
fn stalled_bodies_are_answered_408_on_every_route_class() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let member = create_key(&data, "studio", "member");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let config = config_file(&tmp, "body_idle_secs = 2\nrequest_timeout_secs = 3\n");
    let daemon = Daemon::start(&data, &["--config", &config]);
    let addr = host(&daemon);
    // Each declares 1000 bytes, sends 10 and stops.
    for (what, path, key, content_type, limit) in [
        (
            "upload",
            "/v1/suspects",
            Some(&crawler),
            "application/octet-stream",
            2,
        ),
        ("JSON", "/v1/works", Some(&member), "application/json", 3),
        (
            "form",
            "/ui/login",
            None,
            "application/x-www-form-urlencoded",
            3,
        ),
    ] {
        let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\n\
             Content-Length: 1000\r\n\r\n"
        );
        let (status, took) = answer_to(&addr, &head, b"0123456789");
        assert!(
            status.contains(" 408 "),
            "{what}: {status:?} after {took:?}"
        );
        assert!(
            took >= Duration::from_millis(limit * 1000 - 200)
                && took < Duration::from_secs(limit + 4),
            "{what}: answered after {took:?}, limit {limit} s"
        );
    }
}

#[test]
fn oversized_bodies_are_refused_on_every_route_class() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let member = create_key(&data, "studio", "member");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let config = config_file(&tmp, "max_upload_bytes = 100000\n");
    let daemon = Daemon::start(&data, &["--config", &config]);
    let big = vec![b'a'; 2 << 20];

    let json = call(
        "POST",
        &daemon.url("/v1/works"),
        Some(&member),
        Some(&serde_json::json!({"title": String::from_utf8_lossy(&big)})),
    );
    assert_eq!(
        json.status,
        413,
        "JSON: {}",
        &json.text[..json.text.len().min(300)]
    );
    assert_eq!(json.json["error"]["code"], "too_large");

    let form = post_with(
        &daemon.url("/ui/login"),
        None,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &big,
    );
    assert_eq!(form.status, 413, "form");

    let upload = post_with(
        &daemon.url("/v1/suspects"),
        Some(&crawler),
        &[],
        &big[..200_000],
    );
    assert_eq!(upload.status, 413, "upload with a length: {}", upload.text);

    // Chunked, so no length is declared: refused as it streams past the limit.
    let addr = host(&daemon);
    let head = format!(
        "POST /v1/suspects HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {crawler}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    let mut body = format!("{:x}\r\n", 200_000).into_bytes();
    body.extend_from_slice(&big[..200_000]);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, _) = answer_to(&addr, &head, &body);
    assert!(status.contains(" 413 "), "chunked upload: {status:?}");
    let kept: Vec<_> = std::fs::read_dir(data.join("uploads/tmp"))
        .expect("tmp")
        .collect();
    assert!(kept.is_empty(), "refused uploads left {kept:?}");
}

#[test]
fn crawler_keys_are_rate_limited_with_retry_after() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let other = create_key(&data, "crawler-two", "crawler");
    let member = create_key(&data, "studio", "member");
    let config = config_file(&tmp, "crawler_requests_per_sec = 1.0\ncrawler_burst = 3\n");
    let daemon = Daemon::start(&data, &["--config", &config]);
    let url = daemon.url("/v1/jobs");
    let statuses: Vec<u16> = (0..4)
        .map(|_| call("GET", &url, Some(&crawler), None).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    let limited = call("GET", &url, Some(&crawler), None);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json["error"]["code"], "rate_limited");
    let wait: u64 = limited
        .retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        call("GET", &url, Some(&other), None).status,
        200,
        "keys are limited apart"
    );
    for _ in 0..10 {
        assert_eq!(
            call("GET", &daemon.url("/v1/works"), Some(&member), None).status,
            200,
            "members are not limited"
        );
    }
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(
        call("GET", &url, Some(&crawler), None).status,
        200,
        "after Retry-After"
    );
}
