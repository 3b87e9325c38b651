//! The durable job queue on SQLite: claiming, progress, completion, failure, recovery, and the
//! job listings.
//!
//! The decision that shapes it: every state change is one immediate transaction on the writer
//! that re-checks the job's state, so two workers can never both move the same job.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::Value;

use super::matches::insert_matches;
use super::rows::{opt_json_col, parse_col};
use super::SqliteStore;
use crate::error::StoreError;
use crate::jobs::{Job, JobCount, JobFilter, JobState, Jobs, NewFile, QueueLimits, Submission};
use crate::matches::NewMatch;
use crate::util::now;

const JOB_COLUMNS: &str = "id, kind, state, member_id, suspect_id, work_id, file_path, file_name, \
    attempts, max_attempts, next_attempt_at, progress, error_kind, error, result, created_at, \
    started_at, finished_at";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: row.get(0)?,
        kind: parse_col(row, 1)?,
        state: parse_col(row, 2)?,
        member_id: row.get(3)?,
        suspect_id: row.get(4)?,
        work_id: row.get(5)?,
        file_path: row.get(6)?,
        file_name: row.get(7)?,
        attempts: row.get(8)?,
        max_attempts: row.get(9)?,
        next_attempt_at: row.get(10)?,
        progress: row.get(11)?,
        error_kind: row.get(12)?,
        error: row.get(13)?,
        result: opt_json_col(row, 14)?,
        created_at: row.get(15)?,
        started_at: row.get(16)?,
        finished_at: row.get(17)?,
    })
}

/// Unfinished (queued or running) jobs, on any connection.
pub(super) fn unfinished(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
        [],
        |row| row.get(0),
    )?;
    Ok(n as u64)
}

impl Jobs for SqliteStore {
    fn submit_registration(
        &self,
        member_id: i64,
        work_id: &str,
        file: &NewFile,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let depth = unfinished(&tx)?;
        if depth >= limits.max_unfinished {
            return Err(StoreError::QueueFull {
                depth,
                limit: limits.max_unfinished,
            });
        }
        let t = now();
        let job_id: i64 = tx.query_row(
            "INSERT INTO jobs (kind, state, member_id, work_id, file_path, file_name, \
             max_attempts, next_attempt_at, created_at) \
             VALUES ('register', 'queued', ?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
            (
                member_id,
                work_id,
                &file.path,
                &file.name,
                limits.max_attempts,
                t,
            ),
            |row| row.get(0),
        )?;
        tx.commit()?;
        Ok(Submission {
            job_id,
            suspect_id: None,
            deduplicated: false,
        })
    }

    fn queue_depth(&self) -> Result<u64, StoreError> {
        unfinished(&self.read())
    }

    fn claim_job(&self) -> Result<Option<Job>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let id: Option<i64> = tx
            .query_row(
                "SELECT j.id FROM jobs j WHERE j.state = 'queued' AND j.next_attempt_at <= ?1 \
                 AND NOT (j.kind = 'register' AND EXISTS (SELECT 1 FROM jobs o \
                     WHERE o.kind = 'register' AND o.work_id = j.work_id AND o.id < j.id \
                     AND o.state IN ('queued', 'running'))) \
                 ORDER BY j.id LIMIT 1",
                [t],
                |row| row.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        let job = tx.query_row(
            &format!(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?2, \
                 progress = 0 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ),
            (id, t),
            job_from_row,
        )?;
        tx.commit()?;
        Ok(Some(job))
    }

    fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.read().query_row(
            "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'queued'",
            [],
            |row| row.get(0),
        )?)
    }

    fn set_progress(&self, job_id: i64, progress: f64) -> Result<(), StoreError> {
        self.write().execute(
            "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND state = 'running'",
            (job_id, progress.clamp(0.0, 1.0)),
        )?;
        Ok(())
    }

    fn complete_job(
        &self,
        job_id: i64,
        result: &Value,
        matches: &[NewMatch],
    ) -> Result<bool, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let suspect: Option<Option<i64>> = tx
            .query_row(
                "SELECT suspect_id FROM jobs WHERE id = ?1 AND state = 'running'",
                [job_id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(suspect) = suspect else {
            return Ok(false);
        };
        if !matches.is_empty() {
            let suspect_id = suspect.ok_or_else(|| {
                StoreError::Invalid(format!("job {job_id} has no suspect to match"))
            })?;
            insert_matches(&tx, suspect_id, job_id, t, matches)?;
        }
        tx.execute(
            "UPDATE jobs SET state = 'succeeded', progress = 1, result = ?2, finished_at = ?3, \
             error_kind = NULL, error = NULL WHERE id = ?1",
            (job_id, serde_json::to_string(result)?, t),
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn fail_job(
        &self,
        job_id: i64,
        error_kind: &str,
        error: &str,
        retry_after: Option<i64>,
    ) -> Result<JobState, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let row: Option<(u32, u32)> = tx
            .query_row(
                "SELECT attempts, max_attempts FROM jobs WHERE id = ?1 AND state = 'running'",
                [job_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((attempts, max_attempts)) = row else {
            return Err(StoreError::NotFound(format!("running job {job_id}")));
        };
        let state = match retry_after {
            Some(delay) if attempts < max_attempts => {
                tx.execute(
                    "UPDATE jobs SET state = 'queued', next_attempt_at = ?2, error_kind = ?3, \
                     error = ?4, progress = 0 WHERE id = ?1",
                    (job_id, t.saturating_add(delay.max(0)), error_kind, error),
                )?;
                JobState::Queued
            }
            _ => {
                tx.execute(
                    "UPDATE jobs SET state = 'failed', finished_at = ?2, error_kind = ?3, \
                     error = ?4 WHERE id = ?1",
                    (job_id, t, error_kind, error),
                )?;
                JobState::Failed
            }
        };
        tx.commit()?;
        Ok(state)
    }

    fn requeue(&self, job_id: i64) -> Result<(), StoreError> {
        self.write().execute(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, progress = 0, \
             next_attempt_at = ?2 WHERE id = ?1 AND state = 'running' AND attempts > 0",
            (job_id, now()),
        )?;
        Ok(())
    }

    fn recover_interrupted(&self) -> Result<(u64, u64), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let failed = tx.execute(
            "UPDATE jobs SET state = 'failed', finished_at = ?1, error_kind = 'interrupted', \
             error = 'the daemon stopped during every attempt' \
             WHERE state = 'running' AND attempts >= max_attempts",
            [t],
        )?;
        let requeued = tx.execute(
            "UPDATE jobs SET state = 'queued', next_attempt_at = ?1, progress = 0 \
             WHERE state = 'running'",
            [t],
        )?;
        tx.commit()?;
        Ok((requeued as u64, failed as u64))
    }

    fn job(&self, job_id: i64) -> Result<Option<Job>, StoreError> {
        Ok(self
            .read()
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [job_id],
                job_from_row,
            )
            .optional()?)
    }

    fn job_visible_to(&self, job: &Job, member_id: i64) -> Result<bool, StoreError> {
        if job.member_id == member_id {
            return Ok(true);
        }
        let Some(suspect_id) = job.suspect_id else {
            return Ok(false);
        };
        let n: i64 = self.read().query_row(
            "SELECT COUNT(*) FROM suspect_sources WHERE suspect_id = ?1 AND member_id = ?2",
            (suspect_id, member_id),
            |row| row.get(0),
        )?;
        Ok(n > 0)
    }

    fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs j WHERE 1 = 1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(state) = filter.state {
            params.push(SqlValue::Text(state.as_str().to_string()));
            sql += &format!(" AND j.state = ?{}", params.len());
        }
        if let Some(member) = filter.visible_to {
            params.push(SqlValue::Integer(member));
            let n = params.len();
            sql += &format!(
                " AND (j.member_id = ?{n} OR j.suspect_id IN \
                 (SELECT suspect_id FROM suspect_sources WHERE member_id = ?{n}))"
            );
        }
        params.push(SqlValue::Integer(i64::from(filter.limit.max(1))));
        sql += &format!(" ORDER BY j.id DESC LIMIT ?{}", params.len());
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), job_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        let conn = self.read();
        let mut stmt =
            conn.prepare("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state")?;
        let rows = stmt.query_map([], |row| {
            Ok(JobCount {
                kind: Some(parse_col(row, 0)?),
                state: Some(parse_col(row, 1)?),
                count: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{file, store, LIMITS};
    use crate::prelude::*;
    use crate::{JobState, MatchFilter, NewMatch, QueueLimits, SourceMeta};

    #[test]
    fn interrupted_jobs_are_requeued_until_their_attempts_run_out() {
        let (_dir, s) = store();
        let m = s.ensure_member("crawler").expect("member");
        let sub = s
            .submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("accepted");
        for expected in [JobState::Queued, JobState::Failed] {
            let job = s.claim_job().expect("claim").expect("a job");
            assert_eq!(job.id, sub.job_id);
            assert_eq!(
                s.recover_interrupted().expect("recover").0 as usize,
                usize::from(expected == JobState::Queued)
            );
            let job = s.job(sub.job_id).expect("job").expect("exists");
            assert_eq!(job.state, expected);
        }
    }

    #[test]
    fn completing_a_job_twice_records_each_match_once() {
        let (_dir, s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let crawler = s.ensure_member("crawler").expect("member");
        let sub = s
            .submit_suspect(crawler.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("accepted");
        let m = NewMatch {
            work_id: "w000001".into(),
            episode: 1,
            episode_id: 1,
            score: 0.9,
            segments: vec![],
            transformation: vec!["mirror".into()],
            content_box: None,
        };
        s.claim_job().expect("claim");
        assert!(s
            .complete_job(sub.job_id, &serde_json::json!({}), std::slice::from_ref(&m))
            .expect("done"));
        // A second run (say, after a crash between matching and recording) adds nothing.
        s.write()
            .execute("UPDATE jobs SET state = 'running'", [])
            .expect("reset");
        assert!(s
            .complete_job(sub.job_id, &serde_json::json!({}), &[m])
            .expect("done"));
        let all = s
            .matches(&MatchFilter {
                limit: 10,
                ..MatchFilter::default()
            })
            .expect("matches");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].transformation, vec!["mirror".to_string()]);
    }

    #[test]
    fn registrations_of_one_work_run_in_order() {
        let (_dir, s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let limits = QueueLimits {
            max_unfinished: 10,
            max_attempts: 3,
        };
        let first = s
            .submit_registration(owner.id, "w000001", &file("e1"), limits)
            .expect("e1");
        let second = s
            .submit_registration(owner.id, "w000001", &file("e2"), limits)
            .expect("e2");
        let job = s.claim_job().expect("claim").expect("job");
        assert_eq!(job.id, first.job_id);
        assert!(s.claim_job().expect("claim").is_none(), "e2 waits for e1");
        s.fail_job(first.job_id, "io", "transient", Some(3600))
            .expect("retry later");
        assert!(
            s.claim_job().expect("claim").is_none(),
            "e2 still waits for e1's retry"
        );
        s.write()
            .execute("UPDATE jobs SET next_attempt_at = 0", [])
            .expect("due");
        assert_eq!(s.claim_job().expect("claim").expect("job").id, first.job_id);
        s.complete_job(first.job_id, &serde_json::json!({}), &[])
            .expect("done");
        assert_eq!(
            s.claim_job().expect("claim").expect("job").id,
            second.job_id
        );
    }
}
