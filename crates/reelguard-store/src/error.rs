//! The one error type of every store operation, whatever the implementation behind the traits.
//!
//! The decision that shapes it: callers branch on *what* went wrong (not found, conflict,
//! invalid, queue full, lease lost), never on the engine; the engine's own error is one opaque
//! variant that the server maps to an internal error.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (a query, or the connection).
    #[error("postgresql: {message}")]
    Postgres {
        /// The server's message (with its detail), or the client's.
        message: String,
        /// The SQLSTATE, when the server answered with an error.
        code: Option<String>,
    },
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgresql pool: {0}")]
    PostgresPool(String),
    /// The data directory could not be prepared.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No such row.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (a duplicate name, a decided match).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is malformed (an empty name, an unknown member).
    #[error("invalid: {0}")]
    Invalid(String),
    /// An `Idempotency-Key` already names a different request of the same member.
    #[error("the idempotency key {0:?} was already used for a different request")]
    IdempotencyKeyReused(String),
    /// The job queue holds as many unfinished jobs as it may.
    #[error("the job queue is full ({depth} of {limit} jobs unfinished)")]
    QueueFull {
        /// Unfinished jobs now.
        depth: u64,
        /// The limit.
        limit: u64,
    },
    /// The caller no longer holds the job's lease: it expired and another worker took the
    /// job over, or the job already finished. Nothing was written.
    #[error("the lease on job {job_id} is no longer held by this worker")]
    LeaseLost {
        /// The job.
        job_id: i64,
    },
    /// A stored JSON column does not parse.
    #[error("stored JSON is damaged: {0}")]
    Json(#[from] serde_json::Error),
    /// A write queued for a group commit did not commit (the batch's transaction failed, or
    /// the write itself panicked and was rolled back).
    #[error("grouped write: {0}")]
    Grouped(String),
    /// The system's random source failed.
    #[error("no randomness for a key: {0}")]
    Random(String),
}

/// The server's own message, not tokio-postgres's bare "db error".
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        match e.as_db_error() {
            Some(db) => StoreError::Postgres {
                message: db.to_string(),
                code: Some(db.code().code().to_string()),
            },
            None => StoreError::Postgres {
                message: e.to_string(),
                code: e.code().map(|c| c.code().to_string()),
            },
        }
    }
}
