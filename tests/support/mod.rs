//! Shared helpers for the integration tests: fixture location and the `reelguard` binary.
#![allow(dead_code)]

pub mod browser;
pub mod web;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The generated fixtures, made by `fixtures/generate` on first use if they are missing.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("REELGUARD_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("fixtures/out"));
        let complete = ["originals", "variants", "compilations", "bad"]
            .iter()
            .all(|d| {
                dir.join(d).join("MANIFEST.tsv").exists() || dir.join(d).join("empty.mp4").exists()
            });
        if !complete {
            let status = Command::new(repo_root().join("fixtures/generate"))
                .arg(&dir)
                .status()
                .expect("running fixtures/generate");
            assert!(status.success(), "fixtures/generate failed");
        }
        dir
    })
}

/// Reads a tab-separated manifest with a header line into rows keyed by column name.
pub fn read_tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .expect("header line")
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

/// The `reelguard` binary under test: `$REELGUARD_BIN` if set, else the one cargo built. The
/// override exists because a target directory shared by several work trees has one
/// `release/reelguard`, which another tree's build may replace between build and test.
pub fn reelguard_bin() -> PathBuf {
    std::env::var_os("REELGUARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_reelguard")))
}

/// Runs the `reelguard` binary with a time limit; panics if it does not finish in time.
pub fn reelguard(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(reelguard_bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning reelguard");
    // Drain the pipes while waiting, or a chatty child blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("reelguard {args:?} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout thread").expect("reading stdout"),
        stderr: err.join().expect("stderr thread").expect("reading stderr"),
    }
}

/// Parses one JSON object per line.
pub fn json_lines(output: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(output)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The `p`-th percentile (0–100) of sorted values.
pub fn percentile(sorted: &[u32], p: usize) -> u32 {
    assert!(!sorted.is_empty());
    sorted[(sorted.len() - 1) * p / 100]
}

// ---- the daemon (issue 4): a real `reelguard serve` on 127.0.0.1 ---------------------------

/// A `reelguard serve` child process listening on a free port of 127.0.0.1; killed on drop.
pub struct Daemon {
    /// The process.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory.
    pub data: PathBuf,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Daemon {
    /// Starts `reelguard serve --data DATA --listen 127.0.0.1:0 ARGS...` and waits until
    /// `/readyz` answers 200. Its log goes to `DATA/../daemon.log` (appended).
    pub fn start(data: &Path, args: &[&str]) -> Daemon {
        use std::io::BufRead;
        std::fs::create_dir_all(data).expect("data dir");
        let log_path = data.with_extension("daemon.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("daemon log");
        let mut child = Command::new(reelguard_bin())
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("REELGUARD_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawning reelguard serve");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        // The first stdout line names the bound address; it comes before any request is served.
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "reelguard serve exited before listening; log:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        let listening: serde_json::Value =
            serde_json::from_str(line.trim()).expect("the listening line is JSON");
        let base = format!(
            "http://{}",
            listening["listening"].as_str().expect("listening address")
        );
        let daemon = Daemon {
            child,
            base,
            data: data.to_path_buf(),
            _stdout: stdout,
        };
        let started = Instant::now();
        loop {
            if call("GET", &daemon.url("/readyz"), None, None).status == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the daemon did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    /// The URL of a path on the daemon.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `limit` for a clean exit.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the daemon did not stop within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An HTTP answer: status, `Retry-After`, and the body parsed as JSON (`Null` if it is not).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The Retry-After header.
    pub retry_after: Option<String>,
    /// The body as JSON.
    pub json: serde_json::Value,
    /// The body as text.
    pub text: String,
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    })
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>, what: &str) -> Reply {
    let mut response = result.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        retry_after,
        json,
        text,
    }
}

/// Calls the API: `method` is GET, DELETE, POST or PUT; `body` is sent as JSON.
pub fn call(method: &str, url: &str, key: Option<&str>, body: Option<&serde_json::Value>) -> Reply {
    let what = format!("{method} {url}");
    let auth = key.map(|k| format!("Bearer {k}"));
    match method {
        "GET" | "DELETE" => {
            let mut request = if method == "GET" {
                agent().get(url)
            } else {
                agent().delete(url)
            };
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            reply(request.call(), &what)
        }
        "POST" | "PUT" => {
            let mut request = if method == "POST" {
                agent().post(url)
            } else {
                agent().put(url)
            };
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            let text = body.map_or_else(|| "{}".to_string(), |b| b.to_string());
            reply(
                request
                    .header("Content-Type", "application/json")
                    .send(text),
                &what,
            )
        }
        other => panic!("unsupported method {other}"),
    }
}

/// POSTs a file as the raw request body (streamed from the file).
pub fn upload(url: &str, key: Option<&str>, file: &Path) -> Reply {
    let mut request = agent()
        .post(url)
        .header("Content-Type", "application/octet-stream");
    if let Some(key) = key {
        request = request.header("Authorization", &format!("Bearer {key}"));
    }
    let body =
        std::fs::File::open(file).unwrap_or_else(|e| panic!("opening {}: {e}", file.display()));
    reply(request.send(body), &format!("upload {}", file.display()))
}

/// `reelguard admin create-key` (offline), returning the new key.
pub fn create_key(data: &Path, member: &str, role: &str) -> String {
    let data = data.to_str().expect("utf-8 path");
    let out = reelguard(
        &[
            "admin",
            "create-key",
            "--data",
            data,
            "--member",
            member,
            "--role",
            role,
        ],
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "create-key failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).expect("utf-8 key");
    key.trim().to_string()
}

/// Polls a job until it has finished (succeeded or failed); returns its last JSON.
pub fn wait_job(daemon: &Daemon, key: &str, job_id: i64, limit: Duration) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let r = call(
            "GET",
            &daemon.url(&format!("/v1/jobs/{job_id}")),
            Some(key),
            None,
        );
        assert_eq!(r.status, 200, "job {job_id}: {}", r.text);
        let state = r.json["state"].as_str().unwrap_or("").to_string();
        if state == "succeeded" || state == "failed" {
            return r.json;
        }
        assert!(
            started.elapsed() < limit,
            "job {job_id} still {state} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Creates (or reuses) a member and a key of `role` for it over HTTP, as the admin.
pub fn member_key(daemon: &Daemon, admin: &str, name: &str, role: &str) -> String {
    let r = call(
        "POST",
        &daemon.url("/v1/members"),
        Some(admin),
        Some(&serde_json::json!({"name": name})),
    );
    assert!(r.status == 201 || r.status == 409, "{}", r.text);
    let r = call(
        "POST",
        &daemon.url("/v1/keys"),
        Some(admin),
        Some(&serde_json::json!({"member": name, "role": role})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["key"].as_str().expect("key").to_string()
}

// ---- scenario helpers for the UI tests ------------------------------------------------------

/// Percent-encodes `s` for a query string or an `application/x-www-form-urlencoded` body
/// (everything but RFC 3986's unreserved characters).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Creates a work for the member `key` and registers `file` as its episode 1, waiting for the
/// job; returns the work id.
pub fn register_work(
    daemon: &Daemon,
    key: &str,
    title: &str,
    external_id: Option<&str>,
    file: &Path,
) -> String {
    let r = call(
        "POST",
        &daemon.url("/v1/works"),
        Some(key),
        Some(&serde_json::json!({"title": title, "external_id": external_id})),
    );
    assert_eq!(r.status, 201, "creating work {title:?}: {}", r.text);
    let work_id = r.json["work_id"].as_str().expect("work_id").to_string();
    let r = upload(
        &daemon.url(&format!("/v1/works/{work_id}/episodes?filename=e1.mp4")),
        Some(key),
        file,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let job = wait_job(
        daemon,
        key,
        r.json["job_id"].as_i64().expect("job_id"),
        Duration::from_secs(120),
    );
    assert_eq!(job["state"], "succeeded", "{job}");
    work_id
}

/// A crawler submits `file` with source metadata `(name, value)` pairs (encoded into the query
/// string); waits for the scan job. Returns the upload's answer.
pub fn submit_suspect(
    daemon: &Daemon,
    crawler: &str,
    meta: &[(&str, &str)],
    file: &Path,
) -> serde_json::Value {
    let query: Vec<String> = meta
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    let r = upload(
        &daemon.url(&format!("/v1/suspects?{}", query.join("&"))),
        Some(crawler),
        file,
    );
    assert_eq!(r.status, 202, "submitting a suspect: {}", r.text);
    let job = wait_job(
        daemon,
        crawler,
        r.json["job_id"].as_i64().expect("job_id"),
        Duration::from_secs(120),
    );
    assert_eq!(job["state"], "succeeded", "{job}");
    r.json
}

/// The pending-review match of `work_id` as the API shows it to `reviewer`; panics if none.
pub fn pending_match(daemon: &Daemon, reviewer: &str, work_id: &str) -> serde_json::Value {
    let r = call(
        "GET",
        &daemon.url("/v1/matches?state=pending_review"),
        Some(reviewer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .find(|m| m["work_id"] == work_id)
        .unwrap_or_else(|| panic!("no pending match for work {work_id}: {}", r.text))
        .clone()
}
