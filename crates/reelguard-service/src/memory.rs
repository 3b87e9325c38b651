//! Giving freed heap memory back to the operating system.
//!
//! The decision that shapes it: **a timer, not a per-request call.** glibc keeps the arenas a
//! burst of requests grew (each worker thread of tokio's pools can own one) and under a long
//! crawl the daemon's resident size only ratchets up (about 3 KB per accepted submission was
//! measured before this). `malloc_trim(0)` returns the free pages of every arena; it walks the
//! heaps, so it runs every [`TRIM_EVERY`] on the blocking pool, never on a request's path.

use std::time::Duration;

/// How often freed memory is handed back.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Hands free heap pages back to the OS now; whether any were released.
pub fn trim() -> bool {
    // SAFETY: malloc_trim only walks and trims glibc's own heaps; it takes their locks.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Trims every [`TRIM_EVERY`] until the runtime stops (spawn it once at start).
pub async fn trim_periodically() {
    let mut every = tokio::time::interval(TRIM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        match tokio::task::spawn_blocking(trim).await {
            Ok(released) => tracing::debug!(released, "malloc_trim"),
            Err(error) => tracing::warn!(%error, "malloc_trim task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn freed_memory_is_handed_back() {
        // Heap blocks (below the mmap threshold); every other one freed, so the free pages are
        // holes between live blocks that free() itself never returns, only a trim does.
        let mut blocks: Vec<Vec<u8>> = (0..2048).map(|i| vec![i as u8; 60 * 1024]).collect();
        let kept: Vec<Vec<u8>> = blocks
            .drain(..)
            .enumerate()
            .filter_map(|(i, b)| (i % 2 == 0).then_some(b))
            .collect();
        assert!(super::trim(), "60 MiB of holes leave pages to release");
        assert_eq!(kept.len(), 1024);
    }
}
