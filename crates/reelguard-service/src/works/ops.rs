//! The work operations the API and the workbench call, each with its ownership rule.

use reelguard_index::{NewWork, Work};
use reelguard_store::{Caller, WorkRow};

use super::{crash_point, intent};
use crate::error::AppError;
use crate::Service;

/// A work as a client sees it: the store's record, and the catalogue's episodes.
#[derive(Debug, Clone)]
pub struct WorkView {
    /// The store's record (owner, dates, withdrawal).
    pub row: WorkRow,
    /// The catalogue's work (episodes); `None` only while a crash is being reconciled.
    pub work: Option<Work>,
}

impl WorkView {
    /// Withdrawn on either side (the store decides; the catalogue follows).
    pub fn withdrawn(&self) -> bool {
        self.row.withdrawn_at.is_some() || self.work.as_ref().is_some_and(|w| w.withdrawn)
    }
}

/// What a member asks for when creating a work.
#[derive(Debug, Clone)]
pub struct NewWorkRequest {
    /// Title, 1–500 bytes.
    pub title: String,
    /// The member's own reference.
    pub external_id: Option<String>,
    /// When the drama goes on sale, Unix seconds (orders the review queue).
    pub released_at: Option<i64>,
}

fn catalogue_work(service: &Service, work_id: &str) -> Option<Work> {
    service
        .catalogue
        .snapshot()
        .manifest()
        .work(work_id)
        .cloned()
}

/// The work if the caller owns it; not found otherwise (also for other members' works).
pub async fn owned(service: &Service, caller: &Caller, work_id: &str) -> Result<WorkRow, AppError> {
    let id = work_id.to_string();
    match service.db(move |s| s.work(&id)).await? {
        Some(row) if row.member_id == caller.member_id => Ok(row),
        _ => Err(AppError::NotFound(format!("work {work_id}"))),
    }
}

/// [`owned`], and a conflict if it is withdrawn (no episode may be added to it).
pub async fn live(service: &Service, caller: &Caller, work_id: &str) -> Result<WorkRow, AppError> {
    let row = owned(service, caller, work_id).await?;
    if row.withdrawn_at.is_some() {
        return Err(AppError::Conflict(format!("work {work_id} is withdrawn")));
    }
    Ok(row)
}

/// One of the caller's works.
pub async fn get(service: &Service, caller: &Caller, work_id: &str) -> Result<WorkView, AppError> {
    let row = owned(service, caller, work_id).await?;
    Ok(WorkView {
        work: catalogue_work(service, work_id),
        row,
    })
}

/// The caller's works.
pub async fn list(service: &Service, caller: &Caller) -> Result<Vec<WorkView>, AppError> {
    let member = caller.member_id;
    let rows = service.db(move |s| s.works_of(member)).await?;
    let snapshot = service.catalogue.snapshot();
    Ok(rows
        .into_iter()
        .map(|row| WorkView {
            work: snapshot.manifest().work(&row.work_id).cloned(),
            row,
        })
        .collect())
}

/// Creates a work in both stores (see the module doc of [`super`] for the protocol).
pub async fn create(
    service: &std::sync::Arc<Service>,
    caller: &Caller,
    request: NewWorkRequest,
) -> Result<WorkView, AppError> {
    if request.title.trim().is_empty() || request.title.len() > 500 {
        return Err(AppError::Invalid("title must be 1–500 characters".into()));
    }
    let intent = intent::CreateIntent {
        member_id: caller.member_id,
        owner: caller.member.clone(),
        title: request.title,
        external_id: request.external_id,
        released_at: request.released_at,
    };
    let svc = std::sync::Arc::clone(service);
    service
        .blocking(move || {
            let data = svc.config.data_dir.clone();
            let mut writer = svc.catalogue.lock();
            intent::write(&data, &intent)?;
            crash_point("work_create_after_intent");
            let new = NewWork {
                title: intent.title.clone(),
                owner: Some(intent.owner.clone()),
                external_id: intent.external_id.clone(),
            };
            let work = writer.add_work(new, Vec::new());
            svc.catalogue.publish(&writer);
            let work = match work {
                Ok(work) => work,
                Err(error) => {
                    intent::clear(&data)?;
                    return Err(AppError::from_index(error));
                }
            };
            crash_point("work_create_after_catalogue");
            let row = svc.store_sync(|s| {
                s.insert_work(
                    &work.id,
                    intent.member_id,
                    &intent.title,
                    intent.external_id.as_deref(),
                    intent.released_at,
                )
            })?;
            crash_point("work_create_after_store");
            intent::clear(&data)?;
            drop(writer);
            Ok(WorkView {
                row,
                work: Some(work),
            })
        })
        .await
}

/// Withdraws a work: the store decides, then the catalogue stops matching it, then the
/// kept reference files are deleted (a member that withdraws a drama takes its masters back;
/// stills already made stay, since notices cite them).
pub async fn withdraw(
    service: &std::sync::Arc<Service>,
    caller: &Caller,
    work_id: &str,
) -> Result<WorkView, AppError> {
    owned(service, caller, work_id).await?;
    let id = work_id.to_string();
    service.db(move |s| s.mark_work_withdrawn(&id)).await?;
    let svc = std::sync::Arc::clone(service);
    let id = work_id.to_string();
    service
        .blocking(move || {
            crash_point("work_withdraw_after_store");
            svc.catalogue
                .write(|c| c.withdraw_work(&id))
                .map_err(AppError::from_index)
        })
        .await?;
    let view = get(service, caller, work_id).await?;
    if let Some(work) = &view.work {
        forget_references(service, work.episodes.iter().map(|e| e.id).collect()).await;
    }
    Ok(view)
}

/// Withdraws one episode from matching (the catalogue alone holds episodes).
pub async fn withdraw_episode(
    service: &std::sync::Arc<Service>,
    caller: &Caller,
    work_id: &str,
    number: &str,
) -> Result<WorkView, AppError> {
    owned(service, caller, work_id).await?;
    let number: u32 = number
        .parse()
        .map_err(|_| AppError::NotFound(format!("episode {number}")))?;
    let svc = std::sync::Arc::clone(service);
    let id = work_id.to_string();
    service
        .blocking(move || {
            svc.catalogue
                .write(|c| c.withdraw_episode(&id, number))
                .map_err(AppError::from_index)
        })
        .await?;
    let view = get(service, caller, work_id).await?;
    if let Some(work) = &view.work {
        let withdrawn = work
            .episodes
            .iter()
            .filter(|e| e.number == number)
            .map(|e| e.id)
            .collect();
        forget_references(service, withdrawn).await;
    }
    Ok(view)
}

/// Deletes withdrawn episodes' kept files; a failure is logged (the withdrawal stands).
async fn forget_references(service: &Service, episode_ids: Vec<u64>) {
    let dirs = service.evidence.clone();
    let removed = service
        .blocking(move || {
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
            Ok(())
        })
        .await;
    if let Err(error) = removed {
        tracing::warn!(%error, "deleting reference files failed");
    }
}
