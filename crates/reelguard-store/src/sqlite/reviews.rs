//! Decisions and notices on SQLite.
//!
//! The decision that shapes it: [`Reviews::decide`] re-reads the match inside its immediate
//! transaction, so two reviewers deciding at once cannot both succeed, and writes the decision,
//! the notice and its webhook delivery before the one commit.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, TransactionBehavior};

use super::matches::match_row;
use super::rows::{in_list, json_col, parse_col};
use super::suspects::{latest_sources_of, source_count};
use super::webhooks::enqueue_notice_webhook;
use super::SqliteStore;
use crate::error::StoreError;
use crate::matches::MatchState;
use crate::members::Caller;
use crate::reviews::{
    Cited, Decision, Notice, NoticeComposer, ReviewCounts, Reviews, Verdict, BACKLOG_AGE_BOUNDS,
    NOTICE_SOURCES,
};
use crate::util::now;

pub(super) const NOTICE_SELECT: &str =
    "SELECT id, match_id, member_id, body, created_at FROM notices";

pub(super) fn notice_from_row(row: &Row<'_>) -> rusqlite::Result<Notice> {
    Ok(Notice {
        id: row.get(0)?,
        match_id: row.get(1)?,
        member_id: row.get(2)?,
        body: json_col(row, 3)?,
        created_at: row.get(4)?,
    })
}

/// Records that a notice names these sources (inside the transaction that writes it).
pub(super) fn cite_sources(
    tx: &rusqlite::Connection,
    notice_id: i64,
    source_ids: &[i64],
) -> Result<(), StoreError> {
    for source_id in source_ids {
        tx.execute(
            "INSERT INTO notice_sources (notice_id, source_id) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            (notice_id, source_id),
        )?;
    }
    Ok(())
}

impl Reviews for SqliteStore {
    fn decide(
        &self,
        match_id: i64,
        reviewer: &Caller,
        verdict: Verdict,
        reason: &str,
        notice: NoticeComposer<'_>,
    ) -> Result<(Decision, Option<Notice>), StoreError> {
        let policy = self.policy();
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let row = match_row(&tx, match_id)?
            .ok_or_else(|| StoreError::NotFound(format!("match {match_id}")))?;
        if row.state != MatchState::PendingReview {
            return Err(StoreError::Conflict(format!(
                "match {match_id} is already {}",
                row.state
            )));
        }
        let state = match verdict {
            Verdict::Confirm => MatchState::Confirmed,
            Verdict::Reject => MatchState::Rejected,
        };
        tx.execute(
            "UPDATE matches SET state = ?2, decided_at = ?3 WHERE id = ?1",
            (match_id, state.as_str(), t),
        )?;
        let id: i64 = tx.query_row(
            "INSERT INTO decisions (match_id, reviewer_member_id, key_id, decision, reason, \
             decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            (
                match_id,
                reviewer.member_id,
                reviewer.key_id,
                state.as_str(),
                reason,
                t,
            ),
            |r| r.get(0),
        )?;
        let decision = Decision {
            id,
            match_id,
            reviewer_member_id: reviewer.member_id,
            reviewer: reviewer.member.clone(),
            decision: state,
            reason: reason.to_string(),
            decided_at: t,
        };
        let notice = if state == MatchState::Confirmed {
            let (srcs, _) = latest_sources_of(&tx, &[row.suspect_id], NOTICE_SOURCES)?
                .remove(&row.suspect_id)
                .unwrap_or_default();
            let total = source_count(&tx, row.suspect_id)?;
            let cited = Cited {
                sources: &srcs,
                total,
            };
            let body = notice(&row, cited, &decision);
            let id: i64 = tx.query_row(
                "INSERT INTO notices (match_id, member_id, body, created_at) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                (match_id, row.member_id, serde_json::to_string(&body)?, t),
                |r| r.get(0),
            )?;
            let cited: Vec<i64> = srcs.iter().map(|s| s.id).collect();
            cite_sources(&tx, id, &cited)?;
            let notice = Notice {
                id,
                match_id,
                member_id: row.member_id,
                body,
                created_at: t,
            };
            enqueue_notice_webhook(&tx, &notice, policy)?;
            Some(notice)
        } else {
            None
        };
        tx.commit()?;
        Ok((decision, notice))
    }

    fn decisions_of(&self, match_ids: &[i64]) -> Result<HashMap<i64, Vec<Decision>>, StoreError> {
        let mut params = Vec::new();
        let sql = format!(
            "SELECT d.id, d.match_id, d.reviewer_member_id, m.name, d.decision, d.reason, \
             d.decided_at FROM decisions d JOIN members m ON m.id = d.reviewer_member_id \
             WHERE 1 = 1{} ORDER BY d.id",
            in_list("d.match_id", match_ids, &mut params)
        );
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(Decision {
                id: row.get(0)?,
                match_id: row.get(1)?,
                reviewer_member_id: row.get(2)?,
                reviewer: row.get(3)?,
                decision: parse_col(row, 4)?,
                reason: row.get(5)?,
                decided_at: row.get(6)?,
            })
        })?;
        let mut by_match: HashMap<i64, Vec<Decision>> = HashMap::new();
        for decision in rows {
            let decision = decision?;
            by_match
                .entry(decision.match_id)
                .or_default()
                .push(decision);
        }
        Ok(by_match)
    }

    fn notice(&self, notice_id: i64) -> Result<Option<Notice>, StoreError> {
        Ok(self
            .read()
            .query_row(
                &format!("{NOTICE_SELECT} WHERE id = ?1"),
                [notice_id],
                notice_from_row,
            )
            .optional()?)
    }

    fn notices(
        &self,
        owners: Option<&[i64]>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Notice>, StoreError> {
        let mut sql = format!("{NOTICE_SELECT} WHERE 1 = 1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(owners) = owners {
            sql += &in_list("member_id", owners, &mut params);
        }
        if let Some(before) = before_id {
            params.push(SqlValue::Integer(before));
            sql += &format!(" AND id < ?{}", params.len());
        }
        params.push(SqlValue::Integer(i64::from(limit.max(1))));
        sql += &format!(" ORDER BY id DESC LIMIT ?{}", params.len());
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), notice_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn notice_for_match(&self, match_id: i64) -> Result<Option<Notice>, StoreError> {
        Ok(self
            .read()
            .query_row(
                &format!("{NOTICE_SELECT} WHERE match_id = ?1 ORDER BY id LIMIT 1"),
                [match_id],
                notice_from_row,
            )
            .optional()?)
    }

    fn review_counts(&self, now: i64) -> Result<ReviewCounts, StoreError> {
        let conn = self.read();
        let mut counts = ReviewCounts {
            pending_by_age: vec![0; BACKLOG_AGE_BOUNDS.len() + 1],
            ..ReviewCounts::default()
        };
        let mut stmt = conn.prepare(
            "SELECT created_at, COUNT(*) FROM matches WHERE state = 'pending_review' \
             GROUP BY created_at",
        )?;
        let rows = stmt.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))?;
        for row in rows {
            let (created_at, n) = row?;
            let age = now.saturating_sub(created_at).max(0);
            let bucket = BACKLOG_AGE_BOUNDS
                .iter()
                .position(|bound| age < *bound)
                .unwrap_or(BACKLOG_AGE_BOUNDS.len());
            counts.pending_by_age[bucket] += n.max(0) as u64;
            counts.oldest_pending_s = counts.oldest_pending_s.max(age);
        }
        let grouped = |sql: &str| -> Result<Vec<(String, u64)>, StoreError> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?.max(0) as u64,
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        counts.decisions = grouped(
            "SELECT decision, COUNT(*) FROM decisions GROUP BY decision ORDER BY decision",
        )?;
        counts.deliveries = grouped(
            "SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state ORDER BY state",
        )?;
        counts.notices = conn
            .query_row("SELECT COUNT(*) FROM notices", [], |row| {
                row.get::<_, i64>(0)
            })?
            .max(0) as u64;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::test_support::{
        file, reviewer_and_first_match, scanned_to_match, store, LIMITS,
    };
    use crate::prelude::*;
    use crate::{SourceMeta, StoreError, Verdict};

    #[test]
    fn a_decided_match_cannot_be_decided_again() {
        let (_dir, s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        scanned_to_match(&s, owner.id, &file("a"), &SourceMeta::default(), LIMITS);
        let (caller, id) = reviewer_and_first_match(&s);
        let (_, notice) = s
            .decide(
                id,
                &caller,
                Verdict::Confirm,
                "same footage",
                &|_, _, _| serde_json::json!({"ok": true}),
            )
            .expect("decided");
        assert!(notice.is_some());
        let again = s.decide(id, &caller, Verdict::Reject, "oops", &|_, _, _| Value::Null);
        assert!(matches!(again, Err(StoreError::Conflict(_))));
    }
}
