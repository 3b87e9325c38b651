//! The catalogue of registered works and the matcher that finds them in suspects.
//!
//! A [`Catalogue`] (the one writer) lives in one data directory: works and episodes with their frame-hash
//! sequences ([`catalogue`]), and a tantivy index of hash bands for candidate retrieval
//! ([`lsh`]). [`Catalogue::find`] turns a suspect's frame hashes into [`Match`]es in three
//! steps: band lookups vote for candidate episodes, each vote weighted by how rare its band
//! value is (IDF: a title card every episode shares, or a black frame, weighs almost nothing);
//! the top candidates are aligned in time (`reelguard-align`); each segment must pass the
//! mutual-best-match test against the suspect's other candidates ([`distinct`]), or be a
//! correspondingly stronger match; and segments that claim the same
//! stretch of the suspect are resolved in favour of the best-supported one, so a shared title
//! card cannot make a second episode match.
//!
//! Every lookup runs on a [`CatalogueSnapshot`]: the immutable state of one commit, which the
//! writer publishes as an `Arc` after each commit ([`Catalogue::snapshot`]). A reader holds no
//! lock and keeps its state while registrations commit behind it.
//!
//! # Signals
//! Nothing here hard-wires the video pHash: records are read and written, LSH terms computed
//! and frames aligned through `reelguard_hash::SignalType`, and the public video methods
//! (`find`, `candidates`, `episode_frames`) are the generic ones (`find_probes_signal`,
//! `candidates_signal`, `episode_records`) at `VideoPhash`. Each episode's run names its
//! signal in the manifest, every index term is prefixed with it ([`lsh`]), every segment
//! found carries it. A second signal (audio) plugs in by implementing `SignalType`, a
//! registration path that stores its records (its own record file, as `frames.bin` holds
//! only video's 13-byte records, and a run per episode and signal), and the pipeline calling
//! the generic lookups with it; the store, the API and the workbench see segments that name
//! their signal, and do not change.
//!
//! This crate knows nothing of video decoding or HTTP: hashes in, matches out.
#![deny(missing_docs)]

pub mod audio_runs;
pub mod catalogue;
pub mod distinct;
pub mod fuzzing;
pub mod lsh;
pub mod migrate;
mod snapshot;
mod writer;

use std::path::PathBuf;

use reelguard_align::chance::Calibration;
use reelguard_align::{Params, Segment};
use serde::{Deserialize, Serialize};

pub use distinct::Distinctness;

pub use audio_runs::{AudioRun, StoredAudio, AUDIO_RECORD_BYTES};
pub use catalogue::{
    Episode, Manifest, StoredFrame, Work, FORMAT, FRAME_RECORD_BYTES, MAX_FRAME_T_S,
};
pub use snapshot::CatalogueSnapshot;
pub use writer::Catalogue;

/// Why a catalogue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// File system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A catalogue file is damaged or of an unknown format.
    #[error("{}: catalogue is damaged: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The tantivy index failed (including: another process holds the writer lock).
    #[error("index: {0}")]
    Tantivy(String),
    /// A write on a catalogue opened read-only.
    #[error("catalogue is open read-only")]
    ReadOnly,
    /// No such work.
    #[error("no work with id {0}")]
    UnknownWork(String),
    /// No such episode.
    #[error("work {work} has no episode {number}")]
    UnknownEpisode {
        /// The work.
        work: String,
        /// The episode number.
        number: u32,
    },
    /// An episode with too few frames to ever be matched.
    #[error("episode {number} ({file}) has no usable frames")]
    EmptyEpisode {
        /// The episode number.
        number: u32,
        /// Where it came from.
        file: String,
    },
    /// An episode whose frames carry impossible times (NaN, infinite, beyond
    /// [`catalogue::MAX_FRAME_T_S`]): refused rather than stored.
    #[error("episode {number} ({file}): {reason}")]
    BadFrames {
        /// The episode number.
        number: u32,
        /// Where it came from.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// An episode to register.
#[derive(Debug, Clone)]
pub struct NewEpisode {
    /// Where it was registered from (a path or an upload name).
    pub file: String,
    /// Seconds.
    pub duration_s: f64,
    /// Frames in time order.
    pub frames: Vec<StoredFrame>,
    /// Audio sub-fingerprints in time order (`reelguard_audio::AudioHk`); empty when the
    /// file has no sound.
    pub audio: Vec<StoredAudio>,
}

/// A new work.
#[derive(Debug, Clone, Default)]
pub struct NewWork {
    /// Title.
    pub title: String,
    /// Rights holder.
    pub owner: Option<String>,
    /// The owner's reference.
    pub external_id: Option<String>,
}

/// Tuning of candidate retrieval and matching.
#[derive(Debug, Clone)]
pub struct MatchParams {
    /// Alignment tuning.
    pub align: Params,
    /// Candidates aligned at least (more for long suspects, see `candidates_per_minute`).
    pub min_candidates: usize,
    /// Extra candidates per minute of suspect, so a compilation of many episodes finds them all.
    pub candidates_per_minute: f64,
    /// Least IDF-weighted vote total for an episode to be aligned at all.
    pub min_votes: f64,
    /// Candidates with fewer votes than this fraction of the best candidate's are not aligned:
    /// a suspect made of one episode gives that episode most votes and its neighbours crumbs.
    pub min_vote_fraction: f64,
    /// Band values present in more than this fraction of episodes are stop words.
    pub max_document_fraction: f64,
    /// A segment overlapping better-supported ones by more than this fraction of its length
    /// is dropped.
    pub max_overlap: f64,
    /// Every segment aligned gets its estimated false-match rate from this (with the number
    /// of alignments the suspect took as the trials), and is dropped above its limit, before
    /// claims compete: a likely-chance segment must not displace nor accompany a real one.
    pub calibration: Calibration,
    /// The mutual-best-match test every segment must pass before claims compete: its frames
    /// must be nearer their own moment of the episode than to the suspect's other candidates.
    pub distinct: Distinctness,
}

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams {
            align: Params::default(),
            min_candidates: 12,
            candidates_per_minute: 4.0,
            min_votes: 2.0,
            min_vote_fraction: 0.1,
            max_document_fraction: 0.2,
            max_overlap: 0.5,
            calibration: Calibration::default(),
            distinct: Distinctness::default(),
        }
    }
}

/// A registered episode found in a suspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Work id.
    pub work_id: String,
    /// Work title.
    pub title: String,
    /// Rights holder.
    pub owner: Option<String>,
    /// Episode number.
    pub episode: u32,
    /// Catalogue episode id.
    pub episode_id: u64,
    /// Best segment score, 0–1.
    pub score: f64,
    /// Matched stretches, in suspect order.
    pub segments: Vec<Segment>,
    /// Labels for reviewers: `redubbed` when the picture matches and the sound, present on
    /// both sides, does not (see `reelguard_pipeline::audio`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Why a suspect got the candidates it got: for reports and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindStats {
    /// Band terms looked up (distinct).
    pub terms: usize,
    /// Episodes that received any vote.
    pub voted: usize,
    /// Episodes aligned.
    pub aligned: usize,
}
