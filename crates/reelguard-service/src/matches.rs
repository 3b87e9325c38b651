//! Matches and their queries: the filters a reviewer or member lists with (one definition for
//! the API's `GET /v1/matches` and the workbench's queue), and what one match shows.

use reelguard_store::{
    Caller, Decision, MatchFilter, MatchOrder, MatchRow, MatchState, Notice, PendingCount, Source,
    Store, StoreError,
};

use crate::error::AppError;
use crate::tenancy::{self, Readable};
use crate::Service;

pub use crate::query::{limit, parse_id, DEFAULT_LIMIT, MAX_LIMIT};

/// The values a review-state filter takes, the API's and the workbench's alike: each state's
/// name, then `all`.
pub const STATE_FILTERS: &[&str] = &["pending_review", "confirmed", "rejected", "all"];

/// Parses a review-state filter: one of [`STATE_FILTERS`] (`all`: any state), or nothing
/// (`default`).
pub fn state_filter(
    raw: Option<&str>,
    default: Option<MatchState>,
) -> Result<Option<MatchState>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some("all") => Ok(None),
        Some(other) => other
            .parse::<MatchState>()
            .map(Some)
            .map_err(|e| AppError::Invalid(e.to_string())),
    }
}

/// What a caller asks a match list for. Every filter narrows; none widens tenancy.
#[derive(Debug, Clone, Default)]
pub struct MatchQuery {
    /// Only this review state (`None`: any).
    pub state: Option<MatchState>,
    /// Only this member's works (by name).
    pub member: Option<String>,
    /// Only suspects seen on this platform.
    pub platform: Option<String>,
    /// Only matches found at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only matches found at most this many seconds ago.
    pub max_age_secs: Option<i64>,
    /// Only matches found at most this many days ago (the workbench's unit; the API takes it
    /// too, so both read the same filter the same way).
    pub max_age_days: Option<i64>,
    /// Only this suspect's.
    pub suspect_id: Option<i64>,
    /// Only against this work.
    pub work_id: Option<String>,
    /// Only scoring at least this.
    pub min_score: Option<f64>,
    /// Only matches older than this id (the next page of a newest-first list).
    pub before_id: Option<i64>,
    /// In which order.
    pub order: MatchOrder,
    /// Most rows.
    pub limit: u32,
}

impl MatchQuery {
    fn filter(self, readable: &Readable) -> MatchFilter {
        // Every bound given applies (the latest wins). Saturating: a huge age means "any age",
        // not an overflow; a negative one means "now".
        let now = reelguard_store::now();
        let days = self
            .max_age_days
            .map(|d| d.max(0).saturating_mul(crate::dashboard::DAY));
        let ages = [self.max_age_secs, days]
            .into_iter()
            .flatten()
            .map(|age| now.saturating_sub(age.max(0)));
        let since = self.since.into_iter().chain(ages).max();
        MatchFilter {
            state: self.state,
            owners: readable.owners().map(<[i64]>::to_vec),
            platform: self.platform,
            since,
            suspect_id: self.suspect_id,
            work_id: self.work_id,
            min_score: self.min_score,
            before_id: self.before_id,
            order: self.order,
            limit: self.limit,
        }
    }
}

/// A listed match with where its suspect was seen and how it was decided.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The match.
    pub row: MatchRow,
    /// Where the suspect was seen: in a listing, only the latest [`LIST_SOURCES`].
    pub sources: Vec<Source>,
    /// Whether the suspect was seen in more places than `sources` holds.
    pub sources_more: bool,
    /// Its decisions, oldest first.
    pub decisions: Vec<Decision>,
}

/// Sources a listed match carries: a suspect re-found by crawlers thousands of times would
/// otherwise make one page of 50 matches megabytes (4 MB was measured); the match itself
/// lists them all.
pub const LIST_SOURCES: usize = 10;

/// Sources one match carries, the latest; `GET /v1/matches/{id}/sources` pages through all
/// of them ([`sources_page`]). A suspect re-found a hundred thousand times would otherwise
/// make its evidence page the size of its history.
pub const DETAIL_SOURCES: usize = 100;

/// The matches a caller may read that fit the query, with a fixed number of store queries
/// for the whole page.
pub async fn list(
    service: &Service,
    caller: &Caller,
    mut query: MatchQuery,
) -> Result<Vec<Listed>, AppError> {
    let readable = tenancy::readable_filtered(service, caller, query.member.take()).await?;
    list_readable(service, &readable, query).await
}

/// [`list`] for a tenancy already resolved.
async fn list_readable(
    service: &Service,
    readable: &Readable,
    query: MatchQuery,
) -> Result<Vec<Listed>, AppError> {
    let filter = query.filter(readable);
    service
        .db(move |s| {
            let rows = s.matches(&filter)?;
            let suspects: Vec<i64> = rows.iter().map(|r| r.suspect_id).collect();
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let (sources, mut decisions) = (
                s.latest_sources_of(&suspects, LIST_SOURCES)?,
                s.decisions_of(&ids)?,
            );
            Ok(rows
                .into_iter()
                .map(|row| {
                    // A compilation's rows share their suspect's sources.
                    let (sources, sources_more) =
                        sources.get(&row.suspect_id).cloned().unwrap_or_default();
                    Listed {
                        sources,
                        sources_more,
                        decisions: decisions.remove(&row.id).unwrap_or_default(),
                        row,
                    }
                })
                .collect::<Vec<_>>())
        })
        .await
}

/// The review queue: [`list`] plus the pending count per work the caller may read.
pub async fn queue(
    service: &Service,
    caller: &Caller,
    mut query: MatchQuery,
) -> Result<(Vec<Listed>, Vec<PendingCount>), AppError> {
    let readable = tenancy::readable_filtered(service, caller, query.member.take()).await?;
    let listed = list_readable(service, &readable, query).await?;
    let owners = readable.owners().map(<[i64]>::to_vec);
    let counts = service
        .db(move |s| s.pending_per_work(owners.as_deref()))
        .await?;
    Ok((listed, counts))
}

/// One match the caller may read; not found otherwise.
pub async fn get(service: &Service, caller: &Caller, raw_id: &str) -> Result<MatchRow, AppError> {
    let readable = tenancy::readable(service, caller).await?;
    get_readable(service, &readable, raw_id).await
}

/// [`get`] for a tenancy already resolved.
async fn get_readable(
    service: &Service,
    readable: &Readable,
    raw_id: &str,
) -> Result<MatchRow, AppError> {
    let id = parse_id(raw_id, "match")?;
    match service.db(move |s| s.match_by_id(id)).await? {
        Some(row) if readable.can_read(row.member_id) => Ok(row),
        _ => Err(AppError::NotFound(format!("match {raw_id}"))),
    }
}

/// One match with its sources and decisions.
pub async fn get_listed(
    service: &Service,
    caller: &Caller,
    raw_id: &str,
) -> Result<Listed, AppError> {
    let row = get(service, caller, raw_id).await?;
    listed(service, row).await
}

/// A match's latest [`DETAIL_SOURCES`] sources and its decisions, fresh from the store.
pub async fn listed(service: &Service, row: MatchRow) -> Result<Listed, AppError> {
    let (suspect, id) = (row.suspect_id, row.id);
    let ((sources, sources_more), decisions) = service
        .db(move |s| Ok((latest_sources(s, suspect)?, s.decisions(id)?)))
        .await?;
    Ok(Listed {
        row,
        sources,
        sources_more,
        decisions,
    })
}

fn latest_sources(store: &dyn Store, suspect: i64) -> Result<(Vec<Source>, bool), StoreError> {
    Ok(store
        .latest_sources_of(&[suspect], DETAIL_SOURCES)?
        .remove(&suspect)
        .unwrap_or_default())
}

/// A page of the sources of a match the caller may read, oldest first: those with ids above
/// `after`, at most `limit`. Not found for a match the caller may not read.
pub async fn sources_page(
    service: &Service,
    caller: &Caller,
    raw_id: &str,
    after: Option<i64>,
    limit: usize,
) -> Result<Vec<Source>, AppError> {
    let suspect = get(service, caller, raw_id).await?.suspect_id;
    service
        .db(move |s| s.sources_page(suspect, after, limit))
        .await
}

/// Everything the evidence page of one match shows.
#[derive(Debug, Clone)]
pub struct MatchDetail {
    /// The match, its sources and decisions.
    pub listed: Listed,
    /// The notice it was confirmed into, if any.
    pub notice: Option<Notice>,
    /// Every notice issued on it: the decision's, then one per re-post noticed.
    pub notices: Vec<Notice>,
    /// For each source a notice of this match names: `(source_id, notice_id)`.
    pub cited: Vec<(i64, i64)>,
    /// The indices of the segments a reviewer rejected (dropped), ascending.
    pub rejected: Vec<usize>,
    /// Every match of the same suspect the caller may read (a compilation's other episodes).
    pub siblings: Vec<MatchRow>,
    /// The suspect's duration in seconds (from its scan; at least the last matched second).
    pub duration_s: f64,
}

/// [`MatchDetail`] of a match the caller may read.
pub async fn detail(
    service: &Service,
    caller: &Caller,
    raw_id: &str,
) -> Result<MatchDetail, AppError> {
    let readable = tenancy::readable(service, caller).await?;
    let row = get_readable(service, &readable, raw_id).await?;
    let (suspect, match_id, job_id) = (row.suspect_id, row.id, row.job_id);
    let owners = readable.owners().map(<[i64]>::to_vec);
    let ((sources, sources_more), decisions, notices, siblings, job, cited, rejected) = service
        .db(move |s| {
            let siblings = s.matches(&MatchFilter {
                suspect_id: Some(suspect),
                owners,
                limit: 500,
                ..MatchFilter::default()
            })?;
            Ok((
                latest_sources(s, suspect)?,
                s.decisions(match_id)?,
                s.notices_for_match(match_id)?,
                siblings,
                s.job(job_id)?,
                s.cited_sources(match_id)?,
                s.rejected_segments(match_id)?,
            ))
        })
        .await?;
    let latest_end = siblings
        .iter()
        .flat_map(|m| m.segments.iter())
        .map(|s| s.suspect_end_s)
        .fold(0.0, f64::max);
    let duration_s = job
        .as_ref()
        .and_then(crate::jobs::ScanResult::of)
        .map_or(latest_end, |r| r.duration_s)
        .max(latest_end)
        .max(1.0);
    Ok(MatchDetail {
        listed: Listed {
            row,
            sources,
            sources_more,
            decisions,
        },
        notice: notices.first().cloned(),
        notices,
        cited,
        rejected,
        siblings,
        duration_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_filters_are_every_state_and_all() {
        let names: Vec<&str> = MatchState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(&STATE_FILTERS[..names.len()], names.as_slice());
        assert_eq!(STATE_FILTERS[names.len()..], ["all"]);
        for value in STATE_FILTERS {
            assert!(state_filter(Some(value), None).is_ok(), "{value}");
        }
        assert!(state_filter(Some("pending"), None).is_err());
    }

    #[test]
    fn ages_in_days_and_seconds_are_one_bound_the_latest_wins() {
        let since = |query: MatchQuery| query.filter(&Readable::everyone()).since;
        let now = reelguard_store::now();
        let days = since(MatchQuery {
            max_age_days: Some(2),
            ..MatchQuery::default()
        })
        .expect("a bound");
        // The clock may tick between `now` and the filter's own reading.
        assert!(
            (now - 2 * crate::dashboard::DAY..=now + 1 - 2 * crate::dashboard::DAY).contains(&days)
        );
        let both = since(MatchQuery {
            max_age_days: Some(2),
            max_age_secs: Some(60),
            ..MatchQuery::default()
        })
        .expect("a bound");
        assert!(both >= now - 60, "the tighter bound, seconds, wins");
        let later = now + 1000;
        assert_eq!(
            since(MatchQuery {
                since: Some(later),
                max_age_days: Some(2),
                ..MatchQuery::default()
            }),
            Some(later)
        );
        let huge = since(MatchQuery {
            max_age_days: Some(i64::MAX),
            ..MatchQuery::default()
        })
        .expect("a bound");
        assert!(huge < 0, "a huge age saturates to any age: {huge}");
        assert_eq!(since(MatchQuery::default()), None);
    }
}
