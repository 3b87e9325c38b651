//! The umbrella trait: everything the daemon asks of its store, as one object-safe interface.
//!
//! The decision that shapes it: callers hold an `Arc<dyn Store>` and never name an engine, so
//! the SQLite store ([`crate::SqliteStore`]) and a PostgreSQL one are interchangeable. Every
//! method takes `&self` and implementations are `Send + Sync`: concurrency (one writer, many
//! readers, or a server's own pool) is the implementation's business, not a caller's mutex.

use crate::audit::Audit;
use crate::error::StoreError;
use crate::jobs::{Jobs, Suspects};
use crate::legal::LegalProfiles;
use crate::matches::Matches;
use crate::members::{Keys, Members, Sessions};
use crate::reviews::Reviews;
use crate::sightings::Sightings;
use crate::takedown::Takedowns;
use crate::webhooks::Webhooks;
use crate::works::Works;

/// A complete store.
pub trait Store:
    Members
    + Keys
    + Sessions
    + Works
    + Suspects
    + Jobs
    + Matches
    + Reviews
    + Audit
    + Webhooks
    + LegalProfiles
    + Takedowns
    + Sightings
    + Send
    + Sync
{
    /// The schema version in force.
    fn schema_version(&self) -> Result<i64, StoreError>;

    /// A cheap query proving the database answers.
    fn ping(&self) -> Result<(), StoreError>;
}
