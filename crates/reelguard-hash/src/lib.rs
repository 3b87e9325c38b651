//! Perceptual hashes of video frames: 32x32 luma in, a 64-bit DCT hash out, with no I/O.
//!
//! The hash is classic pHash: a 2-D DCT-II of a 32x32 luma thumbnail, the 8x8 block of the
//! lowest *non-zero* frequencies (rows and columns 1..=8, so the DC term and the pure
//! row-0/column-0 terms — which a brightness change or a gradient overlay moves — are left
//! out), each bit set when its coefficient is above the block's median. Because every
//! coefficient in the block scales the same way under an affine luma change (`a*Y + b`, a > 0),
//! the hash is invariant to brightness and contrast edits.
//!
//! The one design decision that shapes this crate: **the mirrored hash is free**. Flipping a
//! frame horizontally (`x -> 31 - x`) multiplies the DCT coefficient of horizontal frequency
//! `u` by `(-1)^u`, so the hash of the mirrored frame is derived from the same coefficients
//! with the signs of odd-`u` terms flipped and the median recomputed. A pirate's mirrored
//! upload is then caught by probing with the twin hash, without decoding anything twice.
//!
//! Bit layout (stable, part of the on-disk format of the index): bit `(v - 1) * 8 + (u - 1)`
//! of the `u64` holds the coefficient of vertical frequency `v` and horizontal frequency `u`.
//!
//! [`reference`] holds a slow, obviously-correct implementation; tests hold the fast path
//! to it.
//!
//! [`signal`] states what a kind of fingerprint is to the rest of the system
//! ([`SignalType`]); [`VideoPhash`] is this hash as the first signal type, and the only place
//! the catalogue, index and aligner learn its record size, distance and LSH bands.
#![deny(missing_docs)]

pub mod reference;
pub mod signal;

pub use signal::{Record, SignalType, VideoPhash};

use std::sync::OnceLock;

/// Side of the square luma thumbnail a hash is computed from.
pub const THUMB_SIDE: usize = 32;
/// Number of pixels in a thumbnail.
pub const THUMB_PIXELS: usize = THUMB_SIDE * THUMB_SIDE;
/// Side of the block of DCT coefficients that become hash bits.
const BLOCK: usize = 8;

/// A 32x32 8-bit luma thumbnail, row-major.
pub type Thumb = [u8; THUMB_PIXELS];

/// The perceptual fingerprint of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHash {
    /// The pHash of the frame as it is.
    pub hash: u64,
    /// The pHash the horizontally mirrored frame would have.
    pub mirrored: u64,
    /// How much structure the frame has, 0 (flat: black, a single colour) to 255. Hashes of
    /// frames below [`MIN_USEFUL_QUALITY`] are dominated by noise and match everything.
    pub quality: u8,
}

/// Frames whose quality is below this carry too little structure for their hash bits to mean
/// anything. Measured: black frames with encoder noise and single-colour frames score 0; the
/// fixtures' footage (live action, animation, screencasts, fractals) scores 10 at its lowest,
/// 17 at the 1st percentile, 73 at the median.
pub const MIN_USEFUL_QUALITY: u8 = 8;

/// Number of bits that differ between two hashes.
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Cosine basis for frequencies 1..=8 over 32 samples, orthonormal scale, split by the
/// symmetry `cos(k, 31 - n) = (-1)^k cos(k, n)` so that each output needs only 16 products.
struct Basis {
    /// `half[k][n]` = orthonormal DCT-II basis of frequency `k + 1` at sample `n` (n < 16).
    half: [[f32; 16]; BLOCK],
}

fn basis() -> &'static Basis {
    static BASIS: OnceLock<Basis> = OnceLock::new();
    BASIS.get_or_init(|| {
        let scale = (2.0 / THUMB_SIDE as f64).sqrt();
        let mut half = [[0f32; 16]; BLOCK];
        for (k, row) in half.iter_mut().enumerate() {
            let freq = (k + 1) as f64;
            for (n, value) in row.iter_mut().enumerate() {
                let angle = std::f64::consts::PI * (2.0 * n as f64 + 1.0) * freq
                    / (2.0 * THUMB_SIDE as f64);
                *value = (scale * angle.cos()) as f32;
            }
        }
        Basis { half }
    })
}

/// The 8x8 block of DCT coefficients (frequencies 1..=8 in both directions) of a thumbnail,
/// `coefficients[v - 1][u - 1]`, orthonormal scale.
pub fn low_frequency_block(thumb: &Thumb) -> [[f32; BLOCK]; BLOCK] {
    let basis = basis();
    // Pass 1: horizontal frequencies of every row. Even frequencies only see the symmetric part
    // of a row (p[n] + p[31-n]), odd ones only the antisymmetric part.
    let mut rows = [[0f32; BLOCK]; THUMB_SIDE];
    for (row_out, row) in rows.iter_mut().zip(thumb.chunks_exact(THUMB_SIDE)) {
        let mut sym = [0f32; 16];
        let mut anti = [0f32; 16];
        for n in 0..16 {
            let a = row[n] as f32;
            let b = row[THUMB_SIDE - 1 - n] as f32;
            sym[n] = a + b;
            anti[n] = a - b;
        }
        for (k, out) in row_out.iter_mut().enumerate() {
            // frequency k + 1: odd when k is even.
            let half = if k % 2 == 0 { &anti } else { &sym };
            *out = dot16(half, &basis.half[k]);
        }
    }
    // Pass 2: vertical frequencies of each horizontal-frequency column, same symmetry.
    let mut block = [[0f32; BLOCK]; BLOCK];
    for u in 0..BLOCK {
        let mut sym = [0f32; 16];
        let mut anti = [0f32; 16];
        for n in 0..16 {
            let a = rows[n][u];
            let b = rows[THUMB_SIDE - 1 - n][u];
            sym[n] = a + b;
            anti[n] = a - b;
        }
        for (v, block_row) in block.iter_mut().enumerate() {
            let half = if v % 2 == 0 { &anti } else { &sym };
            block_row[u] = dot16(half, &basis.half[v]);
        }
    }
    block
}

#[inline]
fn dot16(a: &[f32; 16], b: &[f32; 16]) -> f32 {
    let mut acc = [0f32; 4];
    for i in 0..4 {
        for lane in 0..4 {
            acc[lane] += a[i * 4 + lane] * b[i * 4 + lane];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Median of 64 values: the mean of the two middle ones, as pHash defines it.
fn median64(values: &[f32; 64]) -> f32 {
    let mut scratch = *values;
    let (lower, upper_mid, _) = scratch.select_nth_unstable_by(32, f32::total_cmp);
    let upper = *upper_mid;
    let lower_max = lower.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (lower_max + upper) / 2.0
}

fn bits_above(values: &[f32; 64], threshold: f32) -> u64 {
    values
        .iter()
        .enumerate()
        .fold(0u64, |bits, (i, &c)| bits | (u64::from(c > threshold) << i))
}

/// Hashes one thumbnail: pHash, mirrored pHash and quality.
pub fn hash_thumb(thumb: &Thumb) -> FrameHash {
    let block = low_frequency_block(thumb);
    let mut coefficients = [0f32; 64];
    let mut mirrored = [0f32; 64];
    for (i, c) in block.iter().flatten().copied().enumerate() {
        coefficients[i] = c;
        // Horizontal frequency u + 1 (u = i % 8) is odd when u is even: mirroring flips it.
        mirrored[i] = if (i % BLOCK).is_multiple_of(2) { -c } else { c };
    }
    let energy = coefficients.iter().map(|c| c * c).sum::<f32>() / 64.0;
    FrameHash {
        hash: bits_above(&coefficients, median64(&coefficients)),
        mirrored: bits_above(&mirrored, median64(&mirrored)),
        quality: quality_from_rms(energy.sqrt()),
    }
}

/// Maps the RMS of the 64 coefficients (orthonormal scale, in 8-bit luma units) to 0..=255.
/// The RMS is proportional to the contrast of the coarse structure the hash describes, so it
/// is what decides whether the bits are signal or noise.
fn quality_from_rms(rms: f32) -> u8 {
    rms.round().clamp(0.0, 255.0) as u8
}

/// Horizontally mirrors a thumbnail (used by tests and by callers that want to check the
/// derived mirrored hash against a real flip).
pub fn mirror_thumb(thumb: &Thumb) -> Thumb {
    let mut out = [0u8; THUMB_PIXELS];
    for (dst, src) in out
        .chunks_exact_mut(THUMB_SIDE)
        .zip(thumb.chunks_exact(THUMB_SIDE))
    {
        for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
            *d = *s;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient_thumb(seed: u32) -> Thumb {
        let mut thumb = [0u8; THUMB_PIXELS];
        let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
        for (i, p) in thumb.iter_mut().enumerate() {
            let (x, y) = ((i % THUMB_SIDE) as u32, (i / THUMB_SIDE) as u32);
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let blob = if (x / 8 + y / 11 + seed).is_multiple_of(3) {
                90
            } else {
                0
            };
            *p = ((x * 3 + y * (seed % 5) + blob + (state % 24)) % 256) as u8;
        }
        thumb
    }

    #[test]
    fn fast_hash_equals_reference_hash() {
        for seed in 0..200 {
            let thumb = gradient_thumb(seed);
            let fast = hash_thumb(&thumb);
            let slow = reference::hash_thumb(&thumb);
            assert!(hamming(fast.hash, slow.hash) <= 1, "seed {seed}");
            assert!(hamming(fast.mirrored, slow.mirrored) <= 1, "seed {seed}");
        }
    }

    #[test]
    fn mirrored_hash_equals_hash_of_flipped_frame() {
        for seed in 0..200 {
            let thumb = gradient_thumb(seed);
            let derived = hash_thumb(&thumb).mirrored;
            let flipped = hash_thumb(&mirror_thumb(&thumb)).hash;
            assert!(hamming(derived, flipped) <= 1, "seed {seed}");
        }
    }

    #[test]
    fn hash_ignores_brightness_and_contrast() {
        let thumb = gradient_thumb(7);
        let mut edited = thumb;
        for p in edited.iter_mut() {
            *p = (*p as f32 * 0.7 + 30.0) as u8;
        }
        assert!(hamming(hash_thumb(&thumb).hash, hash_thumb(&edited).hash) <= 2);
    }

    #[test]
    fn flat_frames_have_low_quality_and_textured_frames_high() {
        let black = [0u8; THUMB_PIXELS];
        let grey = [128u8; THUMB_PIXELS];
        assert_eq!(hash_thumb(&black).quality, 0);
        assert_eq!(hash_thumb(&grey).quality, 0);
        assert!(hash_thumb(&gradient_thumb(3)).quality >= MIN_USEFUL_QUALITY * 2);
    }
}
