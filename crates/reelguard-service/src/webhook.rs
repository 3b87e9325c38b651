//! Webhook delivery: one task that POSTs due deliveries from the store's outbox to members'
//! URLs, signed, and records every attempt.
//!
//! Each POST carries the stored payload verbatim with `Content-Type: application/json`,
//! `X-Reelguard-Event: <event>`, `X-Reelguard-Delivery: <delivery id>` and
//! `X-Reelguard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//! (the Stripe scheme: the timestamp is inside the MAC, so a receiver that rejects old
//! timestamps cannot be replayed to). A 2xx answer delivers; anything else — another status, a
//! redirect, a refused connection, a timeout — is a logged failed attempt, retried after
//! `webhook_backoff_ms` doubling, until `webhook_max_attempts`; then the delivery fails.
//!
//! The task is CPU-light: store calls go to the blocking pool through [`AppState::db`], and
//! each HTTP attempt runs on the blocking pool too (ureq is a blocking client, which keeps the
//! TLS stack small). At most [`BATCH`] attempts are in flight at once. Delivery is at least
//! once: the outbox survives restarts, and a claimed delivery whose attempt was cut short (a
//! crash, a stop) is retried when its lease runs out. The secret never reaches a log.
//!
//! [`AppState::db`]: crate::state::AppState::db

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use reelguard_store::webhooks::{now_ms, AttemptOutcome, DeliveryState, DueDelivery};
use reelguard_store::{hex, now};
use sha2::Sha256;
use tokio::sync::watch;

use crate::config::Config;
use crate::Shared;

/// The header naming the event.
pub const EVENT_HEADER: &str = "X-Reelguard-Event";
/// The header carrying the delivery id (receivers deduplicate on it).
pub const DELIVERY_HEADER: &str = "X-Reelguard-Delivery";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Reelguard-Signature";

/// Most attempts in flight at once.
pub const BATCH: u32 = 8;

/// How often an idle worker looks for new deliveries. A confirmed match is announced within
/// about this long; polling one indexed query a second costs nothing worth a wake-up channel.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// How long past the attempt timeout a claimed delivery stays leased.
const LEASE_MARGIN_MS: i64 = 30_000;

/// The longest failure text kept per attempt.
const MAX_ERROR_LEN: usize = 500;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Reelguard-Signature` value for a body sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&tag))
}

/// Checks a signature header as a receiver should: a `v1` MAC over `"<t>.<body>"` that matches
/// (compared in constant time), and `t` within `tolerance_secs` of `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => tags.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    // abs_diff: a hostile `t` (say, near i64::MIN) must not overflow the subtraction.
    if u64::try_from(tolerance_secs).map_or(true, |tolerance| now.abs_diff(timestamp) > tolerance) {
        return false;
    }
    tags.iter().any(|tag| {
        unhex(tag).is_some_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn agent(config: &Config) -> ureq::Agent {
    let client = ureq::Agent::config_builder()
        // Statuses are outcomes to log, not errors.
        .http_status_as_error(false)
        // A redirected POST would arrive elsewhere, or as a GET: not a delivery. The member
        // sees the 3xx in the log and fixes the URL.
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(config.webhook_timeout_secs)))
        .user_agent(concat!("reelguard-webhook/", env!("CARGO_PKG_VERSION")))
        .build();
    if config.webhook_allow_private_targets {
        client.into()
    } else {
        ureq::Agent::with_parts(
            client,
            ureq::unversioned::transport::DefaultConnector::default(),
            crate::webhook_target::PublicOnly::default(),
        )
    }
}

/// Starts the delivery task; it returns when `stop` turns true. Attempts still in flight then
/// are not waited for: their deliveries are retried after their lease.
pub fn spawn(state: Shared, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state, stop))
}

async fn run(state: Shared, mut stop: watch::Receiver<bool>) {
    let agent = agent(&state.config);
    let timeout_ms = i64::try_from(state.config.webhook_timeout_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX / 2);
    let lease_ms = timeout_ms.saturating_add(LEASE_MARGIN_MS);
    let backoff_base_ms = state.config.webhook_backoff_ms;
    tracing::debug!("webhook delivery started");
    'outer: loop {
        if *stop.borrow() {
            break;
        }
        let claimed = state
            .db(move |s| s.claim_due_webhooks(now_ms(), lease_ms, BATCH))
            .await;
        match claimed {
            Ok(due) if !due.is_empty() => {
                let mut attempts = tokio::task::JoinSet::new();
                for delivery in due {
                    let agent = agent.clone();
                    attempts.spawn_blocking(move || {
                        let outcome = attempt(&agent, &delivery);
                        (delivery, outcome)
                    });
                }
                loop {
                    tokio::select! {
                        next = attempts.join_next() => match next {
                            None => break,
                            Some(Ok((delivery, outcome))) => {
                                record(&state, &delivery, outcome, backoff_base_ms).await;
                            }
                            Some(Err(error)) => {
                                tracing::error!(%error, "a webhook attempt task failed");
                            }
                        },
                        _ = stop.changed() => break 'outer,
                    }
                }
            }
            Ok(_) => {
                let wait = match state.db(|s| s.next_webhook_due_ms()).await {
                    Ok(Some(due)) => Duration::from_millis(
                        (due - now_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64,
                    ),
                    _ => IDLE_POLL,
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(error) => {
                tracing::error!(%error, "claiming webhook deliveries failed");
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    tracing::debug!("webhook delivery stopped");
}

/// One signed POST (blocking).
fn attempt(agent: &ureq::Agent, delivery: &DueDelivery) -> AttemptOutcome {
    let signed = signature(&delivery.secret, now(), delivery.payload.as_bytes());
    let started = Instant::now();
    let result = agent
        .post(&delivery.url)
        .header("Content-Type", "application/json")
        .header(EVENT_HEADER, &delivery.event)
        .header(DELIVERY_HEADER, &delivery.id.to_string())
        .header(SIGNATURE_HEADER, &signed)
        .send(delivery.payload.as_bytes());
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        // Only the status counts; the receiver's body is not read.
        Ok(response) => {
            let status = response.status().as_u16();
            AttemptOutcome {
                status: Some(status),
                error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
                duration_ms,
            }
        }
        Err(error) => {
            let mut text = error.to_string();
            if text.len() > MAX_ERROR_LEN {
                let mut cut = MAX_ERROR_LEN;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            AttemptOutcome {
                status: None,
                error: Some(text),
                duration_ms,
            }
        }
    }
}

async fn record(state: &Shared, delivery: &DueDelivery, outcome: AttemptOutcome, base_ms: u64) {
    let id = delivery.id;
    let attempt = delivery.attempts + 1;
    let status = outcome.status;
    let error = outcome.error.clone();
    let ms = outcome.duration_ms;
    state.metrics.webhook_attempt(if outcome.succeeded() {
        "delivered"
    } else {
        "failed"
    });
    match state
        .db(move |s| s.record_webhook_attempt(id, &outcome, base_ms))
        .await
    {
        Ok(DeliveryState::Delivered) => tracing::info!(
            delivery = id,
            member = delivery.member_id,
            notice = delivery.notice_id,
            attempt,
            status,
            ms,
            "webhook delivered"
        ),
        Ok(DeliveryState::Pending) => tracing::warn!(
            delivery = id,
            member = delivery.member_id,
            attempt,
            status,
            error,
            ms,
            "webhook attempt failed; will retry"
        ),
        Ok(DeliveryState::Failed) => tracing::warn!(
            delivery = id,
            member = delivery.member_id,
            attempt,
            status,
            error,
            "webhook delivery failed for good"
        ),
        Err(error) => {
            tracing::error!(delivery = id, %error, "recording a webhook attempt failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Cross-checked with Python: hmac.new(b"whsec_test", b"1700000000.{\"a\":1}",
        // hashlib.sha256).hexdigest()
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn verification_rejects_tampering_other_secrets_and_old_timestamps() {
        let body = br#"{"event":"infringement.confirmed"}"#;
        let header = signature("s3cret", 1000, body);
        assert!(verify("s3cret", &header, body, 1100, 300));
        assert!(!verify("s3cret", &header, b"{\"event\":\"x\"}", 1100, 300));
        assert!(!verify("other", &header, body, 1100, 300));
        assert!(!verify("s3cret", &header, body, 2000, 300), "replayed late");
        assert!(!verify("s3cret", "t=1000,v1=zz", body, 1000, 300));
        assert!(!verify("s3cret", "v1=00", body, 1000, 300));
        let far = format!("t={},v1=00", i64::MIN);
        assert!(!verify("s3cret", &far, body, i64::MAX, 300), "no overflow");
    }
}
