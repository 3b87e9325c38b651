//! Submissions: an episode for registration or a suspect for scanning, from a received file
//! to a queued job. The rules: a full queue refuses before a body is read, a withdrawn work
//! takes no episodes, crawler metadata is bounded, identical suspects are stored once, and a
//! refused submission leaves no file behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reelguard_store::{Caller, IdempotencyKey, NewFile, SourceMeta, Store, StoreError, Submission};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::files::{self, Received};
use crate::{works, Service};

/// Longest crawler-supplied metadata value, in bytes.
pub const MAX_META_BYTES: usize = 2048;

/// Longest `Idempotency-Key`, in bytes (a UUID is 36).
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// Checks a client's idempotency key: 1 to [`MAX_IDEMPOTENCY_KEY_BYTES`] visible ASCII
/// characters (the key is stored and compared as given).
pub fn idempotency_key(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.is_empty()
        || raw.len() > MAX_IDEMPOTENCY_KEY_BYTES
        || !raw.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AppError::Invalid(format!(
            "an Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY_BYTES} visible ASCII characters"
        )));
    }
    Ok(Some(raw.to_string()))
}

/// Checks a SHA-256 the client declares for its body (`X-Content-SHA256`): 64 hex digits,
/// returned in lower case.
pub fn content_sha256(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    let raw = raw.trim();
    if raw.len() != 64 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::Invalid(
            "X-Content-SHA256 must be the body's SHA-256 as 64 hex digits".into(),
        ));
    }
    Ok(Some(raw.to_ascii_lowercase()))
}

/// A crawler's sighting of content that is already a suspect, recorded from its SHA-256 alone
/// (sent before the body, or hashed from a body not kept): `None` if the content is unknown.
/// A known suspect is never refused for a full queue, since no job is made for it.
pub async fn known_suspect(
    service: &Service,
    caller: &Caller,
    sha256: String,
    source: SourceMeta,
) -> Result<Option<Submission>, AppError> {
    let member = caller.member_id;
    service
        .db(move |s| s.submit_known_suspect(member, &sha256, &source))
        .await
}

/// What makes two registrations "the same request" for an idempotency key: the work, the
/// content and the name it is registered under.
pub fn registration_identity(
    key: String,
    work_id: &str,
    sha256: &str,
    name: &str,
) -> IdempotencyKey {
    let mut digest = Sha256::new();
    for part in ["register", work_id, sha256, name] {
        digest.update(part.as_bytes());
        // A separator no part contains, so ("ab", "c") and ("a", "bc") differ.
        digest.update([0u8]);
    }
    IdempotencyKey {
        key,
        request_sha256: reelguard_store::hex(&digest.finalize()),
    }
}

/// The job of an earlier registration with this key and identity, answered before any body is
/// read (the client sent the content's SHA-256 with the key).
pub async fn replayed_registration(
    service: &Service,
    caller: &Caller,
    identity: IdempotencyKey,
) -> Result<Option<Submission>, AppError> {
    let member = caller.member_id;
    let job = service
        .db(move |s| s.idempotent_job(member, &identity))
        .await?;
    Ok(job.map(|job_id| Submission {
        job_id,
        suspect_id: None,
        deduplicated: false,
        replayed: true,
    }))
}

/// Refuses when the queue is already full (before any body is read).
pub async fn check_queue(service: &Service) -> Result<(), AppError> {
    let depth = service.db(|s| s.queue_depth()).await?;
    if depth >= service.config.queue_limit {
        return Err(AppError::QueueFull {
            retry_after: service.config.retry_after_secs,
        });
    }
    Ok(())
}

/// Refuses a declared body length over the upload limit.
pub fn check_length(service: &Service, declared: Option<u64>) -> Result<(), AppError> {
    match declared {
        Some(n) if n > service.config.max_upload_bytes => {
            Err(AppError::TooLarge(service.config.max_upload_bytes))
        }
        _ => Ok(()),
    }
}

/// The name a file is shown under: the last path part of what the client sent, or `fallback`
/// when that is empty, too long or holds control characters.
pub fn file_name(requested: Option<String>, fallback: &str) -> String {
    let name = requested.unwrap_or_default();
    let name = name.rsplit('/').next().unwrap_or("").trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        fallback.to_string()
    } else {
        name.to_string()
    }
}

/// Bounds what a crawler may store per submission.
pub fn check_source(source: &SourceMeta) -> Result<(), AppError> {
    for (name, value) in [
        ("platform", &source.platform),
        ("url", &source.url),
        ("uploader", &source.uploader),
        ("title_seen", &source.title_seen),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_META_BYTES) {
            return Err(AppError::Invalid(format!(
                "{name} is longer than {MAX_META_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// Checks that an episode may be added to this work: the caller owns it and it is live.
pub async fn live_target(
    service: &Service,
    caller: &Caller,
    work_id: &str,
) -> Result<(), AppError> {
    works::live(service, caller, work_id).await.map(|_| ())
}

/// Copies a file named by path from the ingest directory, with its display name.
pub async fn from_ingest(service: &Service, path: &str) -> Result<(Received, String), AppError> {
    let source = files::resolve_ingest(service.ingest_dir.as_deref(), path)?;
    let name = source.file_name().map_or_else(
        || "ingest".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let uploads = service.uploads.clone();
    let limit = service.config.max_upload_bytes;
    let received = service
        .blocking(move || files::copy_ingest(&source, &uploads, limit))
        .await?;
    Ok((received, name))
}

async fn install(service: &Service, received: &Received, dest: &Path) -> Result<(), AppError> {
    let (from, dest) = (received.path.clone(), dest.to_path_buf());
    service.blocking(move || files::install(&from, &dest)).await
}

/// Records a submission and wakes a worker; if the store refuses it (a full queue...) or
/// answers it from an earlier request with the same idempotency key, the file installed for
/// it, if any, is removed.
async fn record<F>(
    service: &Service,
    installed: Option<PathBuf>,
    f: F,
) -> Result<Submission, AppError>
where
    F: FnOnce(&dyn Store) -> Result<Submission, StoreError> + Send + 'static,
{
    match service.db(f).await {
        Ok(submission) => {
            if submission.replayed {
                if let Some(path) = installed {
                    files::discard(&path).await;
                }
            } else {
                service.wake.notify_one();
            }
            Ok(submission)
        }
        Err(error) => {
            if let Some(path) = installed {
                files::discard(&path).await;
            }
            Err(error)
        }
    }
}

/// Queues a received episode for registration into one of the caller's live works. With an
/// idempotency key the caller already used for the same registration, the first request's
/// job is answered and nothing is added; the key used for another registration is refused.
pub async fn registration(
    service: &Arc<Service>,
    caller: &Caller,
    work_id: String,
    received: Received,
    name: String,
    idempotency: Option<String>,
) -> Result<Submission, AppError> {
    let identity =
        idempotency.map(|key| registration_identity(key, &work_id, &received.sha256, &name));
    let dest = files::episode_path(&service.uploads, &received.sha256);
    install(service, &received, &dest).await?;
    let file = NewFile {
        sha256: received.sha256,
        size_bytes: received.size,
        path: dest.display().to_string(),
        name,
    };
    let (member, limits) = (caller.member_id, service.limits());
    record(service, Some(dest), move |s| {
        s.submit_registration(member, &work_id, &file, identity.as_ref(), limits)
    })
    .await
}

/// Queues a received suspect for scanning; `source` must already be checked. Identical
/// content is stored once: a file already there is discarded and the submission deduplicated.
pub async fn scan(
    service: &Arc<Service>,
    caller: &Caller,
    received: Received,
    source: SourceMeta,
    name: String,
) -> Result<Submission, AppError> {
    let dest = files::suspect_path(&service.uploads, &received.sha256);
    let installed = if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
        files::discard(&received.path).await;
        false
    } else {
        install(service, &received, &dest).await?;
        true
    };
    let file = NewFile {
        sha256: received.sha256,
        size_bytes: received.size,
        path: dest.display().to_string(),
        name,
    };
    let (member, limits) = (caller.member_id, service.limits());
    record(service, installed.then_some(dest), move |s| {
        s.submit_suspect(member, &file, &source, limits)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_the_last_part_and_refuse_control_characters() {
        assert_eq!(file_name(Some("a/b/ep1.mp4".into()), "x"), "ep1.mp4");
        assert_eq!(file_name(Some("bad\nname".into()), "x"), "x");
        assert_eq!(file_name(Some("  ".into()), "x"), "x");
        assert_eq!(file_name(None, "upload"), "upload");
        assert_eq!(file_name(Some("a".repeat(256)), "x"), "x");
    }

    #[test]
    fn crawler_metadata_is_bounded() {
        let mut source = SourceMeta::default();
        assert!(check_source(&source).is_ok());
        source.url = Some("u".repeat(MAX_META_BYTES + 1));
        assert!(matches!(check_source(&source), Err(AppError::Invalid(_))));
    }
}
