//! The store: everything the daemon must remember that is not the catalogue itself — members
//! and their API keys, who owns which work, suspects and where they were seen, the durable job
//! queue, matches, review decisions, takedown notices, members' webhooks and their delivery
//! outbox, and the append-only audit log.
//!
//! The decision that shapes this crate: **one relational schema that runs embedded today and on
//! PostgreSQL tomorrow, behind object-safe traits.** Callers see only the traits ([`Store`] and
//! the per-concern traits it gathers: [`Members`], [`Keys`], [`Sessions`], [`Works`],
//! [`Suspects`], [`Jobs`], [`Matches`], [`Reviews`], [`Audit`], [`Webhooks`],
//! [`LegalProfiles`], [`Takedowns`], [`Sightings`]) and the records
//! in their modules. The embedded implementation, [`SqliteStore`], is SQLite (the system
//! library, WAL, `synchronous=FULL`) in the data directory, written in portable SQL — integer
//! Unix-second timestamps, `TEXT` JSON, numbered placeholders, `ON CONFLICT DO NOTHING`,
//! `RETURNING` — with every SQLite-specific bit in [`dialect`]. The job queue lives in the same
//! database as the matches it produces, so "a job finished" and "its matches exist" commit in
//! one transaction: a crash can never leave one without the other, and a re-run job can never
//! duplicate a match (`UNIQUE (suspect_id, episode_id)`).
//!
//! The store is synchronous; the server calls it from blocking threads. It is `Send + Sync`
//! with `&self` methods: [`SqliteStore`] has one writer connection behind its own lock (only
//! writes wait for each other) and a small pool of read-only connections, so key look-ups and
//! listings never queue behind a write. Frame hashes and the band index stay in
//! `reelguard_index::Catalogue`; the store maps a catalogue work id to the member that owns it.
//!
//! Module layering (no module imports one above it): [`error`] and `util` at the bottom; the
//! record-and-trait modules [`members`], [`legal`], [`works`], [`matches`], [`jobs`], [`reviews`],
//! [`audit`], [`webhooks`], [`takedown`], [`sightings`] and the umbrella `store` above them;
//! `migrations` (the schema's portable SQL) beside them; `sqlite` and [`postgres`] (the
//! implementations) on top. [`postgres`] implements the job queue so far (issue 13).
#![deny(missing_docs)]

/// A closed set of values stored (and serialised) as text: the enum, its spelling both ways,
/// `ALL` and its schema in the API document. Defined before the modules so that every one of them can use it.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and JSON) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        // The API document's schema: a string, one of the stored spellings.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::StoreError;
            fn from_str(s: &str) -> Result<Self, $crate::error::StoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::error::StoreError::Invalid(format!(
                        "unknown {} {other:?}", stringify!($name).to_lowercase()
                    ))),
                }
            }
        }
    };
}

pub mod audit;
pub mod error;
pub mod jobs;
pub mod legal;
pub mod matches;
pub mod members;
mod migrations;
pub mod postgres;
pub mod reviews;
pub mod sightings;
mod sqlite;
mod store;
pub mod takedown;
mod util;
pub mod webhooks;
pub mod works;

pub use audit::{Audit, AuditEntry, AuditRecord};
pub use error::StoreError;
pub use jobs::{
    new_lease_owner, IdempotencyKey, Job, JobCount, JobFilter, JobKind, JobState, Jobs, Lease,
    NewFile, QueueLimits, Source, SourceMeta, Submission, Suspects,
};
pub use legal::{LegalProfile, LegalProfiles};
pub use matches::{
    InfringementDay, MatchFilter, MatchOrder, MatchRow, MatchState, Matches, NewMatch, PendingCount,
};
pub use members::{Caller, KeyInfo, Keys, Member, Members, Role, Session, Sessions};
pub use reviews::{
    Cited, Decision, Notice, NoticeComposer, ReviewCounts, Reviews, Verdict, BACKLOG_AGE_BOUNDS,
    NOTICE_SOURCES,
};
pub use sightings::{RepostComposer, Sighting, Sightings};
pub use sqlite::{dialect, schema, SqliteStore, StoreOptions, FILE_NAME};
pub use store::Store;
pub use takedown::{
    Authorisation, NoticeEvent, NoticeState, Removal, SegmentVerdict, Takedowns, Tracking,
    Transition, WorkRights,
};
pub use util::{hex, key_hash, now, random_token, secrets_equal};
pub use webhooks::Webhooks;
pub use works::{WorkRow, Works};

/// Every store trait, to call store methods on a `SqliteStore` or an `Arc<dyn Store>`
/// (`use reelguard_store::prelude::*;`).
pub mod prelude {
    pub use crate::{
        Audit, Jobs, Keys, LegalProfiles, Matches, Members, Reviews, Sessions, Sightings, Store,
        Suspects, Takedowns, Webhooks, Works,
    };
}
