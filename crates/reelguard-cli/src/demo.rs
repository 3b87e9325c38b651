//! `reelguard demo [--fixtures DIR] [--data DIR] [--listen ADDR] [--exit-after-scan]`: the
//! product in one command, for a newcomer.
//!
//! It starts the daemon on the embedded defaults (the code `reelguard serve` runs, in this
//! process) in a fresh data directory, creates four demo members with a key each (a studio
//! with the `member` role, a crawler, a reviewer and an admin), prints the workbench's address
//! and the keys, and then plays the studio and the crawler over the daemon's HTTP API
//! ([`crate::demo_api`]): a work per fixture drama, its episodes uploaded in order, then every
//! pirated variant, compilation and unrelated clip submitted as a suspect. It prints the
//! accuracy table ([`crate::eval::score`], the rules of `reelguard eval`) from the matches the
//! API reports, and serves until interrupted, or exits (`--exit-after-scan`, for scripts and CI).
//!
//! The decision that shapes it: **nothing offline.** Every file is a job in the daemon's queue,
//! run by its leased workers in the sandbox and stored in its store, so the review queue the
//! reviewer key opens afterwards holds exactly what the table counted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{bail, Context};
use reelguard_server::{Bound, Config};
use reelguard_store::prelude::*;
use reelguard_store::{LegalProfile, Role, SqliteStore};
use serde_json::{json, Value};

use crate::demo_api::Api;
use crate::eval::{self, Case, Found, Outcome, Registered};

#[derive(clap::Args)]
pub struct Args {
    /// Fixtures made by `fixtures/generate --quick` (or the full `fixtures/generate`).
    #[arg(long, default_value = "fixtures/out")]
    fixtures: PathBuf,
    /// Data directory for the demo daemon; it must not exist yet or be empty [default: a new
    /// temporary directory, removed when the demo ends].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to serve the API and workbench on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Print the accuracy table and exit once every suspect is scanned, instead of serving
    /// until interrupted.
    #[arg(long)]
    exit_after_scan: bool,
}

/// The demo's members: name, role, and what the key is for (printed next to it).
const ROLES: [(&str, Role, &str); 4] = [
    (
        "demo-review",
        Role::Reviewer,
        "the review queue, decisions and notices",
    ),
    (
        "demo-studio",
        Role::Member,
        "the studio that owns the dramas: its works and matches",
    ),
    (
        "demo-crawler",
        Role::Crawler,
        "submits suspects, as a crawler integration does",
    ),
    ("demo-ops", Role::Admin, "members, keys and the audit log"),
];

/// The data directory: a new or empty one the caller named, or a temporary one.
enum DataDir {
    Named(PathBuf),
    Temporary(tempfile::TempDir),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Named(path) => path,
            DataDir::Temporary(dir) => dir.path(),
        }
    }
}

fn data_dir(named: Option<PathBuf>) -> anyhow::Result<DataDir> {
    let Some(path) = named else {
        let dir = tempfile::Builder::new()
            .prefix("reelguard-demo.")
            .tempdir()
            .context("creating a temporary data directory")?;
        return Ok(DataDir::Temporary(dir));
    };
    // A demo must never write its members and works into a real daemon's store.
    if path.exists() {
        let mut entries = std::fs::read_dir(&path)
            .with_context(|| format!("reading the data directory {}", path.display()))?;
        if entries.next().is_some() {
            bail!(
                "the data directory {} is not empty: the demo starts from nothing \
                 (give a new directory, or none for a temporary one)",
                path.display()
            );
        }
    }
    std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    Ok(DataDir::Named(path))
}

/// Creates the demo members and a key for each; returns (member, role, key, purpose).
fn create_keys(data: &Path) -> anyhow::Result<Vec<(&'static str, Role, String, &'static str)>> {
    let store = SqliteStore::open_in(data)
        .with_context(|| format!("opening the store in {}", data.display()))?;
    let mut keys = Vec::new();
    for (name, role, purpose) in ROLES {
        let member = store.ensure_member(name)?;
        match role {
            // A new reviewer reviews nothing until it is given members; the demo's sees all.
            Role::Reviewer => store.set_review_scope_all(member.id)?,
            // Notices name the rights holder's legal profile; the demo's is plainly made up.
            Role::Member => store.set_legal_profile(member.id, &demo_legal_profile())?,
            _ => {}
        }
        let (_, key) = store.create_key(member.id, role)?;
        keys.push((name, role, key, purpose));
    }
    Ok(keys)
}

fn demo_legal_profile() -> LegalProfile {
    LegalProfile {
        registration_id: Some("DEMO-0000000000".into()),
        contact: Some("Demo Studio rights desk (a made-up rights holder)".into()),
        phone: Some("+86 000 0000 0000".into()),
        email: Some("rights@demo-studio.example".into()),
        address: Some("1 Example Road, Demo City".into()),
    }
}

fn key_of(keys: &[(&str, Role, String, &str)], role: Role) -> anyhow::Result<String> {
    keys.iter()
        .find(|(_, r, _, _)| *r == role)
        .map(|(_, _, key, _)| key.clone())
        .with_context(|| format!("no demo key for {role}"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let fixtures = crate::checks::existing_dir(&args.fixtures, "fixtures directory")?;
    eval::require_fixtures(&fixtures)?;
    let dramas = eval::dramas(&fixtures)?;
    let cases = eval::cases(&fixtures)?;
    let data = data_dir(args.data)?;
    let keys = create_keys(data.path())?;

    let config = Config {
        data_dir: data.path().to_path_buf(),
        listen: args.listen,
        ..Config::default()
    };
    let (bound_tx, bound_rx) = mpsc::channel::<Bound>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = std::thread::Builder::new()
        .name("reelguard-demo-daemon".into())
        .spawn(move || {
            let stop = async move {
                // A dropped sender (the demo failed) stops the daemon too.
                let _ = stop_rx.await;
            };
            reelguard_server::run_until(
                config,
                move |bound| {
                    let _ = bound_tx.send(bound);
                },
                stop,
            )
        })
        .context("starting the daemon's thread")?;
    let bound = match bound_rx.recv() {
        Ok(bound) => bound,
        // The daemon stopped before it listened: its error says why.
        Err(_) => {
            return match daemon.join() {
                Ok(Err(error)) => Err(error).context("starting the demo daemon"),
                _ => bail!("the demo daemon stopped before listening"),
            }
        }
    };
    let base = format!("http://{}", bound.api);
    print_welcome(&base, data.path(), &keys, args.exit_after_scan);

    let outcome = play(&base, &keys, &fixtures, &dramas, &cases);
    let result = outcome.and_then(|(evaluation, jobs)| {
        eval::print_rows("accuracy of the demo's scans (from the daemon's API)", &evaluation.families);
        println!(
            "\njobs through the daemon's queue: {} registrations, {} scans; {} succeeded, {} failed",
            jobs.registrations, jobs.scans, jobs.succeeded, jobs.failed
        );
        if jobs.failed > 0 {
            bail!("{} of the demo's jobs failed", jobs.failed);
        }
        Ok(())
    });
    if result.is_ok() && !args.exit_after_scan {
        println!("\nserving the workbench at {base}/ui/ until interrupted (Ctrl-C)");
        // The daemon stops on SIGINT or SIGTERM; the stop sender stays alive until then.
        let served = daemon.join();
        drop(stop_tx);
        return finish(served, data);
    }
    let _ = stop_tx.send(());
    let served = daemon.join();
    result?;
    finish(served, data)
}

fn finish(
    served: std::thread::Result<Result<(), reelguard_server::ServerError>>,
    data: DataDir,
) -> anyhow::Result<ExitCode> {
    match served {
        Ok(served) => served.context("the demo daemon")?,
        Err(_) => bail!("the demo daemon's thread panicked"),
    }
    if let DataDir::Temporary(dir) = data {
        dir.close().context("removing the demo's data directory")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_welcome(base: &str, data: &Path, keys: &[(&str, Role, String, &str)], exiting: bool) {
    println!(
        "reelguard demo: the daemon is serving at {base} (data in {})",
        data.display()
    );
    println!("  workbench: {base}/ui/  (log in with a key below)");
    println!("  API:       {base}/v1/openapi.json  (Authorization: Bearer KEY)");
    println!("  API docs:  {base}/v1/docs");
    for (member, role, key, purpose) in keys {
        println!("  {:<9} {key}  ({member}: {purpose})", format!("{role}:"));
    }
    if exiting {
        println!("  (--exit-after-scan: the daemon stops once every suspect is scanned)");
    }
    println!();
}

/// What went through the queue.
#[derive(Debug, Default)]
struct Jobs {
    registrations: usize,
    scans: usize,
    succeeded: usize,
    failed: usize,
}

impl Jobs {
    fn count(&mut self, job: &Value) {
        match job["state"].as_str() {
            Some("succeeded") => self.succeeded += 1,
            _ => self.failed += 1,
        }
    }
}

/// Registers the dramas and scans the suspects over the API; returns the evaluation and the
/// jobs it queued.
fn play(
    base: &str,
    keys: &[(&str, Role, String, &str)],
    fixtures: &Path,
    dramas: &std::collections::BTreeMap<String, Vec<(u32, String)>>,
    cases: &[Case],
) -> anyhow::Result<(eval::Evaluation, Jobs)> {
    let studio = Api::new(base, &key_of(keys, Role::Member)?);
    let crawler = Api::new(base, &key_of(keys, Role::Crawler)?);
    let reviewer = Api::new(base, &key_of(keys, Role::Reviewer)?);
    let mut jobs = Jobs::default();
    let mut ids = Registered::new();
    for (drama, episodes) in dramas {
        let work = studio.post_json("/v1/works", &json!({"title": drama}), 201)?;
        let work_id = work["work_id"]
            .as_str()
            .context("POST /v1/works answered no work_id")?
            .to_string();
        // One at a time: episodes are numbered in the order their registrations complete.
        for (_, name) in episodes {
            let file = fixtures.join("originals").join(format!("{name}.mp4"));
            let path = format!("/v1/works/{work_id}/episodes");
            let file_name = format!("{name}.mp4");
            let queued = studio.upload(&path, &[("filename", &file_name)], &file)?;
            let job = studio.wait_job(job_id(&queued)?)?;
            jobs.registrations += 1;
            jobs.count(&job);
            eprintln!("registered {drama} {name}: job {}", job["state"]);
            if let Some(number) = job["result"]["episode"].as_u64() {
                let number = u32::try_from(number).context("episode number")?;
                ids.insert(name.clone(), (work_id.clone(), number));
            }
        }
    }
    eprintln!("submitting {} suspects as the crawler", cases.len());
    let mut queued = Vec::new();
    for case in cases {
        let file_name = case
            .file
            .strip_prefix(fixtures)
            .unwrap_or(&case.file)
            .display()
            .to_string();
        let url = format!("https://video.example/demo/{}", file_name.replace('/', "-"));
        let meta = [
            ("platform", "demo-video"),
            ("url", url.as_str()),
            ("uploader", "demo-uploader"),
            ("title_seen", case.family.as_str()),
            ("filename", file_name.as_str()),
        ];
        queued.push(crawler.upload("/v1/suspects", &meta, &case.file)?);
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    for (case, answer) in cases.iter().zip(&queued) {
        let job = crawler.wait_job(job_id(answer)?)?;
        jobs.scans += 1;
        jobs.count(&job);
        outcomes.push(scan_outcome(&reviewer, &job)?);
        eprintln!("scanned {}: job {}", case.file.display(), job["state"]);
    }
    Ok((eval::score(cases, outcomes, &ids), jobs))
}

fn job_id(answer: &Value) -> anyhow::Result<i64> {
    answer["job_id"]
        .as_i64()
        .with_context(|| format!("an upload answered no job_id: {answer}"))
}

/// A finished scan job's matches, as the reviewer sees them in `GET /v1/matches`.
fn scan_outcome(reviewer: &Api, job: &Value) -> anyhow::Result<Outcome> {
    let seconds = job["result"]["decode_seconds"].as_f64().unwrap_or(0.0)
        + job["result"]["match_seconds"].as_f64().unwrap_or(0.0);
    if job["state"] != "succeeded" {
        let error = job["error"].as_str().unwrap_or("failed").to_string();
        return Ok((Err(error), seconds * 1000.0));
    }
    let suspect = job["suspect_id"]
        .as_i64()
        .context("a scan job without a suspect")?;
    let listed = reviewer.get(&format!("/v1/matches?suspect_id={suspect}&limit=100"))?;
    let found: Vec<Found> =
        serde_json::from_value(listed["matches"].clone()).context("reading GET /v1/matches")?;
    Ok((Ok(found), seconds * 1000.0))
}
