//! Suspects and the durable job queue: what a crawler or member submitted, where a suspect was
//! seen, and the jobs that fingerprint files — the records and the traits a store implements.
//!
//! The decision that shapes this module: one row per distinct content (SHA-256), so the same
//! upload seen a thousand times is one suspect and one scan, with a thousand sources; and a
//! job's completion commits together with the matches it found.
//!
//! **Jobs are leased.** A claim gives the worker a [`Lease`]: a random token, the worker's
//! owner id, and an expiry that the worker extends ([`Jobs::renew_lease`]) while it works.
//! Every later write about the job (progress, completion, failure, re-queueing) must present
//! the token and is refused once the lease is lost, so a job taken over from a stuck or dead
//! worker is completed exactly once. A lease that expires makes the job claimable by anyone;
//! the expired attempt counts, so a file that hangs every worker fails at `max_attempts`
//! (error kind `lease_expired`). Start-up recovery is the same rule applied at once to the
//! leases of earlier process instances ([`Jobs::expire_leases_of_others`]; error kind
//! `interrupted`). A worker may renew a lease that has expired as long as nobody has taken the
//! job over yet.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;
use crate::matches::NewMatch;
use crate::util::random_token;

text_enum!(
    /// What a job does.
    JobKind {
        /// Fingerprint a suspect and match it against the catalogue.
        Scan = "scan",
        /// Fingerprint an episode file and add it to a work.
        Register = "register",
    }
);

text_enum!(
    /// Where a job is in its life.
    JobState {
        /// Waiting for a worker (or for its retry time).
        Queued = "queued",
        /// A worker has it.
        Running = "running",
        /// Done.
        Succeeded = "succeeded",
        /// Given up: the reason is in `error_kind` and `error`.
        Failed = "failed",
    }
);

/// Where a suspect was seen, as the crawler reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceMeta {
    /// E.g. `douyin`, `youtube`.
    pub platform: Option<String>,
    /// The page or video URL.
    pub url: Option<String>,
    /// The uploading account.
    pub uploader: Option<String>,
    /// The title shown with the upload.
    pub title_seen: Option<String>,
    /// When the crawler found it, Unix seconds.
    pub found_at: Option<i64>,
}

/// One submission of a suspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Id.
    pub id: i64,
    /// Submitting member (a crawler).
    pub member_id: i64,
    /// What the crawler reported.
    #[serde(flatten)]
    pub meta: SourceMeta,
    /// Unix seconds.
    pub submitted_at: i64,
}

/// A file accepted for a job, already durable on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Bytes.
    pub size_bytes: u64,
    /// Where it is stored.
    pub path: String,
    /// The name it was submitted under.
    pub name: String,
}

/// Bounds on the queue, checked as a job is submitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueLimits {
    /// Most unfinished (queued or running) jobs.
    pub max_unfinished: u64,
    /// Attempts per job before it fails.
    pub max_attempts: u32,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The job that handles (or handled) the file.
    pub job_id: i64,
    /// The suspect, for scans.
    pub suspect_id: Option<i64>,
    /// The content was already known: no new job was made.
    pub deduplicated: bool,
    /// A retry of an earlier request with the same [`IdempotencyKey`]: this is that request's
    /// answer, and nothing new was made.
    #[serde(default)]
    pub replayed: bool,
}

impl Submission {
    /// The answer to a registration: its job, new or (`replayed`) the first request's.
    pub fn registration(job_id: i64, replayed: bool) -> Submission {
        Submission {
            job_id,
            suspect_id: None,
            deduplicated: false,
            replayed,
        }
    }
}

/// A lease in whole seconds, rounded up (never shorter than asked), as both stores write it.
pub(crate) fn lease_secs(lease: Duration) -> i64 {
    let secs = lease.as_secs() + u64::from(lease.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// A client's `Idempotency-Key` for one request, with a digest of what the request asked
/// (the caller decides what counts as "the same request"; for a registration: the work, the
/// content's SHA-256 and the file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The client's key, unique per member.
    pub key: String,
    /// Lowercase hex SHA-256 of the request's identity.
    pub request_sha256: String,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// What it does.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// Submitting member.
    pub member_id: i64,
    /// For scans.
    pub suspect_id: Option<i64>,
    /// For registrations.
    pub work_id: Option<String>,
    /// The file to process.
    pub file_path: String,
    /// The name it was submitted under.
    pub file_name: String,
    /// Attempts started.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Not before (Unix seconds), while queued.
    pub next_attempt_at: i64,
    /// 0–1, while running.
    pub progress: f64,
    /// A short stable identifier of the last failure.
    pub error_kind: Option<String>,
    /// The last failure, for people.
    pub error: Option<String>,
    /// What it produced.
    pub result: Option<Value>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, of the latest attempt.
    pub started_at: Option<i64>,
    /// Unix seconds.
    pub finished_at: Option<i64>,
    /// The latest claim's lease (while running, the current one). Never serialised: the token
    /// is the holder's capability.
    #[serde(skip)]
    pub lease: Option<Lease>,
}

/// A worker's hold on a running job.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    /// The claiming worker's id ([`new_lease_owner`]).
    pub owner: String,
    /// The claim's random token, which every write about the job must present.
    pub token: String,
    /// Unix seconds after which the job may be taken over, unless renewed.
    pub until: i64,
}

// By hand, so that a token never reaches a log through `{:?}`.
impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("owner", &self.owner)
            .field("token", &"<redacted>")
            .field("until", &self.until)
            .finish()
    }
}

impl Job {
    /// The current lease's token ("" if the job has none, which no write accepts).
    pub fn lease_token(&self) -> &str {
        self.lease.as_ref().map_or("", |l| l.token.as_str())
    }
}

/// A fresh owner id for one process instance's leases: the pid and 64 random bits.
pub fn new_lease_owner() -> Result<String, StoreError> {
    Ok(format!("{}-{}", std::process::id(), &random_token()?[..16]))
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// Only in this state.
    pub state: Option<JobState>,
    /// Only those this member submitted (or, for scans, submitted the same content too).
    pub visible_to: Option<i64>,
    /// Only jobs older than this id (the page after a cursor).
    pub before_id: Option<i64>,
    /// Most rows (newest first).
    pub limit: u32,
}

/// Unfinished jobs of the given kinds, by state: the queue depth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCount {
    /// Kind.
    pub kind: Option<JobKind>,
    /// State.
    pub state: Option<JobState>,
    /// Jobs.
    pub count: u64,
}

/// Suspects: crawlers' submissions and where each content was seen.
pub trait Suspects {
    /// Records a crawler's submission. Content already known (same SHA-256) joins its suspect
    /// (a new source row) and gets the existing job back; new content makes a suspect and a
    /// scan job, unless the queue is full ([`StoreError::QueueFull`]).
    fn submit_suspect(
        &self,
        member_id: i64,
        file: &NewFile,
        source: &SourceMeta,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError>;

    /// Records a sighting of content that is already a suspect, known by its SHA-256 alone
    /// (the client sent the hash before the body): a new source row and the existing job.
    /// `Ok(None)` if the content is unknown; nothing is written then. Never refused for a full
    /// queue: no job is made.
    fn submit_known_suspect(
        &self,
        member_id: i64,
        sha256: &str,
        source: &SourceMeta,
    ) -> Result<Option<Submission>, StoreError>;

    /// Every submission of a suspect, oldest first.
    fn sources(&self, suspect_id: i64) -> Result<Vec<Source>, StoreError> {
        Ok(self
            .sources_of(&[suspect_id])?
            .remove(&suspect_id)
            .unwrap_or_default())
    }

    /// Every submission of each of these suspects, oldest first, in one query (a listing's
    /// suspects, without a query per row). Suspects without sources are absent.
    fn sources_of(&self, suspect_ids: &[i64]) -> Result<HashMap<i64, Vec<Source>>, StoreError>;

    /// A page of a suspect's submissions, oldest first: those with ids above `after` (all
    /// with `None`), at most `limit`. Keyset paging on the `(suspect_id)` index, so a suspect
    /// re-found a hundred thousand times is read a page at a time.
    fn sources_page(
        &self,
        suspect_id: i64,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Source>, StoreError>;

    /// At most the latest `per_suspect` submissions of each of these suspects (oldest of them
    /// first), and whether it has more: a listing's rows stay bounded however often a suspect
    /// is re-found. One query for the whole page.
    fn latest_sources_of(
        &self,
        suspect_ids: &[i64],
        per_suspect: usize,
    ) -> Result<HashMap<i64, (Vec<Source>, bool)>, StoreError>;
}

/// The job queue.
pub trait Jobs {
    /// Queues the registration of an episode file into a work, unless the queue is full.
    /// Registrations of one work run in submission order, so episodes are numbered in the
    /// order they were submitted.
    ///
    /// With an idempotency key the member already used for the same request, nothing is
    /// made: the first request's job comes back with [`Submission::replayed`] set (the caller
    /// discards its copy of the file). The same key for another request is
    /// [`StoreError::IdempotencyKeyReused`]. The key is recorded in the job's own transaction.
    fn submit_registration(
        &self,
        member_id: i64,
        work_id: &str,
        file: &NewFile,
        idempotency: Option<&IdempotencyKey>,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError>;

    /// The job an idempotency key of this member names, if the request's digest matches
    /// (`Ok(None)`: the key is unused). Lets a retry be answered before its body is read.
    fn idempotent_job(
        &self,
        member_id: i64,
        idempotency: &IdempotencyKey,
    ) -> Result<Option<i64>, StoreError>;

    /// Unfinished (queued or running) jobs.
    fn queue_depth(&self) -> Result<u64, StoreError>;

    /// Takes the oldest job that is due (queued and due, or running with an expired lease),
    /// marks it running, counts the attempt and leases it to `owner` for `lease` (rounded up
    /// to whole seconds); the returned job's [`Job::lease`] holds the token. A job whose lease
    /// expired with no attempts left fails (`lease_expired`) instead. A registration waits
    /// while an older registration of the same work is unfinished.
    fn claim_job(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError>;

    /// Extends a lease to `lease` from now. False once the lease is lost (the job was taken
    /// over, finished, or re-queued); nothing is written then.
    fn renew_lease(&self, job_id: i64, token: &str, lease: Duration) -> Result<bool, StoreError>;

    /// When a claim may next find a job (Unix seconds): the earliest due time of a queued job
    /// or lease expiry of a running one, if there is either.
    fn next_due(&self) -> Result<Option<i64>, StoreError>;

    /// Records a running job's progress (0–1). False if the lease is lost.
    fn set_progress(&self, job_id: i64, token: &str, progress: f64) -> Result<bool, StoreError>;

    /// Finishes a running job with its result, and records its matches in the same
    /// transaction (a match already recorded for the suspect and episode is kept as it is).
    /// Returns false if the job was not running under this lease (nothing is written then).
    fn complete_job(
        &self,
        job_id: i64,
        token: &str,
        result: &Value,
        matches: &[NewMatch],
    ) -> Result<bool, StoreError>;

    /// Records a failed attempt of a running job. With `retry_after` (seconds) and attempts
    /// left, the job is queued again for then; otherwise it fails for good. Returns its state.
    /// [`StoreError::LeaseLost`] if the job is not running under this lease,
    /// [`StoreError::NotFound`] if there is no such job.
    fn fail_job(
        &self,
        job_id: i64,
        token: &str,
        error_kind: &str,
        error: &str,
        retry_after: Option<i64>,
    ) -> Result<JobState, StoreError>;

    /// Puts a running job back in the queue without counting the attempt (a graceful
    /// shutdown interrupted it). False if the lease is lost.
    fn requeue(&self, job_id: i64, token: &str) -> Result<bool, StoreError>;

    /// Expires every lease now (one process, starting, owns the whole queue): jobs left
    /// running are queued again, except those that have used up their attempts (a file that
    /// kills the process every time fails, `interrupted`, instead of looping). Returns
    /// `(requeued, failed)`.
    fn recover_interrupted(&self) -> Result<(u64, u64), StoreError>;

    /// As [`Jobs::recover_interrupted`], for the leases not held by `owner` (this process
    /// instance): at start, every lease of an earlier instance is expired at once rather than
    /// waiting out its time. Only for a single process owning the queue: with several worker
    /// processes, each relies on lease expiry instead.
    fn expire_leases_of_others(&self, owner: &str) -> Result<(u64, u64), StoreError>;

    /// A job by id.
    fn job(&self, job_id: i64) -> Result<Option<Job>, StoreError>;

    /// Whether a member may see a job: it submitted it, or submitted the same suspect.
    fn job_visible_to(&self, job: &Job, member_id: i64) -> Result<bool, StoreError>;

    /// Jobs, newest first.
    fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;

    /// Jobs by kind and state.
    fn job_counts(&self) -> Result<Vec<JobCount>, StoreError>;
}
