//! The store: everything the daemon must remember that is not the catalogue itself — members
//! and their API keys, who owns which work, suspects and where they were seen, the durable job
//! queue, matches, review decisions, takedown notices, members' webhooks and their delivery
//! outbox ([`webhooks`]), and the append-only audit log.
//!
//! The decision that shapes this crate: **one relational schema that runs embedded today and on
//! PostgreSQL tomorrow.** It is SQLite (the system library, WAL, `synchronous=FULL`) in the
//! data directory, written in portable SQL — integer Unix-second timestamps, `TEXT` JSON,
//! numbered placeholders, `ON CONFLICT DO NOTHING`, `RETURNING` — with every SQLite-specific
//! bit in [`dialect`]. The job queue lives in the same database as the matches it produces, so
//! "a job finished" and "its matches exist" commit in one transaction: a crash can never leave
//! one without the other, and a re-run job can never duplicate a match (`UNIQUE (suspect_id,
//! episode_id)`).
//!
//! The store is synchronous (rusqlite); the server calls it from blocking threads. Frame hashes
//! and the band index stay in `reelguard_index::Catalogue`; the store maps a catalogue work id
//! to the member that owns it.
#![deny(missing_docs)]

/// A closed set of values stored (and serialised) as text: the enum, its spelling both ways,
/// and `ALL`. Defined before the modules so that [`webhooks`] can use it too.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and JSON) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::StoreError;
            fn from_str(s: &str) -> Result<Self, $crate::StoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::StoreError::Invalid(format!(
                        "unknown {} {other:?}", stringify!($name).to_lowercase()
                    ))),
                }
            }
        }
    };
}

pub mod dialect;
mod review;
pub mod schema;
pub mod webhooks;

pub use review::{random_token, InfringementDay, PendingCount, Session};

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The store's file name inside the data directory.
pub const FILE_NAME: &str = "reelguard.sqlite3";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be prepared.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No such row.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (a duplicate name, a decided match).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is malformed (an empty name, an unknown member).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The job queue holds as many unfinished jobs as it may.
    #[error("the job queue is full ({depth} of {limit} jobs unfinished)")]
    QueueFull {
        /// Unfinished jobs now.
        depth: u64,
        /// The limit.
        limit: u64,
    },
    /// A stored JSON column does not parse.
    #[error("stored JSON is damaged: {0}")]
    Json(#[from] serde_json::Error),
    /// The system's random source failed.
    #[error("no randomness for a key: {0}")]
    Random(String),
}

/// Seconds since the Unix epoch: the store's only time type.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

text_enum!(
    /// What a key may do.
    Role {
        /// Manages members and keys.
        Admin = "admin",
        /// A rights holder: owns works, sees matches against them.
        Member = "member",
        /// Submits suspects, reads the status of its own submissions.
        Crawler = "crawler",
        /// Reviews matches across members (or those in its scope) and decides them.
        Reviewer = "reviewer",
    }
);

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

text_enum!(
    /// Where a match is in review.
    MatchState {
        /// Waiting for a reviewer.
        PendingReview = "pending_review",
        /// A reviewer confirmed it: a notice exists.
        Confirmed = "confirmed",
        /// A reviewer rejected it.
        Rejected = "rejected",
    }
);

fn parse_col<T: FromStr<Err = StoreError>>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    text.parse().map_err(|e: StoreError| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn parse_json(index: usize, text: &str) -> rusqlite::Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn json_col(row: &Row<'_>, index: usize) -> rusqlite::Result<Value> {
    parse_json(index, &row.get::<_, String>(index)?)
}

fn opt_json_col(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Value>> {
    row.get::<_, Option<String>>(index)?
        .map(|text| parse_json(index, &text))
        .transpose()
}

/// A rights holder, crawler operator, review team or administrator: whoever holds keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An API key as listed (the key itself is never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Id.
    pub id: i64,
    /// Owning member.
    pub member_id: i64,
    /// Owning member's name.
    pub member: String,
    /// What it may do.
    pub role: Role,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; a revoked key authenticates nothing.
    pub revoked_at: Option<i64>,
}

/// Who is calling: the result of authenticating a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Caller {
    /// The key's id.
    pub key_id: i64,
    /// The key's member.
    pub member_id: i64,
    /// The member's name.
    pub member: String,
    /// The key's role.
    pub role: Role,
}

/// A work's ownership record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRow {
    /// Catalogue work id.
    pub work_id: String,
    /// Owner.
    pub member_id: i64,
    /// Title.
    pub title: String,
    /// The owner's reference.
    pub external_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub withdrawn_at: Option<i64>,
    /// When the drama goes (or went) on sale, Unix seconds: the review queue puts the newest
    /// releases first, since a drama earns most of its money in its first days.
    pub released_at: Option<i64>,
}

/// Where a suspect was seen, as the crawler reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
}

const JOB_COLUMNS: &str = "id, kind, state, member_id, suspect_id, work_id, file_path, file_name, \
    attempts, max_attempts, next_attempt_at, progress, error_kind, error, result, created_at, \
    started_at, finished_at";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: row.get(0)?,
        kind: parse_col(row, 1)?,
        state: parse_col(row, 2)?,
        member_id: row.get(3)?,
        suspect_id: row.get(4)?,
        work_id: row.get(5)?,
        file_path: row.get(6)?,
        file_name: row.get(7)?,
        attempts: row.get(8)?,
        max_attempts: row.get(9)?,
        next_attempt_at: row.get(10)?,
        progress: row.get(11)?,
        error_kind: row.get(12)?,
        error: row.get(13)?,
        result: opt_json_col(row, 14)?,
        created_at: row.get(15)?,
        started_at: row.get(16)?,
        finished_at: row.get(17)?,
    })
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// Only in this state.
    pub state: Option<JobState>,
    /// Only those this member submitted (or, for scans, submitted the same content too).
    pub visible_to: Option<i64>,
    /// Most rows (newest first).
    pub limit: u32,
}

/// A match to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMatch {
    /// Catalogue work id.
    pub work_id: String,
    /// Episode number.
    pub episode: u32,
    /// Catalogue episode id.
    pub episode_id: u64,
    /// 0–1.
    pub score: f64,
    /// The matched stretches (JSON array).
    pub segments: Value,
    /// What the pirate did, e.g. `["mirror", "excerpt"]`.
    pub transformation: Vec<String>,
    /// Where the picture sat in the suspect's frame (JSON object), when known.
    pub content_box: Option<Value>,
}

/// A match as stored, with what a reader needs around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchRow {
    /// Id.
    pub id: i64,
    /// The suspect.
    pub suspect_id: i64,
    /// The suspect's content hash.
    pub suspect_sha256: String,
    /// The job that found it.
    pub job_id: i64,
    /// Catalogue work id.
    pub work_id: String,
    /// Work title.
    pub title: String,
    /// The work's owner.
    pub member_id: i64,
    /// The owner's name.
    pub member: String,
    /// Episode number.
    pub episode: u32,
    /// Catalogue episode id.
    pub episode_id: u64,
    /// 0–1.
    pub score: f64,
    /// The matched stretches.
    pub segments: Value,
    /// What the pirate did.
    pub transformation: Vec<String>,
    /// Where the picture sat in the suspect's frame, when known.
    pub content_box: Option<Value>,
    /// When the work goes on sale (Unix seconds), if the member said.
    pub released_at: Option<i64>,
    /// Review state.
    pub state: MatchState,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub decided_at: Option<i64>,
}

const MATCH_SELECT: &str = "SELECT m.id, m.suspect_id, s.sha256, m.job_id, m.work_id, w.title, \
    w.member_id, mem.name, m.episode, m.episode_id, m.score, m.segments, m.transformation, \
    m.state, m.created_at, m.decided_at, m.content_box, w.released_at \
    FROM matches m JOIN works w ON w.work_id = m.work_id \
    JOIN members mem ON mem.id = w.member_id JOIN suspects s ON s.id = m.suspect_id";

fn match_from_row(row: &Row<'_>) -> rusqlite::Result<MatchRow> {
    let transformation: String = row.get(12)?;
    Ok(MatchRow {
        id: row.get(0)?,
        suspect_id: row.get(1)?,
        suspect_sha256: row.get(2)?,
        job_id: row.get(3)?,
        work_id: row.get(4)?,
        title: row.get(5)?,
        member_id: row.get(6)?,
        member: row.get(7)?,
        episode: row.get(8)?,
        episode_id: row.get::<_, i64>(9)? as u64,
        score: row.get(10)?,
        segments: json_col(row, 11)?,
        transformation: transformation
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        state: parse_col(row, 13)?,
        created_at: row.get(14)?,
        decided_at: row.get(15)?,
        content_box: row
            .get::<_, Option<String>>(16)?
            .and_then(|text| serde_json::from_str(&text).ok()),
        released_at: row.get(17)?,
    })
}

fn match_row(conn: &Connection, match_id: i64) -> Result<Option<MatchRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("{MATCH_SELECT} WHERE m.id = ?1"),
            [match_id],
            match_from_row,
        )
        .optional()?)
}

/// ` AND column IN (?n, ...)`, binding `ids` after `params`; an empty list matches nothing.
pub(crate) fn in_list(column: &str, ids: &[i64], params: &mut Vec<SqlValue>) -> String {
    if ids.is_empty() {
        return " AND 1 = 0".to_string();
    }
    let list: Vec<String> = ids
        .iter()
        .map(|id| {
            params.push(SqlValue::Integer(*id));
            format!("?{}", params.len())
        })
        .collect();
    format!(" AND {column} IN ({})", list.join(", "))
}

/// Which matches to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchFilter {
    /// Only in this review state.
    pub state: Option<MatchState>,
    /// Only against works of these members (`None`: all members).
    pub owners: Option<Vec<i64>>,
    /// Only suspects seen on this platform.
    pub platform: Option<String>,
    /// Only matches found at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only this suspect's.
    pub suspect_id: Option<i64>,
    /// Only against this work.
    pub work_id: Option<String>,
    /// Only scoring at least this.
    pub min_score: Option<f64>,
    /// In which order.
    pub order: MatchOrder,
    /// Most rows.
    pub limit: u32,
}

/// The order of a match list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatchOrder {
    /// Newest match first.
    #[default]
    Newest,
    /// The review queue's order: the most recently released drama first (its revenue is at
    /// stake now), then the highest score, then the newest match.
    Triage,
}

/// A reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The suspect infringes: issue a notice.
    Confirm,
    /// It does not.
    Reject,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Id.
    pub id: i64,
    /// The match.
    pub match_id: i64,
    /// The reviewer's member.
    pub reviewer_member_id: i64,
    /// The reviewer's member name.
    pub reviewer: String,
    /// The resulting state.
    pub decision: MatchState,
    /// Why.
    pub reason: String,
    /// Unix seconds.
    pub decided_at: i64,
}

/// A takedown notice record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Id.
    pub id: i64,
    /// The confirmed match.
    pub match_id: i64,
    /// The rights holder.
    pub member_id: i64,
    /// The notice document.
    pub body: Value,
    /// Unix seconds.
    pub created_at: i64,
}

const NOTICE_SELECT: &str = "SELECT id, match_id, member_id, body, created_at FROM notices";

fn notice_from_row(row: &Row<'_>) -> rusqlite::Result<Notice> {
    Ok(Notice {
        id: row.get(0)?,
        match_id: row.get(1)?,
        member_id: row.get(2)?,
        body: json_col(row, 3)?,
        created_at: row.get(4)?,
    })
}

/// A state-changing request, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The caller's member, when authenticated.
    pub member_id: Option<i64>,
    /// The caller's key, when authenticated.
    pub key_id: Option<i64>,
    /// Who, for people: `member-name/role`, `anonymous`, `cli:USER`.
    pub actor: String,
    /// What: e.g. `POST /v1/works`.
    pub action: String,
    /// On what: the request path, and ids it created.
    pub target: String,
    /// The HTTP status answered (0 for offline actions).
    pub status: u16,
    /// From where.
    pub remote_addr: Option<String>,
}

/// An audit log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Id (increasing).
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditEntry,
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

/// The connection to the store. Not `Sync`: the server keeps one behind a mutex.
pub struct Store {
    conn: Connection,
    webhook_policy: webhooks::WebhookPolicy,
}

fn validate_name(what: &str, name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1–200 printable characters"
        )));
    }
    Ok(())
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
fn conflict(error: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what())
        }
        other => StoreError::Sqlite(other),
    }
}

impl Store {
    /// Opens (creating if needed) the store file and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        dialect::configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn,
            webhook_policy: webhooks::WebhookPolicy::default(),
        })
    }

    /// Opens the store of a data directory (creating the directory if needed).
    pub fn open_in(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.display().to_string(),
            source,
        })?;
        Store::open(&data_dir.join(FILE_NAME))
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::version(&self.conn)
    }

    /// A cheap query proving the database answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    // ---- members and keys ------------------------------------------------------------------

    /// Creates a member; [`StoreError::Conflict`] if the name is taken.
    pub fn create_member(&mut self, name: &str) -> Result<Member, StoreError> {
        validate_name("a member name", name)?;
        let created_at = now();
        let id: i64 = self
            .conn
            .query_row(
                "INSERT INTO members (name, created_at) VALUES (?1, ?2) RETURNING id",
                (name, created_at),
                |row| row.get(0),
            )
            .map_err(|e| conflict(e, || format!("member {name:?} exists")))?;
        Ok(Member {
            id,
            name: name.to_string(),
            created_at,
        })
    }

    /// The member of this name, created if missing.
    pub fn ensure_member(&mut self, name: &str) -> Result<Member, StoreError> {
        match self.member_by_name(name)? {
            Some(member) => Ok(member),
            None => match self.create_member(name) {
                Err(StoreError::Conflict(_)) => self
                    .member_by_name(name)?
                    .ok_or_else(|| StoreError::NotFound(format!("member {name:?}"))),
                other => other,
            },
        }
    }

    /// A member by name.
    pub fn member_by_name(&self, name: &str) -> Result<Option<Member>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, created_at FROM members WHERE name = ?1",
                [name],
                member_from_row,
            )
            .optional()?)
    }

    /// Every member, by id.
    pub fn members(&self) -> Result<Vec<Member>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, created_at FROM members ORDER BY id")?;
        let rows = stmt.query_map([], member_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes a new random key for a member. Returns its record and the key itself, which is
    /// stored only as a SHA-256 hash and cannot be shown again.
    pub fn create_key(
        &mut self,
        member_id: i64,
        role: Role,
    ) -> Result<(KeyInfo, String), StoreError> {
        let key = format!("rgk_{}", random_token()?);
        let prefix: String = key.chars().take(12).collect();
        let created_at = now();
        let member: String = self
            .conn
            .query_row(
                "SELECT name FROM members WHERE id = ?1",
                [member_id],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("member {member_id}")))?;
        let id: i64 = self.conn.query_row(
            "INSERT INTO api_keys (member_id, role, key_sha256, prefix, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            (
                member_id,
                role.as_str(),
                key_hash(&key),
                &prefix,
                created_at,
            ),
            |row| row.get(0),
        )?;
        Ok((
            KeyInfo {
                id,
                member_id,
                member,
                role,
                prefix,
                created_at,
                revoked_at: None,
            },
            key,
        ))
    }

    /// Every key (never the keys themselves), by id.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT k.id, k.member_id, m.name, k.role, k.prefix, k.created_at, k.revoked_at \
             FROM api_keys k JOIN members m ON m.id = k.member_id ORDER BY k.id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(KeyInfo {
                id: row.get(0)?,
                member_id: row.get(1)?,
                member: row.get(2)?,
                role: parse_col(row, 3)?,
                prefix: row.get(4)?,
                created_at: row.get(5)?,
                revoked_at: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a key: from now on it authenticates nothing.
    pub fn revoke_key(&mut self, key_id: i64) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            (key_id, now()),
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("active key {key_id}")));
        }
        Ok(())
    }

    /// Who holds this key, if it is a valid, unrevoked key.
    pub fn authenticate(&self, key: &str) -> Result<Option<Caller>, StoreError> {
        if !key.starts_with("rgk_") || key.len() > 100 {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row(
                "SELECT k.id, k.member_id, m.name, k.role FROM api_keys k \
                 JOIN members m ON m.id = k.member_id \
                 WHERE k.key_sha256 = ?1 AND k.revoked_at IS NULL",
                [key_hash(key)],
                |row| {
                    Ok(Caller {
                        key_id: row.get(0)?,
                        member_id: row.get(1)?,
                        member: row.get(2)?,
                        role: parse_col(row, 3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Limits a reviewer member to the matches of these members (empty: all members).
    pub fn set_review_scope(
        &mut self,
        reviewer_member_id: i64,
        members: &[i64],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM review_scopes WHERE reviewer_member_id = ?1",
            [reviewer_member_id],
        )?;
        for member in members {
            tx.execute(
                "INSERT INTO review_scopes (reviewer_member_id, member_id) VALUES (?1, ?2) \
                 ON CONFLICT DO NOTHING",
                (reviewer_member_id, member),
            )
            .map_err(|e| conflict(e, || format!("no member {member}")))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The members a reviewer member may review; `None` means all.
    pub fn review_scope(&self, reviewer_member_id: i64) -> Result<Option<Vec<i64>>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT member_id FROM review_scopes WHERE reviewer_member_id = ?1 ORDER BY member_id",
        )?;
        let ids: Vec<i64> = stmt
            .query_map([reviewer_member_id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(if ids.is_empty() { None } else { Some(ids) })
    }

    // ---- works ----------------------------------------------------------------------------

    /// Records that a member owns a catalogue work.
    pub fn insert_work(
        &mut self,
        work_id: &str,
        member_id: i64,
        title: &str,
        external_id: Option<&str>,
        released_at: Option<i64>,
    ) -> Result<WorkRow, StoreError> {
        let created_at = now();
        self.conn
            .execute(
                "INSERT INTO works (work_id, member_id, title, external_id, created_at, \
                 released_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    work_id,
                    member_id,
                    title,
                    external_id,
                    created_at,
                    released_at,
                ),
            )
            .map_err(|e| conflict(e, || format!("work {work_id} exists")))?;
        Ok(WorkRow {
            work_id: work_id.to_string(),
            member_id,
            title: title.to_string(),
            external_id: external_id.map(str::to_string),
            created_at,
            withdrawn_at: None,
            released_at,
        })
    }

    /// A work's ownership record.
    pub fn work(&self, work_id: &str) -> Result<Option<WorkRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT work_id, member_id, title, external_id, created_at, withdrawn_at, \
                 released_at FROM works WHERE work_id = ?1",
                [work_id],
                work_from_row,
            )
            .optional()?)
    }

    /// A member's works, oldest first.
    pub fn works_of(&self, member_id: i64) -> Result<Vec<WorkRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT work_id, member_id, title, external_id, created_at, withdrawn_at, \
             released_at FROM works WHERE member_id = ?1 ORDER BY created_at, work_id",
        )?;
        let rows = stmt.query_map([member_id], work_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks a work withdrawn (the catalogue is told separately).
    pub fn mark_work_withdrawn(&mut self, work_id: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE works SET withdrawn_at = ?2 WHERE work_id = ?1 AND withdrawn_at IS NULL",
            (work_id, now()),
        )?;
        Ok(())
    }

    // ---- submissions ----------------------------------------------------------------------

    fn unfinished(tx: &Connection) -> Result<u64, StoreError> {
        let n: i64 = tx.query_row(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
            [],
            |row| row.get(0),
        )?;
        Ok(n as u64)
    }

    /// Unfinished (queued or running) jobs.
    pub fn queue_depth(&self) -> Result<u64, StoreError> {
        Store::unfinished(&self.conn)
    }

    /// Records a crawler's submission. Content already known (same SHA-256) joins its suspect
    /// (a new source row) and gets the existing job back; new content makes a suspect and a
    /// scan job, unless the queue is full ([`StoreError::QueueFull`]).
    pub fn submit_suspect(
        &mut self,
        member_id: i64,
        file: &NewFile,
        source: &SourceMeta,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM suspects WHERE sha256 = ?1",
                [&file.sha256],
                |row| row.get(0),
            )
            .optional()?;
        let (suspect_id, job_id, deduplicated) = match existing {
            Some(suspect_id) => {
                let job_id: i64 = tx.query_row(
                    "SELECT id FROM jobs WHERE suspect_id = ?1 AND kind = 'scan' \
                     ORDER BY id DESC LIMIT 1",
                    [suspect_id],
                    |row| row.get(0),
                )?;
                (suspect_id, job_id, true)
            }
            None => {
                let depth = Store::unfinished(&tx)?;
                if depth >= limits.max_unfinished {
                    return Err(StoreError::QueueFull {
                        depth,
                        limit: limits.max_unfinished,
                    });
                }
                let suspect_id: i64 = tx.query_row(
                    "INSERT INTO suspects (sha256, size_bytes, file_path, created_at) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    (&file.sha256, file.size_bytes as i64, &file.path, t),
                    |row| row.get(0),
                )?;
                let job_id: i64 = tx.query_row(
                    "INSERT INTO jobs (kind, state, member_id, suspect_id, file_path, file_name, \
                     max_attempts, next_attempt_at, created_at) \
                     VALUES ('scan', 'queued', ?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
                    (
                        member_id,
                        suspect_id,
                        &file.path,
                        &file.name,
                        limits.max_attempts,
                        t,
                    ),
                    |row| row.get(0),
                )?;
                (suspect_id, job_id, false)
            }
        };
        tx.execute(
            "INSERT INTO suspect_sources (suspect_id, member_id, platform, url, uploader, \
             title_seen, found_at, submitted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            (
                suspect_id,
                member_id,
                &source.platform,
                &source.url,
                &source.uploader,
                &source.title_seen,
                source.found_at,
                t,
            ),
        )?;
        tx.commit()?;
        Ok(Submission {
            job_id,
            suspect_id: Some(suspect_id),
            deduplicated,
        })
    }

    /// Queues the registration of an episode file into a work, unless the queue is full.
    /// Registrations of one work run in submission order, so episodes are numbered in the
    /// order they were submitted.
    pub fn submit_registration(
        &mut self,
        member_id: i64,
        work_id: &str,
        file: &NewFile,
        limits: QueueLimits,
    ) -> Result<Submission, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let depth = Store::unfinished(&tx)?;
        if depth >= limits.max_unfinished {
            return Err(StoreError::QueueFull {
                depth,
                limit: limits.max_unfinished,
            });
        }
        let t = now();
        let job_id: i64 = tx.query_row(
            "INSERT INTO jobs (kind, state, member_id, work_id, file_path, file_name, \
             max_attempts, next_attempt_at, created_at) \
             VALUES ('register', 'queued', ?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
            (
                member_id,
                work_id,
                &file.path,
                &file.name,
                limits.max_attempts,
                t,
            ),
            |row| row.get(0),
        )?;
        tx.commit()?;
        Ok(Submission {
            job_id,
            suspect_id: None,
            deduplicated: false,
        })
    }

    // ---- the job queue --------------------------------------------------------------------

    /// Takes the oldest job that is due, marks it running and counts the attempt. A
    /// registration waits while an older registration of the same work is unfinished.
    pub fn claim_job(&mut self) -> Result<Option<Job>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let id: Option<i64> = tx
            .query_row(
                "SELECT j.id FROM jobs j WHERE j.state = 'queued' AND j.next_attempt_at <= ?1 \
                 AND NOT (j.kind = 'register' AND EXISTS (SELECT 1 FROM jobs o \
                     WHERE o.kind = 'register' AND o.work_id = j.work_id AND o.id < j.id \
                     AND o.state IN ('queued', 'running'))) \
                 ORDER BY j.id LIMIT 1",
                [t],
                |row| row.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        let job = tx.query_row(
            &format!(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?2, \
                 progress = 0 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ),
            (id, t),
            job_from_row,
        )?;
        tx.commit()?;
        Ok(Some(job))
    }

    /// When the earliest queued job falls due (Unix seconds), if any is queued.
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'queued'",
            [],
            |row| row.get(0),
        )?)
    }

    /// Records a running job's progress (0–1).
    pub fn set_progress(&mut self, job_id: i64, progress: f64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND state = 'running'",
            (job_id, progress.clamp(0.0, 1.0)),
        )?;
        Ok(())
    }

    /// Finishes a running job with its result, and records its matches in the same
    /// transaction (a match already recorded for the suspect and episode is kept as it is).
    /// Returns false if the job was not running (nothing is written then).
    pub fn complete_job(
        &mut self,
        job_id: i64,
        result: &Value,
        matches: &[NewMatch],
    ) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let suspect: Option<Option<i64>> = tx
            .query_row(
                "SELECT suspect_id FROM jobs WHERE id = ?1 AND state = 'running'",
                [job_id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(suspect) = suspect else {
            return Ok(false);
        };
        if !matches.is_empty() {
            let suspect_id = suspect.ok_or_else(|| {
                StoreError::Invalid(format!("job {job_id} has no suspect to match"))
            })?;
            for m in matches {
                tx.execute(
                    "INSERT INTO matches (suspect_id, job_id, work_id, episode, episode_id, score, \
                     segments, transformation, state, created_at, content_box) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending_review', ?9, ?10) \
                     ON CONFLICT DO NOTHING",
                    (
                        suspect_id,
                        job_id,
                        &m.work_id,
                        m.episode,
                        m.episode_id as i64,
                        m.score,
                        serde_json::to_string(&m.segments)?,
                        m.transformation.join(","),
                        t,
                        m.content_box
                            .as_ref()
                            .map(serde_json::to_string)
                            .transpose()?,
                    ),
                )?;
            }
        }
        tx.execute(
            "UPDATE jobs SET state = 'succeeded', progress = 1, result = ?2, finished_at = ?3, \
             error_kind = NULL, error = NULL WHERE id = ?1",
            (job_id, serde_json::to_string(result)?, t),
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Records a failed attempt of a running job. With `retry_after` (seconds) and attempts
    /// left, the job is queued again for then; otherwise it fails for good. Returns its state.
    pub fn fail_job(
        &mut self,
        job_id: i64,
        error_kind: &str,
        error: &str,
        retry_after: Option<i64>,
    ) -> Result<JobState, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let row: Option<(u32, u32)> = tx
            .query_row(
                "SELECT attempts, max_attempts FROM jobs WHERE id = ?1 AND state = 'running'",
                [job_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((attempts, max_attempts)) = row else {
            return Err(StoreError::NotFound(format!("running job {job_id}")));
        };
        let state = match retry_after {
            Some(delay) if attempts < max_attempts => {
                tx.execute(
                    "UPDATE jobs SET state = 'queued', next_attempt_at = ?2, error_kind = ?3, \
                     error = ?4, progress = 0 WHERE id = ?1",
                    (job_id, t.saturating_add(delay.max(0)), error_kind, error),
                )?;
                JobState::Queued
            }
            _ => {
                tx.execute(
                    "UPDATE jobs SET state = 'failed', finished_at = ?2, error_kind = ?3, \
                     error = ?4 WHERE id = ?1",
                    (job_id, t, error_kind, error),
                )?;
                JobState::Failed
            }
        };
        tx.commit()?;
        Ok(state)
    }

    /// Puts a running job back in the queue without counting the attempt (a graceful
    /// shutdown interrupted it).
    pub fn requeue(&mut self, job_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, progress = 0, \
             next_attempt_at = ?2 WHERE id = ?1 AND state = 'running' AND attempts > 0",
            (job_id, now()),
        )?;
        Ok(())
    }

    /// After a crash: jobs left running are queued again, except those that have used up their
    /// attempts (a file that kills the process every time fails instead of looping). Returns
    /// `(requeued, failed)`.
    pub fn recover_interrupted(&mut self) -> Result<(u64, u64), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let failed = tx.execute(
            "UPDATE jobs SET state = 'failed', finished_at = ?1, error_kind = 'interrupted', \
             error = 'the daemon stopped during every attempt' \
             WHERE state = 'running' AND attempts >= max_attempts",
            [t],
        )?;
        let requeued = tx.execute(
            "UPDATE jobs SET state = 'queued', next_attempt_at = ?1, progress = 0 \
             WHERE state = 'running'",
            [t],
        )?;
        tx.commit()?;
        Ok((requeued as u64, failed as u64))
    }

    /// A job by id.
    pub fn job(&self, job_id: i64) -> Result<Option<Job>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [job_id],
                job_from_row,
            )
            .optional()?)
    }

    /// Whether a member may see a job: it submitted it, or submitted the same suspect.
    pub fn job_visible_to(&self, job: &Job, member_id: i64) -> Result<bool, StoreError> {
        if job.member_id == member_id {
            return Ok(true);
        }
        let Some(suspect_id) = job.suspect_id else {
            return Ok(false);
        };
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM suspect_sources WHERE suspect_id = ?1 AND member_id = ?2",
            (suspect_id, member_id),
            |row| row.get(0),
        )?;
        Ok(n > 0)
    }

    /// Jobs, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs j WHERE 1 = 1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(state) = filter.state {
            params.push(SqlValue::Text(state.as_str().to_string()));
            sql += &format!(" AND j.state = ?{}", params.len());
        }
        if let Some(member) = filter.visible_to {
            params.push(SqlValue::Integer(member));
            let n = params.len();
            sql += &format!(
                " AND (j.member_id = ?{n} OR j.suspect_id IN \
                 (SELECT suspect_id FROM suspect_sources WHERE member_id = ?{n}))"
            );
        }
        params.push(SqlValue::Integer(i64::from(filter.limit.max(1))));
        sql += &format!(" ORDER BY j.id DESC LIMIT ?{}", params.len());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), job_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Jobs by kind and state.
    pub fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state")?;
        let rows = stmt.query_map([], |row| {
            Ok(JobCount {
                kind: Some(parse_col(row, 0)?),
                state: Some(parse_col(row, 1)?),
                count: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- suspects and matches -------------------------------------------------------------

    /// Every submission of a suspect, oldest first.
    pub fn sources(&self, suspect_id: i64) -> Result<Vec<Source>, StoreError> {
        sources(&self.conn, suspect_id)
    }

    /// Every submission of each of these suspects, oldest first, in one query (a listing's
    /// suspects, without a query per row). Suspects without sources are absent.
    pub fn sources_of(&self, suspect_ids: &[i64]) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
        sources_of(&self.conn, suspect_ids)
    }

    /// A match by id.
    pub fn match_by_id(&self, match_id: i64) -> Result<Option<MatchRow>, StoreError> {
        match_row(&self.conn, match_id)
    }

    /// Matches, newest first.
    pub fn matches(&self, filter: &MatchFilter) -> Result<Vec<MatchRow>, StoreError> {
        let mut sql = format!("{MATCH_SELECT} WHERE 1 = 1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(state) = filter.state {
            params.push(SqlValue::Text(state.as_str().to_string()));
            sql += &format!(" AND m.state = ?{}", params.len());
        }
        if let Some(owners) = &filter.owners {
            sql += &in_list("w.member_id", owners, &mut params);
        }
        if let Some(platform) = &filter.platform {
            params.push(SqlValue::Text(platform.clone()));
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM suspect_sources ss WHERE ss.suspect_id = m.suspect_id \
                 AND ss.platform = ?{})",
                params.len()
            );
        }
        if let Some(since) = filter.since {
            params.push(SqlValue::Integer(since));
            sql += &format!(" AND m.created_at >= ?{}", params.len());
        }
        if let Some(suspect) = filter.suspect_id {
            params.push(SqlValue::Integer(suspect));
            sql += &format!(" AND m.suspect_id = ?{}", params.len());
        }
        if let Some(work) = &filter.work_id {
            params.push(SqlValue::Text(work.clone()));
            sql += &format!(" AND m.work_id = ?{}", params.len());
        }
        if let Some(score) = filter.min_score {
            params.push(SqlValue::Real(score));
            sql += &format!(" AND m.score >= ?{}", params.len());
        }
        sql += match filter.order {
            MatchOrder::Newest => " ORDER BY m.id DESC",
            MatchOrder::Triage => {
                " ORDER BY COALESCE(w.released_at, w.created_at) DESC, m.score DESC, m.id DESC"
            }
        };
        params.push(SqlValue::Integer(i64::from(filter.limit.max(1))));
        sql += &format!(" LIMIT ?{}", params.len());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), match_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Decides a pending match. Confirming it also writes the takedown notice that `notice`
    /// composes from the match, its sources and the decision — all in one transaction.
    /// [`StoreError::Conflict`] if the match was already decided.
    pub fn decide(
        &mut self,
        match_id: i64,
        reviewer: &Caller,
        verdict: Verdict,
        reason: &str,
        notice: impl FnOnce(&MatchRow, &[Source], &Decision) -> Value,
    ) -> Result<(Decision, Option<Notice>), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        let row = match_row(&tx, match_id)?
            .ok_or_else(|| StoreError::NotFound(format!("match {match_id}")))?;
        if row.state != MatchState::PendingReview {
            return Err(StoreError::Conflict(format!(
                "match {match_id} is already {}",
                row.state
            )));
        }
        let state = match verdict {
            Verdict::Confirm => MatchState::Confirmed,
            Verdict::Reject => MatchState::Rejected,
        };
        tx.execute(
            "UPDATE matches SET state = ?2, decided_at = ?3 WHERE id = ?1",
            (match_id, state.as_str(), t),
        )?;
        let id: i64 = tx.query_row(
            "INSERT INTO decisions (match_id, reviewer_member_id, key_id, decision, reason, \
             decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            (
                match_id,
                reviewer.member_id,
                reviewer.key_id,
                state.as_str(),
                reason,
                t,
            ),
            |r| r.get(0),
        )?;
        let decision = Decision {
            id,
            match_id,
            reviewer_member_id: reviewer.member_id,
            reviewer: reviewer.member.clone(),
            decision: state,
            reason: reason.to_string(),
            decided_at: t,
        };
        let notice = if state == MatchState::Confirmed {
            let srcs = sources(&tx, row.suspect_id)?;
            let body = notice(&row, &srcs, &decision);
            let id: i64 = tx.query_row(
                "INSERT INTO notices (match_id, member_id, body, created_at) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                (match_id, row.member_id, serde_json::to_string(&body)?, t),
                |r| r.get(0),
            )?;
            let notice = Notice {
                id,
                match_id,
                member_id: row.member_id,
                body,
                created_at: t,
            };
            webhooks::enqueue_notice_webhook(&tx, &notice, self.webhook_policy)?;
            Some(notice)
        } else {
            None
        };
        tx.commit()?;
        Ok((decision, notice))
    }

    /// The decisions on a match, oldest first.
    pub fn decisions(&self, match_id: i64) -> Result<Vec<Decision>, StoreError> {
        Ok(self
            .decisions_of(&[match_id])?
            .remove(&match_id)
            .unwrap_or_default())
    }

    /// The decisions on each of these matches, oldest first, in one query (a listing's
    /// matches, without a query per match). Matches without decisions are absent.
    pub fn decisions_of(
        &self,
        match_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<Decision>>, StoreError> {
        let mut params = Vec::new();
        let sql = format!(
            "SELECT d.id, d.match_id, d.reviewer_member_id, m.name, d.decision, d.reason, \
             d.decided_at FROM decisions d JOIN members m ON m.id = d.reviewer_member_id \
             WHERE 1 = 1{} ORDER BY d.id",
            in_list("d.match_id", match_ids, &mut params)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(Decision {
                id: row.get(0)?,
                match_id: row.get(1)?,
                reviewer_member_id: row.get(2)?,
                reviewer: row.get(3)?,
                decision: parse_col(row, 4)?,
                reason: row.get(5)?,
                decided_at: row.get(6)?,
            })
        })?;
        let mut by_match: HashMap<i64, Vec<Decision>> = HashMap::new();
        for decision in rows {
            let decision = decision?;
            by_match
                .entry(decision.match_id)
                .or_default()
                .push(decision);
        }
        Ok(by_match)
    }

    /// A notice by id.
    pub fn notice(&self, notice_id: i64) -> Result<Option<Notice>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("{NOTICE_SELECT} WHERE id = ?1"),
                [notice_id],
                notice_from_row,
            )
            .optional()?)
    }

    /// Notices for these members (`None`: all), newest first.
    pub fn notices(&self, owners: Option<&[i64]>, limit: u32) -> Result<Vec<Notice>, StoreError> {
        let mut sql = format!("{NOTICE_SELECT} WHERE 1 = 1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(owners) = owners {
            sql += &in_list("member_id", owners, &mut params);
        }
        params.push(SqlValue::Integer(i64::from(limit.max(1))));
        sql += &format!(" ORDER BY id DESC LIMIT ?{}", params.len());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), notice_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- audit ----------------------------------------------------------------------------

    /// Appends to the audit log.
    pub fn audit(&mut self, entry: &AuditEntry) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "INSERT INTO audit_log (at, member_id, key_id, actor, action, target, status, \
             remote_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            (
                now(),
                entry.member_id,
                entry.key_id,
                &entry.actor,
                &entry.action,
                &entry.target,
                entry.status,
                &entry.remote_addr,
            ),
            |row| row.get(0),
        )?)
    }

    /// The audit log after `after_id`, oldest first.
    pub fn audit_log(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, member_id, key_id, actor, action, target, status, remote_addr \
             FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map((after_id, i64::from(limit.max(1))), |row| {
            Ok(AuditRecord {
                id: row.get(0)?,
                at: row.get(1)?,
                entry: AuditEntry {
                    member_id: row.get(2)?,
                    key_id: row.get(3)?,
                    actor: row.get(4)?,
                    action: row.get(5)?,
                    target: row.get(6)?,
                    status: row.get(7)?,
                    remote_addr: row.get(8)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn member_from_row(row: &Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        id: row.get(0)?,
        name: row.get(1)?,
        created_at: row.get(2)?,
    })
}

fn work_from_row(row: &Row<'_>) -> rusqlite::Result<WorkRow> {
    Ok(WorkRow {
        work_id: row.get(0)?,
        member_id: row.get(1)?,
        title: row.get(2)?,
        external_id: row.get(3)?,
        created_at: row.get(4)?,
        withdrawn_at: row.get(5)?,
        released_at: row.get(6)?,
    })
}

fn sources(conn: &Connection, suspect_id: i64) -> Result<Vec<Source>, StoreError> {
    Ok(sources_of(conn, &[suspect_id])?
        .remove(&suspect_id)
        .unwrap_or_default())
}

fn sources_of(
    conn: &Connection,
    suspect_ids: &[i64],
) -> Result<HashMap<i64, Vec<Source>>, StoreError> {
    let mut params = Vec::new();
    let sql = format!(
        "SELECT suspect_id, id, member_id, platform, url, uploader, title_seen, found_at, \
         submitted_at FROM suspect_sources WHERE 1 = 1{} ORDER BY id",
        in_list("suspect_id", suspect_ids, &mut params)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
        Ok((
            row.get::<_, i64>(0)?,
            Source {
                id: row.get(1)?,
                member_id: row.get(2)?,
                meta: SourceMeta {
                    platform: row.get(3)?,
                    url: row.get(4)?,
                    uploader: row.get(5)?,
                    title_seen: row.get(6)?,
                    found_at: row.get(7)?,
                },
                submitted_at: row.get(8)?,
            },
        ))
    })?;
    let mut by_suspect: HashMap<i64, Vec<Source>> = HashMap::new();
    for row in rows {
        let (suspect_id, source) = row?;
        by_suspect.entry(suspect_id).or_default().push(source);
    }
    Ok(by_suspect)
}

/// The stored form of an API key: lowercase hex SHA-256.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_in(dir.path()).expect("open");
        (dir, store)
    }

    fn file(sha: &str) -> NewFile {
        NewFile {
            sha256: sha.to_string(),
            size_bytes: 3,
            path: format!("/tmp/{sha}"),
            name: "x.mp4".to_string(),
        }
    }

    const LIMITS: QueueLimits = QueueLimits {
        max_unfinished: 2,
        max_attempts: 2,
    };

    #[test]
    fn keys_are_stored_as_hashes_and_authenticate_until_revoked() {
        let (_dir, mut s) = store();
        let m = s.ensure_member("acme").expect("member");
        let (info, key) = s.create_key(m.id, Role::Member).expect("key");
        let stored: String = s
            .conn
            .query_row("SELECT key_sha256 FROM api_keys", [], |r| r.get(0))
            .expect("row");
        assert_ne!(stored, key);
        assert_eq!(stored, key_hash(&key));
        let caller = s.authenticate(&key).expect("auth").expect("valid");
        assert_eq!((caller.member_id, caller.role), (m.id, Role::Member));
        assert!(s.authenticate("rgk_nonsense").expect("auth").is_none());
        s.revoke_key(info.id).expect("revoke");
        assert!(s.authenticate(&key).expect("auth").is_none());
    }

    #[test]
    fn identical_content_joins_the_same_suspect_and_job() {
        let (_dir, mut s) = store();
        let m = s.ensure_member("crawler").expect("member");
        let a = s
            .submit_suspect(m.id, &file("aa"), &SourceMeta::default(), LIMITS)
            .expect("first");
        let b = s
            .submit_suspect(m.id, &file("aa"), &SourceMeta::default(), LIMITS)
            .expect("second");
        assert!(!a.deduplicated && b.deduplicated);
        assert_eq!((a.job_id, a.suspect_id), (b.job_id, b.suspect_id));
        assert_eq!(
            s.sources(a.suspect_id.expect("suspect"))
                .expect("sources")
                .len(),
            2
        );
        let by_suspect = s
            .sources_of(&[a.suspect_id.expect("suspect"), 999])
            .expect("sources");
        assert_eq!(by_suspect.len(), 1, "an unknown suspect has no entry");
        assert_eq!(by_suspect[&a.suspect_id.expect("suspect")].len(), 2);
    }

    #[test]
    fn a_full_queue_refuses_new_content() {
        let (_dir, mut s) = store();
        let m = s.ensure_member("crawler").expect("member");
        for sha in ["a", "b"] {
            s.submit_suspect(m.id, &file(sha), &SourceMeta::default(), LIMITS)
                .expect("accepted");
        }
        let full = s.submit_suspect(m.id, &file("c"), &SourceMeta::default(), LIMITS);
        assert!(matches!(
            full,
            Err(StoreError::QueueFull { depth: 2, limit: 2 })
        ));
        // Known content is still accepted: it needs no new job.
        s.submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("dedup accepted");
    }

    #[test]
    fn interrupted_jobs_are_requeued_until_their_attempts_run_out() {
        let (_dir, mut s) = store();
        let m = s.ensure_member("crawler").expect("member");
        let sub = s
            .submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("accepted");
        for expected in [JobState::Queued, JobState::Failed] {
            let job = s.claim_job().expect("claim").expect("a job");
            assert_eq!(job.id, sub.job_id);
            assert_eq!(
                s.recover_interrupted().expect("recover").0 as usize,
                usize::from(expected == JobState::Queued)
            );
            let job = s.job(sub.job_id).expect("job").expect("exists");
            assert_eq!(job.state, expected);
        }
    }

    #[test]
    fn completing_a_job_twice_records_each_match_once() {
        let (_dir, mut s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let crawler = s.ensure_member("crawler").expect("member");
        let sub = s
            .submit_suspect(crawler.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("accepted");
        let m = NewMatch {
            work_id: "w000001".into(),
            episode: 1,
            episode_id: 1,
            score: 0.9,
            segments: serde_json::json!([]),
            transformation: vec!["mirror".into()],
            content_box: None,
        };
        s.claim_job().expect("claim");
        assert!(s
            .complete_job(sub.job_id, &serde_json::json!({}), std::slice::from_ref(&m))
            .expect("done"));
        // A second run (say, after a crash between matching and recording) adds nothing.
        s.conn
            .execute("UPDATE jobs SET state = 'running'", [])
            .expect("reset");
        assert!(s
            .complete_job(sub.job_id, &serde_json::json!({}), &[m])
            .expect("done"));
        let all = s
            .matches(&MatchFilter {
                limit: 10,
                ..MatchFilter::default()
            })
            .expect("matches");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].transformation, vec!["mirror".to_string()]);
    }

    #[test]
    fn registrations_of_one_work_run_in_order() {
        let (_dir, mut s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let limits = QueueLimits {
            max_unfinished: 10,
            max_attempts: 3,
        };
        let first = s
            .submit_registration(owner.id, "w000001", &file("e1"), limits)
            .expect("e1");
        let second = s
            .submit_registration(owner.id, "w000001", &file("e2"), limits)
            .expect("e2");
        let job = s.claim_job().expect("claim").expect("job");
        assert_eq!(job.id, first.job_id);
        assert!(s.claim_job().expect("claim").is_none(), "e2 waits for e1");
        s.fail_job(first.job_id, "io", "transient", Some(3600))
            .expect("retry later");
        assert!(
            s.claim_job().expect("claim").is_none(),
            "e2 still waits for e1's retry"
        );
        s.conn
            .execute("UPDATE jobs SET next_attempt_at = 0", [])
            .expect("due");
        assert_eq!(s.claim_job().expect("claim").expect("job").id, first.job_id);
        s.complete_job(first.job_id, &serde_json::json!({}), &[])
            .expect("done");
        assert_eq!(
            s.claim_job().expect("claim").expect("job").id,
            second.job_id
        );
    }

    #[test]
    fn the_audit_log_is_append_only() {
        let (_dir, mut s) = store();
        s.audit(&AuditEntry {
            actor: "cli:root".into(),
            action: "create-key".into(),
            target: "member acme".into(),
            ..AuditEntry::default()
        })
        .expect("append");
        assert!(s
            .conn
            .execute("UPDATE audit_log SET actor = 'x'", [])
            .is_err());
        assert!(s.conn.execute("DELETE FROM audit_log", []).is_err());
        assert_eq!(s.audit_log(0, 10).expect("log").len(), 1);
    }

    #[test]
    fn a_decided_match_cannot_be_decided_again() {
        let (_dir, mut s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let sub = s
            .submit_suspect(owner.id, &file("a"), &SourceMeta::default(), LIMITS)
            .expect("accepted");
        s.claim_job().expect("claim");
        let m = NewMatch {
            work_id: "w000001".into(),
            episode: 1,
            episode_id: 1,
            score: 0.9,
            segments: serde_json::json!([]),
            transformation: vec![],
            content_box: None,
        };
        s.complete_job(sub.job_id, &serde_json::json!({}), &[m])
            .expect("done");
        let reviewer = s.ensure_member("review").expect("member");
        let (_, key) = s.create_key(reviewer.id, Role::Reviewer).expect("key");
        let caller = s.authenticate(&key).expect("auth").expect("valid");
        let id = s
            .matches(&MatchFilter {
                limit: 1,
                ..Default::default()
            })
            .expect("m")[0]
            .id;
        let (_, notice) = s
            .decide(
                id,
                &caller,
                Verdict::Confirm,
                "same footage",
                |_, _, _| serde_json::json!({"ok": true}),
            )
            .expect("decided");
        assert!(notice.is_some());
        let again = s.decide(id, &caller, Verdict::Reject, "oops", |_, _, _| Value::Null);
        assert!(matches!(again, Err(StoreError::Conflict(_))));
    }
}
