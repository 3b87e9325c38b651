//! Cross-checks our DCT against the independent one in `image_hasher` (rustdct underneath).
//!
//! `image_hasher` with `hash_size(16, 16)` and `preproc_dct` on a 32x32 grey image (nearest
//! filter, so its resize is the identity) takes the unnormalised 32x32 DCT-II, keeps the low
//! 16x16 corner *including* row and column 0, thresholds at the median of those 256 values and
//! packs bits least-significant first, row-major. We rebuild exactly that layout from our
//! reference DCT and require near-identity; then we compare our production 64-bit hash (8x8
//! block at frequencies 1..=8, median of 64) with the same positions of their hash, which can
//! only differ where the two medians fall on different sides of a coefficient.

use image::{imageops::FilterType, GrayImage};
use image_hasher::{HashAlg, HasherConfig};
use reelguard_hash::{hamming, hash_thumb, reference, Thumb, THUMB_PIXELS, THUMB_SIDE};

/// Thumbnails with the statistics of real frames: smooth shapes, edges and a little noise.
fn structured_thumbs(count: u32) -> Vec<Thumb> {
    (0..count)
        .map(|seed| {
            let mut state = seed.wrapping_mul(747796405).wrapping_add(2891336453);
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state
            };
            let blobs: Vec<(f32, f32, f32, f32)> = (0..5)
                .map(|_| {
                    let cx = (next() % 32) as f32;
                    let cy = (next() % 32) as f32;
                    let r = 3.0 + (next() % 12) as f32;
                    let level = (next() % 200) as f32 - 100.0;
                    (cx, cy, r, level)
                })
                .collect();
            let mut thumb = [0u8; THUMB_PIXELS];
            for (i, p) in thumb.iter_mut().enumerate() {
                let (x, y) = ((i % THUMB_SIDE) as f32, (i / THUMB_SIDE) as f32);
                let mut value = 110.0 + x * 1.5;
                for &(cx, cy, r, level) in &blobs {
                    if (x - cx).powi(2) + (y - cy).powi(2) < r * r {
                        value += level;
                    }
                }
                value += (next() % 9) as f32 - 4.0;
                *p = value.clamp(0.0, 255.0) as u8;
            }
            thumb
        })
        .collect()
}

fn image_hasher_bits(thumb: &Thumb) -> Vec<bool> {
    let hasher = HasherConfig::new()
        .hash_size(16, 16)
        .hash_alg(HashAlg::Median)
        .resize_filter(FilterType::Nearest)
        .preproc_dct()
        .to_hasher();
    let image = GrayImage::from_raw(THUMB_SIDE as u32, THUMB_SIDE as u32, thumb.to_vec())
        .expect("32x32 buffer");
    let hash = hasher.hash_image(&image);
    let bytes = hash.as_bytes();
    (0..256).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect()
}

fn our_bits_in_their_layout(thumb: &Thumb) -> Vec<bool> {
    let coefficients: Vec<f64> = (0..16)
        .flat_map(|v| (0..16).map(move |u| (v, u)))
        .map(|(v, u)| reference::dct_coefficient(thumb, v, u))
        .collect();
    let median = reference::median(&coefficients);
    coefficients.iter().map(|&c| c > median).collect()
}

#[test]
fn our_dct_agrees_with_image_hasher_in_its_own_layout() {
    let mut worst = 0;
    for thumb in structured_thumbs(300) {
        let theirs = image_hasher_bits(&thumb);
        let ours = our_bits_in_their_layout(&thumb);
        let differing = theirs.iter().zip(&ours).filter(|(a, b)| a != b).count();
        worst = worst.max(differing);
    }
    eprintln!("ours vs image_hasher in its 16x16 layout: worst {worst} of 256 bits");
    // Only coefficients within float rounding of the median may land differently.
    assert!(worst <= 2, "worst disagreement {worst} of 256 bits");
}

#[test]
fn production_hash_agrees_with_image_hasher_on_shared_coefficients() {
    let mut distances = Vec::new();
    for thumb in structured_thumbs(300) {
        let theirs = image_hasher_bits(&thumb);
        let mut projected = 0u64;
        for v in 1..=8 {
            for u in 1..=8 {
                if theirs[v * 16 + u] {
                    projected |= 1 << ((v - 1) * 8 + (u - 1));
                }
            }
        }
        distances.push(hamming(projected, hash_thumb(&thumb).hash));
    }
    distances.sort_unstable();
    let median = distances[distances.len() / 2];
    let p95 = distances[distances.len() * 95 / 100];
    eprintln!("ours vs image_hasher on the shared 8x8 block: median {median}, p95 {p95} bits");
    // Their threshold is the median of 256 coefficients, ours the median of 64: they can
    // disagree only on coefficients between the two medians (measured: median 2, p95 5 bits).
    assert!(median <= 4, "median {median}");
    assert!(p95 <= 8, "p95 {p95}");
}
