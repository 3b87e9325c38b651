//! The append-only audit log of state-changing requests — records and trait.
//!
//! The decision that shapes this module: the log is append-only in the database itself (a
//! trigger refuses updates and deletes), not merely by convention of the code that writes it.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A state-changing request, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The caller's member, when authenticated.
    pub member_id: Option<i64>,
    /// The caller's key, when authenticated.
    pub key_id: Option<i64>,
    /// Who, for people: `member-name/role`, `anonymous`, `cli:USER`.
    pub actor: String,
    /// What: e.g. `POST /v1/works`.
    pub action: String,
    /// On what: the request path, and ids it created.
    pub target: String,
    /// The HTTP status answered (0 for offline actions).
    pub status: u16,
    /// From where.
    pub remote_addr: Option<String>,
}

/// An audit log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Id (increasing).
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// The audit log.
pub trait Audit {
    /// Appends to the audit log.
    fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;

    /// The audit log after `after_id`, oldest first.
    fn audit_log(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
}
