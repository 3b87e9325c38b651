//! Applying the schema's migrations ([`crate::migrations`]) to a PostgreSQL store.
//!
//! The decision that shapes it: every step runs in its own transaction under one advisory
//! lock, and reads the applied versions after taking it, so any number of processes (an api,
//! workers, an indexer) may start together and exactly one applies each step. PostgreSQL's
//! DDL is transactional: a failed step leaves nothing behind.

use tokio_postgres::Client;

use super::dialect;
use crate::error::StoreError;
use crate::migrations::MIGRATIONS;

/// The advisory lock key that serialises migrations ("rgschema" in ASCII).
const MIGRATION_LOCK: i64 = 0x7267_7363_6865_6d61;

/// Brings the schema up to the latest version.
pub async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await?;
        let applied: Vec<i64> = tx
            .query("SELECT version FROM schema_migrations", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(newer) = applied.iter().copied().filter(|v| *v > latest).max() {
            return Err(StoreError::Invalid(format!(
                "the store has schema version {newer}, newer than this build's {latest}"
            )));
        }
        let Some(&(next, sql)) = MIGRATIONS.iter().find(|m| !applied.contains(&m.0)) else {
            return Ok(());
        };
        let text = match next {
            9 => dialect::v9(sql).ok_or_else(|| {
                StoreError::Invalid("migration 9 no longer has the expected shape".into())
            })?,
            _ => dialect::ddl(sql),
        };
        tx.batch_execute(&text).await?;
        match next {
            1 => tx.batch_execute(dialect::AUDIT_APPEND_ONLY).await?,
            4 => refuse_old_matches(&tx).await?,
            _ => {}
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) \
             VALUES ($1, CAST(floor(EXTRACT(EPOCH FROM now())) AS BIGINT))",
            &[&next],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = next, "postgresql store migrated");
    }
}

/// Version 4's data step rewrites matches stored in the shape of older builds. No PostgreSQL
/// store was ever written by one (they start at the current version), so there is nothing
/// to rewrite; a store that has matches this early was not made by reelguard and is refused.
async fn refuse_old_matches(tx: &tokio_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let n: i64 = tx
        .query_one("SELECT COUNT(*) FROM matches", &[])
        .await?
        .get(0);
    if n > 0 {
        return Err(StoreError::Invalid(format!(
            "{n} matches predate schema version 4; PostgreSQL stores start empty"
        )));
    }
    Ok(())
}

/// The schema version in force.
pub async fn version(client: &Client) -> Result<i64, StoreError> {
    Ok(client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0))
}
