//! Per-key request rates: a token bucket for each crawler key, so one crawler cannot take the
//! daemon's whole intake. A key may make `burst` requests at once and `rate` per second on
//! average; past that it is told how long to wait.
//!
//! The decision that shapes it: buckets live in memory, keyed by API key id, behind one mutex
//! held for a few arithmetic operations. A restart refills every bucket, which errs on the side
//! of the client; the map is bounded by the number of keys that made a request recently (full
//! buckets are dropped when it grows, since a full bucket and a missing one mean the same).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before full ones are swept.
const SWEEP_AT: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key id.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

impl RateLimiter {
    /// `rate` requests per second (0: no limit), `burst` at once.
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket at `now`: `Ok`, or `Err(seconds)` to wait before
    /// the next request would be allowed (at least 1, as `Retry-After` counts whole seconds).
    pub fn take(&self, key: i64, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + rate * now.duration_since(b.at).as_secs_f64() < burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refilled = self.rate * now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + refilled).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.rate;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_key_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let limiter = RateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(1, t0), Ok(()));
        }
        assert_eq!(limiter.take(1, t0), Err(1), "the burst is spent");
        assert_eq!(
            limiter.take(2, t0),
            Ok(()),
            "another key has its own bucket"
        );
        // Half a second at 2/s is one more request, and no more.
        let later = t0 + Duration::from_millis(500);
        assert_eq!(limiter.take(1, later), Ok(()));
        assert!(limiter.take(1, later).is_err());
    }

    #[test]
    fn the_wait_is_rounded_up_to_whole_seconds() {
        let limiter = RateLimiter::new(0.1, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.take(7, t0), Ok(()));
        assert_eq!(limiter.take(7, t0), Err(10));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limiter = RateLimiter::new(0.0, 1);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(limiter.take(1, t0), Ok(()));
        }
    }
}
