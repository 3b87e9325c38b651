//! Members' legal profiles on SQLite (table `member_legal`, schema version 6).
//!
//! The decision that shapes it: a profile is one row, replaced whole (an upsert), so a PATCH
//! is read-modify-write in the service and the row never holds half of two edits.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row};

use super::rows::conflict;
use super::SqliteStore;
use crate::error::StoreError;
use crate::legal::{LegalProfile, LegalProfiles};
use crate::util::now;

fn profile_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<LegalProfile> {
    Ok(LegalProfile {
        registration_id: row.get(first)?,
        contact: row.get(first + 1)?,
        phone: row.get(first + 2)?,
        email: row.get(first + 3)?,
        address: row.get(first + 4)?,
    })
}

impl LegalProfiles for SqliteStore {
    fn set_legal_profile(&self, member_id: i64, profile: &LegalProfile) -> Result<(), StoreError> {
        profile.validate()?;
        self.write()
            .execute(
                "INSERT INTO member_legal \
                 (member_id, registration_id, contact, phone, email, address, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (member_id) DO UPDATE SET registration_id = excluded.registration_id, \
                 contact = excluded.contact, phone = excluded.phone, email = excluded.email, \
                 address = excluded.address, updated_at = excluded.updated_at",
                (
                    member_id,
                    &profile.registration_id,
                    &profile.contact,
                    &profile.phone,
                    &profile.email,
                    &profile.address,
                    now(),
                ),
            )
            .map_err(|e| match conflict(e, || format!("member {member_id}")) {
                // The only constraint an upsert can break is the member's foreign key.
                StoreError::Conflict(what) => StoreError::NotFound(what),
                other => other,
            })?;
        Ok(())
    }

    fn legal_profile(&self, member_id: i64) -> Result<LegalProfile, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT registration_id, contact, phone, email, address FROM member_legal \
                 WHERE member_id = ?1",
                [member_id],
                |row| profile_from_row(row, 0),
            )
            .optional()?
            .unwrap_or_default())
    }

    fn legal_profiles(&self) -> Result<HashMap<i64, LegalProfile>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT member_id, registration_id, contact, phone, email, address FROM member_legal",
        )?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, profile_from_row(row, 1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use crate::prelude::*;
    use crate::{LegalProfile, Role};

    #[test]
    fn a_profile_is_replaced_whole_and_read_back() {
        let (_dir, s) = store();
        let m = s.create_member("studio").expect("member");
        assert_eq!(
            s.legal_profile(m.id).expect("read"),
            LegalProfile::default()
        );
        let profile = LegalProfile {
            registration_id: Some("91110000MA01ABCD2X".into()),
            contact: Some("张三".into()),
            address: Some("北京市朝阳区".into()),
            ..LegalProfile::default()
        };
        s.set_legal_profile(m.id, &profile).expect("set");
        assert_eq!(s.legal_profile(m.id).expect("read"), profile);
        assert_eq!(profile.missing(), ["phone", "email"]);
        let all = s.legal_profiles().expect("all");
        assert_eq!(all.get(&m.id), Some(&profile));
        assert!(matches!(
            s.set_legal_profile(9999, &profile),
            Err(crate::StoreError::NotFound(_))
        ));
    }

    #[test]
    fn a_new_reviewer_member_reviews_nothing_until_assigned() {
        let (_dir, s) = store();
        let reviewer = s.create_member("review-team").expect("member");
        let studio = s.create_member("studio").expect("member");
        assert_eq!(s.review_scope(reviewer.id).expect("scope"), Some(vec![]));
        s.set_review_scope(reviewer.id, &[studio.id])
            .expect("scope");
        assert_eq!(
            s.review_scope(reviewer.id).expect("scope"),
            Some(vec![studio.id])
        );
        s.set_review_scope_all(reviewer.id).expect("all");
        assert_eq!(s.review_scope(reviewer.id).expect("scope"), None);
        s.set_review_scope(reviewer.id, &[]).expect("none");
        assert_eq!(s.review_scope(reviewer.id).expect("scope"), Some(vec![]));
    }

    #[test]
    fn a_key_carries_its_language_to_its_caller_and_sessions() {
        let (_dir, s) = store();
        let m = s.create_member("studio").expect("member");
        let (info, key) = s.create_key(m.id, Role::Reviewer).expect("key");
        let caller = s.authenticate(&key).expect("auth").expect("valid");
        assert_eq!(caller.language, None);
        s.set_key_language(info.id, Some("en")).expect("set");
        let caller = s.authenticate(&key).expect("auth").expect("valid");
        assert_eq!(caller.language.as_deref(), Some("en"));
        let (_, token) = s.open_session(&caller, 3600).expect("session");
        let session = s.session(&token).expect("lookup").expect("live");
        assert_eq!(session.caller.language.as_deref(), Some("en"));
        s.set_key_language(info.id, None).expect("clear");
        let session = s.session(&token).expect("lookup").expect("live");
        assert_eq!(session.caller.language, None);
    }
}
