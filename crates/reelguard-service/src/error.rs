//! The one error type of the application layer. Every domain rule that refuses something
//! says so with an [`AppError`]; the HTTP layer maps it to a status in one place
//! (`reelguard_server::error`), and the job runner maps it to a job failure.

use reelguard_index::IndexError;
use reelguard_store::StoreError;

/// Why an application operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller's role may not do this.
    #[error("this key's role may not do this")]
    Forbidden,
    /// No such thing, or not the caller's to see (the two are deliberately the same).
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed or breaks a rule about its values.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// An idempotency key the caller already used for a different request.
    #[error("the Idempotency-Key {0:?} was already used for a different request")]
    IdempotencyKeyReused(String),
    /// A file exceeds the upload limit.
    #[error("the body exceeds the limit of {0} bytes")]
    TooLarge(u64),
    /// The job queue is full.
    #[error("the job queue is full; retry in {retry_after} s")]
    QueueFull {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The service is not ready, or stopping.
    #[error("{0}")]
    Unavailable(String),
    /// A notice cannot leave draft: these papers or details are missing (each named for the
    /// person who must supply it).
    #[error("the notice cannot be sent; missing: {}", .0.join("; "))]
    Incomplete(Vec<String>),
    /// A bug or an environment failure; the details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// Maps a store failure; `retry_after` is what a full queue tells the client.
    pub fn from_store(error: StoreError, retry_after: u64) -> AppError {
        match error {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(what) => AppError::Conflict(what),
            StoreError::Invalid(what) => AppError::Invalid(what),
            StoreError::QueueFull { .. } => AppError::QueueFull { retry_after },
            StoreError::IdempotencyKeyReused(key) => AppError::IdempotencyKeyReused(key),
            other => AppError::Internal(other.to_string()),
        }
    }

    /// Maps a catalogue failure: unknown works and episodes are 404s, the rest internal.
    pub fn from_index(error: IndexError) -> AppError {
        match error {
            IndexError::UnknownWork(w) => AppError::NotFound(format!("work {w}")),
            IndexError::UnknownEpisode { work, number } => {
                AppError::NotFound(format!("episode {number} of work {work}"))
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}
