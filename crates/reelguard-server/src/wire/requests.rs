//! The API's request bodies and query strings, as the handlers parse them and the API document
//! describes them. Every JSON body refuses fields it does not know (`deny_unknown_fields`, so
//! a misspelt field is a 400 naming it rather than a silent default); query strings are held
//! to their documented parameters by the guard (`crate::auth`), from [`utoipa::IntoParams`].

use reelguard_service::legal::Paper;
use reelguard_service::takedown::UrlStatus;
use reelguard_store::{LegalProfile, NoticeState, Role, SegmentVerdict, SourceMeta, Verdict};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A rights holder's legal profile, as a request sends it: every field optional; on an edit an
/// empty string clears one and an absent one stays.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalFields {
    /// The unified social credit code (统一社会信用代码) or another registration number.
    pub registration_id: Option<String>,
    /// The person to contact.
    pub contact: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
}

impl From<LegalFields> for LegalProfile {
    fn from(f: LegalFields) -> LegalProfile {
        LegalProfile {
            registration_id: f.registration_id,
            contact: f.contact,
            phone: f.phone,
            email: f.email,
            address: f.address,
        }
    }
}

/// `POST /v1/members`: a member and its legal profile (any field may be left out).
// The legal fields are spelt out rather than flattened: serde cannot refuse unknown fields
// through a flattened struct.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Unique name.
    pub name: String,
    /// The unified social credit code (统一社会信用代码) or another registration number.
    pub registration_id: Option<String>,
    /// The person to contact.
    pub contact: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
}

impl NewMember {
    /// The profile part.
    pub fn legal(&self) -> LegalProfile {
        LegalProfile {
            registration_id: self.registration_id.clone(),
            contact: self.contact.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            address: self.address.clone(),
        }
    }
}

/// `PUT /v1/whoami/language`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// `zh-CN` or `en`; `null`: the deployment's default.
    pub language: Option<String>,
}

/// `PUT /v1/members/{name}/review-scope`: `{"members": [...]}` (only these; `[]`: none) or
/// `{"all": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewScope {
    /// The members this reviewer may review.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Every member, present and future.
    #[serde(default)]
    pub all: bool,
}

/// `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// The member the key belongs to (it must exist).
    pub member: String,
    /// What the key may do.
    pub role: Role,
}

/// `POST /v1/works`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWork {
    /// The drama's title.
    pub title: String,
    /// The member's own id for it.
    pub external_id: Option<String>,
    /// When the drama goes on sale, Unix seconds (orders the review queue).
    pub released_at: Option<i64>,
}

/// `POST /v1/works/{work_id}/episodes/ingest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestEpisode {
    /// A file's path relative to the daemon's ingest directory.
    pub path: String,
}

/// `POST /v1/suspects/ingest`: the file and where it was seen.
// Spelt out rather than flattening `SourceMeta`, as in `NewMember`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestSuspect {
    /// A file's path relative to the daemon's ingest directory.
    pub path: String,
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

impl IngestSuspect {
    /// Where it was seen.
    pub fn source(&self) -> SourceMeta {
        SourceMeta {
            platform: self.platform.clone(),
            url: self.url.clone(),
            uploader: self.uploader.clone(),
            title_seen: self.title_seen.clone(),
            found_at: self.found_at,
        }
    }
}

/// `POST /v1/matches/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// Confirming issues a notice.
    pub decision: Verdict,
    /// Why, for the record and the notice.
    pub reason: String,
}

/// `PUT /v1/webhook`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An `http` or `https` URL with a host.
    pub url: String,
}

/// `PUT /v1/works/{work_id}/rights`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRights {
    /// The copyright registration number.
    pub registration_number: String,
    /// The registration certificate.
    pub certificate: Paper,
}

/// `PUT /v1/works/{work_id}/authorisation`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthorisation {
    /// What it authorises.
    pub scope: String,
    /// First valid day, Unix seconds.
    pub valid_from: i64,
    /// Last valid moment, Unix seconds.
    pub valid_until: i64,
    /// The signed authorisation.
    pub file: Paper,
}

/// `PUT /v1/matches/{id}/segments/{segment}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSegmentVerdict {
    /// A rejected segment leaves the notice and its stills.
    pub verdict: SegmentVerdict,
}

/// `POST /v1/notices/{id}/state`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNoticeState {
    /// The state to move to.
    pub state: NoticeState,
    /// Why (a counter-notice's reasons, say).
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/url-reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlReport {
    /// The URL a notice cites.
    pub url: String,
    /// What the crawler saw there.
    pub status: UrlStatus,
}

// ---- query strings ---------------------------------------------------------------------------

/// A page of a list: at most `limit` items after `cursor`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Most items (default 100, at most 999).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque); absent: the first page.
    pub cursor: Option<String>,
}

/// `GET /v1/jobs`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// A job state, or `all` (the default).
    #[param(schema_with = job_state_filter)]
    pub state: Option<String>,
    /// Most items (default 100, at most 999).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque); absent: the first page.
    pub cursor: Option<String>,
}

/// `GET /v1/matches`: the workbench queue's filters ([`QueueQuery`], the same names; a test
/// in `crate::routes` holds the two to one set), plus the page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// A review state, or `all` (the default): the same values as the workbench's queue filter.
    #[param(schema_with = match_state_filter)]
    pub state: Option<String>,
    /// Only against this member's works.
    pub member: Option<String>,
    /// Only suspects seen on this platform.
    pub platform: Option<String>,
    /// Only against this work.
    pub work_id: Option<String>,
    /// Only scoring at least this, 0–1.
    pub min_score: Option<f64>,
    /// Unix seconds: matches found at or after.
    pub since: Option<i64>,
    /// Matches found at most this many seconds ago.
    pub max_age_secs: Option<i64>,
    /// Matches found at most this many days ago (the workbench's age filter).
    pub max_age_days: Option<i64>,
    /// Only this suspect's.
    pub suspect_id: Option<i64>,
    /// Most items (default 100, at most 999).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque); absent: the first page.
    pub cursor: Option<String>,
}

/// `POST /v1/works/{work_id}/episodes`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EpisodeQuery {
    /// The file name to record (default `upload`).
    pub filename: Option<String>,
}

/// `POST /v1/suspects`: where the body was seen.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuspectQuery {
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
    /// The file name to record (default `suspect`).
    pub filename: Option<String>,
}

impl SuspectQuery {
    /// Where it was seen.
    pub fn source(&self) -> SourceMeta {
        SourceMeta {
            platform: self.platform.clone(),
            url: self.url.clone(),
            uploader: self.uploader.clone(),
            title_seen: self.title_seen.clone(),
            found_at: self.found_at,
        }
    }
}

/// The notice document's and public evidence's language.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `en` for English; anything else: Chinese.
    pub lang: Option<String>,
}

// A parameter whose schema is built by hand loses its doc comment, so the text is given here.
fn text_choice(
    values: &'static [&'static str],
    description: &str,
) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn match_state_filter() -> utoipa::openapi::schema::Object {
    text_choice(
        reelguard_service::matches::STATE_FILTERS,
        "A review state, or `all` (the default): the workbench queue's values.",
    )
}

fn job_state_filter() -> utoipa::openapi::schema::Object {
    text_choice(
        reelguard_service::jobs::STATE_FILTERS,
        "A job state, or `all` (the default).",
    )
}

/// `GET /v1/sightings`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SightingQuery {
    /// Most sightings (default 100).
    pub limit: Option<u32>,
}

// ---- the workbench's query strings -----------------------------------------------------------
// Its pages are held to their parameters by the same route table as the API (a misspelt
// `?platfrom=` on the queue would otherwise show a wider queue than the reviewer asked for).

/// `GET /ui/queue`: the review queue's filters, exactly the API's `GET /v1/matches` filters by
/// name and meaning (a test in `crate::routes` compares the two sets), without its page: the
/// queue shows one page. Text, because an empty form field is sent as `name=` and means "any".
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `pending_review` (the default), `confirmed`, `rejected` or `all`.
    pub state: Option<String>,
    /// Only matches of this work.
    pub work_id: Option<String>,
    /// Only matches of this member's works.
    pub member: Option<String>,
    /// Only suspects seen on this platform.
    pub platform: Option<String>,
    /// Only matches scoring at least this.
    pub min_score: Option<String>,
    /// Unix seconds: matches found at or after.
    pub since: Option<String>,
    /// Only matches found at most this many seconds ago.
    pub max_age_secs: Option<String>,
    /// Only matches found at most this many days ago.
    pub max_age_days: Option<String>,
    /// Only this suspect's (an upload's matches, as its confirm-all form lists them).
    pub suspect_id: Option<String>,
}

/// `GET /ui/notices/{id}` and its document: which language the notice document is in.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// `zh-CN` or `en`; absent: the viewer's language.
    pub lang: Option<String>,
}
