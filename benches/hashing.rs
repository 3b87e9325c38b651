//! ns per hash: reelguard's pHash (with its mirrored twin and quality) against the textbook
//! reference and against `image_hasher`'s DCT pHash on the same 32x32 frames.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use image_hasher::{HashAlg, HasherConfig};
use reelguard_hash::{hash_thumb, reference, Thumb, THUMB_PIXELS};

/// Frame-like thumbnails: ramps, blocks and noise (the DCT's cost does not depend on content).
fn thumbs() -> Vec<Thumb> {
    let mut state = 0x5EEDu64;
    (0..64)
        .map(|_| {
            let mut thumb = [0u8; THUMB_PIXELS];
            for (i, p) in thumb.iter_mut().enumerate() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let (x, y) = ((i % 32) as u64, (i / 32) as u64);
                *p = ((x * 5 + y * 3 + (x / 8) * 40 + state % 16) % 256) as u8;
            }
            thumb
        })
        .collect()
}

fn hashing(c: &mut Criterion) {
    let thumbs = thumbs();
    let images: Vec<image::GrayImage> = thumbs
        .iter()
        .filter_map(|t| image::GrayImage::from_raw(32, 32, t.to_vec()))
        .collect();
    let phash = HasherConfig::new()
        .hash_alg(HashAlg::Median)
        .preproc_dct()
        .to_hasher();
    let mut group = c.benchmark_group("hash_one_frame");
    group.bench_function(
        BenchmarkId::new("reelguard", "32x32 DCT + mirror + quality"),
        |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % thumbs.len();
                hash_thumb(&thumbs[i])
            })
        },
    );
    group.bench_function(BenchmarkId::new("image_hasher", "pHash Median+DCT"), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % images.len();
            phash.hash_image(&images[i])
        })
    });
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("reference", "textbook O(N^4) DCT"), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % thumbs.len();
            reference::hash_thumb(&thumbs[i])
        })
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
