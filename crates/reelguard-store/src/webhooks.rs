//! Webhooks: a member's endpoint, the durable outbox of deliveries, and the delivery log —
//! the records, the retry arithmetic and the trait a store implements for them.
//!
//! The decision that shapes this module: **the outbox is written in the transaction that writes
//! the notice** (by [`crate::Reviews::decide`]). A confirmed match therefore always has its
//! delivery, even if the daemon dies right after the commit, and a rolled-back decision never
//! announces anything. The server's delivery worker then claims due deliveries, POSTs them and
//! records each attempt; delivery is at least once (a crash between the POST and the record
//! repeats it), so receivers deduplicate on the delivery id.
//!
//! Claiming leases a delivery: its next attempt time moves past the HTTP timeout, so an attempt
//! cut short by a crash is retried when the lease runs out, without any recovery step at start.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::StoreError;
use crate::reviews::Notice;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// The wait after the `attempts`-th failed attempt: `base_ms`, doubling, at most a day.
pub fn backoff_ms(base_ms: u64, attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    let base = i64::try_from(base_ms).unwrap_or(MAX_BACKOFF_MS);
    base.saturating_mul(1i64 << exp).min(MAX_BACKOFF_MS)
}

/// Webhooks and their outbox.
pub trait Webhooks {
    /// Sets how deliveries queued from now on are retried.
    fn set_webhook_policy(&self, policy: WebhookPolicy);

    /// Sets (or replaces) a member's webhook with a new random secret, returned here only.
    /// Replacing it rotates the secret; pending deliveries go to the new URL. The URL must
    /// already be validated by the caller (the store only bounds its length).
    fn put_webhook(&self, member_id: i64, url: &str) -> Result<(Webhook, String), StoreError>;

    /// A member's webhook (never its secret).
    fn webhook(&self, member_id: i64) -> Result<Option<Webhook>, StoreError>;

    /// Removes a member's webhook; its pending deliveries fail (the member no longer wants
    /// them). [`StoreError::NotFound`] if there is none.
    fn delete_webhook(&self, member_id: i64) -> Result<(), StoreError>;

    /// Takes up to `limit` pending deliveries due at `now_ms` and leases them for `lease_ms`
    /// (an attempt cut short by a crash is retried once the lease runs out).
    fn claim_due_webhooks(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// When the earliest pending delivery falls due (Unix milliseconds), if any is pending.
    fn next_webhook_due_ms(&self) -> Result<Option<i64>, StoreError>;

    /// Logs an attempt and moves the delivery on: delivered on a 2xx; otherwise retried after
    /// [`backoff_ms`]`(backoff_base_ms, attempts)`, or failed once its attempts are used up.
    /// Returns the new state.
    fn record_webhook_attempt(
        &self,
        delivery_id: i64,
        outcome: &AttemptOutcome,
        backoff_base_ms: u64,
    ) -> Result<DeliveryState, StoreError>;

    /// A member's deliveries, newest first, each with its attempts.
    fn webhook_deliveries(
        &self,
        member_id: i64,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(backoff_ms(30_000, 1), 30_000);
        assert_eq!(backoff_ms(30_000, 2), 60_000);
        assert_eq!(backoff_ms(30_000, 4), 240_000);
        assert_eq!(backoff_ms(30_000, 60), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(u64::MAX, 1), MAX_BACKOFF_MS);
    }
}
