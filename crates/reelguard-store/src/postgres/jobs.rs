//! The durable job queue on PostgreSQL: the [`Jobs`] trait for any number of worker
//! processes on any machines.
//!
//! The decision that shapes it: **rows are claimed with `FOR UPDATE SKIP LOCKED`, and every
//! time is the server's.** A claim locks the oldest claimable row and skips rows other claims
//! hold, so N workers never wait on each other or take the same job; the same goes for the
//! sweep of expired leases that each claim runs first. Lease expiry, due times and completion
//! all read `now()` on the server, so workers on machines whose clocks disagree still agree
//! on who holds what. Every later write presents the lease token in its `WHERE` clause, which
//! makes completion idempotent: a worker whose lease was taken over writes nothing.
//!
//! Every write that can make a job claimable (a submission, a re-queue, a retry, a lease
//! taken back) sends `NOTIFY` in its own transaction ([`super::JobWaker`]).
//!
//! Unlike SQLite, where one writer serialises all submissions, `max_unfinished` is checked
//! without a lock here: concurrent submissions may pass it by at most the number of
//! submitters at that moment. It is a guard against a runaway backlog, not an exact quota.

use std::time::Duration;

use deadpool_postgres::Client;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::queue::{
    changed, claim, complete, expire_in_tx, fail, is_unique_violation, job_from_row, notify,
    replayed_job, submit_registration, unfinished, JOB_COLUMNS, NOW,
};
use super::{pooled, PgStore};
use crate::error::StoreError;
use crate::jobs::{
    lease_secs, IdempotencyKey, Job, JobCount, JobFilter, JobState, Jobs, NewFile, QueueLimits,
    Submission,
};
use crate::matches::NewMatch;
use crate::util::random_token;

impl Jobs for PgStore {
    fn submit_registration(
        &self,
        member_id: i64,
        work_id: &str,
        file: &NewFile,
        idempotency: Option<&IdempotencyKey>,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError> {
        let (work_id, file, idempotency) =
            (work_id.to_string(), file.clone(), idempotency.cloned());
        self.run(move |pool| async move {
            let mut client = pooled(&pool).await?;
            let c: &mut Client = &mut client;
            match submit_registration(c, member_id, &work_id, &file, idempotency.as_ref(), limits)
                .await
            {
                // A concurrent retry with the same key committed first: answer as its replay.
                Err(e) if is_unique_violation(&e) => {
                    submit_registration(c, member_id, &work_id, &file, idempotency.as_ref(), limits)
                        .await
                }
                other => other,
            }
        })
    }

    fn idempotent_job(
        &self,
        member_id: i64,
        idempotency: &IdempotencyKey,
    ) -> Result<Option<i64>, StoreError> {
        let idempotency = idempotency.clone();
        self.run(move |pool| async move {
            replayed_job(&pooled(&pool).await?, member_id, &idempotency).await
        })
    }

    fn queue_depth(&self) -> Result<u64, StoreError> {
        self.run(|pool| async move { unfinished(&pooled(&pool).await?).await })
    }

    fn claim_job(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let token = random_token()?;
        let owner = owner.to_string();
        self.run(move |pool| async move {
            let mut client = pooled(&pool).await?;
            claim(&mut client, &owner, &token, lease_secs(lease)).await
        })
    }

    fn renew_lease(&self, job_id: i64, token: &str, lease: Duration) -> Result<bool, StoreError> {
        let token = token.to_string();
        self.run(move |pool| async move {
            let sql = format!(
                "UPDATE jobs SET lease_until = {NOW} + $3 \
                 WHERE id = $1 AND state = 'running' AND lease_token = $2"
            );
            let n = changed(
                &pool,
                sql,
                vec![
                    Box::new(job_id),
                    Box::new(token),
                    Box::new(lease_secs(lease)),
                ],
            )
            .await?;
            Ok(n > 0)
        })
    }

    fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.run(|pool| async move {
            let row = pooled(&pool)
                .await?
                .query_one(
                    "SELECT MIN(t) FROM ( \
                         SELECT MIN(next_attempt_at) AS t FROM jobs WHERE state = 'queued' \
                         UNION ALL \
                         SELECT MIN(COALESCE(lease_until, 0)) AS t FROM jobs \
                         WHERE state = 'running') due",
                    &[],
                )
                .await?;
            Ok(row.try_get(0)?)
        })
    }

    fn set_progress(&self, job_id: i64, token: &str, progress: f64) -> Result<bool, StoreError> {
        let token = token.to_string();
        self.run(move |pool| async move {
            let n = changed(
                &pool,
                "UPDATE jobs SET progress = $3 \
                 WHERE id = $1 AND state = 'running' AND lease_token = $2"
                    .into(),
                vec![
                    Box::new(job_id),
                    Box::new(token),
                    Box::new(progress.clamp(0.0, 1.0)),
                ],
            )
            .await?;
            Ok(n > 0)
        })
    }

    fn complete_job(
        &self,
        job_id: i64,
        token: &str,
        result: &Value,
        matches: &[NewMatch],
    ) -> Result<bool, StoreError> {
        let (token, result, matches) = (
            token.to_string(),
            serde_json::to_string(result)?,
            matches.to_vec(),
        );
        self.run(move |pool| async move {
            let mut client = pooled(&pool).await?;
            complete(&mut client, job_id, &token, result, &matches).await
        })
    }

    fn fail_job(
        &self,
        job_id: i64,
        token: &str,
        error_kind: &str,
        error: &str,
        retry_after: Option<i64>,
    ) -> Result<JobState, StoreError> {
        let (token, kind, error) = (token.to_string(), error_kind.to_string(), error.to_string());
        self.run(move |pool| async move {
            let mut client = pooled(&pool).await?;
            fail(&mut client, job_id, &token, &kind, &error, retry_after).await
        })
    }

    fn requeue(&self, job_id: i64, token: &str) -> Result<bool, StoreError> {
        let token = token.to_string();
        self.run(move |pool| async move {
            let mut client = pooled(&pool).await?;
            let c: &mut Client = &mut client;
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    &format!(
                        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, \
                         progress = 0, next_attempt_at = {NOW} \
                         WHERE id = $1 AND state = 'running' AND lease_token = $2 \
                         AND attempts > 0"
                    ),
                    &[&job_id, &token],
                )
                .await?;
            if n > 0 {
                notify(&tx).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    fn recover_interrupted(&self) -> Result<(u64, u64), StoreError> {
        self.run(|pool| async move {
            let mut client = pooled(&pool).await?;
            expire_in_tx(&mut client, "state = 'running'", None).await
        })
    }

    fn expire_leases_of_others(&self, owner: &str) -> Result<(u64, u64), StoreError> {
        let owner = owner.to_string();
        self.run(move |pool| async move {
            let mut client = pooled(&pool).await?;
            expire_in_tx(
                &mut client,
                "state = 'running' AND (lease_owner IS NULL OR lease_owner <> $1)",
                Some(owner),
            )
            .await
        })
    }

    fn job(&self, job_id: i64) -> Result<Option<Job>, StoreError> {
        self.run(move |pool| async move {
            pooled(&pool)
                .await?
                .query_opt(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                    &[&job_id],
                )
                .await?
                .as_ref()
                .map(job_from_row)
                .transpose()
        })
    }

    fn job_visible_to(&self, job: &Job, member_id: i64) -> Result<bool, StoreError> {
        if job.member_id == member_id {
            return Ok(true);
        }
        let Some(suspect_id) = job.suspect_id else {
            return Ok(false);
        };
        self.run(move |pool| async move {
            let n: i64 = pooled(&pool)
                .await?
                .query_one(
                    "SELECT COUNT(*) FROM suspect_sources \
                     WHERE suspect_id = $1 AND member_id = $2",
                    &[&suspect_id, &member_id],
                )
                .await?
                .try_get(0)?;
            Ok(n > 0)
        })
    }

    fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs j WHERE 1 = 1");
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        if let Some(state) = filter.state {
            params.push(Box::new(state.as_str()));
            sql += &format!(" AND j.state = ${}", params.len());
        }
        if let Some(member) = filter.visible_to {
            params.push(Box::new(member));
            let n = params.len();
            sql += &format!(
                " AND (j.member_id = ${n} OR j.suspect_id IN \
                 (SELECT suspect_id FROM suspect_sources WHERE member_id = ${n}))"
            );
        }
        if let Some(before) = filter.before_id {
            params.push(Box::new(before));
            sql += &format!(" AND j.id < ${}", params.len());
        }
        params.push(Box::new(i64::from(filter.limit.max(1))));
        sql += &format!(" ORDER BY j.id DESC LIMIT ${}", params.len());
        self.run(move |pool| async move {
            let client = pooled(&pool).await?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as _).collect();
            client
                .query(&sql, &refs)
                .await?
                .iter()
                .map(job_from_row)
                .collect()
        })
    }

    fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        self.run(|pool| async move {
            let rows = pooled(&pool)
                .await?
                .query(
                    "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    let (kind, state, n): (String, String, i64) =
                        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                    Ok(JobCount {
                        kind: Some(kind.parse()?),
                        state: Some(state.parse()?),
                        count: n.max(0) as u64,
                    })
                })
                .collect()
        })
    }
}
