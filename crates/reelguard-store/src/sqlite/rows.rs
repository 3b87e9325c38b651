//! Row and statement helpers shared by the SQLite implementation's modules: typed columns,
//! JSON columns, `IN` lists, and mapping constraint violations to conflicts.
//!
//! The decision that shapes them: every text-enum and JSON column is parsed strictly at the
//! row, so a damaged value surfaces as a typed error where it is read, not later in a page.

use std::str::FromStr;

use rusqlite::types::Value as SqlValue;
use rusqlite::Row;
use serde_json::Value;

use crate::error::StoreError;

pub(crate) fn parse_col<T: FromStr<Err = StoreError>>(
    row: &Row<'_>,
    index: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    text.parse().map_err(|e: StoreError| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Parses a JSON column into any deserialisable type, as a column conversion error if damaged.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    index: usize,
    text: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn json_col(row: &Row<'_>, index: usize) -> rusqlite::Result<Value> {
    parse_json(index, &row.get::<_, String>(index)?)
}

pub(crate) fn opt_json_col(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Value>> {
    row.get::<_, Option<String>>(index)?
        .map(|text| parse_json(index, &text))
        .transpose()
}

/// ` AND column IN (?n, ...)`, binding `ids` after `params`; an empty list matches nothing.
pub(crate) fn in_list(column: &str, ids: &[i64], params: &mut Vec<SqlValue>) -> String {
    if ids.is_empty() {
        return " AND 1 = 0".to_string();
    }
    let list: Vec<String> = ids
        .iter()
        .map(|id| {
            params.push(SqlValue::Integer(*id));
            format!("?{}", params.len())
        })
        .collect();
    format!(" AND {column} IN ({})", list.join(", "))
}

pub(crate) fn validate_name(what: &str, name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1–200 printable characters"
        )));
    }
    Ok(())
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
pub(crate) fn conflict(error: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what())
        }
        other => StoreError::Sqlite(other),
    }
}
