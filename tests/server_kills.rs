//! Kills: the daemon is SIGKILLed at seeded random moments while registrations and suspects
//! are being uploaded (bodies sent slowly, so some are always in flight) and processed, then
//! restarted on the same data directory, round after round. Clients behave as a careful one
//! should: an upload whose answer was lost is sent again, registrations with the same
//! `Idempotency-Key`. At the end:
//!
//! - every registration key was answered with one job, the same job every time it was sent
//!   (across restarts too), and every such job succeeded;
//! - the work holds exactly one episode per key (no episode from a request whose answer was
//!   lost and which was sent again), and the catalogue's episodes are exactly the ones the
//!   store's succeeded jobs report (store and catalogue agree);
//! - every suspect has one scan job (the same for every submission of it), which succeeded,
//!   and exactly one match with the episode it copies: scanned exactly once.
//!
//! `REELGUARD_KILL_ROUNDS` (default 24) and `REELGUARD_KILL_SEED` change the run; the test
//! prints the rounds survived and what was in flight.

mod support;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use support::{
    call, create_key, create_work, job_succeeds, poll, post_with, sha256_hex, try_post_reader,
    Daemon,
};

/// A small, seeded generator (splitmix64): the same seed kills at the same moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-v", "error"])
        .args(args)
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An 8-second 360x640 clip of a lavfi source.
fn clip(source: &str, path: &Path) {
    let input = format!("{source}=size=360x640:rate=25");
    let out = path.to_str().expect("utf-8");
    ffmpeg(&[
        "-f", "lavfi", "-i", &input, "-t", "8", "-c:v", "libx264", "-preset", "veryfast",
        "-pix_fmt", "yuv420p", "-g", "25", out,
    ]);
}

/// A body sent 16 KiB at a time, 10 ms apart: an upload stays in flight for a while.
struct Slow {
    data: Arc<Vec<u8>>,
    at: usize,
}

impl std::io::Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.data.len() {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(10));
        let n = buf.len().min(16 << 10).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[derive(Clone)]
enum Item {
    /// A registration: its idempotency key.
    Register(String),
    /// A suspect: its index among the distinct suspect files.
    Suspect(usize),
}

#[derive(Default)]
struct Ledger {
    /// Sent, answer lost: sent again first.
    retry: VecDeque<Item>,
    next_registration: usize,
    next_suspect: usize,
    /// Registration key → job, as answered.
    registered: HashMap<String, i64>,
    /// Suspect index → (job, suspect id), as answered.
    scanned: HashMap<usize, (i64, i64)>,
    /// Requests whose answer was lost to a kill.
    lost: usize,
    /// Registrations sent again and answered `Idempotent-Replayed`: their first attempt had
    /// made its job before the kill took the answer.
    replayed: usize,
}

impl Ledger {
    fn take(&mut self, registrations: bool, suspects: usize) -> Option<Item> {
        if let Some(i) = self
            .retry
            .iter()
            .position(|i| matches!(i, Item::Register(_)) == registrations)
        {
            return self.retry.remove(i);
        }
        if registrations {
            self.next_registration += 1;
            Some(Item::Register(format!(
                "kill-test-{}",
                self.next_registration
            )))
        } else if self.next_suspect < suspects {
            self.next_suspect += 1;
            Some(Item::Suspect(self.next_suspect - 1))
        } else {
            None
        }
    }

    fn answered(&mut self, item: &Item, reply: &serde_json::Value) {
        let job = reply["job_id"].as_i64().expect("job_id");
        match item {
            Item::Register(key) => {
                let first = *self.registered.entry(key.clone()).or_insert(job);
                assert_eq!(first, job, "key {key} answered with two jobs");
            }
            Item::Suspect(n) => {
                let suspect = reply["suspect_id"].as_i64().expect("suspect_id");
                let first = *self.scanned.entry(*n).or_insert((job, suspect));
                assert_eq!(first, (job, suspect), "suspect {n} answered with two jobs");
            }
        }
    }
}

struct Setup {
    studio: String,
    crawler: String,
    work_id: String,
    episode: Arc<Vec<u8>>,
    suspects: Vec<Arc<Vec<u8>>>,
}

/// Sends one item; false once the daemon is gone.
fn send(base: &str, setup: &Setup, ledger: &Mutex<Ledger>, item: Item) -> bool {
    let result = match &item {
        Item::Register(key) => try_post_reader(
            &format!("{base}/v1/works/{}/episodes?filename=ep.mp4", setup.work_id),
            &setup.studio,
            &[("Idempotency-Key", key)],
            Slow {
                data: Arc::clone(&setup.episode),
                at: 0,
            },
        ),
        Item::Suspect(n) => try_post_reader(
            &format!("{base}/v1/suspects?platform=killtest"),
            &setup.crawler,
            &[],
            Slow {
                data: Arc::clone(&setup.suspects[*n]),
                at: 0,
            },
        ),
    };
    let mut ledger = ledger.lock().expect("ledger");
    match result {
        Ok(reply) if reply.status == 202 => {
            ledger.answered(&item, &reply.json);
            if reply.header("idempotent-replayed") == Some("true") {
                ledger.replayed += 1;
            }
            true
        }
        Ok(reply) => panic!("unexpected answer {}: {}", reply.status, reply.text),
        Err(_) => {
            ledger.lost += 1;
            ledger.retry.push_back(item);
            false
        }
    }
}

#[test]
fn acknowledged_work_survives_sigkill_exactly_once() {
    let rounds = env_or("REELGUARD_KILL_ROUNDS", 24) as usize;
    let mut rng = Rng(env_or("REELGUARD_KILL_SEED", 0x5eed_2026));
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let config = tmp.path().join("reelguard.toml");
    // Attempts cut short by a kill count; a job may be hit many times in 24 rounds.
    std::fs::write(
        &config,
        "workers = 2\nmax_attempts = 100\ncrawler_requests_per_sec = 0.0\nretry_backoff_secs = 1\n",
    )
    .expect("config");
    let args = ["--config", config.to_str().expect("utf-8")];

    let anchor = tmp.path().join("anchor.mp4");
    clip("testsrc2", &anchor);
    let episode = tmp.path().join("episode.mp4");
    clip("mandelbrot", &episode);
    let suspects: Vec<PathBuf> = (0..160)
        .map(|n| {
            let path = tmp.path().join(format!("suspect{n}.mp4"));
            let comment = format!("comment=copy {n}");
            ffmpeg(&[
                "-i",
                anchor.to_str().expect("utf-8"),
                "-c",
                "copy",
                "-metadata",
                &comment,
                path.to_str().expect("utf-8"),
            ]);
            path
        })
        .collect();

    let admin = create_key(&data, "ops", "admin");
    let studio = create_key(&data, "studio", "member");
    let crawler = create_key(&data, "crawler-co", "crawler");
    let (work_id, anchor_work) = {
        let daemon = Daemon::start(&data, &args);
        let anchor_work = create_work(&daemon, &studio, &json!({"title": "Anchor"}));
        let r = post_with(
            &daemon.url(&format!(
                "/v1/works/{anchor_work}/episodes?filename=anchor.mp4"
            )),
            Some(&studio),
            &[],
            &std::fs::read(&anchor).expect("anchor"),
        );
        assert_eq!(r.status, 202, "{}", r.text);
        job_succeeds(&daemon, &studio, r.json["job_id"].as_i64().expect("job"));
        (
            create_work(&daemon, &studio, &json!({"title": "Killed"})),
            anchor_work,
        )
    };
    let setup = Arc::new(Setup {
        studio: studio.clone(),
        crawler: crawler.clone(),
        work_id: work_id.clone(),
        episode: Arc::new(std::fs::read(&episode).expect("episode")),
        suspects: suspects
            .iter()
            .map(|p| Arc::new(std::fs::read(p).expect("suspect")))
            .collect(),
    });
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let mut survived = 0;
    for round in 0..rounds {
        let mut daemon = Daemon::start(&data, &args);
        if round > 0 {
            survived += 1;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = [true, true, false, false, false]
            .into_iter()
            .map(|registrations| {
                let (setup, ledger, stop) =
                    (Arc::clone(&setup), Arc::clone(&ledger), Arc::clone(&stop));
                let base = daemon.base.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let item = ledger
                            .lock()
                            .expect("ledger")
                            .take(registrations, setup.suspects.len());
                        let Some(item) = item else { break };
                        if !send(&base, &setup, &ledger, item) {
                            break;
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.between(150, 2500)));
        daemon.kill9();
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            client.join().expect("client thread");
        }
    }

    // The last restart: every lost answer is asked for again, and every key replayed once
    // more (named by its hash, so the body is not even read).
    let daemon = Daemon::start(&data, &args);
    survived += 1;
    let retry: Vec<Item> = ledger.lock().expect("ledger").retry.drain(..).collect();
    for item in retry {
        assert!(
            send(&daemon.base, &setup, &ledger, item),
            "the daemon is up"
        );
    }
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("clients done")
        .into_inner()
        .expect("ledger");
    let sha = sha256_hex(&setup.episode);
    for (key, job) in &ledger.registered {
        let r = post_with(
            &daemon.url(&format!("/v1/works/{work_id}/episodes?filename=ep.mp4")),
            Some(&studio),
            &[("Idempotency-Key", key), ("X-Content-SHA256", &sha)],
            b"",
        );
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(
            r.json["job_id"].as_i64(),
            Some(*job),
            "key {key} after the kills"
        );
    }
    println!(
        "kill rounds survived: {survived} of {rounds} (SIGKILL, restart on the same data); \
         registrations answered {}, suspects answered {}, answers lost to a kill and asked \
         again {} (registrations among them replayed from a job made before the kill: {})",
        ledger.registered.len(),
        ledger.scanned.len(),
        ledger.lost,
        ledger.replayed
    );
    assert_eq!(survived, rounds);
    assert!(ledger.lost > 0, "no kill landed on a request in flight");

    // Everything queued finishes.
    let jobs = poll(Duration::from_secs(600), Duration::from_millis(500), || {
        let r = call(
            "GET",
            &daemon.url("/v1/jobs?limit=1000"),
            Some(&admin),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let jobs = r.json["jobs"].as_array().expect("jobs").clone();
        let open = jobs
            .iter()
            .filter(|j| j["state"] == "queued" || j["state"] == "running")
            .count();
        if open == 0 {
            Ok(jobs)
        } else {
            Err(format!("{open} jobs unfinished"))
        }
    });
    assert!(jobs.len() < 1000, "the listing is complete");
    let failed: Vec<_> = jobs.iter().filter(|j| j["state"] != "succeeded").collect();
    assert!(failed.is_empty(), "failed jobs: {failed:#?}");

    // Registrations: one job per key, one episode per job, the catalogue and the store agree.
    let registrations: Vec<&serde_json::Value> = jobs
        .iter()
        .filter(|j| j["work_id"] == work_id.as_str())
        .collect();
    let answered: std::collections::BTreeSet<i64> = ledger.registered.values().copied().collect();
    assert_eq!(
        answered.len(),
        ledger.registered.len(),
        "two keys shared a job"
    );
    let made: std::collections::BTreeSet<i64> = registrations
        .iter()
        .filter_map(|j| j["id"].as_i64())
        .collect();
    assert_eq!(
        made, answered,
        "registration jobs the store holds vs. those answered"
    );
    let mut numbers: Vec<i64> = registrations
        .iter()
        .map(|j| j["result"]["episode"].as_i64().expect("episode number"))
        .collect();
    numbers.sort_unstable();
    let work = call(
        "GET",
        &daemon.url(&format!("/v1/works/{work_id}")),
        Some(&studio),
        None,
    );
    let mut catalogued: Vec<i64> = work.json["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["number"].as_i64().expect("number"))
        .collect();
    catalogued.sort_unstable();
    assert_eq!(
        catalogued, numbers,
        "the catalogue's episodes vs. the store's jobs"
    );
    assert_eq!(
        catalogued.len(),
        ledger.registered.len(),
        "one episode per key"
    );

    // Suspects: one scan job each, succeeded, one match with the anchor.
    let scans: Vec<&serde_json::Value> = jobs.iter().filter(|j| j["kind"] == "scan").collect();
    let scan_jobs: std::collections::BTreeSet<i64> =
        scans.iter().filter_map(|j| j["id"].as_i64()).collect();
    let answered: std::collections::BTreeSet<i64> = ledger.scanned.values().map(|v| v.0).collect();
    assert_eq!(
        answered.len(),
        ledger.scanned.len(),
        "two suspects shared a job"
    );
    assert_eq!(
        scan_jobs, answered,
        "scan jobs the store holds vs. those answered"
    );
    for (n, (_, suspect)) in &ledger.scanned {
        let r = call(
            "GET",
            &daemon.url(&format!("/v1/matches?suspect_id={suspect}")),
            Some(&studio),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let matches = r.json["matches"].as_array().expect("matches");
        assert_eq!(matches.len(), 1, "suspect {n}: {}", r.text);
        assert_eq!(matches[0]["work_id"], anchor_work.as_str(), "suspect {n}");
    }
}
