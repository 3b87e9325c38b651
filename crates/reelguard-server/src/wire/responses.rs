//! The API's response bodies: what each route serialises, and so what the API document says
//! it answers. Records the store or the service already shape for clients (keys, decisions,
//! deliveries, papers) are used as they are; the rest are built here from the service's
//! records by [`crate::present`].

use reelguard_model::{ContentBox, RegionKind};
use reelguard_service::members::MemberView;
use reelguard_service::present::{SegmentView, SourceView};
use reelguard_service::takedown::{PlatformRemoval, Touched};
use reelguard_store::webhooks::Delivery;
use reelguard_store::{
    AuditRecord, Authorisation, Decision, JobKind, JobState, KeyInfo, MatchState, NoticeEvent,
    NoticeState, Role, Sighting, SourceMeta, WorkRights,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `PUT /v1/whoami/language`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LanguageSet {
    /// The language now chosen (`null`: the default).
    pub language: Option<String>,
}

/// `GET /v1/members`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// Members, oldest first.
    pub members: Vec<MemberView>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// `PUT /v1/members/{name}/review-scope`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewScopeSet {
    /// The reviewer member.
    pub reviewer: String,
    /// Present (`true`) when it may review every member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
    /// Present when it may review only these members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
}

/// `POST /v1/keys`: the key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewKeyOut {
    /// The key itself (`rgk_…`); only its hash is kept.
    pub key: String,
    /// Its id.
    pub id: i64,
    /// Its first characters, to recognise it in listings.
    pub prefix: String,
    /// The owning member.
    pub member: String,
    /// What it may do.
    pub role: Role,
}

/// `GET /v1/keys`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// Keys, oldest first (never the keys themselves).
    pub keys: Vec<KeyInfo>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// `DELETE /v1/keys/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRevoked {
    /// The revoked key's id.
    pub id: i64,
    /// Always `true`.
    pub revoked: bool,
}

/// `GET /v1/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries, oldest first.
    pub entries: Vec<AuditRecord>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// An episode of a work.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpisodeOut {
    /// Its number in the work (submission order).
    pub number: u32,
    /// The file name it was registered under.
    pub file: String,
    /// Seconds.
    pub duration_s: f64,
    /// Fingerprinted frames.
    pub frames: u64,
    /// Withdrawn: it never matches again.
    pub withdrawn: bool,
}

/// A work with its episodes.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkOut {
    /// Its id.
    pub work_id: String,
    /// The drama's title.
    pub title: String,
    /// The member's own id for it.
    pub external_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// When it goes on sale, Unix seconds.
    pub released_at: Option<i64>,
    /// Withdrawn: it never matches again.
    pub withdrawn: bool,
    /// Its episodes, by number.
    pub episodes: Vec<EpisodeOut>,
}

/// `GET /v1/works`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkList {
    /// The caller's works, oldest first.
    pub works: Vec<WorkOut>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// 202 for an accepted upload or ingest: the job that will process it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The job.
    pub job_id: i64,
    /// For a suspect, its id (one per distinct content).
    pub suspect_id: Option<i64>,
    /// The content was already known: no new job was made for it.
    pub deduplicated: bool,
    /// Where to poll the job (also in `Location`).
    pub status_url: String,
}

/// A job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    /// Id.
    pub id: i64,
    /// What it does.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// 0–1, while running.
    pub progress: f64,
    /// Attempts started.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Not before (Unix seconds), while queued.
    pub next_attempt_at: Option<i64>,
    /// A short stable identifier of the last failure.
    pub error_kind: Option<String>,
    /// The last failure, for people.
    pub error: Option<String>,
    /// What it produced (a scan's matches, a registration's episode).
    pub result: Option<Value>,
    /// For scans.
    pub suspect_id: Option<i64>,
    /// For registrations.
    pub work_id: Option<String>,
    /// The name it was submitted under.
    pub file_name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, of the latest attempt.
    pub started_at: Option<i64>,
    /// Unix seconds.
    pub finished_at: Option<i64>,
}

/// `GET /v1/jobs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// Jobs, newest first.
    pub jobs: Vec<JobOut>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// Where the picture sat in the suspect's frame, as fractions of the frame.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentBoxOut {
    /// Left edge, fraction of the frame width.
    pub x: f64,
    /// Top edge, fraction of the frame height.
    pub y: f64,
    /// Width, fraction of the frame width.
    pub width: f64,
    /// Height, fraction of the frame height.
    pub height: f64,
    /// What surrounds the picture.
    #[schema(schema_with = region_kind)]
    pub kind: RegionKind,
    /// The suspect's frame width in pixels.
    pub frame_width: u32,
    /// The suspect's frame height in pixels.
    pub frame_height: u32,
}

fn region_kind() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["full", "borders", "reframe", "inset"]))
        .description(Some("What surrounds the picture."))
        .build()
}

impl From<&ContentBox> for ContentBoxOut {
    fn from(b: &ContentBox) -> ContentBoxOut {
        ContentBoxOut {
            x: b.x,
            y: b.y,
            width: b.width,
            height: b.height,
            kind: b.kind,
            frame_width: b.frame_width,
            frame_height: b.frame_height,
        }
    }
}

/// The suspect a match is of.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspectOut {
    /// Id.
    pub id: i64,
    /// Its content's SHA-256, lowercase hex.
    pub sha256: String,
    /// Where it was seen: the latest 10 in a list of matches, the latest 100 in one match
    /// (`sources_more` says whether there are others; `GET /v1/matches/{id}/sources` pages
    /// through them all).
    pub sources: Vec<SourceView>,
    /// Whether it was seen in more places than `sources` holds.
    pub sources_more: bool,
}

/// A match with its suspect's sources and its decisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchOut {
    /// Id.
    pub id: i64,
    /// Review state.
    pub state: MatchState,
    /// The matched work.
    pub work_id: String,
    /// Its title.
    pub title: String,
    /// Its owner.
    pub member: String,
    /// The matched episode's number.
    pub episode: u32,
    /// 0–1.
    pub score: f64,
    /// The matched stretches.
    pub segments: Vec<SegmentView>,
    /// What the pirate did, e.g. `["mirror", "excerpt"]`.
    pub transformation: Vec<String>,
    /// Where the picture sat in the suspect's frame, when known.
    pub content_box: Option<ContentBoxOut>,
    /// The suspect.
    pub suspect: SuspectOut,
    /// The scan job that found it.
    pub job_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub decided_at: Option<i64>,
    /// Its decisions, oldest first.
    pub decisions: Vec<Decision>,
}

/// `GET /v1/matches`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchList {
    /// Matches, newest first.
    pub matches: Vec<MatchOut>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// A takedown notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeOut {
    /// Id.
    pub id: i64,
    /// The confirmed match.
    pub match_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// The notice document (parties, work, infringing copies, evidence).
    pub notice: Value,
}

/// `GET /v1/notices`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    /// Notices, newest first.
    pub notices: Vec<NoticeOut>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// `GET /v1/matches/{id}/sources`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    /// Where the match's suspect was seen, oldest first.
    pub sources: Vec<SourceView>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// `POST /v1/matches/{id}/decision`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    /// The match, as it now stands.
    #[serde(rename = "match")]
    pub decided: MatchOut,
    /// The decision recorded.
    pub decision: Decision,
    /// The notice confirming issued (`null` for a rejection).
    pub notice: Option<NoticeOut>,
}

/// `PUT /v1/webhook`: the webhook with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSet {
    /// Where deliveries go.
    pub url: String,
    /// The HMAC-SHA256 signing secret.
    pub secret: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// `GET /v1/webhook`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    /// Where deliveries go.
    pub url: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// `DELETE /v1/webhook`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeleted {
    /// Always `true`.
    pub deleted: bool,
}

/// `GET /v1/webhook/deliveries`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Deliveries, newest first, each with every attempt.
    pub deliveries: Vec<Delivery>,
    /// Pass as `cursor` for the next page; `null`: this is the last.
    pub next_cursor: Option<String>,
}

/// `PUT /v1/works/{work_id}/rights`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RightsSet {
    /// The work.
    pub work_id: String,
    /// What was recorded.
    pub rights: WorkRights,
}

/// `PUT /v1/works/{work_id}/authorisation`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorisationSet {
    /// The work.
    pub work_id: String,
    /// What was recorded.
    pub authorisation: Authorisation,
}

/// `PUT /v1/matches/{id}/segments/{segment}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentsSet {
    /// The match.
    pub match_id: i64,
    /// The segments now rejected, by index.
    pub rejected_segments: Vec<usize>,
}

/// A notice's state and dated events.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingOut {
    /// The notice.
    pub notice_id: i64,
    /// Its current state.
    pub state: NoticeState,
    /// Every change, oldest first.
    pub events: Vec<NoticeEvent>,
}

/// `POST /v1/url-reports`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UrlReported {
    /// The notices the report touched, with their state after it.
    pub notices: Vec<Touched>,
}

/// `GET /v1/removal-times`: one row per platform (a summary, not a paged list).
#[derive(Debug, Serialize, ToSchema)]
pub struct RemovalTimes {
    /// Per platform.
    pub platforms: Vec<PlatformRemoval>,
}

/// Where a confirmed copy was seen again: one submission of its suspect.
#[derive(Debug, Serialize, ToSchema)]
pub struct SightingSource {
    /// The submission's id: `POST /v1/sightings/{source_id}/notice` notices it.
    pub id: i64,
    /// The crawler that submitted it.
    pub member_id: i64,
    /// What the crawler reported.
    #[serde(flatten)]
    pub meta: SourceMeta,
    /// Unix seconds.
    pub submitted_at: i64,
}

/// A sighting of confirmed content that no notice names yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct SightingOut {
    /// The confirmed match whose content was seen again.
    pub match_id: i64,
    /// Its rights holder.
    pub member_id: i64,
    /// The catalogue work.
    pub work_id: String,
    /// The work's title.
    pub title: String,
    /// The episode.
    pub episode: u32,
    /// The notice the match was confirmed into (the decision a new notice reuses).
    pub notice_id: i64,
    /// Where the copy was seen this time.
    pub source: SightingSource,
}

impl From<Sighting> for SightingOut {
    fn from(s: Sighting) -> SightingOut {
        SightingOut {
            match_id: s.match_id,
            member_id: s.member_id,
            work_id: s.work_id,
            title: s.title,
            episode: s.episode,
            notice_id: s.notice_id,
            source: SightingSource {
                id: s.source.id,
                member_id: s.source.member_id,
                meta: s.source.meta,
                submitted_at: s.source.submitted_at,
            },
        }
    }
}

/// `GET /v1/sightings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SightingList {
    /// Newest first.
    pub sightings: Vec<SightingOut>,
}

/// `POST /v1/sightings/{source_id}/notice`: the draft notices made, one per confirmed match of
/// the sighting's suspect.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticesMade {
    /// The new notices.
    pub notices: Vec<NoticeOut>,
}
