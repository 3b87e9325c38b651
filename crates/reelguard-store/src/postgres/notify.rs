//! Waking idle workers: `LISTEN` on [`super::JOBS_CHANNEL`], with polling as the fallback.
//!
//! The decision that shapes it: a notification is only a hint to claim now. Every write that
//! can make a job claimable sends one inside its own transaction (delivered at commit, so a
//! woken worker finds the job), but a worker never relies on it: it also claims when its wait
//! times out (`next_due`, or a poll interval), and a lost connection turns the waker into a
//! plain timer ([`Wake::Lost`]) instead of leaving workers asleep.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::AsyncMessage;

use crate::error::StoreError;

/// Why [`JobWaker::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A notification arrived since the previous wait: claim now.
    Notified,
    /// The timeout passed with none: claim anyway (the polling fallback).
    TimedOut,
    /// The listening connection is gone; the wait was a plain sleep. Make a new waker.
    Lost,
}

#[derive(Default)]
struct Signal {
    /// Notifications received, ever.
    received: u64,
    /// The connection ended.
    closed: bool,
}

/// A listening connection and the notifications it has seen.
pub struct JobWaker {
    // Held for its connection: dropping the client ends the session and its LISTEN.
    _client: tokio_postgres::Client,
    signal: Arc<(Mutex<Signal>, Condvar)>,
    seen: u64,
}

impl JobWaker {
    /// Waits at most `timeout` for a notification newer than the last one this waker returned.
    pub fn wait(&mut self, timeout: Duration) -> Wake {
        let (lock, cond) = &*self.signal;
        let deadline = Instant::now() + timeout;
        // A poisoned lock only means a notifying task panicked mid-increment: the count is
        // still a count.
        let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if s.received != self.seen {
                self.seen = s.received;
                return Wake::Notified;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if s.closed {
                drop(s);
                std::thread::sleep(left);
                return Wake::Lost;
            }
            if left.is_zero() {
                return Wake::TimedOut;
            }
            s = cond
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Opens a connection on `runtime`, listens, and returns the waker.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    runtime: tokio::runtime::Handle,
) -> Result<JobWaker, StoreError> {
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    let signal = Arc::new((Mutex::new(Signal::default()), Condvar::new()));
    let task_signal = Arc::clone(&signal);
    runtime.spawn(async move {
        let (lock, cond) = &*task_signal;
        loop {
            let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
            let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
            match message {
                Some(Ok(AsyncMessage::Notification(_))) => s.received += 1,
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the job listener's connection failed");
                    s.closed = true;
                }
                None => s.closed = true,
            }
            cond.notify_all();
            if s.closed {
                break;
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", super::JOBS_CHANNEL))
        .await?;
    Ok(JobWaker {
        _client: client,
        signal,
        seen: 0,
    })
}
