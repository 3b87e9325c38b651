//! The CPU side of a job, behind a deliberately narrow boundary: **a file in, a fingerprint (or
//! a scan report) or a typed [`JobError`] out**. Nothing here knows about HTTP, the store or the
//! async runtime; the runner ([`crate::runner`]) calls these functions on the rayon pool.
//!
//! [`fingerprint`] is the only function that opens an untrusted file for registration, and
//! scanning goes through `reelguard_pipeline::scan_file` (the strategy the CLI shares). When
//! fingerprinting moves into sandboxed worker processes, this module is what changes: the API,
//! the store and the matcher keep calling the same functions.

use std::path::Path;

use reelguard_index::{Catalogue, CatalogueSnapshot, IndexError, Manifest, Match, Work};

use crate::catalogue::CatalogueHandle;
use reelguard_media::{Decoder, Fingerprint, MediaError, Options, Progress};
use reelguard_pipeline::{new_episode, scan_file_with, PipelineError, ScanOptions, ScanReport};

/// Why a job's CPU work failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The file cannot be fingerprinted (corrupt, not a video, too large...). Deterministic:
    /// retrying the same bytes gives the same answer.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The catalogue failed: possibly transient (disk full, lock), so worth a retry.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The work is gone (withdrawn or unknown).
    #[error("work {0} is withdrawn or unknown")]
    NoWork(String),
    /// The work panicked: a bug, most likely triggered by this file.
    #[error("processing panicked: {0}")]
    Panic(String),
}

impl From<PipelineError> for JobError {
    fn from(error: PipelineError) -> Self {
        match error {
            PipelineError::Media(e) => JobError::Media(e),
            PipelineError::Index(e) => JobError::Index(e),
        }
    }
}

impl JobError {
    /// A short stable identifier, stored as the job's `error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            JobError::Media(e) => e.kind(),
            JobError::Index(_) => "catalogue",
            JobError::NoWork(_) => "no_work",
            JobError::Panic(_) => "panic",
        }
    }

    /// The message stored with a failed job, which the submitter (a crawler, a member) reads
    /// from `GET /v1/jobs/{id}`: what went wrong with their file, without the server's own
    /// paths (a media error names the upload file it read; a catalogue error names its files;
    /// a panic message may say anything). The full [`Display`](std::fmt::Display) text goes
    /// to the daemon's log only.
    pub fn client_message(&self) -> String {
        match self {
            JobError::Media(e) => {
                let full = e.to_string();
                let prefix = format!("{}: ", e.path().display());
                match full.strip_prefix(&prefix) {
                    Some(rest) if !e.path().as_os_str().is_empty() => format!("the file: {rest}"),
                    _ => full,
                }
            }
            JobError::Index(_) => "the catalogue could not be updated or read".to_string(),
            JobError::NoWork(_) => self.to_string(),
            JobError::Panic(_) => "processing failed on an internal error".to_string(),
        }
    }

    /// Whether another attempt could succeed. A file's own faults (and panics it triggers)
    /// never are: a poisoned file fails its job at once.
    pub fn retryable(&self) -> bool {
        match self {
            JobError::Media(e) => e.retryable(),
            JobError::Index(_) => true,
            JobError::NoWork(_) | JobError::Panic(_) => false,
        }
    }
}

/// A matched episode with what is needed to describe the edit.
#[derive(Debug, Clone)]
pub struct Found {
    /// The catalogue's match.
    pub found: Match,
    /// The episode's registered duration.
    pub episode_duration_s: f64,
}

/// A scan's outcome.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The pipeline's report.
    pub report: ScanReport,
    /// The matches, with episode durations.
    pub found: Vec<Found>,
}

/// A registration's outcome.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The work after the registration.
    pub work: Work,
    /// The new episode's number.
    pub number: u32,
    /// Frames stored.
    pub frames: usize,
    /// Seconds of video.
    pub duration_s: f64,
    /// Wall-clock seconds spent fingerprinting.
    pub decode_seconds: f64,
}

/// File in, fingerprint or typed error out, decoded by `decoder` (the daemon's sandbox).
pub fn fingerprint(
    decoder: &dyn Decoder,
    path: &Path,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Fingerprint, JobError> {
    Ok(decoder.fingerprint(path, options, progress)?)
}

/// Scans a suspect file against one catalogue snapshot, held (without any lock) for the
/// whole scan: registrations committed meanwhile are not seen by this scan, and do not wait
/// for it.
pub fn scan(
    catalogue: &CatalogueSnapshot,
    decoder: &dyn Decoder,
    path: &Path,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Scanned, JobError> {
    let report = scan_file_with(catalogue, decoder, path, options, progress)?;
    let found = report
        .matches
        .iter()
        .map(|m| Found {
            found: m.clone(),
            episode_duration_s: catalogue
                .episode(m.episode_id)
                .map_or(0.0, |(_, e)| e.duration_s),
        })
        .collect();
    Ok(Scanned { report, found })
}

/// Fingerprints an episode file (no lock held), then adds it to a work (the writer held only
/// for the commit).
///
/// `source` names the episode in the catalogue and must be unique per job: it makes the
/// registration idempotent. If the process dies after the catalogue commit but before the
/// store records the job as done, the re-run finds its episode already there and returns it
/// instead of registering it twice.
pub fn register(
    catalogue: &CatalogueHandle,
    decoder: &dyn Decoder,
    path: &Path,
    work_id: &str,
    source: &str,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Registered, JobError> {
    let live = |m: &Manifest| m.work(work_id).is_some_and(|w| !w.withdrawn);
    let existing = |m: &Manifest| {
        m.work(work_id).and_then(|w| {
            w.episodes
                .iter()
                .find(|e| e.file == source)
                .map(|e| Registered {
                    work: w.clone(),
                    number: e.number,
                    frames: e.frame_count as usize,
                    duration_s: e.duration_s,
                    decode_seconds: 0.0,
                })
        })
    };
    {
        let snapshot = catalogue.snapshot();
        if let Some(done) = existing(snapshot.manifest()) {
            return Ok(done);
        }
        if !live(snapshot.manifest()) {
            return Err(JobError::NoWork(work_id.to_string()));
        }
    }
    let fp = fingerprint(decoder, path, options, progress)?;
    let episode = new_episode(source, &fp);
    let frames = episode.frames.len();
    let work = catalogue.write(|c: &mut Catalogue| {
        if !live(c.manifest()) {
            return Err(JobError::NoWork(work_id.to_string()));
        }
        Ok(c.add_episodes(work_id, vec![episode])?)
    })?;
    let number = work.episodes.iter().map(|e| e.number).max().unwrap_or(0);
    Ok(Registered {
        work,
        number,
        frames,
        duration_s: fp.duration_s,
        decode_seconds: fp.stats.seconds,
    })
}

/// The catalogue name of the episode a registration job adds: unique per job.
pub fn episode_source(job_id: i64, file_name: &str) -> String {
    format!("job{job_id}:{file_name}")
}

/// What the pirate did to the episode, from the match's segments: `mirror`, `speed`
/// (played faster or slower than 5%), `excerpt` (under 80% of the episode shown); and from
/// where the picture sat in the suspect's frame: `border`, `reframe`, `inset`; and the
/// matcher's own labels (`redubbed`: the picture matches and the sound does not).
pub fn transformation(found: &Found, content: Option<&reelguard_model::ContentBox>) -> Vec<String> {
    let segments = &found.found.segments;
    let mut tags = Vec::new();
    if segments.iter().any(|s| s.mirrored) {
        tags.push("mirror".to_string());
    }
    if segments.iter().any(|s| (s.speed - 1.0).abs() > 0.05) {
        tags.push("speed".to_string());
    }
    let shown: f64 = segments
        .iter()
        .map(|s| (s.ref_end_s - s.ref_start_s).max(0.0))
        .sum();
    if found.episode_duration_s > 0.0 && shown < 0.8 * found.episode_duration_s {
        tags.push("excerpt".to_string());
    }
    tags.extend(found.found.tags.iter().cloned());
    if let Some(content) = content {
        tags.extend(
            reelguard_pipeline::content_tags(content)
                .into_iter()
                .map(str::to_string),
        );
    }
    tags
}
