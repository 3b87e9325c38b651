//! Who holds keys: members, their API keys, reviewers' scopes and the workbench's browser
//! sessions — the records and the traits a store implements for them.
//!
//! The decision that shapes this module: a key is stored only as its SHA-256 and a session
//! stands for the key it was opened with, so revoking a key ends everything it opened.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

text_enum!(
    /// What a key may do.
    Role {
        /// Manages members and keys.
        Admin = "admin",
        /// A rights holder: owns works, sees matches against them.
        Member = "member",
        /// Submits suspects, reads the status of its own submissions.
        Crawler = "crawler",
        /// Reviews matches across members (or those in its scope) and decides them.
        Reviewer = "reviewer",
    }
);

/// A rights holder, crawler operator, review team or administrator: whoever holds keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An API key as listed (the key itself is never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// Id.
    pub id: i64,
    /// Owning member.
    pub member_id: i64,
    /// Owning member's name.
    pub member: String,
    /// What it may do.
    pub role: Role,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; a revoked key authenticates nothing.
    pub revoked_at: Option<i64>,
}

/// Who is calling: the result of authenticating a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Caller {
    /// The key's id.
    pub key_id: i64,
    /// The key's member.
    pub member_id: i64,
    /// The member's name.
    pub member: String,
    /// The key's role.
    pub role: Role,
    /// The interface language chosen for this key (`None`: the deployment's default).
    #[serde(default)]
    pub language: Option<String>,
}

/// An open browser session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Id.
    pub id: i64,
    /// Who it stands for.
    pub caller: Caller,
    /// The token every form of this session must carry back.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Members and reviewers' scopes.
pub trait Members {
    /// Creates a member; [`StoreError::Conflict`] if the name is taken.
    fn create_member(&self, name: &str) -> Result<Member, StoreError>;

    /// A member by name.
    fn member_by_name(&self, name: &str) -> Result<Option<Member>, StoreError>;

    /// Every member, by id.
    fn members(&self) -> Result<Vec<Member>, StoreError>;

    /// The member of this name, created if missing.
    fn ensure_member(&self, name: &str) -> Result<Member, StoreError> {
        match self.member_by_name(name)? {
            Some(member) => Ok(member),
            // Another writer may create it between the look-up and the insert.
            None => match self.create_member(name) {
                Err(StoreError::Conflict(_)) => self
                    .member_by_name(name)?
                    .ok_or_else(|| StoreError::NotFound(format!("member {name:?}"))),
                other => other,
            },
        }
    }

    /// Limits a reviewer member to the matches of these members (empty: none at all).
    fn set_review_scope(&self, reviewer_member_id: i64, members: &[i64]) -> Result<(), StoreError>;

    /// Lets a reviewer member review every member's matches.
    fn set_review_scope_all(&self, reviewer_member_id: i64) -> Result<(), StoreError>;

    /// The members a reviewer member may review; `None` means all. A member no admin has
    /// assigned a scope reviews none (`Some(vec![])`).
    fn review_scope(&self, reviewer_member_id: i64) -> Result<Option<Vec<i64>>, StoreError>;
}

/// API keys.
pub trait Keys {
    /// Makes a new random key for a member. Returns its record and the key itself, which is
    /// stored only as a SHA-256 hash and cannot be shown again.
    fn create_key(&self, member_id: i64, role: Role) -> Result<(KeyInfo, String), StoreError>;

    /// Every key (never the keys themselves), by id.
    fn keys(&self) -> Result<Vec<KeyInfo>, StoreError>;

    /// Sets (or, with `None`, clears) the interface language of a key; its callers and
    /// sessions carry it from the next request on.
    fn set_key_language(&self, key_id: i64, language: Option<&str>) -> Result<(), StoreError>;

    /// Revokes a key: from now on it authenticates nothing.
    fn revoke_key(&self, key_id: i64) -> Result<(), StoreError>;

    /// Who holds this key, if it is a valid, unrevoked key.
    fn authenticate(&self, key: &str) -> Result<Option<Caller>, StoreError>;
}

/// The workbench's browser sessions. A session is opened with an API key and stands for it:
/// the caller it resolves to is read through the key on every request, so revoking the key (or
/// the session expiring) ends it. Only the session token's SHA-256 is stored; the CSRF token is
/// a second secret bound to the session, shown only inside the pages it serves.
pub trait Sessions {
    /// Opens a session for an API key; returns it and its token (to be set as a cookie; it is
    /// never stored).
    fn open_session(
        &self,
        caller: &Caller,
        lifetime_secs: i64,
    ) -> Result<(Session, String), StoreError>;

    /// The live session a token opens: unexpired, and its key not revoked.
    fn session(&self, token: &str) -> Result<Option<Session>, StoreError>;

    /// Ends a session (logging out). Unknown tokens are ignored.
    fn close_session(&self, token: &str) -> Result<(), StoreError>;
}
