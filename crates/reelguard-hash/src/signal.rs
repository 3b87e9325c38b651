//! Signal types: what a kind of fingerprint must state for the catalogue, the index and the
//! aligner to work with it, after Meta ThreatExchange's `SignalType` (python-threatexchange,
//! `signal_type/signal_base.py`): a name, a plain reference comparison beside the efficient
//! path, and the index's view of a hash.
//!
//! The decision that shapes this module: **everything hash-specific is one trait impl.** The
//! record format on disk, the distance, the LSH terms the band index stores, the distance at
//! which a pair is chance, and how much a pair counts as evidence are all stated by
//! [`SignalType`]; the catalogue, the index and the aligner are generic over it and hold no
//! 64-bit pHash constant of their own. [`VideoPhash`] is the first (and today the only)
//! implementation.
//!
//! # Adding a second signal (audio, issue 14)
//! 1. Implement [`SignalType`] for it in this crate (or its own crate): a new
//!    [`SignalName`], its record layout, its distances (a test holds `distance` to
//!    `reference_distance`), its LSH terms, chance and evidence levels.
//! 2. The index namespaces every term by the signal's name, so its terms never meet video's
//!    in the band index; its episodes' frame runs carry the name in the manifest; and every
//!    segment the aligner finds for it says `signal: <name>` (`reelguard_model::Segment`).
//! 3. The catalogue gains a registration path for the new records (today `NewEpisode` holds
//!    video records) and its own record file; the pipeline fingerprints the new signal
//!    beside the video and calls the signal-generic lookups (`find_probes_signal::<S>`).
//!
//! The store keeps segments as records that already name their signal, and the API and the
//! workbench show the name: neither changes.

use reelguard_model::{SignalName, VIDEO_PHASH};

/// One timestamped fingerprint (of a video frame, later an audio window), as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<H> {
    /// Seconds from the start of the episode.
    pub t: f32,
    /// The fingerprint.
    pub hash: H,
    /// How much structure the frame or window has, 0–255; below the signal's floor the hash
    /// is noise and is neither indexed nor aligned.
    pub quality: u8,
}

/// A kind of fingerprint: everything the catalogue, the index and the aligner need to know
/// about it. All items are associated (no `self`): a signal type is a type, not a value.
pub trait SignalType: Send + Sync + 'static {
    /// The compact fingerprint of one frame or window.
    type Hash: Copy + PartialEq + std::fmt::Debug + Send + Sync + 'static;

    /// Stable name, stored with every frame run, index term and segment.
    const NAME: SignalName;

    /// Bytes of one stored record ([`SignalType::encode_record`]'s output).
    const RECORD_BYTES: usize;

    /// Whether a suspect frame carries a second, mirrored fingerprint to probe with (the
    /// `mirrored` field of the aligner's query frames); when not, it is ignored.
    const MIRRORED: bool;

    /// The mean distance of two unrelated fingerprints: a segment's score is
    /// `coverage x (1 - mean distance / CHANCE_DISTANCE)`.
    const CHANCE_DISTANCE: f64;

    /// The distance at which a pair is as likely chance as a copy: a pair closer than this
    /// counts for a segment, one farther against it ([`SignalType::evidence`]).
    const EVIDENCE_DISTANCE: f64;

    /// Largest distance for a frame pair to be considered by the aligner at all (its default
    /// `max_distance`).
    const PAIR_DISTANCE: u32;

    /// Reference frames within this distance of a suspect frame's best partner are equally
    /// good partners for it.
    const TIE_DISTANCE: u32;

    /// Appends one record, exactly [`SignalType::RECORD_BYTES`] bytes, to `out`.
    fn encode_record(record: &Record<Self::Hash>, out: &mut Vec<u8>);

    /// Reads one record; `None` when `bytes` is not exactly one record.
    fn decode_record(bytes: &[u8]) -> Option<Record<Self::Hash>>;

    /// The distance as the definition states it, slowly and obviously: for tests and for
    /// anyone checking the fast path.
    fn reference_distance(a: &Self::Hash, b: &Self::Hash) -> u32;

    /// The distance the matcher uses; must equal [`SignalType::reference_distance`].
    fn distance(a: &Self::Hash, b: &Self::Hash) -> u32;

    /// Appends the LSH terms the band index stores (and looks up) for a hash. Two hashes a
    /// copy apart must share a term often enough over a few seconds of frames; the index
    /// prefixes every term with [`SignalType::NAME`], so values may collide across signals.
    fn lsh_terms(hash: &Self::Hash, terms: &mut Vec<u64>);

    /// The evidence rule: what one matched pair at `distance` adds to a segment's evidence.
    fn evidence(distance: u32) -> f64 {
        Self::EVIDENCE_DISTANCE - distance as f64
    }

    /// A segment's score from its coverage and the mean distance of its pairs, 0–1.
    fn score(coverage: f64, mean_distance: f64) -> f64 {
        coverage * (1.0 - mean_distance / Self::CHANCE_DISTANCE).max(0.0)
    }
}

/// The 64-bit DCT pHash of a sampled video frame ([`crate::hash_thumb`]), with its mirrored
/// twin as a second probe.
pub struct VideoPhash;

impl VideoPhash {
    /// Bits per LSH band.
    pub const BAND_BITS: u32 = 16;
    /// Bands per hash.
    pub const BANDS: u32 = 64 / Self::BAND_BITS;
}

impl SignalType for VideoPhash {
    type Hash = u64;
    const NAME: SignalName = VIDEO_PHASH;
    /// `hash: u64 LE`, `t: f32 LE` seconds, `quality: u8` (the layout of catalogue format 1,
    /// kept so `frames.bin` never needs rewriting).
    const RECORD_BYTES: usize = 13;
    const MIRRORED: bool = true;
    /// Half of 64 bits: unrelated hashes differ in each bit with probability one half.
    const CHANCE_DISTANCE: f64 = 32.0;
    /// Measured on the fixtures (`tests/fingerprint_robustness.rs`): aligned pirated frames
    /// sit at a median of 0–6 bits for every edit family but a 15% crop (median 18, 90th
    /// percentile 24); unrelated frames, mirrored probe included, at 1st percentile 22, 5th
    /// 24, median 30.
    const EVIDENCE_DISTANCE: f64 = 20.0;
    const PAIR_DISTANCE: u32 = 22;
    const TIE_DISTANCE: u32 = 2;

    fn encode_record(record: &Record<u64>, out: &mut Vec<u8>) {
        out.extend_from_slice(&record.hash.to_le_bytes());
        out.extend_from_slice(&record.t.to_le_bytes());
        out.push(record.quality);
    }

    fn decode_record(bytes: &[u8]) -> Option<Record<u64>> {
        let bytes: &[u8; 13] = bytes.try_into().ok()?;
        let (hash, rest) = bytes.split_at(8);
        let (t, quality) = rest.split_at(4);
        Some(Record {
            hash: u64::from_le_bytes(hash.try_into().ok()?),
            t: f32::from_le_bytes(t.try_into().ok()?),
            quality: quality[0],
        })
    }

    fn reference_distance(a: &u64, b: &u64) -> u32 {
        (0..64)
            .filter(|bit| (a >> bit) & 1 != (b >> bit) & 1)
            .count() as u32
    }

    #[inline]
    fn distance(a: &u64, b: &u64) -> u32 {
        crate::hamming(*a, *b)
    }

    /// Four terms, `band << 16 | bits` with band `b` bits `16b..16b+16` of the hash: any two
    /// hashes within 3 bits share a band exactly (pigeonhole), and pirated frames at 8–14
    /// bits still share one often enough over a few seconds of frames.
    fn lsh_terms(hash: &u64, terms: &mut Vec<u64>) {
        let mask = (1u64 << Self::BAND_BITS) - 1;
        terms.extend(
            (0..Self::BANDS).map(|b| {
                (u64::from(b) << Self::BAND_BITS) | ((hash >> (b * Self::BAND_BITS)) & mask)
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes() -> impl Iterator<Item = u64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        (0..2000).map(move |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
    }

    #[test]
    fn fast_distance_equals_reference_distance() {
        let all: Vec<u64> = hashes().chain([0, u64::MAX, 1, 1 << 63]).collect();
        for pair in all.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert_eq!(
                VideoPhash::distance(&a, &b),
                VideoPhash::reference_distance(&a, &b),
                "{a:x} {b:x}"
            );
        }
        assert_eq!(VideoPhash::reference_distance(&0, &u64::MAX), 64);
    }

    #[test]
    fn records_round_trip_in_record_bytes() {
        for (i, hash) in hashes().take(50).enumerate() {
            let record = Record {
                t: i as f32 * 0.2,
                hash,
                quality: (i * 5) as u8,
            };
            let mut bytes = Vec::new();
            VideoPhash::encode_record(&record, &mut bytes);
            assert_eq!(bytes.len(), VideoPhash::RECORD_BYTES);
            assert_eq!(VideoPhash::decode_record(&bytes), Some(record));
        }
        assert_eq!(VideoPhash::decode_record(&[0u8; 12]), None);
        assert_eq!(VideoPhash::decode_record(&[0u8; 14]), None);
    }

    #[test]
    fn hashes_within_three_bits_share_a_term() {
        for (i, hash) in hashes().take(500).enumerate() {
            let near = hash ^ (1 << (i % 64)) ^ (1 << ((i * 7 + 3) % 64)) ^ (1 << ((i * 13) % 64));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            VideoPhash::lsh_terms(&hash, &mut a);
            VideoPhash::lsh_terms(&near, &mut b);
            assert_eq!(a.len(), VideoPhash::BANDS as usize);
            assert!(a.iter().any(|t| b.contains(t)), "{hash:x} {near:x}");
        }
    }

    #[test]
    fn the_evidence_rule_rewards_close_pairs_and_penalises_chance_ones() {
        assert_eq!(VideoPhash::evidence(0), 20.0);
        assert_eq!(VideoPhash::evidence(20), 0.0);
        assert!(VideoPhash::evidence(24) < 0.0);
        assert_eq!(VideoPhash::score(1.0, 0.0), 1.0);
        assert_eq!(VideoPhash::score(1.0, 32.0), 0.0);
        assert_eq!(VideoPhash::score(0.5, 40.0), 0.0);
    }
}
