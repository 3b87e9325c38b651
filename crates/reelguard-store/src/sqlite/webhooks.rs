//! Webhooks on SQLite: endpoints, the outbox written with each notice, claims and attempts.
//!
//! The decision that shapes it: the outbox row is inserted on the connection of the
//! transaction that writes the notice ([`enqueue_notice_webhook`]), and a claim leases a
//! delivery by moving its next attempt time, so no recovery step is needed after a crash.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use super::rows::{in_list, json_col, parse_col};
use super::SqliteStore;
use crate::error::StoreError;
use crate::reviews::Notice;
use crate::util::{now, random_token};
use crate::webhooks::{
    backoff_ms, notice_payload, now_ms, AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState,
    DueDelivery, Webhook, WebhookPolicy, Webhooks, EVENT_INFRINGEMENT_CONFIRMED, MAX_URL_LEN,
};

const DELIVERY_COLUMNS: &str = "id, notice_id, event, url, state, attempts, max_attempts, \
    next_attempt_at_ms, last_status, last_error, payload, created_at, delivered_at";

fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let state: DeliveryState = parse_col(row, 4)?;
    let next: i64 = row.get(7)?;
    Ok(Delivery {
        id: row.get(0)?,
        notice_id: row.get(1)?,
        event: row.get(2)?,
        url: row.get(3)?,
        state,
        attempts: row.get(5)?,
        max_attempts: row.get(6)?,
        next_attempt_at_ms: (state == DeliveryState::Pending).then_some(next),
        last_status: row.get(8)?,
        last_error: row.get(9)?,
        payload: json_col(row, 10)?,
        created_at: row.get(11)?,
        delivered_at: row.get(12)?,
        log: Vec::new(),
    })
}

/// Queues the `infringement.confirmed` delivery of a new notice, inside the caller's
/// transaction (the one that wrote the notice). Returns the delivery id, or `None` when the
/// member has no webhook.
pub(super) fn enqueue_notice_webhook(
    tx: &Connection,
    notice: &Notice,
    policy: WebhookPolicy,
) -> Result<Option<i64>, StoreError> {
    let url: Option<String> = tx
        .query_row(
            "SELECT url FROM webhooks WHERE member_id = ?1",
            [notice.member_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(url) = url else {
        return Ok(None);
    };
    // The payload names its own delivery id, known only once the row exists.
    let id: i64 = tx.query_row(
        "INSERT INTO webhook_deliveries (member_id, notice_id, event, url, payload, state, \
         attempts, max_attempts, next_attempt_at_ms, created_at) \
         VALUES (?1, ?2, ?3, ?4, '{}', 'pending', 0, ?5, ?6, ?7) RETURNING id",
        (
            notice.member_id,
            notice.id,
            EVENT_INFRINGEMENT_CONFIRMED,
            &url,
            i64::from(policy.max_attempts.max(1)),
            now_ms(),
            now(),
        ),
        |r| r.get(0),
    )?;
    let payload = serde_json::to_string(&notice_payload(id, notice))?;
    tx.execute(
        "UPDATE webhook_deliveries SET payload = ?2 WHERE id = ?1",
        (id, payload),
    )?;
    Ok(Some(id))
}

fn webhook_from_row(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        member_id: row.get(0)?,
        url: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
    })
}

impl Webhooks for SqliteStore {
    fn set_webhook_policy(&self, policy: WebhookPolicy) {
        self.set_policy(policy);
    }

    fn put_webhook(&self, member_id: i64, url: &str) -> Result<(Webhook, String), StoreError> {
        if url.is_empty() || url.len() > MAX_URL_LEN {
            return Err(StoreError::Invalid(format!(
                "a webhook URL must be 1–{MAX_URL_LEN} bytes"
            )));
        }
        let secret = format!("whsec_{}", random_token()?);
        let t = now();
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let hook = tx.query_row(
            "INSERT INTO webhooks (member_id, url, secret, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) \
             ON CONFLICT (member_id) DO UPDATE SET url = excluded.url, \
             secret = excluded.secret, updated_at = excluded.updated_at \
             RETURNING member_id, url, created_at, updated_at",
            (member_id, url, &secret, t),
            webhook_from_row,
        )?;
        tx.execute(
            "UPDATE webhook_deliveries SET url = ?2 WHERE member_id = ?1 AND state = 'pending'",
            (member_id, url),
        )?;
        tx.commit()?;
        Ok((hook, secret))
    }

    fn webhook(&self, member_id: i64) -> Result<Option<Webhook>, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT member_id, url, created_at, updated_at FROM webhooks \
                 WHERE member_id = ?1",
                [member_id],
                webhook_from_row,
            )
            .optional()?)
    }

    fn delete_webhook(&self, member_id: i64) -> Result<(), StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if tx.execute("DELETE FROM webhooks WHERE member_id = ?1", [member_id])? == 0 {
            return Err(StoreError::NotFound("webhook".into()));
        }
        tx.execute(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = 'webhook removed' \
             WHERE member_id = ?1 AND state = 'pending'",
            [member_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn claim_due_webhooks(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due = {
            let mut stmt = tx.prepare(
                "SELECT d.id, d.member_id, d.notice_id, d.event, d.url, w.secret, d.payload, \
                 d.attempts FROM webhook_deliveries d JOIN webhooks w ON w.member_id = d.member_id \
                 WHERE d.state = 'pending' AND d.next_attempt_at_ms <= ?1 \
                 ORDER BY d.next_attempt_at_ms, d.id LIMIT ?2",
            )?;
            let rows = stmt.query_map((now_ms, i64::from(limit.max(1))), |row| {
                Ok(DueDelivery {
                    id: row.get(0)?,
                    member_id: row.get(1)?,
                    notice_id: row.get(2)?,
                    event: row.get(3)?,
                    url: row.get(4)?,
                    secret: row.get(5)?,
                    payload: row.get(6)?,
                    attempts: row.get(7)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        for d in &due {
            tx.execute(
                "UPDATE webhook_deliveries SET next_attempt_at_ms = ?2 WHERE id = ?1",
                (d.id, now_ms.saturating_add(lease_ms)),
            )?;
        }
        tx.commit()?;
        Ok(due)
    }

    fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.read().query_row(
            "SELECT MIN(next_attempt_at_ms) FROM webhook_deliveries WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?)
    }

    fn record_webhook_attempt(
        &self,
        delivery_id: i64,
        outcome: &AttemptOutcome,
        backoff_base_ms: u64,
    ) -> Result<DeliveryState, StoreError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (state, attempts, max_attempts): (String, u32, u32) = tx
            .query_row(
                "SELECT state, attempts, max_attempts FROM webhook_deliveries WHERE id = ?1",
                [delivery_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("webhook delivery {delivery_id}")))?;
        let attempt = attempts + 1;
        let t = now();
        let duration_ms = i64::try_from(outcome.duration_ms).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, duration_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                delivery_id,
                attempt,
                t,
                outcome.status,
                &outcome.error,
                duration_ms,
            ),
        )?;
        let current: DeliveryState = state.parse()?;
        // A delivery that changed state while in flight (the webhook was removed) stays as it
        // is; the attempt is still logged.
        let next = if current != DeliveryState::Pending {
            current
        } else if outcome.succeeded() {
            DeliveryState::Delivered
        } else if attempt >= max_attempts {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        };
        let next_at = now_ms().saturating_add(backoff_ms(backoff_base_ms, attempt));
        tx.execute(
            "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at_ms = ?4, \
             last_status = ?5, last_error = ?6, \
             delivered_at = CASE WHEN ?2 = 'delivered' THEN ?7 ELSE delivered_at END \
             WHERE id = ?1",
            (
                delivery_id,
                next.as_str(),
                attempt,
                next_at,
                outcome.status,
                &outcome.error,
                t,
            ),
        )?;
        tx.commit()?;
        Ok(next)
    }

    fn webhook_deliveries(
        &self,
        member_id: i64,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        // One read transaction: the deliveries and their attempts come from one snapshot.
        let reader = self.read();
        let conn = reader.unchecked_transaction()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE member_id = ?1 \
             AND id < ?3 ORDER BY id DESC LIMIT ?2"
        ))?;
        let before = before_id.unwrap_or(i64::MAX);
        let mut deliveries = stmt
            .query_map(
                (member_id, i64::from(limit.max(1)), before),
                delivery_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        // Every listed delivery's attempts in one query, not one query per delivery.
        let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
        let mut params = Vec::new();
        let sql = format!(
            "SELECT delivery_id, attempt, at, status, error, duration_ms FROM webhook_attempts \
             WHERE 1 = 1{} ORDER BY attempt, id",
            in_list("delivery_id", &ids, &mut params)
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, i64>(0)?,
                DeliveryAttempt {
                    attempt: row.get(1)?,
                    at: row.get(2)?,
                    status: row.get(3)?,
                    error: row.get(4)?,
                    duration_ms: row.get::<_, i64>(5)?.max(0) as u64,
                },
            ))
        })?;
        let mut logs: HashMap<i64, Vec<DeliveryAttempt>> = HashMap::new();
        for row in rows {
            let (delivery_id, attempt) = row?;
            logs.entry(delivery_id).or_default().push(attempt);
        }
        for d in &mut deliveries {
            d.log = logs.remove(&d.id).unwrap_or_default();
        }
        Ok(deliveries)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::test_support::scanned_to_match;
    use super::super::SqliteStore;
    use crate::prelude::*;
    use crate::webhooks::{
        now_ms, AttemptOutcome, DeliveryState, WebhookPolicy, EVENT_INFRINGEMENT_CONFIRMED,
    };
    use crate::{MatchFilter, NewFile, Notice, QueueLimits, Role, SourceMeta, StoreError, Verdict};

    /// A store with one pending match against a work of `acme`, and a reviewer caller.
    fn setup() -> (tempfile::TempDir, SqliteStore, i64, crate::Caller, i64) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open_in(dir.path()).expect("open");
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let limits = QueueLimits {
            max_unfinished: 10,
            max_attempts: 1,
        };
        let mut match_ids = Vec::new();
        for sha in ["a", "b"] {
            let file = NewFile {
                sha256: sha.into(),
                size_bytes: 1,
                path: format!("/tmp/{sha}"),
                name: "x.mp4".into(),
            };
            scanned_to_match(&s, owner.id, &file, &SourceMeta::default(), limits);
        }
        for m in s
            .matches(&MatchFilter {
                limit: 10,
                ..MatchFilter::default()
            })
            .expect("matches")
        {
            match_ids.push(m.id);
        }
        let reviewer = s.ensure_member("review").expect("member");
        let (_, key) = s.create_key(reviewer.id, Role::Reviewer).expect("key");
        let caller = s.authenticate(&key).expect("auth").expect("valid");
        (dir, s, owner.id, caller, match_ids[0])
    }

    fn confirm(s: &SqliteStore, match_id: i64, caller: &crate::Caller) -> Notice {
        s.decide(
            match_id,
            caller,
            Verdict::Confirm,
            "copy",
            &|_, _, _| json!({"kind": "takedown_request"}),
        )
        .expect("decide")
        .1
        .expect("notice")
    }

    #[test]
    fn a_member_without_a_webhook_gets_no_delivery() {
        let (_dir, s, owner, caller, match_id) = setup();
        confirm(&s, match_id, &caller);
        assert!(s
            .webhook_deliveries(owner, None, 10)
            .expect("list")
            .is_empty());
        assert!(s
            .claim_due_webhooks(now_ms(), 1000, 10)
            .expect("claim")
            .is_empty());
    }

    #[test]
    fn a_confirmed_notice_is_queued_with_its_body_and_retried_until_delivered() {
        let (_dir, s, owner, caller, match_id) = setup();
        let (hook, secret) = s
            .put_webhook(owner, "http://127.0.0.1:9/hook")
            .expect("put");
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 64);
        assert_eq!(s.webhook(owner).expect("get"), Some(hook));
        let notice = confirm(&s, match_id, &caller);
        let due = s.claim_due_webhooks(now_ms(), 60_000, 10).expect("claim");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].secret, secret);
        assert!(
            !format!("{:?}", due[0]).contains(&secret),
            "Debug hides the secret"
        );
        let payload: Value = serde_json::from_str(&due[0].payload).expect("json");
        assert_eq!(payload["event"], EVENT_INFRINGEMENT_CONFIRMED);
        assert_eq!(payload["delivery_id"], due[0].id);
        assert_eq!(payload["notice_id"], notice.id);
        assert_eq!(payload["match_id"], match_id);
        assert_eq!(payload["notice"], notice.body);
        // Leased: not claimed twice.
        assert!(s
            .claim_due_webhooks(now_ms(), 60_000, 10)
            .expect("claim")
            .is_empty());
        let fail = AttemptOutcome {
            status: Some(500),
            error: Some("HTTP 500".into()),
            duration_ms: 3,
        };
        assert_eq!(
            s.record_webhook_attempt(due[0].id, &fail, 0)
                .expect("record"),
            DeliveryState::Pending
        );
        let again = s.claim_due_webhooks(now_ms(), 60_000, 10).expect("claim");
        assert_eq!(again.len(), 1, "a zero backoff is due at once");
        assert_eq!(again[0].attempts, 1);
        let ok = AttemptOutcome {
            status: Some(204),
            error: None,
            duration_ms: 2,
        };
        assert_eq!(
            s.record_webhook_attempt(again[0].id, &ok, 0)
                .expect("record"),
            DeliveryState::Delivered
        );
        let log = s.webhook_deliveries(owner, None, 10).expect("list");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].state, DeliveryState::Delivered);
        assert_eq!(log[0].attempts, 2);
        assert!(log[0].delivered_at.is_some() && log[0].next_attempt_at_ms.is_none());
        let statuses: Vec<_> = log[0].log.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [Some(500), Some(204)]);
    }

    #[test]
    fn attempts_run_out_and_removal_fails_pending_deliveries() {
        let (_dir, s, owner, caller, match_id) = setup();
        s.set_webhook_policy(WebhookPolicy { max_attempts: 2 });
        s.put_webhook(owner, "http://127.0.0.1:9/hook")
            .expect("put");
        confirm(&s, match_id, &caller);
        let refused = AttemptOutcome {
            status: None,
            error: Some("connection refused".into()),
            duration_ms: 1,
        };
        let id = s.claim_due_webhooks(now_ms(), 0, 1).expect("claim")[0].id;
        assert_eq!(
            s.record_webhook_attempt(id, &refused, 3_600_000)
                .expect("record"),
            DeliveryState::Pending
        );
        assert!(
            s.claim_due_webhooks(now_ms(), 0, 1)
                .expect("claim")
                .is_empty(),
            "backing off"
        );
        assert_eq!(
            s.record_webhook_attempt(id, &refused, 0).expect("record"),
            DeliveryState::Failed
        );
        // A second notice is queued, then the webhook is removed: it fails, unsent.
        let other = s
            .matches(&MatchFilter {
                state: Some(crate::MatchState::PendingReview),
                limit: 10,
                ..MatchFilter::default()
            })
            .expect("matches")[0]
            .id;
        confirm(&s, other, &caller);
        s.delete_webhook(owner).expect("delete");
        assert!(matches!(
            s.delete_webhook(owner),
            Err(StoreError::NotFound(_))
        ));
        let log = s.webhook_deliveries(owner, None, 10).expect("list");
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].last_error.as_deref(), Some("webhook removed"));
        assert!(log.iter().all(|d| d.state == DeliveryState::Failed));
        assert!(s
            .claim_due_webhooks(now_ms(), 0, 10)
            .expect("claim")
            .is_empty());
    }

    #[test]
    fn rotating_the_secret_keeps_the_webhook_and_redirects_pending_deliveries() {
        let (_dir, s, owner, caller, match_id) = setup();
        let (first, old) = s.put_webhook(owner, "http://a.example/h").expect("put");
        confirm(&s, match_id, &caller);
        let (second, new) = s.put_webhook(owner, "https://b.example/h").expect("put");
        assert_ne!(old, new);
        assert_eq!(first.created_at, second.created_at);
        let due = s.claim_due_webhooks(now_ms(), 0, 10).expect("claim");
        assert_eq!(due[0].url, "https://b.example/h");
        assert_eq!(due[0].secret, new);
    }
}
