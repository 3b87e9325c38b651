//! The one shared state of the daemon, and the two ways async code reaches blocking resources.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use reelguard_index::Catalogue;
use reelguard_store::{QueueLimits, Store, StoreError};
use tokio::sync::Notify;

use crate::config::Config;
use crate::error::ApiError;
use crate::evidence::EvidenceDirs;
use crate::metrics::Metrics;

/// Everything handlers and workers share.
pub struct AppState {
    /// Settings in force.
    pub config: Config,
    /// The store: one connection, one writer at a time (SQLite's own rule).
    store: Arc<Mutex<Store>>,
    /// The catalogue: single writer; scans read, registrations and withdrawals write.
    pub catalogue: Arc<RwLock<Catalogue>>,
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
}

/// The state as handlers see it.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Assembles the state.
    pub fn new(
        config: Config,
        store: Store,
        catalogue: Catalogue,
        uploads: PathBuf,
        ingest_dir: Option<PathBuf>,
    ) -> Self {
        AppState {
            evidence: EvidenceDirs::new(&config.data_dir, &uploads),
            config,
            store: Arc::new(Mutex::new(store)),
            catalogue: Arc::new(RwLock::new(catalogue)),
            metrics: Metrics::default(),
            wake: Notify::new(),
            ready: AtomicBool::new(false),
            uploads,
            ingest_dir,
        }
    }

    /// Runs a store operation on the blocking pool (SQLite calls block; the runtime must not).
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let retry_after = self.config.retry_after_secs;
        tokio::task::spawn_blocking(move || {
            // A closure that panicked poisons the lock, but cannot leave the store half-written:
            // an open transaction rolls back as it is dropped during the unwind. So the store is
            // used on, rather than every later request failing (as a 400, at that).
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("store task: {e}")))?
        .map_err(|e| ApiError::from_store(e, retry_after))
    }

    /// Runs a catalogue operation on the blocking pool, with the catalogue read-locked.
    pub async fn read_catalogue<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Catalogue) -> Result<T, ApiError> + Send + 'static,
    {
        let catalogue = Arc::clone(&self.catalogue);
        tokio::task::spawn_blocking(move || {
            let catalogue = catalogue
                .read()
                .map_err(|_| ApiError::Internal("catalogue lock poisoned".into()))?;
            f(&catalogue)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("catalogue task: {e}")))?
    }

    /// Runs a catalogue operation on the blocking pool, with the catalogue write-locked.
    pub async fn write_catalogue<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Catalogue) -> Result<T, ApiError> + Send + 'static,
    {
        let catalogue = Arc::clone(&self.catalogue);
        tokio::task::spawn_blocking(move || {
            let mut catalogue = catalogue
                .write()
                .map_err(|_| ApiError::Internal("catalogue lock poisoned".into()))?;
            f(&mut catalogue)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("catalogue task: {e}")))?
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
        let store = Store::open_in(dir.path()).expect("store");
        let catalogue = Catalogue::open(&dir.path().join("catalogue")).expect("catalogue");
        let state = AppState::new(config, store, catalogue, dir.path().join("uploads"), None);
        let panicked = state
            .db(|_| -> Result<(), StoreError> { panic!("a bug in a store call") })
            .await;
        assert!(matches!(panicked, Err(ApiError::Internal(_))));
        state
            .db(|s| s.ping())
            .await
            .expect("the store still answers after the poisoning panic");
    }
}
