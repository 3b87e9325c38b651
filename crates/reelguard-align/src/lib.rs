//! Temporal alignment: which stretches of a suspect video are which stretches of one episode.
//!
//! Input is two sequences of timestamped frame hashes; output is a list of [`Segment`]s, each a
//! straight line `ref_t = speed * suspect_t + offset` supported by many frame pairs that are
//! close in Hamming distance. A line, not a fixed offset, because pirates speed episodes up
//! (1.1–1.5x); a *list* of lines because an upload can hold an episode more than once, or cut
//! pieces out of it.
//!
//! The decision that shapes this crate: **a generalised Hough transform over (speed, offset)**.
//! Every close frame pair votes, for every candidate speed, for the offset it implies; the
//! strongest cell is a line many pairs agree on. Pairs that agree with no line (a frame that
//! happens to look like another: black frames, a shared title card, a static shot) scatter
//! their votes and lose. Each pair votes once per speed, so the cost is
//! `pairs x speeds`, independent of how long the episode is, and the accumulator is a dense
//! array rather than a map. The winning line is then refined by least squares on its inliers,
//! split into segments where the evidence has gaps, and removed before looking for the next.
//!
//! Signal-generic ([`align_signal`]): distances, the evidence a pair adds, the chance level a
//! score is measured against and the mirrored probe all come from the signal type
//! (`reelguard_hash::SignalType`); [`align`] is the video pHash's. The time-domain logic
//! (speeds, offsets, gaps) is the same for every signal. `hough` holds the accumulator,
//! `line` the refinement of its winning cell into segments, `chance` the estimate of how often
//! a segment this strong arises between unrelated footage.
#![deny(missing_docs)]

pub mod chance;
mod hough;
mod line;

use reelguard_hash::{SignalType, VideoPhash};

use hough::Grid;
use line::{refine, split_runs};

/// A frame of a registered episode. `H` is the signal's fingerprint (`u64` for the video
/// pHash, the default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefFrame<H = u64> {
    /// Seconds from the start of the episode.
    pub t: f64,
    /// The fingerprint.
    pub hash: H,
    /// Structure, 0–255.
    pub quality: u8,
}

/// A frame of a suspect upload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryFrame<H = u64> {
    /// Seconds from the start of the suspect.
    pub t: f64,
    /// The fingerprint.
    pub hash: H,
    /// The fingerprint of the mirrored frame, for signals that have one
    /// ([`SignalType::MIRRORED`]); ignored otherwise.
    pub mirrored: H,
    /// Structure, 0–255.
    pub quality: u8,
}

pub use reelguard_model::Segment;

/// Tuning of the alignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Largest distance (in the signal's unit) for a frame pair to count at all.
    pub max_distance: u32,
    /// Frames below this quality (flat, black) are ignored on both sides.
    pub min_quality: u8,
    /// Slowest speed searched.
    pub min_speed: f64,
    /// Fastest speed searched.
    pub max_speed: f64,
    /// Step of the speed grid.
    pub speed_step: f64,
    /// Width of an offset cell in seconds.
    pub offset_bin_s: f64,
    /// How far from the fitted line a pair may sit and still count.
    pub inlier_tolerance_s: f64,
    /// A gap in the evidence longer than this splits a segment.
    pub max_gap_s: f64,
    /// Most reference frames paired with one suspect frame and orientation.
    pub pairs_per_frame: usize,
    /// Fewest matched frames a segment needs.
    pub min_frames: usize,
    /// Shortest segment reported.
    pub min_duration_s: f64,
    /// Lowest score reported.
    pub min_score: f64,
    /// Least [`Segment::evidence`] reported.
    pub min_evidence: f64,
    /// Most segments found per episode.
    pub max_segments: usize,
}

/// The video pHash's tuning.
impl Default for Params {
    fn default() -> Self {
        Params::for_signal::<VideoPhash>()
    }
}

impl Params {
    /// Defaults for a signal type: its pair distance, and the time-domain tuning every signal
    /// shares (speeds, bins, gaps, segment floors).
    pub fn for_signal<S: SignalType>() -> Self {
        Params {
            max_distance: S::PAIR_DISTANCE,
            min_quality: reelguard_hash::MIN_USEFUL_QUALITY,
            min_speed: 0.7,
            max_speed: 1.6,
            speed_step: 0.01,
            offset_bin_s: 0.5,
            inlier_tolerance_s: 0.5,
            max_gap_s: 4.0,
            pairs_per_frame: 16,
            min_frames: 6,
            min_duration_s: 2.0,
            min_score: 0.2,
            // Measured on the fixtures: chance alignments of unrelated clips reach at most 24,
            // the weakest true match (a 15% crop of a synthetic clip) 120.
            min_evidence: 40.0,
            max_segments: 8,
        }
    }

    /// These parameters searching only the speeds within `band` (low, high) that they search
    /// already; `None` when none are left (a band outside the range, or not a range at all),
    /// so a caller aligns nothing rather than an inverted range's edge.
    pub fn within_speeds(&self, (low, high): (f64, f64)) -> Option<Params> {
        let (low, high) = (low.max(self.min_speed), high.min(self.max_speed));
        (low <= high).then(|| Params {
            min_speed: low,
            max_speed: high,
            ..self.clone()
        })
    }

    /// These parameters with every reporting floor off, so that chance lines come out as
    /// segments: what the chance benches measure.
    pub fn floors_off(&self) -> Params {
        Params {
            min_frames: 3,
            min_duration_s: 0.0,
            min_score: f64::NEG_INFINITY,
            min_evidence: f64::NEG_INFINITY,
            ..self.clone()
        }
    }
}

/// A close pair: suspect frame `query` (at `query_t`), reference frame at `ref_t`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair {
    query: usize,
    query_t: f64,
    ref_t: f64,
    distance: u32,
    mirrored: bool,
    /// This pair's part of its suspect frame's single vote.
    share: f32,
}

/// Finds every segment of `query` that shows part of `reference`, best evidence first, for
/// the video pHash: [`align_signal`] with [`VideoPhash`].
pub fn align(query: &[QueryFrame], reference: &[RefFrame], params: &Params) -> Vec<Segment> {
    align_signal::<VideoPhash>(query, reference, params)
}

/// Finds every segment of `query` that shows part of `reference`, best evidence first, with
/// signal `S`'s distance, evidence rule and chance level; every segment names `S`.
pub fn align_signal<S: SignalType>(
    query: &[QueryFrame<S::Hash>],
    reference: &[RefFrame<S::Hash>],
    params: &Params,
) -> Vec<Segment> {
    let usable_refs: Vec<&RefFrame<S::Hash>> = reference
        .iter()
        .filter(|r| r.quality >= params.min_quality)
        .collect();
    if usable_refs.is_empty() || query.is_empty() {
        return Vec::new();
    }
    let ref_duration = reference.iter().map(|r| r.t).fold(0.0, f64::max);
    let query_duration = query.iter().map(|q| q.t).fold(0.0, f64::max);
    let spacing = median_spacing(query);
    let mut pairs = close_pairs::<S>(query, &usable_refs, params);
    let usable_query: Vec<bool> = query
        .iter()
        .map(|q| q.quality >= params.min_quality)
        .collect();

    let grid = Grid::new(params, ref_duration, query_duration);
    let mut segments = Vec::new();
    while segments.len() < params.max_segments && !pairs.is_empty() {
        let Some((speed, offset, mirrored)) = grid.strongest_line(&pairs) else {
            break;
        };
        let (speed, offset, inliers) = refine::<S>(&pairs, speed, offset, mirrored, params);
        if inliers.len() < params.min_frames {
            break;
        }
        let mut found_any = false;
        for run in split_runs(&inliers, params.max_gap_s) {
            let segment = describe::<S>(
                &run,
                query,
                &usable_query,
                (speed, offset, mirrored),
                (spacing, query_duration, ref_duration),
            );
            // Whatever the verdict, these suspect frames are explained by this line.
            let (start, end) = (segment.suspect_start_s, segment.suspect_end_s);
            pairs.retain(|p| {
                let t = query[p.query].t;
                t < start - 1e-9 || t > end + 1e-9
            });
            if run.len() >= params.min_frames
                && segment.suspect_end_s - segment.suspect_start_s >= params.min_duration_s
                && segment.score >= params.min_score
                && segment.evidence >= params.min_evidence
            {
                segments.push(segment);
                found_any = true;
            }
        }
        if !found_any {
            // The strongest line left is not a match: nothing weaker will be.
            break;
        }
    }
    segments.sort_by(|a, b| b.evidence.total_cmp(&a.evidence));
    segments
}

fn median_spacing<H>(query: &[QueryFrame<H>]) -> f64 {
    let mut gaps: Vec<f64> = query
        .windows(2)
        .map(|w| w[1].t - w[0].t)
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return 0.2;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

/// For every usable suspect frame and orientation, its closest reference frames.
fn close_pairs<S: SignalType>(
    query: &[QueryFrame<S::Hash>],
    refs: &[&RefFrame<S::Hash>],
    params: &Params,
) -> Vec<Pair> {
    let keep = params.pairs_per_frame.max(1);
    let mut pairs = Vec::new();
    let mut close: Vec<(u32, f64)> = Vec::new();
    // Distances first, into a buffer, over the hashes laid out side by side: a loop without
    // branches that the compiler vectorises. Filtering while measuring was a call and a branch
    // per pair, which on sound (31 windows a second on both sides) was most of the aligner.
    let hashes: Vec<S::Hash> = refs.iter().map(|r| r.hash).collect();
    let mut distances: Vec<u32> = Vec::with_capacity(hashes.len());
    for (index, frame) in query.iter().enumerate() {
        if frame.quality < params.min_quality {
            continue;
        }
        let orientations = if S::MIRRORED { 2 } else { 1 };
        for (hash, mirrored) in [(frame.hash, false), (frame.mirrored, true)]
            .into_iter()
            .take(orientations)
        {
            distances.clear();
            distances.extend(hashes.iter().map(|h| S::distance(&hash, h)));
            close.clear();
            close.extend(
                distances
                    .iter()
                    .zip(refs)
                    .filter(|&(&d, _)| d <= params.max_distance)
                    .map(|(&d, r)| (d, r.t)),
            );
            let Some(best) = close.iter().map(|&(d, _)| d).min() else {
                continue;
            };
            // Every reference frame about as close as the best is an equally good partner: in
            // a still shot there are many, and keeping only the first few would hide the
            // right one. Keep them all (spread evenly in time when there are too many) and
            // let them share one vote.
            close.retain(|&(d, _)| d <= best.saturating_add(S::TIE_DISTANCE));
            let step = close.len().div_ceil(keep);
            let share = 1.0 / close.len().div_ceil(step) as f32;
            pairs.extend(close.iter().step_by(step).map(|&(distance, ref_t)| Pair {
                query: index,
                query_t: frame.t,
                ref_t,
                distance,
                mirrored,
                share,
            }));
        }
    }
    pairs
}

fn describe<S: SignalType>(
    run: &[Pair],
    query: &[QueryFrame<S::Hash>],
    usable: &[bool],
    (speed, offset, mirrored): (f64, f64, bool),
    (spacing, query_duration, ref_duration): (f64, f64, f64),
) -> Segment {
    let first = query[run[0].query].t;
    let last = query[run[run.len() - 1].query].t;
    // A sample stands for the half-interval around it.
    let start = (first - spacing / 2.0).max(0.0);
    let end = (last + spacing / 2.0).min(query_duration + spacing / 2.0);
    let eligible = query
        .iter()
        .zip(usable)
        .filter(|(q, &ok)| ok && q.t >= first - 1e-9 && q.t <= last + 1e-9)
        .count()
        .max(run.len());
    let mean_distance = run.iter().map(|p| p.distance as f64).sum::<f64>() / run.len() as f64;
    let coverage = run.len() as f64 / eligible as f64;
    let evidence = run.iter().map(|p| S::evidence(p.distance)).sum();
    let ref_at = |t: f64| (speed * t + offset).clamp(0.0, ref_duration + spacing);
    Segment {
        suspect_start_s: start,
        suspect_end_s: end,
        ref_start_s: ref_at(start),
        ref_end_s: ref_at(end),
        speed,
        mirrored,
        matched_frames: run.len(),
        mean_distance,
        coverage,
        score: S::score(coverage, mean_distance),
        evidence,
        signal: S::NAME,
        false_match_rate: None,
        confirmed_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random hashes standing in for an episode's frames at 5 fps.
    fn episode(seed: u64, seconds: f64) -> Vec<RefFrame> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..(seconds * 5.0) as usize)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                RefFrame {
                    t: i as f64 / 5.0,
                    hash: state,
                    quality: 100,
                }
            })
            .collect()
    }

    /// Flips `bits` low-order-varying bits, deterministically per frame.
    fn noisy(hash: u64, bits: u32, salt: u64) -> u64 {
        let mut out = hash;
        for k in 0..bits as u64 {
            out ^= 1 << ((salt * 7 + k * 13) % 64);
        }
        out
    }

    /// A suspect showing `reference[from..to]` at `speed`, sampled at 5 fps, with noise.
    fn copy_of(
        reference: &[RefFrame],
        from: f64,
        to: f64,
        speed: f64,
        lead_in: f64,
    ) -> Vec<QueryFrame> {
        let mut frames = Vec::new();
        let mut t = 0.0;
        while lead_in + (to - from) / speed > t {
            let ref_t = from + (t - lead_in) * speed;
            let hash = if t < lead_in {
                noisy(0xDEAD_BEEF_F00D_CAFE, (t * 10.0) as u32 % 20, 3)
            } else {
                let nearest = reference
                    .iter()
                    .min_by(|a, b| (a.t - ref_t).abs().total_cmp(&(b.t - ref_t).abs()))
                    .expect("reference not empty");
                noisy(nearest.hash, 6, frames.len() as u64)
            };
            frames.push(QueryFrame {
                t,
                hash,
                mirrored: !hash,
                quality: 100,
            });
            t += 0.2;
        }
        frames
    }

    #[test]
    fn finds_a_sped_up_excerpt_with_its_boundaries() {
        let reference = episode(1, 60.0);
        let query = copy_of(&reference, 10.0, 40.0, 1.25, 3.0);
        let segments = align(&query, &reference, &Params::default());
        assert_eq!(segments.len(), 1, "{segments:?}");
        let s = segments[0];
        assert!((s.speed - 1.25).abs() < 0.02, "{s:?}");
        assert!((s.suspect_start_s - 3.0).abs() < 0.5, "{s:?}");
        assert!((s.suspect_end_s - 27.0).abs() < 0.5, "{s:?}");
        assert!((s.ref_start_s - 10.0).abs() < 0.6, "{s:?}");
        assert!((s.ref_end_s - 40.0).abs() < 0.6, "{s:?}");
        assert!(!s.mirrored);
    }

    #[test]
    fn mirrored_copies_are_flagged() {
        let reference = episode(2, 30.0);
        let query: Vec<QueryFrame> = copy_of(&reference, 0.0, 30.0, 1.0, 0.0)
            .into_iter()
            .map(|q| QueryFrame {
                hash: q.mirrored,
                mirrored: q.hash,
                ..q
            })
            .collect();
        let segments = align(&query, &reference, &Params::default());
        assert_eq!(segments.len(), 1);
        assert!(segments[0].mirrored);
    }

    #[test]
    fn unrelated_sequences_do_not_align() {
        let reference = episode(3, 60.0);
        let other = episode(4, 60.0);
        let query = copy_of(&other, 0.0, 60.0, 1.0, 0.0);
        assert!(align(&query, &reference, &Params::default()).is_empty());
    }

    #[test]
    fn an_episode_shown_twice_gives_two_segments() {
        let reference = episode(5, 20.0);
        let mut query = copy_of(&reference, 0.0, 20.0, 1.0, 0.0);
        let second = copy_of(&reference, 0.0, 20.0, 1.0, 0.0);
        let shift = query.len() as f64 * 0.2 + 5.0;
        query.extend(second.into_iter().map(|q| QueryFrame {
            t: q.t + shift,
            ..q
        }));
        let segments = align(&query, &reference, &Params::default());
        assert_eq!(segments.len(), 2, "{segments:?}");
    }

    #[test]
    fn flat_frames_never_count() {
        let reference: Vec<RefFrame> = (0..100)
            .map(|i| RefFrame {
                t: i as f64 * 0.2,
                hash: 0,
                quality: 0,
            })
            .collect();
        let query: Vec<QueryFrame> = (0..100)
            .map(|i| QueryFrame {
                t: i as f64 * 0.2,
                hash: 0,
                mirrored: 0,
                quality: 0,
            })
            .collect();
        assert!(align(&query, &reference, &Params::default()).is_empty());
    }
}
