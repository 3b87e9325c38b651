//! Files the service keeps: received uploads (the HTTP layer streams request bodies into
//! [`temp_path`]s; an ingest file is copied here), installed under content-addressed names.
//! Either way a file is hashed (SHA-256) while it is written, bounded in size, `fsync`ed before
//! anyone is told it was accepted, and never held in memory whole.
//!
//! Layout under `<data>/uploads/`: `tmp/` (in progress; emptied at start), `suspects/<sha256>`
//! (content-addressed: identical content is stored once), `episodes/<sha256>.<n>` (deleted
//! once registered).

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::AppError;

/// A file written under `uploads/tmp/`, complete and durable.
#[derive(Debug)]
pub struct Received {
    /// Where it is.
    pub path: PathBuf,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name part no other call in this process (or an earlier run) makes: the time in
/// nanoseconds and a counter.
fn unique() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos}-{n}")
}

/// A fresh name in `uploads/tmp/`.
pub fn temp_path(uploads: &Path) -> PathBuf {
    uploads
        .join("tmp")
        .join(format!("{}-{}.part", std::process::id(), unique()))
}

/// Creates the upload directories and removes leftovers of interrupted uploads.
pub fn prepare(uploads: &Path) -> std::io::Result<()> {
    for dir in ["tmp", "suspects", "episodes"] {
        std::fs::create_dir_all(uploads.join(dir))?;
    }
    for entry in std::fs::read_dir(uploads.join("tmp"))? {
        let _ = std::fs::remove_file(entry?.path());
    }
    Ok(())
}

/// An I/O failure while handling a file: internal (the details are logged, not shown).
pub fn io_error(what: &str, error: std::io::Error) -> AppError {
    AppError::Internal(format!("{what}: {error}"))
}

/// Removes a file whose upload was refused or is redundant; a failure is only logged.
pub async fn discard(path: &Path) {
    if let Err(error) = tokio::fs::remove_file(path).await {
        tracing::warn!(path = %path.display(), %error, "could not remove upload");
    }
}

/// Resolves a path given by a client to a regular file inside the ingest directory. Relative
/// paths are taken from the ingest directory. Symbolic links are resolved first, so a link
/// that leads outside is refused like any other outside path; every refusal gives the same
/// answer, so the daemon cannot be used to probe for files elsewhere.
pub fn resolve_ingest(root: Option<&Path>, requested: &str) -> Result<PathBuf, AppError> {
    let Some(root) = root else {
        return Err(AppError::Invalid(
            "registration by path is disabled (no ingest_dir is configured)".into(),
        ));
    };
    let refused = || {
        AppError::Invalid(format!(
            "{requested:?} is not a file inside the ingest directory"
        ))
    };
    if requested.is_empty() || requested.contains('\0') {
        return Err(refused());
    }
    let candidate = root.join(requested);
    let canonical = candidate.canonicalize().map_err(|_| refused())?;
    if !canonical.starts_with(root) || canonical == root {
        return Err(refused());
    }
    let meta = std::fs::metadata(&canonical).map_err(|_| refused())?;
    if !meta.is_file() {
        return Err(refused());
    }
    Ok(canonical)
}

/// Copies a resolved ingest file to `uploads/tmp/` (blocking; run it off the runtime). The
/// file is opened without following a final symbolic link and must still be the file that
/// was checked (same device and inode), so swapping it after the check does not help.
pub fn copy_ingest(source: &Path, uploads: &Path, limit: u64) -> Result<Received, AppError> {
    let expected = std::fs::metadata(source).map_err(|e| io_error("ingest file", e))?;
    let mut input = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(source)
        .map_err(|_| AppError::Invalid("the ingest file changed while it was opened".into()))?;
    let actual = input.metadata().map_err(|e| io_error("ingest file", e))?;
    if (actual.dev(), actual.ino()) != (expected.dev(), expected.ino()) || !actual.is_file() {
        return Err(AppError::Invalid(
            "the ingest file changed while it was opened".into(),
        ));
    }
    if actual.len() > limit {
        return Err(AppError::TooLarge(limit));
    }
    let path = temp_path(uploads);
    let result = (|| {
        let mut output = std::fs::File::create(&path).map_err(|e| io_error("creating copy", e))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = input
                .read(&mut buf)
                .map_err(|e| io_error("reading ingest file", e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(AppError::TooLarge(limit));
            }
            hasher.update(&buf[..n]);
            output
                .write_all(&buf[..n])
                .map_err(|e| io_error("writing copy", e))?;
        }
        if size == 0 {
            return Err(AppError::Invalid("the ingest file is empty".into()));
        }
        output.sync_all().map_err(|e| io_error("syncing copy", e))?;
        Ok((reelguard_store::hex(&hasher.finalize()), size))
    })();
    match result {
        Ok((sha256, size)) => Ok(Received { path, sha256, size }),
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            Err(error)
        }
    }
}

/// Moves a received file (from `uploads/tmp/`) to its final place and makes the rename durable.
pub fn install(from: &Path, dest: &Path) -> Result<(), AppError> {
    std::fs::rename(from, dest).map_err(|e| io_error("storing upload", e))?;
    if let Some(dir) = dest.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("syncing upload directory", e))?;
    }
    Ok(())
}

/// A unique final path for an episode upload.
pub fn episode_path(uploads: &Path, sha256: &str) -> PathBuf {
    uploads
        .join("episodes")
        .join(format!("{sha256}.{}", unique()))
}

/// The content-addressed path of a suspect.
pub fn suspect_path(uploads: &Path, sha256: &str) -> PathBuf {
    uploads.join("suspects").join(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_ingest_directory_are_refused() {
        let base = tempfile::tempdir().expect("tempdir");
        let root = base.path().join("ingest");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(root.join("sub/ep1.mp4"), b"x").expect("write");
        std::fs::write(base.path().join("secret.mp4"), b"x").expect("write");
        std::os::unix::fs::symlink(base.path().join("secret.mp4"), root.join("link.mp4"))
            .expect("symlink");
        let root = root.canonicalize().expect("canonical");
        let ok = resolve_ingest(Some(&root), "sub/ep1.mp4").expect("inside");
        assert!(ok.starts_with(&root));
        assert_eq!(
            resolve_ingest(Some(&root), &ok.display().to_string()).expect("absolute"),
            ok
        );
        for bad in [
            "../secret.mp4",
            "sub/../../secret.mp4",
            "link.mp4",
            "/etc/passwd",
            "missing.mp4",
            "sub",
            "",
        ] {
            assert!(
                resolve_ingest(Some(&root), bad).is_err(),
                "{bad} must be refused"
            );
        }
        assert!(resolve_ingest(None, "sub/ep1.mp4").is_err());
    }
}
