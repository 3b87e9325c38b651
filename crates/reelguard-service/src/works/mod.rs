//! Works and episodes: who owns a drama, its lifecycle, and its episodes in the catalogue —
//! kept in step across the two stores that hold them.
//!
//! # Who owns what
//! - The **store** owns a work's existence for clients, its owner, title, external id,
//!   release date and withdrawal (`works` rows). It is the source of truth: the API answers
//!   from it, and a work is acknowledged (201) only once its row is committed.
//! - The **catalogue** owns the episodes, their frames and the band index, and keeps a copy
//!   of the work's id, title and owner name (what a match reports) and of its withdrawal
//!   (what stops it matching).
//!
//! # Crash safety across the two
//! Creating a work writes both; withdrawing one too. Neither store can commit the other's
//! write, so each change is made recoverable instead ([`intent`]):
//! - **create**: (1) an intent file records the request, durably; (2) the catalogue commits
//!   the work; (3) the store commits its row; (4) the intent is deleted. Creations are
//!   serialised on the catalogue's writer, so at most one intent is ever pending and the work
//!   it produced is exactly the catalogue work the store does not know.
//! - **withdraw**: (1) the store commits `withdrawn_at` (the decision; from here the API says
//!   withdrawn); (2) the catalogue withdraws the work's episodes from matching. The store's
//!   row is the intent.
//!
//! At start, [`reconcile`] finishes or undoes whatever a crash interrupted: a pending intent
//! whose work reached the catalogue gets its store row (crash after 2), one whose work did not
//! is dropped (crash after 1; the client never got an answer); a withdrawal the catalogue
//! missed is applied (crash after withdraw 1); a catalogue work no store row or intent
//! accounts for is withdrawn from matching and logged. Both sides then agree.

mod intent;
mod ops;
mod reconcile;

pub use ops::{
    create, get, list, live, owned, withdraw, withdraw_episode, NewWorkRequest, WorkView,
};
pub use reconcile::{reconcile, Reconciled};

/// Aborts the process at a named step when `REELGUARD_CRASH_AT` names it: how the
/// crash-safety tests kill the daemon between the two stores' writes.
pub(crate) fn crash_point(step: &str) {
    if std::env::var("REELGUARD_CRASH_AT").is_ok_and(|v| v == step) {
        tracing::error!(step, "REELGUARD_CRASH_AT: aborting");
        std::process::abort();
    }
}
