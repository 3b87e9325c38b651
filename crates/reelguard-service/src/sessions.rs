//! Workbench sessions: a browser logs in with an API key and holds a session that stands for
//! that key (same member, role and tenancy; revoking the key ends it). Only the session
//! token's hash is stored.

use reelguard_store::{Caller, Session};

use crate::error::AppError;
use crate::Service;

/// Opens a session for a valid key; `None` for an invalid one. Answers the caller and the
/// session token (shown once, as the cookie) and the session's lifetime in seconds.
pub async fn login(
    service: &Service,
    key: String,
) -> Result<Option<(Caller, String, i64)>, AppError> {
    let key = key.trim().to_string();
    let Some(caller) = service.db(move |s| s.authenticate(&key)).await? else {
        return Ok(None);
    };
    let lifetime = i64::try_from(service.config.session_hours.saturating_mul(3600)).unwrap_or(3600);
    let who = caller.clone();
    let (_, token) = service.db(move |s| s.open_session(&who, lifetime)).await?;
    Ok(Some((caller, token, lifetime)))
}

/// Ends a session.
pub async fn logout(service: &Service, token: String) -> Result<(), AppError> {
    service.db(move |s| s.close_session(&token)).await
}

/// The live session a token stands for.
pub async fn lookup(service: &Service, token: String) -> Result<Option<Session>, AppError> {
    service.db(move |s| s.session(&token)).await
}
