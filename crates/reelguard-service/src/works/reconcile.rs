//! Start-up reconciliation of the store and the catalogue (the rules are in [`super`]).

use reelguard_index::Catalogue;
use reelguard_store::Store;

use super::intent;
use crate::error::AppError;

/// What reconciliation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Interrupted creations finished (store rows added).
    pub created: usize,
    /// Interrupted creations dropped (they never reached the catalogue).
    pub dropped: usize,
    /// Withdrawals applied to the catalogue.
    pub withdrawn: usize,
    /// Catalogue works nothing accounted for, withdrawn from matching.
    pub orphaned: usize,
}

impl Reconciled {
    /// Whether anything had to be repaired.
    pub fn changed(&self) -> bool {
        *self != Reconciled::default()
    }
}

/// Brings the two stores into agreement after a crash. Runs before anything is served.
pub fn reconcile(
    data_dir: &std::path::Path,
    store: &dyn Store,
    catalogue: &mut Catalogue,
) -> Result<Reconciled, AppError> {
    let store_error = |e| AppError::from_store(e, 0);
    let mut done = Reconciled::default();
    let mut rows = Vec::new();
    for member in store.members().map_err(store_error)? {
        rows.extend(store.works_of(member.id).map_err(store_error)?);
    }
    let known = |id: &str| rows.iter().any(|r| r.work_id == id);
    // Catalogue works the store does not know: at most one is the pending intent's (the
    // newest such work with its title and owner); any other is an orphan.
    let mut unknown: Vec<_> = catalogue
        .manifest()
        .works
        .iter()
        .filter(|w| !known(&w.id))
        .cloned()
        .collect();
    if let Some(pending) = intent::read(data_dir)? {
        let produced = unknown.iter().rposition(|w| {
            w.title == pending.title
                && w.owner.as_deref() == Some(pending.owner.as_str())
                && w.external_id == pending.external_id
                && !w.withdrawn
        });
        match produced {
            Some(i) => {
                let work = unknown.remove(i);
                let row = store
                    .insert_work(
                        &work.id,
                        pending.member_id,
                        &pending.title,
                        pending.external_id.as_deref(),
                        pending.released_at,
                    )
                    .map_err(store_error)?;
                tracing::warn!(work = %row.work_id, "finished a work creation interrupted by a crash");
                rows.push(row);
                done.created += 1;
            }
            None => {
                // Either the crash came before the catalogue commit (the client never got an
                // answer: nothing to finish), or after the store's row (nothing left to do).
                let finished = rows.iter().any(|r| {
                    r.member_id == pending.member_id
                        && r.title == pending.title
                        && r.external_id == pending.external_id
                });
                if !finished {
                    tracing::warn!(title = %pending.title, "dropped a work creation interrupted before the catalogue commit");
                    done.dropped += 1;
                }
            }
        }
        intent::clear(data_dir)?;
    }
    for work in unknown.iter().filter(|w| !w.withdrawn) {
        tracing::error!(work = %work.id, "catalogue work unknown to the store: withdrawn from matching");
        catalogue
            .withdraw_work(&work.id)
            .map_err(AppError::from_index)?;
        done.orphaned += 1;
    }
    for row in rows.iter().filter(|r| r.withdrawn_at.is_some()) {
        let live = catalogue
            .manifest()
            .work(&row.work_id)
            .is_some_and(|w| !w.withdrawn);
        if live {
            catalogue
                .withdraw_work(&row.work_id)
                .map_err(AppError::from_index)?;
            tracing::warn!(work = %row.work_id, "applied a withdrawal interrupted by a crash");
            done.withdrawn += 1;
        }
    }
    for row in rows.iter().filter(|r| r.withdrawn_at.is_none()) {
        if catalogue.manifest().work(&row.work_id).is_none() {
            // Cannot come from this protocol (the catalogue commits first); a store restored
            // from a newer backup than the catalogue could. Reported, not guessed at.
            tracing::error!(work = %row.work_id, "work in the store but not in the catalogue");
        }
    }
    Ok(done)
}
