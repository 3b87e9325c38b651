//! From a Hough cell to a fitted line and its runs: least-squares refinement on the inliers,
//! the preference for the unchanged speed, and the split where the evidence has gaps.
//!
//! Signal-generic: a pair's weight in the line's support is the signal's evidence rule
//! ([`SignalType::evidence`]), so a closer pair counts more in the signal's own unit.

use reelguard_hash::SignalType;

use crate::{Pair, Params};

/// Least-squares refinement of a line on its inliers, twice with a shrinking tolerance.
/// Returns the refined line and the best inlier pair per suspect frame, in suspect order.
pub(crate) fn refine<S: SignalType>(
    pairs: &[Pair],
    speed: f64,
    offset: f64,
    mirrored: bool,
    params: &Params,
) -> (f64, f64, Vec<Pair>) {
    let (mut speed, mut offset) = (speed, offset);
    // Shrinking tolerance: the cell centre is only within half a bin of the line; the last
    // pass keeps pairs within about one sampling interval, so the slope is fitted on the
    // pairs that really are on it.
    for tolerance in [
        params.offset_bin_s + params.inlier_tolerance_s,
        params.inlier_tolerance_s,
        params.inlier_tolerance_s * 0.6,
    ] {
        let inliers = best_inliers(pairs, speed, offset, mirrored, tolerance);
        if inliers.len() >= 2 {
            if let Some((s, o)) = fit_line(&inliers) {
                if (params.min_speed..=params.max_speed).contains(&s) {
                    speed = s;
                    offset = o;
                }
            }
        }
    }
    let inliers = best_inliers(pairs, speed, offset, mirrored, params.inlier_tolerance_s);
    // Most copies keep the original speed. When the unchanged speed explains the pairs as
    // well as the fitted one (noisy pairs from a heavy crop, still shots), the fitted slope
    // is noise: prefer 1.0.
    if (speed - 1.0).abs() > 1e-9 && (params.min_speed..=params.max_speed).contains(&1.0) {
        let centre_query =
            inliers.iter().map(|p| p.query_t).sum::<f64>() / inliers.len().max(1) as f64;
        let centre_ref = inliers.iter().map(|p| p.ref_t).sum::<f64>() / inliers.len().max(1) as f64;
        let unchanged_offset = centre_ref - centre_query;
        let unchanged = best_inliers(
            pairs,
            1.0,
            unchanged_offset,
            mirrored,
            params.inlier_tolerance_s,
        );
        if line_support::<S>(&unchanged) >= line_support::<S>(&inliers) * UNCHANGED_SPEED_PREFERENCE
        {
            return (1.0, unchanged_offset, unchanged);
        }
    }
    (speed, offset, inliers)
}

/// How much a set of inliers supports its line: closer pairs count more.
fn line_support<S: SignalType>(inliers: &[Pair]) -> f64 {
    inliers.iter().map(|p| S::evidence(p.distance)).sum()
}

/// The unchanged speed wins when it keeps this fraction of the fitted line's support.
const UNCHANGED_SPEED_PREFERENCE: f64 = 0.97;

fn best_inliers(
    pairs: &[Pair],
    speed: f64,
    offset: f64,
    mirrored: bool,
    tolerance: f64,
) -> Vec<Pair> {
    let mut inliers: Vec<Pair> = Vec::new();
    for pair in pairs.iter().filter(|p| p.mirrored == mirrored) {
        let residual = (pair.ref_t - (speed * pair.query_t + offset)).abs();
        if residual > tolerance {
            continue;
        }
        match inliers.last_mut() {
            Some(last) if last.query == pair.query => {
                let last_residual = (last.ref_t - (speed * last.query_t + offset)).abs();
                // A frame 0.1 s off the line is worth about one bit of distance.
                let cost = |distance: u32, residual: f64| distance as f64 + residual * 10.0;
                if cost(pair.distance, residual) < cost(last.distance, last_residual) {
                    *last = *pair;
                }
            }
            _ => inliers.push(*pair),
        }
    }
    inliers
}

fn fit_line(inliers: &[Pair]) -> Option<(f64, f64)> {
    let n = inliers.len() as f64;
    let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
    for p in inliers {
        let (x, y) = (p.query_t, p.ref_t);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    let denominator = n * sxx - sx * sx;
    if denominator.abs() < 1e-9 {
        return None;
    }
    let slope = (n * sxy - sx * sy) / denominator;
    Some((slope, (sy - slope * sx) / n))
}

pub(crate) fn split_runs(inliers: &[Pair], max_gap_s: f64) -> Vec<Vec<Pair>> {
    let mut runs: Vec<Vec<Pair>> = Vec::new();
    for pair in inliers {
        let t = pair.query_t;
        match runs.last_mut() {
            Some(run) if t - run[run.len() - 1].query_t <= max_gap_s => run.push(*pair),
            _ => runs.push(vec![*pair]),
        }
    }
    runs
}
