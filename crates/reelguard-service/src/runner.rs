//! The job runner: a fixed number of async workers, each taking one due job at a time from the
//! store and handing its CPU work ([`crate::work`]) to the rayon pool. The runtime never waits
//! on CPU work; at most `workers` jobs are in flight, so the pool never holds more than that.
//!
//! Leases: a claim leases the job to this process for `job_lease_secs`; the worker renews the
//! lease every third of it while the job runs, and every write about the job (progress,
//! completion, failure, re-queue) carries the lease's token and is refused once the lease is
//! lost. A worker that dies or hangs stops renewing; when its lease runs out any worker (of
//! this process or another) claims the job again, and the first holder's late result is
//! dropped, so a job is completed exactly once. Start-up recovery is the same rule: leases held
//! by earlier processes are expired at once.
//!
//! Retries: a failure the file itself causes (corrupt, not a video, a panic it triggers)
//! fails the job at once; other failures are retried after `retry_backoff_secs`, doubling,
//! up to `max_attempts`. An attempt whose lease ran out counts (so a file that crashes or hangs
//! the daemon fails eventually).
//!
//! Shutdown: workers stop taking jobs; a running job gets `shutdown_grace_secs` to finish and
//! is otherwise re-queued without counting the attempt.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reelguard_media::{Limits, Options, Progress};
use reelguard_pipeline::ScanOptions;
use reelguard_store::{Job, JobKind, JobState, NewMatch};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use crate::jobs::{RegistrationResult, ScanResult};
use crate::present::round;
use crate::work::{self, JobError, Registered, Scanned};
use crate::Shared;

enum Outcome {
    Scanned(Scanned),
    Registered(Registered),
}

/// Starts the workers; they return when `stop` turns true (after the grace period).
pub fn spawn_workers(
    state: Shared,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..state.config.worker_count())
        .map(|n| tokio::spawn(worker(n, Arc::clone(&state), stop.clone())))
        .collect()
}

async fn worker(n: usize, state: Shared, mut stop: watch::Receiver<bool>) {
    tracing::debug!(worker = n, "worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let (owner, lease) = (state.lease_owner.clone(), state.job_lease());
        match state.db(move |s| s.claim_job(&owner, lease)).await {
            Ok(Some(job)) => run_job(&state, job, &mut stop).await,
            Ok(None) => {
                let wait = match state.db(|s| s.next_due()).await {
                    Ok(Some(due)) => (due - reelguard_store::now()).clamp(0, 5) as u64,
                    _ => 5,
                };
                tokio::select! {
                    _ = state.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(wait.max(1))) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(error) => {
                tracing::error!(%error, "claiming a job failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    tracing::debug!(worker = n, "worker stopped");
}

/// Progress as the CPU side reports it: declared duration and seconds decoded, as f64 bits.
#[derive(Default)]
struct ProgressCell {
    total: AtomicU64,
    done: AtomicU64,
}

impl ProgressCell {
    fn report(&self, p: Progress) {
        match p {
            Progress::Opened { duration_s } => {
                self.total.store(duration_s.to_bits(), Ordering::Relaxed);
                self.done.store(0f64.to_bits(), Ordering::Relaxed);
            }
            Progress::Decoded { seconds } => {
                let done = f64::from_bits(self.done.load(Ordering::Relaxed)) + seconds;
                self.done.store(done.to_bits(), Ordering::Relaxed);
            }
        }
    }

    fn fraction(&self) -> f64 {
        let total = f64::from_bits(self.total.load(Ordering::Relaxed));
        let done = f64::from_bits(self.done.load(Ordering::Relaxed));
        if total > 0.0 {
            (done / total).clamp(0.0, 0.99)
        } else {
            0.0
        }
    }
}

fn media_options(state: &Shared) -> Options {
    Options {
        limits: Limits {
            max_decode_time: Duration::from_secs(state.config.max_decode_secs),
            ..Limits::default()
        },
        ..Options::default()
    }
}

async fn run_job(state: &Shared, job: Job, stop: &mut watch::Receiver<bool>) {
    let started = Instant::now();
    tracing::info!(job = job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let claimed_at = job.started_at.unwrap_or_else(reelguard_store::now);
    state
        .metrics
        .job_claimed(job.kind.as_str(), (claimed_at - job.created_at) as f64);
    let progress = Arc::new(ProgressCell::default());
    let (tx, mut rx) = oneshot::channel::<Result<Outcome, JobError>>();
    {
        let catalogue = Arc::clone(&state.catalogue);
        let decoder = Arc::clone(&state.decoder);
        let progress = Arc::clone(&progress);
        let path = PathBuf::from(&job.file_path);
        let media = media_options(state);
        let keyframes_first = state.config.keyframes_first;
        let kind = job.kind;
        let work_id = job.work_id.clone().unwrap_or_default();
        let source = work::episode_source(job.id, &job.file_name);
        rayon::spawn(move || {
            let report = |p: Progress| progress.report(p);
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| match kind {
                JobKind::Scan => {
                    let options = ScanOptions {
                        media,
                        keyframes_first,
                        ..ScanOptions::default()
                    };
                    work::scan(
                        &catalogue.snapshot(),
                        decoder.as_ref(),
                        &path,
                        &options,
                        &report,
                    )
                    .map(Outcome::Scanned)
                }
                JobKind::Register => work::register(
                    &catalogue,
                    decoder.as_ref(),
                    &path,
                    &work_id,
                    &source,
                    &media,
                    &report,
                )
                .map(Outcome::Registered),
            }))
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Err(JobError::Panic(message))
            });
            let _ = tx.send(result);
        });
    }
    let token = job.lease_token().to_string();
    let lease = state.job_lease();
    let renew_every = lease / 3;
    let mut renewed = Instant::now();
    let mut reported = -1.0;
    let stuck = test_hooks::stuck(job.id);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut deadline: Option<tokio::time::Instant> = None;
    let outcome = loop {
        tokio::select! {
            result = &mut rx, if !stuck => break Some(result),
            _ = tick.tick() => {
                if stuck {
                    // Test hook: this worker hangs without renewing until its lease is long
                    // gone, then reports its result as a stuck worker finally would.
                    if renewed.elapsed() > lease * 2 {
                        break Some((&mut rx).await);
                    }
                    continue;
                }
                let (id, p, t) = (job.id, progress.fraction(), token.clone());
                let held = if renewed.elapsed() >= renew_every {
                    renewed = Instant::now();
                    state.db(move |s| s.renew_lease(id, &t, lease)).await
                } else if (p - reported).abs() >= 0.01 {
                    reported = p;
                    state.db(move |s| s.set_progress(id, &t, p)).await
                } else {
                    Ok(true)
                };
                match held {
                    Ok(true) => {}
                    Ok(false) => {
                        // Another worker has the job now; this attempt's result would be
                        // refused, so stop waiting for it (the CPU work ends on its own).
                        tracing::warn!(job = job.id, "lease lost: the job was taken over");
                        state.metrics.job_finished(job.kind.as_str(), "lease_lost", started.elapsed().as_secs_f64());
                        return;
                    }
                    Err(error) => tracing::warn!(job = job.id, %error, "renewing the lease failed"),
                }
            }
            _ = stop.changed(), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now()
                    + Duration::from_secs(state.config.shutdown_grace_secs));
            }
            _ = async { if let Some(d) = deadline { tokio::time::sleep_until(d).await } }, if deadline.is_some() => {
                break None;
            }
        }
    };
    let id = job.id;
    let kind = job.kind.as_str();
    let seconds = started.elapsed().as_secs_f64();
    let Some(result) = outcome else {
        tracing::warn!(job = id, "shutting down: job re-queued");
        let t = token.clone();
        if let Err(error) = state.db(move |s| s.requeue(id, &t)).await {
            tracing::error!(job = id, %error, "re-queueing failed");
        }
        return;
    };
    let result = result.unwrap_or_else(|_| Err(JobError::Panic("the worker vanished".into())));
    match result {
        Ok(outcome) => {
            let registered_episode = match &outcome {
                Outcome::Registered(r) => r
                    .work
                    .episodes
                    .iter()
                    .find(|e| e.number == r.number)
                    .map(|e| e.id),
                Outcome::Scanned(_) => None,
            };
            let (value, matches) = describe(state, &job, outcome);
            let found_any = !matches.is_empty();
            let t = token.clone();
            match state
                .db(move |s| s.complete_job(id, &t, &value, &matches))
                .await
            {
                Ok(false) => {
                    tracing::warn!(
                        job = id,
                        "result dropped: the lease was lost and the job taken over"
                    );
                    state.metrics.job_finished(kind, "lease_lost", seconds);
                }
                Ok(true) => {
                    state.metrics.job_finished(kind, "succeeded", seconds);
                    if found_any {
                        let waited = reelguard_store::now() - job.created_at;
                        state.metrics.suspect_matched(waited as f64);
                    }
                    tracing::info!(job = id, seconds, "job succeeded");
                    // A registered episode's file is kept as the reference side of evidence
                    // stills; suspects are kept as evidence unless configured otherwise.
                    let upload = std::path::PathBuf::from(&job.file_path);
                    if let Some(episode_id) = registered_episode {
                        let dirs = state.evidence.clone();
                        let from = upload.clone();
                        let kept = tokio::task::spawn_blocking(move || {
                            crate::evidence::keep_reference(&dirs, episode_id, &from)
                        })
                        .await;
                        if !matches!(kept, Ok(Ok(()))) {
                            tracing::warn!(
                                job = id,
                                episode_id,
                                "could not keep the reference file"
                            );
                            crate::files::discard(&upload).await;
                        }
                    } else if job.kind == JobKind::Register || !state.config.keep_suspect_files {
                        crate::files::discard(&upload).await;
                    }
                }
                Err(error) => tracing::error!(job = id, %error, "recording the result failed"),
            }
        }
        Err(error) => {
            let retry = error.retryable().then(|| {
                let exp = job.attempts.saturating_sub(1).min(16);
                // Saturating: a huge configured backoff must not wrap to a negative delay.
                let delay = state.config.retry_backoff_secs.saturating_mul(1 << exp);
                i64::try_from(delay).unwrap_or(i64::MAX)
            });
            let error_kind = error.kind();
            state.metrics.job_failed(kind, error_kind);
            // The log keeps the whole story; the job (read by its submitter) gets no paths.
            tracing::warn!(job = id, error_kind, %error, "job attempt failed");
            let message = error.client_message();
            let t = token.clone();
            match state
                .db(move |s| s.fail_job(id, &t, error_kind, &message, retry))
                .await
            {
                Ok(JobState::Queued) => state.metrics.job_finished(kind, "retried", seconds),
                Ok(_) => {
                    state.metrics.job_finished(kind, "failed", seconds);
                    if job.kind == JobKind::Register {
                        crate::files::discard(std::path::Path::new(&job.file_path)).await;
                    }
                }
                Err(error) => tracing::error!(job = id, %error, "recording the failure failed"),
            }
        }
    }
}

/// The stored result and matches of a successful job (and its metrics).
fn describe(state: &Shared, job: &Job, outcome: Outcome) -> (Value, Vec<NewMatch>) {
    match outcome {
        Outcome::Scanned(scanned) => {
            let report = &scanned.report;
            state
                .metrics
                .fingerprinted(report.duration_s, report.decode_seconds);
            state.metrics.match_latency.observe(report.match_seconds);
            let matches: Vec<NewMatch> = scanned
                .found
                .iter()
                .map(|f| NewMatch {
                    work_id: f.found.work_id.clone(),
                    episode: f.found.episode,
                    episode_id: f.found.episode_id,
                    score: round(f.found.score, 3),
                    segments: f.found.segments.clone(),
                    transformation: work::transformation(f, report.content.as_ref()),
                    content_box: report.content,
                })
                .collect();
            let value = ScanResult {
                suspect_id: job.suspect_id,
                duration_s: round(report.duration_s, 3),
                passes: report.passes,
                matches: matches.len(),
                decode_seconds: round(report.decode_seconds, 3),
                match_seconds: round(report.match_seconds, 4),
            }
            .to_value();
            (value, matches)
        }
        Outcome::Registered(r) => {
            state.metrics.fingerprinted(r.duration_s, r.decode_seconds);
            let value = RegistrationResult {
                work_id: r.work.id,
                episode: r.number,
                frames: r.frames,
                duration_s: round(r.duration_s, 3),
            }
            .to_value();
            (value, Vec::new())
        }
    }
}

/// Test-only behaviour, switched on by environment variables (as the crash points are), so the
/// integration tests can make a worker misbehave inside a real daemon.
mod test_hooks {
    use std::sync::atomic::{AtomicBool, Ordering};

    static USED: AtomicBool = AtomicBool::new(false);

    /// `REELGUARD_TEST_STUCK_JOB=N`: the first attempt at job N stops renewing its lease (and
    /// reports only after the lease is long gone).
    pub fn stuck(job_id: i64) -> bool {
        std::env::var("REELGUARD_TEST_STUCK_JOB")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|n| n == job_id && !USED.swap(true, Ordering::SeqCst))
    }
}
