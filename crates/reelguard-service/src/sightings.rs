//! Every copy followed: the same content seen again on another platform or URL after its match
//! was confirmed is a pending sighting, and a reviewer notices it in one step — a new draft
//! notice for that copy alone, built from the decision already taken (the same kept segments,
//! the same evidence bundle and stills), without reviewing the match again.
//!
//! The decision that shapes it: a re-post notice reuses the first notice's evidence and
//! decision verbatim but nothing that sending froze into it (parties, papers, the public
//! link): it is a draft of its own, which completes its papers and gets its own public link
//! when it is sent, through the same rules as any notice ([`crate::takedown::transition`]).

use reelguard_store::{Caller, Notice, Role, Sighting, Source};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::present::source_json;
use crate::query::{limit, parse_id};
use crate::{takedown, tenancy, Service};

/// What sending wrote into a notice; a re-post draft starts without it.
const SENT_FIELDS: [&str; 6] = [
    "parties",
    "rights",
    "sent_at",
    "sent_at_cst",
    "issued_at_cst",
    "public_evidence",
];

/// The body of a notice for `source`, from the match's first notice (`first`), issued `at`.
pub fn repost_body(first: &Notice, source: &Source, at: i64) -> Value {
    let mut body = first.body.clone();
    if let Some(fields) = body.as_object_mut() {
        for field in SENT_FIELDS {
            fields.remove(field);
        }
        // The first notice's count of the suspect's copies: a re-post names one.
        fields.remove("infringing_copies_total");
    }
    let first_public = first.body["notice_id"].as_str().unwrap_or("").to_string();
    let sha = first.body["evidence"]["bundle_sha256"]
        .as_str()
        .unwrap_or("")
        .to_string();
    body["notice_id"] = json!(format!(
        "{}-S{}",
        crate::review::public_notice_id(at, &sha),
        source.id
    ));
    body["infringing_copies"] = json!([source_json(source)]);
    body["issued_at"] = json!(at);
    body["repost_of"] = json!({"notice": first.id, "notice_id": first_public});
    body
}

/// The unnoticed sightings of confirmed matches the caller may read, newest first.
pub async fn list(
    service: &Service,
    caller: &Caller,
    requested_limit: Option<u32>,
) -> Result<Vec<Sighting>, AppError> {
    let readable = tenancy::readable(service, caller).await?;
    let owners = readable.owners().map(<[i64]>::to_vec);
    let n = limit(requested_limit);
    service
        .db(move |s| s.sightings(owners.as_deref(), None, n))
        .await
}

/// Notices one sighting (a submission, by id) in one step: a draft notice naming it alone on
/// each confirmed match of its content the caller may read and no notice of which names it
/// yet (one for a single episode, one per episode for a compilation). Reviewers only. Not
/// found when the caller can read no such match; a match noticed meanwhile by another
/// reviewer is skipped, and if that leaves nothing, a conflict.
pub async fn notice(
    service: &Service,
    caller: &Caller,
    raw_source: &str,
) -> Result<Vec<Notice>, AppError> {
    tenancy::require(caller, &[Role::Reviewer])?;
    let source_id = parse_id(raw_source, "sighting")?;
    let readable = tenancy::readable(service, caller).await?;
    let owners = readable.owners().map(<[i64]>::to_vec);
    let pending = service
        .db(move |s| s.sightings(owners.as_deref(), Some(source_id), 500))
        .await?;
    if pending.is_empty() {
        return Err(AppError::NotFound(format!(
            "unnoticed sighting {raw_source} of a confirmed match"
        )));
    }
    let actor = takedown::actor(caller);
    let mut notices = Vec::new();
    let mut conflict = None;
    for sighting in pending {
        let (match_id, who) = (sighting.match_id, actor.clone());
        let at = reelguard_store::now();
        let made = service
            .db(move |s| {
                s.notice_sighting(match_id, source_id, &who, at, &|first, source| {
                    repost_body(first, source, at)
                })
            })
            .await;
        match made {
            Ok(n) => {
                tracing::info!(notice = n.id, match_id, source_id, "re-post noticed");
                notices.push(n);
            }
            Err(AppError::Conflict(why)) => conflict = Some(why),
            Err(other) => return Err(other),
        }
    }
    match (notices.is_empty(), conflict) {
        (true, Some(why)) => Err(AppError::Conflict(why)),
        _ => Ok(notices),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelguard_store::SourceMeta;

    #[test]
    fn a_repost_body_keeps_the_evidence_names_the_new_copy_alone_and_drops_what_sending_froze() {
        let first = Notice {
            id: 3,
            match_id: 9,
            member_id: 1,
            body: json!({
                "notice_id": "RGN-20261201-abcdef012345",
                "infringing_copies": [{"platform": "douyin", "url": "https://d/1"}],
                "evidence": {"bundle_sha256": "abcdef0123456789", "segments": [{"k": 1}]},
                "parties": {"agent": "x"}, "public_evidence": {"url": "https://x"},
                "sent_at": 5, "issued_at": 1,
            }),
            created_at: 1,
        };
        let source = Source {
            id: 17,
            member_id: 2,
            meta: SourceMeta {
                platform: Some("bilibili".into()),
                url: Some("https://b/2".into()),
                ..SourceMeta::default()
            },
            submitted_at: 100,
        };
        let body = repost_body(&first, &source, 1_764_633_600);
        assert_eq!(body["infringing_copies"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["infringing_copies"][0]["platform"], "bilibili");
        assert_eq!(body["evidence"], first.body["evidence"]);
        assert_eq!(body["notice_id"], "RGN-20251202-abcdef012345-S17");
        assert_eq!(body["repost_of"]["notice"], 3);
        for gone in SENT_FIELDS {
            assert!(body.get(gone).is_none(), "{gone} kept: {body}");
        }
    }
}
