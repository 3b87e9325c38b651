//! The daemon's HTTP edge: the API for members, crawlers and reviewers ([`api`]) and the review
//! workbench ([`ui`]), over the application layer `reelguard_service`, and the process
//! lifecycle (start-up reconciliation, readiness, graceful stop).
//!
//! The decision that shapes this crate: **HTTP in, HTTP out, and nothing else.** Who may call a
//! route is decided once, from one table ([`routes`], enforced by [`auth`]); errors become HTTP
//! once ([`error`]); every handler parses its request, calls one service function with the
//! caller, and presents the typed answer. Domain rules (tenancy, decisions, notices, what a
//! submission may be) live in the service, so the API and the workbench cannot disagree. The
//! async side never does CPU or disk work: the service runs store calls and files on the
//! blocking pool and decodes as jobs on the rayon pool.
//!
//! Data directory layout: `reelguard.sqlite3` (the store), `catalogue/` (the
//! `reelguard_index::Catalogue`), `uploads/`, `references/`, `evidence/`, `intents/` (see
//! `reelguard_service`).
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod error;
pub mod fuzzing;
pub mod limits;
pub mod notice_doc;
pub mod notify;
pub mod openapi;
pub mod present;
pub mod routes;
pub mod security;
pub mod ui;
pub mod upload;
pub mod wire;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use reelguard_index::Catalogue;
use reelguard_service::{files, runner, webhook, Service};
use reelguard_store::prelude::*;
use reelguard_store::SqliteStore;
use tokio::sync::watch;

pub use reelguard_service::{Config, ConfigError};

/// The service as handlers hold it.
pub type Shared = Arc<Service>;

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// File system or socket failure.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store failed to open.
    #[error("store: {0}")]
    Store(#[from] reelguard_store::StoreError),
    /// The catalogue failed to open.
    #[error("catalogue: {0}")]
    Catalogue(#[from] reelguard_index::IndexError),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// The whole HTTP surface: the API and the workbench, with the API's 404 for anything else;
/// every route under the size and time limits of [`limits`] and the headers of [`security`].
pub fn router(state: Shared) -> axum::Router {
    api::router(state.clone())
        .merge(ui::router(state.clone()))
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(limits::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::deadline,
        ))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}

/// The addresses the daemon bound.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// The API and workbench.
    pub api: SocketAddr,
    /// The keyless metrics listener, if `metrics_listen` is set.
    pub metrics: Option<SocketAddr>,
}

/// Runs the daemon until SIGTERM or SIGINT. `on_listening` is called with the bound addresses
/// once the sockets are bound (before the first request is served).
pub fn run(config: Config, on_listening: impl FnOnce(Bound) + Send) -> Result<(), ServerError> {
    run_until(config, on_listening, std::future::pending())
}

/// [`run`], stopping also (in the same graceful way) when `stop` resolves: for a process that
/// embeds the daemon and decides itself when it is done (`reelguard demo --exit-after-scan`).
pub fn run_until(
    config: Config,
    on_listening: impl FnOnce(Bound) + Send,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("reelguard-io")
        .max_blocking_threads(reelguard_service::MAX_BLOCKING_THREADS)
        .build()
        .map_err(io("starting the runtime"))?;
    let result = runtime.block_on(serve(config, on_listening, stop));
    // A blocking task still waiting (say, on a scan that outlived the grace period) must not
    // hold the process: its job is already re-queued.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn serve(
    config: Config,
    on_listening: impl FnOnce(Bound) + Send,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let data = config.data_dir.clone();
    std::fs::create_dir_all(&data).map_err(io(format!("creating {}", data.display())))?;
    let ingest_dir = match &config.ingest_dir {
        Some(dir) => Some(
            dir.canonicalize()
                .map_err(|e| ServerError::Config(format!("ingest_dir {}: {e}", dir.display())))?,
        ),
        None => None,
    };
    let uploads = data.join("uploads");
    let webhook_policy = reelguard_store::webhooks::WebhookPolicy {
        max_attempts: config.webhook_max_attempts,
    };
    let (store, catalogue, lease_owner) = {
        let data = data.clone();
        let uploads = uploads.clone();
        tokio::task::spawn_blocking(
            move || -> Result<(SqliteStore, Catalogue, String), ServerError> {
                files::prepare(&uploads).map_err(io("preparing uploads"))?;
                let store = SqliteStore::open_in(&data)?;
                store.set_webhook_policy(webhook_policy);
                // Jobs leased by an earlier process are claimable at once (the leases' own rule,
                // applied now rather than when they would run out).
                let lease_owner = reelguard_store::jobs::new_lease_owner()?;
                let (requeued, failed) = store.expire_leases_of_others(&lease_owner)?;
                if requeued + failed > 0 {
                    tracing::warn!(requeued, failed, "recovered jobs interrupted by a crash");
                }
                let mut catalogue = Catalogue::open(&data.join("catalogue"))?;
                let reconciled = reelguard_service::works::reconcile(&data, &store, &mut catalogue)
                    .map_err(|e| ServerError::Config(format!("reconciling the stores: {e}")))?;
                if reconciled.changed() {
                    tracing::warn!(
                        ?reconciled,
                        "reconciled the store and the catalogue after a crash"
                    );
                }
                Ok((store, catalogue, lease_owner))
            },
        )
        .await
        .map_err(|e| ServerError::Config(format!("startup task: {e}")))??
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("binding {}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the bound address"))?;
    // The address actually bound (`:0` picks a port), so that what is derived from it — a
    // notice's public evidence link without `public_base_url` — points where the daemon is.
    let mut config = config;
    config.listen = addr;
    let decoder: Arc<dyn reelguard_media::Decoder> = if config.sandbox {
        Arc::new(reelguard_sandbox::Sandbox::new(
            reelguard_sandbox::SandboxConfig {
                // One per job worker, and two for evidence stills so a page never waits on scans.
                workers: config.worker_count() + 2,
                ..Default::default()
            },
        ))
    } else {
        tracing::warn!("sandbox = false: untrusted files are decoded in the daemon's process");
        Arc::new(reelguard_media::InProcess)
    };
    let metrics_listener = match config.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .map_err(io(format!("binding the metrics listener {at}")))?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(tokio::net::TcpListener::local_addr)
        .transpose()
        .map_err(io("reading the metrics listener's address"))?;
    let state = Arc::new(Service::new(
        config,
        Arc::new(store),
        catalogue,
        uploads,
        ingest_dir,
        lease_owner,
        decoder,
    ));
    let stop_requested = shutdown_signal()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = runner::spawn_workers(Arc::clone(&state), stop_rx.clone());
    let metrics = metrics_listener.map(|listener| {
        let app = api::metrics_router(Arc::clone(&state));
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the metrics listener failed");
            }
        })
    });
    let webhooks = webhook::spawn(Arc::clone(&state), stop_rx);
    // Ends with the runtime; it holds nothing that needs a graceful stop.
    tokio::spawn(reelguard_service::memory::trim_periodically());
    let app = router(Arc::clone(&state));
    on_listening(Bound {
        api: addr,
        metrics: metrics_addr,
    });
    tracing::info!(%addr, metrics = ?metrics_addr, workers = workers.len(), "serving");
    state.ready.store(true, Ordering::SeqCst);
    notify::notify("READY=1");
    let shutdown_state = Arc::clone(&state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            _ = stop_requested => {}
            _ = stop => {}
        }
        tracing::info!("stopping: no new requests or jobs");
        shutdown_state.ready.store(false, Ordering::SeqCst);
        notify::notify("STOPPING=1");
        let _ = stop_tx.send(true);
    })
    .await
    .map_err(io("serving"))?;
    for worker in workers {
        let _ = worker.await;
    }
    let _ = webhooks.await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    // Every catalogue operation commits as it completes; waiting for the writer makes sure no
    // registration is half-way through its commit when the process exits. (Scans hold only
    // snapshots, so there is nothing of theirs to wait for.)
    let catalogue = Arc::clone(&state.catalogue);
    let wait = tokio::task::spawn_blocking(move || drop(catalogue.lock()));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), wait).await;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers (before READY=1 is sent, so a stop request that
/// follows readiness at once is never lost) and returns the future that resolves on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(io("listening for SIGTERM"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io("listening for SIGINT"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
