//! Reader latency of a real `reelguard serve` while it works: issue 9's before/after
//! ("Concurrency"), built so that issue 10's load generator can grow out of it.
//!
//! Per binary and run, a fresh site: admin/member/crawler/reviewer keys made offline with
//! `reelguard admin create-key`, the daemon on `127.0.0.1:0` with `--workers` workers, a work
//! of three episodes and `--seed` scanned suspects. The seed fills both review lists past their
//! caps (the queue page shows 200 rows, the API list 50), so their answers stay the same size
//! while the background adds matches. Then two phases of `--secs` with `--readers` clients,
//! each with its own workbench session (logged in with the reviewer key), looping on
//! `GET /v1/matches?limit=50` (bearer key) and `GET /ui/queue` (cookie): `idle`, then `loaded`:
//! two scans of pirated copies and one registration (into a second, unrelated work) kept
//! running, a new job submitted as each finishes (watched through `GET /v1/jobs`). Beside the
//! latencies: jobs done, mean running jobs, the daemon's peak RSS and threads (/proc).
//!
//! The decision that shaped it: only HTTP and the CLI, no crate of the workspace, so the SAME
//! code measures an old and a new `reelguard` in one invocation (`--bin LABEL=PATH`, repeated;
//! runs interleave A B A B ... so machine noise hits both); it prints medians over runs and
//! each binary's loaded p99 over the first's. Bounded: one blocking client per thread, no
//! queues, a timeout on every request, at most `MAX_SAMPLES` latencies per endpoint and client.
//!
//! Fixtures: `$REELGUARD_FIXTURES` or `fixtures/out`; if files are missing, stand-ins are made
//! with the ffmpeg CLI from lavfi. Every upload ends in a unique MP4 `free` box, so none is
//! deduplicated. Issue 9's before/after in one run (each binary from `cargo build --release -p
//! reelguard-cli`, copied out of the shared target directory):
//!
//! ```text
//! REELGUARD_FIXTURES=/work/main/fixtures/out CARGO_TARGET_DIR=/var/cache/rg-measure \
//!   cargo bench -p reelguard-cli --bench serve_load -- --runs 3 --json \
//!   --bin before=/var/cache/rg-bin/reelguard-before --bin after=/var/cache/rg-bin/reelguard-after \
//!   | tee /var/cache/rg-bin/results/before-after.txt
//! ```
//!
//! Flags: `--bin [LABEL=]PATH` (default `$REELGUARD_BIN`, else the binary cargo built),
//! `--runs N` (1), `--readers K` (8), `--secs S` (30), `--seed N` (210), `--workers W` (3),
//! `--pause-ms P` (0: closed loop; a reader's pause after each request), `--json` (everything
//! as one JSON line at the end).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

/// Latencies kept per endpoint and client: the bound on the harness's memory.
const MAX_SAMPLES: usize = 250_000;
/// Budget of one reader request, and of one upload or setup request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// How long setup waits for its jobs.
const JOB_LIMIT: Duration = Duration::from_secs(600);
/// What the readers measure: (name, path); `/ui/` paths go with the session cookie.
const ENDPOINTS: [(&str, &str); 2] = [
    ("GET /v1/matches?limit=50", "/v1/matches?limit=50"),
    ("GET /ui/queue", "/ui/queue"),
];

/// The flags that take a value (all numbers but `--bin`).
const VALUE_FLAGS: &str = "--bin --runs --readers --secs --seed --workers --pause-ms";

#[derive(Serialize)]
struct Opts {
    bins: Vec<(String, PathBuf)>,
    runs: usize,
    readers: usize,
    secs: u64,
    seed: usize,
    workers: usize,
    pause_ms: u64,
    json: bool,
}

fn opts() -> Result<Opts> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut bins = Vec::new();
    for (i, arg) in args.iter().enumerate().filter(|(_, a)| a.starts_with("--")) {
        let value = args
            .get(i + 1)
            .filter(|_| VALUE_FLAGS.split(' ').any(|f| f == arg));
        match (arg.as_str(), value) {
            ("--bin", Some(v)) => bins.push(match v.split_once('=') {
                Some((label, path)) => (label.to_string(), PathBuf::from(path)),
                None => (format!("bin{}", bins.len() + 1), PathBuf::from(v)),
            }),
            // cargo bench passes --bench to every bench target.
            (_, Some(_)) | ("--json" | "--bench", None) => {}
            _ => bail!("bad argument {arg} (see the doc comment of serve_load.rs)"),
        }
    }
    if bins.is_empty() {
        let bin = std::env::var_os("REELGUARD_BIN").map(PathBuf::from);
        let bin = bin.unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_reelguard")));
        bins.push(("reelguard".into(), bin));
    }
    let n = |name: &str, default: u64| -> Result<u64> {
        let value = args
            .iter()
            .rposition(|a| a == name)
            .and_then(|i| args.get(i + 1));
        Ok(value.map(|v| v.parse()).transpose()?.unwrap_or(default))
    };
    let o = Opts {
        bins,
        runs: n("--runs", 1)? as usize,
        readers: n("--readers", 8)? as usize,
        secs: n("--secs", 30)?,
        seed: n("--seed", 210)? as usize,
        workers: n("--workers", 3)? as usize,
        pause_ms: n("--pause-ms", 0)?,
        json: args.iter().any(|a| a == "--json"),
    };
    if o.runs == 0 || o.readers == 0 || o.workers < 3 {
        bail!("--runs and --readers must be positive and --workers at least 3");
    }
    Ok(o)
}

// ---- fixtures -------------------------------------------------------------------------------

/// The files a site is made of, and the pools the background draws from.
#[derive(Default)]
struct Media {
    episodes: Vec<PathBuf>,
    seed_suspects: Vec<PathBuf>,
    scans: Vec<PathBuf>,
    registrations: Vec<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
}

fn media() -> Result<Media> {
    let dir = std::env::var_os("REELGUARD_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"),
        PathBuf::from,
    );
    // `pattern` with N replaced by each space-separated part.
    let names = |pattern: &str, parts: &str| -> Vec<PathBuf> {
        let each = parts.split(' ').map(|p| dir.join(pattern.replace('N', p)));
        each.collect()
    };
    let m = Media {
        episodes: names("originals/street_eN.mp4", "1 2 3"),
        seed_suspects: names("variants/street_eN/lowres.mp4", "1 2 3"),
        // Pirated copies of the registered episodes: each scan decodes in full and matches.
        scans: names(
            "variants/street_N.mp4",
            "e1/mirror e2/borders e3/crop15 e1/subs_logo e2/mirror e3/borders",
        ),
        // Registered into a second work, unrelated to the scans.
        registrations: names("originals/N.mp4", "blupi_e1 synth_e1 blupi_e2 synth_e2"),
        _tmp: None,
    };
    let all = [&m.episodes, &m.seed_suspects, &m.scans, &m.registrations];
    if all.iter().all(|files| files.iter().all(|f| f.exists())) {
        return Ok(m);
    }
    eprintln!(
        "serve_load: fixtures missing in {}; making stand-ins",
        dir.display()
    );
    stand_ins()
}

/// Stand-ins from lavfi: three 720x1280 originals, shrunk and bordered copies of them, and two
/// unrelated clips to register.
fn stand_ins() -> Result<Media> {
    let tmp = tempfile::tempdir()?;
    let ff = |src: &str, vf: &str, name: &str| -> Result<PathBuf> {
        let out = tmp.path().join(name);
        let (source, options) = src.split_once(':').unwrap_or((src, ""));
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("{source}=s=720x1280:r=30{options}"))
            .args([
                "-t", "12", "-vf", vf, "-c:v", "libx264", "-preset", "veryfast",
            ])
            .args(["-pix_fmt", "yuv420p"])
            .arg(&out)
            .status()
            .context("running ffmpeg")?;
        if !status.success() {
            bail!("ffmpeg {src}: {status}");
        }
        Ok(out)
    };
    let mut m = Media::default();
    let borders = "scale=576:1024,pad=720:1280:72:128";
    for (i, src) in "testsrc2 mandelbrot gradients::speed=0.05"
        .split(' ')
        .enumerate()
    {
        m.episodes.push(ff(src, "null", &format!("o{i}.mp4"))?);
        m.seed_suspects
            .push(ff(src, "scale=360:640", &format!("s{i}.mp4"))?);
        m.scans.push(ff(src, borders, &format!("v{i}.mp4"))?);
    }
    for (i, src) in "cellauto life::mold=10".split(' ').enumerate() {
        m.registrations.push(ff(src, "null", &format!("r{i}.mp4"))?);
    }
    m._tmp = Some(tmp);
    Ok(m)
}

/// `file` followed by an MP4 `free` box holding `n`: demuxers skip it, the SHA-256 differs.
fn unique(file: &Path, n: u64) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    bytes.extend_from_slice(&16u32.to_be_bytes());
    bytes.extend_from_slice(b"free");
    bytes.extend_from_slice(&n.to_be_bytes());
    Ok(bytes)
}

// ---- the daemon and its HTTP API ------------------------------------------------------------

/// A `reelguard serve` child; killed and reaped on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn create_key(bin: &Path, data: &Path, member: &str, role: &str) -> Result<String> {
    let out = Command::new(bin)
        .args(["admin", "create-key", "--data"])
        .arg(data)
        .args(["--member", member, "--role", role, "--create-member"])
        .stdin(Stdio::null())
        .output()
        .context("running reelguard admin create-key")?;
    if !out.status.success() {
        bail!("create-key: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// Starts the daemon; answers it and its base URL, from the `{"listening": ...}` line.
fn start(bin: &Path, data: &Path, workers: usize) -> Result<(Daemon, String)> {
    let mut serve = Command::new(bin);
    serve
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"]);
    serve
        .env("REELGUARD_WORKERS", workers.to_string())
        .stdin(Stdio::null());
    let log = std::fs::File::create(data.with_extension("daemon.log"))?;
    let child = serve.stdout(Stdio::piped()).stderr(log).spawn();
    let mut daemon = Daemon(child.context("spawning reelguard serve")?);
    let stdout = daemon.0.stdout.take().context("daemon stdout")?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    // Reads the first line, then drains stdout, so the daemon never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    let line = line.context("the daemon did not listen")?;
    let listening: Value = serde_json::from_str(line.trim()).context("the listening line")?;
    let addr = listening["listening"].as_str().context("no address")?;
    Ok((daemon, format!("http://{addr}")))
}

fn agent(timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder().http_status_as_error(false);
    let config = config.max_redirects(0).timeout_global(Some(timeout));
    config.build().into()
}

/// One daemon on a fresh data directory, its keys, and a client for setup and job control.
struct Site {
    daemon: Daemon,
    base: String,
    admin: String,
    member: String,
    crawler: String,
    reviewer: String,
    http: ureq::Agent,
    /// The (empty) work the background registers into.
    work: String,
    _tmp: tempfile::TempDir,
}

type Answer = Result<ureq::http::Response<ureq::Body>, ureq::Error>;

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Status and JSON body of an answer.
    fn json(answer: Answer, what: &str) -> Result<(u16, Value)> {
        let mut response = answer.with_context(|| what.to_string())?;
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok((response.status().as_u16(), json))
    }

    fn get(&self, path: &str, key: &str) -> Result<(u16, Value)> {
        let auth = format!("Bearer {key}");
        let request = self.http.get(self.url(path)).header("Authorization", &auth);
        Site::json(request.call(), path)
    }

    fn post(&self, path: &str, key: &str, kind: &str, body: &[u8]) -> Result<(u16, Value)> {
        let auth = format!("Bearer {key}");
        let request = self
            .http
            .post(self.url(path))
            .header("Authorization", &auth);
        Site::json(request.header("Content-Type", kind).send(body), path)
    }

    /// Uploads a unique copy of `file`: a suspect (`work: None`) or an episode; the job id.
    fn submit(&self, work: Option<&str>, file: &Path, n: u64) -> Result<i64> {
        let (path, key) = match work {
            None => (format!("/v1/suspects?url=u{n}"), &self.crawler),
            Some(w) => (format!("/v1/works/{w}/episodes?filename={n}"), &self.member),
        };
        let bytes = unique(file, n)?;
        let (status, answer) = self.post(&path, key, "application/octet-stream", &bytes)?;
        match (status, answer["job_id"].as_i64()) {
            (202, Some(id)) => Ok(id),
            _ => bail!("upload answered {status}: {answer}"),
        }
    }

    /// (id, state) of the newest jobs.
    fn job_states(&self, limit: u32) -> Result<Vec<(i64, String)>> {
        let (status, list) = self.get(&format!("/v1/jobs?limit={limit}"), &self.admin)?;
        let jobs = list["jobs"].as_array().filter(|_| status == 200);
        let jobs = jobs.ok_or_else(|| anyhow!("GET /v1/jobs answered {status}"))?;
        let state = |j: &Value| Some((j["id"].as_i64()?, j["state"].as_str()?.into()));
        Ok(jobs.iter().filter_map(state).collect())
    }

    /// Waits for the jobs `ids` (among the newest 1000) to succeed.
    fn wait_jobs(&self, ids: &[i64]) -> Result<()> {
        let started = Instant::now();
        loop {
            let states = self.job_states(1000)?;
            let of = |id: &i64| states.iter().find(|(j, _)| j == id).map(|(_, s)| s.clone());
            let states: Vec<_> = ids.iter().map(of).collect();
            if states.iter().any(|s| s.as_deref() == Some("failed")) {
                bail!("a setup job failed (see the daemon log)");
            } else if states.iter().all(|s| s.as_deref() == Some("succeeded")) {
                return Ok(());
            } else if started.elapsed() > JOB_LIMIT {
                bail!("setup jobs not done after {JOB_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A workbench session for `key` through the login form, as a `Cookie` header value. The
    /// form's CSRF token is the value of its `rg_login` cookie.
    fn log_in(&self, http: &ureq::Agent, key: &str) -> Result<String> {
        let form = http.get(self.url("/ui/login")).call()?;
        let token = cookie(&form, "rg_login").context("no rg_login cookie")?;
        let done = http
            .post(self.url("/ui/login"))
            .header("Cookie", &format!("rg_login={token}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("key={}&csrf={token}", key.replace('+', "%2B")))?;
        let session = cookie(&done, "rg_session").context("the login gave no session")?;
        Ok(format!("rg_session={session}"))
    }
}

fn cookie(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    let mut set = response.headers().get_all("set-cookie").iter();
    set.find_map(|v| {
        let (n, value) = v.to_str().ok()?.split(';').next()?.split_once('=')?;
        (n.trim() == name && !value.is_empty()).then(|| value.to_string())
    })
}

/// Keys, the daemon, a work of three episodes, `seed` scanned suspects, a second work.
fn setup(bin: &Path, media: &Media, o: &Opts) -> Result<Site> {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    let key = |member: &str, role: &str| create_key(bin, &data, member, role);
    let (admin, member) = (key("ops", "admin")?, key("studio", "member")?);
    let (crawler, reviewer) = (key("crawler", "crawler")?, key("review", "reviewer")?);
    let (daemon, base) = start(bin, &data, o.workers)?;
    let (http, work, _tmp) = (agent(UPLOAD_TIMEOUT), String::new(), tmp);
    let mut site = Site {
        daemon,
        base,
        admin,
        member,
        crawler,
        reviewer,
        http,
        work,
        _tmp,
    };
    let work = |title: &str| -> Result<String> {
        let body = json!({ "title": title }).to_string();
        let kind = "application/json";
        let (status, w) = site.post("/v1/works", &site.member, kind, body.as_bytes())?;
        let id = w["work_id"].as_str().map(str::to_string);
        id.ok_or_else(|| anyhow!("creating a work: {status} {w}"))
    };
    let (seeded, growing) = (work("Street")?, work("Load")?);
    let episodes = media.episodes.iter().zip(0..);
    let jobs = episodes.map(|(file, n)| site.submit(Some(&seeded), file, n));
    site.wait_jobs(&jobs.collect::<Result<Vec<_>>>()?)?;
    let pool = &media.seed_suspects;
    let jobs = (0..o.seed).map(|n| site.submit(None, &pool[n % pool.len()], n as u64));
    site.wait_jobs(&jobs.collect::<Result<Vec<_>>>()?)?;
    site.work = growing;
    Ok(site)
}

// ---- the measured phases --------------------------------------------------------------------

/// One client's (then one phase's) latencies for one endpoint.
#[derive(Default)]
struct Samples {
    micros: Vec<u32>,
    errors: u64,
    bytes: u64,
}

/// One endpoint's figures in one phase; `bytes` is the size of the last answer.
#[derive(Serialize)]
struct Figures {
    endpoint: &'static str,
    n: usize,
    errors: u64,
    bytes: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Figures {
    fn of(endpoint: &'static str, mut s: Samples) -> Figures {
        s.micros.sort_unstable();
        let (n, errors, bytes) = (s.micros.len(), s.errors, s.bytes);
        let ms = |p: f64| {
            // Nearest rank.
            let rank = ((p / 100.0) * n as f64).ceil() as usize;
            let at = rank.clamp(1, n.max(1)) - 1;
            s.micros
                .get(at)
                .map_or(f64::NAN, |&us| f64::from(us) / 1000.0)
        };
        let (p50_ms, p99_ms, max_ms) = (ms(50.0), ms(99.0), ms(100.0));
        Figures {
            endpoint,
            n,
            errors,
            bytes,
            p50_ms,
            p99_ms,
            max_ms,
        }
    }
}

/// What the background did during a phase, the daemon's peaks, and the machine's load.
#[derive(Serialize, Default)]
struct Background {
    scans_done: u64,
    registrations_done: u64,
    jobs_failed: u64,
    mean_running_jobs: f64,
    peak_rss_mb: u64,
    peak_threads: u64,
    loadavg_1m: f64,
}

/// One phase of one run of one binary.
#[derive(Serialize)]
struct Phase {
    binary: String,
    run: usize,
    phase: &'static str,
    endpoints: Vec<Figures>,
    background: Background,
}

/// One reader client: a workbench session of its own, then the endpoints in turn until `stop`.
fn reader(site: &Site, pause: Duration, stop: &AtomicBool) -> Result<Vec<Samples>> {
    let http = agent(READ_TIMEOUT);
    let session = site.log_in(&http, &site.reviewer)?;
    let auth = format!("Bearer {}", site.reviewer);
    let mut samples: Vec<Samples> = ENDPOINTS.iter().map(|_| Samples::default()).collect();
    while !stop.load(Ordering::Relaxed) {
        for ((_, path), s) in ENDPOINTS.iter().zip(samples.iter_mut()) {
            let request = http.get(site.url(path));
            let request = match path.starts_with("/ui/") {
                true => request.header("Cookie", &session),
                false => request.header("Authorization", &auth),
            };
            let started = Instant::now();
            let body = request
                .call()
                .map_err(anyhow::Error::from)
                .and_then(|mut r| {
                    let body = r.body_mut().with_config().limit(64 << 20).read_to_vec()?;
                    let status = r.status();
                    (status == 200)
                        .then_some(body)
                        .ok_or_else(|| anyhow!("{status}"))
                });
            let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
            match body {
                Ok(body) if s.micros.len() < MAX_SAMPLES => {
                    s.micros.push(micros);
                    s.bytes = body.len() as u64;
                }
                Ok(_) => {}
                Err(_) => s.errors += 1,
            }
            std::thread::sleep(pause);
        }
    }
    Ok(samples)
}

/// Until `stop`: keeps two scans and one registration in flight (if `load`), and samples the
/// running jobs and the daemon's RSS and threads every 100 ms.
fn controller(site: &Site, media: &Media, load: bool, stop: &AtomicBool) -> Result<Background> {
    let status_file = format!("/proc/{}/status", site.daemon.0.id());
    // (is a scan, its job); numbers from 1e6 up keep these uploads apart from setup's.
    let mut slots = [(true, None), (true, None), (false, None)];
    let (mut bg, mut n, mut running, mut ticks) = (Background::default(), 1_000_000, 0, 0u32);
    while !stop.load(Ordering::Relaxed) {
        let states = site.job_states(20)?;
        running += states.iter().filter(|(_, s)| s == "running").count();
        ticks += 1;
        for (scan, slot) in slots.iter_mut().filter(|_| load) {
            let state = slot.and_then(|id| states.iter().find(|(j, _)| *j == id));
            match state.map(|(_, s)| s.as_str()) {
                Some("succeeded") | Some("failed") if *scan => bg.scans_done += 1,
                Some("succeeded") | Some("failed") => bg.registrations_done += 1,
                _ if slot.is_some() => continue,
                _ => {}
            }
            bg.jobs_failed += u64::from(state.is_some_and(|(_, s)| s == "failed"));
            n += 1;
            let pool = if *scan {
                &media.scans
            } else {
                &media.registrations
            };
            let file = &pool[n as usize % pool.len()];
            *slot = Some(site.submit((!*scan).then_some(&site.work), file, n)?);
        }
        let status = std::fs::read_to_string(&status_file).unwrap_or_default();
        let field = |name: &str| -> u64 {
            let line = status.lines().find_map(|l| l.strip_prefix(name));
            let value = line.and_then(|l| l.split_whitespace().next()?.parse().ok());
            value.unwrap_or(0)
        };
        bg.peak_rss_mb = bg.peak_rss_mb.max(field("VmRSS:") / 1024);
        bg.peak_threads = bg.peak_threads.max(field("Threads:"));
        std::thread::sleep(Duration::from_millis(100));
    }
    bg.mean_running_jobs = running as f64 / f64::from(ticks.max(1));
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let first = loadavg
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok());
    bg.loadavg_1m = first.unwrap_or(f64::NAN);
    Ok(bg)
}

/// One phase: the readers for `secs` (once the background is up to speed, if `load`).
fn phase(site: &Site, media: &Media, o: &Opts, load: bool) -> Result<(Vec<Figures>, Background)> {
    let (stop_bg, stop_readers) = (AtomicBool::new(false), AtomicBool::new(false));
    let pause = Duration::from_millis(o.pause_ms);
    std::thread::scope(|s| {
        let bg = s.spawn(|| controller(site, media, load, &stop_bg));
        // Up to speed: three jobs running, or 30 s, whichever comes first.
        let started = Instant::now();
        while load && started.elapsed() < Duration::from_secs(30) {
            let states = site.job_states(20)?;
            if states.iter().filter(|(_, st)| st == "running").count() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let read = || reader(site, pause, &stop_readers);
        let readers: Vec<_> = (0..o.readers).map(|_| s.spawn(read)).collect();
        std::thread::sleep(Duration::from_secs(o.secs));
        stop_readers.store(true, Ordering::Relaxed);
        let mut merged: Vec<Samples> = ENDPOINTS.iter().map(|_| Samples::default()).collect();
        let mut failure = Ok(());
        for r in readers {
            let samples = r.join().map_err(|_| anyhow!("a reader panicked"));
            match samples.and_then(|r| r) {
                Ok(samples) => merged.iter_mut().zip(samples).for_each(|(m, s)| {
                    m.micros.extend(s.micros);
                    m.errors += s.errors;
                    m.bytes = m.bytes.max(s.bytes);
                }),
                Err(e) => failure = Err(e),
            }
        }
        stop_bg.store(true, Ordering::Relaxed);
        let background = bg
            .join()
            .map_err(|_| anyhow!("the controller panicked"))??;
        failure?;
        let each = ENDPOINTS.iter().zip(merged);
        Ok((
            each.map(|((e, _), m)| Figures::of(e, m)).collect(),
            background,
        ))
    })
}

fn main() -> Result<()> {
    let o = opts()?;
    let media = media()?;
    let mut phases: Vec<Phase> = Vec::new();
    println!("binary     run phase  endpoint                       n  err   p50 ms   p99 ms   max ms bytes");
    for run in 1..=o.runs {
        for (label, bin) in &o.bins {
            let site = setup(bin, &media, &o).with_context(|| format!("setting up {label}"))?;
            for (name, load) in [("idle", false), ("loaded", true)] {
                let (endpoints, background) = phase(&site, &media, &o, load)?;
                for e in &endpoints {
                    let (p50, p99, max) = (e.p50_ms, e.p99_ms, e.max_ms);
                    println!("{label:<10} {run:>3} {name:<6} {:<25} {:>6} {:>4} {p50:>8.2} {p99:>8.2} {max:>8.2} {}", e.endpoint, e.n, e.errors, e.bytes);
                }
                let line = json!(background);
                println!("{label:<10} {run:>3} {name:<6} background {line}");
                std::io::stdout().flush()?;
                let (binary, phase) = (label.clone(), name);
                phases.push(Phase {
                    binary,
                    run,
                    phase,
                    endpoints,
                    background,
                });
            }
        }
    }
    // Medians over runs; each binary's loaded p99 over the first binary's.
    let median = |label: &str, phase: &str, endpoint: &str, p99: bool| -> f64 {
        let of = phases
            .iter()
            .filter(|p| p.binary == label && p.phase == phase);
        let figures = of.flat_map(|p| p.endpoints.iter().filter(|e| e.endpoint == endpoint));
        let mut v: Vec<f64> = figures
            .map(|e| [e.p50_ms, e.p99_ms][usize::from(p99)])
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let first = &o.bins[0].0;
    let mut summary = Vec::new();
    println!("\nmedians over {} run(s), ms", o.runs);
    for (label, _) in &o.bins {
        for (endpoint, _) in ENDPOINTS {
            let m = |phase, p99| median(label, phase, endpoint, p99);
            let (ip50, ip99) = (m("idle", false), m("idle", true));
            let (lp50, lp99) = (m("loaded", false), m("loaded", true));
            let ratio = lp99 / median(first, "loaded", endpoint, true);
            println!("{label:<10} {endpoint:<25} idle p50 {ip50:>7.2} p99 {ip99:>7.2} | loaded p50 {lp50:>7.2} p99 {lp99:>7.2} | loaded p99 / {first}'s {ratio:.3}");
            summary.push(json!({"binary": label, "endpoint": endpoint, "idle_p50_ms": ip50, "idle_p99_ms": ip99,
                "loaded_p50_ms": lp50, "loaded_p99_ms": lp99, "loaded_p99_over_first": ratio}));
        }
    }
    if o.json {
        let all = json!({"settings": o, "phases": phases, "summary": summary});
        println!("{all}");
    }
    Ok(())
}
