//! Who owns which catalogue work: the store's side of a work (the frames and the index live in
//! `reelguard_index::Catalogue`).
//!
//! The decision that shapes this module: the store keeps only ownership, title and dates, keyed
//! by the catalogue's work id, so the review queue and tenancy never need the catalogue open.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A work's ownership record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRow {
    /// Catalogue work id.
    pub work_id: String,
    /// Owner.
    pub member_id: i64,
    /// Title.
    pub title: String,
    /// The owner's reference.
    pub external_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub withdrawn_at: Option<i64>,
    /// When the drama goes (or went) on sale, Unix seconds: the review queue puts the newest
    /// releases first, since a drama earns most of its money in its first days.
    pub released_at: Option<i64>,
}

/// Works' ownership records.
pub trait Works {
    /// Records that a member owns a catalogue work.
    fn insert_work(
        &self,
        work_id: &str,
        member_id: i64,
        title: &str,
        external_id: Option<&str>,
        released_at: Option<i64>,
    ) -> Result<WorkRow, StoreError>;

    /// A work's ownership record.
    fn work(&self, work_id: &str) -> Result<Option<WorkRow>, StoreError>;

    /// A member's works, oldest first.
    fn works_of(&self, member_id: i64) -> Result<Vec<WorkRow>, StoreError>;

    /// Marks a work withdrawn (the catalogue is told separately).
    fn mark_work_withdrawn(&self, work_id: &str) -> Result<(), StoreError>;
}
