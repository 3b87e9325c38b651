//! The (speed, offset) accumulator of the Hough vote: every close pair votes, for every
//! candidate speed, for the offset it implies; the strongest cell is the line most pairs
//! agree on.
//!
//! A dense array, not a map: each pair votes once per speed, so the cost is `pairs x speeds`
//! whatever the episode's length, and the array is small (speeds x offset bins x 2).

use crate::{Pair, Params};

pub(crate) fn similarity(distance: u32, params: &Params) -> f64 {
    1.0 - distance as f64 / (params.max_distance + 1) as f64
}

/// The (speed, offset) accumulator.
pub(crate) struct Grid {
    speeds: Vec<f64>,
    min_offset: f64,
    bins: usize,
    bin_s: f64,
    params: Params,
}

impl Grid {
    pub(crate) fn new(params: &Params, ref_duration: f64, query_duration: f64) -> Self {
        let steps = ((params.max_speed - params.min_speed) / params.speed_step).round() as usize;
        let speeds = (0..=steps)
            .map(|i| params.min_speed + i as f64 * params.speed_step)
            .collect();
        // offset = ref_t - speed * query_t lies in [-max_speed * Q, R].
        let min_offset = -params.max_speed * query_duration - params.offset_bin_s;
        let span = ref_duration - min_offset + params.offset_bin_s;
        let bins = (span / params.offset_bin_s).ceil().max(1.0) as usize + 1;
        Grid {
            speeds,
            min_offset,
            bins,
            bin_s: params.offset_bin_s,
            params: params.clone(),
        }
    }

    /// The line most pairs agree on, as (speed, offset at the cell centre, mirrored).
    pub(crate) fn strongest_line(&self, pairs: &[Pair]) -> Option<(f64, f64, bool)> {
        let plane = self.speeds.len() * self.bins;
        let mut votes = vec![0f32; plane * 2];
        for pair in pairs {
            let weight = similarity(pair.distance, &self.params) as f32 * pair.share;
            let base = if pair.mirrored { plane } else { 0 };
            let query_t = pair.query_t;
            for (s, speed) in self.speeds.iter().enumerate() {
                let offset = pair.ref_t - speed * query_t;
                let bin = ((offset - self.min_offset) / self.bin_s) as usize;
                if bin < self.bins {
                    votes[base + s * self.bins + bin] += weight;
                }
            }
        }
        let (best, &weight) = votes.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        if weight <= 0.0 {
            return None;
        }
        let mirrored = best >= plane;
        let cell = best % plane;
        let (s, bin) = (cell / self.bins, cell % self.bins);
        let offset = self.min_offset + (bin as f64 + 0.5) * self.bin_s;
        Some((self.speeds[s], offset, mirrored))
    }
}
