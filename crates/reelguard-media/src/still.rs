//! Evidence stills: the frame a viewer sees at a given time, as a small RGB image.
//!
//! Reviewers compare a suspect frame with the registered frame at the matched timestamp, so a
//! still must be *the displayed frame* — the last frame whose timestamp is at or before the
//! requested time — not merely the nearest key frame. Extraction seeks backward to a key frame,
//! then decodes forward to the requested time: the cost is one GOP at most, never the whole
//! file. Files are opened through the same bounded path as fingerprinting
//! ([`crate::open::open_video`]), so a hostile file fails here with the same typed
//! [`MediaError`] it would fail with there.

use std::path::Path;
use std::time::Instant;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::color;
use ffmpeg::util::frame::Video as VideoFrame;
use ffmpeg::Rational;
use ffmpeg_next as ffmpeg;
use image::RgbImage;

use crate::decode::{seconds, seconds_since, CORRUPT_FRACTION, MAX_CONSECUTIVE_READ_ERRORS};
use crate::open::{check_size, open_video, timeout_error, DecoderSetup, OpenedVideo, Source};
use crate::{Limits, MediaError};

/// Re-seeks allowed when a seek lands past the requested time (see [`extract_still`]).
const MAX_RESEEKS: u32 = 4;
/// Timestamps within this many seconds of the requested time count as "at" it: container
/// timestamps are rounded to their time base, callers' seconds to whatever they printed.
const TIME_EPSILON_S: f64 = 1e-4;

/// The frame displayed at `at_s` seconds from the start of the video stream, as RGB, scaled
/// (never up) so that its longer *display* side — sample aspect ratio applied — is at most
/// `max_side` pixels.
///
/// * The frame is the last one whose timestamp is ≤ `at_s`; if `at_s` precedes the first frame,
///   the first frame; past the end, the last frame. `+inf` is past the end.
/// * Negative `at_s` is clamped to 0 (the first frame), mirroring "before the first frame";
///   NaN and `max_side == 0` are refused with [`MediaError::InvalidRequest`].
/// * Decodes from the key frame before `at_s` only. Demuxers do not all seek alike: MP4 and
///   Matroska land on the key frame displayed at or before the time, FLV can land on a key
///   frame displayed just after it, MPEG-TS on any packet (possibly after the last key
///   frame). Packets before the first key packet after a seek are dropped, and when the first
///   frame decoded is past `at_s` (or none is), the still seeks again 1, 2, 4, 8 s earlier,
///   then decodes from the start.
/// * Deblocking stays on (unlike fingerprinting): these pictures are for human eyes.
/// * The same [`Limits`] and open-time errors as [`crate::fingerprint_file`] (empty,
///   unreadable, unrecognised, no video stream, no decoder, too large, too long, timeout), and
///   [`MediaError::Corrupt`] when more than a quarter of the packets decoded *for this still*
///   fail or none decodes. Judgements that need the whole file are not made: a truncated file
///   gives stills up to where it stops (past it, its last decodable frame), and a file of one
///   picture gives that picture (a still is all that is asked for).
pub fn extract_still(
    path: &Path,
    at_s: f64,
    max_side: u32,
    limits: &Limits,
) -> Result<RgbImage, MediaError> {
    check_request(path, at_s, max_side)?;
    still_from(&Source::open(path)?, at_s, max_side, limits)
}

/// [`extract_still`] from an already-open file (what a sandboxed worker is handed); `name`
/// only labels errors.
pub fn extract_still_fd(
    file: std::fs::File,
    name: &Path,
    at_s: f64,
    max_side: u32,
    limits: &Limits,
) -> Result<RgbImage, MediaError> {
    check_request(name, at_s, max_side)?;
    still_from(&Source::from_file(file, name)?, at_s, max_side, limits)
}

fn check_request(path: &Path, at_s: f64, max_side: u32) -> Result<(), MediaError> {
    if at_s.is_nan() {
        return Err(MediaError::InvalidRequest {
            path: path.to_path_buf(),
            reason: "still time is NaN".to_string(),
        });
    }
    if max_side == 0 {
        return Err(MediaError::InvalidRequest {
            path: path.to_path_buf(),
            reason: "max_side is 0".to_string(),
        });
    }
    Ok(())
}

fn still_from(
    source: &Source,
    at_s: f64,
    max_side: u32,
    limits: &Limits,
) -> Result<RgbImage, MediaError> {
    let path = source.path.as_path();
    let at_s = at_s.max(0.0);
    let deadline = crate::open::deadline(Instant::now(), limits.max_decode_time);
    let setup = DecoderSetup {
        // One picture is wanted: frame threading would only add its start-up latency.
        threads: 1,
        skip_loop_filter: false,
        keyframes_only: false,
    };
    let mut video = open_video(source, limits, deadline, &setup)?;
    let mut search = FrameSearch::new(path, limits, deadline, at_s);

    // Seek bounds are in AV_TIME_BASE (microseconds), absolute like the container's
    // timestamps. Past the declared end there is nothing to seek to: aim at the end.
    let start_us = seconds(video.start_ts, video.time_base) * 1e6;
    let seek_s = if video.declared_s > 0.0 {
        at_s.min(video.declared_s)
    } else {
        at_s
    };
    // `None`: decode from the current position of a freshly opened file (its start).
    let mut limit_us = (at_s > 0.0).then_some(start_us + seek_s * 1e6);
    let mut backoff_us = 1e6;
    let mut attempts = 0;
    loop {
        let seeked = match limit_us {
            Some(limit) if limit > start_us => {
                if attempts > 0 {
                    video.decoder.flush();
                }
                seek_to(&mut video, limit)
            }
            _ => false,
        };
        if !seeked {
            if attempts > 0 || limit_us.is_some() {
                // A failed seek may leave the demuxer poisoned; earlier attempts consumed it.
                video = open_video(source, limits, deadline, &setup)?;
            }
            limit_us = None;
        }
        search.restart(seeked);
        let landed = match search.run(&mut video)? {
            Outcome::Done => break,
            Outcome::Missed { landed_us } => landed_us,
        };
        // The seek landed past `at_s` (a key frame displayed after it, or no key frame at all
        // before the end): back off further each time, and in the end decode from the start.
        let Some(limit) = limit_us else { break };
        attempts += 1;
        limit_us =
            (attempts <= MAX_RESEEKS).then(|| landed.map_or(limit, |l| l.min(limit)) - backoff_us);
        backoff_us *= 2.0;
    }
    let frame = search.finish()?;
    to_rgb(path, &frame, video.stream_aspect, max_side)
}

/// Seeks to the last key frame at or before `limit_us`; false when the demuxer refused.
fn seek_to(video: &mut OpenedVideo, limit_us: f64) -> bool {
    // Saturating float-to-int casts: an infinite time is "the end".
    let limit = limit_us.floor() as i64;
    // ffmpeg-next passes a range's end as `max_ts`, which avformat_seek_file treats as
    // inclusive: `..limit` means "at or before `limit`", a backward seek.
    video.input.seek(limit, ..limit).is_ok()
}

enum Outcome {
    /// The still's frame is known (or the stream ended after frames at or before `at_s`).
    Done,
    /// After a seek, the first frame is already past `at_s`, or no frame was decoded at all.
    Missed {
        /// Decode time of the first key packet read after the seek (of the first packet
        /// when there was no key packet), in microseconds.
        landed_us: Option<f64>,
    },
}

/// Decodes forward keeping the latest frame at or before the requested time.
struct FrameSearch<'a> {
    path: &'a Path,
    limits: &'a Limits,
    deadline: Instant,
    at_s: f64,
    /// The latest frame at or before `at_s` (or the first frame, once one past it is seen).
    best: VideoFrame,
    have_best: bool,
    scratch: VideoFrame,
    packets_sent: u64,
    packets_failed: u64,
    frames_decoded: u64,
    /// Whether the current attempt started with a seek.
    seeked: bool,
    /// Whether a key packet reached the decoder since the seek.
    seen_key: bool,
    /// Where the latest seek landed, in microseconds (see [`Outcome::Missed`]).
    landed_us: Option<f64>,
}

impl<'a> FrameSearch<'a> {
    fn new(path: &'a Path, limits: &'a Limits, deadline: Instant, at_s: f64) -> Self {
        FrameSearch {
            path,
            limits,
            deadline,
            at_s,
            best: VideoFrame::empty(),
            have_best: false,
            scratch: VideoFrame::empty(),
            packets_sent: 0,
            packets_failed: 0,
            frames_decoded: 0,
            seeked: false,
            seen_key: false,
            landed_us: None,
        }
    }

    /// Forgets the previous attempt's frame; `seeked` says whether this one starts at a seek.
    fn restart(&mut self, seeked: bool) {
        self.have_best = false;
        self.seeked = seeked;
        self.seen_key = false;
        self.landed_us = None;
    }

    /// Reads and decodes until the frame is decided.
    fn run(&mut self, video: &mut OpenedVideo) -> Result<Outcome, MediaError> {
        let mut packet = ffmpeg::Packet::empty();
        let mut consecutive_read_errors = 0u32;
        let mut draining = false;
        loop {
            if Instant::now() > self.deadline {
                return Err(timeout_error(self.path, self.limits));
            }
            if !draining {
                match packet.read(&mut video.input) {
                    Ok(()) => {
                        consecutive_read_errors = 0;
                        if packet.stream() != video.stream_index {
                            continue;
                        }
                        if self.seeked && !self.seen_key {
                            let ts = packet.dts().or(packet.pts());
                            let at_us = ts.map(|ts| seconds(ts, video.time_base) * 1e6);
                            if !packet.is_key() {
                                // Some demuxers (MPEG-TS) seek to any packet: decoding from
                                // there only yields broken pictures until the next key frame.
                                self.landed_us = self.landed_us.or(at_us);
                                continue;
                            }
                            self.seen_key = true;
                            self.landed_us = at_us.or(self.landed_us);
                        }
                        self.packets_sent += 1;
                        if video.decoder.send_packet(&packet).is_err() {
                            self.packets_failed += 1;
                            continue;
                        }
                    }
                    Err(ffmpeg::Error::Eof) => {
                        draining = true;
                        let _ = video.decoder.send_eof();
                    }
                    Err(ffmpeg::Error::Exit) => {
                        return Err(timeout_error(self.path, self.limits));
                    }
                    Err(_) => {
                        consecutive_read_errors += 1;
                        if consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                            draining = true;
                            let _ = video.decoder.send_eof();
                        }
                        continue;
                    }
                }
            }
            let mut got_frame = false;
            loop {
                match video.decoder.receive_frame(&mut self.scratch) {
                    Ok(()) => {
                        got_frame = true;
                        self.frames_decoded += 1;
                        check_size(
                            self.path,
                            self.scratch.width(),
                            self.scratch.height(),
                            self.limits.max_pixels,
                        )?;
                        // A frame without any timestamp is taken to follow the previous one.
                        let t = self
                            .scratch
                            .timestamp()
                            .map(|ts| seconds_since(ts, video.start_ts, video.time_base));
                        let at_or_before = t.is_none_or(|t| t <= self.at_s + TIME_EPSILON_S);
                        if at_or_before {
                            std::mem::swap(&mut self.best, &mut self.scratch);
                            self.have_best = true;
                        } else if self.have_best {
                            return Ok(Outcome::Done);
                        } else {
                            // Nothing at or before `at_s` in this attempt. Without a seek the
                            // video starts after `at_s`: its first frame is the answer. After
                            // one, the caller seeks earlier and tries again.
                            std::mem::swap(&mut self.best, &mut self.scratch);
                            self.have_best = true;
                            return Ok(if self.seeked {
                                Outcome::Missed {
                                    landed_us: self.landed_us,
                                }
                            } else {
                                Outcome::Done
                            });
                        }
                    }
                    Err(ffmpeg::Error::Eof) => return Ok(self.end_of_stream()),
                    Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                        break
                    }
                    Err(_) => {
                        self.packets_failed += 1;
                        break;
                    }
                }
            }
            if draining && !got_frame {
                return Ok(self.end_of_stream());
            }
        }
    }

    fn end_of_stream(&self) -> Outcome {
        if self.have_best || !self.seeked {
            Outcome::Done
        } else {
            Outcome::Missed {
                landed_us: self.landed_us,
            }
        }
    }

    /// The chosen frame, or why there is none.
    fn finish(self) -> Result<VideoFrame, MediaError> {
        // The fingerprinter's rule, over the packets this still needed: a picture concealed
        // from mostly broken data is not evidence.
        let corrupt = self.packets_failed as f64 > self.packets_sent as f64 * CORRUPT_FRACTION;
        if self.have_best && !corrupt {
            return Ok(self.best);
        }
        let path = self.path.to_path_buf();
        Err(if self.packets_failed > 0 {
            MediaError::Corrupt {
                path,
                failed: self.packets_failed,
                sent: self.packets_sent,
            }
        } else {
            MediaError::NotAVideo {
                path,
                frames: self.frames_decoded,
            }
        })
    }
}

/// Output size: the display size (sample aspect ratio applied) fitted within `max_side`,
/// never enlarged.
fn output_size(width: u32, height: u32, aspect: Rational, max_side: u32) -> (u32, u32) {
    let sar = if aspect.numerator() > 0 && aspect.denominator() > 0 {
        f64::from(aspect)
    } else {
        1.0
    };
    let display_w = (width as f64 * sar).max(1.0);
    let display_h = (height as f64).max(1.0);
    let scale = (max_side as f64 / display_w.max(display_h)).min(1.0);
    (
        ((display_w * scale).round() as u32).max(1),
        ((display_h * scale).round() as u32).max(1),
    )
}

/// Converts a decoded frame to an RGB image with swscale.
fn to_rgb(
    path: &Path,
    frame: &VideoFrame,
    stream_aspect: Rational,
    max_side: u32,
) -> Result<RgbImage, MediaError> {
    let ffmpeg_error = |e: ffmpeg::Error| MediaError::Ffmpeg {
        path: path.to_path_buf(),
        stage: "scaling the still",
        reason: e.to_string(),
    };
    // The container's aspect ratio overrides the bitstream's, as FFmpeg's own tools do.
    let aspect = if stream_aspect.numerator() > 0 {
        stream_aspect
    } else {
        frame.aspect_ratio()
    };
    let (width, height) = (frame.width(), frame.height());
    let (out_w, out_h) = output_size(width, height, aspect, max_side);
    let mut scaler = scaling::Context::get(
        frame.format(),
        width,
        height,
        Pixel::RGB24,
        out_w,
        out_h,
        // Area averaging is the right filter for the large downscales stills are.
        scaling::Flags::AREA | scaling::Flags::ACCURATE_RND,
    )
    .map_err(ffmpeg_error)?;
    apply_colorspace(&mut scaler, frame);
    let mut rgb = VideoFrame::empty();
    scaler.run(frame, &mut rgb).map_err(ffmpeg_error)?;

    let row_bytes = out_w as usize * 3;
    let stride = rgb.stride(0);
    let data = rgb.data(0);
    let mut pixels = Vec::with_capacity(row_bytes * out_h as usize);
    for row in data.chunks(stride.max(1)).take(out_h as usize) {
        pixels.extend_from_slice(&row[..row_bytes.min(row.len())]);
    }
    pixels.resize(row_bytes * out_h as usize, 0);
    RgbImage::from_raw(out_w, out_h, pixels).ok_or_else(|| MediaError::Ffmpeg {
        path: path.to_path_buf(),
        stage: "scaling the still",
        reason: "output buffer has the wrong size".to_string(),
    })
}

/// Tells swscale the frame's YUV matrix and range. Left alone, swscale assumes BT.601 limited
/// range, which shifts the colours of BT.709/BT.2020-tagged video; the FFmpeg CLI honours the
/// tags, and a reviewer comparing two stills should not see a difference the files lack.
fn apply_colorspace(scaler: &mut scaling::Context, frame: &VideoFrame) {
    let matrix = match frame.color_space() {
        color::Space::BT709 => ffmpeg::ffi::SWS_CS_ITU709,
        color::Space::BT2020NCL | color::Space::BT2020CL => ffmpeg::ffi::SWS_CS_BT2020,
        color::Space::SMPTE240M => ffmpeg::ffi::SWS_CS_SMPTE240M,
        color::Space::FCC => ffmpeg::ffi::SWS_CS_FCC,
        // BT.601 and untagged: swscale's default already.
        _ if frame.color_range() != color::Range::JPEG => return,
        _ => ffmpeg::ffi::SWS_CS_DEFAULT,
    };
    let full_range_source = frame.color_range() == color::Range::JPEG
        || matches!(
            frame.format(),
            Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P
        );
    // SAFETY: the context is valid and owned; the coefficient tables are static in swscale.
    unsafe {
        let table = ffmpeg::ffi::sws_getCoefficients(matrix);
        let _ = ffmpeg::ffi::sws_setColorspaceDetails(
            scaler.as_mut_ptr(),
            table,
            i32::from(full_range_source),
            ffmpeg::ffi::sws_getCoefficients(ffmpeg::ffi::SWS_CS_DEFAULT),
            1,
            0,
            1 << 16,
            1 << 16,
        );
    }
}

/// Encodes an image as baseline JPEG; `quality` is clamped to 1–100.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(image)
        .map_err(|e| MediaError::Encode {
            reason: e.to_string(),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_display_aspect_and_never_upscales() {
        let square = Rational::new(1, 1);
        assert_eq!(output_size(720, 1280, square, 240), (135, 240));
        assert_eq!(output_size(1280, 720, square, 240), (240, 135));
        assert_eq!(output_size(100, 50, square, 240), (100, 50));
        // Anamorphic 720x576 at 16:11 displays 1047x576.
        assert_eq!(
            output_size(720, 576, Rational::new(16, 11), 1047),
            (1047, 576)
        );
        assert_eq!(output_size(720, 576, Rational::new(0, 1), 240), (240, 192));
        assert_eq!(output_size(1, 4000, square, 16), (1, 16));
    }
}
