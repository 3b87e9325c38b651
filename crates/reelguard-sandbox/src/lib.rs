//! Decoding untrusted media in locked-down worker processes, so that a file that crashes,
//! hangs or exhausts FFmpeg takes down one disposable worker, never the daemon.
//!
//! A [`Sandbox`] keeps a small pool of workers: the same binary started in worker mode
//! (`reelguard worker`, see [`worker_main`]), each handed a Unix socket on fd 3 and nothing
//! else. A worker locks itself down before it reads anything (resource limits, Landlock,
//! `PR_SET_NO_NEW_PRIVS`, a seccomp allow-list: see `child.rs` and `seccomp.rs`), then
//! serves one file per request, the file arriving as a descriptor over the socket
//! (`SCM_RIGHTS`), so it never needs to open a path. Answers come back as versioned,
//! length-prefixed frames ([`protocol`]) that the parent parses as hostile input.
//!
//! The decisions that shaped this crate:
//!
//! * **One error vocabulary.** Failures are `reelguard_media::MediaError`s
//!   ([`SandboxError`] is that type): the media kinds pass through from the worker unchanged,
//!   and a dead worker adds `crashed` (with its signal), `memory_limit`, `cpu_limit`,
//!   `timeout` (the watchdog) or `worker` (could not start). Callers that already handle
//!   media errors (job kinds, retry decisions) need nothing new.
//! * **Reuse, but never trust a worker that failed.** A worker that answered normally serves
//!   the next file; one that crashed, hung, overran a limit or broke the protocol is killed,
//!   reaped and replaced by a fresh one on the next request.
//! * **A blocking API**, like in-process decoding: callers already run decodes on their own
//!   threads (the daemon's rayon pool), and the pool bounds concurrent workers.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use reelguard_media::{Decoder, Fingerprint, Limits, MediaError, Options, Progress};

mod child;
pub mod protocol;
mod seccomp;
pub mod wire;
mod worker;

pub use child::worker_main;
pub use protocol::{SelfCheck, TestHook};

use protocol::{Request, Response};
use wire::{WireError, WireOptions};
use worker::{classify, Failure, Worker};

/// Failures of sandboxed decoding: the media kinds plus `crashed`, `memory_limit`,
/// `cpu_limit`, `timeout` and `worker` (see [`MediaError::kind`] and
/// [`MediaError::retryable`]).
pub type SandboxError = MediaError;

/// How workers are started and bounded.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The executable started as a worker (default: this process's own binary).
    pub worker_exe: PathBuf,
    /// Arguments that put it in worker mode (default: `["worker"]`).
    pub worker_args: Vec<OsString>,
    /// Most workers alive (and files decoding) at once.
    pub workers: usize,
    /// Address-space limit of each worker (RLIMIT_AS).
    pub memory_limit_bytes: u64,
    /// CPU-time limit of each worker over its life (RLIMIT_CPU). A worker is retired once it
    /// has used half of it, so every file has at least half to itself.
    pub cpu_limit: Duration,
    /// The watchdog allows a request the file's `max_decode_time` plus this.
    pub watchdog_grace: Duration,
    /// Requests a worker serves before it is replaced anyway.
    pub max_requests_per_worker: u32,
    /// Let workers honour [`TestHook`] requests (tests only).
    pub test_hooks: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            worker_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("reelguard")),
            worker_args: vec!["worker".into()],
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            // A 4096x2304 decode with a few frame threads fits with room to spare.
            memory_limit_bytes: 2 << 30,
            cpu_limit: Duration::from_secs(3600),
            watchdog_grace: Duration::from_secs(10),
            max_requests_per_worker: 500,
            test_hooks: false,
        }
    }
}

/// Counters for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// Workers started so far.
    pub spawned: u64,
    /// Workers killed after a failure.
    pub killed: u64,
    /// Requests answered by a worker that had answered before.
    pub reused: u64,
    /// Largest peak RSS any worker reported, KiB.
    pub peak_worker_rss_kib: u64,
}

struct Pool {
    idle: Vec<Worker>,
    busy: usize,
    stats: SandboxStats,
}

/// A pool of sandboxed decode workers. Cheap to create: workers start on first use.
pub struct Sandbox {
    config: SandboxConfig,
    pool: Mutex<Pool>,
    freed: Condvar,
}

impl Sandbox {
    /// A sandbox that starts workers as `config` says.
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox {
            config,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                busy: 0,
                stats: SandboxStats::default(),
            }),
            freed: Condvar::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> SandboxStats {
        self.lock().stats
    }

    /// Fingerprints `path` in a worker: [`reelguard_media::fingerprint_file`], isolated.
    pub fn fingerprint(
        &self,
        path: &Path,
        options: &Options,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Fingerprint, SandboxError> {
        let file = open(path)?;
        self.fingerprint_file(&file, path, options, progress)
    }

    /// Fingerprints an open file in a worker; `name` labels errors.
    pub fn fingerprint_file(
        &self,
        file: &File,
        name: &Path,
        options: &Options,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Fingerprint, SandboxError> {
        let request = Request::Fingerprint(WireOptions::new(options));
        match self.run(&request, Some(file), name, &options.limits, progress)? {
            Response::Fingerprint(fingerprint) => Ok(*fingerprint),
            other => Err(unexpected(name, &other)),
        }
    }

    /// The still at `at_s` in a worker: [`reelguard_media::extract_still`], isolated.
    pub fn still(
        &self,
        path: &Path,
        at_s: f64,
        max_side: u32,
        limits: &Limits,
    ) -> Result<image::RgbImage, SandboxError> {
        let file = open(path)?;
        let options = Options {
            limits: *limits,
            ..Options::default()
        };
        let request = Request::Still {
            at_s,
            max_side,
            options: WireOptions::new(&options),
        };
        match self.run(&request, Some(&file), path, limits, &|_| {})? {
            Response::Still(still) => Ok(still.image),
            other => Err(unexpected(path, &other)),
        }
    }

    /// Asks a worker to try what its sandbox must refuse (sockets, opening paths, exec...)
    /// and report what happened, with the Landlock status it started with.
    pub fn self_check(&self) -> Result<(SelfCheck, String), SandboxError> {
        let name = Path::new("<self-check>");
        let mut landlock = String::new();
        let response = self.run_with(
            &Request::SelfCheck,
            None,
            name,
            &Limits::default(),
            &|_| {},
            |w| {
                landlock = w.ready.landlock.clone();
            },
        )?;
        match response {
            Response::SelfCheck(check) => Ok((check, landlock)),
            other => Err(unexpected(name, &other)),
        }
    }

    /// Makes a worker misbehave on purpose (only with [`SandboxConfig::test_hooks`]); the
    /// result is the error the misbehaviour is reported as.
    #[doc(hidden)]
    pub fn test_hook(&self, hook: TestHook, limits: &Limits) -> Result<(), SandboxError> {
        let name = Path::new("<test hook>");
        self.run(&Request::TestHook(hook), None, name, limits, &|_| {})
            .map(|_| ())
    }

    fn run(
        &self,
        request: &Request,
        file: Option<&File>,
        name: &Path,
        limits: &Limits,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Response, SandboxError> {
        self.run_with(request, file, name, limits, progress, |_| {})
    }

    /// Runs one request on a pooled (or fresh) worker. A worker found dead before it read
    /// the request is replaced once; any failure after that is the request's.
    fn run_with(
        &self,
        request: &Request,
        file: Option<&File>,
        name: &Path,
        limits: &Limits,
        progress: &(dyn Fn(Progress) + Sync),
        inspect: impl FnOnce(&Worker),
    ) -> Result<Response, SandboxError> {
        // Saturating: an absurd configured limit means "no limit", not an overflow panic.
        let wall_limit = limits
            .max_decode_time
            .min(MAX_WALL)
            .saturating_add(self.config.watchdog_grace);
        let slot = self.acquire();
        let mut inspect = Some(inspect);
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let (mut worker, reused) = match slot.take() {
                Some(worker) => (worker, true),
                None => match Worker::spawn(&self.config) {
                    Ok(worker) => {
                        self.lock().stats.spawned += 1;
                        if !worker.ready.landlock.starts_with("fully") {
                            tracing::info!(landlock = %worker.ready.landlock, "worker runs without full Landlock");
                        }
                        (worker, false)
                    }
                    Err(e) => {
                        break Err(MediaError::Worker {
                            path: name.to_path_buf(),
                            reason: e.to_string(),
                        })
                    }
                },
            };
            if let Some(f) = inspect.take() {
                f(&worker);
            }
            let deadline = Instant::now() + wall_limit;
            match worker.call(request, file.map(|f| f.as_fd()), deadline, progress) {
                // An answer of the wrong kind breaks the protocol: that worker is not trusted
                // again (dropping it kills and reaps it).
                Ok(response) if !answers(request, &response) => {
                    drop(worker);
                    self.lock().stats.killed += 1;
                    break Err(unexpected(name, &response));
                }
                Ok(response) => {
                    worker.drain_stderr();
                    self.note_success(&worker, reused);
                    let retire = worker.served >= self.config.max_requests_per_worker
                        || worker.usage.cpu_s > self.config.cpu_limit.as_secs_f64() / 2.0;
                    if !retire {
                        slot.put(worker);
                    }
                    break Ok(response);
                }
                // A pooled worker that died while idle never saw this request: try once more
                // on a fresh one.
                Err(Failure::Unsent) if reused && attempts == 1 => {
                    drop(worker.kill());
                    self.lock().stats.killed += 1;
                }
                Err(failure) => {
                    let usage = worker.usage;
                    let (status, stderr) = worker.kill();
                    self.lock().stats.killed += 1;
                    let error = classify(
                        &failure,
                        status,
                        &stderr,
                        usage,
                        name,
                        &self.config,
                        wall_limit,
                    );
                    tracing::warn!(file = %name.display(), kind = error.kind(), error = %error, "decode worker failed");
                    break Err(error);
                }
            }
        };
        drop(slot);
        match outcome? {
            Response::Error(error) => Err(error.into_media(name)),
            response => Ok(response),
        }
    }

    fn note_success(&self, worker: &Worker, reused: bool) {
        let mut pool = self.lock();
        if reused {
            pool.stats.reused += 1;
        }
        pool.stats.peak_worker_rss_kib =
            pool.stats.peak_worker_rss_kib.max(worker.usage.max_rss_kib);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        // A panic while holding the lock leaves only counters and idle workers behind; both
        // are still valid.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for room to run one more request.
    fn acquire(&self) -> Slot<'_> {
        let mut pool = self.lock();
        while pool.busy >= self.config.workers.max(1) {
            pool = self.freed.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
        pool.busy += 1;
        let worker = pool.idle.pop();
        Slot {
            sandbox: self,
            worker: Mutex::new(worker),
        }
    }
}

/// Room for one request, with the idle worker it was given; returns both on drop.
struct Slot<'a> {
    sandbox: &'a Sandbox,
    worker: Mutex<Option<Worker>>,
}

impl Slot<'_> {
    fn take(&self) -> Option<Worker> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put(&self, worker: Worker) {
        *self.worker.lock().unwrap_or_else(|p| p.into_inner()) = Some(worker);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let worker = self.take();
        let mut pool = self.sandbox.lock();
        pool.busy -= 1;
        if let Some(worker) = worker {
            pool.idle.push(worker);
        }
        drop(pool);
        self.sandbox.freed.notify_one();
    }
}

/// Opens an upload for a worker: without blocking (a FIFO would never open), and only a
/// regular, non-empty file is worth a worker's time.
fn open(path: &Path) -> Result<File, SandboxError> {
    let io = |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = reelguard_media::open_nonblocking(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    if metadata.len() == 0 {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// Longest wall-clock budget for one request (about a century): keeps `Instant + limit` from
/// overflowing whatever the configuration says.
const MAX_WALL: Duration = Duration::from_secs(1 << 32);

/// Whether `response` is a final answer of the kind `request` asks for (an error answers any).
fn answers(request: &Request, response: &Response) -> bool {
    matches!(
        (request, response),
        (_, Response::Error(_))
            | (Request::Fingerprint(_), Response::Fingerprint(_))
            | (Request::Still { .. }, Response::Still(_))
            | (Request::SelfCheck, Response::SelfCheck(_))
    ) || matches!(request, Request::TestHook(_))
}

fn unexpected(name: &Path, response: &Response) -> SandboxError {
    let kind = match response {
        Response::Error(e) => return WireError::clone(e).into_media(name),
        Response::Ready(_) => "ready",
        Response::Progress(_) => "progress",
        Response::Usage(_) => "usage",
        Response::Fingerprint(_) => "fingerprint",
        Response::Still(_) => "still",
        Response::SelfCheck(_) => "self-check",
    };
    MediaError::Crashed {
        path: name.to_path_buf(),
        signal: 0,
        detail: format!(": protocol violation: answered with a {kind}"),
    }
}

impl Decoder for Sandbox {
    fn fingerprint(
        &self,
        path: &Path,
        options: &Options,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Fingerprint, MediaError> {
        Sandbox::fingerprint(self, path, options, progress)
    }

    fn still(
        &self,
        path: &Path,
        at_s: f64,
        max_side: u32,
        limits: &Limits,
    ) -> Result<image::RgbImage, MediaError> {
        Sandbox::still(self, path, at_s, max_side, limits)
    }
}
