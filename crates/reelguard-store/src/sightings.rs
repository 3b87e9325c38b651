//! Every copy followed: a confirmed match stays open for new sightings of its content (the
//! same file submitted again from another platform or URL), each of which a reviewer can turn
//! into a notice of its own in one step, from the decision already taken — the records and the
//! trait a store implements for them.
//!
//! The decision that shapes this module: a notice names the sightings it covers
//! (`notice_sources`), so "not yet noticed" is a fact the store answers, not a guess from
//! dates; a sighting becomes a notice in one transaction that re-checks the match is confirmed
//! and the sighting still unnoticed, so two reviewers clicking at once make one notice, and a
//! crawler's "URL gone" moves only the notices that name that URL.

use serde::Serialize;
use serde_json::Value;

use crate::error::StoreError;
use crate::jobs::Source;
use crate::reviews::Notice;

/// A submission of confirmed content that no notice of the match names yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sighting {
    /// The confirmed match whose content was seen again.
    pub match_id: i64,
    /// Its rights holder.
    pub member_id: i64,
    /// The catalogue work.
    pub work_id: String,
    /// The work's title.
    pub title: String,
    /// The episode.
    pub episode: u32,
    /// The notice the match was confirmed into (the decision a new notice reuses).
    pub notice_id: i64,
    /// Where the copy was seen this time.
    pub source: Source,
}

/// Composes a re-post notice's body from the match's first notice and the new sighting,
/// inside the store's transaction (a `&dyn Fn` keeps [`Sightings`] object-safe).
pub type RepostComposer<'a> = &'a dyn Fn(&Notice, &Source) -> Value;

/// Sightings of confirmed content and the notices that name them.
pub trait Sightings {
    /// Unnoticed sightings of these members' confirmed matches (`None`: all), newest first;
    /// with `source`, only that submission's (one per confirmed match of its suspect).
    fn sightings(
        &self,
        owners: Option<&[i64]>,
        source: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Sighting>, StoreError>;

    /// Every notice issued on a match, oldest (the decision's own) first.
    fn notices_for_match(&self, match_id: i64) -> Result<Vec<Notice>, StoreError>;

    /// For each source of a match's suspect that a notice of the match names, that notice's
    /// id: `(source_id, notice_id)`, by source.
    fn cited_sources(&self, match_id: i64) -> Result<Vec<(i64, i64)>, StoreError>;

    /// Makes a draft notice on confirmed match `match_id` naming source `source_id` (a sighting
    /// of its suspect), composed from the match's first notice, with its draft event (`actor`,
    /// `at`) and the members' webhook delivery, in one transaction. [`StoreError::Conflict`]
    /// if the match is not confirmed or a notice of it already names the source;
    /// [`StoreError::NotFound`] if the source is not a sighting of the match's suspect.
    fn notice_sighting(
        &self,
        match_id: i64,
        source_id: i64,
        actor: &str,
        at: i64,
        compose: RepostComposer<'_>,
    ) -> Result<Notice, StoreError>;
}
