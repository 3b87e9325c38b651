//! Webhooks: a member's endpoint, the durable outbox of deliveries, and the delivery log.
//!
//! The decision that shapes this module: **the outbox is written in the transaction that writes
//! the notice** ([`enqueue_notice_webhook`], called from [`Store::decide`]). A confirmed match
//! therefore always has its delivery, even if the daemon dies right after the commit, and a
//! rolled-back decision never announces anything. The server's delivery worker then claims due
//! deliveries, POSTs them and records each attempt; delivery is at least once (a crash between
//! the POST and the record repeats it), so receivers deduplicate on the delivery id.
//!
//! Claiming leases a delivery: its next attempt time moves past the HTTP timeout, so an attempt
//! cut short by a crash is retried when the lease runs out, without any recovery step at start.

use std::collections::HashMap;
use std::fmt;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{in_list, json_col, now, parse_col, random_token, Notice, Store, StoreError};

/// The event a confirmed match sends.
pub const EVENT_INFRINGEMENT_CONFIRMED: &str = "infringement.confirmed";

/// Longest accepted endpoint URL, in bytes.
pub const MAX_URL_LEN: usize = 2000;

/// Longest wait between two attempts, whatever the backoff base: a day.
const MAX_BACKOFF_MS: i64 = 24 * 3600 * 1000;

/// Milliseconds since the Unix epoch: the outbox's retry clock (see the schema's comment).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How deliveries are retried: set once by the daemon from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// HTTP attempts per delivery before it is given up as failed.
    pub max_attempts: u32,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy { max_attempts: 8 }
    }
}

text_enum!(
    /// Where a delivery is.
    DeliveryState {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// An attempt got a 2xx answer.
        Delivered = "delivered",
        /// Given up: attempts ran out, or the member removed the webhook.
        Failed = "failed",
    }
);

/// A member's webhook as shown to the member (the secret is shown once, when it is made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// The member.
    pub member_id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, of the last change of URL or secret.
    pub updated_at: i64,
}

/// A delivery claimed for an attempt, with what signing and sending it needs.
#[derive(Clone, PartialEq)]
pub struct DueDelivery {
    /// Delivery id (sent as `X-Reelguard-Delivery`).
    pub id: i64,
    /// The member.
    pub member_id: i64,
    /// The notice it announces.
    pub notice_id: i64,
    /// The event name.
    pub event: String,
    /// Where to POST.
    pub url: String,
    /// The member's current signing secret.
    pub secret: String,
    /// The exact body to send (and sign).
    pub payload: String,
    /// Attempts already made.
    pub attempts: u32,
}

// By hand, so that the secret can never reach a log through `{:?}`.
impl fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DueDelivery")
            .field("id", &self.id)
            .field("member_id", &self.member_id)
            .field("notice_id", &self.notice_id)
            .field("event", &self.event)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// What one HTTP attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The response status, if a response came.
    pub status: Option<u16>,
    /// Why it failed, if it did (no response, or a non-2xx one).
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: u64,
}

impl AttemptOutcome {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One logged attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// 1 for the first.
    pub attempt: u32,
    /// Unix seconds.
    pub at: i64,
    /// The response status, if a response came.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// A delivery with its log, as the member sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Id.
    pub id: i64,
    /// The notice it announces.
    pub notice_id: i64,
    /// The event name.
    pub event: String,
    /// Where it goes (the member's current URL while pending).
    pub url: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Unix milliseconds of the next attempt, while pending.
    pub next_attempt_at_ms: Option<i64>,
    /// The last response status.
    pub last_status: Option<u16>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The body sent.
    pub payload: Value,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub delivered_at: Option<i64>,
    /// Every attempt, oldest first.
    pub log: Vec<DeliveryAttempt>,
}

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

/// The payload of an `infringement.confirmed` delivery.
pub fn notice_payload(delivery_id: i64, notice: &Notice) -> Value {
    json!({
        "event": EVENT_INFRINGEMENT_CONFIRMED,
        "delivery_id": delivery_id,
        "notice_id": notice.id,
        "match_id": notice.match_id,
        "created_at": notice.created_at,
        "notice": notice.body,
    })
}

/// Queues the `infringement.confirmed` delivery of a new notice, inside the caller's
/// transaction (the one that wrote the notice). Returns the delivery id, or `None` when the
/// member has no webhook.
pub(crate) fn enqueue_notice_webhook(
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

/// The wait after the `attempts`-th failed attempt: `base_ms`, doubling, at most a day.
pub fn backoff_ms(base_ms: u64, attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    let base = i64::try_from(base_ms).unwrap_or(MAX_BACKOFF_MS);
    base.saturating_mul(1i64 << exp).min(MAX_BACKOFF_MS)
}

fn webhook_from_row(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        member_id: row.get(0)?,
        url: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
    })
}

impl Store {
    /// Sets how deliveries queued from now on are retried.
    pub fn set_webhook_policy(&mut self, policy: WebhookPolicy) {
        self.webhook_policy = policy;
    }

    /// Sets (or replaces) a member's webhook with a new random secret, returned here only.
    /// Replacing it rotates the secret; pending deliveries go to the new URL. The URL must
    /// already be validated by the caller (the store only bounds its length).
    pub fn put_webhook(
        &mut self,
        member_id: i64,
        url: &str,
    ) -> Result<(Webhook, String), StoreError> {
        if url.is_empty() || url.len() > MAX_URL_LEN {
            return Err(StoreError::Invalid(format!(
                "a webhook URL must be 1–{MAX_URL_LEN} bytes"
            )));
        }
        let secret = format!("whsec_{}", random_token()?);
        let t = now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    /// A member's webhook (never its secret).
    pub fn webhook(&self, member_id: i64) -> Result<Option<Webhook>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT member_id, url, created_at, updated_at FROM webhooks \
                 WHERE member_id = ?1",
                [member_id],
                webhook_from_row,
            )
            .optional()?)
    }

    /// Removes a member's webhook; its pending deliveries fail (the member no longer wants
    /// them). [`StoreError::NotFound`] if there is none.
    pub fn delete_webhook(&mut self, member_id: i64) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    /// Takes up to `limit` pending deliveries due at `now_ms` and leases them for `lease_ms`
    /// (an attempt cut short by a crash is retried once the lease runs out).
    pub fn claim_due_webhooks(
        &mut self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    /// When the earliest pending delivery falls due (Unix milliseconds), if any is pending.
    pub fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_at_ms) FROM webhook_deliveries WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?)
    }

    /// Logs an attempt and moves the delivery on: delivered on a 2xx; otherwise retried after
    /// [`backoff_ms`]`(backoff_base_ms, attempts)`, or failed once its attempts are used up.
    /// Returns the new state.
    pub fn record_webhook_attempt(
        &mut self,
        delivery_id: i64,
        outcome: &AttemptOutcome,
        backoff_base_ms: u64,
    ) -> Result<DeliveryState, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    /// A member's deliveries, newest first, each with its attempts.
    pub fn webhook_deliveries(
        &self,
        member_id: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE member_id = ?1 \
             ORDER BY id DESC LIMIT ?2"
        ))?;
        let mut deliveries = stmt
            .query_map((member_id, i64::from(limit.max(1))), delivery_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        // Every listed delivery's attempts in one query, not one query per delivery.
        let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
        let mut params = Vec::new();
        let sql = format!(
            "SELECT delivery_id, attempt, at, status, error, duration_ms FROM webhook_attempts \
             WHERE 1 = 1{} ORDER BY attempt, id",
            in_list("delivery_id", &ids, &mut params)
        );
        let mut stmt = self.conn.prepare(&sql)?;
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
    use super::*;
    use crate::{MatchFilter, NewFile, NewMatch, QueueLimits, Role, SourceMeta, Verdict};

    /// A store with one pending match against a work of `acme`, and a reviewer caller.
    fn setup() -> (tempfile::TempDir, Store, i64, crate::Caller, i64) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open_in(dir.path()).expect("open");
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
            let sub = s
                .submit_suspect(owner.id, &file, &SourceMeta::default(), limits)
                .expect("submit");
            s.claim_job().expect("claim");
            let m = NewMatch {
                work_id: "w000001".into(),
                episode: 1,
                episode_id: 1,
                score: 0.9,
                segments: json!([]),
                transformation: vec![],
                content_box: None,
            };
            s.complete_job(sub.job_id, &json!({}), &[m]).expect("done");
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

    fn confirm(s: &mut Store, match_id: i64, caller: &crate::Caller) -> Notice {
        s.decide(
            match_id,
            caller,
            Verdict::Confirm,
            "copy",
            |_, _, _| json!({"kind": "takedown_request"}),
        )
        .expect("decide")
        .1
        .expect("notice")
    }

    #[test]
    fn a_member_without_a_webhook_gets_no_delivery() {
        let (_dir, mut s, owner, caller, match_id) = setup();
        confirm(&mut s, match_id, &caller);
        assert!(s.webhook_deliveries(owner, 10).expect("list").is_empty());
        assert!(s
            .claim_due_webhooks(now_ms(), 1000, 10)
            .expect("claim")
            .is_empty());
    }

    #[test]
    fn a_confirmed_notice_is_queued_with_its_body_and_retried_until_delivered() {
        let (_dir, mut s, owner, caller, match_id) = setup();
        let (hook, secret) = s
            .put_webhook(owner, "http://127.0.0.1:9/hook")
            .expect("put");
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 64);
        assert_eq!(s.webhook(owner).expect("get"), Some(hook));
        let notice = confirm(&mut s, match_id, &caller);
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
        let log = s.webhook_deliveries(owner, 10).expect("list");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].state, DeliveryState::Delivered);
        assert_eq!(log[0].attempts, 2);
        assert!(log[0].delivered_at.is_some() && log[0].next_attempt_at_ms.is_none());
        let statuses: Vec<_> = log[0].log.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [Some(500), Some(204)]);
    }

    #[test]
    fn attempts_run_out_and_removal_fails_pending_deliveries() {
        let (_dir, mut s, owner, caller, match_id) = setup();
        s.set_webhook_policy(WebhookPolicy { max_attempts: 2 });
        s.put_webhook(owner, "http://127.0.0.1:9/hook")
            .expect("put");
        confirm(&mut s, match_id, &caller);
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
        confirm(&mut s, other, &caller);
        s.delete_webhook(owner).expect("delete");
        assert!(matches!(
            s.delete_webhook(owner),
            Err(StoreError::NotFound(_))
        ));
        let log = s.webhook_deliveries(owner, 10).expect("list");
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
        let (_dir, mut s, owner, caller, match_id) = setup();
        let (first, old) = s.put_webhook(owner, "http://a.example/h").expect("put");
        confirm(&mut s, match_id, &caller);
        let (second, new) = s.put_webhook(owner, "https://b.example/h").expect("put");
        assert_ne!(old, new);
        assert_eq!(first.created_at, second.created_at);
        let due = s.claim_due_webhooks(now_ms(), 0, 10).expect("claim");
        assert_eq!(due[0].url, "https://b.example/h");
        assert_eq!(due[0].secret, new);
    }

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(backoff_ms(30_000, 1), 30_000);
        assert_eq!(backoff_ms(30_000, 2), 60_000);
        assert_eq!(backoff_ms(30_000, 4), 240_000);
        assert_eq!(backoff_ms(30_000, 60), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(u64::MAX, 1), MAX_BACKOFF_MS);
    }
}
