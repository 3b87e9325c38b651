//! From a confirmed match to a takedown: each work's proof of rights and the agent's
//! authorisation, reviewers' per-segment verdicts, a notice's tracked state (draft, sent,
//! acknowledged, removed, counter-noticed, restored, escalated) with its dated events, the
//! public evidence link, and the figures a member sees (time from first sighting to removal)
//! — the records and the trait a store implements for them.
//!
//! The decision that shapes this module: a notice's state changes only by a compare-and-set
//! from the states the rule allows, written with its event in one transaction, so two reviewers
//! (or a reviewer and a crawler's "URL gone") can never both move the same notice, and every
//! state it was ever in is in `notice_events` with its date and reason.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;
use crate::reviews::Notice;

text_enum!(
    /// Where a takedown notice stands.
    NoticeState {
        /// Written at confirmation; not yet sent to the platform.
        Draft = "draft",
        /// Sent to the platform.
        Sent = "sent",
        /// The platform acknowledged it.
        Acknowledged = "acknowledged",
        /// The infringing content is gone.
        Removed = "removed",
        /// The uploader counter-noticed (Article 16 of the regulations).
        CounterNoticed = "counter_noticed",
        /// The platform restored the content after a counter-notice.
        Restored = "restored",
        /// Taken further (a complaint, a regulator, a court).
        Escalated = "escalated",
    }
);

text_enum!(
    /// A reviewer's verdict on one segment of a match.
    SegmentVerdict {
        /// The segment is the member's footage.
        Accepted = "accepted",
        /// A false segment: it leaves the notice and its stills.
        Rejected = "rejected",
    }
);

/// A work's proof of rights: its copyright registration and the certificate file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkRights {
    /// The registration number (e.g. 国作登字-2026-I-00000001).
    pub registration_number: String,
    /// The certificate file's SHA-256 (the file is kept under `<data>/legal/`).
    pub certificate_sha256: String,
    /// The certificate's file name as uploaded.
    pub certificate_name: String,
    /// Unix seconds.
    pub recorded_at: i64,
}

/// The rights holder's authorisation of the agent that sends notices on its behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Authorisation {
    /// What it authorises (e.g. 信息网络传播权维权, 发送删除通知).
    pub scope: String,
    /// First valid day, Unix seconds.
    pub valid_from: i64,
    /// Last valid moment, Unix seconds.
    pub valid_until: i64,
    /// The signed authorisation's SHA-256 (kept under `<data>/legal/`).
    pub file_sha256: String,
    /// Its file name as uploaded.
    pub file_name: String,
    /// Unix seconds.
    pub recorded_at: i64,
}

/// One dated change of a notice's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeEvent {
    /// The state it entered.
    pub state: NoticeState,
    /// Why, as the actor said (a counter-notice's reasons, a crawler's observation).
    pub reason: String,
    /// Who: `member/role` of the key, or `crawler:…`.
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
}

/// A notice's state and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tracking {
    /// The current state.
    pub state: NoticeState,
    /// Every change, oldest first (the first is the draft's creation, when known).
    pub events: Vec<NoticeEvent>,
}

/// A state change to make: from one of `from` to `to`, with its event, and (for sending) the
/// notice's final body.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    /// The states the notice may be in.
    pub from: &'a [NoticeState],
    /// The state it enters.
    pub to: NoticeState,
    /// Why.
    pub reason: &'a str,
    /// Who.
    pub actor: &'a str,
    /// Unix seconds.
    pub at: i64,
    /// Replaces the notice's body (a draft is completed as it is sent; a sent notice is never
    /// rewritten).
    pub body: Option<&'a Value>,
}

/// One removal, for the time-to-removal figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Removal {
    /// The notice.
    pub notice_id: i64,
    /// The rights holder.
    pub member_id: i64,
    /// The platform the copy was on (`None`: not reported).
    pub platform: Option<String>,
    /// The first time the copy was seen there (the crawler's `found_at`, else its submission).
    pub first_seen: i64,
    /// When the notice entered `removed` (the first time).
    pub removed_at: i64,
}

/// Work rights, authorisations, segment verdicts, notice tracking and public links.
pub trait Takedowns {
    /// Records (replacing) a work's proof of rights.
    fn set_work_rights(&self, work_id: &str, rights: &WorkRights) -> Result<(), StoreError>;

    /// A work's proof of rights, if recorded.
    fn work_rights(&self, work_id: &str) -> Result<Option<WorkRights>, StoreError>;

    /// Records (replacing) the agent's authorisation for a work.
    fn set_authorisation(&self, work_id: &str, auth: &Authorisation) -> Result<(), StoreError>;

    /// The agent's authorisation for a work, if recorded.
    fn authorisation(&self, work_id: &str) -> Result<Option<Authorisation>, StoreError>;

    /// Records a reviewer's verdict on segment `segment` (its index in the match) of a match
    /// still pending review; [`StoreError::Conflict`] if the match was decided.
    fn set_segment_verdict(
        &self,
        match_id: i64,
        segment: usize,
        verdict: SegmentVerdict,
        key_id: i64,
    ) -> Result<(), StoreError>;

    /// The indices of a match's rejected segments, ascending.
    fn rejected_segments(&self, match_id: i64) -> Result<Vec<usize>, StoreError>;

    /// A notice's state and events; [`StoreError::NotFound`] if there is no such notice.
    fn tracking(&self, notice_id: i64) -> Result<Tracking, StoreError>;

    /// Moves a notice by compare-and-set; [`StoreError::Conflict`] if it is not in one of
    /// `from` (naming the state it is in).
    fn transition(&self, notice_id: i64, change: &Transition<'_>) -> Result<Tracking, StoreError>;

    /// The notice's public evidence token, made (random, 256 bits) on first call.
    fn public_token(&self, notice_id: i64) -> Result<String, StoreError>;

    /// The notice a public token opens, if any.
    fn notice_by_token(&self, token: &str) -> Result<Option<Notice>, StoreError>;

    /// The notices naming a URL (among the sightings each names), with their states.
    fn notices_citing(&self, url: &str) -> Result<Vec<(i64, NoticeState)>, StoreError>;

    /// Every removal of these members' notices (`None`: all), one per (notice, platform).
    fn removals(&self, owners: Option<&[i64]>) -> Result<Vec<Removal>, StoreError>;
}
