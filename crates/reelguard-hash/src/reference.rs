//! A slow, obviously-correct pHash: the textbook O(N^4) 2-D DCT-II in `f64`.
//!
//! Nothing in the product calls this. It exists so the fast path in the crate root can be
//! tested against a transcription of the definition, and benchmarked against it.

use crate::{FrameHash, Thumb, THUMB_SIDE};

/// Unnormalised 2-D DCT-II coefficient `(v, u)` of a thumbnail, straight from the definition:
/// `sum_y sum_x p[y][x] cos(pi (2x+1) u / 64) cos(pi (2y+1) v / 64)`.
pub fn dct_coefficient(thumb: &Thumb, v: usize, u: usize) -> f64 {
    let n = THUMB_SIDE as f64;
    let mut sum = 0.0;
    for y in 0..THUMB_SIDE {
        for x in 0..THUMB_SIDE {
            let cx = (std::f64::consts::PI * (2.0 * x as f64 + 1.0) * u as f64 / (2.0 * n)).cos();
            let cy = (std::f64::consts::PI * (2.0 * y as f64 + 1.0) * v as f64 / (2.0 * n)).cos();
            sum += thumb[y * THUMB_SIDE + x] as f64 * cx * cy;
        }
    }
    sum
}

/// Median as pHash defines it (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn bits(values: &[f64]) -> u64 {
    let m = median(values);
    values
        .iter()
        .enumerate()
        .fold(0, |acc, (i, &c)| acc | (u64::from(c > m) << i))
}

/// The reference hash: same bit layout and quality scale as [`crate::hash_thumb`].
pub fn hash_thumb(thumb: &Thumb) -> FrameHash {
    // Orthonormal scale for frequencies >= 1 is 2/N for the 2-D transform.
    let scale = 2.0 / THUMB_SIDE as f64;
    let mut coefficients = Vec::with_capacity(64);
    let mut mirrored = Vec::with_capacity(64);
    for v in 1..=8 {
        for u in 1..=8 {
            let c = dct_coefficient(thumb, v, u) * scale;
            coefficients.push(c);
            mirrored.push(if u % 2 == 1 { -c } else { c });
        }
    }
    let rms = (coefficients.iter().map(|c| c * c).sum::<f64>() / 64.0).sqrt();
    FrameHash {
        hash: bits(&coefficients),
        mirrored: bits(&mirrored),
        quality: rms.round().clamp(0.0, 255.0) as u8,
    }
}
