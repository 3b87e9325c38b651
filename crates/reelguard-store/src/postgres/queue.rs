//! The job queue's statements and transactions on PostgreSQL, one async function per
//! operation; `jobs.rs` puts them behind the synchronous [`crate::Jobs`] trait.
//!
//! The decision that shapes it: each operation is one transaction that re-checks the job's
//! state and lease token in its `WHERE` clause (or under `FOR UPDATE`), so a write from a
//! worker that lost its lease changes nothing; hot statements are prepared once per
//! connection.

use deadpool_postgres::{Client, GenericClient, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use super::{pooled, JOBS_CHANNEL};
use crate::error::StoreError;
use crate::jobs::{IdempotencyKey, Job, JobState, Lease, NewFile, QueueLimits, Submission};
use crate::matches::{signals_of, NewMatch};

pub(super) const JOB_COLUMNS: &str =
    "id, kind, state, member_id, suspect_id, work_id, file_path, file_name, \
    attempts, max_attempts, next_attempt_at, progress, error_kind, error, result, created_at, \
    started_at, finished_at, lease_owner, lease_token, lease_until";

/// The server's clock, in Unix seconds (the transaction's start, so one transaction sees one
/// time).
pub(super) const NOW: &str = "CAST(floor(EXTRACT(EPOCH FROM now())) AS BIGINT)";

/// A running job whose lease is over (or that has none).
pub(super) const LEASE_EXPIRED: &str =
    "state = 'running' AND (lease_until IS NULL OR lease_until <= \
    CAST(floor(EXTRACT(EPOCH FROM now())) AS BIGINT))";

pub(super) fn job_from_row(row: &Row) -> Result<Job, StoreError> {
    let kind: String = row.try_get(1)?;
    let state: String = row.try_get(2)?;
    let result: Option<String> = row.try_get(14)?;
    let attempts: i64 = row.try_get(8)?;
    let max_attempts: i64 = row.try_get(9)?;
    let lease = match (row.try_get(18)?, row.try_get(19)?, row.try_get(20)?) {
        (Some(owner), Some(token), Some(until)) => Some(Lease {
            owner,
            token,
            until,
        }),
        _ => None,
    };
    Ok(Job {
        id: row.try_get(0)?,
        kind: kind.parse()?,
        state: state.parse()?,
        member_id: row.try_get(3)?,
        suspect_id: row.try_get(4)?,
        work_id: row.try_get(5)?,
        file_path: row.try_get(6)?,
        file_name: row.try_get(7)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
        next_attempt_at: row.try_get(10)?,
        progress: row.try_get(11)?,
        error_kind: row.try_get(12)?,
        error: row.try_get(13)?,
        result: result.map(|r| serde_json::from_str(&r)).transpose()?,
        created_at: row.try_get(15)?,
        started_at: row.try_get(16)?,
        finished_at: row.try_get(17)?,
        lease,
    })
}

/// A statement prepared once per connection (deadpool's cache): a claim is then one round
/// trip per statement instead of two (parse, then execute).
pub(super) async fn cached(c: &impl GenericClient, sql: &str) -> Result<Statement, StoreError> {
    Ok(c.prepare_cached(sql).await?)
}

pub(super) async fn notify(c: &impl GenericClient) -> Result<(), StoreError> {
    c.batch_execute(&format!("NOTIFY {JOBS_CHANNEL}")).await?;
    Ok(())
}

/// Fails the running jobs `which` selects that have no attempts left, and queues the others
/// again (the attempt they were on counts), skipping rows another transaction holds. `which`
/// may bind `$1`, given as `extra`. Returns `(requeued, failed)`.
pub(super) async fn expire(
    tx: &impl GenericClient,
    which: &str,
    extra: Option<&str>,
    error_kind: &str,
    error: &str,
) -> Result<(u64, u64), StoreError> {
    let select = |more: &str| {
        format!("SELECT id FROM jobs WHERE {which} {more} ORDER BY id FOR UPDATE SKIP LOCKED")
    };
    // The condition's parameter (if any) is `$1`; the failure's texts are numbered after it.
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    if let Some(x) = &extra {
        params.push(x);
    }
    let n = params.len();
    let requeued = tx
        .execute(
            &cached(
                tx,
                &format!(
                    "UPDATE jobs SET state = 'queued', next_attempt_at = {NOW}, progress = 0 \
                     WHERE id IN ({})",
                    select("AND attempts < max_attempts")
                ),
            )
            .await?,
            &params,
        )
        .await?;
    params.extend([&error_kind as &(dyn ToSql + Sync), &error]);
    let failed = tx
        .execute(
            &cached(
                tx,
                &format!(
                    "UPDATE jobs SET state = 'failed', finished_at = {NOW}, error_kind = ${}, \
                     error = ${} WHERE id IN ({})",
                    n + 1,
                    n + 2,
                    select("AND attempts >= max_attempts")
                ),
            )
            .await?,
            &params,
        )
        .await?;
    if requeued > 0 {
        notify(tx).await?;
    }
    Ok((requeued, failed))
}

/// The job a member's idempotency key names, if the digest matches; another request's key is
/// refused.
pub(super) async fn replayed_job(
    c: &impl GenericClient,
    member_id: i64,
    idempotency: &IdempotencyKey,
) -> Result<Option<i64>, StoreError> {
    let row = c
        .query_opt(
            "SELECT job_id, request_sha256 FROM idempotency_keys \
             WHERE member_id = $1 AND idempotency_key = $2",
            &[&member_id, &idempotency.key],
        )
        .await?;
    match row {
        Some(row) => {
            let (job_id, digest): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
            if digest == idempotency.request_sha256 {
                Ok(Some(job_id))
            } else {
                Err(StoreError::IdempotencyKeyReused(idempotency.key.clone()))
            }
        }
        None => Ok(None),
    }
}

pub(super) async fn unfinished(c: &impl GenericClient) -> Result<u64, StoreError> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
            &[],
        )
        .await?
        .try_get(0)?;
    Ok(n.max(0) as u64)
}

/// One attempt at [`Jobs::submit_registration`].
pub(super) async fn submit_registration(
    client: &mut Client,
    member_id: i64,
    work_id: &str,
    file: &NewFile,
    idempotency: Option<&IdempotencyKey>,
    limits: QueueLimits,
) -> Result<Submission, StoreError> {
    let tx = client.transaction().await?;
    if let Some(i) = idempotency {
        if let Some(job_id) = replayed_job(&tx, member_id, i).await? {
            return Ok(Submission::registration(job_id, true));
        }
    }
    let depth = unfinished(&tx).await?;
    if depth >= limits.max_unfinished {
        return Err(StoreError::QueueFull {
            depth,
            limit: limits.max_unfinished,
        });
    }
    let job_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO jobs (kind, state, member_id, work_id, file_path, file_name, \
                 max_attempts, next_attempt_at, created_at) \
                 VALUES ('register', 'queued', $1, $2, $3, $4, $5, {NOW}, {NOW}) RETURNING id"
            ),
            &[
                &member_id,
                &work_id,
                &file.path,
                &file.name,
                &i64::from(limits.max_attempts),
            ],
        )
        .await?
        .try_get(0)?;
    if let Some(i) = idempotency {
        tx.execute(
            &format!(
                "INSERT INTO idempotency_keys (member_id, idempotency_key, request_sha256, \
                 job_id, created_at) VALUES ($1, $2, $3, $4, {NOW})"
            ),
            &[&member_id, &i.key, &i.request_sha256, &job_id],
        )
        .await?;
    }
    notify(&tx).await?;
    tx.commit().await?;
    Ok(Submission::registration(job_id, false))
}

/// Whether an error is a unique violation (a concurrent request won a race on a key).
pub(super) fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Postgres { code: Some(code), .. }
        if code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION.code())
}

pub(super) async fn claim(
    client: &mut Client,
    owner: &str,
    token: &str,
    lease: i64,
) -> Result<Option<Job>, StoreError> {
    let tx = client.transaction().await?;
    let (requeued, failed) = expire(
        &tx,
        LEASE_EXPIRED,
        None,
        "lease_expired",
        "its worker stopped renewing the lease during every attempt",
    )
    .await?;
    if requeued + failed > 0 {
        tracing::warn!(requeued, failed, "took over jobs whose lease expired");
    }
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = {NOW}, \
                 progress = 0, lease_owner = $1, lease_token = $2, lease_until = {NOW} + $3 \
                 WHERE id = (SELECT j.id FROM jobs j WHERE j.state = 'queued' \
                     AND j.next_attempt_at <= {NOW} \
                     AND NOT (j.kind = 'register' AND EXISTS (SELECT 1 FROM jobs o \
                         WHERE o.kind = 'register' AND o.work_id = j.work_id AND o.id < j.id \
                         AND o.state IN ('queued', 'running'))) \
                     ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 AND state = 'queued' \
                 RETURNING {JOB_COLUMNS}"
    );
    let row = tx
        .query_opt(&cached(&tx, &sql).await?, &[&owner, &token, &lease])
        .await?;
    let job = row.as_ref().map(job_from_row).transpose()?;
    tx.commit().await?;
    Ok(job)
}

pub(super) async fn complete(
    client: &mut Client,
    job_id: i64,
    token: &str,
    result: String,
    matches: &[NewMatch],
) -> Result<bool, StoreError> {
    let tx = client.transaction().await?;
    let held = cached(
        &tx,
        "SELECT suspect_id FROM jobs WHERE id = $1 AND state = 'running' \
         AND lease_token = $2 FOR UPDATE",
    )
    .await?;
    let row = tx.query_opt(&held, &[&job_id, &token]).await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let suspect: Option<i64> = row.try_get(0)?;
    if !matches.is_empty() {
        let suspect_id = suspect
            .ok_or_else(|| StoreError::Invalid(format!("job {job_id} has no suspect to match")))?;
        for m in matches {
            let signals = signals_of(&m.segments)
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let content_box = m
                .content_box
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?;
            tx.execute(
                &format!(
                    "INSERT INTO matches (suspect_id, job_id, work_id, episode, episode_id, \
                     score, segments, transformation, state, created_at, content_box, signals) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending_review', {NOW}, $9, $10) \
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    &suspect_id,
                    &job_id,
                    &m.work_id,
                    &i64::from(m.episode),
                    &(m.episode_id as i64),
                    &m.score,
                    &serde_json::to_string(&m.segments)?,
                    &m.transformation.join(","),
                    &content_box,
                    &signals,
                ],
            )
            .await?;
        }
    }
    let finish = format!(
        "UPDATE jobs SET state = 'succeeded', progress = 1, result = $2, finished_at = {NOW}, \
         error_kind = NULL, error = NULL WHERE id = $1"
    );
    tx.execute(&cached(&tx, &finish).await?, &[&job_id, &result])
        .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn fail(
    client: &mut Client,
    job_id: i64,
    token: &str,
    error_kind: &str,
    error: &str,
    retry_after: Option<i64>,
) -> Result<JobState, StoreError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT attempts, max_attempts, \
             state = 'running' AND COALESCE(lease_token = $2, FALSE) \
             FROM jobs WHERE id = $1 FOR UPDATE",
            &[&job_id, &token],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {job_id}")))?;
    let (attempts, max_attempts, held): (i64, i64, bool) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if !held {
        return Err(StoreError::LeaseLost { job_id });
    }
    let state = match retry_after {
        Some(delay) if attempts < max_attempts => {
            tx.execute(
                &format!(
                    "UPDATE jobs SET state = 'queued', next_attempt_at = {NOW} + $2, \
                     error_kind = $3, error = $4, progress = 0 WHERE id = $1"
                ),
                &[&job_id, &delay.max(0), &error_kind, &error],
            )
            .await?;
            notify(&tx).await?;
            JobState::Queued
        }
        _ => {
            tx.execute(
                &format!(
                    "UPDATE jobs SET state = 'failed', finished_at = {NOW}, error_kind = $2, \
                     error = $3 WHERE id = $1"
                ),
                &[&job_id, &error_kind, &error],
            )
            .await?;
            JobState::Failed
        }
    };
    tx.commit().await?;
    Ok(state)
}

pub(super) async fn expire_in_tx(
    client: &mut Client,
    which: &'static str,
    extra: Option<String>,
) -> Result<(u64, u64), StoreError> {
    let tx = client.transaction().await?;
    let counts = expire(
        &tx,
        which,
        extra.as_deref(),
        "interrupted",
        "the daemon stopped during every attempt",
    )
    .await?;
    tx.commit().await?;
    Ok(counts)
}

/// Runs one statement that changes rows, returning how many it changed.
pub(super) async fn changed(
    pool: &Pool,
    sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
) -> Result<u64, StoreError> {
    let client = pooled(pool).await?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as _).collect();
    Ok(client.execute(&cached(&client, &sql).await?, &refs).await?)
}
