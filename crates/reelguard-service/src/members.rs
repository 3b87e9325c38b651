//! Administration: members, API keys, review scopes and the audit log (admin keys only; the
//! route table says so). The rules: a key or scope names an existing member, never creates
//! one; a key is shown once, at creation.

use reelguard_store::{AuditRecord, KeyInfo, Member, Role, StoreError};

use crate::error::AppError;
use crate::Service;

/// Creates a member.
pub async fn create(service: &Service, name: String) -> Result<Member, AppError> {
    service.db(move |s| s.create_member(&name)).await
}

/// Every member.
pub async fn list(service: &Service) -> Result<Vec<Member>, AppError> {
    service.db(|s| s.members()).await
}

/// Sets the members a reviewer may review; answers the reviewer's name.
pub async fn set_review_scope(
    service: &Service,
    reviewer: String,
    members: Vec<String>,
) -> Result<String, AppError> {
    service
        .db(move |s| {
            let reviewer = s
                .member_by_name(&reviewer)?
                .ok_or_else(|| StoreError::NotFound(format!("member {reviewer}")))?;
            let mut ids = Vec::new();
            for m in &members {
                let member = s
                    .member_by_name(m)?
                    .ok_or_else(|| StoreError::Invalid(format!("no member {m:?}")))?;
                ids.push(member.id);
            }
            s.set_review_scope(reviewer.id, &ids)?;
            Ok(reviewer.name)
        })
        .await
}

/// Creates a key for an existing member; answers its record and the key itself.
pub async fn create_key(
    service: &Service,
    member: String,
    role: Role,
) -> Result<(KeyInfo, String), AppError> {
    service
        .db(move |s| {
            let found = s
                .member_by_name(&member)?
                .ok_or_else(|| StoreError::Invalid(format!("no member {member:?}")))?;
            s.create_key(found.id, role)
        })
        .await
}

/// Every key (never the keys themselves).
pub async fn keys(service: &Service) -> Result<Vec<KeyInfo>, AppError> {
    service.db(|s| s.keys()).await
}

/// Revokes a key; its sessions end with it.
pub async fn revoke_key(service: &Service, raw_id: &str) -> Result<i64, AppError> {
    let id = crate::query::parse_id(raw_id, "key")?;
    service.db(move |s| s.revoke_key(id)).await?;
    Ok(id)
}

/// Audit entries after an id, oldest first.
pub async fn audit_log(
    service: &Service,
    after: Option<i64>,
    limit: Option<u32>,
) -> Result<Vec<AuditRecord>, AppError> {
    let limit = crate::query::limit(limit);
    service
        .db(move |s| s.audit_log(after.unwrap_or(0), limit))
        .await
}

/// The readiness rule: serving, and the store answers.
pub async fn ready(service: &Service) -> Result<(), AppError> {
    if !service.is_ready() {
        return Err(AppError::Unavailable("not ready".into()));
    }
    service.db(|s| s.ping()).await
}

/// The metrics text: counters kept in memory plus the counts from the store and the
/// catalogue's size from its current snapshot.
pub async fn metrics_text(service: &Service) -> Result<String, AppError> {
    let now = reelguard_store::now();
    let (jobs, depth, reviews) = service
        .db(move |s| Ok((s.job_counts()?, s.queue_depth()?, s.review_counts(now)?)))
        .await?;
    let scraped = crate::metrics_gauges::Scraped {
        reviews,
        catalogue: crate::metrics_gauges::CatalogueSize::of(
            service.catalogue.snapshot().manifest(),
        ),
    };
    Ok(service.metrics.render(&jobs, depth, &scraped))
}
