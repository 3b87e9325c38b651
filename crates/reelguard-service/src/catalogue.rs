//! The catalogue as the service shares it: **one writer, lock-free readers.**
//!
//! Readers take an immutable [`CatalogueSnapshot`] (an `Arc` swapped in by the writer after
//! each commit) and keep it as long as they like — a scan holds its snapshot for its whole
//! decode without holding any lock, so a registration's commit never waits for a scan and a
//! scan never waits for a commit. Writers serialise on a mutex that is held only for a
//! catalogue commit (milliseconds), never across a decode: registrations fingerprint first,
//! then take the writer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use reelguard_index::{Catalogue, CatalogueSnapshot};

/// The shared catalogue: the single writer and the current snapshot.
pub struct CatalogueHandle {
    writer: Mutex<Catalogue>,
    current: ArcSwap<CatalogueSnapshot>,
}

impl CatalogueHandle {
    /// Shares an opened catalogue.
    pub fn new(catalogue: Catalogue) -> CatalogueHandle {
        let current = ArcSwap::new(catalogue.snapshot());
        CatalogueHandle {
            writer: Mutex::new(catalogue),
            current,
        }
    }

    /// The state of the last commit; never blocks.
    pub fn snapshot(&self) -> Arc<CatalogueSnapshot> {
        self.current.load_full()
    }

    /// Runs a change with the writer held, then publishes the writer's newest committed state
    /// (also when the change failed: a failed operation may still have committed an earlier
    /// part, and readers must see exactly what is on disk). Blocking: call it off the runtime.
    pub fn write<T, E>(&self, change: impl FnOnce(&mut Catalogue) -> Result<T, E>) -> Result<T, E> {
        let mut writer = self.lock();
        let result = change(&mut writer);
        self.current.store(writer.snapshot());
        result
    }

    /// The writer, for a sequence of steps that must not interleave with another writer
    /// (see `works`): the caller publishes with [`CatalogueHandle::publish`].
    pub fn lock(&self) -> MutexGuard<'_, Catalogue> {
        // A panic inside a change cannot leave the catalogue half-committed (its commit
        // protocol is crash-safe by construction), so the writer is used on.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes the writer's newest committed state.
    pub fn publish(&self, writer: &Catalogue) {
        self.current.store(writer.snapshot());
    }
}
