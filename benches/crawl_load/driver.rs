//! The crawl load itself, shared by the `crawl_load` bench (full size) and the
//! `server_crawl_load` test (small): starts a daemon of its own on a fresh data directory,
//! makes its keys, registers one episode, and drives crawler clients and a reviewer at it.
//!
//! The decision that shaped it: **measure what a crawler sees, then check the store.** Every
//! upload is preceded by a pre-check (`X-Content-SHA256` with an empty body: a known file is
//! answered without being sent); a miss is then uploaded whole. Every submission names a unique
//! source URL, so after the load the store (opened read-only beside the daemon) must hold every
//! accepted one: nothing lost is checked, not assumed. One blocking client per thread.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `reelguard` binary.
    pub exe: PathBuf,
    /// A scratch directory (the data directory and the clip go here).
    pub scratch: PathBuf,
    /// Concurrent crawler clients.
    pub clients: usize,
    /// Crawler keys they share.
    pub keys: usize,
    /// How long the load runs.
    pub secs: u64,
    /// Open loop: submissions per second over all clients; `None`: closed loop.
    pub rate: Option<f64>,
    /// Instead of the timed load: this many re-finds (pre-checks of known files).
    pub memory: Option<u64>,
    /// New uploads timed at idle, before the load, for the idle drain rate.
    pub idle_jobs: usize,
    /// The clip's video bitrate: `Some(1500)` is a re-encoded-small upload as crawlers find
    /// them (x264 `veryfast`, CABAC and B-frames, about 790 KB for the 4 s); `None` is x264
    /// `ultrafast` at its default quality (about 5.9 Mbps), the encode of the first runs.
    /// Accepting costs per byte and draining per frame, so this sets their ratio.
    pub clip_kbps: Option<u32>,
}

/// Latencies of one kind of request, in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Times(pub Vec<f64>);

impl Times {
    /// The `p`-quantile (0..=1), NaN when empty.
    pub fn quantile(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * p).round() as usize]
    }
}

/// `VmRSS` (KiB) and `Threads` of a process.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcStat {
    /// Resident set, KiB.
    pub rss_kib: u64,
    /// Threads.
    pub threads: u64,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// New uploads: pre-check miss plus the upload, as the client waits for both.
    pub new_uploads: Times,
    /// Re-finds: the pre-check that is answered with the known suspect.
    pub refinds: Times,
    /// `GET /v1/matches?limit=50`.
    pub reviewer: Times,
    /// Largest reviewer answer, bytes.
    pub reviewer_max_bytes: usize,
    /// Jobs finished per second at idle (before the load).
    pub idle_drain: f64,
    /// Jobs finished per second during the load.
    pub load_drain: f64,
    /// Unfinished jobs when the load stopped (0: the workers kept up with the arrivals).
    pub backlog_at_end: i64,
    /// The daemon before the load, after it, and the peaks during it.
    pub before: ProcStat,
    /// After.
    pub after: ProcStat,
    /// Peaks.
    pub peak: ProcStat,
    /// Answers that are neither an acceptance nor an expected pre-check miss, or no answer.
    pub errors: Vec<String>,
    /// 429s (rate limit, full queue) on new uploads.
    pub refused_new: u64,
    /// 429s on re-finds: must never happen for a full queue.
    pub refused_refinds: u64,
    /// Accepted submissions missing from the store afterwards.
    pub lost: u64,
    /// Accepted submissions.
    pub accepted: u64,
    /// 1-minute load average at the start and the end.
    pub load_average: (String, String),
    /// Wall time of the load phase, seconds.
    pub elapsed: f64,
    /// CPU seconds spent during the load phase by the load generator, the daemon and its
    /// decode workers.
    pub cpu: [f64; 3],
}

/// `/proc/PID/status`.
pub fn proc_stat(pid: u32) -> ProcStat {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    ProcStat {
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
    }
}

/// The fields of `/proc/PID/stat` after the parenthesised command name (which may hold
/// spaces): index 0 is the state (field 3 of proc(5)), so field N is at index N - 3.
fn stat_fields(pid: u32) -> Vec<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    // The state is a letter; it parses as 0, which keeps the indices of the numbers.
    rest.split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect()
}

/// Clock ticks as `/proc` counts them (USER_HZ, 100 on Linux whatever the kernel's HZ).
const USER_HZ: f64 = 100.0;

/// CPU seconds of the load generator, the daemon and its workers, at one instant. The
/// workers' figure is the live children's utime + stime plus the daemon's cutime + cstime, so a
/// worker killed and replaced during the load still counts.
fn cpu_split(daemon: u32) -> [f64; 3] {
    let at = |f: &[u64], n: usize| f.get(n - 3).copied().unwrap_or(0);
    let own = |pid: u32| {
        let f = stat_fields(pid);
        (at(&f, 14) + at(&f, 15)) as f64 / USER_HZ
    };
    let d = stat_fields(daemon);
    let reaped = (at(&d, 16) + at(&d, 17)) as f64 / USER_HZ;
    let live: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&c| at(&stat_fields(c), 4) == u64::from(daemon))
        .map(own)
        .sum();
    [own(std::process::id()), own(daemon), live + reaped]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A 4-second 720x1280 clip made with the ffmpeg CLI: cheap to scan, and long enough to match
/// itself (a 2 s clip is under the aligner's shortest segment), so the reviewer lists real
/// matches while the load runs.
pub fn make_clip(path: &Path, kbps: Option<u32>) -> Result<()> {
    let rate = kbps.map(|k| format!("{k}k"));
    let encoder: Vec<&str> = match &rate {
        Some(rate) => vec![
            "-preset", "veryfast", "-b:v", rate, "-maxrate", rate, "-bufsize", rate,
        ],
        None => vec!["-preset", "ultrafast"],
    };
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=720x1280:rate=24:duration=4")
        .args(["-c:v", "libx264"])
        .args(&encoder)
        .args(["-pix_fmt", "yuv420p"])
        .args(["-movflags", "+faststart"])
        .arg(path)
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg failed: {status}");
    }
    Ok(())
}

/// Submission `n`: the clip with a unique trailing MP4 `free` box (same frames, new bytes).
fn body(clip: &[u8], n: u64) -> Vec<u8> {
    let mut b = Vec::with_capacity(clip.len() + 16);
    b.extend_from_slice(clip);
    b.extend_from_slice(&16u32.to_be_bytes());
    b.extend_from_slice(b"free");
    b.extend_from_slice(&n.to_be_bytes());
    b
}

/// The daemon under load, killed when dropped.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(exe: &Path, data: &Path) -> Result<Daemon> {
        let log = std::fs::File::create(data.with_extension("daemon.log"))?;
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .env("REELGUARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting reelguard serve")?;
        let stdout = child.stdout.take().context("daemon stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let listening: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("listening line {line:?}"))?;
        let addr = listening["listening"]
            .as_str()
            .context("no listening address")?;
        let daemon = Daemon {
            child,
            base: format!("http://{addr}"),
        };
        let agent = agent();
        let ready = Instant::now();
        loop {
            let status = agent
                .get(format!("{}/readyz", daemon.base))
                .call()
                .map_or(0, |r| r.status().as_u16());
            if status == 200 {
                return Ok(daemon);
            }
            if ready.elapsed() > Duration::from_secs(60) {
                bail!("the daemon is not ready after 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn json_call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    key: &str,
    body: &serde_json::Value,
) -> Result<(u16, serde_json::Value)> {
    let auth = format!("Bearer {key}");
    let text = body.to_string();
    let request = match method {
        "POST" => agent.post(url),
        "PUT" => agent.put(url),
        other => bail!("method {other}"),
    };
    let mut r = request
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .send(text.as_bytes())?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string()?;
    Ok((status, serde_json::from_str(&text).unwrap_or_default()))
}

fn new_key(agent: &ureq::Agent, base: &str, admin: &str, name: &str, role: &str) -> Result<String> {
    let (status, _) = json_call(
        agent,
        "POST",
        &format!("{base}/v1/members"),
        admin,
        &serde_json::json!({"name": name}),
    )?;
    if status != 201 && status != 409 {
        bail!("creating member {name}: {status}");
    }
    let (status, json) = json_call(
        agent,
        "POST",
        &format!("{base}/v1/keys"),
        admin,
        &serde_json::json!({"member": name, "role": role}),
    )?;
    if status != 201 {
        bail!("creating a key for {name}: {status} {json}");
    }
    Ok(json["key"].as_str().context("key")?.to_string())
}

/// Jobs `(finished, unfinished)`, from the store file (read-only, beside the daemon).
fn job_counts(db: &rusqlite::Connection) -> Result<(i64, i64)> {
    Ok(db.query_row(
        "SELECT count(*) FILTER (WHERE state IN ('succeeded', 'failed')), \
         count(*) FILTER (WHERE state IN ('queued', 'running')) FROM jobs",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

fn open_store(data: &Path) -> Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open_with_flags(
        data.join("reelguard.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    db.busy_timeout(Duration::from_secs(10))?;
    Ok(db)
}

/// Idle jobs that finish before the idle drain is timed (one per decode worker).
const IDLE_WARM_JOBS: i64 = 2;

/// Polls the job counts `(finished, unfinished)` until `done` holds; returns them.
fn wait_for(
    db: &rusqlite::Connection,
    limit: Duration,
    what: &str,
    done: impl Fn(i64, i64) -> bool,
) -> Result<(i64, i64)> {
    let t = Instant::now();
    loop {
        let (finished, unfinished) = job_counts(db)?;
        if done(finished, unfinished) {
            return Ok((finished, unfinished));
        }
        if t.elapsed() > limit {
            bail!("{what} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until no job is unfinished; returns the seconds it took.
fn wait_drained(db: &rusqlite::Connection, limit: Duration) -> Result<f64> {
    let t = Instant::now();
    wait_for(db, limit, "the queue did not drain", |_, unfinished| {
        unfinished == 0
    })?;
    Ok(t.elapsed().as_secs_f64())
}

/// Everything the clients share.
struct Shared {
    clip: Vec<u8>,
    base: String,
    keys: Vec<String>,
    stop: AtomicBool,
    next_n: AtomicU64,
    /// Tickets of the open loop.
    ticket: AtomicU64,
    /// Re-finds still to make in `--memory` mode.
    budget: AtomicU64,
    known: Mutex<Vec<u64>>,
    accepted_urls: Mutex<Vec<String>>,
    results: Mutex<Outcome>,
}

#[derive(Default)]
struct Outcome {
    new_uploads: Vec<f64>,
    refinds: Vec<f64>,
    errors: Vec<String>,
    refused_new: u64,
    refused_refinds: u64,
}

fn millis(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// One crawler client: a pre-check, then (on a miss) the upload.
fn client(shared: &Shared, id: usize, rate: Option<f64>, memory: bool) {
    let agent = agent();
    let auth = format!("Bearer {}", shared.keys[id % shared.keys.len()]);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (id as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let mut mine = Outcome::default();
    let mut seq = 0u64;
    let started = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        if memory && shared.budget.fetch_sub(1, Ordering::Relaxed) == 0 {
            shared.budget.store(0, Ordering::Relaxed);
            break;
        }
        if let Some(rate) = rate {
            let ticket = shared.ticket.fetch_add(1, Ordering::Relaxed);
            let due = started + Duration::from_secs_f64(ticket as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if shared.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // One index under the lock: cloning the list per request cost the generator CPU
        // that grew with the run.
        let refind = (memory || rng.is_multiple_of(2))
            .then(|| {
                let known = shared.known.lock().ok()?;
                known.get((rng >> 8) as usize % known.len().max(1)).copied()
            })
            .flatten();
        let n = refind.unwrap_or_else(|| shared.next_n.fetch_add(1, Ordering::Relaxed));
        let bytes = body(&shared.clip, n);
        let sha = reelguard_store::hex(&Sha256::digest(&bytes));
        seq += 1;
        let url = format!(
            "{}/v1/suspects?platform=load&url=load%3A%2F%2Fc{id}%2F{seq}",
            shared.base
        );
        let t = Instant::now();
        let pre = agent
            .post(&url)
            .header("Authorization", &auth)
            .header("X-Content-SHA256", &sha)
            .send(&[][..]);
        let pre = match pre {
            Ok(mut r) => (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(e) => (0, e.to_string()),
        };
        let accepted = |shared: &Shared| {
            if let Ok(mut urls) = shared.accepted_urls.lock() {
                urls.push(format!("load://c{id}/{seq}"));
            }
        };
        match pre.0 {
            202 => {
                mine.refinds.push(millis(t));
                accepted(shared);
                continue;
            }
            429 => {
                // A re-find refused: per-key rate limit or (a defect) the full queue.
                if refind.is_some() {
                    mine.refused_refinds += 1;
                } else {
                    mine.refused_new += 1;
                }
                mine.errors
                    .extend((refind.is_some()).then(|| format!("re-find 429: {}", pre.1)));
                continue;
            }
            // The miss: the empty body is refused, and the file is unknown.
            400 if refind.is_none() => {}
            status => {
                mine.errors.push(format!(
                    "pre-check {status} (re-find {}): {}",
                    refind.is_some(),
                    pre.1
                ));
                continue;
            }
        }
        let up = agent
            .post(&url)
            .header("Authorization", &auth)
            .header("X-Content-SHA256", &sha)
            .send(&bytes[..]);
        match up {
            Ok(mut r) if r.status().as_u16() == 202 => {
                let _ = r.body_mut().read_to_string();
                mine.new_uploads.push(millis(t));
                accepted(shared);
                if let Ok(mut known) = shared.known.lock() {
                    known.push(n);
                }
            }
            Ok(r) if r.status().as_u16() == 429 => mine.refused_new += 1,
            Ok(mut r) => mine.errors.push(format!(
                "upload {}: {}",
                r.status(),
                r.body_mut().read_to_string().unwrap_or_default()
            )),
            Err(e) => mine.errors.push(format!("upload: {e}")),
        }
    }
    if let Ok(mut all) = shared.results.lock() {
        all.new_uploads.extend(mine.new_uploads);
        all.refinds.extend(mine.refinds);
        all.errors.extend(mine.errors);
        all.refused_new += mine.refused_new;
        all.refused_refinds += mine.refused_refinds;
    }
}

/// The reviewer: `GET /v1/matches?limit=50` in a loop; `(times, largest answer)`.
fn reviewer(shared: &Shared, key: &str) -> (Vec<f64>, usize, Vec<String>) {
    let agent = agent();
    let auth = format!("Bearer {key}");
    let url = format!("{}/v1/matches?limit=50", shared.base);
    let (mut times, mut largest, mut errors) = (Vec::new(), 0, Vec::new());
    while !shared.stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        match agent.get(&url).header("Authorization", &auth).call() {
            Ok(mut r) if r.status().as_u16() == 200 => {
                let size = r.body_mut().read_to_vec().map_or(0, |b| b.len());
                times.push(millis(t));
                largest = largest.max(size);
            }
            Ok(r) => errors.push(format!("reviewer {}", r.status())),
            Err(e) => errors.push(format!("reviewer: {e}")),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (times, largest, errors)
}

/// Starts the daemon, runs the load, checks the store.
pub fn run(options: &Options) -> Result<Report> {
    let clip_path = options.scratch.join("clip.mp4");
    make_clip(&clip_path, options.clip_kbps)?;
    let clip = std::fs::read(&clip_path)?;
    let data = options.scratch.join("data");
    std::fs::create_dir_all(&data)?;
    let admin = {
        let out = Command::new(&options.exe)
            .args(["admin", "create-key", "--data"])
            .arg(&data)
            .args(["--member", "ops", "--role", "admin", "--create-member"])
            .output()?;
        if !out.status.success() {
            bail!("create-key: {}", String::from_utf8_lossy(&out.stderr));
        }
        String::from_utf8(out.stdout)?.trim().to_string()
    };
    let daemon = Daemon::start(&options.exe, &data)?;
    let agent = agent();
    let base = daemon.base.clone();
    let keys = (0..options.keys.max(1))
        .map(|i| new_key(&agent, &base, &admin, &format!("crawler{i}"), "crawler"))
        .collect::<Result<Vec<_>>>()?;
    let review = new_key(&agent, &base, &admin, "review", "reviewer")?;
    let (status, _) = json_call(
        &agent,
        "PUT",
        &format!("{base}/v1/members/review/review-scope"),
        &admin,
        &serde_json::json!({"all": true}),
    )?;
    if status != 200 {
        bail!("review scope: {status}");
    }
    // The clip registered as an episode, so every new suspect is a match for the reviewer.
    let studio = new_key(&agent, &base, &admin, "studio", "member")?;
    let (status, work) = json_call(
        &agent,
        "POST",
        &format!("{base}/v1/works"),
        &studio,
        &serde_json::json!({"title": "Load"}),
    )?;
    let work_id = work["work_id"].as_str().context("work_id")?.to_string();
    if status != 201 {
        bail!("creating the work: {status}");
    }
    let r = agent
        .post(format!(
            "{base}/v1/works/{work_id}/episodes?filename=clip.mp4"
        ))
        .header("Authorization", &format!("Bearer {studio}"))
        .send(&clip[..])?;
    if r.status().as_u16() != 202 {
        bail!("registering the clip: {}", r.status());
    }
    let db = open_store(&data)?;
    wait_drained(&db, Duration::from_secs(120))?;

    let shared = Arc::new(Shared {
        clip,
        base: base.clone(),
        keys,
        stop: AtomicBool::new(false),
        next_n: AtomicU64::new(0),
        ticket: AtomicU64::new(0),
        budget: AtomicU64::new(options.memory.unwrap_or(0)),
        known: Mutex::new(Vec::new()),
        accepted_urls: Mutex::new(Vec::new()),
        results: Mutex::new(Outcome::default()),
    });
    // Idle drain: a batch of new uploads queued at once, timed (after a warm-up) until the
    // queue is empty.
    let mut report = Report::default();
    {
        let (finished0, _) = job_counts(&db)?;
        let shared_idle = Arc::clone(&shared);
        let jobs = options.idle_jobs.max(1);
        let uploaders: Vec<_> = (0..jobs)
            .map(|i| {
                let shared = Arc::clone(&shared_idle);
                std::thread::spawn(move || {
                    let n = shared.next_n.fetch_add(1, Ordering::Relaxed);
                    let bytes = body(&shared.clip, n);
                    let url = format!(
                        "{}/v1/suspects?platform=load&url=load%3A%2F%2Fidle%2F{i}",
                        shared.base
                    );
                    let r = agent_post(&url, &shared.keys[i % shared.keys.len()], &bytes);
                    if r == 202 {
                        if let Ok(mut k) = shared.known.lock() {
                            k.push(n);
                        }
                        if let Ok(mut urls) = shared.accepted_urls.lock() {
                            urls.push(format!("load://idle/{i}"));
                        }
                    }
                    r
                })
            })
            .collect();
        for u in uploaders {
            let status = u.join().map_err(|_| anyhow!("idle uploader panicked"))?;
            if status != 202 {
                report.errors.push(format!("idle upload {status}"));
            }
        }
        // Timed from the moment every upload is in and the first jobs are done, so the
        // uploads, worker start-up and a cold index do not count against the idle rate:
        // with 10 jobs they made it vary from 8.5 to 13.2 jobs/s between runs.
        let (warm, _) = wait_for(
            &db,
            Duration::from_secs(300),
            "the first idle jobs did not finish",
            |finished, unfinished| finished - finished0 >= IDLE_WARM_JOBS || unfinished == 0,
        )?;
        let warm_at = Instant::now();
        wait_drained(&db, Duration::from_secs(300))?;
        let (finished1, _) = job_counts(&db)?;
        let timed = warm_at.elapsed().as_secs_f64();
        if finished1 <= warm || timed <= 0.0 {
            bail!("--idle-jobs {jobs} leaves nothing to time after {IDLE_WARM_JOBS} warm-up jobs");
        }
        report.idle_drain = (finished1 - warm) as f64 / timed;
    }

    let pid = daemon.pid();
    report.before = proc_stat(pid);
    report.load_average.0 = load_average();
    let (finished0, _) = job_counts(&db)?;
    let cpu0 = cpu_split(pid);
    let started = Instant::now();
    let memory = options.memory.is_some();
    let clients: Vec<_> = (0..options.clients)
        .map(|id| {
            let shared = Arc::clone(&shared);
            let rate = options.rate;
            std::thread::spawn(move || client(&shared, id, rate, memory))
        })
        .collect();
    let reader = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || reviewer(&shared, &review))
    };
    let mut peak = report.before;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = proc_stat(pid);
        peak.rss_kib = peak.rss_kib.max(now.rss_kib);
        peak.threads = peak.threads.max(now.threads);
        let done = if memory {
            shared.budget.load(Ordering::Relaxed) == 0
        } else {
            started.elapsed() >= Duration::from_secs(options.secs)
        };
        if done {
            break;
        }
    }
    if memory {
        for c in clients {
            c.join().map_err(|_| anyhow!("a client panicked"))?;
        }
        shared.stop.store(true, Ordering::Relaxed);
    } else {
        shared.stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().map_err(|_| anyhow!("a client panicked"))?;
        }
    }
    report.elapsed = started.elapsed().as_secs_f64();
    let cpu1 = cpu_split(pid);
    report.cpu = std::array::from_fn(|i| cpu1[i] - cpu0[i]);
    let (finished1, backlog) = job_counts(&db)?;
    report.load_drain = (finished1 - finished0) as f64 / report.elapsed;
    report.backlog_at_end = backlog;
    let (reads, largest, reader_errors) =
        reader.join().map_err(|_| anyhow!("reviewer panicked"))?;
    // After a pause longer than one malloc_trim period, so what is kept is kept.
    if memory {
        std::thread::sleep(Duration::from_secs(32));
    }
    report.after = proc_stat(pid);
    report.peak = peak;
    report.load_average.1 = load_average();
    report.reviewer = Times(reads);
    report.reviewer_max_bytes = largest;
    report.errors.extend(reader_errors);
    let outcome = std::mem::take(&mut *shared.results.lock().map_err(|_| anyhow!("poisoned"))?);
    report.new_uploads = Times(outcome.new_uploads);
    report.refinds = Times(outcome.refinds);
    report.errors.extend(outcome.errors);
    report.refused_new = outcome.refused_new;
    report.refused_refinds = outcome.refused_refinds;
    // Nothing lost: every accepted submission's source URL is in the store.
    let stored: HashSet<String> = {
        let mut stmt = db.prepare("SELECT url FROM suspect_sources WHERE platform = 'load'")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let accepted = shared
        .accepted_urls
        .lock()
        .map_err(|_| anyhow!("poisoned"))?;
    report.accepted = accepted.len() as u64;
    report.lost = accepted.iter().filter(|u| !stored.contains(*u)).count() as u64;
    drop(daemon);
    Ok(report)
}

/// One whole upload without a pre-check; the status (0: no answer).
fn agent_post(url: &str, key: &str, bytes: &[u8]) -> u16 {
    agent()
        .post(url)
        .header("Authorization", &format!("Bearer {key}"))
        .send(bytes)
        .map_or(0, |r| r.status().as_u16())
}

/// The report as the bench prints it.
pub fn print(options: &Options, r: &Report) {
    let line = |name: &str, t: &Times| {
        println!(
            "{name}: {} requests, p50 {:.1} ms, p99 {:.1} ms",
            t.0.len(),
            t.quantile(0.5),
            t.quantile(0.99)
        )
    };
    println!(
        "clients {}, keys {}, {:.1} s, rate {}, memory {:?}, clip {}; load average {} -> {}",
        options.clients,
        options.keys,
        r.elapsed,
        options
            .rate
            .map_or("closed loop".into(), |r| format!("{r}/s")),
        options.memory,
        options
            .clip_kbps
            .map_or("ultrafast".into(), |k| format!("{k} kbit/s")),
        r.load_average.0,
        r.load_average.1
    );
    line("accept, new uploads (pre-check + upload)", &r.new_uploads);
    line("accept, re-finds (pre-check)", &r.refinds);
    line("reviewer GET /v1/matches?limit=50", &r.reviewer);
    println!("reviewer largest answer {} bytes", r.reviewer_max_bytes);
    println!(
        "drain idle {:.1} jobs/s, under load {:.1} jobs/s ({:.2}x), backlog at end {}",
        r.idle_drain,
        r.load_drain,
        r.load_drain / r.idle_drain,
        r.backlog_at_end
    );
    println!(
        "CPU during the load ({:.1} s wall x {} cores): generator {:.1} s, daemon {:.1} s, workers {:.1} s",
        r.elapsed,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        r.cpu[0],
        r.cpu[1],
        r.cpu[2]
    );
    println!(
        "daemon RSS {} -> {} KiB (peak {}, growth {} KiB), threads {} -> {} (peak {})",
        r.before.rss_kib,
        r.after.rss_kib,
        r.peak.rss_kib,
        r.after.rss_kib as i64 - r.before.rss_kib as i64,
        r.before.threads,
        r.after.threads,
        r.peak.threads
    );
    println!(
        "accepted {}, lost {}, 429 new {}, 429 re-finds {}, errors {}",
        r.accepted,
        r.lost,
        r.refused_new,
        r.refused_refinds,
        r.errors.len()
    );
    for e in r.errors.iter().take(5) {
        println!("  error: {e}");
    }
}
