//! Synthetic catalogues built from real frame hashes, shared by `reelguard bench index` and
//! `tests/candidate_recall.rs` (which includes this file), so both measure the same catalogue.
//!
//! The decision that shapes this module: **a synthetic episode is cut from real footage, not
//! drawn from a random walk.** Every shot is a run of consecutive real frames (so frame-to-frame
//! change, static scenes and bit skew are real), XORed with a mask of 16 bits drawn once per
//! shot, so that tens of thousands of real frames yield millions of shots that are as far from
//! one another as unrelated content is. Series structure is added on top: every episode of a
//! work opens with the work's own title card, and every episode after the first repeats the
//! previous one's last seconds as a recap (near-duplicate neighbouring episodes), with a bit of
//! re-encoding noise.

use reelguard_index::StoredFrame;

/// Sampled frames per second of a synthetic episode (the media crate's default).
pub const FPS: f32 = 5.0;
/// A work's title card: 3 s.
pub const TITLE_CARD_FRAMES: usize = 15;
/// The recap of the previous episode: 8 s.
pub const RECAP_FRAMES: usize = 40;
/// Bits of the per-shot mask that makes reused footage into a different shot.
pub const SHOT_MASK_BITS: u32 = 16;
/// Quality of every synthetic frame (well above `reelguard_hash::MIN_USEFUL_QUALITY`).
pub const QUALITY: u8 = 60;

/// xorshift64: deterministic, dependency-free randomness.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A mask of exactly `bits` distinct set bits (at most 64).
    pub fn mask(&mut self, bits: u32) -> u64 {
        let mut mask = 0u64;
        while mask.count_ones() < bits.min(64) {
            mask |= 1 << (self.next() % 64);
        }
        mask
    }
}

/// Real footage: each clip's usable frame hashes in time order.
#[derive(Debug, Clone)]
pub struct SeedClips {
    clips: Vec<Vec<u64>>,
}

impl SeedClips {
    /// Clips with fewer frames than a title card are dropped; `None` if none is left.
    pub fn new(clips: Vec<Vec<u64>>) -> Option<Self> {
        let clips: Vec<Vec<u64>> = clips
            .into_iter()
            .filter(|c| c.len() >= TITLE_CARD_FRAMES)
            .collect();
        (!clips.is_empty()).then_some(SeedClips { clips })
    }

    /// Frames over all clips.
    pub fn frames(&self) -> usize {
        self.clips.iter().map(Vec::len).sum()
    }

    /// A run of `len` consecutive frames from a random clip and offset (wrapping around the
    /// end of a short clip), XORed with `mask`.
    fn run(&self, rng: &mut Rng, len: usize, mask: u64, out: &mut Vec<u64>) {
        let clip = &self.clips[rng.below(self.clips.len())];
        let start = rng.below(clip.len());
        out.extend((0..len).map(|i| clip[(start + i) % clip.len()] ^ mask));
    }
}

/// Generates the episodes of works one after the other.
pub struct Generator {
    seeds: SeedClips,
    rng: Rng,
    title_card: Vec<u64>,
    previous_tail: Vec<u64>,
}

impl Generator {
    /// A generator over `seeds`, deterministic for a given `seed`.
    pub fn new(seeds: SeedClips, seed: u64) -> Self {
        Generator {
            seeds,
            rng: Rng(seed | 1),
            title_card: Vec::new(),
            previous_tail: Vec::new(),
        }
    }

    /// Starts a new work: a new title card, no recap for its first episode.
    pub fn new_work(&mut self) {
        self.title_card.clear();
        let mask = self.rng.mask(SHOT_MASK_BITS);
        self.seeds
            .run(&mut self.rng, TITLE_CARD_FRAMES, mask, &mut self.title_card);
        self.previous_tail.clear();
    }

    /// The next episode of the current work, `frames` frames at [`FPS`]: title card, recap of
    /// the previous episode, then shots of 2–8 s.
    pub fn episode(&mut self, frames: usize) -> Vec<StoredFrame> {
        let mut hashes: Vec<u64> = Vec::with_capacity(frames + 40);
        hashes.extend_from_slice(&self.title_card);
        for i in 0..self.previous_tail.len() {
            // Re-encoded: a bit or two off the previous episode's frames.
            let noise = self.rng.mask((i % 3) as u32);
            hashes.push(self.previous_tail[i] ^ noise);
        }
        while hashes.len() < frames {
            let len = 10 + self.rng.below(31);
            let mask = self.rng.mask(SHOT_MASK_BITS);
            self.seeds.run(&mut self.rng, len, mask, &mut hashes);
        }
        hashes.truncate(frames);
        let tail = frames.saturating_sub(RECAP_FRAMES);
        self.previous_tail = hashes[tail..].to_vec();
        hashes
            .into_iter()
            .enumerate()
            .map(|(i, hash)| StoredFrame {
                t: i as f32 / FPS,
                hash,
                quality: QUALITY,
            })
            .collect()
    }
}
