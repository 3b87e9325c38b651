//! Works' ownership records on SQLite.
//!
//! The decision that shapes it: a duplicate work id is a conflict the database detects (the
//! primary key), not a check-then-insert race.

use rusqlite::{OptionalExtension, Row};

use super::rows::conflict;
use super::SqliteStore;
use crate::error::StoreError;
use crate::util::now;
use crate::works::{WorkRow, Works};

const WORK_SELECT: &str = "SELECT work_id, member_id, title, external_id, created_at, \
    withdrawn_at, released_at FROM works";

fn work_from_row(row: &Row<'_>) -> rusqlite::Result<WorkRow> {
    Ok(WorkRow {
        work_id: row.get(0)?,
        member_id: row.get(1)?,
        title: row.get(2)?,
        external_id: row.get(3)?,
        created_at: row.get(4)?,
        withdrawn_at: row.get(5)?,
        released_at: row.get(6)?,
    })
}

impl Works for SqliteStore {
    fn insert_work(
        &self,
        work_id: &str,
        member_id: i64,
        title: &str,
        external_id: Option<&str>,
        released_at: Option<i64>,
    ) -> Result<WorkRow, StoreError> {
        let created_at = now();
        self.write()
            .execute(
                "INSERT INTO works (work_id, member_id, title, external_id, created_at, \
                 released_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    work_id,
                    member_id,
                    title,
                    external_id,
                    created_at,
                    released_at,
                ),
            )
            .map_err(|e| conflict(e, || format!("work {work_id} exists")))?;
        Ok(WorkRow {
            work_id: work_id.to_string(),
            member_id,
            title: title.to_string(),
            external_id: external_id.map(str::to_string),
            created_at,
            withdrawn_at: None,
            released_at,
        })
    }

    fn work(&self, work_id: &str) -> Result<Option<WorkRow>, StoreError> {
        Ok(self
            .read()
            .query_row(
                &format!("{WORK_SELECT} WHERE work_id = ?1"),
                [work_id],
                work_from_row,
            )
            .optional()?)
    }

    fn works_of(&self, member_id: i64) -> Result<Vec<WorkRow>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(&format!(
            "{WORK_SELECT} WHERE member_id = ?1 ORDER BY created_at, work_id"
        ))?;
        let rows = stmt.query_map([member_id], work_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn mark_work_withdrawn(&self, work_id: &str) -> Result<(), StoreError> {
        self.write().execute(
            "UPDATE works SET withdrawn_at = ?2 WHERE work_id = ?1 AND withdrawn_at IS NULL",
            (work_id, now()),
        )?;
        Ok(())
    }
}
