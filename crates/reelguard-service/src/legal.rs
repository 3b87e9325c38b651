//! What makes a notice legally sendable: the rights holder's profile, each work's proof of
//! rights (registration number and certificate), and — when the alliance sends as the holder's
//! agent — the holder's authorisation, valid on the day. Members record their own works'
//! papers; a notice is refused naming every piece that is missing.
//!
//! The decision that shapes it: the papers are checked when a notice leaves draft, not when a
//! match is confirmed, so a reviewer's work is never lost to missing paperwork, and the sent
//! notice copies the papers as they stood that day (a later edit never rewrites a sent notice).

use base64::Engine;
use reelguard_store::{Authorisation, Caller, LegalProfile, WorkRights};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::evidence::{sha256_hex, write_atomically};
use crate::Service;

/// Largest certificate or authorisation file, in bytes (a scan or a PDF).
pub const MAX_PAPER_BYTES: usize = 8 << 20;

/// A file sent inside a JSON request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    /// Its file name.
    pub name: String,
    /// Its bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// The agent that sends notices on the members' behalf (`notice_agent_*` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Agent {
    /// Its name.
    pub name: String,
    /// The person to contact.
    pub contact: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
}

/// Who sends notices on the members' behalf, from the configuration (`notice_agent_*`);
/// `None`: each rights holder sends its own.
pub fn agent(service: &Service) -> Option<Agent> {
    let c = &service.config;
    c.notice_agent_name.as_ref().map(|name| Agent {
        name: name.clone(),
        contact: c.notice_agent_contact.clone(),
        phone: c.notice_agent_phone.clone(),
        email: c.notice_agent_email.clone(),
        address: c.notice_agent_address.clone(),
    })
}

/// Keeps a paper under `<data>/legal/<sha256>` (content-addressed: never rewritten); answers
/// its SHA-256.
async fn keep(service: &Service, paper: &Paper) -> Result<String, AppError> {
    let name = paper.name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "the file name must be 1–200 printable characters".into(),
        ));
    }
    if paper.content_base64.len() > MAX_PAPER_BYTES / 3 * 4 + 4 {
        return Err(AppError::TooLarge(MAX_PAPER_BYTES as u64));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(paper.content_base64.trim())
        .map_err(|e| AppError::Invalid(format!("content_base64: {e}")))?;
    if bytes.is_empty() {
        return Err(AppError::Invalid("the file is empty".into()));
    }
    let sha256 = sha256_hex(&bytes);
    let path = service.evidence.legal_dir().join(&sha256);
    service
        .blocking(move || {
            if !path.exists() {
                write_atomically(&path, &bytes)
                    .map_err(|e| AppError::Internal(format!("keeping a paper: {e}")))?;
            }
            Ok(())
        })
        .await?;
    Ok(sha256)
}

/// Records the proof of rights of one of the caller's works.
pub async fn set_rights(
    service: &Service,
    caller: &Caller,
    work_id: &str,
    registration_number: String,
    certificate: Paper,
) -> Result<WorkRights, AppError> {
    let work = crate::works::owned(service, caller, work_id).await?;
    let number = registration_number.trim().to_string();
    if number.is_empty() || number.len() > 200 {
        return Err(AppError::Invalid(
            "registration_number must be 1–200 characters".into(),
        ));
    }
    let rights = WorkRights {
        registration_number: number,
        certificate_sha256: keep(service, &certificate).await?,
        certificate_name: certificate.name.trim().to_string(),
        recorded_at: reelguard_store::now(),
    };
    let stored = rights.clone();
    service
        .db(move |s| s.set_work_rights(&work.work_id, &stored))
        .await?;
    Ok(rights)
}

/// Records the caller's authorisation of the agent for one of its works.
pub async fn set_authorisation(
    service: &Service,
    caller: &Caller,
    work_id: &str,
    scope: String,
    valid_from: i64,
    valid_until: i64,
    file: Paper,
) -> Result<Authorisation, AppError> {
    let work = crate::works::owned(service, caller, work_id).await?;
    let scope = scope.trim().to_string();
    if scope.is_empty() || scope.len() > 1000 {
        return Err(AppError::Invalid("scope must be 1–1000 characters".into()));
    }
    if valid_until <= valid_from {
        return Err(AppError::Invalid(
            "valid_until must come after valid_from".into(),
        ));
    }
    let auth = Authorisation {
        scope,
        valid_from,
        valid_until,
        file_sha256: keep(service, &file).await?,
        file_name: file.name.trim().to_string(),
        recorded_at: reelguard_store::now(),
    };
    let stored = auth.clone();
    service
        .db(move |s| s.set_authorisation(&work.work_id, &stored))
        .await?;
    Ok(auth)
}

/// A work's papers as the works API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Papers {
    /// The work.
    pub work_id: String,
    /// Its proof of rights, once recorded.
    pub rights: Option<WorkRights>,
    /// The agent's authorisation for it, once recorded.
    pub authorisation: Option<Authorisation>,
    /// The agent notices are sent by (`null`: the rights holder sends its own).
    pub agent: Option<Agent>,
    /// What a notice for this work would still lack (empty: it may be sent).
    pub missing: Vec<String>,
}

/// A work's papers: what is there and what is missing.
pub async fn papers(service: &Service, caller: &Caller, work_id: &str) -> Result<Papers, AppError> {
    let work = crate::works::owned(service, caller, work_id).await?;
    let member = caller.member_id;
    let (legal, rights, auth) = service
        .db(move |s| {
            Ok((
                s.legal_profile(member)?,
                s.work_rights(&work.work_id)?,
                s.authorisation(&work.work_id)?,
            ))
        })
        .await?;
    let now = reelguard_store::now();
    let missing = missing(
        service,
        &legal,
        work_id,
        rights.as_ref(),
        auth.as_ref(),
        now,
    );
    Ok(Papers {
        work_id: work_id.to_string(),
        rights,
        authorisation: auth,
        agent: agent(service),
        missing,
    })
}

/// Everything a notice for this work would lack on day `at`, each named for the person who
/// must supply it. Empty: the notice may be sent.
pub fn missing(
    service: &Service,
    legal: &LegalProfile,
    work_id: &str,
    rights: Option<&WorkRights>,
    auth: Option<&Authorisation>,
    at: i64,
) -> Vec<String> {
    gaps(service, legal, work_id, rights, auth, at)
        .iter()
        .map(Gap::to_string)
        .collect()
}

/// One piece a notice lacks before it may be sent. Its `Display` is the API's English
/// sentence; the workbench words each kind from its message catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// A field of the rights holder's legal profile (`registration_id`, `contact`, `phone`,
    /// `email`, `address`).
    Holder(&'static str),
    /// The work's proof of rights (registration number and certificate).
    Rights {
        /// The work.
        work_id: String,
    },
    /// The rights holder's authorisation of the agent, not recorded.
    Authorisation {
        /// The agent's name.
        agent: String,
        /// The work.
        work_id: String,
    },
    /// An authorisation is recorded but not valid on the day.
    AuthorisationNotValid {
        /// The agent's name.
        agent: String,
        /// The work.
        work_id: String,
        /// Its first valid moment, Unix seconds.
        valid_from: i64,
        /// Its last valid moment, Unix seconds.
        valid_until: i64,
    },
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gap::Holder(field) => write!(f, "rights holder's {field}"),
            Gap::Rights { work_id } => write!(
                f,
                "proof of rights for work {work_id} (registration number and certificate)"
            ),
            Gap::Authorisation { agent, work_id } => write!(
                f,
                "the rights holder's authorisation of {agent} for work {work_id}"
            ),
            Gap::AuthorisationNotValid {
                agent,
                work_id,
                valid_from,
                valid_until,
            } => write!(
                f,
                "a valid authorisation of {agent} for work {work_id} (the one recorded is valid \
                 {} to {}, China Standard Time)",
                crate::time::cst(*valid_from),
                crate::time::cst(*valid_until)
            ),
        }
    }
}

/// The [`Gap`]s of a notice for this work on day `at` (what [`missing`] names).
pub fn gaps(
    service: &Service,
    legal: &LegalProfile,
    work_id: &str,
    rights: Option<&WorkRights>,
    auth: Option<&Authorisation>,
    at: i64,
) -> Vec<Gap> {
    let mut out: Vec<Gap> = legal.missing().into_iter().map(Gap::Holder).collect();
    if rights.is_none() {
        out.push(Gap::Rights {
            work_id: work_id.to_string(),
        });
    }
    if let Some(agent) = agent(service) {
        let agent = agent.name.clone();
        let work_id = work_id.to_string();
        match auth {
            None => out.push(Gap::Authorisation { agent, work_id }),
            Some(a) if at < a.valid_from || at > a.valid_until => {
                out.push(Gap::AuthorisationNotValid {
                    agent,
                    work_id,
                    valid_from: a.valid_from,
                    valid_until: a.valid_until,
                })
            }
            Some(_) => {}
        }
    }
    out
}
