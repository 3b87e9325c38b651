//! The API's response types ([`crate::wire::responses`]) built from the service's records
//! (shared with the workbench where a page serves the same record as JSON). Presentation
//! only: nothing here decides anything.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reelguard_index::Work;
use reelguard_service::matches::Listed;
use reelguard_service::present::{round, SegmentView, SourceView};
use reelguard_service::works::WorkView;
use reelguard_store::{Job, JobState, Notice, Submission};
use serde_json::{json, Value};

use crate::auth::AuditNote;
use crate::wire::responses::{
    Accepted, ContentBoxOut, EpisodeOut, JobOut, MatchOut, NoticeOut, SuspectOut, WorkOut,
};

/// The file name an episode was registered under, without the job prefix that makes catalogue
/// names unique (see `reelguard_service::work::episode_source`).
pub fn display_file(file: &str) -> &str {
    match file.split_once(':') {
        Some((job, name))
            if job.starts_with("job") && job[3..].chars().all(|c| c.is_ascii_digit()) =>
        {
            name
        }
        _ => file,
    }
}

fn episodes(work: Option<&Work>) -> Vec<EpisodeOut> {
    work.map(|w| {
        w.episodes
            .iter()
            .map(|e| EpisodeOut {
                number: e.number,
                file: display_file(&e.file).to_string(),
                duration_s: round(e.duration_s, 3),
                frames: e.frame_count,
                withdrawn: e.withdrawn,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// A work.
pub fn work_out(view: &WorkView) -> WorkOut {
    let row = &view.row;
    WorkOut {
        work_id: row.work_id.clone(),
        title: row.title.clone(),
        external_id: row.external_id.clone(),
        created_at: row.created_at,
        released_at: row.released_at,
        withdrawn: view.withdrawn(),
        episodes: episodes(view.work.as_ref()),
    }
}

/// A job.
pub fn job_out(job: &Job) -> JobOut {
    JobOut {
        id: job.id,
        kind: job.kind,
        state: job.state,
        progress: round(job.progress, 3),
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        next_attempt_at: (job.state == JobState::Queued).then_some(job.next_attempt_at),
        error_kind: job.error_kind.clone(),
        error: job.error.clone(),
        result: job.result.clone(),
        suspect_id: job.suspect_id,
        work_id: job.work_id.clone(),
        file_name: job.file_name.clone(),
        created_at: job.created_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
    }
}

/// A match with its suspect's sources and its decisions.
pub fn match_out(listed: &Listed) -> MatchOut {
    let row = &listed.row;
    MatchOut {
        id: row.id,
        state: row.state,
        work_id: row.work_id.clone(),
        title: row.title.clone(),
        member: row.member.clone(),
        episode: row.episode,
        score: row.score,
        segments: row.segments.iter().map(SegmentView::from).collect(),
        transformation: row.transformation.clone(),
        content_box: row.content_box.as_ref().map(ContentBoxOut::from),
        suspect: SuspectOut {
            id: row.suspect_id,
            sha256: row.suspect_sha256.clone(),
            sources: listed.sources.iter().map(SourceView::from).collect(),
            sources_more: listed.sources_more,
        },
        job_id: row.job_id,
        created_at: row.created_at,
        decided_at: row.decided_at,
        decisions: listed.decisions.clone(),
    }
}

/// A notice.
pub fn notice_out(notice: &Notice) -> NoticeOut {
    NoticeOut {
        id: notice.id,
        match_id: notice.match_id,
        created_at: notice.created_at,
        notice: notice.body.clone(),
    }
}

/// A notice as JSON (the workbench serves the same shape as the API).
pub fn notice_json(notice: &Notice) -> Value {
    json!(notice_out(notice))
}

/// 202 for an accepted submission, pointing at its job.
pub fn accepted(submission: &Submission) -> Response {
    let location = format!("/v1/jobs/{}", submission.job_id);
    let body = Accepted {
        job_id: submission.job_id,
        suspect_id: submission.suspect_id,
        deduplicated: submission.deduplicated,
        status_url: location.clone(),
    };
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Extension(AuditNote(format!("job {}", submission.job_id))),
        Json(body),
    )
        .into_response()
}
