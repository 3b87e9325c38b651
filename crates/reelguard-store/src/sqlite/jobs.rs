//! The durable job queue on SQLite: claiming, progress, completion, failure, recovery, and the
//! job listings.
//!
//! The decision that shapes it: every state change is one immediate transaction on the writer
//! that re-checks the job's state and lease token, so two workers can never both move the same
//! job. Expired leases are swept inside the claim's own transaction: no timer, and a job is
//! never seen claimable by two claims.

use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::Value;

use super::matches::insert_matches;
use super::rows::{opt_json_col, parse_col};
use super::SqliteStore;
use crate::error::StoreError;
use crate::jobs::{
    lease_secs, IdempotencyKey, Job, JobCount, JobFilter, JobState, Jobs, Lease, NewFile,
    QueueLimits, Submission,
};
use crate::matches::NewMatch;
use crate::util::{now, random_token};

const JOB_COLUMNS: &str = "id, kind, state, member_id, suspect_id, work_id, file_path, file_name, \
    attempts, max_attempts, next_attempt_at, progress, error_kind, error, result, created_at, \
    started_at, finished_at, lease_owner, lease_token, lease_until";

/// A running job whose lease is over (no lease at all: left by a build without leases).
const LEASE_EXPIRED: &str = "state = 'running' AND (lease_until IS NULL OR lease_until <= ?1)";

/// Fails the running jobs `which` selects that have no attempts left, and queues the others
/// again (the attempt they were on counts). `which` is a condition binding `?1` to now and
/// optionally `?2`; returns `(requeued, failed)`.
fn expire(
    tx: &Connection,
    which: &str,
    params: &[&dyn rusqlite::ToSql],
    error_kind: &str,
    error: &str,
) -> Result<(u64, u64), StoreError> {
    let mut fail_params: Vec<&dyn rusqlite::ToSql> = params.to_vec();
    let n = fail_params.len();
    fail_params.push(&error_kind);
    fail_params.push(&error);
    let failed = tx.execute(
        &format!(
            "UPDATE jobs SET state = 'failed', finished_at = ?1, error_kind = ?{}, error = ?{} \
             WHERE {which} AND attempts >= max_attempts",
            n + 1,
            n + 2
        ),
        fail_params.as_slice(),
    )?;
    let requeued = tx.execute(
        &format!(
            "UPDATE jobs SET state = 'queued', next_attempt_at = ?1, progress = 0 WHERE {which}"
        ),
        params,
    )?;
    Ok((requeued as u64, failed as u64))
}

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
        lease: match (row.get(18)?, row.get(19)?, row.get(20)?) {
            (Some(owner), Some(token), Some(until)) => Some(Lease {
                owner,
                token,
                until,
            }),
            _ => None,
        },
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

/// The job a member's idempotency key names and the digest of the request that made it.
fn idempotency_record(
    conn: &Connection,
    member_id: i64,
    key: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT job_id, request_sha256 FROM idempotency_keys \
             WHERE member_id = ?1 AND idempotency_key = ?2",
            (member_id, key),
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

/// The earlier job of a key used for the same request; the key reused for another request is
/// refused.
fn replayed_job(
    conn: &Connection,
    member_id: i64,
    idempotency: &IdempotencyKey,
) -> Result<Option<i64>, StoreError> {
    match idempotency_record(conn, member_id, &idempotency.key)? {
        Some((job_id, digest)) if digest == idempotency.request_sha256 => Ok(Some(job_id)),
        Some(_) => Err(StoreError::IdempotencyKeyReused(idempotency.key.clone())),
        None => Ok(None),
    }
}

impl Jobs for SqliteStore {
    fn submit_registration(
        &self,
        member_id: i64,
        work_id: &str,
        file: &NewFile,
        idempotency: Option<&IdempotencyKey>,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // A retry is answered before the queue is looked at: its job already holds a place.
        if let Some(job_id) = idempotency
            .map(|i| replayed_job(&tx, member_id, i))
            .transpose()?
            .flatten()
        {
            return Ok(Submission::registration(job_id, true));
        }
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
        if let Some(i) = idempotency {
            tx.execute(
                "INSERT INTO idempotency_keys (member_id, idempotency_key, request_sha256, \
                 job_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                (member_id, &i.key, &i.request_sha256, job_id, t),
            )?;
        }
        tx.commit()?;
        Ok(Submission::registration(job_id, false))
    }

    fn idempotent_job(
        &self,
        member_id: i64,
        idempotency: &IdempotencyKey,
    ) -> Result<Option<i64>, StoreError> {
        replayed_job(&self.read(), member_id, idempotency)
    }

    fn queue_depth(&self) -> Result<u64, StoreError> {
        unfinished(&self.read())
    }

    fn claim_job(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let token = random_token()?;
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let (requeued, failed) = expire(
            &tx,
            LEASE_EXPIRED,
            &[&t],
            "lease_expired",
            "its worker stopped renewing the lease during every attempt",
        )?;
        if requeued + failed > 0 {
            tracing::warn!(requeued, failed, "took over jobs whose lease expired");
        }
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
            // The sweep above may have changed jobs even when none is claimable now.
            tx.commit()?;
            return Ok(None);
        };
        let job = tx.query_row(
            &format!(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?2, \
                 progress = 0, lease_owner = ?3, lease_token = ?4, lease_until = ?5 \
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ),
            (id, t, owner, &token, t.saturating_add(lease_secs(lease))),
            job_from_row,
        )?;
        tx.commit()?;
        Ok(Some(job))
    }

    fn renew_lease(&self, job_id: i64, token: &str, lease: Duration) -> Result<bool, StoreError> {
        let until = now().saturating_add(lease_secs(lease));
        let changed = self.write().execute(
            "UPDATE jobs SET lease_until = ?3 \
             WHERE id = ?1 AND state = 'running' AND lease_token = ?2",
            (job_id, token, until),
        )?;
        Ok(changed > 0)
    }

    fn next_due(&self) -> Result<Option<i64>, StoreError> {
        // MIN over both halves skips the NULL of an empty half.
        Ok(self.read().query_row(
            "SELECT MIN(t) FROM ( \
                 SELECT MIN(next_attempt_at) AS t FROM jobs WHERE state = 'queued' \
                 UNION ALL \
                 SELECT MIN(COALESCE(lease_until, 0)) AS t FROM jobs WHERE state = 'running')",
            [],
            |row| row.get(0),
        )?)
    }

    fn set_progress(&self, job_id: i64, token: &str, progress: f64) -> Result<bool, StoreError> {
        let changed = self.write().execute(
            "UPDATE jobs SET progress = ?3 \
             WHERE id = ?1 AND state = 'running' AND lease_token = ?2",
            (job_id, token, progress.clamp(0.0, 1.0)),
        )?;
        Ok(changed > 0)
    }

    fn complete_job(
        &self,
        job_id: i64,
        token: &str,
        result: &Value,
        matches: &[NewMatch],
    ) -> Result<bool, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let suspect: Option<Option<i64>> = tx
            .query_row(
                "SELECT suspect_id FROM jobs \
                 WHERE id = ?1 AND state = 'running' AND lease_token = ?2",
                (job_id, token),
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
        token: &str,
        error_kind: &str,
        error: &str,
        retry_after: Option<i64>,
    ) -> Result<JobState, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let row: Option<(u32, u32, bool)> = tx
            .query_row(
                "SELECT attempts, max_attempts, \
                 state = 'running' AND COALESCE(lease_token = ?2, FALSE) FROM jobs WHERE id = ?1",
                (job_id, token),
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((attempts, max_attempts, held)) = row else {
            return Err(StoreError::NotFound(format!("job {job_id}")));
        };
        if !held {
            return Err(StoreError::LeaseLost { job_id });
        }
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

    fn requeue(&self, job_id: i64, token: &str) -> Result<bool, StoreError> {
        let changed = self.write().execute(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, progress = 0, \
             next_attempt_at = ?3 \
             WHERE id = ?1 AND state = 'running' AND lease_token = ?2 AND attempts > 0",
            (job_id, token, now()),
        )?;
        Ok(changed > 0)
    }

    fn recover_interrupted(&self) -> Result<(u64, u64), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counts = expire(
            &tx,
            "state = 'running'",
            &[&now()],
            "interrupted",
            "the daemon stopped during every attempt",
        )?;
        tx.commit()?;
        Ok(counts)
    }

    fn expire_leases_of_others(&self, owner: &str) -> Result<(u64, u64), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counts = expire(
            &tx,
            "state = 'running' AND (lease_owner IS NULL OR lease_owner <> ?2)",
            &[&now(), &owner],
            "interrupted",
            "the daemon stopped during every attempt",
        )?;
        tx.commit()?;
        Ok(counts)
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
        if let Some(before) = filter.before_id {
            params.push(SqlValue::Integer(before));
            sql += &format!(" AND j.id < ?{}", params.len());
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
