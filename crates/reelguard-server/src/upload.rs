//! Streaming a request body onto the daemon's disk: into a fresh `uploads/tmp/` file of
//! [`reelguard_service::files`], hashed while it is written, bounded in size and `fsync`ed
//! before the request is answered. Everything after that (installing, discarding) is the
//! service's.

use std::path::Path;

use axum::body::Body;
use futures_util::StreamExt;
use reelguard_service::files::{discard, io_error, temp_path, Received};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// Streams a request body to `uploads/tmp/`, refusing more than `limit` bytes.
pub async fn receive(body: Body, uploads: &Path, limit: u64) -> Result<Received, ApiError> {
    let path = temp_path(uploads);
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| ApiError::from(io_error("creating upload", e)))?;
    let result = async {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading body: {e}")))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(ApiError::TooLarge(limit));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| ApiError::from(io_error("writing upload", e)))?;
        }
        if size == 0 {
            return Err(ApiError::BadRequest("the body is empty".into()));
        }
        file.sync_all()
            .await
            .map_err(|e| ApiError::from(io_error("syncing upload", e)))?;
        Ok((reelguard_store::hex(&hasher.finalize()), size))
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
