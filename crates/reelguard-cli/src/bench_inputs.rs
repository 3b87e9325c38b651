//! Inputs of the hashing benchmark, shared by `reelguard bench hash` and the criterion bench
//! `benches/hashing.rs` (which includes this file), so both time the same frames against the
//! same `image_hasher` configuration (the comparison needs the `image-hasher` feature).

#[cfg(feature = "image-hasher")]
use image_hasher::{HashAlg, Hasher, HasherConfig};
use reelguard_hash::{Thumb, THUMB_PIXELS, THUMB_SIDE};

/// Frame-like thumbnails: ramps and noise (the DCT's cost does not depend on content).
pub fn sample_thumbs(count: usize) -> Vec<Thumb> {
    let mut state = 0x5EEDu64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let mut thumb = [0u8; THUMB_PIXELS];
            let (a, b) = (next() % 7 + 1, next() % 5 + 1);
            for (i, p) in thumb.iter_mut().enumerate() {
                let (x, y) = ((i % THUMB_SIDE) as u64, (i / THUMB_SIDE) as u64);
                *p = ((x * a + y * b + (next() % 16)) % 256) as u8;
            }
            thumb
        })
        .collect()
}

/// The same thumbnails as `image` buffers, for `image_hasher`.
#[cfg(feature = "image-hasher")]
pub fn grey_images(thumbs: &[Thumb]) -> Vec<image::GrayImage> {
    thumbs
        .iter()
        .filter_map(|t| {
            image::GrayImage::from_raw(THUMB_SIDE as u32, THUMB_SIDE as u32, t.to_vec())
        })
        .collect()
}

/// `image_hasher`'s pHash as its documentation configures it (median, DCT preprocessing).
#[cfg(feature = "image-hasher")]
pub fn image_hasher_phash() -> Hasher {
    HasherConfig::new()
        .hash_alg(HashAlg::Median)
        .preproc_dct()
        .to_hasher()
}
