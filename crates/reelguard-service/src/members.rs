//! Administration: members (legal parties: a name and the profile a notice names), API keys,
//! review scopes and the audit log (admin keys only; the route table says so). The rules: a
//! key or scope names an existing member, never creates one; a key is shown once, at creation;
//! a reviewer member reviews nobody's matches until an admin assigns a scope.

use reelguard_store::{AuditRecord, Caller, KeyInfo, LegalProfile, Member, Role, StoreError};
use serde::Serialize;

use crate::error::AppError;
use crate::Service;

/// The interface languages a key may choose (the first is the default).
pub const LANGUAGES: &[&str] = &["zh-CN", "en"];

/// A member as the administration API shows it: its record and its legal profile.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// The member.
    #[serde(flatten)]
    pub member: Member,
    /// Its legal profile.
    #[serde(flatten)]
    pub legal: LegalProfile,
    /// The profile fields a notice needs that are still empty.
    pub legal_missing: Vec<&'static str>,
}

impl MemberView {
    fn new(member: Member, legal: LegalProfile) -> MemberView {
        let legal_missing = legal.missing();
        MemberView {
            member,
            legal,
            legal_missing,
        }
    }
}

/// Creates a member with its legal profile (any field may be left out and filled in later).
pub async fn create(
    service: &Service,
    name: String,
    legal: LegalProfile,
) -> Result<MemberView, AppError> {
    // Trimmed and empty fields dropped, as a later edit would store them.
    let legal = LegalProfile::default().patched(&legal);
    legal.validate().map_err(|e| AppError::from_store(e, 0))?;
    service
        .db(move |s| {
            let member = s.create_member(&name)?;
            s.set_legal_profile(member.id, &legal)?;
            Ok(MemberView::new(member, legal))
        })
        .await
}

/// Every member with its legal profile.
pub async fn list(service: &Service) -> Result<Vec<MemberView>, AppError> {
    service
        .db(|s| {
            let mut profiles = s.legal_profiles()?;
            Ok(s.members()?
                .into_iter()
                .map(|m| {
                    let legal = profiles.remove(&m.id).unwrap_or_default();
                    MemberView::new(m, legal)
                })
                .collect())
        })
        .await
}

/// Edits a member's legal profile: the fields given replace the stored ones, an empty string
/// clears one, the others stay.
pub async fn update(
    service: &Service,
    name: String,
    patch: LegalProfile,
) -> Result<MemberView, AppError> {
    service
        .db(move |s| {
            let member = s
                .member_by_name(&name)?
                .ok_or_else(|| StoreError::NotFound(format!("member {name:?}")))?;
            let legal = s.legal_profile(member.id)?.patched(&patch);
            s.set_legal_profile(member.id, &legal)?;
            Ok(MemberView::new(member, legal))
        })
        .await
}

/// Sets the interface language of the caller's own key (`None`: back to the default).
pub async fn set_language(
    service: &Service,
    caller: &Caller,
    language: Option<String>,
) -> Result<(), AppError> {
    if let Some(l) = &language {
        if !LANGUAGES.contains(&l.as_str()) {
            return Err(AppError::Invalid(format!(
                "language must be one of {}",
                LANGUAGES.join(", ")
            )));
        }
    }
    let key = caller.key_id;
    service
        .db(move |s| s.set_key_language(key, language.as_deref()))
        .await
}

/// Lets a reviewer member review every member's matches; answers the reviewer's name.
pub async fn set_review_scope_all(service: &Service, reviewer: String) -> Result<String, AppError> {
    service
        .db(move |s| {
            let reviewer = s
                .member_by_name(&reviewer)?
                .ok_or_else(|| StoreError::NotFound(format!("member {reviewer}")))?;
            s.set_review_scope_all(reviewer.id)?;
            Ok(reviewer.name)
        })
        .await
}

/// Sets the members a reviewer may review (none: it reviews nothing); answers the reviewer's
/// name.
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
