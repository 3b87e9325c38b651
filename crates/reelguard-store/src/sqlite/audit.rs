//! The audit log on SQLite.
//!
//! The decision that shapes it: appends are grouped writes (an audit row per state-changing
//! request, so they share the commit of whatever else is being written), reads go through a
//! pooled reader.

use super::SqliteStore;
use crate::audit::{Audit, AuditEntry, AuditRecord};
use crate::error::StoreError;
use crate::util::now;

fn audit_row(conn: &rusqlite::Connection, entry: &AuditEntry) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "INSERT INTO audit_log (at, member_id, key_id, actor, action, target, status, \
             remote_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        (
            now(),
            entry.member_id,
            entry.key_id,
            &entry.actor,
            &entry.action,
            &entry.target,
            entry.status,
            &entry.remote_addr,
        ),
        |row| row.get(0),
    )?)
}

impl Audit for SqliteStore {
    fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let entry = entry.clone();
        self.write_grouped(move |conn| audit_row(conn, &entry))
    }

    fn audit_log(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT id, at, member_id, key_id, actor, action, target, status, remote_addr \
             FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map((after_id, i64::from(limit.max(1))), |row| {
            Ok(AuditRecord {
                id: row.get(0)?,
                at: row.get(1)?,
                entry: AuditEntry {
                    member_id: row.get(2)?,
                    key_id: row.get(3)?,
                    actor: row.get(4)?,
                    action: row.get(5)?,
                    target: row.get(6)?,
                    status: row.get(7)?,
                    remote_addr: row.get(8)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use crate::prelude::*;
    use crate::AuditEntry;

    #[test]
    fn the_audit_log_is_append_only() {
        let (_dir, s) = store();
        s.audit(&AuditEntry {
            actor: "cli:root".into(),
            action: "create-key".into(),
            target: "member acme".into(),
            ..AuditEntry::default()
        })
        .expect("append");
        assert!(s
            .write()
            .execute("UPDATE audit_log SET actor = 'x'", [])
            .is_err());
        assert!(s.write().execute("DELETE FROM audit_log", []).is_err());
        assert_eq!(s.audit_log(0, 10).expect("log").len(), 1);
    }
}
