//! What the review workbench needs beyond the API's records: browser sessions and the
//! per-drama counts its pages summarise.
//!
//! A session is opened with an API key and stands for it: the caller it resolves to is read
//! through the key on every request, so revoking the key (or the session expiring) ends it.
//! Only the session token's SHA-256 is stored; the CSRF token is a second secret bound to the
//! session, shown only inside the pages it serves.

use rusqlite::types::Value as SqlValue;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::{
    hex, in_list, key_hash, notice_from_row, now, parse_col, Caller, Notice, Store, StoreError,
    NOTICE_SELECT,
};

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

/// Matches against one work found on one day (UTC), by review state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfringementDay {
    /// The work.
    pub work_id: String,
    /// Its title.
    pub title: String,
    /// Unix seconds of the day's start (UTC).
    pub day: i64,
    /// Confirmed infringements.
    pub confirmed: u64,
    /// Still waiting for a reviewer.
    pub pending: u64,
}

/// Pending matches against one work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCount {
    /// The work.
    pub work_id: String,
    /// Its title.
    pub title: String,
    /// The owner's name.
    pub member: String,
    /// Matches waiting for a reviewer.
    pub pending: u64,
}

/// 32 random bytes as lowercase hex (session tokens, CSRF tokens).
pub fn random_token() -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(hex(&secret))
}

const DAY: i64 = 86_400;

fn owner_clause(owners: Option<&[i64]>, params: &mut Vec<SqlValue>) -> String {
    owners
        .map(|owners| in_list("w.member_id", owners, params))
        .unwrap_or_default()
}

impl Store {
    /// Opens a session for an API key; returns it and its token (to be set as a cookie; it is
    /// never stored).
    pub fn open_session(
        &mut self,
        caller: &Caller,
        lifetime_secs: i64,
    ) -> Result<(Session, String), StoreError> {
        let token = random_token()?;
        let csrf = random_token()?;
        let t = now();
        let expires_at = t.saturating_add(lifetime_secs.max(1));
        // Expired sessions are swept whenever a new one opens: the table stays small without
        // a timer of its own.
        self.conn
            .execute("DELETE FROM ui_sessions WHERE expires_at < ?1", [t])?;
        let id: i64 = self.conn.query_row(
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

    /// The live session a token opens: unexpired, and its key not revoked.
    pub fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row(
                "SELECT s.id, s.csrf_token, s.expires_at, k.id, k.member_id, m.name, k.role \
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
                        },
                    })
                },
            )
            .optional()?)
    }

    /// Ends a session (logging out). Unknown tokens are ignored.
    pub fn close_session(&mut self, token: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM ui_sessions WHERE token_sha256 = ?1",
            [key_hash(token)],
        )?;
        Ok(())
    }

    /// Matches per work and day since `since` (Unix seconds), for works of these members
    /// (`None`: all), oldest day first.
    pub fn infringements_per_day(
        &self,
        owners: Option<&[i64]>,
        since: i64,
    ) -> Result<Vec<InfringementDay>, StoreError> {
        let mut params = vec![SqlValue::Integer(since)];
        let owners = owner_clause(owners, &mut params);
        let sql = format!(
            "SELECT m.work_id, w.title, (m.created_at / {DAY}) * {DAY} AS day, \
             SUM(CASE WHEN m.state = 'confirmed' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN m.state = 'pending_review' THEN 1 ELSE 0 END) \
             FROM matches m JOIN works w ON w.work_id = m.work_id \
             WHERE m.created_at >= ?1{owners} \
             GROUP BY m.work_id, w.title, day ORDER BY day, m.work_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(InfringementDay {
                work_id: row.get(0)?,
                title: row.get(1)?,
                day: row.get(2)?,
                confirmed: row.get::<_, i64>(3)?.max(0) as u64,
                pending: row.get::<_, i64>(4)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pending matches per work, for works of these members (`None`: all), most first.
    pub fn pending_per_work(
        &self,
        owners: Option<&[i64]>,
    ) -> Result<Vec<PendingCount>, StoreError> {
        let mut params = Vec::new();
        let owners = owner_clause(owners, &mut params);
        let sql = format!(
            "SELECT m.work_id, w.title, mem.name, COUNT(*) AS n \
             FROM matches m JOIN works w ON w.work_id = m.work_id \
             JOIN members mem ON mem.id = w.member_id \
             WHERE m.state = 'pending_review'{owners} \
             GROUP BY m.work_id, w.title, mem.name ORDER BY n DESC, m.work_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(PendingCount {
                work_id: row.get(0)?,
                title: row.get(1)?,
                member: row.get(2)?,
                pending: row.get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The notice issued on a match, if it was confirmed.
    pub fn notice_for_match(&self, match_id: i64) -> Result<Option<Notice>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("{NOTICE_SELECT} WHERE match_id = ?1"),
                [match_id],
                notice_from_row,
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Role, Store};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_in(dir.path()).expect("store");
        (dir, store)
    }

    #[test]
    fn a_session_stands_for_its_key_until_revoked_closed_or_expired() {
        let (_dir, mut s) = store();
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
        s.conn
            .execute("UPDATE ui_sessions SET expires_at = 0", [])
            .expect("age it");
        assert!(s.session(&token).expect("lookup").is_none(), "expired");
    }
}
