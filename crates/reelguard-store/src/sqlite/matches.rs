//! Matches on SQLite: recording a job's matches, reading them back, and the queries the API
//! and the workbench run over them.
//!
//! The decision that shapes it: the typed parts of a match (segments, content box) become JSON
//! only here, at the column, and every reader gets them typed.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row};

use reelguard_model::SignalName;

use super::rows::{in_list, parse_col};
use super::upgrade::decode_segments;
use super::SqliteStore;
use crate::error::StoreError;
use crate::matches::{
    signals_of, InfringementDay, MatchFilter, MatchOrder, MatchRow, Matches, NewMatch, PendingCount,
};

const MATCH_SELECT: &str = "SELECT m.id, m.suspect_id, s.sha256, m.job_id, m.work_id, w.title, \
    w.member_id, mem.name, m.episode, m.episode_id, m.score, m.segments, m.transformation, \
    m.state, m.created_at, m.decided_at, m.content_box, w.released_at, m.signals \
    FROM matches m JOIN works w ON w.work_id = m.work_id \
    JOIN members mem ON mem.id = w.member_id JOIN suspects s ON s.id = m.suspect_id";

const DAY: i64 = 86_400;

fn conversion(
    index: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(error))
}

/// The `signals` column: comma-separated names, each validated.
fn signals_col(row: &Row<'_>, index: usize) -> rusqlite::Result<Vec<SignalName>> {
    row.get::<_, String>(index)?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|name| SignalName::new(name).map_err(|e| conversion(index, e)))
        .collect()
}

fn match_from_row(row: &Row<'_>) -> rusqlite::Result<MatchRow> {
    let transformation: String = row.get(12)?;
    Ok(MatchRow {
        id: row.get(0)?,
        suspect_id: row.get(1)?,
        suspect_sha256: row.get(2)?,
        job_id: row.get(3)?,
        work_id: row.get(4)?,
        title: row.get(5)?,
        member_id: row.get(6)?,
        member: row.get(7)?,
        episode: row.get(8)?,
        episode_id: row.get::<_, i64>(9)? as u64,
        score: row.get(10)?,
        segments: decode_segments(&row.get::<_, String>(11)?).map_err(|e| conversion(11, e))?,
        signals: signals_col(row, 18)?,
        transformation: transformation
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        state: parse_col(row, 13)?,
        created_at: row.get(14)?,
        decided_at: row.get(15)?,
        // Lenient, as it always was: a damaged box only loses the crop shown to reviewers.
        content_box: row
            .get::<_, Option<String>>(16)?
            .and_then(|text| serde_json::from_str(&text).ok()),
        released_at: row.get(17)?,
    })
}

/// A match by id, on any connection (a reader, or the writer inside a decision).
pub(super) fn match_row(conn: &Connection, match_id: i64) -> Result<Option<MatchRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("{MATCH_SELECT} WHERE m.id = ?1"),
            [match_id],
            match_from_row,
        )
        .optional()?)
}

/// Records a job's matches inside its completing transaction; a match already recorded for
/// the suspect and episode is kept as it is.
pub(super) fn insert_matches(
    tx: &Connection,
    suspect_id: i64,
    job_id: i64,
    at: i64,
    matches: &[NewMatch],
) -> Result<(), StoreError> {
    for m in matches {
        tx.execute(
            "INSERT INTO matches (suspect_id, job_id, work_id, episode, episode_id, score, \
             segments, transformation, state, created_at, content_box, signals) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending_review', ?9, ?10, ?11) \
             ON CONFLICT DO NOTHING",
            (
                suspect_id,
                job_id,
                &m.work_id,
                m.episode,
                m.episode_id as i64,
                m.score,
                serde_json::to_string(&m.segments)?,
                m.transformation.join(","),
                at,
                m.content_box
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()?,
                signals_of(&m.segments)
                    .iter()
                    .map(SignalName::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        )?;
    }
    Ok(())
}

fn owner_clause(owners: Option<&[i64]>, params: &mut Vec<SqlValue>) -> String {
    owners
        .map(|owners| in_list("w.member_id", owners, params))
        .unwrap_or_default()
}

impl Matches for SqliteStore {
    fn match_by_id(&self, match_id: i64) -> Result<Option<MatchRow>, StoreError> {
        match_row(&self.read(), match_id)
    }

    fn matches(&self, filter: &MatchFilter) -> Result<Vec<MatchRow>, StoreError> {
        let mut sql = format!("{MATCH_SELECT} WHERE 1 = 1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(state) = filter.state {
            params.push(SqlValue::Text(state.as_str().to_string()));
            sql += &format!(" AND m.state = ?{}", params.len());
        }
        if let Some(owners) = &filter.owners {
            sql += &in_list("w.member_id", owners, &mut params);
        }
        if let Some(platform) = &filter.platform {
            params.push(SqlValue::Text(platform.clone()));
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM suspect_sources ss WHERE ss.suspect_id = m.suspect_id \
                 AND ss.platform = ?{})",
                params.len()
            );
        }
        if let Some(since) = filter.since {
            params.push(SqlValue::Integer(since));
            sql += &format!(" AND m.created_at >= ?{}", params.len());
        }
        if let Some(suspect) = filter.suspect_id {
            params.push(SqlValue::Integer(suspect));
            sql += &format!(" AND m.suspect_id = ?{}", params.len());
        }
        if let Some(work) = &filter.work_id {
            params.push(SqlValue::Text(work.clone()));
            sql += &format!(" AND m.work_id = ?{}", params.len());
        }
        if let Some(score) = filter.min_score {
            params.push(SqlValue::Real(score));
            sql += &format!(" AND m.score >= ?{}", params.len());
        }
        if let Some(before) = filter.before_id {
            params.push(SqlValue::Integer(before));
            sql += &format!(" AND m.id < ?{}", params.len());
        }
        sql += match filter.order {
            MatchOrder::Newest => " ORDER BY m.id DESC",
            MatchOrder::Triage => {
                " ORDER BY COALESCE(w.released_at, w.created_at) DESC, m.score DESC, m.id DESC"
            }
        };
        params.push(SqlValue::Integer(i64::from(filter.limit.max(1))));
        sql += &format!(" LIMIT ?{}", params.len());
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), match_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn infringements_per_day(
        &self,
        owners: Option<&[i64]>,
        since: i64,
    ) -> Result<Vec<InfringementDay>, StoreError> {
        let mut params = vec![SqlValue::Integer(since)];
        let owners = owner_clause(owners, &mut params);
        let sql = format!(
            "SELECT m.work_id, w.title, (m.created_at / {DAY}) * {DAY} AS day, \
             SUM(CASE WHEN m.state = 'confirmed' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN m.state = 'pending_review' THEN 1 ELSE 0 END) \
             FROM matches m JOIN works w ON w.work_id = m.work_id \
             WHERE m.created_at >= ?1{owners} \
             GROUP BY m.work_id, w.title, day ORDER BY day, m.work_id"
        );
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(InfringementDay {
                work_id: row.get(0)?,
                title: row.get(1)?,
                day: row.get(2)?,
                confirmed: row.get::<_, i64>(3)?.max(0) as u64,
                pending: row.get::<_, i64>(4)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn pending_per_work(&self, owners: Option<&[i64]>) -> Result<Vec<PendingCount>, StoreError> {
        let mut params = Vec::new();
        let owners = owner_clause(owners, &mut params);
        let sql = format!(
            "SELECT m.work_id, w.title, mem.name, COUNT(*) AS n \
             FROM matches m JOIN works w ON w.work_id = m.work_id \
             JOIN members mem ON mem.id = w.member_id \
             WHERE m.state = 'pending_review'{owners} \
             GROUP BY m.work_id, w.title, mem.name ORDER BY n DESC, m.work_id"
        );
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok(PendingCount {
                work_id: row.get(0)?,
                title: row.get(1)?,
                member: row.get(2)?,
                pending: row.get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
