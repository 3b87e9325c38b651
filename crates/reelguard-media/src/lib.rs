//! Turns a video file into a sequence of timestamped perceptual frame hashes.
//!
//! FFmpeg (through `ffmpeg-next`, against the system libraries) demuxes and decodes; frames are
//! *sampled by timestamp* at a fixed rate, and only sampled frames are converted by swscale,
//! straight from the decoder's planes to a small grey analysis image. Each chunk of a few
//! seconds of samples goes through content-region detection ([`region`]), every sample is cut to
//! its region, box-filtered to 32x32 and hashed by `reelguard-hash`.
//!
//! The decision that shapes this crate: **decoding is the cost, so everything else must hide
//! under it.** The decoder runs with `skip_loop_filter` (deblocking changes nothing a 32x32
//! thumbnail can see), non-reference frames that sampling will not keep are not decoded at all
//! (`skip`), swscale touches only the sampled frames, and the keyframe-only mode
//! never hands the decoder a non-key packet at all, so a suspect can be triaged an order of
//! magnitude faster than it plays.
//!
//! The same pass decodes the best audio stream, when asked, into sub-fingerprints
//! ([`AudioPrint`], module `audio`): a second signal from packets the demuxer reads anyway.
//!
//! The same bounded open also serves [`extract_still`]: the frame displayed at a timestamp, as
//! a small RGB image for reviewers' side-by-side evidence (and [`encode_jpeg`] to ship it).
//!
//! Untrusted input is the normal case here (crawlers submit whatever they find), so every file
//! is bounded in pixels, duration and wall-clock decode time ([`Limits`]), read only as one of
//! an allow-list of containers ([`Demuxers`]), and every way a file can fail is a
//! [`MediaError`] variant that names the file. Files are read through an already-open
//! descriptor ([`fingerprint_fd`], [`extract_still_fd`]) so that a sandboxed worker process
//! (`reelguard-sandbox`), which may open nothing, runs exactly this code; [`Decoder`] is the
//! seam through which callers pick in-process ([`InProcess`]) or sandboxed decoding.
#![deny(missing_docs)]

mod allow;
mod audio;
mod decode;
mod open;
pub mod region;
mod skip;
mod still;
pub mod thumb;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;
use reelguard_hash::FrameHash;
use serde::{Deserialize, Serialize};

pub use allow::Demuxers;
pub use audio::{AudioPrint, AudioTrack, MAX_AUDIO_S, MAX_AUDIO_SPEEDS};
pub use decode::{fingerprint_fd, fingerprint_file};
pub use open::open_nonblocking;
pub use region::{Region, RegionKind};
pub use still::{encode_jpeg, extract_still, extract_still_fd};

/// Sets FFmpeg up (once per process; later calls do nothing). Decoding does this by itself;
/// a sandboxed worker calls it before its seccomp filter forbids what the setup may touch.
pub fn init() {
    decode::init_ffmpeg();
}

/// The `cargo fuzz` entry point (`fuzz/fuzz_targets/media_headers.rs`) for the parsers of
/// untrusted bytes this crate owns outside FFmpeg: image headers (read to refuse a huge
/// picture before any decoder runs) and allow-list names. Returns what was understood, so the
/// work cannot be optimised away. Not meant for other callers.
#[doc(hidden)]
pub fn fuzz_headers(data: &[u8]) -> usize {
    let size = allow::image_dimensions(data).map_or(0, |(w, h)| (w as u64 * h as u64) as usize);
    let names = std::str::from_utf8(data)
        .ok()
        .and_then(|text| Demuxers::parse(text).ok())
        .map_or(0, |set| {
            set.to_string().len() + set.ffmpeg_whitelist().len()
        });
    size.wrapping_add(names)
}

/// Which frames the decoder is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeMode {
    /// Every packet is decoded; frames are sampled at [`Options::sample_fps`].
    Full,
    /// Only key-frame packets reach the decoder: the fast first pass for suspects.
    Keyframes,
}

/// Bounds that keep one hostile file from taking the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest accepted frame, in pixels (width x height).
    pub max_pixels: u64,
    /// Longest accepted declared (or decoded) duration.
    pub max_duration: Duration,
    /// Wall-clock budget for opening and decoding one file.
    pub max_decode_time: Duration,
    /// Containers a file may be read as; anything else is refused before FFmpeg parses
    /// more than the probe prefix.
    pub demuxers: Demuxers,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // 4096x2304 (the largest 16:9 "4K"), so 4096x4096 and up are refused before decoding.
            max_pixels: 4096 * 2304,
            // A full-series compilation runs a few hours at most.
            max_duration: Duration::from_secs(6 * 3600),
            max_decode_time: Duration::from_secs(30 * 60),
            demuxers: Demuxers::ALL,
        }
    }
}

/// How to fingerprint a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Frames sampled per second of video in [`DecodeMode::Full`] (and the most taken per
    /// second in [`DecodeMode::Keyframes`]).
    pub sample_fps: f64,
    /// Which packets are decoded.
    pub mode: DecodeMode,
    /// FFmpeg decoder threads for this file; 1 when files are fingerprinted in parallel.
    pub decoder_threads: usize,
    /// Skip the in-loop deblocking filter (H.264/HEVC). It sharpens block edges a 32x32
    /// thumbnail cannot see, and costs ~20% of decode time.
    pub skip_loop_filter: bool,
    /// Let the decoder drop non-reference frames that sampling will not keep (full mode; see
    /// the `skip` module). The sampled frames and their hashes are the same either way.
    pub skip_unsampled: bool,
    /// Also look for a picture-in-picture window and hash it as a second probe
    /// ([`Fingerprint::inset_frames`]). For suspects; registered episodes are whole frames.
    pub detect_insets: bool,
    /// Bounds on input.
    pub limits: Limits,
    /// Also decode the best audio stream in the same pass and fingerprint it once per speed
    /// listed (`reelguard_audio`; 1 = as it is, others undo a plain speed-up); empty: no
    /// audio is decoded at all (the key-frame pass).
    pub audio_speeds: Vec<f64>,
}

/// Default sampling rate. At 5 fps any suspect frame is within 0.1 s of a reference sample;
/// measured on the fixtures sampled at 10 fps, frames 0.1 s apart differ by a median of 2 bits
/// (90th percentile 12), well inside the match distance. 5 fps keeps a 2-minute episode at
/// 600 hashes (7.8 KB of frame records).
pub const DEFAULT_SAMPLE_FPS: f64 = 5.0;

impl Default for Options {
    fn default() -> Self {
        Options {
            sample_fps: DEFAULT_SAMPLE_FPS,
            mode: DecodeMode::Full,
            decoder_threads: 1,
            skip_loop_filter: true,
            skip_unsampled: true,
            detect_insets: false,
            limits: Limits::default(),
            audio_speeds: vec![1.0],
        }
    }
}

/// One sampled frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampledFrame {
    /// Presentation time in seconds from the start of the video stream.
    pub t: f64,
    /// pHash of the frame's content region.
    pub hash: u64,
    /// pHash of the mirrored content region.
    pub mirrored: u64,
    /// Structure in the frame, 0–255 (see `reelguard_hash::MIN_USEFUL_QUALITY`).
    pub quality: u8,
}

impl SampledFrame {
    fn new(t: f64, hash: FrameHash) -> Self {
        SampledFrame {
            t,
            hash: hash.hash,
            mirrored: hash.mirrored,
            quality: hash.quality,
        }
    }
}

/// The content region found for a span of the video, in source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegionSpan {
    /// First sample time the region applies to.
    pub start_t: f64,
    /// Last sample time the region applies to.
    pub end_t: f64,
    /// The region.
    pub region: Region,
}

/// What decoding cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DecodeStats {
    /// Frames the decoder produced.
    pub frames_decoded: u64,
    /// Packets the decoder was allowed to drop as unsampled non-reference frames (it drops
    /// those that no frame refers to).
    pub packets_skippable: u64,
    /// Packets that failed to decode (concealed by FFmpeg or dropped).
    pub packets_failed: u64,
    /// Wall-clock seconds from open to the last hash.
    pub seconds: f64,
}

/// A file reduced to what the matcher needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Seconds of video (declared by the container, or decoded when it declares none).
    pub duration_s: f64,
    /// Source frame width.
    pub width: u32,
    /// Source frame height.
    pub height: u32,
    /// Name of the video codec.
    pub codec: String,
    /// Which packets were decoded.
    pub mode: DecodeMode,
    /// Samples in time order.
    pub frames: Vec<SampledFrame>,
    /// Content regions in time order, one per analysis chunk.
    pub regions: Vec<RegionSpan>,
    /// Samples of picture-in-picture window candidates, one sequence per window that stays in
    /// place (a track across chunks).
    pub inset_frames: Vec<Vec<SampledFrame>>,
    /// Where picture-in-picture windows were found.
    pub insets: Vec<RegionSpan>,
    /// The sound's sub-fingerprints, when audio was asked for and the file has a decodable
    /// audio stream (absent in fingerprints from before audio existed).
    #[serde(default)]
    pub audio: Option<AudioPrint>,
    /// Cost.
    pub stats: DecodeStats,
}

impl Fingerprint {
    /// The region that covers most of the video (what a report shows as "the" region).
    pub fn main_region(&self) -> Region {
        let mut best: Option<(Region, f64)> = None;
        for span in &self.regions {
            let covered: f64 = self
                .regions
                .iter()
                .filter(|other| other.region == span.region)
                .map(|other| other.end_t - other.start_t + 1e-3)
                .sum();
            if best.is_none_or(|(_, c)| covered > c) {
                best = Some((span.region, covered));
            }
        }
        best.map_or(Region::full(self.width, self.height), |(r, _)| r)
    }

    /// Decode speed in multiples of real time.
    pub fn realtime_factor(&self) -> f64 {
        if self.stats.seconds > 0.0 {
            self.duration_s / self.stats.seconds
        } else {
            0.0
        }
    }
}

/// Why a file could not be fingerprinted (or a still extracted). Every variant names the file
/// except [`MediaError::Encode`], which is about an image in memory.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file has no bytes.
    #[error("{}: file is empty (0 bytes)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be opened or read.
    #[error("{}: cannot read file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// FFmpeg does not recognise the bytes as a media container.
    #[error("{}: not a media file FFmpeg can read ({reason})", path.display())]
    Unrecognized {
        /// The file.
        path: PathBuf,
        /// FFmpeg's reason.
        reason: String,
    },
    /// A media file without a video stream (audio-only, subtitles, cover art only).
    #[error("{}: no video stream (audio-only or data file)", path.display())]
    NoVideoStream {
        /// The file.
        path: PathBuf,
    },
    /// The video codec has no decoder in this FFmpeg build.
    #[error("{}: no decoder for video codec {codec}", path.display())]
    NoDecoder {
        /// The file.
        path: PathBuf,
        /// Codec name.
        codec: String,
    },
    /// Frames larger than [`Limits::max_pixels`].
    #[error("{}: frame size {width}x{height} exceeds the limit of {max_pixels} pixels", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The limit.
        max_pixels: u64,
    },
    /// Longer than [`Limits::max_duration`].
    #[error("{}: duration {duration_s:.0} s exceeds the limit of {max_s:.0} s", path.display())]
    TooLong {
        /// The file.
        path: PathBuf,
        /// Declared or decoded duration.
        duration_s: f64,
        /// The limit.
        max_s: f64,
    },
    /// Decoding did not finish within [`Limits::max_decode_time`].
    #[error("{}: decoding exceeded the time limit of {limit_s:.0} s", path.display())]
    Timeout {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit_s: f64,
    },
    /// The video stops well before the duration its container declares.
    #[error("{}: truncated: video ends at {decoded_s:.1} s of the {declared_s:.1} s declared", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Last decoded timestamp.
        decoded_s: f64,
        /// Declared duration.
        declared_s: f64,
    },
    /// Too much of the video data fails to decode.
    #[error("{}: corrupt video data: {failed} of {sent} packets failed to decode", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Packets that failed.
        failed: u64,
        /// Packets sent to the decoder.
        sent: u64,
    },
    /// Fewer than two frames: a still image, not a video.
    #[error("{}: not a video: {frames} frame(s) decoded", path.display())]
    NotAVideo {
        /// The file.
        path: PathBuf,
        /// Frames decoded.
        frames: u64,
    },
    /// Any other FFmpeg failure.
    #[error("{}: FFmpeg failed while {stage}: {reason}", path.display())]
    Ffmpeg {
        /// The file.
        path: PathBuf,
        /// What was being done.
        stage: &'static str,
        /// FFmpeg's message.
        reason: String,
    },
    /// A still or animated image (PNG, JPEG, GIF, WebP...), not a video container.
    #[error("{}: not a video: a {format} image", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// FFmpeg's name for the image format.
        format: String,
    },
    /// The decoding worker process died of a signal (a decoder crash, most likely caused by
    /// this file).
    #[error("{}: the decoder crashed (signal {signal}){detail}", path.display())]
    Crashed {
        /// The file.
        path: PathBuf,
        /// The signal that ended the worker.
        signal: i32,
        /// What the worker said last, if anything (starts with ": " when present).
        detail: String,
    },
    /// The decoding worker ran out of its address-space limit.
    #[error("{}: decoding exceeded the memory limit of {} MiB", path.display(), limit_bytes >> 20)]
    MemoryLimit {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit_bytes: u64,
    },
    /// The decoding worker ran out of its CPU-time limit.
    #[error("{}: decoding exceeded the CPU-time limit of {limit_s:.0} s", path.display())]
    CpuLimit {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit_s: f64,
    },
    /// The decoding worker could not be started or spoke nonsense: a fault of this machine or
    /// of the worker, not (as far as is known) of the file.
    #[error("{}: decoding worker failed: {reason}", path.display())]
    Worker {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The caller asked for something meaningless (a NaN time, a zero-sized still).
    #[error("{}: invalid request: {reason}", path.display())]
    InvalidRequest {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// An image could not be encoded (no file involved: [`MediaError::path`] is empty).
    #[error("encoding an image failed: {reason}")]
    Encode {
        /// The encoder's message.
        reason: String,
    },
}

impl MediaError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            MediaError::Empty { path }
            | MediaError::Io { path, .. }
            | MediaError::Unrecognized { path, .. }
            | MediaError::NoVideoStream { path }
            | MediaError::NoDecoder { path, .. }
            | MediaError::TooLarge { path, .. }
            | MediaError::TooLong { path, .. }
            | MediaError::Timeout { path, .. }
            | MediaError::Truncated { path, .. }
            | MediaError::Corrupt { path, .. }
            | MediaError::NotAVideo { path, .. }
            | MediaError::Ffmpeg { path, .. }
            | MediaError::Image { path, .. }
            | MediaError::Crashed { path, .. }
            | MediaError::MemoryLimit { path, .. }
            | MediaError::CpuLimit { path, .. }
            | MediaError::Worker { path, .. }
            | MediaError::InvalidRequest { path, .. } => path,
            MediaError::Encode { .. } => Path::new(""),
        }
    }

    /// Whether another attempt could succeed. The file's own faults, and every limit it
    /// hits, are deterministic: retrying the same bytes gives the same answer. I/O and worker
    /// failures are about this machine, not the file.
    pub fn retryable(&self) -> bool {
        matches!(self, MediaError::Io { .. } | MediaError::Worker { .. })
    }

    /// A short stable identifier of the failure kind, for JSON and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            MediaError::Empty { .. } => "empty",
            MediaError::Io { .. } => "io",
            MediaError::Unrecognized { .. } => "unrecognized",
            MediaError::NoVideoStream { .. } => "no_video_stream",
            MediaError::NoDecoder { .. } => "no_decoder",
            MediaError::TooLarge { .. } => "too_large",
            MediaError::TooLong { .. } => "too_long",
            MediaError::Timeout { .. } => "timeout",
            MediaError::Truncated { .. } => "truncated",
            MediaError::Corrupt { .. } => "corrupt",
            MediaError::NotAVideo { .. } => "not_a_video",
            MediaError::Ffmpeg { .. } => "ffmpeg",
            MediaError::Image { .. } => "not_a_video",
            MediaError::Crashed { .. } => "crashed",
            MediaError::MemoryLimit { .. } => "memory_limit",
            MediaError::CpuLimit { .. } => "cpu_limit",
            MediaError::Worker { .. } => "worker",
            MediaError::InvalidRequest { .. } => "invalid_request",
            MediaError::Encode { .. } => "encode",
        }
    }
}

/// Progress of one file, reported while it decodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    /// The file was opened; its declared duration (0 when unknown).
    Opened {
        /// Declared seconds.
        duration_s: f64,
    },
    /// More video was decoded.
    Decoded {
        /// Seconds of video decoded since the last report.
        seconds: f64,
    },
}

/// Fingerprints many files on the rayon pool, one decoder thread per file so the number of
/// busy threads never exceeds the pool (sized to the cores). Results keep the input order.
pub fn fingerprint_files(
    paths: &[PathBuf],
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<Result<Fingerprint, MediaError>> {
    let per_file = Options {
        decoder_threads: if paths.len() == 1 {
            rayon::current_num_threads()
        } else {
            1
        },
        ..options.clone()
    };
    paths
        .par_iter()
        .with_max_len(1)
        .map(|path| fingerprint_file(path, &per_file, progress))
        .collect()
}

/// The seam between callers and decoding: in this process ([`InProcess`]) or in a sandboxed
/// worker process (`reelguard_sandbox::Sandbox`). Both answer with the same [`MediaError`]
/// kinds; a worker adds `crashed`, `memory_limit`, `cpu_limit` and `worker`.
pub trait Decoder: Send + Sync {
    /// [`fingerprint_file`].
    fn fingerprint(
        &self,
        path: &Path,
        options: &Options,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Fingerprint, MediaError>;

    /// [`extract_still`].
    fn still(
        &self,
        path: &Path,
        at_s: f64,
        max_side: u32,
        limits: &Limits,
    ) -> Result<image::RgbImage, MediaError>;
}

/// Decoding in the calling process: for the CLI, tests and trusted files.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl Decoder for InProcess {
    fn fingerprint(
        &self,
        path: &Path,
        options: &Options,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Fingerprint, MediaError> {
        fingerprint_file(path, options, progress)
    }

    fn still(
        &self,
        path: &Path,
        at_s: f64,
        max_side: u32,
        limits: &Limits,
    ) -> Result<image::RgbImage, MediaError> {
        extract_still(path, at_s, max_side, limits)
    }
}
