//! The single writer of a catalogue: [`Catalogue`] registers and withdraws, and after every
//! commit publishes the new state as one immutable [`CatalogueSnapshot`].
//!
//! The decision that shapes this module: **the snapshot is built once per commit, at the
//! commit**, not per read. Readers take an `Arc` of it ([`Catalogue::snapshot`]) and keep
//! answering that state for as long as they hold it, so the writer needs `&mut self` only for
//! its own files and never waits for, or blocks, a reader. The read methods kept on
//! `Catalogue` delegate to the current snapshot, for callers that own the writer anyway.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reelguard_align::QueryFrame;
use reelguard_hash::SignalType;

use crate::audio_runs::{Audio, AudioRun, AUDIO_RECORD_BYTES};
use crate::catalogue::{
    check_frame_times, crash_point, Files, Video, BANDS_DIR, MIN_INDEXED_QUALITY,
};
use crate::lsh::BandIndex;
use crate::migrate;
use crate::{
    CatalogueSnapshot, Episode, FindStats, IndexError, Manifest, Match, MatchParams, NewEpisode,
    NewWork, StoredFrame, Work,
};

/// Works, episodes, frame sequences and the band index, in one data directory; the one
/// writer of it.
pub struct Catalogue {
    dir: PathBuf,
    files: Files,
    index: BandIndex,
    /// The state as of the last commit; replaced (never mutated) by every commit.
    current: Arc<CatalogueSnapshot>,
}

/// The work with this id in a manifest being prepared.
fn work_mut<'a>(manifest: &'a mut Manifest, work_id: &str) -> Result<&'a mut Work, IndexError> {
    manifest
        .works
        .iter_mut()
        .find(|w| w.id == work_id)
        .ok_or_else(|| IndexError::UnknownWork(work_id.to_string()))
}

impl Catalogue {
    /// Opens (creating if needed) the catalogue in `dir` for reading and writing. Only one
    /// process can hold a catalogue for writing.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, true)
    }

    /// Opens an existing (or empty) catalogue for lookups only. A format 1 directory is
    /// migrated first, which writes to it (see [`crate::migrate`]).
    pub fn open_read_only(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, writable: bool) -> Result<Self, IndexError> {
        let files = Files::open(dir)?;
        // Also on a read-only open: a format 1 directory cannot be read by this code at all.
        migrate::to_current(dir, &files)?;
        let index = BandIndex::open(&dir.join(BANDS_DIR), writable)?;
        let manifest = files.recover(index.generation()?)?;
        let current = Arc::new(CatalogueSnapshot::new(
            dir,
            manifest,
            index.snapshot(),
            (files.shared_frames(), files.audio.shared()),
        ));
        Ok(Catalogue {
            dir: dir.to_path_buf(),
            files,
            index,
            current,
        })
    }

    /// The state as of the last commit, for lookups that must not hold up (or be held up by)
    /// this writer. Cheap: the snapshot was built at the commit.
    pub fn snapshot(&self) -> Arc<CatalogueSnapshot> {
        self.current.clone()
    }

    fn publish(&mut self, manifest: Manifest) {
        self.current = Arc::new(CatalogueSnapshot::new(
            &self.dir,
            manifest,
            self.index.snapshot(),
            (self.files.shared_frames(), self.files.audio.shared()),
        ));
    }

    /// The committed manifest.
    pub fn manifest(&self) -> &Manifest {
        self.current.manifest()
    }

    /// Registers a work with its episodes, numbered 1..n in the order given, in one commit.
    pub fn add_work(
        &mut self,
        work: NewWork,
        episodes: Vec<NewEpisode>,
    ) -> Result<Work, IndexError> {
        let mut next = self.manifest().clone();
        let id = format!("w{:06}", next.next_work_number);
        next.next_work_number += 1;
        next.works.push(Work {
            id: id.clone(),
            title: work.title,
            owner: work.owner,
            external_id: work.external_id,
            episodes: Vec::new(),
            withdrawn: false,
        });
        self.commit_episodes(next, &id, episodes)?;
        self.manifest()
            .work(&id)
            .cloned()
            .ok_or(IndexError::UnknownWork(id))
    }

    /// Adds episodes to an existing work, numbered after its last episode, in one commit.
    pub fn add_episodes(
        &mut self,
        work_id: &str,
        episodes: Vec<NewEpisode>,
    ) -> Result<Work, IndexError> {
        if self.manifest().work(work_id).is_none() {
            return Err(IndexError::UnknownWork(work_id.to_string()));
        }
        let next = self.manifest().clone();
        self.commit_episodes(next, work_id, episodes)?;
        self.manifest()
            .work(work_id)
            .cloned()
            .ok_or_else(|| IndexError::UnknownWork(work_id.to_string()))
    }

    fn commit_episodes(
        &mut self,
        mut next: Manifest,
        work_id: &str,
        episodes: Vec<NewEpisode>,
    ) -> Result<(), IndexError> {
        let work_index = next
            .works
            .iter()
            .position(|w| w.id == work_id)
            .ok_or_else(|| IndexError::UnknownWork(work_id.to_string()))?;
        let mut number = next.works[work_index]
            .episodes
            .iter()
            .map(|e| e.number)
            .max()
            .unwrap_or(0);
        let min_quality = MIN_INDEXED_QUALITY;
        for (episode, n) in episodes.iter().zip(number + 1..) {
            if !episode.frames.iter().any(|f| f.quality >= min_quality) {
                return Err(IndexError::EmptyEpisode {
                    number: n,
                    file: episode.file.clone(),
                });
            }
            // Audio records obey the same rule as frames: a time the snapshot would refuse on
            // every read must not be committed.
            check_frame_times(&episode.frames)
                .and_then(|()| check_frame_times(&episode.audio).map_err(|r| format!("audio: {r}")))
                .map_err(|reason| IndexError::BadFrames {
                    number: n,
                    file: episode.file.clone(),
                    reason,
                })?;
        }
        let result = (|| {
            let mut terms = Vec::new();
            for episode in episodes {
                number += 1;
                let first_frame = self.files.append_records::<Video>(&next, &episode.frames)?;
                let id = next.next_episode_id;
                next.next_episode_id += 1;
                next.frames_len += episode.frames.len() as u64 * Video::RECORD_BYTES as u64;
                terms.clear();
                for frame in episode.frames.iter().filter(|f| f.quality >= min_quality) {
                    Video::lsh_terms(&frame.hash, &mut terms);
                }
                let mut audio_terms = Vec::new();
                let audio = if episode.audio.is_empty() {
                    None
                } else {
                    let first = self.files.audio.append(next.audio_len, &episode.audio)?;
                    next.audio_len += episode.audio.len() as u64 * AUDIO_RECORD_BYTES;
                    for record in episode.audio.iter().filter(|f| f.quality >= min_quality) {
                        Audio::lsh_terms(&record.hash, &mut audio_terms);
                    }
                    Some(AudioRun {
                        first,
                        count: episode.audio.len() as u64,
                        signal: Audio::NAME,
                    })
                };
                // One document per episode whatever its signals: video's IDF (documents
                // per term) is what it was before audio existed.
                self.index.add_episode_signals(
                    id,
                    &[
                        (Video::NAME, std::mem::take(&mut terms)),
                        (Audio::NAME, audio_terms),
                    ],
                )?;
                next.works[work_index].episodes.push(Episode {
                    id,
                    number,
                    file: episode.file,
                    duration_s: episode.duration_s,
                    first_frame,
                    frame_count: episode.frames.len() as u64,
                    signal: Video::NAME,
                    withdrawn: false,
                    audio,
                });
            }
            crash_point("after-frames");
            self.commit(next)
        })();
        if result.is_err() {
            let _ = self.index.rollback();
        }
        result
    }

    /// Steps 2–4 of the commit protocol (see [`crate::catalogue`]), then the new snapshot.
    fn commit(&mut self, mut next: Manifest) -> Result<(), IndexError> {
        next.generation = self.manifest().generation + 1;
        self.files.stage_manifest(&next)?;
        crash_point("after-stage");
        self.index.commit(next.generation)?;
        crash_point("after-index-commit");
        self.files.install_next()?;
        self.publish(next);
        Ok(())
    }

    /// Withdraws a work: none of its episodes matches from now on.
    pub fn withdraw_work(&mut self, work_id: &str) -> Result<(), IndexError> {
        let mut next = self.manifest().clone();
        let work = work_mut(&mut next, work_id)?;
        work.withdrawn = true;
        let ids: Vec<u64> = work.episodes.iter().map(|e| e.id).collect();
        for id in ids {
            self.index.delete_episode(id)?;
        }
        self.commit(next)
    }

    /// Withdraws one episode of a work.
    pub fn withdraw_episode(&mut self, work_id: &str, number: u32) -> Result<(), IndexError> {
        let mut next = self.manifest().clone();
        let episode = work_mut(&mut next, work_id)?
            .episodes
            .iter_mut()
            .find(|e| e.number == number)
            .ok_or_else(|| IndexError::UnknownEpisode {
                work: work_id.to_string(),
                number,
            })?;
        episode.withdrawn = true;
        let id = episode.id;
        self.index.delete_episode(id)?;
        self.commit(next)
    }

    /// Merges the band index into one segment (see `lsh`): worth doing after a bulk load.
    /// Snapshots taken before keep their own (unmerged) segments.
    pub fn compact(&mut self) -> Result<(), IndexError> {
        self.index.compact()?;
        let manifest = self.manifest().clone();
        self.publish(manifest);
        Ok(())
    }

    /// Number of band-index segments.
    pub fn index_segments(&self) -> usize {
        self.current.index_segments()
    }

    /// An episode's stored frames.
    pub fn episode_frames(&self, episode: &Episode) -> Result<Vec<StoredFrame>, IndexError> {
        self.current.episode_frames(episode)
    }

    /// Bytes on disk: frame records and band index.
    pub fn disk_bytes(&self) -> u64 {
        self.current.disk_bytes()
    }

    /// Finds the registered episodes a suspect shows, best first.
    pub fn find(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<Vec<Match>, IndexError> {
        self.current.find(query, params)
    }

    /// Candidate episodes for a suspect, by IDF-weighted band votes, best first.
    pub fn candidates(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<(Vec<(u64, f64)>, FindStats), IndexError> {
        self.current.candidates(query, params)
    }

    /// The work and episode with this id, in O(1).
    pub fn episode(&self, episode_id: u64) -> Option<(&Work, &Episode)> {
        self.current.episode(episode_id)
    }

    /// [`Catalogue::find`], with what it cost.
    pub fn find_with_stats(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        self.current.find_with_stats(query, params)
    }

    /// See [`CatalogueSnapshot::find_probes`].
    pub fn find_probes(
        &self,
        probes: &[&[QueryFrame]],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        self.current.find_probes(probes, params)
    }
}
