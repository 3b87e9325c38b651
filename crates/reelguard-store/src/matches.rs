//! Matches and the queries over them: what a scan found, the filtered and ordered lists the
//! API and the review queue show, and the per-work counts the workbench summarises.
//!
//! The decision that shapes this module: a match is unique per (suspect, episode), so a job run
//! twice (after a crash, or a lease taken over) can never record it twice.

use reelguard_model::{ContentBox, Segment, SignalName};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

text_enum!(
    /// Where a match is in review.
    MatchState {
        /// Waiting for a reviewer.
        PendingReview = "pending_review",
        /// A reviewer confirmed it: a notice exists.
        Confirmed = "confirmed",
        /// A reviewer rejected it.
        Rejected = "rejected",
    }
);

/// A match to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMatch {
    /// Catalogue work id.
    pub work_id: String,
    /// Episode number.
    pub episode: u32,
    /// Catalogue episode id.
    pub episode_id: u64,
    /// 0–1.
    pub score: f64,
    /// The matched stretches, at full precision (rounding is for the edges that print them).
    /// The match's signal names are taken from them.
    pub segments: Vec<Segment>,
    /// What the pirate did, e.g. `["mirror", "excerpt"]`.
    pub transformation: Vec<String>,
    /// Where the picture sat in the suspect's frame, when known.
    pub content_box: Option<ContentBox>,
}

/// A match as stored, with what a reader needs around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchRow {
    /// Id.
    pub id: i64,
    /// The suspect.
    pub suspect_id: i64,
    /// The suspect's content hash.
    pub suspect_sha256: String,
    /// The job that found it.
    pub job_id: i64,
    /// Catalogue work id.
    pub work_id: String,
    /// Work title.
    pub title: String,
    /// The work's owner.
    pub member_id: i64,
    /// The owner's name.
    pub member: String,
    /// Episode number.
    pub episode: u32,
    /// Catalogue episode id.
    pub episode_id: u64,
    /// 0–1.
    pub score: f64,
    /// The matched stretches. Matches recorded before schema version 4 kept only each
    /// stretch's rounded times, speed, mirror flag and score: their `matched_frames`,
    /// `mean_distance`, `coverage` and `evidence` read as 0 (`matched_frames == 0` marks them,
    /// since a real stretch has at least one matched frame).
    pub segments: Vec<Segment>,
    /// The signal types whose fingerprints found it, each once, in the order its segments
    /// name them (matches recorded before signals had names: `video_phash`).
    pub signals: Vec<SignalName>,
    /// What the pirate did.
    pub transformation: Vec<String>,
    /// Where the picture sat in the suspect's frame, when known.
    pub content_box: Option<ContentBox>,
    /// When the work goes on sale (Unix seconds), if the member said.
    pub released_at: Option<i64>,
    /// Review state.
    pub state: MatchState,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub decided_at: Option<i64>,
}

/// Which matches to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchFilter {
    /// Only in this review state.
    pub state: Option<MatchState>,
    /// Only against works of these members (`None`: all members).
    pub owners: Option<Vec<i64>>,
    /// Only suspects seen on this platform.
    pub platform: Option<String>,
    /// Only matches found at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only this suspect's.
    pub suspect_id: Option<i64>,
    /// Only against this work.
    pub work_id: Option<String>,
    /// Only scoring at least this.
    pub min_score: Option<f64>,
    /// Only matches older than this id (the page after a cursor; meaningful for
    /// [`MatchOrder::Newest`] only).
    pub before_id: Option<i64>,
    /// In which order.
    pub order: MatchOrder,
    /// Most rows.
    pub limit: u32,
}

/// The order of a match list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatchOrder {
    /// Newest match first.
    #[default]
    Newest,
    /// The review queue's order: the most recently released drama first (its revenue is at
    /// stake now), then the highest score, then the newest match.
    Triage,
}

/// The distinct signal names of these segments, in first-seen order: what a match row's
/// `signals` holds.
pub fn signals_of(segments: &[Segment]) -> Vec<SignalName> {
    let mut names = Vec::new();
    for segment in segments {
        if !names.contains(&segment.signal) {
            names.push(segment.signal);
        }
    }
    names
}

/// Matches against one work found on one day (UTC), by review state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfringementDay {
    /// The work.
    pub work_id: String,
    /// Its title.
    pub title: String,
    /// Unix seconds of the day's start (UTC).
    pub day: i64,
    /// Confirmed infringements.
    pub confirmed: u64,
    /// Still waiting for a reviewer.
    pub pending: u64,
}

/// Pending matches against one work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCount {
    /// The work.
    pub work_id: String,
    /// Its title.
    pub title: String,
    /// The owner's name.
    pub member: String,
    /// Matches waiting for a reviewer.
    pub pending: u64,
}

/// Reading matches (they are written by [`crate::Jobs::complete_job`] and decided through
/// [`crate::Reviews::decide`]).
pub trait Matches {
    /// A match by id.
    fn match_by_id(&self, match_id: i64) -> Result<Option<MatchRow>, StoreError>;

    /// Matches, in the filter's order.
    fn matches(&self, filter: &MatchFilter) -> Result<Vec<MatchRow>, StoreError>;

    /// Matches per work and day since `since` (Unix seconds), for works of these members
    /// (`None`: all), oldest day first.
    fn infringements_per_day(
        &self,
        owners: Option<&[i64]>,
        since: i64,
    ) -> Result<Vec<InfringementDay>, StoreError>;

    /// Pending matches per work, for works of these members (`None`: all), most first.
    fn pending_per_work(&self, owners: Option<&[i64]>) -> Result<Vec<PendingCount>, StoreError>;
}
