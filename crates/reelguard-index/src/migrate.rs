//! Migration of a format 1 catalogue (no signal names, unprefixed band terms in `index/`) to
//! format 2, on open.
//!
//! The decision that shapes this module: **the migration is one more commit, with the same
//! commit point as every other**: the rename of a staged manifest over `catalogue.json`.
//! Everything before it only adds files format 1 does not read (`bands/`, a format 2
//! `catalogue.json.next`, which format 1's recovery discards), and everything after it only
//! removes files format 2 does not read (`index/`). So a kill at any instant leaves a
//! directory that is wholly format 1 (and is migrated again on the next open, by this code,
//! or still opened by the old one) or wholly format 2.
//!
//! Steps (each a crash point for the tests, `REELGUARD_CRASH_AT=<name>`):
//! 1. take format 1's writer lock on `index/` (no second migrator, no old writer meanwhile);
//!    finish or undo an interrupted format 1 commit exactly as format 1 did;
//! 2. rebuild the band index into a fresh `bands/` from `frames.bin`, through the signal type
//!    (terms prefixed with its name), every live episode one document, committed with the
//!    manifest's generation (`migrate-before-index-commit`, `migrate-after-index`);
//! 3. stage the format 2 manifest, every run naming its signal, in `catalogue.json.next`
//!    (`migrate-after-stage`);
//! 4. **commit point**: rename it over `catalogue.json`, `fsync` the directory
//!    (`migrate-after-install`);
//! 5. delete `index/` (a format 2 open deletes a leftover one).
//!
//! `frames.bin` is not touched: format 2 keeps format 1's record layout (it is
//! `reelguard_hash::VideoPhash`'s).

use std::path::Path;

use reelguard_hash::SignalType;
use tantivy::{Index, IndexWriter};

use crate::catalogue::{
    crash_point, read_records, Files, Video, BANDS_DIR, FORMAT, FORMAT_1, MIN_INDEXED_QUALITY,
};
use crate::lsh::BandIndex;
use crate::IndexError;

/// Format 1's band index directory.
const FORMAT_1_INDEX: &str = "index";

fn io(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn tantivy_error(e: impl std::fmt::Display) -> IndexError {
    IndexError::Tantivy(e.to_string())
}

/// Brings the directory to format 2: migrates a format 1 catalogue, or removes what a
/// migration killed after its commit point left behind.
pub(crate) fn to_current(dir: &Path, files: &Files) -> Result<(), IndexError> {
    match files.committed_format()? {
        Some(FORMAT_1) => migrate(dir, files),
        _ => remove_format_1_index(dir),
    }
}

fn remove_format_1_index(dir: &Path) -> Result<(), IndexError> {
    let old = dir.join(FORMAT_1_INDEX);
    if old.exists() {
        tracing::info!(dir = %dir.display(), "removing the format 1 band index");
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    Ok(())
}

fn migrate(dir: &Path, files: &Files) -> Result<(), IndexError> {
    tracing::info!(dir = %dir.display(), "migrating catalogue format 1 to {FORMAT}");
    // Step 1. Holding format 1's writer lock keeps a second migrator (or an old writer) out
    // until the old index is gone.
    let old = Index::open_in_dir(dir.join(FORMAT_1_INDEX)).map_err(tantivy_error)?;
    let lock: IndexWriter = old
        .writer_with_num_threads(1, 15_000_000)
        .map_err(tantivy_error)?;
    let old_generation =
        crate::lsh::parse_generation(old.load_metas().map_err(tantivy_error)?.payload.as_deref());
    let manifest = files.recover_format(FORMAT_1, old_generation)?;

    // Step 2: a fresh band index, whatever an earlier attempt left.
    let bands_dir = dir.join(BANDS_DIR);
    if bands_dir.exists() {
        std::fs::remove_dir_all(&bands_dir).map_err(|e| io(&bands_dir, e))?;
    }
    let mut bands = BandIndex::open(&bands_dir, true)?;
    let frames = files.shared_frames();
    let mut terms = Vec::new();
    for work in &manifest.works {
        for episode in &work.episodes {
            // Withdrawn episodes were deleted from format 1's index: they stay out.
            if work.withdrawn || episode.withdrawn {
                continue;
            }
            terms.clear();
            for record in read_records::<Video>(&frames, dir, episode)?
                .iter()
                .filter(|r| r.quality >= MIN_INDEXED_QUALITY)
            {
                Video::lsh_terms(&record.hash, &mut terms);
            }
            bands.add_episode(episode.id, Video::NAME, terms.drain(..))?;
        }
    }
    crash_point("migrate-before-index-commit");
    bands.commit(manifest.generation)?;
    drop(bands);
    crash_point("migrate-after-index");

    // Step 3. Format 1 runs were all video pHash: the manifest read them so (serde default)
    // and writes the name out from now on.
    let mut next = manifest;
    next.format = FORMAT;
    files.stage_manifest(&next)?;
    crash_point("migrate-after-stage");

    // Step 4: the commit point.
    files.install_next()?;
    crash_point("migrate-after-install");

    // Step 5.
    drop(lock);
    drop(old);
    remove_format_1_index(dir)?;
    tracing::info!(dir = %dir.display(), "catalogue migrated to format {FORMAT}");
    Ok(())
}
