//! Audio fingerprints, the second signal beside the video pHash (issue 14): mono samples at
//! [`SAMPLE_RATE`] in, Haitsma–Kalker 32-bit sub-fingerprints out, with no I/O.
//!
//! A sub-fingerprint summarises one [`FRAME`]-sample window (0.256 s), one every [`HOP`]
//! samples (32 ms): the window's power spectrum is summed into 33 logarithmically spaced bands
//! between 300 and 2000 Hz, and bit `m` is set when the energy difference of bands `m` and
//! `m + 1` grew since the previous window (Haitsma & Kalker, "A Highly Robust Audio
//! Fingerprinting System", 2002). Differences of differences ignore volume and any smooth
//! equaliser curve, and survive low-bitrate codecs, which keep the coarse spectral envelope.
//!
//! The decision that shapes this crate: **the fingerprint is a frame sequence like video's.**
//! A window every 32 ms aligns through the same Hough aligner (`reelguard-align`) as video
//! frames, so a pitch-preserving speed-up (`atempo`: only time scales) is found by the
//! aligner's speed search with nothing audio-specific. A plain speed-up also moves every
//! frequency by the speed, which bands 6% wide cannot absorb: the suspect's samples are
//! stretched back by a candidate speed first ([`undo_speed`]), one fingerprint per candidate
//! ([`SPEED_GRID`]), and the aligner keeps the best-scoring. Chosen over spectral peak-pair
//! landmarks (Wang/Shazam) because a frame sequence needs no second index and aligner, and
//! because the speed grid cures the one edit the sub-fingerprints do not survive.
//!
//! [`AudioHk`] states the sub-fingerprint as a `reelguard_hash::SignalType`.
#![deny(missing_docs)]

mod signal;

pub use signal::{AudioHk, AUDIO_HK};

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Samples per second of the mono audio fingerprints are computed from. 8 kHz keeps
/// everything below 4 kHz: the 300–2000 Hz bands, and their images up to 1.6x speed.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples per analysis window (0.256 s).
pub const FRAME: usize = 2048;
/// Samples between windows (32 ms): a suspect window is at most 16 ms, 1/16 of a window, off
/// the nearest registered one.
pub const HOP: usize = 256;
/// Seconds between sub-fingerprints.
pub const HOP_S: f64 = HOP as f64 / SAMPLE_RATE as f64;
/// Lowest band edge, Hz.
const LOW_HZ: f64 = 300.0;
/// Highest band edge, Hz.
const HIGH_HZ: f64 = 2000.0;
/// Bands: one more than the bits, since each bit compares neighbours.
const BANDS: usize = 33;
/// Windows quieter than this (mean square, full scale 1.0) are silence: quality 0.
const SILENCE_DB: f64 = -60.0;
/// A band counts as sounding when within this factor (30 dB) of the loudest band.
const SOUNDING: f64 = 1e-3;
/// Windows with this few sounding bands or fewer carry a tone, not a spectrum: their other
/// bands' bits are codec noise (the fixtures' sine beep is one band; speech sounds 15–33).
const TONE_BANDS: usize = 4;

/// The sub-fingerprints of one stretch of audio, one per [`HOP`] samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hashes {
    /// The 32-bit sub-fingerprints.
    pub hashes: Vec<u32>,
    /// Structure of each window, 0 (silence, a pure tone) to 255: 8 per sounding band beyond
    /// [`TONE_BANDS`]; below `reelguard_hash::MIN_USEFUL_QUALITY` the bits are noise.
    pub quality: Vec<u8>,
}

/// Computes sub-fingerprints; holds the FFT plan and the band edges so that many calls (a
/// speed grid) share them.
pub struct Fingerprinter {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// FFT bin ranges of the bands.
    bands: Vec<(usize, usize)>,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter::new()
    }
}

impl Fingerprinter {
    /// The plan for [`FRAME`]-sample windows at [`SAMPLE_RATE`].
    pub fn new() -> Fingerprinter {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(FRAME);
        let window = (0..FRAME)
            .map(|n| {
                let x = std::f64::consts::TAU * n as f64 / FRAME as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        let bin_hz = SAMPLE_RATE as f64 / FRAME as f64;
        let ratio = (HIGH_HZ / LOW_HZ).powf(1.0 / BANDS as f64);
        let bands = (0..BANDS)
            .map(|b| {
                let lo = LOW_HZ * ratio.powi(b as i32);
                let hi = lo * ratio;
                let lo_bin = (lo / bin_hz).round() as usize;
                let hi_bin = ((hi / bin_hz).round() as usize).max(lo_bin + 1);
                (lo_bin, hi_bin)
            })
            .collect();
        Fingerprinter { fft, window, bands }
    }

    /// Band energies of the window starting at `start` (which must leave [`FRAME`] samples),
    /// and its loudness in dB.
    fn energies(
        &self,
        samples: &[f32],
        start: usize,
        buffer: &mut [Complex<f32>],
    ) -> (Vec<f64>, f64) {
        let frame = &samples[start..start + FRAME];
        let mut power = 0.0f64;
        for ((slot, &x), &w) in buffer.iter_mut().zip(frame).zip(&self.window) {
            power += f64::from(x) * f64::from(x);
            *slot = Complex::new(x * w, 0.0);
        }
        self.fft.process(buffer);
        let energies = self
            .bands
            .iter()
            .map(|&(lo, hi)| buffer[lo..hi].iter().map(|c| f64::from(c.norm_sqr())).sum())
            .collect();
        let db = 10.0 * (power / FRAME as f64).max(1e-12).log10();
        (energies, db)
    }

    /// Sub-fingerprints of `samples` (mono, [`SAMPLE_RATE`], full scale ±1): window `i`
    /// starts at sample `i * HOP`. Fewer than `FRAME + HOP` samples give none.
    pub fn fingerprint(&self, samples: &[f32]) -> Hashes {
        let mut out = Hashes::default();
        if samples.len() < FRAME + HOP {
            return out;
        }
        let count = (samples.len() - FRAME) / HOP + 1;
        let mut buffer = vec![Complex::new(0.0f32, 0.0); FRAME];
        let (mut previous, _) = self.energies(samples, 0, &mut buffer);
        for i in 1..count {
            let (energies, db) = self.energies(samples, i * HOP, &mut buffer);
            let mut hash = 0u32;
            for m in 0..BANDS - 1 {
                let now = energies[m] - energies[m + 1];
                let before = previous[m] - previous[m + 1];
                if now - before > 0.0 {
                    hash |= 1 << m;
                }
            }
            out.hashes.push(hash);
            out.quality.push(quality(&energies, db));
            previous = energies;
        }
        out
    }
}

/// A window's quality: 0 when silent (at or below [`SILENCE_DB`]), else 8 per band
/// sounding (within [`SOUNDING`] of the loudest) beyond [`TONE_BANDS`].
fn quality(energies: &[f64], db: f64) -> u8 {
    if db <= SILENCE_DB {
        return 0;
    }
    let loudest = energies.iter().copied().fold(0.0, f64::max);
    let sounding = energies.iter().filter(|&&e| e > loudest * SOUNDING).count();
    (sounding.saturating_sub(TONE_BANDS) * 8).min(255) as u8
}

/// Seconds from the start of the (un-stretched) audio to sub-fingerprint `i` of samples
/// stretched back by `speed` ([`undo_speed`]; 1.0 for the audio as it is). The hash of window
/// `i` compares it with window `i - 1`; it is stamped with window `i`'s start.
pub fn hash_time(i: usize, speed: f64) -> f64 {
    (i + 1) as f64 * HOP_S / speed
}

/// The audio a plain (pitch-raising) speed-up by `speed` came from: `samples` played
/// `speed` times slower, by linear interpolation. Frequencies and durations both scale back
/// by `speed`; its sub-fingerprints then compare with the original's.
pub fn undo_speed(samples: &[f32], speed: f64) -> Vec<f32> {
    if !(speed.is_finite() && speed > 0.0) || samples.is_empty() {
        return samples.to_vec();
    }
    let len = ((samples.len() as f64) * speed).floor() as usize;
    (0..len)
        .map(|n| {
            let x = n as f64 / speed;
            let i = x.floor() as usize;
            let frac = (x - i as f64) as f32;
            let a = samples.get(i).copied().unwrap_or(0.0);
            let b = samples.get(i + 1).copied().unwrap_or(a);
            a + (b - a) * frac
        })
        .collect()
}

/// Candidate speeds for the pitch-shifted case: 1 (no plain speed-up; a pitch-preserving
/// one is the aligner's business) and the plain speed-ups pirates use. Each covers about ±1%
/// around it: measured in `tests.rs`, a 1% pitch shift leaves aligned windows at a median of 5
/// bits (90th percentile 8), a 2% one at 8 (12), which is no longer evidence. A dense grid
/// over 0.8–1.6x would take 35 fingerprints per suspect; this one takes 7.
pub const SPEED_GRID: [f64; 7] = [1.0, 0.9, 1.1, 1.2, 1.25, 1.3, 1.5];

#[cfg(test)]
mod tests;
