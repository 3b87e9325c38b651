//! Jobs as clients see them: admins see every job; anyone else sees the jobs it submitted
//! (and, for scans, jobs of content it submitted too, since identical uploads share a job).

use reelguard_pipeline::Passes;
use reelguard_store::{Caller, Job, JobFilter, JobKind, JobState, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AppError;
use crate::query::{limit, parse_id};
use crate::Service;

/// What a finished scan job records (its `result`): the store keeps it as JSON, the API shows
/// it as stored, and pages read it back through this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanResult {
    /// The suspect scanned.
    pub suspect_id: Option<i64>,
    /// Seconds of video.
    pub duration_s: f64,
    /// Which passes ran.
    pub passes: Passes,
    /// Matches found.
    pub matches: usize,
    /// Wall-clock seconds spent decoding.
    pub decode_seconds: f64,
    /// Wall-clock seconds spent matching.
    pub match_seconds: f64,
}

/// What a finished registration job records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationResult {
    /// The work the episode joined.
    pub work_id: String,
    /// Its episode number.
    pub episode: u32,
    /// Frames stored.
    pub frames: usize,
    /// Seconds of video.
    pub duration_s: f64,
}

fn to_value<T: Serialize>(record: &T) -> Value {
    // Plain structs of numbers and strings always serialise.
    serde_json::to_value(record).unwrap_or(Value::Null)
}

impl ScanResult {
    /// As stored.
    pub fn to_value(&self) -> Value {
        to_value(self)
    }

    /// A finished scan job's result (`None` for other jobs, or one not finished).
    pub fn of(job: &Job) -> Option<ScanResult> {
        (job.kind == JobKind::Scan)
            .then(|| job.result.clone())
            .flatten()
            .and_then(|v| serde_json::from_value(v).ok())
    }
}

impl RegistrationResult {
    /// As stored.
    pub fn to_value(&self) -> Value {
        to_value(self)
    }
}

/// The values a job-state filter takes: each state's name, then `all` (the default).
pub const STATE_FILTERS: &[&str] = &["queued", "running", "succeeded", "failed", "all"];

/// The jobs the caller may see, newest first.
pub async fn list(
    service: &Service,
    caller: &Caller,
    state: Option<&str>,
    before_id: Option<i64>,
    requested_limit: Option<u32>,
) -> Result<Vec<Job>, AppError> {
    let filter = JobFilter {
        state: state
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "all")
            .map(str::parse::<JobState>)
            .transpose()
            .map_err(|e| AppError::Invalid(e.to_string()))?,
        visible_to: (caller.role != Role::Admin).then_some(caller.member_id),
        before_id,
        limit: limit(requested_limit),
    };
    service.db(move |s| s.jobs(&filter)).await
}

/// One job the caller may see; not found otherwise.
pub async fn get(service: &Service, caller: &Caller, raw_id: &str) -> Result<Job, AppError> {
    let id = parse_id(raw_id, "job")?;
    let caller = caller.clone();
    let visible = service
        .db(move |s| {
            let Some(job) = s.job(id)? else {
                return Ok(None);
            };
            let ok = caller.role == Role::Admin || s.job_visible_to(&job, caller.member_id)?;
            Ok(ok.then_some(job))
        })
        .await?;
    visible.ok_or_else(|| AppError::NotFound(format!("job {id}")))
}

#[cfg(test)]
mod state_filter_tests {
    use super::*;

    #[test]
    fn the_state_filters_are_every_state_and_all() {
        let names: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(&STATE_FILTERS[..names.len()], names.as_slice());
        assert_eq!(STATE_FILTERS[names.len()..], ["all"]);
    }
}
