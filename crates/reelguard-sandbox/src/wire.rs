//! Plain-data mirrors of `reelguard_media`'s types for the worker protocol: options going in,
//! errors, progress and stills coming out.
//!
//! Mirrors rather than `Serialize` on the media types themselves, because the wire carries
//! less than the types: a worker knows its file only as a descriptor, so errors travel
//! without a path and the parent puts the real name back ([`WireError::into_media`]).

use std::path::Path;
use std::time::Duration;

use reelguard_media::{DecodeMode, Demuxers, Limits, MediaError, Options, Progress};
use serde::{Deserialize, Serialize};

/// [`Options`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireOptions {
    sample_fps: f64,
    mode: DecodeMode,
    decoder_threads: usize,
    skip_loop_filter: bool,
    skip_unsampled: bool,
    detect_insets: bool,
    max_pixels: u64,
    max_duration_s: f64,
    max_decode_time_s: f64,
    demuxers: u16,
    /// Speeds the audio is fingerprinted at (at most `MAX_AUDIO_SPEEDS` are used).
    #[serde(default)]
    audio_speeds: Vec<f64>,
}

/// Seconds from the wire as a duration, whatever a hostile or buggy peer sent.
fn duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)
}

impl WireOptions {
    /// The options' wire form.
    pub fn new(options: &Options) -> WireOptions {
        WireOptions {
            sample_fps: options.sample_fps,
            mode: options.mode,
            decoder_threads: options.decoder_threads,
            skip_loop_filter: options.skip_loop_filter,
            skip_unsampled: options.skip_unsampled,
            detect_insets: options.detect_insets,
            max_pixels: options.limits.max_pixels,
            max_duration_s: options.limits.max_duration.as_secs_f64(),
            max_decode_time_s: options.limits.max_decode_time.as_secs_f64(),
            demuxers: options.limits.demuxers.bits(),
            audio_speeds: options.audio_speeds.clone(),
        }
    }

    /// Back to [`Options`]. Decoder threads are capped: the worker's address space is sized
    /// for a few, not for whatever was asked.
    pub fn options(&self) -> Options {
        Options {
            sample_fps: self.sample_fps,
            mode: self.mode,
            decoder_threads: self.decoder_threads.clamp(1, 16),
            skip_loop_filter: self.skip_loop_filter,
            skip_unsampled: self.skip_unsampled,
            detect_insets: self.detect_insets,
            limits: Limits {
                max_pixels: self.max_pixels,
                max_duration: duration(self.max_duration_s),
                max_decode_time: duration(self.max_decode_time_s),
                demuxers: Demuxers::from_bits(self.demuxers),
            },
            audio_speeds: self
                .audio_speeds
                .iter()
                .copied()
                .take(reelguard_media::MAX_AUDIO_SPEEDS)
                .collect(),
        }
    }
}

/// [`Progress`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum WireProgress {
    /// [`Progress::Opened`].
    Opened(f64),
    /// [`Progress::Decoded`].
    Decoded(f64),
}

impl WireProgress {
    /// The wire form.
    pub fn new(progress: Progress) -> WireProgress {
        match progress {
            Progress::Opened { duration_s } => WireProgress::Opened(duration_s),
            Progress::Decoded { seconds } => WireProgress::Decoded(seconds),
        }
    }

    /// Back to [`Progress`].
    pub fn progress(self) -> Progress {
        match self {
            WireProgress::Opened(duration_s) => Progress::Opened { duration_s },
            WireProgress::Decoded(seconds) => Progress::Decoded { seconds },
        }
    }
}

/// An RGB still on the wire: width and height (u32 LE each), then `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct WireStill {
    /// The image.
    pub image: image::RgbImage,
}

impl WireStill {
    /// Header and pixels.
    pub fn encode(image: &image::RgbImage) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + image.as_raw().len());
        out.extend_from_slice(&image.width().to_le_bytes());
        out.extend_from_slice(&image.height().to_le_bytes());
        out.extend_from_slice(image.as_raw());
        out
    }

    /// Parses header and pixels, refusing any size mismatch.
    pub fn decode(payload: &[u8]) -> Result<WireStill, String> {
        let (head, pixels) = payload
            .split_first_chunk::<8>()
            .ok_or("shorter than its header")?;
        let width = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let height = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        // Checked: u32::MAX squared times three does not fit in 64 bits (found by fuzzing).
        let expected = (width as u64)
            .checked_mul(height as u64)
            .and_then(|n| n.checked_mul(3));
        if expected != Some(pixels.len() as u64) || width == 0 || height == 0 {
            return Err(format!(
                "{width}x{height} needs {} bytes, got {}",
                expected.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
                pixels.len()
            ));
        }
        image::RgbImage::from_raw(width, height, pixels.to_vec())
            .map(|image| WireStill { image })
            .ok_or_else(|| "image buffer refused".to_string())
    }
}

/// [`MediaError`] without its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WireError {
    Empty,
    Io {
        os_code: Option<i32>,
        message: String,
    },
    Unrecognized {
        reason: String,
    },
    NoVideoStream,
    NoDecoder {
        codec: String,
    },
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    TooLong {
        duration_s: f64,
        max_s: f64,
    },
    Timeout {
        limit_s: f64,
    },
    Truncated {
        decoded_s: f64,
        declared_s: f64,
    },
    Corrupt {
        failed: u64,
        sent: u64,
    },
    NotAVideo {
        frames: u64,
    },
    Ffmpeg {
        stage: String,
        reason: String,
    },
    Image {
        format: String,
    },
    Crashed {
        signal: i32,
        detail: String,
    },
    MemoryLimit {
        limit_bytes: u64,
    },
    CpuLimit {
        limit_s: f64,
    },
    Worker {
        reason: String,
    },
    InvalidRequest {
        reason: String,
    },
    Encode {
        reason: String,
    },
}

/// `MediaError::Ffmpeg` names its stage with a static string; the wire carries any string,
/// so only the stages the media crate uses come back verbatim.
fn known_stage(stage: &str) -> &'static str {
    const STAGES: &[&str] = &[
        "opening the decoder",
        "reading codec parameters",
        "reading the video stream",
        "scaling a frame",
        "scaling the still",
    ];
    STAGES
        .iter()
        .find(|s| **s == stage)
        .copied()
        .unwrap_or("decoding in the worker")
}

impl WireError {
    /// The wire form of `error`. FFmpeg's out-of-memory answers become [`WireError::MemoryLimit`]:
    /// in a worker, that is what running out of address space looks like from C.
    pub fn new(error: &MediaError, memory_limit: u64) -> WireError {
        match error {
            MediaError::Empty { .. } => WireError::Empty,
            MediaError::Io { source, .. } => WireError::Io {
                os_code: source.raw_os_error(),
                message: source.to_string(),
            },
            MediaError::Unrecognized { reason, .. } | MediaError::Ffmpeg { reason, .. }
                if reason.contains("Cannot allocate memory") =>
            {
                WireError::MemoryLimit {
                    limit_bytes: memory_limit,
                }
            }
            MediaError::Unrecognized { reason, .. } => WireError::Unrecognized {
                reason: reason.clone(),
            },
            MediaError::NoVideoStream { .. } => WireError::NoVideoStream,
            MediaError::NoDecoder { codec, .. } => WireError::NoDecoder {
                codec: codec.clone(),
            },
            MediaError::TooLarge {
                width,
                height,
                max_pixels,
                ..
            } => WireError::TooLarge {
                width: *width,
                height: *height,
                max_pixels: *max_pixels,
            },
            MediaError::TooLong {
                duration_s, max_s, ..
            } => WireError::TooLong {
                duration_s: *duration_s,
                max_s: *max_s,
            },
            MediaError::Timeout { limit_s, .. } => WireError::Timeout { limit_s: *limit_s },
            MediaError::Truncated {
                decoded_s,
                declared_s,
                ..
            } => WireError::Truncated {
                decoded_s: *decoded_s,
                declared_s: *declared_s,
            },
            MediaError::Corrupt { failed, sent, .. } => WireError::Corrupt {
                failed: *failed,
                sent: *sent,
            },
            MediaError::NotAVideo { frames, .. } => WireError::NotAVideo { frames: *frames },
            MediaError::Ffmpeg { stage, reason, .. } => WireError::Ffmpeg {
                stage: stage.to_string(),
                reason: reason.clone(),
            },
            MediaError::Image { format, .. } => WireError::Image {
                format: format.clone(),
            },
            MediaError::Crashed { signal, detail, .. } => WireError::Crashed {
                signal: *signal,
                detail: detail.clone(),
            },
            MediaError::MemoryLimit { limit_bytes, .. } => WireError::MemoryLimit {
                limit_bytes: *limit_bytes,
            },
            MediaError::CpuLimit { limit_s, .. } => WireError::CpuLimit { limit_s: *limit_s },
            MediaError::Worker { reason, .. } => WireError::Worker {
                reason: reason.clone(),
            },
            MediaError::InvalidRequest { reason, .. } => WireError::InvalidRequest {
                reason: reason.clone(),
            },
            // Not a file's error, and not `#[non_exhaustive]`-proof: anything new is reported
            // by its message.
            other => WireError::Worker {
                reason: other.to_string(),
            },
        }
    }

    /// The [`MediaError`] about `path`.
    pub fn into_media(self, path: &Path) -> MediaError {
        let path = path.to_path_buf();
        match self {
            WireError::Empty => MediaError::Empty { path },
            WireError::Io { os_code, message } => MediaError::Io {
                path,
                source: match os_code {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::other(message),
                },
            },
            WireError::Unrecognized { reason } => MediaError::Unrecognized { path, reason },
            WireError::NoVideoStream => MediaError::NoVideoStream { path },
            WireError::NoDecoder { codec } => MediaError::NoDecoder { path, codec },
            WireError::TooLarge {
                width,
                height,
                max_pixels,
            } => MediaError::TooLarge {
                path,
                width,
                height,
                max_pixels,
            },
            WireError::TooLong { duration_s, max_s } => MediaError::TooLong {
                path,
                duration_s,
                max_s,
            },
            WireError::Timeout { limit_s } => MediaError::Timeout { path, limit_s },
            WireError::Truncated {
                decoded_s,
                declared_s,
            } => MediaError::Truncated {
                path,
                decoded_s,
                declared_s,
            },
            WireError::Corrupt { failed, sent } => MediaError::Corrupt { path, failed, sent },
            WireError::NotAVideo { frames } => MediaError::NotAVideo { path, frames },
            WireError::Ffmpeg { stage, reason } => MediaError::Ffmpeg {
                path,
                stage: known_stage(&stage),
                reason,
            },
            WireError::Image { format } => MediaError::Image { path, format },
            WireError::Crashed { signal, detail } => MediaError::Crashed {
                path,
                signal,
                detail,
            },
            WireError::MemoryLimit { limit_bytes } => MediaError::MemoryLimit { path, limit_bytes },
            WireError::CpuLimit { limit_s } => MediaError::CpuLimit { path, limit_s },
            WireError::Worker { reason } => MediaError::Worker { path, reason },
            WireError::InvalidRequest { reason } => MediaError::InvalidRequest { path, reason },
            WireError::Encode { reason } => MediaError::Encode { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_survive_the_wire_and_hostile_durations_become_zero() {
        let options = Options {
            decoder_threads: 3,
            ..Options::default()
        };
        let back = WireOptions::new(&options).options();
        assert_eq!(back, options);
        let mut wire = WireOptions::new(&options);
        wire.max_decode_time_s = f64::NAN;
        wire.decoder_threads = 1 << 40;
        let back = wire.options();
        assert_eq!(back.limits.max_decode_time, Duration::ZERO);
        assert_eq!(back.decoder_threads, 16);
    }

    #[test]
    fn errors_keep_their_kind_and_get_the_parents_path() {
        let error = MediaError::TooLarge {
            path: "fd".into(),
            width: 8192,
            height: 8192,
            max_pixels: 100,
        };
        let json = serde_json::to_vec(&WireError::new(&error, 0)).expect("json");
        let back: WireError = serde_json::from_slice(&json).expect("parse");
        let media = back.into_media(Path::new("/ingest/a.mp4"));
        assert_eq!(media.kind(), "too_large");
        assert_eq!(media.path(), Path::new("/ingest/a.mp4"));
        let oom = MediaError::Ffmpeg {
            path: "fd".into(),
            stage: "opening the decoder",
            reason: "Cannot allocate memory".into(),
        };
        assert_eq!(
            WireError::new(&oom, 7).into_media(Path::new("x")).kind(),
            "memory_limit"
        );
    }

    #[test]
    fn stills_must_carry_exactly_their_pixels() {
        let image = image::RgbImage::from_pixel(3, 2, image::Rgb([1, 2, 3]));
        let bytes = WireStill::encode(&image);
        assert_eq!(WireStill::decode(&bytes).map(|s| s.image), Ok(image));
        assert!(WireStill::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(WireStill::decode(&huge).is_err());
        assert!(WireStill::decode(&[0; 7]).is_err());
    }
}
