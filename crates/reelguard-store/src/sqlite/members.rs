//! Members, API keys, review scopes and browser sessions on SQLite.
//!
//! The decision that shapes it: authentication (a key or session look-up on every request) is
//! a pure read on a pooled reader, so it never waits behind a write.

use rusqlite::{OptionalExtension, Row, TransactionBehavior};

use super::rows::{conflict, parse_col, validate_name};
use super::SqliteStore;
use crate::error::StoreError;
use crate::members::{Caller, KeyInfo, Keys, Member, Members, Role, Session, Sessions};
use crate::util::{key_hash, now, random_token, secrets_equal};

/// Characters of a key kept in clear (`rgk_` and 8 hex digits): shown in listings, and how a
/// presented key finds its row.
const KEY_PREFIX: usize = 12;

fn member_from_row(row: &Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        id: row.get(0)?,
        name: row.get(1)?,
        created_at: row.get(2)?,
    })
}

impl Members for SqliteStore {
    fn create_member(&self, name: &str) -> Result<Member, StoreError> {
        validate_name("a member name", name)?;
        let created_at = now();
        let id: i64 = self
            .write()
            .query_row(
                "INSERT INTO members (name, created_at) VALUES (?1, ?2) RETURNING id",
                (name, created_at),
                |row| row.get(0),
            )
            .map_err(|e| conflict(e, || format!("member {name:?} exists")))?;
        Ok(Member {
            id,
            name: name.to_string(),
            created_at,
        })
    }

    fn member_by_name(&self, name: &str) -> Result<Option<Member>, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT id, name, created_at FROM members WHERE name = ?1",
                [name],
                member_from_row,
            )
            .optional()?)
    }

    fn members(&self) -> Result<Vec<Member>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare("SELECT id, name, created_at FROM members ORDER BY id")?;
        let rows = stmt.query_map([], member_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_review_scope(&self, reviewer_member_id: i64, members: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        set_scope_mode(&tx, reviewer_member_id, "listed")?;
        tx.execute(
            "DELETE FROM review_scopes WHERE reviewer_member_id = ?1",
            [reviewer_member_id],
        )?;
        for member in members {
            tx.execute(
                "INSERT INTO review_scopes (reviewer_member_id, member_id) VALUES (?1, ?2) \
                 ON CONFLICT DO NOTHING",
                (reviewer_member_id, member),
            )
            .map_err(|e| conflict(e, || format!("no member {member}")))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn set_review_scope_all(&self, reviewer_member_id: i64) -> Result<(), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        set_scope_mode(&tx, reviewer_member_id, "all")?;
        tx.execute(
            "DELETE FROM review_scopes WHERE reviewer_member_id = ?1",
            [reviewer_member_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn review_scope(&self, reviewer_member_id: i64) -> Result<Option<Vec<i64>>, StoreError> {
        let conn = self.read();
        // One read transaction: the mode and the rows come from the same snapshot.
        let tx = conn.unchecked_transaction()?;
        let mode: Option<String> = tx
            .query_row(
                "SELECT review_scope FROM members WHERE id = ?1",
                [reviewer_member_id],
                |row| row.get(0),
            )
            .optional()?;
        if mode.as_deref() == Some("all") {
            return Ok(None);
        }
        let mut stmt = conn.prepare(
            "SELECT member_id FROM review_scopes WHERE reviewer_member_id = ?1 ORDER BY member_id",
        )?;
        let ids: Vec<i64> = stmt
            .query_map([reviewer_member_id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Some(ids))
    }
}

fn set_scope_mode(
    tx: &rusqlite::Transaction<'_>,
    reviewer_member_id: i64,
    mode: &str,
) -> Result<(), StoreError> {
    let changed = tx.execute(
        "UPDATE members SET review_scope = ?2 WHERE id = ?1",
        (reviewer_member_id, mode),
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("member {reviewer_member_id}")));
    }
    Ok(())
}

impl Keys for SqliteStore {
    fn create_key(&self, member_id: i64, role: Role) -> Result<(KeyInfo, String), StoreError> {
        let key = format!("rgk_{}", random_token()?);
        let prefix: String = key.chars().take(KEY_PREFIX).collect();
        let created_at = now();
        let conn = self.write();
        let member: String = conn
            .query_row(
                "SELECT name FROM members WHERE id = ?1",
                [member_id],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("member {member_id}")))?;
        let id: i64 = conn.query_row(
            "INSERT INTO api_keys (member_id, role, key_sha256, prefix, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            (
                member_id,
                role.as_str(),
                key_hash(&key),
                &prefix,
                created_at,
            ),
            |row| row.get(0),
        )?;
        Ok((
            KeyInfo {
                id,
                member_id,
                member,
                role,
                prefix,
                created_at,
                revoked_at: None,
            },
            key,
        ))
    }

    fn keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT k.id, k.member_id, m.name, k.role, k.prefix, k.created_at, k.revoked_at \
             FROM api_keys k JOIN members m ON m.id = k.member_id ORDER BY k.id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(KeyInfo {
                id: row.get(0)?,
                member_id: row.get(1)?,
                member: row.get(2)?,
                role: parse_col(row, 3)?,
                prefix: row.get(4)?,
                created_at: row.get(5)?,
                revoked_at: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_key_language(&self, key_id: i64, language: Option<&str>) -> Result<(), StoreError> {
        let changed = self.write().execute(
            "UPDATE api_keys SET language = ?2 WHERE id = ?1",
            (key_id, language),
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("key {key_id}")));
        }
        Ok(())
    }

    fn revoke_key(&self, key_id: i64) -> Result<(), StoreError> {
        let changed = self.write().execute(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            (key_id, now()),
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("active key {key_id}")));
        }
        Ok(())
    }

    fn authenticate(&self, key: &str) -> Result<Option<Caller>, StoreError> {
        if !key.starts_with("rgk_") || key.len() > 100 || !key.is_char_boundary(KEY_PREFIX) {
            return Ok(None);
        }
        // Found by the key's public prefix (shown in key listings anyway), then compared by
        // hash in constant time: no comparison the database makes depends on the secret part,
        // so response times tell a guesser nothing about how close a guess came.
        let presented = key_hash(key);
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT k.id, k.member_id, m.name, k.role, k.language, k.key_sha256 FROM api_keys k \
             JOIN members m ON m.id = k.member_id \
             WHERE k.prefix = ?1 AND k.revoked_at IS NULL",
        )?;
        let rows = stmt.query_map([&key[..KEY_PREFIX]], |row| {
            Ok((
                Caller {
                    key_id: row.get(0)?,
                    member_id: row.get(1)?,
                    member: row.get(2)?,
                    role: parse_col(row, 3)?,
                    language: row.get(4)?,
                },
                row.get::<_, String>(5)?,
            ))
        })?;
        let mut found = None;
        for row in rows {
            let (caller, stored) = row?;
            if secrets_equal(&stored, &presented) && found.is_none() {
                found = Some(caller);
            }
        }
        Ok(found)
    }
}

impl Sessions for SqliteStore {
    fn open_session(
        &self,
        caller: &Caller,
        lifetime_secs: i64,
    ) -> Result<(Session, String), StoreError> {
        let token = random_token()?;
        let csrf = random_token()?;
        let t = now();
        let expires_at = t.saturating_add(lifetime_secs.max(1));
        let conn = self.write();
        // Expired sessions are swept whenever a new one opens: the table stays small without
        // a timer of its own.
        conn.execute("DELETE FROM ui_sessions WHERE expires_at < ?1", [t])?;
        let id: i64 = conn.query_row(
            "INSERT INTO ui_sessions (token_sha256, key_id, csrf_token, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            (key_hash(&token), caller.key_id, &csrf, t, expires_at),
            |row| row.get(0),
        )?;
        Ok((
            Session {
                id,
                caller: caller.clone(),
                csrf,
                expires_at,
            },
            token,
        ))
    }

    fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        Ok(self
            .read()
            .query_row(
                "SELECT s.id, s.csrf_token, s.expires_at, k.id, k.member_id, m.name, k.role, \
                 k.language \
                 FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id \
                 JOIN members m ON m.id = k.member_id \
                 WHERE s.token_sha256 = ?1 AND s.expires_at >= ?2 AND k.revoked_at IS NULL",
                (key_hash(token), now()),
                |row| {
                    Ok(Session {
                        id: row.get(0)?,
                        csrf: row.get(1)?,
                        expires_at: row.get(2)?,
                        caller: Caller {
                            key_id: row.get(3)?,
                            member_id: row.get(4)?,
                            member: row.get(5)?,
                            role: parse_col(row, 6)?,
                            language: row.get(7)?,
                        },
                    })
                },
            )
            .optional()?)
    }

    fn close_session(&self, token: &str) -> Result<(), StoreError> {
        self.write().execute(
            "DELETE FROM ui_sessions WHERE token_sha256 = ?1",
            [key_hash(token)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use crate::prelude::*;
    use crate::{key_hash, Role};

    #[test]
    fn keys_are_stored_as_hashes_and_authenticate_until_revoked() {
        let (_dir, s) = store();
        let m = s.ensure_member("acme").expect("member");
        let (info, key) = s.create_key(m.id, Role::Member).expect("key");
        let stored: String = s
            .write()
            .query_row("SELECT key_sha256 FROM api_keys", [], |r| r.get(0))
            .expect("row");
        assert_ne!(stored, key);
        assert_eq!(stored, key_hash(&key));
        let caller = s.authenticate(&key).expect("auth").expect("valid");
        assert_eq!((caller.member_id, caller.role), (m.id, Role::Member));
        assert!(s.authenticate("rgk_nonsense").expect("auth").is_none());
        s.revoke_key(info.id).expect("revoke");
        assert!(s.authenticate(&key).expect("auth").is_none());
    }

    #[test]
    fn a_session_stands_for_its_key_until_revoked_closed_or_expired() {
        let (_dir, s) = store();
        let member = s.create_member("studio").expect("member");
        let (info, key) = s.create_key(member.id, Role::Reviewer).expect("key");
        let caller = s.authenticate(&key).expect("auth").expect("valid key");
        let (session, token) = s.open_session(&caller, 3600).expect("session");
        let found = s.session(&token).expect("lookup").expect("live");
        assert_eq!(found.caller, caller);
        assert_eq!(found.csrf, session.csrf);
        assert_ne!(found.csrf, token, "the CSRF token is a second secret");
        assert!(s.session(&"0".repeat(64)).expect("lookup").is_none());
        assert!(s.session("not hex").expect("lookup").is_none());

        s.revoke_key(info.id).expect("revoke");
        assert!(
            s.session(&token).expect("lookup").is_none(),
            "revoking the key ends its sessions"
        );

        let (_, key) = s.create_key(member.id, Role::Reviewer).expect("key");
        let caller = s.authenticate(&key).expect("auth").expect("valid key");
        let (_, token) = s.open_session(&caller, 3600).expect("session");
        s.close_session(&token).expect("logout");
        assert!(s.session(&token).expect("lookup").is_none());

        let (_, token) = s.open_session(&caller, 3600).expect("session");
        s.write()
            .execute("UPDATE ui_sessions SET expires_at = 0", [])
            .expect("age it");
        assert!(s.session(&token).expect("lookup").is_none(), "expired");
    }
}
