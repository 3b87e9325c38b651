//! Work rights, authorisations, segment verdicts, notice tracking and public links on SQLite
//! (schema version 8; since version 9 a notice's URLs are the sightings it names).
//!
//! The decision that shapes it: a notice's state is a column moved only by
//! `UPDATE … WHERE state IN (…)` inside the transaction that appends its event, so the column
//! and the history can never disagree and a lost race is a conflict, not a double move.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, TransactionBehavior};

use super::reviews::{notice_from_row, NOTICE_SELECT};
use super::rows::{in_list, parse_col};
use super::SqliteStore;
use crate::error::StoreError;
use crate::reviews::Notice;
use crate::takedown::{
    Authorisation, NoticeEvent, NoticeState, Removal, SegmentVerdict, Takedowns, Tracking,
    Transition, WorkRights,
};
use crate::util::{now, random_token};

fn unknown_work(work_id: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::NotFound(format!("work {work_id}"))
        }
        other => other.into(),
    }
}

fn tracking_in(conn: &rusqlite::Connection, notice_id: i64) -> Result<Tracking, StoreError> {
    let state: NoticeState = conn
        .query_row(
            "SELECT state FROM notices WHERE id = ?1",
            [notice_id],
            |row| parse_col(row, 0),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("notice {notice_id}")))?;
    let mut stmt = conn.prepare(
        "SELECT state, reason, actor, at FROM notice_events WHERE notice_id = ?1 ORDER BY id",
    )?;
    let events = stmt
        .query_map([notice_id], |row| {
            Ok(NoticeEvent {
                state: parse_col(row, 0)?,
                reason: row.get(1)?,
                actor: row.get(2)?,
                at: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Tracking { state, events })
}

impl Takedowns for SqliteStore {
    fn set_work_rights(&self, work_id: &str, rights: &WorkRights) -> Result<(), StoreError> {
        self.write()
            .execute(
                "INSERT INTO work_rights \
                 (work_id, registration_number, certificate_sha256, certificate_name, recorded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (work_id) DO UPDATE SET \
                 registration_number = excluded.registration_number, \
                 certificate_sha256 = excluded.certificate_sha256, \
                 certificate_name = excluded.certificate_name, recorded_at = excluded.recorded_at",
                (
                    work_id,
                    &rights.registration_number,
                    &rights.certificate_sha256,
                    &rights.certificate_name,
                    rights.recorded_at,
                ),
            )
            .map_err(unknown_work(work_id))?;
        Ok(())
    }

    fn work_rights(&self, work_id: &str) -> Result<Option<WorkRights>, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT registration_number, certificate_sha256, certificate_name, recorded_at \
                 FROM work_rights WHERE work_id = ?1",
                [work_id],
                |row| {
                    Ok(WorkRights {
                        registration_number: row.get(0)?,
                        certificate_sha256: row.get(1)?,
                        certificate_name: row.get(2)?,
                        recorded_at: row.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn set_authorisation(&self, work_id: &str, auth: &Authorisation) -> Result<(), StoreError> {
        self.write()
            .execute(
                "INSERT INTO work_authorisations \
                 (work_id, scope, valid_from, valid_until, file_sha256, file_name, recorded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (work_id) DO UPDATE SET \
                 scope = excluded.scope, valid_from = excluded.valid_from, \
                 valid_until = excluded.valid_until, file_sha256 = excluded.file_sha256, \
                 file_name = excluded.file_name, recorded_at = excluded.recorded_at",
                (
                    work_id,
                    &auth.scope,
                    auth.valid_from,
                    auth.valid_until,
                    &auth.file_sha256,
                    &auth.file_name,
                    auth.recorded_at,
                ),
            )
            .map_err(unknown_work(work_id))?;
        Ok(())
    }

    fn authorisation(&self, work_id: &str) -> Result<Option<Authorisation>, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT scope, valid_from, valid_until, file_sha256, file_name, recorded_at \
                 FROM work_authorisations WHERE work_id = ?1",
                [work_id],
                |row| {
                    Ok(Authorisation {
                        scope: row.get(0)?,
                        valid_from: row.get(1)?,
                        valid_until: row.get(2)?,
                        file_sha256: row.get(3)?,
                        file_name: row.get(4)?,
                        recorded_at: row.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    fn set_segment_verdict(
        &self,
        match_id: i64,
        segment: usize,
        verdict: SegmentVerdict,
        key_id: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: String = tx
            .query_row("SELECT state FROM matches WHERE id = ?1", [match_id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("match {match_id}")))?;
        if state != "pending_review" {
            return Err(StoreError::Conflict(format!(
                "match {match_id} is already {state}"
            )));
        }
        let index = i64::try_from(segment)
            .map_err(|_| StoreError::Invalid(format!("segment {segment}")))?;
        tx.execute(
            "INSERT INTO segment_verdicts (match_id, segment, verdict, key_id, decided_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (match_id, segment) DO UPDATE SET \
             verdict = excluded.verdict, key_id = excluded.key_id, decided_at = excluded.decided_at",
            (match_id, index, verdict.as_str(), key_id, now()),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn rejected_segments(&self, match_id: i64) -> Result<Vec<usize>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT segment FROM segment_verdicts WHERE match_id = ?1 AND verdict = 'rejected' \
             ORDER BY segment",
        )?;
        let rows = stmt.query_map([match_id], |row| row.get::<_, i64>(0))?;
        let mut out = Vec::new();
        for index in rows {
            out.push(usize::try_from(index?).unwrap_or(usize::MAX));
        }
        Ok(out)
    }

    fn tracking(&self, notice_id: i64) -> Result<Tracking, StoreError> {
        let conn = self.read();
        // One read transaction: the state and its events from the same snapshot.
        let tx = conn.unchecked_transaction()?;
        tracking_in(&tx, notice_id)
    }

    fn transition(&self, notice_id: i64, change: &Transition<'_>) -> Result<Tracking, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = tracking_in(&tx, notice_id)?.state;
        if !change.from.contains(&current) {
            return Err(StoreError::Conflict(format!(
                "notice {notice_id} is {current}; it cannot become {}",
                change.to
            )));
        }
        tx.execute(
            "UPDATE notices SET state = ?2 WHERE id = ?1",
            (notice_id, change.to.as_str()),
        )?;
        if let Some(body) = change.body {
            tx.execute(
                "UPDATE notices SET body = ?2 WHERE id = ?1",
                (notice_id, serde_json::to_string(body)?),
            )?;
        }
        tx.execute(
            "INSERT INTO notice_events (notice_id, state, reason, actor, at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            (
                notice_id,
                change.to.as_str(),
                change.reason,
                change.actor,
                change.at,
            ),
        )?;
        let tracking = tracking_in(&tx, notice_id)?;
        tx.commit()?;
        Ok(tracking)
    }

    fn public_token(&self, notice_id: i64) -> Result<String, StoreError> {
        let token = random_token()?;
        let conn = self.write();
        conn.execute(
            "INSERT INTO notice_links (token, notice_id, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (notice_id) DO NOTHING",
            (&token, notice_id, now()),
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::NotFound(format!("notice {notice_id}"))
            }
            other => other.into(),
        })?;
        Ok(conn.query_row(
            "SELECT token FROM notice_links WHERE notice_id = ?1",
            [notice_id],
            |row| row.get(0),
        )?)
    }

    fn notice_by_token(&self, token: &str) -> Result<Option<Notice>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        Ok(self
            .read()
            .query_row(
                &format!(
                    "{NOTICE_SELECT} WHERE id = (SELECT notice_id FROM notice_links WHERE token = ?1)"
                ),
                [token],
                notice_from_row,
            )
            .optional()?)
    }

    fn notices_citing(&self, url: &str) -> Result<Vec<(i64, NoticeState)>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT n.id, n.state FROM notices n \
             JOIN notice_sources ns ON ns.notice_id = n.id \
             JOIN suspect_sources ss ON ss.id = ns.source_id WHERE ss.url = ?1 ORDER BY n.id",
        )?;
        let rows = stmt.query_map([url], |row| Ok((row.get(0)?, parse_col(row, 1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn removals(&self, owners: Option<&[i64]>) -> Result<Vec<Removal>, StoreError> {
        let mut params: Vec<SqlValue> = Vec::new();
        let filter = owners.map_or(String::new(), |ids| {
            in_list("n.member_id", ids, &mut params)
        });
        let sql = format!(
            "SELECT n.id, n.member_id, ss.platform, \
             MIN(COALESCE(ss.found_at, ss.submitted_at)), r.removed_at \
             FROM notices n JOIN notice_sources ns ON ns.notice_id = n.id \
             JOIN suspect_sources ss ON ss.id = ns.source_id \
             JOIN (SELECT notice_id, MIN(at) AS removed_at FROM notice_events \
                   WHERE state = 'removed' GROUP BY notice_id) r ON r.notice_id = n.id \
             WHERE 1 = 1{filter} \
             GROUP BY n.id, n.member_id, ss.platform, r.removed_at ORDER BY n.id"
        );
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(Removal {
                notice_id: row.get(0)?,
                member_id: row.get(1)?,
                platform: row.get(2)?,
                first_seen: row.get(3)?,
                removed_at: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
