//! What every list and lookup shares: bounded row counts and ids parsed from paths (an id that
//! is not a number is simply not found, like one that does not exist).

use crate::error::AppError;

/// Default number of rows in a list.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest number of rows in a list.
pub const MAX_LIMIT: u32 = 1000;

/// A requested row count, bounded.
pub fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// Parses an id from a path; anything but a number is simply not found.
pub fn parse_id(raw: &str, what: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::NotFound(format!("{what} {raw}")))
}
