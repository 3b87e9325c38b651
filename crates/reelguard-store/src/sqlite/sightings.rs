//! Sightings of confirmed content and the notices that name them, on SQLite (schema version 9).
//!
//! The decision that shapes it: "unnoticed" is an anti-join of a suspect's sources against
//! `notice_sources` for the match, evaluated again inside the immediate transaction that
//! writes the new notice, so a sighting is noticed at most once per match however many
//! reviewers press the button.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::matches::match_row;
use super::reviews::{cite_sources, notice_from_row, NOTICE_SELECT};
use super::rows::in_list;
use super::suspects::sources_by_id;
use super::webhooks::enqueue_notice_webhook;
use super::SqliteStore;
use crate::error::StoreError;
use crate::matches::MatchState;
use crate::reviews::Notice;
use crate::sightings::{RepostComposer, Sighting, Sightings};

/// Whether a notice of this match already names this source.
fn already_cited(tx: &Connection, match_id: i64, source_id: i64) -> Result<bool, StoreError> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM notice_sources ns JOIN notices n ON n.id = ns.notice_id \
             WHERE n.match_id = ?1 AND ns.source_id = ?2",
            (match_id, source_id),
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

impl Sightings for SqliteStore {
    fn sightings(
        &self,
        owners: Option<&[i64]>,
        source: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Sighting>, StoreError> {
        let mut params: Vec<SqlValue> = Vec::new();
        let mut filter = owners.map_or(String::new(), |ids| {
            in_list("w.member_id", ids, &mut params)
        });
        if let Some(id) = source {
            params.push(SqlValue::Integer(id));
            filter += &format!(" AND ss.id = ?{}", params.len());
        }
        params.push(SqlValue::Integer(i64::from(limit.max(1))));
        // The first notice of each confirmed match is the decision's; a source no notice of
        // the match names is a sighting.
        let sql = format!(
            "SELECT m.id, w.member_id, m.work_id, w.title, m.episode, \
             (SELECT MIN(n.id) FROM notices n WHERE n.match_id = m.id) AS first_notice, \
             ss.id, m.suspect_id FROM matches m JOIN works w ON w.work_id = m.work_id \
             JOIN suspect_sources ss ON ss.suspect_id = m.suspect_id \
             WHERE m.state = 'confirmed'{filter} \
             AND NOT EXISTS (SELECT 1 FROM notice_sources ns JOIN notices n ON n.id = ns.notice_id \
                             WHERE n.match_id = m.id AND ns.source_id = ss.id) \
             AND EXISTS (SELECT 1 FROM notices n WHERE n.match_id = m.id) \
             ORDER BY ss.id DESC, m.id LIMIT ?{}",
            params.len()
        );
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, u32>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, i64>(7)?,
            ))
        })?;
        let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
        let ids: Vec<i64> = rows.iter().map(|r| r.6).collect();
        let sources = sources_by_id(&conn, &ids)?;
        let mut out = Vec::new();
        for (match_id, member_id, work_id, title, episode, notice_id, source_id, suspect) in rows {
            let source = sources
                .get(&suspect)
                .and_then(|list| list.iter().find(|s| s.id == source_id));
            if let Some(source) = source {
                out.push(Sighting {
                    match_id,
                    member_id,
                    work_id,
                    title,
                    episode,
                    notice_id,
                    source: source.clone(),
                });
            }
        }
        Ok(out)
    }

    fn notices_for_match(&self, match_id: i64) -> Result<Vec<Notice>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(&format!("{NOTICE_SELECT} WHERE match_id = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([match_id], notice_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn cited_sources(&self, match_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT ns.source_id, MIN(n.id) FROM notice_sources ns \
             JOIN notices n ON n.id = ns.notice_id WHERE n.match_id = ?1 \
             GROUP BY ns.source_id ORDER BY ns.source_id",
        )?;
        let rows = stmt.query_map([match_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn notice_sighting(
        &self,
        match_id: i64,
        source_id: i64,
        actor: &str,
        at: i64,
        compose: RepostComposer<'_>,
    ) -> Result<Notice, StoreError> {
        let policy = self.policy();
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = match_row(&tx, match_id)?
            .ok_or_else(|| StoreError::NotFound(format!("match {match_id}")))?;
        if row.state != MatchState::Confirmed {
            return Err(StoreError::Conflict(format!(
                "match {match_id} is {}: only a confirmed match's sightings are noticed from \
                 its decision",
                row.state
            )));
        }
        let source = sources_by_id(&tx, &[source_id])?
            .remove(&row.suspect_id)
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.id == source_id)
            .ok_or_else(|| {
                StoreError::NotFound(format!("sighting {source_id} of match {match_id}"))
            })?;
        if already_cited(&tx, match_id, source_id)? {
            return Err(StoreError::Conflict(format!(
                "sighting {source_id} is already named by a notice of match {match_id}"
            )));
        }
        let first = tx
            .query_row(
                &format!("{NOTICE_SELECT} WHERE match_id = ?1 ORDER BY id LIMIT 1"),
                [match_id],
                notice_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::Conflict(format!("match {match_id} has no notice")))?;
        let body = compose(&first, &source);
        let id: i64 = tx.query_row(
            "INSERT INTO notices (match_id, member_id, body, created_at, state) \
             VALUES (?1, ?2, ?3, ?4, 'draft') RETURNING id",
            (match_id, row.member_id, serde_json::to_string(&body)?, at),
            |r| r.get(0),
        )?;
        cite_sources(&tx, id, &[source_id])?;
        tx.execute(
            "INSERT INTO notice_events (notice_id, state, reason, actor, at) \
             VALUES (?1, 'draft', ?2, ?3, ?4)",
            (
                id,
                format!("re-post of notice {} (sighting {source_id})", first.id),
                actor,
                at,
            ),
        )?;
        let notice = Notice {
            id,
            match_id,
            member_id: row.member_id,
            body,
            created_at: at,
        };
        enqueue_notice_webhook(&tx, &notice, policy)?;
        tx.commit()?;
        Ok(notice)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{
        file, reviewer_and_first_match, scanned_to_match, store, LIMITS,
    };
    use crate::prelude::*;
    use crate::{SourceMeta, StoreError, Verdict};

    fn seen_on(platform: &str, url: &str) -> SourceMeta {
        SourceMeta {
            platform: Some(platform.into()),
            url: Some(url.into()),
            ..SourceMeta::default()
        }
    }

    #[test]
    fn a_repost_of_confirmed_content_is_a_sighting_noticed_once_and_alone() {
        let (_dir, s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let crawler = s.ensure_member("crawler").expect("member");
        scanned_to_match(
            &s,
            crawler.id,
            &file("a"),
            &seen_on("douyin", "https://d/1"),
            LIMITS,
        );
        let (caller, id) = reviewer_and_first_match(&s);
        assert!(s.sightings(None, None, 10).expect("sightings").is_empty());
        s.decide(
            id,
            &caller,
            Verdict::Confirm,
            "same",
            &|_, cited, _| json!({"copies": cited.sources.len()}),
        )
        .expect("decided");
        assert!(
            s.sightings(None, None, 10).expect("sightings").is_empty(),
            "the decision's notice names the first sighting"
        );

        // The same bytes again, from another platform.
        s.submit_suspect(
            crawler.id,
            &file("a"),
            &seen_on("bilibili", "https://b/2"),
            LIMITS,
        )
        .expect("deduplicated");
        let seen = s.sightings(None, None, 10).expect("sightings");
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].source.meta.platform.as_deref(), Some("bilibili"));
        assert!(s
            .sightings(Some(&[caller.member_id]), None, 10)
            .expect("sightings")
            .is_empty());
        let source_id = seen[0].source.id;
        let notice = s
            .notice_sighting(
                id,
                source_id,
                "review/reviewer",
                5,
                &|first, src| json!({"from": first.id, "url": src.meta.url}),
            )
            .expect("noticed");
        assert_eq!(notice.body["url"], "https://b/2");
        assert!(s.sightings(None, None, 10).expect("sightings").is_empty());
        let again = s.notice_sighting(id, source_id, "x", 6, &|_, _| json!({}));
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert_eq!(s.notices_for_match(id).expect("notices").len(), 2);
        assert_eq!(s.tracking(notice.id).expect("tracking").events.len(), 1);
        // A report on one URL reaches only the notice naming it.
        let citing = s.notices_citing("https://b/2").expect("citing");
        assert_eq!(citing.len(), 1);
        assert_eq!(citing[0].0, notice.id);
        let unknown = s.notice_sighting(id, 9999, "x", 6, &|_, _| json!({}));
        assert!(
            matches!(unknown, Err(StoreError::NotFound(_))),
            "{unknown:?}"
        );
    }

    #[test]
    fn a_notice_names_the_newest_sources_and_leaves_the_rest_as_sightings() {
        let (_dir, s) = store();
        let owner = s.ensure_member("acme").expect("member");
        s.insert_work("w000001", owner.id, "Street", None, None)
            .expect("work");
        let crawler = s.ensure_member("crawler").expect("member");
        let url = |n: usize| format!("https://d/{n}");
        scanned_to_match(
            &s,
            crawler.id,
            &file("a"),
            &seen_on("douyin", &url(0)),
            LIMITS,
        );
        let extra = 3;
        for n in 1..crate::NOTICE_SOURCES + extra {
            s.submit_suspect(crawler.id, &file("a"), &seen_on("douyin", &url(n)), LIMITS)
                .expect("deduplicated");
        }
        let (caller, id) = reviewer_and_first_match(&s);
        let (_, notice) = s
            .decide(id, &caller, Verdict::Confirm, "same", &|_, cited, _| {
                json!({
                    "urls": cited.sources.iter().map(|s| s.meta.url.clone()).collect::<Vec<_>>(),
                    "total": cited.total,
                })
            })
            .expect("decided");
        let body = notice.expect("a confirmation issues a notice").body;
        let total = crate::NOTICE_SOURCES + extra;
        assert_eq!(body["total"], total);
        let urls = body["urls"].as_array().expect("urls");
        assert_eq!(urls.len(), crate::NOTICE_SOURCES);
        // Oldest first, and the newest: the first named is the one after the `extra` oldest.
        assert_eq!(urls[0], url(extra).as_str());
        assert_eq!(urls[urls.len() - 1], url(total - 1).as_str());
        let cited = s.cited_sources(id).expect("cited");
        assert_eq!(cited.len(), crate::NOTICE_SOURCES);
        // The oldest ones the notice left out are sightings, newest first.
        let seen = s.sightings(None, None, 10).expect("sightings");
        let left: Vec<_> = seen
            .iter()
            .filter_map(|x| x.source.meta.url.clone())
            .collect();
        assert_eq!(left, (0..extra).rev().map(url).collect::<Vec<_>>());
    }
}
