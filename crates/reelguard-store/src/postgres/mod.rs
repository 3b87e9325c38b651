//! The PostgreSQL store (issue 13), for deployments that outgrow one machine: the same schema
//! ([`crate::migrations`]) and the same traits as [`crate::SqliteStore`], on a server that any
//! number of worker processes share.
//!
//! The decision that shapes it: **the traits stay synchronous.** The store owns a small tokio
//! runtime that drives tokio-postgres connections from a deadpool pool; every trait method
//! spawns its query onto that runtime and waits on a channel for the answer. So a caller
//! needs no runtime of its own, and one inside the daemon's runtime (a blocking thread, or a
//! handler, as with SQLite today) never re-enters a runtime it is running on.
//!
//! What is here so far: connecting ([`PgStore::connect`]), the migrations in the PostgreSQL
//! dialect ([`schema`], [`dialect`]), the whole job queue ([`crate::Jobs`], in `jobs`:
//! claims with `FOR UPDATE SKIP LOCKED`, leases on the database's clock, idempotent
//! completion), the wake-up of idle workers by `LISTEN/NOTIFY` ([`JobWaker`]), and a
//! throwaway server for tests and benchmarks ([`throwaway`]). The other traits (members,
//! works, suspects, reviews, ...) are not implemented yet, so a `PgStore` is not yet a
//! [`crate::Store`] and the daemon cannot run on it.

pub mod dialect;
mod jobs;
mod notify;
mod queue;
pub mod schema;
pub mod throwaway;

use std::future::Future;
use std::sync::mpsc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use crate::error::StoreError;
pub use notify::{JobWaker, Wake};

/// The channel on which every change that can make a job claimable is announced.
pub const JOBS_CHANNEL: &str = "reelguard_jobs";

/// A PostgreSQL store.
pub struct PgStore {
    runtime: tokio::runtime::Runtime,
    pool: Pool,
    config: tokio_postgres::Config,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host/db`, or key=value pairs; a `host` that is a
    /// directory is a Unix socket), with at most `max_connections` pooled connections, and
    /// brings the schema up to date.
    pub fn connect(url: &str, max_connections: usize) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("reelguard-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Io {
                path: "postgresql runtime".into(),
                source: e,
            })?;
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                // A connection is checked with a cheap query before reuse: a server restart
                // costs one failed check, not a failed job.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::PostgresPool(e.to_string()))?;
        let store = PgStore {
            runtime,
            pool,
            config,
        };
        store.run(|pool| async move {
            let mut client = pooled(&pool).await?;
            schema::migrate(&mut client).await
        })?;
        Ok(store)
    }

    /// Runs `f` on the store's runtime with a handle on the pool and waits for its answer.
    fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let fut = f(self.pool.clone());
        self.runtime.spawn(async move {
            // The receiver waits until this sends: it cannot have gone.
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| {
            StoreError::PostgresPool("the query task stopped without an answer".into())
        })?
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.run(|pool| async move { schema::version(&**pooled(&pool).await?).await })
    }

    /// A cheap query proving the server answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.run(|pool| async move {
            pooled(&pool).await?.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    /// Runs SQL as it is (several statements allowed): for tests, benchmarks and the admin's
    /// maintenance, never for input.
    pub fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        let sql = sql.to_string();
        self.run(|pool| async move {
            pooled(&pool).await?.batch_execute(&sql).await?;
            Ok(())
        })
    }

    /// A waker that listens on [`JOBS_CHANNEL`] over its own connection (not a pooled one: a
    /// `LISTEN` belongs to its session).
    pub fn job_waker(&self) -> Result<JobWaker, StoreError> {
        let config = self.config.clone();
        let handle = self.runtime.handle().clone();
        self.run(move |_| async move { notify::listen(config, handle).await })
    }
}

/// A connection from the pool.
async fn pooled(pool: &Pool) -> Result<deadpool_postgres::Object, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError::PostgresPool(e.to_string()))
}
