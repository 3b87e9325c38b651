//! Shared helpers for the integration tests: fixture location and the `reelguard` binary.
#![allow(dead_code)]

pub mod browser;
pub mod prom;
pub mod route_walk;
pub mod takedown;
pub mod web;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
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
    reelguard_env(args, &[], limit)
}

/// [`reelguard`] with extra environment variables.
pub fn reelguard_env(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = KillOnDrop(
        Command::new(reelguard_bin())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning reelguard"),
    );
    // Drain the pipes while waiting, or a chatty child blocks on a full pipe.
    let mut stdout = child.0.stdout.take().expect("stdout");
    let mut stderr = child.0.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
    });
    let status = wait_exit(&mut child.0, limit, &format!("reelguard {args:?}"));
    Output {
        status,
        stdout: out.join().expect("stdout thread").expect("reading stdout"),
        stderr: err.join().expect("stderr thread").expect("reading stderr"),
    }
}

/// A child process that is killed and reaped when dropped, so a failing test leaks none.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to `limit` for `child` to exit; panics naming `what` if it does not.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    poll(limit, Duration::from_millis(20), || {
        match child.try_wait().expect("waiting on a child") {
            Some(status) => Ok(status),
            None => Err(format!("{what} still running")),
        }
    })
}

/// Calls `probe` every `every` until it returns `Ok`; panics with its last `Err` once `limit`
/// has passed. Every wait of the tests goes through here, so none can wait forever.
pub fn poll<T>(
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let started = Instant::now();
    loop {
        match probe() {
            Ok(done) => return done,
            Err(why) => assert!(started.elapsed() < limit, "{why} after {limit:?}"),
        }
        std::thread::sleep(every);
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

/// The edit families of `fixtures/generate` that keep every frame of the original (so the
/// fingerprint core must survive them frame by frame). `eval` reports them beside `excerpt`,
/// `pip`, `compilation` and `unrelated`.
pub const FRAME_FAMILIES: &[&str] = &[
    "mirror",
    "crop15",
    "speed110",
    "speed125",
    "speed150",
    "reframe",
    "borders",
    "colorborders",
    "subs_logo",
    "color",
    "lowres",
    "fps24",
];

/// The `p`-th percentile (0–100) of sorted values.
pub fn percentile(sorted: &[u32], p: usize) -> u32 {
    assert!(!sorted.is_empty());
    sorted[(sorted.len() - 1) * p / 100]
}

// ---- the daemon (issue 4): a real `reelguard serve` on 127.0.0.1 ---------------------------

/// A `reelguard serve` child process listening on a free port of 127.0.0.1; killed on drop.
pub struct Daemon {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory.
    pub data: PathBuf,
    /// `http://ADDR:PORT` of the keyless metrics listener, when `metrics_listen` is set.
    pub metrics_base: Option<String>,
    _stdout: Option<std::io::BufReader<std::process::ChildStdout>>,
}

impl Daemon {
    /// Starts `reelguard serve --data DATA --listen 127.0.0.1:0 ARGS...` and waits (up to a
    /// minute) until `/readyz` answers 200. Its log goes to `DATA.daemon.log` (appended).
    pub fn start(data: &Path, args: &[&str]) -> Daemon {
        Daemon::start_env(data, args, &[])
    }

    /// [`Daemon::start`] with extra environment variables (crash points, for instance).
    pub fn start_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        std::fs::create_dir_all(data).expect("data dir");
        let log_path = data.with_extension("daemon.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("daemon log");
        let child = Command::new(reelguard_bin())
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("REELGUARD_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawning reelguard serve");
        // Owned from here on, so that any panic below kills the process.
        let mut daemon = Daemon {
            child,
            base: String::new(),
            data: data.to_path_buf(),
            metrics_base: None,
            _stdout: None,
        };
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        // The first stdout line names the bound address; it comes before any request is served.
        // It is read on a thread so that a daemon that never prints it cannot hang the test.
        let mut stdout = std::io::BufReader::new(daemon.child.stdout.take().expect("stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::BufRead::read_line(&mut stdout, &mut line);
            let _ = tx.send((read.map(|_| line), stdout));
        });
        let (line, stdout) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((Ok(line), stdout)) if !line.is_empty() => (line, stdout),
            Ok(_) => panic!("reelguard serve exited before listening; log:\n{}", log()),
            Err(_) => panic!(
                "reelguard serve did not listen within 60 s; log:\n{}",
                log()
            ),
        };
        daemon._stdout = Some(stdout);
        let listening: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("the listening line {line:?} is not JSON: {e}"));
        daemon.base = format!(
            "http://{}",
            listening["listening"].as_str().expect("listening address")
        );
        daemon.metrics_base = listening["metrics_listening"]
            .as_str()
            .map(|addr| format!("http://{addr}"));
        poll(
            Duration::from_secs(60),
            Duration::from_millis(50),
            || match call("GET", &daemon.url("/readyz"), None, None).status {
                200 => Ok(()),
                status => Err(format!("the daemon is not ready (/readyz {status})")),
            },
        );
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
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        sigterm(&self.child);
        wait_exit(&mut self.child, limit, "the daemon (after SIGTERM)")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success(), "kill -TERM {}: {status}", child.id());
}

/// A daemon on a fresh data directory (`TMP/data`), with an admin key (member `ops`) made
/// offline before it started.
pub struct Site {
    /// The daemon (declared first: it is killed before its directory is removed).
    pub daemon: Daemon,
    /// The admin key.
    pub admin: String,
    /// The temporary directory holding `data`.
    pub tmp: tempfile::TempDir,
}

impl Site {
    /// A site in a new temporary directory; `args` as for [`Daemon::start`].
    pub fn start(args: &[&str]) -> Site {
        Site::start_in(tempfile::tempdir().expect("tempdir"), args)
    }

    /// A site in `tmp` (for daemon arguments that name files in it).
    pub fn start_in(tmp: tempfile::TempDir, args: &[&str]) -> Site {
        let data = tmp.path().join("data");
        let admin = create_key(&data, "ops", "admin");
        let daemon = Daemon::start(&data, args);
        Site { daemon, admin, tmp }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.daemon.data
    }

    /// A new key of `role` for the member `name` (created if need be), made by the admin.
    pub fn key(&self, name: &str, role: &str) -> String {
        member_key(&self.daemon, &self.admin, name, role)
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
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// A header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
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
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        retry_after,
        json,
        text,
        headers,
    }
}

/// Calls the API: `method` is GET, DELETE, POST, PUT or PATCH; `body` is sent as JSON.
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
        "POST" | "PUT" | "PATCH" => {
            let mut request = match method {
                "POST" => agent().post(url),
                "PUT" => agent().put(url),
                _ => agent().patch(url),
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

/// POSTs `body` with extra request headers (`Idempotency-Key`, `X-Content-SHA256`...).
pub fn post_with(url: &str, key: Option<&str>, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut request = agent().post(url);
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        request = request.header("Content-Type", "application/octet-stream");
    }
    if let Some(key) = key {
        request = request.header("Authorization", &format!("Bearer {key}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send(body), &format!("POST {url}"))
}

/// POSTs the bytes `body` yields, with extra headers, on a fresh connection; a transport
/// failure (the daemon killed mid-request) is an `Err`, not a panic.
pub fn try_post_reader(
    url: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: impl std::io::Read,
) -> Result<Reply, String> {
    // A fresh agent: a pooled connection to a killed daemon would fail the first retry.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/octet-stream")
        .header("Authorization", &format!("Bearer {key}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut body = body;
    let result = request.send(ureq::SendBody::from_reader(&mut body));
    match result {
        Ok(_) => Ok(reply(result, url)),
        Err(error) => Err(error.to_string()),
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// `reelguard admin create-key --create-member` (offline), returning the new key.
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
            // The tests' members are new: a key for a member that does not exist is refused
            // without it.
            "--create-member",
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

/// How long a test waits for one job.
pub const JOB_LIMIT: Duration = Duration::from_secs(120);

/// Polls a job until it has finished (succeeded or failed); returns its last JSON.
pub fn wait_job(daemon: &Daemon, key: &str, job_id: i64, limit: Duration) -> serde_json::Value {
    poll(limit, Duration::from_millis(100), || {
        let r = call(
            "GET",
            &daemon.url(&format!("/v1/jobs/{job_id}")),
            Some(key),
            None,
        );
        assert_eq!(r.status, 200, "job {job_id}: {}", r.text);
        match r.json["state"].as_str().unwrap_or("") {
            "succeeded" | "failed" => Ok(r.json),
            state => Err(format!("job {job_id} still {state}")),
        }
    })
}

/// Waits (up to [`JOB_LIMIT`]) for a job and asserts that it succeeded; returns its JSON.
pub fn job_succeeds(daemon: &Daemon, key: &str, job_id: i64) -> serde_json::Value {
    let job = wait_job(daemon, key, job_id, JOB_LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    job
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
    let key = r.json["key"].as_str().expect("key").to_string();
    if role == "reviewer" {
        // A new reviewer reviews nothing until an admin assigns a scope; the tests' review
        // teams review everyone unless a test narrows them.
        let r = call(
            "PUT",
            &daemon.url(&format!("/v1/members/{name}/review-scope")),
            Some(admin),
            Some(&serde_json::json!({"all": true})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
    key
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

/// An original episode of the "street" drama.
pub fn street(episode: u32) -> PathBuf {
    fixtures().join(format!("originals/street_e{episode}.mp4"))
}

/// A pirated variant (`mirror`, `borders`, ...) of a street episode.
pub fn street_variant(episode: u32, variant: &str) -> PathBuf {
    fixtures().join(format!("variants/street_e{episode}/{variant}.mp4"))
}

/// Creates a work for the member `key`; `body` is the JSON of `POST /v1/works`. Returns its id.
pub fn create_work(daemon: &Daemon, key: &str, body: &serde_json::Value) -> String {
    let r = call("POST", &daemon.url("/v1/works"), Some(key), Some(body));
    assert_eq!(r.status, 201, "creating work {body}: {}", r.text);
    r.json["work_id"].as_str().expect("work_id").to_string()
}

/// Uploads `file` as the next episode of `work_id`, under its own file name; returns the job.
pub fn upload_episode(daemon: &Daemon, key: &str, work_id: &str, file: &Path) -> i64 {
    let name = file.file_name().expect("a file name").to_string_lossy();
    let r = upload(
        &daemon.url(&format!(
            "/v1/works/{work_id}/episodes?filename={}",
            url_encode(&name)
        )),
        Some(key),
        file,
    );
    assert_eq!(r.status, 202, "uploading {}: {}", file.display(), r.text);
    r.json["job_id"].as_i64().expect("job_id")
}

/// Uploads every file as the next episode of `work_id` (all queued at once), then waits for
/// each job to succeed; returns the jobs' JSON, in upload order.
pub fn register_episodes(
    daemon: &Daemon,
    key: &str,
    work_id: &str,
    files: &[PathBuf],
) -> Vec<serde_json::Value> {
    let jobs: Vec<i64> = files
        .iter()
        .map(|file| upload_episode(daemon, key, work_id, file))
        .collect();
    jobs.into_iter()
        .map(|job| job_succeeds(daemon, key, job))
        .collect()
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
    let body = serde_json::json!({"title": title, "external_id": external_id});
    let work_id = create_work(daemon, key, &body);
    register_episodes(daemon, key, &work_id, &[file.to_path_buf()]);
    work_id
}

/// A crawler submits `file` with source metadata `(name, value)` pairs (encoded into the query
/// string); does not wait for the scan. Returns the upload's answer (`job_id`, `suspect_id`,
/// `deduplicated`).
pub fn queue_suspect(
    daemon: &Daemon,
    crawler: &str,
    meta: &[(&str, &str)],
    file: &Path,
) -> serde_json::Value {
    let query: Vec<String> = meta
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    let path = if query.is_empty() {
        "/v1/suspects".to_string()
    } else {
        format!("/v1/suspects?{}", query.join("&"))
    };
    let r = upload(&daemon.url(&path), Some(crawler), file);
    assert_eq!(r.status, 202, "submitting a suspect: {}", r.text);
    r.json
}

/// The pages of a list, following `next_cursor` with pages of `limit` items; each page is at
/// most `limit` long.
pub fn pages(
    daemon: &Daemon,
    key: &str,
    path: &str,
    field: &str,
    limit: u32,
) -> Vec<Vec<serde_json::Value>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url += &format!("&cursor={c}");
        }
        let r = call("GET", &daemon.url(&url), Some(key), None);
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        let page = r.json[field].as_array().expect("a list").clone();
        assert!(
            page.len() <= limit as usize,
            "{url}: a page longer than its limit"
        );
        pages.push(page);
        match r.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return pages,
        }
    }
    panic!("{path}: more than 100 pages");
}

/// Every item of a list, following `next_cursor` pages of `limit` items.
pub fn all_pages(
    daemon: &Daemon,
    key: &str,
    path: &str,
    field: &str,
    limit: u32,
) -> Vec<serde_json::Value> {
    pages(daemon, key, path, field, limit).concat()
}

/// [`queue_suspect`], then waits for the scan job to succeed. Returns the upload's answer.
pub fn submit_suspect(
    daemon: &Daemon,
    crawler: &str,
    meta: &[(&str, &str)],
    file: &Path,
) -> serde_json::Value {
    let answer = queue_suspect(daemon, crawler, meta, file);
    job_succeeds(daemon, crawler, answer["job_id"].as_i64().expect("job_id"));
    answer
}

/// The matches of a suspect, as the API shows them to `key`.
pub fn matches_of(daemon: &Daemon, key: &str, suspect_id: i64) -> Vec<serde_json::Value> {
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/matches?suspect_id={suspect_id}")),
        Some(key),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["matches"].as_array().expect("matches").clone()
}

/// The reviewer decides a match (`confirm` or `reject`) through the API; returns the answer.
pub fn decide(
    daemon: &Daemon,
    reviewer: &str,
    match_id: i64,
    decision: &str,
    reason: &str,
) -> serde_json::Value {
    let r = call(
        "POST",
        &daemon.url(&format!("/v1/matches/{match_id}/decision")),
        Some(reviewer),
        Some(&serde_json::json!({"decision": decision, "reason": reason})),
    );
    assert_eq!(r.status, 200, "deciding match {match_id}: {}", r.text);
    r.json
}

/// The audit log's entries (up to 1000), read by the admin.
pub fn audit_entries(daemon: &Daemon, admin: &str) -> Vec<serde_json::Value> {
    let r = call(
        "GET",
        &daemon.url("/v1/audit?limit=1000"),
        Some(admin),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["entries"].as_array().expect("entries").clone()
}

/// Polls the member's webhook delivery log (up to 20 s) until `done` holds for it.
pub fn wait_deliveries(
    daemon: &Daemon,
    key: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    poll(Duration::from_secs(20), Duration::from_millis(50), || {
        let r = call(
            "GET",
            &daemon.url("/v1/webhook/deliveries"),
            Some(key),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let deliveries = r.json["deliveries"].as_array().expect("deliveries").clone();
        if done(&deliveries) {
            Ok(deliveries)
        } else {
            Err(format!("deliveries not as expected: {deliveries:#?}"))
        }
    })
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
