//! Tenancy: whose matches, notices and jobs a caller may see. One rule for the API, the
//! workbench and evidence alike.
//!
//! - A **member** sees what concerns its own works.
//! - A **reviewer** sees the members in its review scope: those an admin assigned, all of
//!   them if an admin said so, and none before an admin said anything.
//! - **Admins and crawlers** see no matches or notices (admins see jobs; see [`jobs`](crate::jobs)).
//!
//! Anything outside the scope is "not found", never "forbidden": a caller cannot learn that
//! another member's match exists.

use reelguard_store::{Caller, Role};

use crate::error::AppError;
use crate::Service;

/// The members whose matches and notices a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readable {
    /// `None`: every member; otherwise these member ids (possibly none).
    owners: Option<Vec<i64>>,
}

impl Readable {
    /// Every member (a reviewer an admin let review all).
    pub fn everyone() -> Readable {
        Readable { owners: None }
    }

    /// Exactly these members.
    pub fn only(owners: Vec<i64>) -> Readable {
        Readable {
            owners: Some(owners),
        }
    }

    /// Whether the caller may read what belongs to this member.
    pub fn can_read(&self, member_id: i64) -> bool {
        self.owners.as_ref().is_none_or(|o| o.contains(&member_id))
    }

    /// The owners, as the store's filters take them (`None`: all).
    pub fn owners(&self) -> Option<&[i64]> {
        self.owners.as_deref()
    }

    /// Narrowed to one member, as a `member` filter asks: a member outside the scope (or
    /// unknown, `None`) leaves nothing readable, never more than before.
    pub fn narrowed_to(self, member_id: Option<i64>) -> Readable {
        match member_id {
            Some(id) if self.can_read(id) => Readable::only(vec![id]),
            _ => Readable::only(Vec::new()),
        }
    }
}

/// What the caller may read.
pub async fn readable(service: &Service, caller: &Caller) -> Result<Readable, AppError> {
    match caller.role {
        Role::Member => Ok(Readable::only(vec![caller.member_id])),
        Role::Reviewer => {
            let id = caller.member_id;
            let scope = service.db(move |s| s.review_scope(id)).await?;
            Ok(Readable { owners: scope })
        }
        Role::Admin | Role::Crawler => Ok(Readable::only(Vec::new())),
    }
}

/// What the caller may read, narrowed by an optional member name (the `member` filter of the
/// match list and the queue page).
pub async fn readable_filtered(
    service: &Service,
    caller: &Caller,
    member: Option<String>,
) -> Result<Readable, AppError> {
    let readable = readable(service, caller).await?;
    match member {
        None => Ok(readable),
        Some(name) => {
            let member = service.db(move |s| s.member_by_name(&name)).await?;
            Ok(readable.narrowed_to(member.map(|m| m.id)))
        }
    }
}

/// Refuses a caller whose role is not among `roles`.
pub fn require(caller: &Caller, roles: &[Role]) -> Result<(), AppError> {
    if roles.contains(&caller.role) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_filter_never_widens_what_is_readable() {
        let scoped = Readable::only(vec![1, 2]);
        assert_eq!(scoped.clone().narrowed_to(Some(2)), Readable::only(vec![2]));
        assert_eq!(scoped.clone().narrowed_to(Some(3)), Readable::only(vec![]));
        assert_eq!(scoped.narrowed_to(None), Readable::only(vec![]));
        assert_eq!(
            Readable::everyone().narrowed_to(Some(7)),
            Readable::only(vec![7])
        );
        assert!(Readable::everyone().can_read(99));
        assert!(!Readable::only(vec![]).can_read(1));
    }
}
