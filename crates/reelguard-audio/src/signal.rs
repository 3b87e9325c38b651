//! The sub-fingerprint as a signal type: what the catalogue, the index and the aligner need to
//! know about it ([`AudioHk`]), after `reelguard_hash::VideoPhash`.

use reelguard_hash::{Record, SignalType};
use reelguard_model::SignalName;

/// The name every audio record run, index term and segment carries.
pub const AUDIO_HK: SignalName = SignalName::from_static("audio_hk32");

/// Haitsma–Kalker 32-bit sub-fingerprints of 0.256 s windows every 32 ms (crate docs).
pub struct AudioHk;

impl AudioHk {
    /// Bits per LSH band.
    pub const BAND_BITS: u32 = 16;
    /// Bands per hash.
    pub const BANDS: u32 = 32 / Self::BAND_BITS;
    /// Sub-fingerprints per second, against video's 5 sampled frames: [`SignalType::evidence`]
    /// is scaled by their ratio so that a second of audio weighs what a second of video does,
    /// and the chance calibration fitted on video evidence stays meaningful.
    pub const PER_SECOND: f64 = 1.0 / crate::HOP_S;
}

impl SignalType for AudioHk {
    type Hash = u32;
    const NAME: SignalName = AUDIO_HK;
    /// `hash: u32 LE`, `t: f32 LE` seconds, `quality: u8`.
    const RECORD_BYTES: usize = 9;
    const MIRRORED: bool = false;
    /// Half of 32 bits: unrelated windows differ in each bit with probability one half
    /// (measured on unrelated speech and music in `tests.rs`: median 16).
    const CHANCE_DISTANCE: f64 = 16.0;
    /// Measured in `tests.rs` on espeak-ng speech: aligned windows of a copy sit at a median of
    /// 0 (volume) to 6 bits (24 kb/s AAC, 90th percentile 12), 4 for `atempo` 1.25 and 1 for a
    /// plain 1.25x stretched back; unrelated speech at a 1st percentile of 7, 5th of 10 and a
    /// median of 16.
    const EVIDENCE_DISTANCE: f64 = 9.0;
    const PAIR_DISTANCE: u32 = 10;
    const TIE_DISTANCE: u32 = 1;

    fn encode_record(record: &Record<u32>, out: &mut Vec<u8>) {
        out.extend_from_slice(&record.hash.to_le_bytes());
        out.extend_from_slice(&record.t.to_le_bytes());
        out.push(record.quality);
    }

    fn decode_record(bytes: &[u8]) -> Option<Record<u32>> {
        let bytes: &[u8; 9] = bytes.try_into().ok()?;
        let (hash, rest) = bytes.split_at(4);
        let (t, quality) = rest.split_at(4);
        Some(Record {
            hash: u32::from_le_bytes(hash.try_into().ok()?),
            t: f32::from_le_bytes(t.try_into().ok()?),
            quality: quality[0],
        })
    }

    fn reference_distance(a: &u32, b: &u32) -> u32 {
        (0..32)
            .filter(|bit| (a >> bit) & 1 != (b >> bit) & 1)
            .count() as u32
    }

    // Inline across crates: the aligner calls this for every (suspect, episode) window pair,
    // and as a call it was most of what matching sound cost.
    #[inline]
    fn distance(a: &u32, b: &u32) -> u32 {
        (a ^ b).count_ones()
    }

    /// Two terms, `band << 16 | bits`: the low and the high 16 bits. A copy's windows at 2–5
    /// bits share one often enough over a second of windows (31 of them).
    fn lsh_terms(hash: &u32, terms: &mut Vec<u64>) {
        let mask = (1u32 << Self::BAND_BITS) - 1;
        terms.extend((0..Self::BANDS).map(|b| {
            (u64::from(b) << Self::BAND_BITS) | u64::from((hash >> (b * Self::BAND_BITS)) & mask)
        }));
    }

    /// Video's rule per second: `(EVIDENCE_DISTANCE - distance)` scaled by 5 frames per second
    /// over [`AudioHk::PER_SECOND`].
    fn evidence(distance: u32) -> f64 {
        (Self::EVIDENCE_DISTANCE - distance as f64) * 5.0 / Self::PER_SECOND
    }
}
