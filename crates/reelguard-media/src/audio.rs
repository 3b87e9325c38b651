//! The sound beside the picture: the file's best audio stream, decoded from the packets the
//! video's demux pass reads anyway, resampled by swresample to mono at
//! `reelguard_audio::SAMPLE_RATE`, and reduced to sub-fingerprints ([`AudioPrint`]).
//!
//! The decision that shapes this module: **audio never fails a file.** A file without sound,
//! with a codec this FFmpeg cannot decode, or with audio data that fails to decode has no
//! (or a shorter) [`AudioPrint`], and its video fingerprint is unchanged: sound is a second
//! signal, not a condition. Bounds: at most [`MAX_AUDIO_S`] seconds of samples are kept,
//! whatever the file declares, so the worker's memory stays bounded.

use ffmpeg::format::sample::Type as SampleType;
use ffmpeg::format::Sample;
use ffmpeg::media::Type;
use ffmpeg::software::resampling;
use ffmpeg::util::frame::Audio as AudioFrame;
use ffmpeg::{ChannelLayout, Rational};
use ffmpeg_next as ffmpeg;
use rayon::prelude::*;
use reelguard_audio::{hash_time, undo_speed, Fingerprinter, SAMPLE_RATE};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::open::seconds_since;

/// Most seconds of audio fingerprinted per file: 30 minutes (14.4 M samples, 58 MB as f32),
/// longer than any episode or an hour of compilation at 2x; the rest is not fingerprinted.
pub const MAX_AUDIO_S: f64 = 1800.0;
/// Most candidate speeds fingerprinted per file.
pub const MAX_AUDIO_SPEEDS: usize = 16;

/// A file's sound as sub-fingerprints: one track per speed asked for
/// ([`crate::Options::audio_speeds`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioPrint {
    /// Name of the audio codec.
    pub codec: String,
    /// Seconds of audio decoded (at most [`MAX_AUDIO_S`]).
    pub seconds: f64,
    /// One fingerprint per candidate speed, in the order asked.
    pub tracks: Vec<AudioTrack>,
}

/// The sub-fingerprints of a file's audio stretched back by one candidate speed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioTrack {
    /// The plain (pitch-raising) speed-up undone before fingerprinting; 1 for the audio as is.
    pub speed: f64,
    /// Seconds from the start of the video stream to the first audio sample.
    pub start_s: f64,
    /// Sub-fingerprints, one per `reelguard_audio::HOP` samples of the stretched audio.
    pub hashes: Vec<u32>,
    /// Loudness of each window, 0–255.
    pub quality: Vec<u8>,
}

impl AudioTrack {
    /// Seconds from the start of the file (the video's clock) of sub-fingerprint `i`.
    pub fn time(&self, i: usize) -> f64 {
        self.start_s + hash_time(i, self.speed)
    }
}

/// Decodes one audio stream's packets as the demuxer hands them over.
pub(crate) struct AudioDecoder {
    pub stream_index: usize,
    decoder: ffmpeg::decoder::Audio,
    codec: String,
    time_base: Rational,
    /// The video stream's clock: its first timestamp and time base.
    video_clock: (i64, Rational),
    resampler: Option<(resampling::Context, (Sample, u64, u32))>,
    frame: AudioFrame,
    resampled: AudioFrame,
    samples: Vec<f32>,
    start_s: Option<f64>,
    failed: u64,
}

impl AudioDecoder {
    /// The best audio stream of `input` with an open decoder; `None` when there is none or
    /// it cannot be decoded (logged, never an error).
    pub fn open(
        input: &ffmpeg::format::context::Input,
        video_clock: (i64, Rational),
    ) -> Option<AudioDecoder> {
        let stream = input.streams().best(Type::Audio)?;
        let time_base = stream.time_base();
        if time_base.numerator() <= 0 || time_base.denominator() <= 0 {
            return None;
        }
        let opened = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .and_then(|context| {
                let codec = format!("{:?}", context.id()).to_lowercase();
                context.decoder().audio().map(|d| (d, codec))
            });
        match opened {
            Ok((decoder, codec)) => Some(AudioDecoder {
                stream_index: stream.index(),
                decoder,
                codec,
                time_base,
                video_clock,
                resampler: None,
                frame: AudioFrame::empty(),
                resampled: AudioFrame::empty(),
                samples: Vec::new(),
                start_s: None,
                failed: 0,
            }),
            Err(e) => {
                tracing::debug!(error = %e, "audio stream not decodable; video only");
                None
            }
        }
    }

    fn full(&self) -> bool {
        self.samples.len() as f64 >= MAX_AUDIO_S * f64::from(SAMPLE_RATE)
    }

    /// Decodes one packet of the audio stream.
    pub fn feed(&mut self, packet: &ffmpeg::Packet) {
        if self.full() {
            return;
        }
        if self.decoder.send_packet(packet).is_err() {
            self.failed += 1;
            return;
        }
        self.drain();
    }

    fn drain(&mut self) {
        while self.decoder.receive_frame(&mut self.frame).is_ok() {
            if self.start_s.is_none() {
                if let Some(ts) = self.frame.timestamp() {
                    let (video_start, video_base) = self.video_clock;
                    let at = ts as f64 * f64::from(self.time_base);
                    let video_at = seconds_since(video_start, 0, video_base);
                    self.start_s = Some((at - video_at).max(0.0));
                }
            }
            if self.resample().is_err() {
                self.failed += 1;
            }
        }
    }

    fn resample(&mut self) -> Result<(), ffmpeg::Error> {
        if self.frame.channel_layout().is_empty() {
            let layout = ChannelLayout::default(i32::from(self.frame.channels().max(1)));
            self.frame.set_channel_layout(layout);
        }
        let key = (
            self.frame.format(),
            self.frame.channel_layout().bits(),
            self.frame.rate(),
        );
        if self.resampler.as_ref().map(|(_, k)| *k) != Some(key) {
            let context = resampling::Context::get(
                self.frame.format(),
                self.frame.channel_layout(),
                self.frame.rate(),
                Sample::F32(SampleType::Packed),
                ChannelLayout::MONO,
                SAMPLE_RATE,
            )?;
            self.resampler = Some((context, key));
        }
        let Some((resampler, _)) = self.resampler.as_mut() else {
            return Ok(());
        };
        resampler.run(&self.frame, &mut self.resampled)?;
        if self.resampled.samples() > 0 {
            self.samples
                .extend_from_slice(&self.resampled.plane::<f32>(0)[..self.resampled.samples()]);
        }
        Ok(())
    }

    /// Flushes the decoder and fingerprints the samples once per speed; `None` when no
    /// sample was decoded, or when the sound claims to start later than `max_duration` after
    /// the picture (a hostile timestamp: its times would be ones no catalogue stores).
    pub fn finish(mut self, speeds: &[f64], max_duration: Duration) -> Option<AudioPrint> {
        let _ = self.decoder.send_eof();
        self.drain();
        let cap = (MAX_AUDIO_S * f64::from(SAMPLE_RATE)) as usize;
        self.samples.truncate(cap);
        if self.failed > 0 {
            tracing::debug!(failed = self.failed, "audio packets failed to decode");
        }
        if self.samples.is_empty() {
            return None;
        }
        let start_s = self.start_s.unwrap_or(0.0);
        if !(start_s.is_finite() && start_s <= max_duration.as_secs_f64()) {
            tracing::debug!(start_s, "audio starts at an implausible time; video only");
            return None;
        }
        let print = Fingerprinter::new();
        let speeds: Vec<f64> = speeds
            .iter()
            .take(MAX_AUDIO_SPEEDS)
            .copied()
            .filter(|s| s.is_finite() && (0.5..=2.0).contains(s))
            .collect();
        // The tracks are independent and come after the last video frame, when the decoder's
        // threads are idle: computed one after another they lengthened a scan by up to a fifth
        // for 4% of its CPU time.
        let tracks = speeds
            .par_iter()
            .map(|&speed| {
                let hashes = if speed == 1.0 {
                    print.fingerprint(&self.samples)
                } else {
                    print.fingerprint(&undo_speed(&self.samples, speed))
                };
                AudioTrack {
                    speed,
                    start_s,
                    hashes: hashes.hashes,
                    quality: hashes.quality,
                }
            })
            .collect();
        Some(AudioPrint {
            codec: self.codec,
            seconds: self.samples.len() as f64 / f64::from(SAMPLE_RATE),
            tracks,
        })
    }
}
