//! The HTTP handlers: thin — check ownership, call the store or the catalogue off the runtime,
//! shape JSON. Access (401/403) is decided before any handler runs ([`crate::auth`]); handlers
//! only decide 404 for what the caller may not see.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use reelguard_align::Segment;
use reelguard_index::{IndexError, NewWork, Work};
use reelguard_pipeline::{round, segment_json};
use reelguard_store::{
    Caller, Decision, Job, JobFilter, MatchFilter, MatchRow, MatchState, NewFile, Notice, Role,
    Source, SourceMeta, Store, StoreError, Submission, Verdict, WorkRow,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{guard, AuditNote, Auth};
use crate::error::ApiError;
use crate::state::Shared;
use crate::upload::{self, Received};
use crate::webhook_api;

/// The OpenAPI document served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// Builds the router: every route of [`crate::routes::ROUTES`], behind the guard.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/whoami", get(whoami))
        .route("/v1/members", post(create_member).get(list_members))
        .route("/v1/members/{name}/review-scope", put(set_review_scope))
        .route("/v1/keys", post(create_key).get(list_keys))
        .route("/v1/keys/{id}", delete(revoke_key))
        .route("/v1/audit", get(audit_log))
        .route("/v1/works", post(create_work).get(list_works))
        .route("/v1/works/{work_id}", get(get_work).delete(withdraw_work))
        .route("/v1/works/{work_id}/episodes", post(upload_episode))
        .route("/v1/works/{work_id}/episodes/ingest", post(ingest_episode))
        .route(
            "/v1/works/{work_id}/episodes/{number}",
            delete(withdraw_episode),
        )
        .route("/v1/suspects", post(upload_suspect))
        .route("/v1/suspects/ingest", post(ingest_suspect))
        .route("/v1/jobs", get(list_jobs))
        .route("/v1/jobs/{id}", get(get_job))
        .route("/v1/matches", get(list_matches))
        .route("/v1/matches/{id}", get(get_match))
        .route("/v1/matches/{id}/decision", post(decide))
        .route("/v1/notices", get(list_notices))
        .route("/v1/notices/{id}", get(get_notice))
        .route(
            "/v1/webhook",
            put(webhook_api::put_webhook)
                .get(webhook_api::get_webhook)
                .delete(webhook_api::delete_webhook),
        )
        .route("/v1/webhook/deliveries", get(webhook_api::list_deliveries))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .merge(crate::ui::router(state.clone()))
        .fallback(not_found)
        .with_state(state)
}

// ---- extractors that answer in our error format ---------------------------------------------

/// A JSON body; a malformed one is a 400 in the API's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| JsonBody(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A query string; a malformed one is a 400 in the API's error format.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

fn parse_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("{what} {raw}")))
}

fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

fn index_error(error: IndexError) -> ApiError {
    match error {
        IndexError::UnknownWork(w) => ApiError::NotFound(format!("work {w}")),
        IndexError::UnknownEpisode { work, number } => {
            ApiError::NotFound(format!("episode {number} of work {work}"))
        }
        other => ApiError::Internal(other.to_string()),
    }
}

/// The segments of a match, in the shape `reelguard scan --json` prints.
pub fn segments_json(segments: &[Segment]) -> Value {
    Value::Array(
        segments
            .iter()
            .map(|s| {
                let mut segment = segment_json(s);
                segment["score"] = json!(round(s.score, 3));
                segment
            })
            .collect(),
    )
}

fn accepted(submission: &Submission) -> Response {
    let location = format!("/v1/jobs/{}", submission.job_id);
    let body = json!({
        "job_id": submission.job_id,
        "suspect_id": submission.suspect_id,
        "deduplicated": submission.deduplicated,
        "status_url": location,
    });
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Extension(AuditNote(format!("job {}", submission.job_id))),
        Json(body),
    )
        .into_response()
}

// ---- health, metrics, documents -------------------------------------------------------------

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Shared>) -> Result<&'static str, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::Unavailable("not ready".into()));
    }
    state.db(|s| s.ping()).await?;
    Ok("ready\n")
}

async fn metrics(State(state): State<Shared>) -> Result<Response, ApiError> {
    let (jobs, depth) = state
        .db(|s| Ok((s.job_counts()?, s.queue_depth()?)))
        .await?;
    let text = state.metrics.render(&jobs, depth);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn whoami(Auth(caller): Auth) -> Json<Caller> {
    Json(caller)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route".into())
}

// ---- administration -------------------------------------------------------------------------

#[derive(Deserialize)]
struct NewMember {
    name: String,
}

async fn create_member(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<NewMember>,
) -> Result<Response, ApiError> {
    let member = state.db(move |s| s.create_member(&body.name)).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditNote(format!("member {}", member.id))),
        Json(member),
    )
        .into_response())
}

async fn list_members(State(state): State<Shared>) -> Result<Response, ApiError> {
    let members = state.db(|s| s.members()).await?;
    Ok(Json(json!({ "members": members })).into_response())
}

#[derive(Deserialize)]
struct ReviewScope {
    members: Vec<String>,
}

async fn set_review_scope(
    State(state): State<Shared>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<ReviewScope>,
) -> Result<Response, ApiError> {
    let result = state
        .db(move |s| {
            let reviewer = s
                .member_by_name(&name)?
                .ok_or_else(|| reelguard_store::StoreError::NotFound(format!("member {name}")))?;
            let mut ids = Vec::new();
            for m in &body.members {
                let member = s.member_by_name(m)?.ok_or_else(|| {
                    reelguard_store::StoreError::Invalid(format!("no member {m:?}"))
                })?;
                ids.push(member.id);
            }
            s.set_review_scope(reviewer.id, &ids)?;
            Ok(json!({"reviewer": reviewer.name, "members": body.members}))
        })
        .await?;
    Ok(Json(result).into_response())
}

#[derive(Deserialize)]
struct NewKey {
    member: String,
    role: Role,
}

async fn create_key(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<Response, ApiError> {
    let (info, key) = state
        .db(move |s| {
            let member = s.member_by_name(&body.member)?.ok_or_else(|| {
                reelguard_store::StoreError::Invalid(format!("no member {:?}", body.member))
            })?;
            s.create_key(member.id, body.role)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditNote(format!("key {}", info.id))),
        Json(json!({"key": key, "id": info.id, "prefix": info.prefix, "member": info.member, "role": info.role})),
    )
        .into_response())
}

async fn list_keys(State(state): State<Shared>) -> Result<Response, ApiError> {
    let keys = state.db(|s| s.keys()).await?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

async fn revoke_key(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "key")?;
    state.db(move |s| s.revoke_key(id)).await?;
    Ok(Json(json!({"id": id, "revoked": true})).into_response())
}

#[derive(Deserialize)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

async fn audit_log(
    State(state): State<Shared>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let records = state
        .db(move |s| s.audit_log(q.after.unwrap_or(0), limit(q.limit)))
        .await?;
    Ok(Json(json!({ "entries": records })).into_response())
}

// ---- works and episodes ---------------------------------------------------------------------

fn display_file(file: &str) -> &str {
    // Registration jobs name episodes `job<id>:<file>` (see `work::episode_source`).
    match file.split_once(':') {
        Some((job, name))
            if job.starts_with("job") && job[3..].chars().all(|c| c.is_ascii_digit()) =>
        {
            name
        }
        _ => file,
    }
}

fn work_json(row: &WorkRow, work: Option<&Work>) -> Value {
    let episodes: Vec<Value> = work
        .map(|w| {
            w.episodes
                .iter()
                .map(|e| {
                    json!({
                        "number": e.number,
                        "file": display_file(&e.file),
                        "duration_s": round(e.duration_s, 3),
                        "frames": e.frame_count,
                        "withdrawn": e.withdrawn,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "work_id": row.work_id,
        "title": row.title,
        "external_id": row.external_id,
        "created_at": row.created_at,
        "released_at": row.released_at,
        "withdrawn": row.withdrawn_at.is_some() || work.is_some_and(|w| w.withdrawn),
        "episodes": episodes,
    })
}

/// The work if the caller owns it; 404 otherwise (also for other members' works).
async fn owned_work(state: &Shared, caller: &Caller, work_id: &str) -> Result<WorkRow, ApiError> {
    let id = work_id.to_string();
    let row = state.db(move |s| s.work(&id)).await?;
    match row {
        Some(row) if row.member_id == caller.member_id => Ok(row),
        _ => Err(ApiError::NotFound(format!("work {work_id}"))),
    }
}

/// [`owned_work`], and 409 if it is withdrawn (no episode may be added to it).
async fn live_work(state: &Shared, caller: &Caller, work_id: &str) -> Result<WorkRow, ApiError> {
    let row = owned_work(state, caller, work_id).await?;
    if row.withdrawn_at.is_some() {
        return Err(ApiError::Conflict(format!("work {work_id} is withdrawn")));
    }
    Ok(row)
}

async fn catalogue_work(state: &Shared, work_id: &str) -> Result<Option<Work>, ApiError> {
    let id = work_id.to_string();
    state
        .read_catalogue(move |c| Ok(c.manifest().work(&id).cloned()))
        .await
}

#[derive(Deserialize)]
struct CreateWork {
    title: String,
    external_id: Option<String>,
    /// When the drama goes on sale, Unix seconds (orders the review queue).
    released_at: Option<i64>,
}

async fn create_work(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<CreateWork>,
) -> Result<Response, ApiError> {
    if body.title.trim().is_empty() || body.title.len() > 500 {
        return Err(ApiError::BadRequest(
            "title must be 1–500 characters".into(),
        ));
    }
    let new = NewWork {
        title: body.title.clone(),
        owner: Some(caller.member.clone()),
        external_id: body.external_id.clone(),
    };
    let work = state
        .write_catalogue(move |c| c.add_work(new, Vec::new()).map_err(index_error))
        .await?;
    let (id, member, title, external, released) = (
        work.id.clone(),
        caller.member_id,
        body.title,
        body.external_id,
        body.released_at,
    );
    let row = state
        .db(move |s| s.insert_work(&id, member, &title, external.as_deref(), released))
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/works/{}", row.work_id))],
        Extension(AuditNote(format!("work {}", row.work_id))),
        Json(work_json(&row, Some(&work))),
    )
        .into_response())
}

async fn list_works(State(state): State<Shared>, Auth(caller): Auth) -> Result<Response, ApiError> {
    let rows = state.db(move |s| s.works_of(caller.member_id)).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.work_id.clone()).collect();
    let works = state
        .read_catalogue(move |c| {
            Ok(ids
                .iter()
                .map(|id| c.manifest().work(id).cloned())
                .collect::<Vec<_>>())
        })
        .await?;
    let list: Vec<Value> = rows
        .iter()
        .zip(&works)
        .map(|(row, work)| work_json(row, work.as_ref()))
        .collect();
    Ok(Json(json!({ "works": list })).into_response())
}

async fn get_work(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Response, ApiError> {
    let row = owned_work(&state, &caller, &work_id).await?;
    let work = catalogue_work(&state, &work_id).await?;
    Ok(Json(work_json(&row, work.as_ref())).into_response())
}

async fn withdraw_work(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Response, ApiError> {
    owned_work(&state, &caller, &work_id).await?;
    let id = work_id.clone();
    state
        .write_catalogue(move |c| c.withdraw_work(&id).map_err(index_error))
        .await?;
    let id = work_id.clone();
    state.db(move |s| s.mark_work_withdrawn(&id)).await?;
    let row = owned_work(&state, &caller, &work_id).await?;
    let work = catalogue_work(&state, &work_id).await?;
    if let Some(work) = &work {
        forget_references(&state, work.episodes.iter().map(|e| e.id).collect()).await;
    }
    Ok(Json(work_json(&row, work.as_ref())).into_response())
}

/// Deletes withdrawn episodes' kept files: a member that withdraws a drama takes its masters
/// back. Stills already made stay (notices cite them); stills not yet made show as missing.
async fn forget_references(state: &Shared, episode_ids: Vec<u64>) {
    let dirs = state.evidence.clone();
    let removed = tokio::task::spawn_blocking(move || {
        for id in episode_ids {
            let path = dirs.reference(id);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "could not delete a reference file")
                }
            }
        }
    })
    .await;
    if let Err(error) = removed {
        tracing::warn!(%error, "deleting reference files failed");
    }
}

async fn withdraw_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path((work_id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let row = owned_work(&state, &caller, &work_id).await?;
    let number: u32 = number
        .parse()
        .map_err(|_| ApiError::NotFound(format!("episode {number}")))?;
    let id = work_id.clone();
    state
        .write_catalogue(move |c| c.withdraw_episode(&id, number).map_err(index_error))
        .await?;
    let work = catalogue_work(&state, &work_id).await?;
    if let Some(work) = &work {
        let withdrawn = work
            .episodes
            .iter()
            .filter(|e| e.number == number)
            .map(|e| e.id)
            .collect();
        forget_references(&state, withdrawn).await;
    }
    Ok(Json(work_json(&row, work.as_ref())).into_response())
}

/// 429 before reading a body when the queue is already full.
async fn check_queue(state: &Shared) -> Result<(), ApiError> {
    let depth = state.db(|s| s.queue_depth()).await?;
    if depth >= state.config.queue_limit {
        return Err(ApiError::QueueFull {
            retry_after: state.config.retry_after_secs,
        });
    }
    Ok(())
}

/// 413 before reading a body whose declared length is over the limit.
fn check_length(state: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > state.config.max_upload_bytes => {
            Err(ApiError::TooLarge(state.config.max_upload_bytes))
        }
        _ => Ok(()),
    }
}

fn file_name(requested: Option<String>, fallback: &str) -> String {
    let name = requested.unwrap_or_default();
    let name = name.rsplit('/').next().unwrap_or("").trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        fallback.to_string()
    } else {
        name.to_string()
    }
}

#[derive(Deserialize)]
struct EpisodeQuery {
    filename: Option<String>,
}

/// [`upload::install`] on the blocking pool.
async fn install(received: &Received, dest: &std::path::Path) -> Result<(), ApiError> {
    let (from, dest) = (received.path.clone(), dest.to_path_buf());
    tokio::task::spawn_blocking(move || upload::install(&from, &dest))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Records a submission and wakes a worker; if the store refuses it (a full queue...), the
/// file installed for it, if any, is removed.
async fn submit<F>(state: &Shared, installed: Option<PathBuf>, f: F) -> Result<Response, ApiError>
where
    F: FnOnce(&mut Store) -> Result<Submission, StoreError> + Send + 'static,
{
    match state.db(f).await {
        Ok(submission) => {
            state.wake.notify_one();
            Ok(accepted(&submission))
        }
        Err(error) => {
            if let Some(path) = installed {
                upload::discard(&path).await;
            }
            Err(error)
        }
    }
}

async fn queue_registration(
    state: &Shared,
    caller: &Caller,
    work_id: String,
    received: Received,
    name: String,
) -> Result<Response, ApiError> {
    let dest = upload::episode_path(&state.uploads, &received.sha256);
    install(&received, &dest).await?;
    let file = NewFile {
        sha256: received.sha256,
        size_bytes: received.size,
        path: dest.display().to_string(),
        name,
    };
    let (member, limits) = (caller.member_id, state.limits());
    submit(state, Some(dest), move |s| {
        s.submit_registration(member, &work_id, &file, limits)
    })
    .await
}

async fn upload_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    Query(q): Query<EpisodeQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let checks = async {
        live_work(&state, &caller, &work_id).await?;
        check_length(&state, &headers)?;
        check_queue(&state).await
    };
    if let Err(error) = checks.await {
        upload::drain(body).await;
        return Err(error);
    }
    let received = upload::receive(body, &state.uploads, state.config.max_upload_bytes).await?;
    let name = file_name(q.filename, "upload");
    queue_registration(&state, &caller, work_id, received, name).await
}

#[derive(Deserialize)]
struct IngestEpisode {
    path: String,
}

async fn copy_from_ingest(state: &Shared, path: &str) -> Result<(Received, String), ApiError> {
    let source = upload::resolve_ingest(state.ingest_dir.as_deref(), path)?;
    let name = source.file_name().map_or_else(
        || "ingest".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let uploads = state.uploads.clone();
    let limit = state.config.max_upload_bytes;
    let received =
        tokio::task::spawn_blocking(move || upload::copy_ingest(&source, &uploads, limit))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok((received, name))
}

async fn ingest_episode(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    JsonBody(body): JsonBody<IngestEpisode>,
) -> Result<Response, ApiError> {
    live_work(&state, &caller, &work_id).await?;
    check_queue(&state).await?;
    let (received, name) = copy_from_ingest(&state, &body.path).await?;
    queue_registration(&state, &caller, work_id, received, name).await
}

// ---- suspects -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct SuspectMeta {
    platform: Option<String>,
    url: Option<String>,
    uploader: Option<String>,
    title_seen: Option<String>,
    /// Unix seconds.
    found_at: Option<i64>,
    filename: Option<String>,
}

impl SuspectMeta {
    /// The source metadata, checked.
    fn source(&self) -> Result<SourceMeta, ApiError> {
        let source = SourceMeta {
            platform: self.platform.clone(),
            url: self.url.clone(),
            uploader: self.uploader.clone(),
            title_seen: self.title_seen.clone(),
            found_at: self.found_at,
        };
        check_source(&source)?;
        Ok(source)
    }
}

/// Bounds what a crawler may store per submission.
fn check_source(source: &SourceMeta) -> Result<(), ApiError> {
    for (name, value) in [
        ("platform", &source.platform),
        ("url", &source.url),
        ("uploader", &source.uploader),
        ("title_seen", &source.title_seen),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > 2048) {
            return Err(ApiError::BadRequest(format!(
                "{name} is longer than 2048 bytes"
            )));
        }
    }
    Ok(())
}

/// Installs a received suspect and records its submission; `source` is already checked.
async fn queue_scan(
    state: &Shared,
    caller: &Caller,
    received: Received,
    source: SourceMeta,
    name: String,
) -> Result<Response, ApiError> {
    let dest = upload::suspect_path(&state.uploads, &received.sha256);
    let installed = if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
        upload::discard(&received.path).await;
        false
    } else {
        install(&received, &dest).await?;
        true
    };
    let file = NewFile {
        sha256: received.sha256,
        size_bytes: received.size,
        path: dest.display().to_string(),
        name,
    };
    let (member, limits) = (caller.member_id, state.limits());
    submit(state, installed.then_some(dest), move |s| {
        s.submit_suspect(member, &file, &source, limits)
    })
    .await
}

async fn upload_suspect(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(meta): Query<SuspectMeta>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let checks = async {
        let source = meta.source()?;
        check_length(&state, &headers)?;
        check_queue(&state).await?;
        Ok(source)
    };
    let source = match checks.await {
        Ok(source) => source,
        Err(error) => {
            upload::drain(body).await;
            return Err(error);
        }
    };
    let received = upload::receive(body, &state.uploads, state.config.max_upload_bytes).await?;
    let name = file_name(meta.filename, "suspect");
    queue_scan(&state, &caller, received, source, name).await
}

#[derive(Deserialize)]
struct IngestSuspect {
    path: String,
    #[serde(flatten)]
    source: SourceMeta,
}

async fn ingest_suspect(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<IngestSuspect>,
) -> Result<Response, ApiError> {
    check_source(&body.source)?;
    check_queue(&state).await?;
    let (received, name) = copy_from_ingest(&state, &body.path).await?;
    queue_scan(&state, &caller, received, body.source, name).await
}

// ---- jobs -----------------------------------------------------------------------------------

fn job_json(job: &Job) -> Value {
    json!({
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": round(job.progress, 3),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "next_attempt_at": (job.state == reelguard_store::JobState::Queued).then_some(job.next_attempt_at),
        "error_kind": job.error_kind,
        "error": job.error,
        "result": job.result,
        "suspect_id": job.suspect_id,
        "work_id": job.work_id,
        "file_name": job.file_name,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    })
}

#[derive(Deserialize)]
struct JobQuery {
    state: Option<String>,
    limit: Option<u32>,
}

async fn list_jobs(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<JobQuery>,
) -> Result<Response, ApiError> {
    let filter = JobFilter {
        state: q
            .state
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: reelguard_store::StoreError| ApiError::BadRequest(e.to_string()))?,
        visible_to: (caller.role != Role::Admin).then_some(caller.member_id),
        limit: limit(q.limit),
    };
    let jobs = state.db(move |s| s.jobs(&filter)).await?;
    Ok(Json(json!({"jobs": jobs.iter().map(job_json).collect::<Vec<_>>()})).into_response())
}

async fn get_job(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "job")?;
    let visible = state
        .db(move |s| {
            let Some(job) = s.job(id)? else {
                return Ok(None);
            };
            let ok = caller.role == Role::Admin || s.job_visible_to(&job, caller.member_id)?;
            Ok(ok.then_some(job))
        })
        .await?;
    let job = visible.ok_or_else(|| ApiError::NotFound(format!("job {id}")))?;
    Ok(Json(job_json(&job)).into_response())
}

// ---- matches, decisions, notices ------------------------------------------------------------

/// The members whose matches and notices the caller may see (`None`: all).
pub(crate) async fn readable_owners(
    state: &Shared,
    caller: &Caller,
) -> Result<Option<Vec<i64>>, ApiError> {
    match caller.role {
        Role::Member => Ok(Some(vec![caller.member_id])),
        Role::Reviewer => {
            let id = caller.member_id;
            state.db(move |s| s.review_scope(id)).await
        }
        _ => Ok(Some(Vec::new())),
    }
}

pub(crate) fn can_read(owners: &Option<Vec<i64>>, member_id: i64) -> bool {
    owners.as_ref().is_none_or(|o| o.contains(&member_id))
}

pub(crate) fn source_json(source: &Source) -> Value {
    json!({
        "platform": source.meta.platform,
        "url": source.meta.url,
        "uploader": source.meta.uploader,
        "title_seen": source.meta.title_seen,
        "found_at": source.meta.found_at,
        "submitted_at": source.submitted_at,
    })
}

fn match_json(row: &MatchRow, sources: &[Source], decisions: &[Decision]) -> Value {
    json!({
        "id": row.id,
        "state": row.state,
        "work_id": row.work_id,
        "title": row.title,
        "member": row.member,
        "episode": row.episode,
        "score": row.score,
        "segments": row.segments,
        "transformation": row.transformation,
        "content_box": row.content_box,
        "suspect": {
            "id": row.suspect_id,
            "sha256": row.suspect_sha256,
            "sources": sources.iter().map(source_json).collect::<Vec<_>>(),
        },
        "job_id": row.job_id,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
        "decisions": decisions,
    })
}

#[derive(Deserialize)]
struct MatchQuery {
    state: Option<String>,
    member: Option<String>,
    platform: Option<String>,
    /// Unix seconds: matches found at or after.
    since: Option<i64>,
    /// Matches found at most this many seconds ago.
    max_age_secs: Option<i64>,
    suspect_id: Option<i64>,
    limit: Option<u32>,
}

async fn list_matches(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<MatchQuery>,
) -> Result<Response, ApiError> {
    let mut owners = readable_owners(&state, &caller).await?;
    if let Some(name) = q.member.clone() {
        let member = state.db(move |s| s.member_by_name(&name)).await?;
        let wanted = member.map_or(-1, |m| m.id);
        owners = Some(match owners {
            Some(o) if !o.contains(&wanted) => Vec::new(),
            _ => vec![wanted],
        });
    }
    let since = match (q.since, q.max_age_secs) {
        (a, Some(age)) => Some(
            a.unwrap_or(i64::MIN)
                .max(reelguard_store::now().saturating_sub(age)),
        ),
        (a, None) => a,
    };
    let filter = MatchFilter {
        state: q
            .state
            .as_deref()
            .map(str::parse::<MatchState>)
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        owners,
        platform: q.platform,
        since,
        suspect_id: q.suspect_id,
        limit: limit(q.limit),
        ..MatchFilter::default()
    };
    let list = state
        .db(move |s| {
            let rows = s.matches(&filter)?;
            // Two queries for the whole page, not two per match.
            let suspects: Vec<i64> = rows.iter().map(|r| r.suspect_id).collect();
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let (sources, decisions) = (s.sources_of(&suspects)?, s.decisions_of(&ids)?);
            Ok(rows
                .iter()
                .map(|row| {
                    match_json(
                        row,
                        sources.get(&row.suspect_id).map_or(&[], Vec::as_slice),
                        decisions.get(&row.id).map_or(&[], Vec::as_slice),
                    )
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(json!({ "matches": list })).into_response())
}

pub(crate) async fn readable_match(
    state: &Shared,
    caller: &Caller,
    raw_id: &str,
) -> Result<MatchRow, ApiError> {
    let id = parse_id(raw_id, "match")?;
    let owners = readable_owners(state, caller).await?;
    let row = state.db(move |s| s.match_by_id(id)).await?;
    match row {
        Some(row) if can_read(&owners, row.member_id) => Ok(row),
        _ => Err(ApiError::NotFound(format!("match {raw_id}"))),
    }
}

async fn get_match(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = readable_match(&state, &caller, &id).await?;
    let (suspect, match_id) = (row.suspect_id, row.id);
    let (sources, decisions) = state
        .db(move |s| Ok((s.sources(suspect)?, s.decisions(match_id)?)))
        .await?;
    Ok(Json(match_json(&row, &sources, &decisions)).into_response())
}

#[derive(Deserialize)]
struct DecisionBody {
    decision: Verdict,
    reason: String,
}

/// What a notice states on the rights holder's behalf (the good-faith and accuracy statements
/// a notice-and-takedown request carries).
pub const GOOD_FAITH: &str = "The rights holder has a good faith belief that the use of the \
material identified above is not authorised by the rights holder, its agent, or the law.";
/// See [`GOOD_FAITH`].
pub const ACCURACY: &str = "The information in this notice is accurate, and the sender is \
authorised to act on behalf of the owner of the exclusive rights that are allegedly infringed.";

/// The notice's stable public id: its issue date and the start of its evidence hash, so the
/// id itself ties the notice to the bundle it was issued on.
fn public_notice_id(decided_at: i64, bundle_sha256: &str) -> String {
    let date = crate::ui::html::utc_date(decided_at).replace('-', "");
    format!(
        "RGN-{date}-{}",
        &bundle_sha256[..bundle_sha256.len().min(12)]
    )
}

/// The takedown notice record (structured; the review workbench renders it, and webhooks
/// carry it).
fn notice_body(
    row: &MatchRow,
    sources: &[Source],
    decision: &Decision,
    bundle: &crate::evidence::Bundle,
) -> Value {
    json!({
        "kind": "takedown_request",
        "notice_id": public_notice_id(decision.decided_at, &bundle.sha256),
        "rights_holder": row.member,
        "work": {"work_id": row.work_id, "title": row.title},
        "episode": row.episode,
        "infringing_copies": sources.iter().map(source_json).collect::<Vec<_>>(),
        "content_sha256": row.suspect_sha256,
        "matched_time_ranges": row.segments,
        "evidence": {
            "match_id": row.id,
            "score": row.score,
            "segments": row.segments,
            "transformation": row.transformation,
            "content_box": row.content_box,
            "found_at": row.created_at,
            "bundle_sha256": bundle.sha256,
            "bundle_file": format!("bundle-{}.json", bundle.sha256),
            "stills": bundle.content["stills"],
        },
        "decision": {
            "reviewer": decision.reviewer,
            "reason": decision.reason,
            "decided_at": decision.decided_at,
        },
        "statements": {"good_faith": GOOD_FAITH, "accuracy": ACCURACY},
        "issued_at": decision.decided_at,
    })
}

pub(crate) fn notice_json(notice: &Notice) -> Value {
    json!({
        "id": notice.id,
        "match_id": notice.match_id,
        "created_at": notice.created_at,
        "notice": notice.body,
    })
}

/// Decides a match for the API and the workbench alike. Confirming first makes the evidence
/// bundle (FFmpeg stills, off the runtime and outside the store's lock), then records the
/// decision and the notice citing the bundle in one store transaction.
pub(crate) async fn decide_match(
    state: &Shared,
    caller: &Caller,
    row: &MatchRow,
    verdict: Verdict,
    reason: &str,
) -> Result<(Decision, Option<Notice>), ApiError> {
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.len() > 4000 {
        return Err(ApiError::BadRequest(
            "reason must be 1–4000 characters".into(),
        ));
    }
    if row.state != MatchState::PendingReview {
        return Err(ApiError::Conflict(format!(
            "match {} is already {}",
            row.id, row.state
        )));
    }
    let bundle = match verdict {
        Verdict::Confirm => {
            let suspect = row.suspect_id;
            let sources = state.db(move |s| s.sources(suspect)).await?;
            let (dirs, bundled) = (state.evidence.clone(), row.clone());
            let bundle = tokio::task::spawn_blocking(move || {
                crate::evidence::bundle(&dirs, &bundled, &sources)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("evidence task: {e}")))?
            .map_err(|e| ApiError::Internal(format!("evidence for match {}: {e}", row.id)))?;
            Some(bundle)
        }
        Verdict::Reject => None,
    };
    let (caller, match_id) = (caller.clone(), row.id);
    state
        .db(move |s| {
            s.decide(
                match_id,
                &caller,
                verdict,
                &reason,
                |row, sources, decision| {
                    bundle
                        .as_ref()
                        .map_or(Value::Null, |b| notice_body(row, sources, decision, b))
                },
            )
        })
        .await
}

async fn decide(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Response, ApiError> {
    let row = readable_match(&state, &caller, &id).await?;
    let (decision, notice) =
        decide_match(&state, &caller, &row, body.decision, &body.reason).await?;
    let match_id = row.id;
    let result = state
        .db(move |s| {
            let row = s.match_by_id(match_id)?.ok_or_else(|| {
                reelguard_store::StoreError::NotFound(format!("match {match_id}"))
            })?;
            let sources = s.sources(row.suspect_id)?;
            let decisions = s.decisions(match_id)?;
            Ok(json!({
                "match": match_json(&row, &sources, &decisions),
                "decision": decision,
                "notice": notice.as_ref().map(notice_json),
            }))
        })
        .await?;
    let note = match result["notice"]["id"].as_i64() {
        Some(notice) => format!("match {match_id} notice {notice}"),
        None => format!("match {match_id}"),
    };
    Ok((Extension(AuditNote(note)), Json(result)).into_response())
}

#[derive(Deserialize)]
struct NoticeQuery {
    limit: Option<u32>,
}

async fn list_notices(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, ApiError> {
    let owners = readable_owners(&state, &caller).await?;
    let notices = state
        .db(move |s| s.notices(owners.as_deref(), limit(q.limit)))
        .await?;
    Ok(
        Json(json!({"notices": notices.iter().map(notice_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

async fn get_notice(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let notice_id = parse_id(&id, "notice")?;
    let owners = readable_owners(&state, &caller).await?;
    let notice = state.db(move |s| s.notice(notice_id)).await?;
    match notice {
        Some(n) if can_read(&owners, n.member_id) => Ok(Json(notice_json(&n)).into_response()),
        _ => Err(ApiError::NotFound(format!("notice {id}"))),
    }
}
