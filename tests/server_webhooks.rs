//! Webhooks end to end: a member sets a webhook, a reviewer confirms a match, and a real HTTP
//! receiver on 127.0.0.1 gets a signed POST — retried through failures, logged per attempt,
//! given up after the configured attempts, and still delivered across a daemon restart.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::{
    call, create_work, decide, job_succeeds, matches_of, queue_suspect, register_episodes, street,
    street_variant, wait_deliveries, Daemon, Site,
};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    at: Instant,
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that records every request and answers the n-th
/// (from 0) with `status(n)`, closing the connection each time.
struct Receiver {
    url: String,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(status: impl Fn(usize) -> u16 + Send + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let url = format!(
            "http://{}/hooks/reelguard",
            listener.local_addr().expect("addr")
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        // Detached: it lives as long as the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let n = {
                    let mut seen = seen.lock().expect("lock");
                    seen.push(request);
                    seen.len() - 1
                };
                let code = status(n);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.flush();
            }
        });
        Receiver { url, requests }
    }

    fn requests(&self) -> Vec<Received> {
        self.requests.lock().expect("lock").clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `X-Reelguard-Signature: t=..,v1=..` against the secret, as a receiver would;
/// returns the timestamp when the MAC matches.
fn verified_timestamp(secret: &str, header: &str, body: &[u8]) -> Option<i64> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_string()),
            _ => {}
        }
    }
    let (t, v1) = (t?, v1?);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    (hex(&mac.finalize().into_bytes()) == v1).then_some(t)
}

fn config(dir: &Path, backoff_ms: u64) -> PathBuf {
    let path = dir.join(format!("reelguard-{backoff_ms}.toml"));
    std::fs::write(
        &path,
        format!(
            "webhook_max_attempts = 3\nwebhook_backoff_ms = {backoff_ms}\nwebhook_timeout_secs = 2\n\
             webhook_allow_private_targets = true\n"
        ),
    )
    .expect("config");
    path
}

fn statuses(delivery: &Value) -> Vec<Value> {
    delivery["log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|a| a["status"].clone())
        .collect()
}

fn put_webhook(daemon: &Daemon, key: &str, url: &str) -> String {
    let r = call(
        "PUT",
        &daemon.url("/v1/webhook"),
        Some(key),
        Some(&json!({ "url": url })),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["url"], url);
    let secret = r.json["secret"].as_str().expect("secret").to_string();
    assert!(
        secret.len() >= 64,
        "at least 32 random bytes in hex: {secret}"
    );
    secret
}

#[test]
fn confirmed_matches_reach_the_members_webhook_signed_retried_and_logged() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let fast = config(tmp.path(), 200);
    let mut site = Site::start_in(tmp, &["--config", fast.to_str().expect("utf-8")]);
    let studio = site.key("studio", "member");
    let rival = site.key("rival", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let daemon = &site.daemon;

    // The studio registers episode 1; five copies of it are crawled, each a pending match.
    let work = create_work(daemon, &studio, &json!({"title": "Street"}));
    register_episodes(daemon, &studio, &work, &[street(1)]);
    let copies = [
        street(1),
        street_variant(1, "mirror"),
        street_variant(1, "excerpt"),
        street_variant(1, "lowres"),
        street_variant(1, "fps24"),
    ];
    let scans: Vec<Value> = copies
        .iter()
        .map(|file| queue_suspect(daemon, &crawler, &[("platform", "test")], file))
        .collect();
    let matches: Vec<i64> = scans
        .iter()
        .map(|scan| {
            let job = job_succeeds(daemon, &crawler, scan["job_id"].as_i64().expect("job"));
            let suspect = job["suspect_id"].as_i64().expect("suspect");
            matches_of(daemon, &reviewer, suspect)[0]["id"]
                .as_i64()
                .expect("a match")
        })
        .collect();
    eprintln!("setup took {:?}", started.elapsed());

    // No webhook yet: GET is 404, and a confirmation now is never sent, then or later.
    assert_eq!(
        call("GET", &daemon.url("/v1/webhook"), Some(&studio), None).status,
        404
    );
    let unannounced = decide(daemon, &reviewer, matches[0], "confirm", "webhook test");
    assert!(unannounced["notice"]["id"].is_i64());

    // Invalid URLs are refused.
    for url in [
        "ftp://example.com/h",
        "not a url",
        "https://",
        "https://u:p@example.com/",
    ] {
        let r = call(
            "PUT",
            &daemon.url("/v1/webhook"),
            Some(&studio),
            Some(&json!({ "url": url })),
        );
        assert_eq!(r.status, 400, "{url}: {}", r.text);
    }
    let long = format!("https://example.com/{}", "a".repeat(2000));
    let r = call(
        "PUT",
        &daemon.url("/v1/webhook"),
        Some(&studio),
        Some(&json!({ "url": long })),
    );
    assert_eq!(r.status, 400, "{}", r.text);

    // The rival has a webhook of its own; it must hear nothing of the studio's notices.
    let rival_receiver = Receiver::start(|_| 200);
    put_webhook(daemon, &rival, &rival_receiver.url);

    // The studio's receiver fails twice, then accepts.
    let flaky = Receiver::start(|n| if n < 2 { 500 } else { 200 });
    let secret = put_webhook(daemon, &studio, &flaky.url);
    let r = call("GET", &daemon.url("/v1/webhook"), Some(&studio), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["url"], flaky.url.as_str());
    assert!(
        r.json.get("secret").is_none() && !r.text.contains(&secret),
        "GET never shows the secret: {}",
        r.text
    );

    let confirmed = decide(daemon, &reviewer, matches[1], "confirm", "webhook test");
    let notice_id = confirmed["notice"]["id"].as_i64().expect("notice");
    let deliveries = wait_deliveries(daemon, &studio, |d| {
        d.first().is_some_and(|d| d["state"] != "pending")
    });
    assert_eq!(
        deliveries.len(),
        1,
        "the notice confirmed before the webhook existed is not sent: {deliveries:#?}"
    );
    let delivery = &deliveries[0];
    assert_eq!(delivery["state"], "delivered", "{delivery:#}");
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(statuses(delivery), [json!(500), json!(500), json!(200)]);
    assert_eq!(delivery["notice_id"], notice_id);
    assert!(delivery["delivered_at"].is_i64());
    let delivery_id = delivery["id"].as_i64().expect("id");

    // What the receiver got: three identical, signed POSTs of the notice.
    let got = flaky.requests();
    assert_eq!(got.len(), 3, "{got:#?}");
    let notice = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice_id}")),
        Some(&studio),
        None,
    )
    .json["notice"]
        .clone();
    for (i, request) in got.iter().enumerate() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hooks/reelguard");
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(
            request.headers["x-reelguard-event"],
            "infringement.confirmed"
        );
        assert_eq!(
            request.headers["x-reelguard-delivery"],
            delivery_id.to_string()
        );
        assert_eq!(request.body, got[0].body, "retries send the same body");
        let signature = &request.headers["x-reelguard-signature"];
        let t = verified_timestamp(&secret, signature, &request.body)
            .unwrap_or_else(|| panic!("attempt {i}: the signature does not verify"));
        assert!((unix_now() - t).abs() <= 60, "the timestamp is recent: {t}");
        let mut tampered = request.body.clone();
        let last = tampered.len() - 1;
        tampered.insert(last, b' ');
        assert!(verified_timestamp(&secret, signature, &tampered).is_none());
        assert!(verified_timestamp("whsec_wrong", signature, &request.body).is_none());
        // The MAC covers the timestamp: the same tag under another time does not verify.
        let v1 = signature.split_once(",v1=").expect("v1").1;
        let moved = format!("t={},v1={v1}", t + 1);
        assert!(verified_timestamp(&secret, &moved, &request.body).is_none());
    }
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(150),
        "retries back off"
    );
    let payload: Value = serde_json::from_slice(&got[2].body).expect("JSON body");
    assert_eq!(payload["event"], "infringement.confirmed");
    assert_eq!(payload["delivery_id"], delivery_id);
    assert_eq!(payload["notice_id"], notice_id);
    assert_eq!(payload["match_id"], matches[1]);
    assert!(payload["created_at"].is_i64());
    assert_eq!(payload["notice"], notice, "the notice body, verbatim");
    assert_eq!(payload["notice"]["evidence"]["match_id"], matches[1]);
    assert_eq!(delivery["payload"], payload);

    // A rejected match sends nothing.
    decide(daemon, &reviewer, matches[2], "reject", "webhook test");

    // A receiver that never says 2xx: the delivery fails after webhook_max_attempts (3). The
    // new PUT rotated the secret: deliveries are signed with the new one only.
    let broken = Receiver::start(|_| 503);
    let rotated = put_webhook(daemon, &studio, &broken.url);
    assert_ne!(rotated, secret);
    let failing = decide(daemon, &reviewer, matches[3], "confirm", "webhook test");
    let failing_notice = failing["notice"]["id"].as_i64().expect("notice");
    let deliveries = wait_deliveries(daemon, &studio, |d| {
        d.len() == 2 && d[0]["state"] != "pending"
    });
    let failed = &deliveries[0];
    assert_eq!(failed["notice_id"], failing_notice);
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["max_attempts"], 3);
    assert_eq!(failed["last_status"], 503);
    assert_eq!(statuses(failed), [json!(503), json!(503), json!(503)]);
    let got = broken.requests();
    assert_eq!(got.len(), 3);
    for request in &got {
        let signature = &request.headers["x-reelguard-signature"];
        assert!(verified_timestamp(&rotated, signature, &request.body).is_some());
        assert!(verified_timestamp(&secret, signature, &request.body).is_none());
    }
    assert_eq!(flaky.requests().len(), 3, "the rejection sent nothing");
    assert!(
        rival_receiver.requests().is_empty(),
        "another member's receiver heard nothing"
    );
    let r = call(
        "GET",
        &daemon.url("/v1/webhook/deliveries"),
        Some(&rival),
        None,
    );
    assert_eq!(r.json["deliveries"].as_array().map(Vec::len), Some(0));

    // Deliveries live in the store: one that is waiting for its retry when the daemon is
    // killed is delivered by the next daemon.
    site.daemon.terminate(Duration::from_secs(30));
    let slow = config(site.tmp.path(), 3000);
    let slow_arg = ["--config", slow.to_str().expect("utf-8")];
    let data = site.data().to_path_buf();
    site.daemon = Daemon::start(&data, &slow_arg);
    let daemon = &site.daemon;
    let recovering = Receiver::start(|n| if n == 0 { 500 } else { 200 });
    put_webhook(daemon, &studio, &recovering.url);
    decide(daemon, &reviewer, matches[4], "confirm", "webhook test");
    wait_deliveries(daemon, &studio, |d| {
        d.len() == 3 && d[0]["attempts"] == 1 && d[0]["state"] == "pending"
    });
    site.daemon.kill9();
    site.daemon = Daemon::start(&data, &slow_arg);
    let daemon = &site.daemon;
    let deliveries = wait_deliveries(daemon, &studio, |d| d[0]["state"] != "pending");
    assert_eq!(deliveries[0]["state"], "delivered", "{:#}", deliveries[0]);
    assert_eq!(statuses(&deliveries[0]), [json!(500), json!(200)]);
    assert_eq!(recovering.requests().len(), 2);

    // Removing the webhook: GET is 404 again, and a second DELETE too.
    let r = call("DELETE", &daemon.url("/v1/webhook"), Some(&studio), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        call("GET", &daemon.url("/v1/webhook"), Some(&studio), None).status,
        404
    );
    assert_eq!(
        call("DELETE", &daemon.url("/v1/webhook"), Some(&studio), None).status,
        404
    );
    // The log outlives the webhook.
    let r = call(
        "GET",
        &daemon.url("/v1/webhook/deliveries?limit=2"),
        Some(&studio),
        None,
    );
    assert_eq!(r.json["deliveries"].as_array().map(Vec::len), Some(2));
    // The secret is in no log line.
    let log = std::fs::read_to_string(data.with_extension("daemon.log")).unwrap_or_default();
    assert!(!log.contains(&secret) && !log.contains(&rotated));
    eprintln!("test took {:?}", started.elapsed());
}
