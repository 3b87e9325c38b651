//! ns per hash: reelguard's pHash (with its mirrored twin and quality) against the textbook
//! reference and against `image_hasher`'s DCT pHash on the same 32x32 frames.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use reelguard_hash::{hash_thumb, reference};

#[path = "../crates/reelguard-cli/src/bench_inputs.rs"]
mod bench_inputs;
use bench_inputs::{grey_images, image_hasher_phash, sample_thumbs};

fn hashing(c: &mut Criterion) {
    let thumbs = sample_thumbs(64);
    let images = grey_images(&thumbs);
    let phash = image_hasher_phash();
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
