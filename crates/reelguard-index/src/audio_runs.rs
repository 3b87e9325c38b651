//! Audio records beside the frames: `audio.bin`, append-only like `frames.bin`, holding each
//! episode's audio sub-fingerprints (`reelguard_audio::AudioHk`, 9 bytes: `hash: u32 LE`,
//! `t: f32 LE`, `quality: u8`) as one contiguous run named in the manifest
//! ([`crate::catalogue::Episode::audio`]).
//!
//! The decision that shapes this module: **a second signal is a second record file under the
//! same commit.** Step 1 of the commit protocol appends and syncs both files; the manifest
//! records both committed lengths; open truncates both to them. So audio adds nothing to the
//! crash-safety argument of [`crate::catalogue`], and a catalogue written before audio existed
//! (no `audio.bin`, no `audio_len`) opens as one whose episodes have no audio.
//!
//! This module sits below [`crate::catalogue`]: it is handed the committed length and the
//! runs, never the manifest, so the two do not import each other.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reelguard_audio::AudioHk;
use reelguard_hash::{Record, SignalType};
use reelguard_model::SignalName;
use serde::{Deserialize, Serialize};

use crate::IndexError;

/// The audio record file.
pub(crate) const AUDIO: &str = "audio.bin";
/// The signal type whose records `audio.bin` holds.
pub type Audio = AudioHk;
/// Bytes per audio record.
pub const AUDIO_RECORD_BYTES: u64 = Audio::RECORD_BYTES as u64;
/// An audio sub-fingerprint of a registered episode as stored.
pub type StoredAudio = Record<<Audio as SignalType>::Hash>;

/// An episode's run of audio records in `audio.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioRun {
    /// First record.
    pub first: u64,
    /// Number of records.
    pub count: u64,
    /// The signal type whose records the run holds.
    pub signal: SignalName,
}

fn io(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `audio.bin`, opened for appending and positioned reads.
pub(crate) struct AudioFile {
    path: PathBuf,
    file: Arc<File>,
}

impl AudioFile {
    pub(crate) fn open(dir: &Path) -> Result<AudioFile, IndexError> {
        let path = dir.join(AUDIO);
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        Ok(AudioFile {
            path,
            file: Arc::new(file),
        })
    }

    /// Truncates what an aborted operation appended past the committed length `audio_len`; a
    /// file shorter than the manifest says is damage. `runs` are every episode's (id, run).
    pub(crate) fn recover<'a>(
        &self,
        audio_len: u64,
        runs: impl IntoIterator<Item = (u64, &'a AudioRun)>,
    ) -> Result<(), IndexError> {
        let len = self.file.metadata().map_err(|e| io(&self.path, e))?.len();
        if len < audio_len {
            return Err(IndexError::Corrupt {
                path: self.path.clone(),
                reason: format!("{len} bytes, manifest needs {audio_len}"),
            });
        }
        if len > audio_len {
            self.file
                .set_len(audio_len)
                .map_err(|e| io(&self.path, e))?;
        }
        check_audio_runs(audio_len, runs).map_err(|reason| IndexError::Corrupt {
            path: self.path.clone(),
            reason,
        })
    }

    /// Step 1 for audio: appends records after the committed length and syncs them. Returns
    /// the index of the first.
    pub(crate) fn append(
        &self,
        committed_len: u64,
        records: &[StoredAudio],
    ) -> Result<u64, IndexError> {
        let mut bytes = Vec::with_capacity(records.len() * Audio::RECORD_BYTES);
        for record in records {
            Audio::encode_record(record, &mut bytes);
        }
        self.file
            .set_len(committed_len)
            .map_err(|e| io(&self.path, e))?;
        (&*self.file)
            .write_all(&bytes)
            .map_err(|e| io(&self.path, e))?;
        self.file.sync_data().map_err(|e| io(&self.path, e))?;
        Ok(committed_len / AUDIO_RECORD_BYTES)
    }

    pub(crate) fn shared(&self) -> Arc<File> {
        self.file.clone()
    }
}

/// Every audio run lies within the committed `audio.bin` and holds its signal.
fn check_audio_runs<'a>(
    audio_len: u64,
    runs: impl IntoIterator<Item = (u64, &'a AudioRun)>,
) -> Result<(), String> {
    if !audio_len.is_multiple_of(AUDIO_RECORD_BYTES) {
        return Err(format!(
            "audio_len {audio_len} is not a whole number of records"
        ));
    }
    for (episode, run) in runs {
        if run.signal != Audio::NAME {
            return Err(format!(
                "episode {episode} claims {} audio records; audio.bin holds {}",
                run.signal,
                Audio::NAME
            ));
        }
        let end = run_bytes(run).map(|(offset, len)| offset + len);
        if end.is_none_or(|end| end > audio_len) {
            return Err(format!(
                "episode {episode} claims audio records beyond audio.bin"
            ));
        }
    }
    Ok(())
}

fn run_bytes(run: &AudioRun) -> Option<(u64, u64)> {
    let offset = run.first.checked_mul(AUDIO_RECORD_BYTES)?;
    let len = run.count.checked_mul(AUDIO_RECORD_BYTES)?;
    offset.checked_add(len)?;
    Some((offset, len))
}

/// Episode `episode_id`'s audio records (its `run`) as signal `S`'s; none when it has no
/// audio. Times are not checked here: the caller holds the rule for plausible times.
pub(crate) fn read_audio<S: SignalType>(
    file: &File,
    dir: &Path,
    episode_id: u64,
    run: Option<AudioRun>,
) -> Result<Vec<Record<S::Hash>>, IndexError> {
    let path = dir.join(AUDIO);
    let corrupt = |reason: String| IndexError::Corrupt {
        path: path.clone(),
        reason,
    };
    let Some(run) = run else {
        return Ok(Vec::new());
    };
    if run.signal != S::NAME {
        return Err(corrupt(format!(
            "episode {} holds {} audio records, not {}",
            episode_id,
            run.signal,
            S::NAME
        )));
    }
    let (offset, len) =
        run_bytes(&run).ok_or_else(|| corrupt(format!("episode {}: bad run", episode_id)))?;
    let mut bytes = vec![0u8; usize::try_from(len).map_err(|e| corrupt(e.to_string()))?];
    file.read_exact_at(&mut bytes, offset)
        .map_err(|e| io(&path, e))?;
    let records: Vec<Record<S::Hash>> = bytes
        .chunks_exact(S::RECORD_BYTES)
        .map(S::decode_record)
        .collect::<Option<_>>()
        .ok_or_else(|| corrupt(format!("episode {}: undecodable record", episode_id)))?;
    Ok(records)
}
