//! The gauges counted at scrape time rather than kept in memory: the review backlog by age,
//! decisions, notices and their deliveries (from the store), and the catalogue's size (from
//! its snapshot).
//!
//! The decision that shapes this module: **what the store or the catalogue already knows is
//! read, not counted again**. A counter kept beside them would restart at zero with the daemon
//! and drift from the truth; a count read at the scrape is exact, and cheap (grouped counts on
//! indexed columns, a walk of the manifest in memory).

use std::fmt::Write;

use reelguard_index::Manifest;
use reelguard_store::{ReviewCounts, BACKLOG_AGE_BOUNDS};

/// What one scrape read from the store and the catalogue.
#[derive(Debug, Clone, Default)]
pub struct Scraped {
    /// The review workload.
    pub reviews: ReviewCounts,
    /// Registered works, episodes and frame records (withdrawn ones left out).
    pub catalogue: CatalogueSize,
}

/// The catalogue's size as of a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogueSize {
    /// Works not withdrawn.
    pub works: u64,
    /// Episodes not withdrawn (of works not withdrawn).
    pub episodes: u64,
    /// Frame records of those episodes.
    pub frames: u64,
}

impl CatalogueSize {
    /// Counts a manifest.
    pub fn of(manifest: &Manifest) -> CatalogueSize {
        let mut size = CatalogueSize::default();
        for work in manifest.works.iter().filter(|w| !w.withdrawn) {
            size.works += 1;
            for episode in work.episodes.iter().filter(|e| !e.withdrawn) {
                size.episodes += 1;
                size.frames += episode.frame_count;
            }
        }
        size
    }
}

/// The `age` label of each backlog bucket, in [`BACKLOG_AGE_BOUNDS`] order, then the older.
const AGE_LABELS: [&str; BACKLOG_AGE_BOUNDS.len() + 1] = ["lt_1h", "1h_1d", "1d_7d", "ge_7d"];

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends the scrape-time gauges to `out`.
pub fn render(out: &mut String, scraped: &Scraped) {
    let reviews = &scraped.reviews;
    header(
        out,
        "reelguard_review_backlog",
        "gauge",
        "Matches pending review, by age (lt_1h, 1h_1d, 1d_7d, ge_7d).",
    );
    for (i, label) in AGE_LABELS.iter().enumerate() {
        let n = reviews.pending_by_age.get(i).copied().unwrap_or(0);
        let _ = writeln!(out, "reelguard_review_backlog{{age=\"{label}\"}} {n}");
    }
    header(
        out,
        "reelguard_review_oldest_pending_seconds",
        "gauge",
        "Age of the oldest match pending review (0 when none is).",
    );
    let _ = writeln!(
        out,
        "reelguard_review_oldest_pending_seconds {}",
        reviews.oldest_pending_s
    );
    header(
        out,
        "reelguard_decisions",
        "gauge",
        "Review decisions recorded, by decision.",
    );
    for decision in ["confirmed", "rejected"] {
        let n = count(&reviews.decisions, decision);
        let _ = writeln!(out, "reelguard_decisions{{decision=\"{decision}\"}} {n}");
    }
    header(
        out,
        "reelguard_notices",
        "gauge",
        "Takedown notices issued.",
    );
    let _ = writeln!(out, "reelguard_notices {}", reviews.notices);
    header(
        out,
        "reelguard_notice_deliveries",
        "gauge",
        "Notice webhook deliveries, by state.",
    );
    for state in ["pending", "delivered", "failed"] {
        let n = count(&reviews.deliveries, state);
        let _ = writeln!(out, "reelguard_notice_deliveries{{state=\"{state}\"}} {n}");
    }
    let size = scraped.catalogue;
    for (name, help, n) in [
        (
            "reelguard_catalogue_works",
            "Registered works (not withdrawn).",
            size.works,
        ),
        (
            "reelguard_catalogue_episodes",
            "Registered episodes (not withdrawn).",
            size.episodes,
        ),
        (
            "reelguard_catalogue_frames",
            "Frame records of the registered episodes.",
            size.frames,
        ),
    ] {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {n}");
    }
}

fn count(counts: &[(String, u64)], key: &str) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, n)| n)
        .sum()
}
