//! Takedown: a work's papers (proof of rights, the agent's authorisation), per-segment
//! verdicts, a notice's tracking and its document, crawlers' URL reports, time to removal,
//! re-posts of confirmed content noticed in one step, and the public evidence a platform
//! opens without a key. Thin handlers over `reelguard_service::{legal, sightings, takedown}`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_service::legal::{self, Papers};
use reelguard_service::sightings;
use reelguard_service::takedown;
use reelguard_store::NoticeState;

use super::{JsonBody, Query};
use crate::auth::{AuditNote, Auth};
use crate::error::ApiError;
use crate::notice_doc::{self, Lang};
use crate::present::notice_out;
use crate::wire::requests::{
    LangQuery, NewAuthorisation, NewNoticeState, NewRights, NewSegmentVerdict, SightingQuery,
    UrlReport,
};
use crate::wire::responses::{
    AuthorisationSet, NoticesMade, RemovalTimes, RightsSet, SegmentsSet, SightingList, SightingOut,
    TrackingOut, UrlReported,
};
use crate::Shared;

/// A path id the service has already accepted, as the number it is (a malformed one never
/// gets this far: the service answers 404 for it).
fn numeric(id: &str) -> Result<i64, ApiError> {
    id.trim()
        .parse()
        .map_err(|_| ApiError::NotFound(format!("{id:?}")))
}

pub(super) async fn put_rights(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    JsonBody(body): JsonBody<NewRights>,
) -> Result<Json<RightsSet>, ApiError> {
    let rights = legal::set_rights(
        &state,
        &caller,
        &work_id,
        body.registration_number,
        body.certificate,
    )
    .await?;
    Ok(Json(RightsSet { work_id, rights }))
}

pub(super) async fn put_authorisation(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
    JsonBody(body): JsonBody<NewAuthorisation>,
) -> Result<Json<AuthorisationSet>, ApiError> {
    let auth = legal::set_authorisation(
        &state,
        &caller,
        &work_id,
        body.scope,
        body.valid_from,
        body.valid_until,
        body.file,
    )
    .await?;
    Ok(Json(AuthorisationSet {
        work_id,
        authorisation: auth,
    }))
}

pub(super) async fn get_papers(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(work_id): Path<String>,
) -> Result<Json<Papers>, ApiError> {
    Ok(Json(legal::papers(&state, &caller, &work_id).await?))
}

pub(super) async fn put_segment(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path((id, segment)): Path<(String, String)>,
    JsonBody(body): JsonBody<NewSegmentVerdict>,
) -> Result<Json<SegmentsSet>, ApiError> {
    let rejected = takedown::segment_verdict(&state, &caller, &id, &segment, body.verdict).await?;
    Ok(Json(SegmentsSet {
        match_id: numeric(&id)?,
        rejected_segments: rejected,
    }))
}

pub(super) async fn get_tracking(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<TrackingOut>, ApiError> {
    let (notice, tracking) = takedown::tracking(&state, &caller, &id).await?;
    Ok(Json(TrackingOut {
        notice_id: notice.id,
        state: tracking.state,
        events: tracking.events,
    }))
}

pub(super) async fn post_state(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewNoticeState>,
) -> Result<Response, ApiError> {
    let tracking = takedown::transition(&state, &caller, &id, body.state, &body.reason).await?;
    Ok((
        Extension(AuditNote(format!("notice {id} {}", tracking.state))),
        Json(TrackingOut {
            notice_id: numeric(&id)?,
            state: tracking.state,
            events: tracking.events,
        }),
    )
        .into_response())
}

pub(super) async fn get_document(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let (notice, tracking) = takedown::tracking(&state, &caller, &id).await?;
    // A draft previews the papers as they stand; a sent notice shows what was sent.
    let body = if tracking.state == NoticeState::Draft {
        takedown::final_body(&state, &notice, None, reelguard_store::now())
            .await?
            .0
    } else {
        notice.body.clone()
    };
    let files = format!("/ui/notices/{}/evidence/", notice.id);
    let html = notice_doc::render(
        &body,
        tracking.state.as_str(),
        Lang::parse(q.lang.as_deref()),
        &files,
    );
    Ok(notice_doc::response(html))
}

pub(super) async fn post_url_report(
    State(state): State<Shared>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<UrlReport>,
) -> Result<Json<UrlReported>, ApiError> {
    let touched = takedown::report_url(&state, &caller, body.url, body.status).await?;
    Ok(Json(UrlReported { notices: touched }))
}

pub(super) async fn get_removal_times(
    State(state): State<Shared>,
    Auth(caller): Auth,
) -> Result<Json<RemovalTimes>, ApiError> {
    let platforms = takedown::removal_times(&state, &caller).await?;
    Ok(Json(RemovalTimes { platforms }))
}

pub(super) async fn list_sightings(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Query(q): Query<SightingQuery>,
) -> Result<Json<SightingList>, ApiError> {
    let list = sightings::list(&state, &caller, q.limit).await?;
    Ok(Json(SightingList {
        sightings: list.into_iter().map(SightingOut::from).collect(),
    }))
}

pub(super) async fn notice_sighting(
    State(state): State<Shared>,
    Auth(caller): Auth,
    Path(source_id): Path<String>,
) -> Result<Response, ApiError> {
    let notices = sightings::notice(&state, &caller, &source_id).await?;
    let ids: Vec<String> = notices.iter().map(|n| n.id.to_string()).collect();
    Ok((
        Extension(AuditNote(format!(
            "sighting {source_id} notices {}",
            ids.join(",")
        ))),
        Json(NoticesMade {
            notices: notices.iter().map(notice_out).collect(),
        }),
    )
        .into_response())
}

pub(super) async fn public_evidence(
    State(state): State<Shared>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let (notice, notice_state) = takedown::public_notice(&state, &token).await?;
    // Relative to the page, so the stills resolve under this token only.
    let files = format!("{token}/");
    let html = notice_doc::render(
        &notice.body,
        notice_state.as_str(),
        Lang::parse(q.lang.as_deref()),
        &files,
    );
    Ok(notice_doc::response(html))
}

pub(super) async fn public_evidence_file(
    State(state): State<Shared>,
    Path((token, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (bytes, json) = takedown::public_file(&state, &token, &file).await?;
    let kind = if json {
        "application/json"
    } else {
        "image/jpeg"
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        bytes,
    )
        .into_response())
}
