//! reelguard's application layer: every rule about works, submissions, jobs, matches, who may
//! see what, review decisions, notices, evidence and webhooks — with no HTTP in it.
//!
//! The decision that shapes this crate: **the HTTP API and the workbench are two views of one
//! service.** Both call the functions here with the caller's identity and get typed records or
//! an [`AppError`] back; neither holds a domain rule of its own, so a rule (tenancy, "a decided
//! match cannot be decided again", what a notice states) is written once and applies to both,
//! and to the job runner. The crate has no dependency on axum; `reelguard-server` maps
//! [`AppError`] to HTTP in one place.
//!
//! Where state lives, and who owns what:
//! - the **store** (`reelguard_store`): members, keys, sessions, each work's owner and
//!   lifecycle (created, released, withdrawn), suspects, the job queue, matches, decisions,
//!   notices, webhooks, audit. The store is the source of truth for a work's existence and
//!   withdrawal; see [`works`] for how the two stores are kept in step across crashes;
//! - the **catalogue** (`reelguard_index`): episodes, frame records and the band index, read
//!   through immutable snapshots ([`catalogue`]);
//! - **files**: uploads, kept reference episodes and evidence ([`files`], [`evidence`]).
//!
//! CPU work (decode, hash, match) runs on the rayon pool behind the narrow boundary of
//! [`work`], handed over by the leased job runner ([`runner`]).
#![deny(missing_docs)]

pub mod catalogue;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod evidence;
pub mod files;
pub mod jobs;
pub mod legal;
pub mod matches;
pub mod members;
pub mod memory;
pub mod metrics;
pub mod metrics_gauges;
pub mod present;
pub mod query;
pub mod ratelimit;
pub mod review;
pub mod runner;
pub mod sessions;
pub mod sightings;
pub mod stills;
pub mod submit;
pub mod takedown;
pub mod tenancy;
pub mod time;
pub mod webhook;
pub mod webhook_target;
pub mod webhooks;
pub mod work;
pub mod works;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reelguard_index::Catalogue;
use reelguard_store::{QueueLimits, Store, StoreError};
use tokio::sync::Notify;

pub use catalogue::CatalogueHandle;
pub use config::{Config, ConfigError};
pub use error::AppError;

use evidence::EvidenceDirs;
use metrics::Metrics;

/// Everything the HTTP layer, the workbench and the workers share.
pub struct Service {
    /// Settings in force.
    pub config: Config,
    /// The store: any implementation; it handles its own concurrency (one writer and a pool of
    /// readers for SQLite), so no lock of ours is held around a store call.
    store: Arc<dyn Store>,
    /// The catalogue: one writer, lock-free snapshots for readers.
    pub catalogue: Arc<CatalogueHandle>,
    /// Metrics.
    pub metrics: Metrics,
    /// Wakes idle workers when a job is submitted.
    pub wake: Notify,
    /// Serving and not stopping.
    pub ready: AtomicBool,
    /// `<data>/uploads`.
    pub uploads: PathBuf,
    /// The canonical ingest directory, if configured.
    pub ingest_dir: Option<PathBuf>,
    /// Where stills, bundles and kept episode files live.
    pub evidence: EvidenceDirs,
    /// Who decodes untrusted files: the sandbox's worker pool in the daemon, in-process in
    /// tests that ask for it.
    pub decoder: Arc<dyn reelguard_media::Decoder>,
    /// This process's lease owner id: jobs it claims carry it, and at start every lease of
    /// another owner (an earlier process) is expired.
    pub lease_owner: String,
    /// Crawler keys' request rates (`crawler_requests_per_sec`, `crawler_burst`).
    pub crawler_rates: ratelimit::RateLimiter,
    /// Permits for handlers' store calls ([`STORE_PERMITS`]): a burst of requests waits here,
    /// on the runtime, instead of each parking a blocking thread on the store's locks.
    store_permits: tokio::sync::Semaphore,
}

/// Store calls from handlers running at once. The store has one writer and a few readers, so
/// more threads than this only wait on its locks (200 clients once made 384 threads); the
/// grouped writes still batch, since every permit holder queues its write at once.
pub const STORE_PERMITS: usize = 32;

/// Cap on tokio's blocking pool (the runtime's `max_blocking_threads`): store calls, file work
/// and stills share it; [`STORE_PERMITS`] keeps the store from taking all of it.
pub const MAX_BLOCKING_THREADS: usize = 64;

/// The service as handlers and workers hold it.
pub type Shared = Arc<Service>;

impl Service {
    /// Assembles the service.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        catalogue: Catalogue,
        uploads: PathBuf,
        ingest_dir: Option<PathBuf>,
        lease_owner: String,
        decoder: Arc<dyn reelguard_media::Decoder>,
    ) -> Self {
        Service {
            crawler_rates: ratelimit::RateLimiter::new(
                config.crawler_requests_per_sec,
                config.crawler_burst,
            ),
            lease_owner,
            decoder,
            evidence: EvidenceDirs::new(&config.data_dir, &uploads),
            config,
            store,
            catalogue: Arc::new(CatalogueHandle::new(catalogue)),
            metrics: Metrics::default(),
            wake: Notify::new(),
            ready: AtomicBool::new(false),
            uploads,
            ingest_dir,
            store_permits: tokio::sync::Semaphore::new(STORE_PERMITS),
        }
    }

    /// Runs a store operation on the blocking pool (SQLite calls block; the runtime must not).
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let retry_after = self.config.retry_after_secs;
        let _permit = self
            .store_permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(format!("store permits: {e}")))?;
        // A closure that panics cannot leave the store half-written: an open transaction
        // rolls back as it is dropped during the unwind; the panic comes back as a failed task.
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| AppError::Internal(format!("store task: {e}")))?
            .map_err(|e| AppError::from_store(e, retry_after))
    }

    /// A store operation from code already on a blocking thread.
    pub fn store_sync<T>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, AppError> {
        f(self.store.as_ref()).map_err(|e| AppError::from_store(e, self.config.retry_after_secs))
    }

    /// The store itself (for the webhook deliverer and start-up work).
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Runs blocking work (files, FFmpeg stills, catalogue commits) on the blocking pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
    }

    /// How long a claimed job's lease lasts.
    pub fn job_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.job_lease_secs)
    }

    /// The queue bounds from the configuration.
    pub fn limits(&self) -> QueueLimits {
        QueueLimits {
            max_unfinished: self.config.queue_limit,
            max_attempts: self.config.max_attempts,
        }
    }

    /// Serving and not stopping.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_call_that_panics_does_not_disable_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let store = reelguard_store::SqliteStore::open_in(dir.path()).expect("store");
        let catalogue = Catalogue::open(&dir.path().join("catalogue")).expect("catalogue");
        let service = Service::new(
            config,
            Arc::new(store),
            catalogue,
            dir.path().join("uploads"),
            None,
            "test".to_string(),
            Arc::new(reelguard_media::InProcess),
        );
        let panicked = service
            .db(|_| -> Result<(), StoreError> { panic!("a bug in a store call") })
            .await;
        assert!(matches!(panicked, Err(AppError::Internal(_))));
        service
            .db(|s| s.ping())
            .await
            .expect("the store still answers after the poisoning panic");
    }
}
