//! The catalogue on disk: works, episodes and their frame-hash sequences.
//!
//! # Format (version 2)
//! A data directory holds:
//! - `frames.bin`: append-only frame records in the video pHash's record format
//!   (`reelguard_hash::VideoPhash`, 13 bytes: `hash: u64 LE`, `t: f32 LE` seconds,
//!   `quality: u8`; the layout is the signal type's, not this module's). An episode owns one
//!   contiguous run of records, in time order. Records are never rewritten; a withdrawn
//!   episode's records stay (and stop being read).
//! - `catalogue.json`: the manifest: works, episodes (with their run in `frames.bin` and the
//!   name of the signal type whose records the run holds), id counters, the committed length
//!   of `frames.bin`, and a `generation` number.
//! - `audio.bin`: append-only audio records, each episode's one run, in the audio signal's
//!   record format ([`crate::audio_runs`]); the manifest's `audio_len` is its committed length.
//! - `bands/`: the tantivy band index ([`crate::lsh`]), its terms prefixed by signal name,
//!   whose commit payload is the generation of the manifest it belongs to.
//!
//! Format 1 had no signal names and an unprefixed index in `index/`; opening such a
//! directory migrates it ([`crate::migrate`], crash-safe like any commit).
//!
//! # Crash safety
//! One operation (add a work with episodes, add episodes, withdraw) is committed as:
//! 1. append records to `frames.bin`, `fsync`;
//! 2. write the new manifest (generation `g + 1`) to `catalogue.json.next`, `fsync`;
//! 3. commit the tantivy index with payload `g + 1` — **the commit point**;
//! 4. rename `catalogue.json.next` over `catalogue.json`, `fsync` the directory.
//!
//! On open, a `catalogue.json.next` whose generation equals the index payload is rolled
//! forward (the crash came after the commit point); any other is deleted (before it). Bytes of
//! `frames.bin` past the manifest's committed length are truncated, and tantivy drops
//! uncommitted segments by itself. So after a kill at any instant, the catalogue shows the last
//! completed operation whole, or not at all.
//!
//! The migration from format 1 is one more operation with the same commit point, the rename
//! of a staged manifest (steps and crash points in [`crate::migrate`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reelguard_hash::{Record, SignalType, VideoPhash};
use reelguard_model::{SignalName, VIDEO_PHASH};
use serde::{Deserialize, Serialize};

use crate::IndexError;

/// The signal type whose records `frames.bin` holds.
pub(crate) type Video = VideoPhash;

/// Bytes per frame record in `frames.bin`: the video pHash's record size.
pub const FRAME_RECORD_BYTES: u64 = Video::RECORD_BYTES as u64;
pub(crate) const MANIFEST: &str = "catalogue.json";
pub(crate) const MANIFEST_NEXT: &str = "catalogue.json.next";
const FRAMES: &str = "frames.bin";
/// The band index of format 2.
pub(crate) const BANDS_DIR: &str = "bands";
/// The current on-disk format.
pub const FORMAT: u32 = 2;
/// The format before signal names, migrated on open.
pub(crate) const FORMAT_1: u32 = 1;
/// Records below this quality are noise (`reelguard_hash::MIN_USEFUL_QUALITY`): never indexed.
pub(crate) const MIN_INDEXED_QUALITY: u8 = reelguard_hash::MIN_USEFUL_QUALITY;

/// A frame of a registered episode as stored: a video pHash record.
pub type StoredFrame = Record<<Video as SignalType>::Hash>;

/// Format 1 manifests name no signal: every run was video pHash.
fn format_1_signal() -> SignalName {
    VIDEO_PHASH
}

/// A registered episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Catalogue-wide id (also the tantivy document key).
    pub id: u64,
    /// Episode number within its work, from 1.
    pub number: u32,
    /// Where the episode was registered from.
    pub file: String,
    /// Seconds.
    pub duration_s: f64,
    /// First record in `frames.bin`.
    pub first_frame: u64,
    /// Number of records.
    pub frame_count: u64,
    /// The signal type whose records the run holds.
    #[serde(default = "format_1_signal")]
    pub signal: SignalName,
    /// Withdrawn episodes never match.
    #[serde(default)]
    pub withdrawn: bool,
    /// Its run of audio records in `audio.bin`; `None` for an episode without sound (and
    /// every episode registered before audio existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<crate::audio_runs::AudioRun>,
}

/// A registered work (a drama).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// Stable id, e.g. `w000017`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Rights holder.
    pub owner: Option<String>,
    /// The owner's own reference for the work.
    pub external_id: Option<String>,
    /// Episodes in number order.
    pub episodes: Vec<Episode>,
    /// Withdrawn works never match.
    #[serde(default)]
    pub withdrawn: bool,
}

/// The manifest, as committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// On-disk format version.
    pub format: u32,
    /// Incremented by every committed operation; equals the index's commit payload.
    pub generation: u64,
    /// Committed length of `frames.bin` in bytes.
    pub frames_len: u64,
    /// Committed length of `audio.bin` in bytes (0 before audio existed).
    #[serde(default)]
    pub audio_len: u64,
    /// Next episode id to hand out.
    pub next_episode_id: u64,
    /// Next work number to hand out.
    pub next_work_number: u64,
    /// Works in registration order.
    pub works: Vec<Work>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format: FORMAT,
            generation: 0,
            frames_len: 0,
            audio_len: 0,
            next_episode_id: 1,
            next_work_number: 1,
            works: Vec::new(),
        }
    }
}

impl Manifest {
    /// The work with this id.
    pub fn work(&self, id: &str) -> Option<&Work> {
        self.works.iter().find(|w| w.id == id)
    }
}

/// Largest frame time, in seconds either side of 0, that a record may hold: four times the
/// media crate's default duration limit. Anything beyond (or NaN, or infinite) is damage, and
/// would only stretch the aligner's (speed, offset) grid to an absurd size.
pub const MAX_FRAME_T_S: f32 = 24.0 * 3600.0;

/// Refuses frame times that no decoded video has: not finite, or beyond [`MAX_FRAME_T_S`].
pub(crate) fn check_frame_times<H>(frames: &[Record<H>]) -> Result<(), String> {
    match frames
        .iter()
        .find(|f| !f.t.is_finite() || f.t.abs() > MAX_FRAME_T_S)
    {
        Some(f) => Err(format!("frame time {} s is not a plausible timestamp", f.t)),
        None => Ok(()),
    }
}

/// Byte offset and length of an episode's records in `frames.bin`; `None` when their end
/// does not fit in a `u64`.
pub(crate) fn run_bytes(episode: &Episode) -> Option<(u64, u64)> {
    let offset = episode.first_frame.checked_mul(FRAME_RECORD_BYTES)?;
    let len = episode.frame_count.checked_mul(FRAME_RECORD_BYTES)?;
    offset.checked_add(len)?;
    Some((offset, len))
}

/// Every episode's run of records lies within the committed length of `frames.bin` and holds
/// the one signal `frames.bin` stores: an edited or damaged `catalogue.json` is refused at
/// open rather than read past the end (or allocated for, or misread) at match time.
pub(crate) fn check_runs(manifest: &Manifest) -> Result<(), String> {
    if !manifest.frames_len.is_multiple_of(FRAME_RECORD_BYTES) {
        return Err(format!(
            "frames_len {} is not a whole number of {FRAME_RECORD_BYTES}-byte records",
            manifest.frames_len
        ));
    }
    for episode in manifest.works.iter().flat_map(|w| &w.episodes) {
        if episode.signal != Video::NAME {
            return Err(format!(
                "episode {} claims {} records; frames.bin holds {}",
                episode.id,
                episode.signal,
                Video::NAME
            ));
        }
        let end = run_bytes(episode).map(|(offset, len)| offset + len);
        if end.is_none_or(|end| end > manifest.frames_len) {
            return Err(format!(
                "episode {} claims records {}..+{} beyond the {} in frames.bin",
                episode.id,
                episode.first_frame,
                episode.frame_count,
                manifest.frames_len / FRAME_RECORD_BYTES
            ));
        }
    }
    Ok(())
}

/// A manifest's text as read from `path`: JSON of a format this code reads (checked against
/// `frames.bin` later, by `check_runs` at recovery).
pub(crate) fn parse_manifest(text: &str, path: &Path) -> Result<Manifest, IndexError> {
    let manifest: Manifest = serde_json::from_str(text).map_err(|e| IndexError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if manifest.format != FORMAT && manifest.format != FORMAT_1 {
        return Err(IndexError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("unsupported format {}", manifest.format),
        });
    }
    Ok(manifest)
}

/// Fails an operation at a named step when `REELGUARD_CRASH_AT` names it, by aborting the
/// process: how the crash-safety tests kill a writer at each step of the protocol.
pub(crate) fn crash_point(step: &str) {
    if std::env::var("REELGUARD_CRASH_AT").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

/// The files of a catalogue: manifest and frame records.
pub(crate) struct Files {
    dir: PathBuf,
    /// Opened for appending and reading; shared with every snapshot, which only reads at
    /// committed offsets (positioned reads, so no shared cursor).
    frames: Arc<File>,
    /// `audio.bin`, alike.
    pub(crate) audio: crate::audio_runs::AudioFile,
}

fn io(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Files {
    pub(crate) fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(FRAMES);
        let frames = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        Ok(Files {
            dir: dir.to_path_buf(),
            frames: Arc::new(frames),
            audio: crate::audio_runs::AudioFile::open(dir)?,
        })
    }

    fn read_manifest_file(&self, name: &str) -> Result<Option<Manifest>, IndexError> {
        let path = self.dir.join(name);
        let mut text = String::new();
        match File::open(&path) {
            Ok(mut file) => file.read_to_string(&mut text).map_err(|e| io(&path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path, e)),
        };
        parse_manifest(&text, &path).map(Some)
    }

    /// The format of the committed manifest; `None` for a new catalogue.
    pub(crate) fn committed_format(&self) -> Result<Option<u32>, IndexError> {
        Ok(self.read_manifest_file(MANIFEST)?.map(|m| m.format))
    }

    /// Loads the committed manifest, finishing or undoing an interrupted commit.
    pub(crate) fn recover(&self, index_generation: u64) -> Result<Manifest, IndexError> {
        self.recover_format(FORMAT, index_generation)
    }

    /// [`Files::recover`] for a manifest of `format` (the migration recovers format 1 first).
    /// A staged manifest of another format is never rolled forward.
    pub(crate) fn recover_format(
        &self,
        format: u32,
        index_generation: u64,
    ) -> Result<Manifest, IndexError> {
        let mut manifest = match self.read_manifest_file(MANIFEST)? {
            Some(manifest) if manifest.format != format => {
                return Err(IndexError::Corrupt {
                    path: self.dir.join(MANIFEST),
                    reason: format!("format {}, expected {format}", manifest.format),
                })
            }
            Some(manifest) => manifest,
            None => Manifest::default(),
        };
        let next_path = self.dir.join(MANIFEST_NEXT);
        // A `.next` that does not even parse was cut off before its fsync: before the commit.
        let next = self.read_manifest_file(MANIFEST_NEXT).unwrap_or(None);
        match next {
            Some(next) if next.format == format && next.generation == index_generation => {
                tracing::info!(
                    generation = next.generation,
                    "rolling catalogue commit forward"
                );
                self.install_next()?;
                manifest = next;
            }
            _ if next_path.exists() => {
                tracing::info!("discarding uncommitted catalogue change");
                std::fs::remove_file(&next_path).map_err(|e| io(&next_path, e))?;
            }
            _ => {}
        }
        if manifest.generation != index_generation {
            return Err(IndexError::Corrupt {
                path: self.dir.join(MANIFEST),
                reason: format!(
                    "manifest generation {} but index generation {}",
                    manifest.generation, index_generation
                ),
            });
        }
        let frames_path = self.dir.join(FRAMES);
        let len = self
            .frames
            .metadata()
            .map_err(|e| io(&frames_path, e))?
            .len();
        if len < manifest.frames_len {
            return Err(IndexError::Corrupt {
                path: frames_path,
                reason: format!("{len} bytes, manifest needs {}", manifest.frames_len),
            });
        }
        if len > manifest.frames_len {
            self.frames
                .set_len(manifest.frames_len)
                .map_err(|e| io(&frames_path, e))?;
        }
        check_runs(&manifest).map_err(|reason| IndexError::Corrupt {
            path: self.dir.join(MANIFEST),
            reason,
        })?;
        let runs = manifest.works.iter().flat_map(|w| &w.episodes);
        self.audio.recover(
            manifest.audio_len,
            runs.filter_map(|e| Some((e.id, e.audio.as_ref()?))),
        )?;
        Ok(manifest)
    }

    /// Step 1: appends records (in `S`'s record format) and makes them durable. Returns the
    /// index of the first record.
    pub(crate) fn append_records<S: SignalType>(
        &mut self,
        manifest: &Manifest,
        records: &[Record<S::Hash>],
    ) -> Result<u64, IndexError> {
        let path = self.dir.join(FRAMES);
        let mut bytes = Vec::with_capacity(records.len() * S::RECORD_BYTES);
        for record in records {
            S::encode_record(record, &mut bytes);
        }
        // Appending after the committed length: anything past it is an aborted operation's.
        self.frames
            .set_len(manifest.frames_len)
            .map_err(|e| io(&path, e))?;
        (&*self.frames)
            .write_all(&bytes)
            .map_err(|e| io(&path, e))?;
        self.frames.sync_data().map_err(|e| io(&path, e))?;
        Ok(manifest.frames_len / S::RECORD_BYTES as u64)
    }

    /// Step 2: the next manifest, durable but not yet in force.
    pub(crate) fn stage_manifest(&self, manifest: &Manifest) -> Result<(), IndexError> {
        let path = self.dir.join(MANIFEST_NEXT);
        let text = serde_json::to_vec(manifest).map_err(|e| IndexError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut file = File::create(&path).map_err(|e| io(&path, e))?;
        file.write_all(&text).map_err(|e| io(&path, e))?;
        file.sync_all().map_err(|e| io(&path, e))?;
        Ok(())
    }

    /// Step 4: the staged manifest becomes the manifest.
    pub(crate) fn install_next(&self) -> Result<(), IndexError> {
        let from = self.dir.join(MANIFEST_NEXT);
        let to = self.dir.join(MANIFEST);
        std::fs::rename(&from, &to).map_err(|e| io(&from, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&self.dir, e))?;
        Ok(())
    }

    /// The frame records' handle, for snapshots.
    pub(crate) fn shared_frames(&self) -> Arc<File> {
        self.frames.clone()
    }
}

/// Reads an episode's records as signal `S`'s. A run of another signal, a run outside
/// `frames.bin` or a record whose time is not a plausible timestamp (see
/// [`check_frame_times`]) is [`IndexError::Corrupt`].
pub(crate) fn read_records<S: SignalType>(
    frames_file: &File,
    dir: &Path,
    episode: &Episode,
) -> Result<Vec<Record<S::Hash>>, IndexError> {
    let path = dir.join(FRAMES);
    let corrupt = |reason: String| IndexError::Corrupt {
        path: path.clone(),
        reason,
    };
    if episode.signal != S::NAME {
        return Err(corrupt(format!(
            "episode {} holds {} records, not {}",
            episode.id,
            episode.signal,
            S::NAME
        )));
    }
    // `check_runs` vetted the manifest at open; checked arithmetic keeps an episode that
    // slipped past it from wrapping around or asking for an absurd buffer.
    let (offset, len) = run_bytes(episode)
        .ok_or_else(|| corrupt(format!("episode {} has an impossible run", episode.id)))?;
    let mut bytes = vec![0u8; usize::try_from(len).map_err(|e| corrupt(e.to_string()))?];
    frames_file
        .read_exact_at(&mut bytes, offset)
        .map_err(|e| io(&path, e))?;
    decode_run::<S>(&bytes, episode.id).map_err(corrupt)
}

/// An episode's run of records, as read from `frames.bin`: whole records of signal `S`, each
/// with a plausible time (see [`check_frame_times`]).
pub(crate) fn decode_run<S: SignalType>(
    bytes: &[u8],
    episode_id: u64,
) -> Result<Vec<Record<S::Hash>>, String> {
    if !bytes.len().is_multiple_of(S::RECORD_BYTES) {
        return Err(format!("episode {episode_id}: a partial record"));
    }
    let frames: Vec<Record<S::Hash>> = bytes
        .chunks_exact(S::RECORD_BYTES)
        .map(S::decode_record)
        .collect::<Option<_>>()
        .ok_or_else(|| format!("episode {episode_id}: undecodable record"))?;
    check_frame_times(&frames).map_err(|reason| format!("episode {episode_id}: {reason}"))?;
    Ok(frames)
}
