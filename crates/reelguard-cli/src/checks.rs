//! Refusals shared by the subcommands: a directory that must already exist, a catalogue that
//! must be one, numbers that must be finite and positive.
//!
//! The decision that shapes this module: **a reading command never creates what it reads**.
//! A mistyped `--data` used to open (and so create) an empty catalogue or database and report
//! every file "clean"; now it is an error naming the path, before anything is opened.

use std::path::{Path, PathBuf};

use anyhow::bail;
// The store file a daemon keeps in its data directory.
use reelguard_store::FILE_NAME as STORE_FILE;

/// The catalogue subdirectory of a daemon's data directory.
const DAEMON_CATALOGUE: &str = "catalogue";
/// The committed manifest of a catalogue: present once anything was registered.
const MANIFEST: &str = "catalogue.json";

/// `dir` as given, if it exists and is a directory.
pub fn existing_dir(dir: &Path, what: &str) -> anyhow::Result<PathBuf> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(dir.to_path_buf()),
        Ok(_) => bail!("{what} {} is not a directory", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what} {} does not exist", dir.display())
        }
        Err(e) => bail!("{what} {}: {e}", dir.display()),
    }
}

/// Whether `dir` is a daemon's data directory (a store file and a catalogue beside it).
pub fn is_daemon_dir(dir: &Path) -> bool {
    dir.join(STORE_FILE).is_file() && dir.join(DAEMON_CATALOGUE).is_dir()
}

/// The catalogue directory that `scan --data DIR` reads. A daemon's data directory is refused
/// rather than read: a read-only open may still roll an interrupted commit forward, which is
/// the running daemon's business, so the operator is sent to the daemon's API instead.
pub fn scan_catalogue(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = existing_dir(dir, "catalogue directory")?;
    if is_daemon_dir(&dir) {
        bail!(
            "{} is a daemon's data directory, not a catalogue: submit suspects to the daemon \
             (POST /v1/suspects), or, with the daemon stopped, scan its catalogue with \
             --data {}",
            dir.display(),
            dir.join(DAEMON_CATALOGUE).display()
        );
    }
    if !dir.join(MANIFEST).is_file() {
        bail!(
            "{} holds no catalogue (no {MANIFEST}): register works into it first with \
             `reelguard register --data {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// The store file of an existing data directory, for the admin commands that only read or
/// change what is there.
pub fn existing_store(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = existing_dir(dir, "data directory")?;
    if !dir.join(STORE_FILE).is_file() {
        bail!(
            "{} holds no store (no {STORE_FILE}): is this the daemon's data directory?",
            dir.display()
        );
    }
    Ok(dir)
}

/// A clap value parser for a sampling rate: finite, above zero and at most 240 per second
/// (beyond any frame rate the decoder meets, so a typo like `3000` is caught).
pub fn sample_fps(text: &str) -> Result<f64, String> {
    let fps: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !fps.is_finite() || fps <= 0.0 || fps > 240.0 {
        return Err(format!(
            "{text} frames per second is out of range (more than 0, at most 240)"
        ));
    }
    Ok(fps)
}

/// A clap value parser for a count that must be at least 1 (a median of no runs is no number).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".to_string()),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// The files named on a command line, with every directory among them replaced by the video
/// files under it: recursively, in name order, hidden entries and symbolic links skipped, as
/// ripgrep walks. A file named explicitly is always kept, whatever its extension.
pub fn expand_dirs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let before = files.len();
        let walk = walkdir::WalkDir::new(path)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            let entry = entry.map_err(|e| anyhow::anyhow!("walking {}: {e}", path.display()))?;
            if entry.file_type().is_file() && is_video_name(entry.path()) {
                files.push(entry.into_path());
            }
        }
        if files.len() == before {
            bail!(
                "{} holds no video files ({})",
                path.display(),
                VIDEO_EXTENSIONS.join(", ")
            );
        }
    }
    Ok(files)
}

/// The extensions taken for video when walking a directory.
const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "flv", "ts", "mts", "m2ts", "mpg", "mpeg", "wmv",
    "3gp",
];

fn is_video_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
