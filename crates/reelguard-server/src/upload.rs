//! Streaming a request body onto the daemon's disk: into a fresh `uploads/tmp/` file of
//! [`reelguard_service::files`], hashed while it is written, bounded in size and `fsync`ed
//! before the request is answered. Everything after that (installing, discarding) is the
//! service's.
//!
//! Every body is read through [`Chunks`], which bounds both its size and the wait for each
//! piece: a client that stops sending mid-body (a slow-loris upload) gets 408 after
//! `body_idle_secs`, however large the upload limit is.

use std::path::Path;
use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes};
use futures_util::StreamExt;
use reelguard_service::files::{discard, io_error, temp_path, Received};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// A request body, piece by piece, refused past `limit` bytes or `idle` without a piece.
pub struct Chunks {
    stream: BodyDataStream,
    size: u64,
    limit: u64,
    idle: Duration,
}

impl Chunks {
    /// Reads `body` within these bounds.
    pub fn new(body: Body, limit: u64, idle: Duration) -> Chunks {
        Chunks {
            stream: body.into_data_stream(),
            size: 0,
            limit,
            idle,
        }
    }

    /// The next piece; `None` at the end of the body.
    pub async fn next(&mut self) -> Result<Option<Bytes>, ApiError> {
        let chunk = match tokio::time::timeout(self.idle, self.stream.next()).await {
            Err(_) => return Err(ApiError::Timeout("the request body stalled")),
            Ok(None) => return Ok(None),
            Ok(Some(chunk)) => {
                chunk.map_err(|e| ApiError::BadRequest(format!("reading body: {e}")))?
            }
        };
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(ApiError::TooLarge(self.limit));
        }
        Ok(Some(chunk))
    }

    /// Bytes read so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Whether [`receive`] makes the file durable before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// `fsync`ed: the file may be acknowledged at once.
    Now,
    /// Not yet: the caller may find it redundant (a duplicate) and discard it without paying
    /// for the `fsync`, and must call [`sync`] before acknowledging it otherwise.
    Later,
}

/// Makes a file received with [`Sync::Later`] durable.
pub async fn sync(path: &Path) -> Result<(), ApiError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError::from(io_error("reopening upload", e)))?;
    file.sync_all()
        .await
        .map_err(|e| ApiError::from(io_error("syncing upload", e)))
}

/// How much of an upload is gathered before it is written.
pub const WRITE_BUFFER: usize = 256 << 10;

/// Streams a request body to `uploads/tmp/`, refusing more than `limit` bytes.
pub async fn receive(
    body: Body,
    uploads: &Path,
    limit: u64,
    idle: Duration,
    durability: Sync,
) -> Result<Received, ApiError> {
    let path = temp_path(uploads);
    let file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| ApiError::from(io_error("creating upload", e)))?;
    // Bodies arrive in pieces of a few KiB; each write of tokio's file is a trip to the
    // blocking pool, so pieces are gathered into writes of WRITE_BUFFER bytes.
    let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let result = async {
        let mut hasher = Sha256::new();
        let mut chunks = Chunks::new(body, limit, idle);
        while let Some(chunk) = chunks.next().await? {
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| ApiError::from(io_error("writing upload", e)))?;
        }
        if chunks.size() == 0 {
            return Err(ApiError::BadRequest("the body is empty".into()));
        }
        file.flush()
            .await
            .map_err(|e| ApiError::from(io_error("writing upload", e)))?;
        if durability == Sync::Now {
            file.get_ref()
                .sync_all()
                .await
                .map_err(|e| ApiError::from(io_error("syncing upload", e)))?;
        }
        Ok((reelguard_store::hex(&hasher.finalize()), chunks.size()))
    }
    .await;
    drop(file);
    match result {
        Ok((sha256, size)) => Ok(Received { path, sha256, size }),
        Err(error) => {
            discard(&path).await;
            Err(error)
        }
    }
}

/// The SHA-256 of a body that is read but not kept (a suspect that may be a duplicate while
/// the queue is full): nothing touches the disk.
pub async fn hash_only(body: Body, limit: u64, idle: Duration) -> Result<String, ApiError> {
    let mut hasher = Sha256::new();
    let mut chunks = Chunks::new(body, limit, idle);
    while let Some(chunk) = chunks.next().await? {
        hasher.update(&chunk);
    }
    Ok(reelguard_store::hex(&hasher.finalize()))
}

/// Most of a refused upload's body that is read (and discarded) so the client, still sending,
/// gets the answer instead of a reset connection; past it the connection is simply closed.
pub const DRAIN_LIMIT: u64 = 64 << 20;

/// Reads and discards a body that is refused before it was read (429, 404...), up to
/// [`DRAIN_LIMIT`] bytes and 30 seconds.
pub async fn drain(body: Body) {
    let drained = async {
        let mut stream = body.into_data_stream();
        let mut read = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drained).await;
}
