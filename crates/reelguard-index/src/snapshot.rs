//! Lookups against one committed state of the catalogue: [`CatalogueSnapshot`].
//!
//! The decision that shapes this module: **readers never share anything mutable with the
//! writer.** A snapshot owns the committed manifest and its episode positions, pins a tantivy
//! searcher of the band index (its segments stay readable however the writer merges or
//! deletes afterwards), and shares the writer's handle to `frames.bin` only for positioned
//! reads of runs it already knows to be committed. `frames.bin` is append-only and is never
//! truncated below a committed length, so those reads stay valid after any later commit. The
//! writer builds one snapshot per commit and hands out `Arc`s of it: a scan can run for
//! minutes on a snapshot without holding any lock, and a registration never waits for it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use reelguard_align::{align_signal, Params, QueryFrame, RefFrame, Segment};
use reelguard_hash::{Record, SignalType};

use crate::audio_runs::read_audio;
use crate::catalogue::{
    check_frame_times, read_records, Episode, Manifest, StoredFrame, Video, Work, BANDS_DIR,
};
use crate::distinct::margin;
use crate::lsh::{BandIndex, PostingCache, Snapshot as BandSnapshot};
use crate::{FindStats, IndexError, Match, MatchParams};

/// Everything a lookup needs, as of one commit. `Send + Sync + 'static`; clone the `Arc` the
/// writer hands out ([`crate::Catalogue::snapshot`]) to share it.
pub struct CatalogueSnapshot {
    dir: PathBuf,
    manifest: Manifest,
    /// Episode id → (work, episode) positions in `manifest`.
    positions: HashMap<u64, (usize, usize)>,
    bands: Arc<BandSnapshot>,
    /// The catalogue's `frames.bin`, shared with the writer; only read at committed offsets.
    frames: Arc<File>,
    /// Its `audio.bin`, alike.
    audio: Arc<File>,
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

impl CatalogueSnapshot {
    pub(crate) fn new(
        dir: &Path,
        manifest: Manifest,
        bands: Arc<BandSnapshot>,
        (frames, audio): (Arc<File>, Arc<File>),
    ) -> Self {
        CatalogueSnapshot {
            dir: dir.to_path_buf(),
            positions: episode_positions(&manifest),
            manifest,
            bands,
            frames,
            audio,
        }
    }

    /// The committed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
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

    /// An episode's stored frames (video pHash records).
    pub fn episode_frames(&self, episode: &Episode) -> Result<Vec<StoredFrame>, IndexError> {
        self.episode_records::<Video>(episode)
    }

    /// An episode's stored records of signal `S`: its frames when `S` is the frames' signal,
    /// its audio run otherwise (none when it has no sound); [`IndexError::Corrupt`] when
    /// neither holds `S`.
    pub fn episode_records<S: SignalType>(
        &self,
        episode: &Episode,
    ) -> Result<Vec<Record<S::Hash>>, IndexError> {
        if episode.signal == S::NAME {
            read_records::<S>(&self.frames, &self.dir, episode)
        } else if S::NAME != crate::audio_runs::Audio::NAME {
            // Neither file holds `S`: a run is never read as another signal's records.
            Err(IndexError::Corrupt {
                path: self.dir.clone(),
                reason: format!(
                    "episode {} holds no {} records (its frames are {})",
                    episode.id,
                    S::NAME,
                    episode.signal
                ),
            })
        } else {
            let records = read_audio::<S>(&self.audio, &self.dir, episode.id, episode.audio)?;
            check_frame_times(&records).map_err(|reason| IndexError::Corrupt {
                path: self.dir.join(crate::audio_runs::AUDIO),
                reason: format!("episode {}: {reason}", episode.id),
            })?;
            Ok(records)
        }
    }

    /// Number of band-index segments in this snapshot (each lookup visits all of them).
    pub fn index_segments(&self) -> usize {
        self.bands.segments()
    }

    /// Bytes on disk now: frame records and band index.
    pub fn disk_bytes(&self) -> u64 {
        let frames = self.frames.metadata().map_or(0, |m| m.len());
        let audio = self.audio.metadata().map_or(0, |m| m.len());
        frames + audio + BandIndex::disk_bytes(&self.dir.join(BANDS_DIR))
    }

    /// Finds the registered episodes a suspect shows, best first.
    pub fn find(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<Vec<Match>, IndexError> {
        self.find_with_stats(query, params).map(|(m, _)| m)
    }

    /// [`CatalogueSnapshot::find`], with what it cost.
    pub fn find_with_stats(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        self.find_probes(&[query], params)
    }

    /// Candidate episodes for a suspect, by IDF-weighted band votes, best first.
    pub fn candidates(
        &self,
        query: &[QueryFrame],
        params: &MatchParams,
    ) -> Result<(Vec<(u64, f64)>, FindStats), IndexError> {
        self.candidates_signal::<Video>(query, params)
    }

    /// Candidate episodes for a suspect's fingerprints of signal `S`, by IDF-weighted votes
    /// of `S`'s LSH terms, best first.
    pub fn candidates_signal<S: SignalType>(
        &self,
        query: &[QueryFrame<S::Hash>],
        params: &MatchParams,
    ) -> Result<(Vec<(u64, f64)>, FindStats), IndexError> {
        let snapshot = &self.bands;
        let documents = snapshot.documents().max(1) as f64;
        let max_df = (documents * params.max_document_fraction).max(3.0);
        let mut cache = PostingCache::new(snapshot, S::NAME);
        let orientations = if S::MIRRORED { 2 } else { 1 };
        let mut terms = Vec::new();
        let mut votes: HashMap<u64, f64> = HashMap::new();
        let mut frame_votes: HashMap<u64, f64> = HashMap::new();
        for frame in query
            .iter()
            .filter(|f| f.quality >= params.align.min_quality)
        {
            frame_votes.clear();
            terms.clear();
            for hash in [frame.hash, frame.mirrored].iter().take(orientations) {
                S::lsh_terms(hash, &mut terms);
            }
            for &term in &terms {
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

    /// Finds matches for several views of one suspect on the same timeline (the whole frame,
    /// a picture-in-picture window): every view is aligned with its own candidates, and all
    /// claims compete for the suspect's time together.
    pub fn find_probes(
        &self,
        probes: &[&[QueryFrame]],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        self.find_probes_signal::<Video>(probes, params)
    }

    /// [`CatalogueSnapshot::find_probes`] for fingerprints of signal `S`: its LSH terms, its
    /// records, its distances; every segment found names `S`.
    pub fn find_probes_signal<S: SignalType>(
        &self,
        probes: &[&[QueryFrame<S::Hash>]],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        self.find_probes_banded::<S>(probes, &[], params)
    }

    /// [`CatalogueSnapshot::find_probes_signal`] where view `i` is aligned only at speeds
    /// within `bands[i]` (and the aligner's own range); views past the end of `bands` search
    /// the whole range. For views already put back to one speed (sound stretched back by a
    /// plain speed-up): the aligner's speed search is most of its cost, and a line far from
    /// the view's speed can only be chance.
    pub fn find_probes_banded<S: SignalType>(
        &self,
        probes: &[&[QueryFrame<S::Hash>]],
        bands: &[(f64, f64)],
        params: &MatchParams,
    ) -> Result<(Vec<Match>, FindStats), IndexError> {
        // `None`: the band lies outside the aligner's range, so the view is not aligned.
        let aligner: Vec<Option<Params>> = (0..probes.len())
            .map(|probe| match bands.get(probe) {
                Some(&band) => params.align.within_speeds(band),
                None => Some(params.align.clone()),
            })
            .collect();
        let (work, stats) = self.candidates_to_align_signal::<S>(probes, params)?;
        // Each candidate's records once: the aligner reads them, and so does the
        // mutual-best-match test of every other candidate's segments (`distinct`).
        let mut ids: Vec<u64> = work.iter().map(|&(_, id)| id).collect();
        ids.sort_unstable();
        ids.dedup();
        let records: HashMap<u64, Vec<RefFrame<S::Hash>>> = ids
            .par_iter()
            .map(|&id| Ok((id, self.ref_frames::<S>(id)?)))
            .collect::<Result<_, IndexError>>()?;
        let frames_of = |id: u64| records.get(&id).map_or(&[][..], Vec::as_slice);
        // Rayon runs the alignments on other threads: carry the caller's span to their logs.
        let span = tracing::Span::current();
        let aligned: Vec<(u64, Vec<Segment>)> = work
            .par_iter()
            .map(|&(probe, id)| {
                let _span = span.enter();
                let query = probes[probe];
                let Some(aligner) = &aligner[probe] else {
                    return (id, Vec::new());
                };
                let segments = align_signal::<S>(query, frames_of(id), aligner);
                let segments = params.calibration.apply(segments, work.len());
                if params.distinct.min_share <= 0.0 || segments.is_empty() {
                    return (id, segments);
                }
                let background: Vec<&[RefFrame<S::Hash>]> = work
                    .iter()
                    .filter(|&&(p, other)| p == probe && other != id)
                    .map(|&(_, other)| frames_of(other))
                    .collect();
                let kept = segments
                    .into_iter()
                    .filter(|segment| {
                        let m = margin::<S>(
                            segment,
                            query,
                            frames_of(id),
                            &background,
                            &params.distinct,
                            (params.align.min_quality, params.align.max_distance),
                        );
                        let keep = params.distinct.keeps(segment, &m, &params.calibration);
                        let (work_title, number) = self
                            .episode(id)
                            .map_or(("?", 0), |(w, e)| (w.title.as_str(), e.number));
                        tracing::debug!(
                            episode = id,
                            work = work_title,
                            number,
                            probe,
                            keep,
                            start = segment.suspect_start_s,
                            end = segment.suspect_end_s,
                            speed = segment.speed,
                            evidence = segment.evidence,
                            score = segment.score,
                            frames = m.frames,
                            share = m.share,
                            coverage = segment.coverage,
                            rate = segment.false_match_rate,
                            gap = m.mean_gap,
                            "distinct"
                        );
                        keep
                    })
                    .collect();
                (id, kept)
            })
            .collect();
        Ok((self.resolve(aligned, params.max_overlap), stats))
    }

    /// An episode's records of signal `S` as the aligner takes them.
    fn ref_frames<S: SignalType>(&self, id: u64) -> Result<Vec<RefFrame<S::Hash>>, IndexError> {
        let (_, episode) = self.episode(id).ok_or(IndexError::Corrupt {
            path: self.dir.clone(),
            reason: format!("episode {id} indexed but not in the manifest"),
        })?;
        Ok(self
            .episode_records::<S>(episode)?
            .into_iter()
            .map(|f| RefFrame {
                t: f.t as f64,
                hash: f.hash,
                quality: f.quality,
            })
            .collect())
    }

    /// The (probe, episode id) pairs [`CatalogueSnapshot::find_probes`] aligns: each probe's
    /// best-voted candidates, as many as its length earns. What candidate recall measures.
    pub fn candidates_to_align(
        &self,
        probes: &[&[QueryFrame]],
        params: &MatchParams,
    ) -> Result<(Vec<(usize, u64)>, FindStats), IndexError> {
        self.candidates_to_align_signal::<Video>(probes, params)
    }

    /// [`CatalogueSnapshot::candidates_to_align`] for fingerprints of signal `S`.
    pub fn candidates_to_align_signal<S: SignalType>(
        &self,
        probes: &[&[QueryFrame<S::Hash>]],
        params: &MatchParams,
    ) -> Result<(Vec<(usize, u64)>, FindStats), IndexError> {
        let mut stats = FindStats::default();
        let mut work: Vec<(usize, u64)> = Vec::new();
        for (probe, query) in probes.iter().enumerate() {
            let (ranked, probe_stats) = self.candidates_signal::<S>(query, params)?;
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
        Ok((work, stats))
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
                    tags: Vec::new(),
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
