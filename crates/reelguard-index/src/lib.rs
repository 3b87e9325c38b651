//! The catalogue of registered works and the matcher that finds them in suspects.
//!
//! A [`Catalogue`] lives in one data directory: works and episodes with their frame-hash
//! sequences ([`catalogue`]), and a tantivy index of hash bands for candidate retrieval
//! ([`lsh`]). [`Catalogue::find`] turns a suspect's frame hashes into [`Match`]es in three
//! steps: band lookups vote for candidate episodes, each vote weighted by how rare its band
//! value is (IDF: a title card every episode shares, or a black frame, weighs almost nothing);
//! the top candidates are aligned in time (`reelguard-align`); and segments that claim the same
//! stretch of the suspect are resolved in favour of the best-supported one, so a shared title
//! card cannot make a second episode match.
//!
//! This crate knows nothing of video decoding or HTTP: hashes in, matches out.
#![deny(missing_docs)]

pub mod catalogue;
pub mod lsh;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use reelguard_align::{align, Params, QueryFrame, RefFrame, Segment};
use serde::{Deserialize, Serialize};

use catalogue::{check_frame_times, crash_point, Files};
pub use catalogue::{Episode, Manifest, StoredFrame, Work, FRAME_RECORD_BYTES, MAX_FRAME_T_S};
use lsh::{band_terms, BandIndex, PostingCache};

/// Why a catalogue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// File system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A catalogue file is damaged or of an unknown format.
    #[error("{}: catalogue is damaged: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The tantivy index failed (including: another process holds the writer lock).
    #[error("index: {0}")]
    Tantivy(String),
    /// A write on a catalogue opened read-only.
    #[error("catalogue is open read-only")]
    ReadOnly,
    /// No such work.
    #[error("no work with id {0}")]
    UnknownWork(String),
    /// No such episode.
    #[error("work {work} has no episode {number}")]
    UnknownEpisode {
        /// The work.
        work: String,
        /// The episode number.
        number: u32,
    },
    /// An episode with too few frames to ever be matched.
    #[error("episode {number} ({file}) has no usable frames")]
    EmptyEpisode {
        /// The episode number.
        number: u32,
        /// Where it came from.
        file: String,
    },
    /// An episode whose frames carry impossible times (NaN, infinite, beyond
    /// [`catalogue::MAX_FRAME_T_S`]): refused rather than stored.
    #[error("episode {number} ({file}): {reason}")]
    BadFrames {
        /// The episode number.
        number: u32,
        /// Where it came from.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// An episode to register.
#[derive(Debug, Clone)]
pub struct NewEpisode {
    /// Where it was registered from (a path or an upload name).
    pub file: String,
    /// Seconds.
    pub duration_s: f64,
    /// Frames in time order.
    pub frames: Vec<StoredFrame>,
}

/// A new work.
#[derive(Debug, Clone, Default)]
pub struct NewWork {
    /// Title.
    pub title: String,
    /// Rights holder.
    pub owner: Option<String>,
    /// The owner's reference.
    pub external_id: Option<String>,
}

/// Tuning of candidate retrieval and matching.
#[derive(Debug, Clone)]
pub struct MatchParams {
    /// Alignment tuning.
    pub align: Params,
    /// Candidates aligned at least (more for long suspects, see `candidates_per_minute`).
    pub min_candidates: usize,
    /// Extra candidates per minute of suspect, so a compilation of many episodes finds them all.
    pub candidates_per_minute: f64,
    /// Least IDF-weighted vote total for an episode to be aligned at all.
    pub min_votes: f64,
    /// Candidates with fewer votes than this fraction of the best candidate's are not aligned:
    /// a suspect made of one episode gives that episode most votes and its neighbours crumbs.
    pub min_vote_fraction: f64,
    /// Band values present in more than this fraction of episodes are stop words.
    pub max_document_fraction: f64,
    /// A segment overlapping better-supported ones by more than this fraction of its length
    /// is dropped.
    pub max_overlap: f64,
}

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams {
            align: Params::default(),
            min_candidates: 12,
            candidates_per_minute: 4.0,
            min_votes: 2.0,
            min_vote_fraction: 0.1,
            max_document_fraction: 0.2,
            max_overlap: 0.5,
        }
    }
}

/// A registered episode found in a suspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Work id.
    pub work_id: String,
    /// Work title.
    pub title: String,
    /// Rights holder.
    pub owner: Option<String>,
    /// Episode number.
    pub episode: u32,
    /// Catalogue episode id.
    pub episode_id: u64,
    /// Best segment score, 0–1.
    pub score: f64,
    /// Matched stretches, in suspect order.
    pub segments: Vec<Segment>,
}

/// Why a suspect got the candidates it got: for reports and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindStats {
    /// Band terms looked up (distinct).
    pub terms: usize,
    /// Episodes that received any vote.
    pub voted: usize,
    /// Episodes aligned.
    pub aligned: usize,
}

/// Works, episodes, frame sequences and the band index, in one data directory.
pub struct Catalogue {
    dir: PathBuf,
    files: Files,
    index: BandIndex,
    manifest: Manifest,
    /// Episode id → (work, episode) positions in `manifest`; rebuilt with every commit.
    positions: HashMap<u64, (usize, usize)>,
}

fn episode_positions(manifest: &Manifest) -> HashMap<u64, (usize, usize)> {
    manifest
        .works
        .iter()
        .enumerate()
        .flat_map(|(w, work)| {
            work.episodes
                .iter()
                .enumerate()
                .map(move |(e, ep)| (ep.id, (w, e)))
        })
        .collect()
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

    /// Opens an existing (or empty) catalogue for lookups only.
    pub fn open_read_only(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, writable: bool) -> Result<Self, IndexError> {
        let files = Files::open(dir)?;
        let index = BandIndex::open(&dir.join("index"), writable)?;
        let manifest = files.recover(index.generation()?)?;
        Ok(Catalogue {
            dir: dir.to_path_buf(),
            files,
            index,
            positions: episode_positions(&manifest),
            manifest,
        })
    }

    /// The committed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Registers a work with its episodes, numbered 1..n in the order given, in one commit.
    pub fn add_work(
        &mut self,
        work: NewWork,
        episodes: Vec<NewEpisode>,
    ) -> Result<Work, IndexError> {
        let mut next = self.manifest.clone();
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
        self.manifest
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
        if self.manifest.work(work_id).is_none() {
            return Err(IndexError::UnknownWork(work_id.to_string()));
        }
        let next = self.manifest.clone();
        self.commit_episodes(next, work_id, episodes)?;
        self.manifest
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
        let min_quality = reelguard_hash::MIN_USEFUL_QUALITY;
        for (episode, n) in episodes.iter().zip(number + 1..) {
            if !episode.frames.iter().any(|f| f.quality >= min_quality) {
                return Err(IndexError::EmptyEpisode {
                    number: n,
                    file: episode.file.clone(),
                });
            }
            check_frame_times(&episode.frames).map_err(|reason| IndexError::BadFrames {
                number: n,
                file: episode.file.clone(),
                reason,
            })?;
        }
        let result = (|| {
            for episode in episodes {
                number += 1;
                let first_frame = self.files.append_frames(&next, &episode.frames)?;
                let id = next.next_episode_id;
                next.next_episode_id += 1;
                next.frames_len += episode.frames.len() as u64 * FRAME_RECORD_BYTES;
                self.index.add_episode(
                    id,
                    episode
                        .frames
                        .iter()
                        .filter(|f| f.quality >= min_quality)
                        .map(|f| f.hash),
                )?;
                next.works[work_index].episodes.push(Episode {
                    id,
                    number,
                    file: episode.file,
                    duration_s: episode.duration_s,
                    first_frame,
                    frame_count: episode.frames.len() as u64,
                    withdrawn: false,
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

    /// Steps 2–4 of the commit protocol (see [`catalogue`]).
    fn commit(&mut self, mut next: Manifest) -> Result<(), IndexError> {
        next.generation = self.manifest.generation + 1;
        self.files.stage_manifest(&next)?;
        crash_point("after-stage");
        self.index.commit(next.generation)?;
        crash_point("after-index-commit");
        self.files.install_next()?;
        self.positions = episode_positions(&next);
        self.manifest = next;
        Ok(())
    }

    /// Withdraws a work: none of its episodes matches from now on.
    pub fn withdraw_work(&mut self, work_id: &str) -> Result<(), IndexError> {
        let mut next = self.manifest.clone();
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
        let mut next = self.manifest.clone();
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
    pub fn compact(&mut self) -> Result<(), IndexError> {
        self.index.compact()
    }

    /// Number of band-index segments.
    pub fn index_segments(&self) -> usize {
        self.index.segments()
    }

    /// An episode's stored frames.
    pub fn episode_frames(&self, episode: &Episode) -> Result<Vec<StoredFrame>, IndexError> {
        self.files.read_frames(episode)
    }

    /// Bytes on disk: frame records and band index.
    pub fn disk_bytes(&self) -> u64 {
        let frames = std::fs::metadata(self.files.frames_path()).map_or(0, |m| m.len());
        frames + BandIndex::disk_bytes(&self.dir.join("index"))
    }

    /// Finds the registered episodes a suspect shows, best first.
    pub fn find(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<Vec<Match>, IndexError> {
        self.find_with_stats(query, params).map(|(m, _)| m)
    }

    /// Candidate episodes for a suspect, by IDF-weighted band votes, best first.
    pub fn candidates(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<(Vec<(u64, f64)>, FindStats), IndexError> {
        let snapshot = self.index.snapshot();
        let documents = snapshot.documents().max(1) as f64;
        let max_df = (documents * params.max_document_fraction).max(3.0);
        let mut cache = PostingCache::new(&snapshot);
        let mut votes: HashMap<u64, f64> = HashMap::new();
        let mut frame_votes: HashMap<u64, f64> = HashMap::new();
        for frame in query
            .iter()
            .filter(|f| f.quality >= params.align.min_quality)
        {
            frame_votes.clear();
            for hash in [frame.hash, frame.mirrored] {
                for term in band_terms(hash) {
                    let episodes = cache.episodes(term)?;
                    let df = episodes.len() as f64;
                    if df == 0.0 || df > max_df {
                        continue;
                    }
                    let idf = (documents / df).ln_1p();
                    for &episode in episodes {
                        let v = frame_votes.entry(episode).or_insert(0.0);
                        *v = v.max(idf);
                    }
                }
            }
            // One vote per suspect frame and episode, however many bands agree.
            for (&episode, &v) in &frame_votes {
                *votes.entry(episode).or_insert(0.0) += v;
            }
        }
        let mut ranked: Vec<(u64, f64)> = votes
            .into_iter()
            .filter(|&(id, v)| v >= params.min_votes && self.is_live(id))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let stats = FindStats {
            terms: cache.len(),
            voted: ranked.len(),
            aligned: 0,
        };
        Ok((ranked, stats))
    }

    /// The work and episode with this id, in O(1).
    pub fn episode(&self, episode_id: u64) -> Option<(&Work, &Episode)> {
        let &(w, e) = self.positions.get(&episode_id)?;
        let work = self.manifest.works.get(w)?;
        Some((work, work.episodes.get(e)?))
    }

    fn is_live(&self, episode_id: u64) -> bool {
        self.episode(episode_id)
            .is_some_and(|(w, e)| !w.withdrawn && !e.withdrawn)
    }

    /// [`Catalogue::find`], with what it cost.
    pub fn find_with_stats(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        self.find_probes(&[query], params)
    }

    /// Finds matches for several views of one suspect on the same timeline (the whole frame,
    /// a picture-in-picture window): every view is aligned with its own candidates, and all
    /// claims compete for the suspect's time together.
    pub fn find_probes(
        &self,
        probes: &[&[QueryFrame]],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        let mut stats = FindStats::default();
        let mut work: Vec<(usize, u64)> = Vec::new();
        for (probe, query) in probes.iter().enumerate() {
            let (ranked, probe_stats) = self.candidates(query, params)?;
            stats.terms += probe_stats.terms;
            stats.voted += probe_stats.voted;
            let duration_min = query.last().map_or(0.0, |f| f.t) / 60.0;
            // Saturating: the float-to-int cast already is, the addition must be too.
            let limit = params
                .min_candidates
                .saturating_add((duration_min * params.candidates_per_minute).ceil() as usize);
            let floor = ranked
                .first()
                .map_or(0.0, |&(_, top)| top * params.min_vote_fraction);
            work.extend(
                ranked
                    .iter()
                    .take(limit)
                    .take_while(|&&(_, votes)| votes >= floor)
                    .map(|&(id, _)| (probe, id)),
            );
        }
        stats.aligned = work.len();
        let aligned: Vec<(u64, Vec<Segment>)> = work
            .par_iter()
            .map(|&(probe, id)| {
                let query = probes[probe];
                let (_, episode) = self.episode(id).ok_or(IndexError::Corrupt {
                    path: self.dir.clone(),
                    reason: format!("episode {id} indexed but not in the manifest"),
                })?;
                let frames: Vec<RefFrame> = self
                    .episode_frames(episode)?
                    .into_iter()
                    .map(|f| RefFrame {
                        t: f.t as f64,
                        hash: f.hash,
                        quality: f.quality,
                    })
                    .collect();
                Ok((id, align(query, &frames, &params.align)))
            })
            .collect::<Result<_, IndexError>>()?;
        Ok((self.resolve(aligned, params.max_overlap), stats))
    }

    /// Keeps, for every stretch of the suspect, only the best-supported claim on it.
    fn resolve(&self, aligned: Vec<(u64, Vec<Segment>)>, max_overlap: f64) -> Vec<Match> {
        let mut claims: Vec<(u64, Segment)> = aligned
            .into_iter()
            .flat_map(|(id, segments)| segments.into_iter().map(move |s| (id, s)))
            .collect();
        claims.sort_by(|a, b| b.1.evidence.total_cmp(&a.1.evidence).then(a.0.cmp(&b.0)));
        let mut accepted: Vec<(u64, Segment)> = Vec::new();
        for (id, segment) in claims {
            let length = (segment.suspect_end_s - segment.suspect_start_s).max(1e-6);
            let overlap: f64 = accepted
                .iter()
                .map(|(_, s)| {
                    (s.suspect_end_s.min(segment.suspect_end_s)
                        - s.suspect_start_s.max(segment.suspect_start_s))
                    .max(0.0)
                })
                .sum();
            let keep = overlap / length <= max_overlap;
            tracing::debug!(
                episode = id,
                keep,
                start = segment.suspect_start_s,
                end = segment.suspect_end_s,
                speed = segment.speed,
                frames = segment.matched_frames,
                distance = segment.mean_distance,
                coverage = segment.coverage,
                score = segment.score,
                "claim"
            );
            if keep {
                accepted.push((id, segment));
            }
        }
        let mut by_episode: Vec<Match> = Vec::new();
        for (id, segment) in accepted {
            let Some((work, episode)) = self.episode(id) else {
                continue;
            };
            match by_episode.iter_mut().find(|m| m.episode_id == id) {
                Some(m) => {
                    m.score = m.score.max(segment.score);
                    m.segments.push(segment);
                }
                None => by_episode.push(Match {
                    work_id: work.id.clone(),
                    title: work.title.clone(),
                    owner: work.owner.clone(),
                    episode: episode.number,
                    episode_id: id,
                    score: segment.score,
                    segments: vec![segment],
                }),
            }
        }
        for m in &mut by_episode {
            m.segments
                .sort_by(|a, b| a.suspect_start_s.total_cmp(&b.suspect_start_s));
        }
        by_episode.sort_by(|a, b| {
            let start = |m: &Match| m.segments.first().map_or(0.0, |s| s.suspect_start_s);
            start(a).total_cmp(&start(b))
        });
        by_episode
    }
}
