//! Applying the schema's migrations ([`crate::migrations`]) to a SQLite store.
//!
//! The decision that shapes it: the version is read inside the write transaction that applies
//! the next step, so the daemon and `reelguard admin` starting together cannot both apply it.

use rusqlite::{Connection, OptionalExtension};

use super::dialect;
use crate::error::StoreError;
use crate::util::now;

use crate::migrations::MIGRATIONS;

/// Brings the schema up to the latest version. Safe against a concurrent migration by another
/// process (the daemon and `reelguard admin` may start together): the version is read inside the
/// write transaction that applies the next step.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )?;
    // A rebuilt table (version 9) is dropped and replaced under its name, which SQLite allows
    // only with foreign keys off (the pragma is ignored inside a transaction, so it is set
    // around the steps); each such step checks every foreign key before it commits.
    conn.execute_batch("PRAGMA foreign_keys=OFF")?;
    let applied = apply_pending(conn);
    conn.execute_batch("PRAGMA foreign_keys=ON")?;
    applied
}

/// The steps of [`migrate`], each in its own transaction.
fn apply_pending(conn: &mut Connection) -> Result<(), StoreError> {
    let latest = latest();
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current = version(&tx)?;
        if current > latest {
            return Err(StoreError::Invalid(format!(
                "the store has schema version {current}, newer than this build's {latest}"
            )));
        }
        let applied: Vec<i64> = tx
            .prepare("SELECT version FROM schema_migrations")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let Some(&(next, sql)) = MIGRATIONS.iter().find(|m| !applied.contains(&m.0)) else {
            return Ok(());
        };
        tx.execute_batch(&dialect::ddl(sql))?;
        match next {
            1 => tx.execute_batch(dialect::AUDIT_APPEND_ONLY)?,
            4 => super::upgrade::v4_typed_segments(&tx)?,
            9 => check_foreign_keys(&tx)?,
            _ => {}
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (next, now()),
        )?;
        tx.commit()?;
        tracing::info!(version = next, "store migrated");
    }
}

/// Refuses a step that left a row pointing at nothing (checked while foreign keys are off).
fn check_foreign_keys(tx: &Connection) -> Result<(), StoreError> {
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
        .optional()?;
    match broken {
        Some(table) => Err(StoreError::Invalid(format!(
            "migration left a broken foreign key in {table}"
        ))),
        None => Ok(()),
    }
}

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The schema version in force.
pub fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?)
}

/// The migrations of a store as a build of schema version 3 left it, for tests of upgrades.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::migrations::{V1, V2, V3};

    pub(crate) fn first_three() -> [(i64, &'static str); 3] {
        [(1, V1), (2, V2), (3, V3)]
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
