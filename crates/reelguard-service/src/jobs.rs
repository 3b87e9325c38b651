//! Jobs as clients see them: admins see every job; anyone else sees the jobs it submitted
//! (and, for scans, jobs of content it submitted too, since identical uploads share a job).

use reelguard_store::{Caller, Job, JobFilter, JobState, Role};

use crate::error::AppError;
use crate::matches::{limit, parse_id};
use crate::Service;

/// The jobs the caller may see, newest first.
pub async fn list(
    service: &Service,
    caller: &Caller,
    state: Option<&str>,
    requested_limit: Option<u32>,
) -> Result<Vec<Job>, AppError> {
    let filter = JobFilter {
        state: state
            .map(str::parse::<JobState>)
            .transpose()
            .map_err(|e| AppError::Invalid(e.to_string()))?,
        visible_to: (caller.role != Role::Admin).then_some(caller.member_id),
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
