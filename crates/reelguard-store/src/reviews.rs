//! Review decisions and the takedown notices they issue — the records and the trait a store
//! implements for them.
//!
//! The decision that shapes this module: a decision, the match's new state, its notice and the
//! notice's webhook delivery are written in one transaction, so a confirmed match always has
//! its notice and its announcement, and a failed decision leaves nothing behind.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;
use crate::jobs::Source;
use crate::matches::MatchRow;
use crate::matches::MatchState;
use crate::members::Caller;

/// A reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The suspect infringes: issue a notice.
    Confirm,
    /// It does not.
    Reject,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// Id.
    pub id: i64,
    /// The match.
    pub match_id: i64,
    /// The reviewer's member.
    pub reviewer_member_id: i64,
    /// The reviewer's member name.
    pub reviewer: String,
    /// The resulting state.
    pub decision: MatchState,
    /// Why.
    pub reason: String,
    /// Unix seconds.
    pub decided_at: i64,
}

/// A takedown notice record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Id.
    pub id: i64,
    /// The confirmed match.
    pub match_id: i64,
    /// The rights holder.
    pub member_id: i64,
    /// The notice document.
    pub body: Value,
    /// Unix seconds.
    pub created_at: i64,
}

/// The review workload at one moment, for the operator's metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewCounts {
    /// Pending matches by age: one count per bound of [`BACKLOG_AGE_BOUNDS`] (created less
    /// than that many seconds ago, and not in an earlier bucket), then one for the older.
    pub pending_by_age: Vec<u64>,
    /// The age in seconds of the oldest pending match (0 when none is pending).
    pub oldest_pending_s: i64,
    /// Decisions recorded, by verdict (`confirmed`, `rejected`).
    pub decisions: Vec<(String, u64)>,
    /// Notices issued.
    pub notices: u64,
    /// Notice webhook deliveries by state (`pending`, `delivered`, `failed`).
    pub deliveries: Vec<(String, u64)>,
}

/// The upper bounds (seconds) of the review backlog's age buckets: an hour, a day, a week.
pub const BACKLOG_AGE_BOUNDS: [i64; 3] = [3600, 86_400, 7 * 86_400];

/// The most sources a decision's notice names: the newest this many of the suspect's. A file
/// found at ten thousand addresses would otherwise make a notice (and its webhook and bundle)
/// of megabytes inside the decision's transaction; the sources it leaves out stay sightings,
/// which the workbench notices from the decision in further notices.
pub const NOTICE_SOURCES: usize = 500;

/// The sources a decision's notice names: the newest [`NOTICE_SOURCES`] and how many the
/// suspect has in all.
#[derive(Debug, Clone, Copy)]
pub struct Cited<'a> {
    /// Oldest first.
    pub sources: &'a [Source],
    /// All the suspect's sources, named here or not.
    pub total: u64,
}

/// Composes a notice's body from the match, the sources it names and the decision, inside the
/// decision's transaction. A `&dyn Fn` (not a generic) keeps [`Reviews`] object-safe.
pub type NoticeComposer<'a> = &'a dyn Fn(&MatchRow, Cited<'_>, &Decision) -> Value;

/// Decisions and notices.
pub trait Reviews {
    /// Decides a pending match. Confirming it also writes the takedown notice that `notice`
    /// composes from the match, its newest [`NOTICE_SOURCES`] sources (which it records as
    /// cited) and the decision, and queues the notice's webhook
    /// delivery — all in one transaction. [`StoreError::Conflict`] if the match was already
    /// decided.
    fn decide(
        &self,
        match_id: i64,
        reviewer: &Caller,
        verdict: Verdict,
        reason: &str,
        notice: NoticeComposer<'_>,
    ) -> Result<(Decision, Option<Notice>), StoreError>;

    /// The decisions on a match, oldest first.
    fn decisions(&self, match_id: i64) -> Result<Vec<Decision>, StoreError> {
        Ok(self
            .decisions_of(&[match_id])?
            .remove(&match_id)
            .unwrap_or_default())
    }

    /// The decisions on each of these matches, oldest first, in one query (a listing's
    /// matches, without a query per match). Matches without decisions are absent.
    fn decisions_of(&self, match_ids: &[i64]) -> Result<HashMap<i64, Vec<Decision>>, StoreError>;

    /// A notice by id.
    fn notice(&self, notice_id: i64) -> Result<Option<Notice>, StoreError>;

    /// Notices for these members (`None`: all), newest first.
    fn notices(
        &self,
        owners: Option<&[i64]>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Notice>, StoreError>;

    /// The notice a match was confirmed into (its first; re-posts add more), if confirmed.
    fn notice_for_match(&self, match_id: i64) -> Result<Option<Notice>, StoreError>;

    /// Pending matches by age as of `now` (Unix seconds), decisions, notices and their
    /// deliveries: counted by the store at scrape time, so exact across restarts.
    fn review_counts(&self, now: i64) -> Result<ReviewCounts, StoreError>;
}
