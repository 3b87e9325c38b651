//! The FFmpeg side: open, bound, decode, sample, scale, and hand chunks to the hasher.

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::Video as VideoFrame;
use ffmpeg::{Discard, Rational};
use ffmpeg_next as ffmpeg;
use reelguard_hash::hash_thumb;

use crate::audio::AudioDecoder;
use crate::open::{
    check_size, open_video, oversized, timeout_error, DecoderSetup, OpenedVideo, Source,
};
pub(crate) use crate::open::{init_ffmpeg, seconds, seconds_since};
use crate::region::{self, GreyImage, Region};
use crate::skip::{slot, SkipPlanner, LOOKAHEAD};
use crate::thumb::region_thumb;
use crate::{
    DecodeMode, DecodeStats, Fingerprint, MediaError, Options, Progress, RegionSpan, SampledFrame,
};

/// Longer side of the grey analysis image region detection and thumbnails are cut from.
/// 256 keeps a reframed strip (a third of a 16:9 canvas) about 80 pixels wide and the thin
/// frame of a picture-in-picture window visible (at 160, a 4-pixel frame on a 720-wide video
/// blurred into its surround and 5 of 11 fixture windows went unseen).
const ANALYSIS_SIDE: u32 = 256;
/// Most picture-in-picture window tracks followed through one file.
const MAX_INSET_TRACKS: usize = 6;
/// Samples per region-detection chunk (about 10 s at the default rate).
const CHUNK_SAMPLES: usize = 48;
/// Consecutive demuxer errors after which the file is given up as unreadable.
pub(crate) const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;
/// A stream that decodes to less than this fraction of its declared duration is truncated.
const TRUNCATED_FRACTION: f64 = 0.85;
/// More than this fraction of failed packets makes the file corrupt rather than damaged.
pub(crate) const CORRUPT_FRACTION: f64 = 0.25;

/// Fingerprints one file. Never panics on any input; all failures are [`MediaError`]s.
pub fn fingerprint_file(
    path: &Path,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Fingerprint, MediaError> {
    fingerprint_source(&Source::open(path)?, options, progress)
}

/// Fingerprints an already-open file (what a sandboxed worker is handed); `name` only
/// labels errors. Reads through positioned reads, so the file's own offset is not used.
pub fn fingerprint_fd(
    file: File,
    name: &Path,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Fingerprint, MediaError> {
    fingerprint_source(&Source::from_file(file, name)?, options, progress)
}

fn fingerprint_source(
    source: &Source,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Fingerprint, MediaError> {
    let started = Instant::now();
    let path = source.path.as_path();
    let path_buf = path.to_path_buf();
    let limits = options.limits;
    let deadline = crate::open::deadline(started, limits.max_decode_time);
    let timeout = || timeout_error(path, &limits);
    let OpenedVideo {
        mut input,
        stream_index,
        time_base,
        start_ts,
        declared_s,
        width,
        height,
        codec_name,
        stream_aspect: _,
        mut decoder,
    } = open_video(
        source,
        &limits,
        deadline,
        &DecoderSetup {
            threads: options.decoder_threads,
            skip_loop_filter: options.skip_loop_filter,
            keyframes_only: options.mode == DecodeMode::Keyframes,
        },
    )?;
    progress(Progress::Opened {
        duration_s: declared_s,
    });
    let mut audio = if options.audio_speeds.is_empty() {
        None
    } else {
        AudioDecoder::open(&input, (start_ts, time_base))
    };

    let mut sampler = Sampler::new(options, start_ts, time_base);
    let mut planner = SkipPlanner::new(
        sampler.interval,
        Box::new(move |pts| seconds_since(pts, start_ts, time_base)),
        options.skip_unsampled && options.mode == DecodeMode::Full,
    );
    let mut skipping = false;
    // Video packets read but not yet sent: the planner's view of what comes next.
    let mut lookahead: VecDeque<ffmpeg::Packet> = VecDeque::with_capacity(LOOKAHEAD + 1);
    let mut packets_sent = 0u64;
    let mut packets_failed = 0u64;
    let mut frames_decoded = 0u64;
    let mut consecutive_read_errors = 0u32;
    let mut last_reported_t = 0.0f64;
    let mut frame = VideoFrame::empty();
    let mut demuxed_all = false;
    let mut draining = false;
    // End of the last demuxed video packet: how much video the file really holds, whichever
    // packets were decoded (key-frame mode decodes few).
    let mut demuxed_s = 0.0f64;
    loop {
        if Instant::now() > deadline {
            return Err(timeout());
        }
        while !demuxed_all && lookahead.len() <= LOOKAHEAD {
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(&mut input) {
                Ok(()) => {
                    consecutive_read_errors = 0;
                    if packet.stream() != stream_index {
                        if let Some(audio) = audio.as_mut() {
                            if packet.stream() == audio.stream_index {
                                audio.feed(&packet);
                            }
                        }
                        continue;
                    }
                    if let Some(pts) = packet.pts() {
                        let end = seconds_since(
                            pts.saturating_add(packet.duration().max(0)),
                            start_ts,
                            time_base,
                        );
                        demuxed_s = demuxed_s.max(end);
                        // Timestamps past the limit (an absurd time base, say) are refused
                        // here, even for packets the decoder would discard.
                        if end > limits.max_duration.as_secs_f64() {
                            return Err(MediaError::TooLong {
                                path: path_buf,
                                duration_s: end,
                                max_s: limits.max_duration.as_secs_f64(),
                            });
                        }
                    }
                    if options.mode == DecodeMode::Keyframes && !packet.is_key() {
                        continue;
                    }
                    // A packet the decoder will throw away unseen, or one the demuxer marks
                    // corrupt, may never become a frame: it is no predecessor to rely on.
                    if !discarded(&packet) {
                        planner.note(packet.pts());
                    }
                    lookahead.push_back(packet);
                }
                Err(ffmpeg::Error::Eof) => demuxed_all = true,
                Err(ffmpeg::Error::Exit) => return Err(timeout()),
                Err(e) => {
                    consecutive_read_errors += 1;
                    if consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                        // Whatever decoded so far is judged below (truncated / corrupt).
                        tracing::debug!(path = %path.display(), error = %e, "giving up reading");
                        demuxed_all = true;
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(timeout());
            }
        }
        if let Some(packet) = lookahead.pop_front() {
            let skip = planner.may_skip(packet.pts());
            if skip != skipping {
                decoder.skip_frame(if skip {
                    Discard::NonReference
                } else {
                    Discard::Default
                });
                skipping = skip;
            }
            packets_sent += 1;
            if decoder.send_packet(&packet).is_err() {
                if let Some(e) = oversized(path, &decoder, limits.max_pixels) {
                    return Err(e);
                }
                packets_failed += 1;
                planner.disable();
                continue;
            }
        } else if !draining {
            draining = true;
            let _ = decoder.send_eof();
        }
        let mut got_frame = false;
        loop {
            match decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    got_frame = true;
                    frames_decoded += 1;
                    check_size(&path_buf, frame.width(), frame.height(), limits.max_pixels)?;
                    let t = sampler.frame_time(&frame);
                    if t > limits.max_duration.as_secs_f64() {
                        return Err(MediaError::TooLong {
                            path: path_buf,
                            duration_s: t,
                            max_s: limits.max_duration.as_secs_f64(),
                        });
                    }
                    sampler.offer(&frame, t).map_err(|e| MediaError::Ffmpeg {
                        path: path_buf.clone(),
                        stage: "scaling a frame",
                        reason: e.to_string(),
                    })?;
                    if t - last_reported_t >= 1.0 {
                        progress(Progress::Decoded {
                            seconds: t - last_reported_t,
                        });
                        last_reported_t = t;
                    }
                }
                Err(ffmpeg::Error::Eof) => break,
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    break
                }
                Err(_) => {
                    if let Some(e) = oversized(path, &decoder, limits.max_pixels) {
                        return Err(e);
                    }
                    packets_failed += 1;
                    planner.disable();
                    break;
                }
            }
        }
        if draining && !got_frame {
            break;
        }
    }

    if packets_sent > 0 && packets_failed as f64 > packets_sent as f64 * CORRUPT_FRACTION {
        return Err(MediaError::Corrupt {
            path: path_buf,
            failed: packets_failed,
            sent: packets_sent,
        });
    }
    // One key frame can be a legitimate key-frame pass of a short clip; a video has at least
    // two frames.
    let min_frames = match options.mode {
        DecodeMode::Full => 2,
        DecodeMode::Keyframes => 1,
    };
    if frames_decoded < min_frames {
        return Err(if packets_failed > 0 {
            MediaError::Corrupt {
                path: path_buf,
                failed: packets_failed,
                sent: packets_sent,
            }
        } else {
            MediaError::NotAVideo {
                path: path_buf,
                frames: frames_decoded,
            }
        });
    }
    let decoded_s = demuxed_s.max(sampler.last_t + sampler.frame_interval);
    if declared_s > 1.0 && decoded_s < declared_s * TRUNCATED_FRACTION {
        return Err(MediaError::Truncated {
            path: path_buf,
            decoded_s,
            declared_s,
        });
    }
    progress(Progress::Decoded {
        seconds: (decoded_s - last_reported_t).max(0.0),
    });
    let (frames, regions, inset_frames, insets) = sampler.finish();
    let audio = audio.and_then(|audio| audio.finish(&options.audio_speeds, limits.max_duration));
    Ok(Fingerprint {
        duration_s: if declared_s > 0.0 {
            declared_s
        } else {
            decoded_s
        },
        width,
        height,
        codec: codec_name,
        mode: options.mode,
        frames,
        regions,
        inset_frames,
        insets,
        audio,
        stats: DecodeStats {
            frames_decoded,
            packets_skippable: planner.skippable,
            packets_failed,
            seconds: started.elapsed().as_secs_f64(),
        },
    })
}

/// Whether the demuxer marked the packet to be dropped by the decoder (edit-list preroll) or
/// as corrupt.
fn discarded(packet: &ffmpeg::Packet) -> bool {
    use ffmpeg::packet::Ref;
    // SAFETY: a plain field read of a packet we own.
    let flags = unsafe { (*packet.as_ptr()).flags };
    flags & (ffmpeg::ffi::AV_PKT_FLAG_DISCARD | ffmpeg::ffi::AV_PKT_FLAG_CORRUPT) != 0
}

/// One sampled frame waiting for its chunk's region decision.
struct Pending {
    t: f64,
    grey: Vec<u8>,
}

/// Picks frames by timestamp, scales them to grey analysis images, and hashes them a chunk at
/// a time.
struct Sampler {
    interval: f64,
    mode: DecodeMode,
    start_ts: i64,
    time_base: Rational,
    /// Key-frame mode: the earliest time the next sample may have.
    next_t: f64,
    /// Full mode: the slot of the last sample ([`slot`]); the next sample is the first frame
    /// of a later slot.
    last_slot: f64,
    last_t: f64,
    /// Typical gap between decoded frames, used to extend the last timestamp to a duration.
    frame_interval: f64,
    scaler: Option<(scaling::Context, (Pixel, u32, u32))>,
    analysis_size: (u32, u32),
    grey: VideoFrame,
    chunk: Vec<Pending>,
    frames: Vec<SampledFrame>,
    regions: Vec<RegionSpan>,
    detect_insets: bool,
    /// Picture-in-picture window tracks: the window's latest position and its samples.
    inset_tracks: Vec<(Region, Vec<SampledFrame>)>,
    insets: Vec<RegionSpan>,
    source_size: (u32, u32),
}

impl Sampler {
    fn new(options: &Options, start_ts: i64, time_base: Rational) -> Self {
        Sampler {
            // NaN would clamp to NaN and sample every frame.
            interval: 1.0
                / if options.sample_fps.is_nan() {
                    crate::DEFAULT_SAMPLE_FPS
                } else {
                    options.sample_fps.clamp(0.1, 120.0)
                },
            mode: options.mode,
            start_ts,
            time_base,
            next_t: f64::NEG_INFINITY,
            last_slot: f64::NEG_INFINITY,
            last_t: 0.0,
            frame_interval: 0.0,
            scaler: None,
            analysis_size: (0, 0),
            grey: VideoFrame::empty(),
            chunk: Vec::with_capacity(CHUNK_SAMPLES),
            frames: Vec::new(),
            regions: Vec::new(),
            detect_insets: options.detect_insets,
            inset_tracks: Vec::new(),
            insets: Vec::new(),
            source_size: (0, 0),
        }
    }

    fn frame_time(&mut self, frame: &VideoFrame) -> f64 {
        let t = match frame.timestamp() {
            Some(ts) => seconds_since(ts, self.start_ts, self.time_base),
            // No timestamp at all: assume the stream keeps its rhythm.
            None => self.last_t + self.frame_interval.max(1.0 / 30.0),
        };
        let gap = t - self.last_t;
        if gap > 0.0 && gap < 1.0 {
            self.frame_interval = gap;
        }
        self.last_t = self.last_t.max(t);
        t
    }

    fn offer(&mut self, frame: &VideoFrame, t: f64) -> Result<(), ffmpeg::Error> {
        // In keyframe mode every decoded frame is a key frame worth keeping, up to the rate.
        match self.mode {
            // The same rule the skip planner predicts from packet timestamps.
            DecodeMode::Full => {
                let slot = slot(t, self.interval);
                if slot <= self.last_slot {
                    return Ok(());
                }
                self.last_slot = slot;
            }
            DecodeMode::Keyframes => {
                if t + 1e-6 < self.next_t {
                    return Ok(());
                }
                self.next_t = t + self.interval;
            }
        }
        let key = (frame.format(), frame.width(), frame.height());
        if self.scaler.as_ref().map(|(_, k)| *k) != Some(key) {
            // Resolution change: the previous chunk's region no longer applies.
            self.flush();
            let (w, h) = (frame.width().max(1), frame.height().max(1));
            let scale = ANALYSIS_SIDE as f64 / w.max(h) as f64;
            let size = if scale < 1.0 {
                (
                    ((w as f64 * scale).round() as u32).max(8),
                    ((h as f64 * scale).round() as u32).max(8),
                )
            } else {
                (w.max(8), h.max(8))
            };
            let context = scaling::Context::get(
                frame.format(),
                w,
                h,
                Pixel::GRAY8,
                size.0,
                size.1,
                scaling::Flags::AREA,
            )?;
            self.scaler = Some((context, key));
            self.analysis_size = size;
            self.source_size = (w, h);
        }
        let Some((scaler, _)) = self.scaler.as_mut() else {
            return Ok(());
        };
        scaler.run(frame, &mut self.grey)?;
        let (w, h) = (self.analysis_size.0 as usize, self.analysis_size.1 as usize);
        let stride = self.grey.stride(0);
        let data = self.grey.data(0);
        let mut grey = Vec::with_capacity(w * h);
        for row in data.chunks(stride).take(h) {
            grey.extend_from_slice(&row[..w.min(row.len())]);
        }
        grey.resize(w * h, 0);
        self.chunk.push(Pending { t, grey });
        if self.chunk.len() >= CHUNK_SAMPLES {
            self.flush();
        }
        Ok(())
    }

    /// Decides the region of the pending chunk and hashes its samples.
    fn flush(&mut self) {
        if self.chunk.is_empty() {
            return;
        }
        let (w, h) = (self.analysis_size.0 as usize, self.analysis_size.1 as usize);
        let images: Vec<GreyImage<'_>> = self
            .chunk
            .iter()
            .map(|p| GreyImage {
                pixels: &p.grey,
                width: w,
                height: h,
            })
            .collect();
        let region: Region = region::detect(&images);
        for (pending, image) in self.chunk.iter().zip(&images) {
            let hash = hash_thumb(&region_thumb(image, &region));
            self.frames.push(SampledFrame::new(pending.t, hash));
        }
        let (start_t, end_t) = (self.chunk[0].t, self.chunk[self.chunk.len() - 1].t);
        self.regions.push(RegionSpan {
            start_t,
            end_t,
            region: region.scaled(self.analysis_size, self.source_size),
        });
        if self.detect_insets {
            let mut extended = vec![false; self.inset_tracks.len()];
            for inset in region::detect_insets(&images) {
                // A window that stays put across chunks is one probe: its hashes must form one
                // sequence for the aligner to see the whole stretch.
                let track = self
                    .inset_tracks
                    .iter()
                    .enumerate()
                    .position(|(i, (last, _))| {
                        !extended[i] && region::overlap_ratio(last, &inset) >= 0.5
                    });
                let track = match track {
                    Some(i) => i,
                    None if self.inset_tracks.len() < MAX_INSET_TRACKS => {
                        self.inset_tracks.push((inset, Vec::new()));
                        extended.push(false);
                        self.inset_tracks.len() - 1
                    }
                    None => continue,
                };
                extended[track] = true;
                self.inset_tracks[track].0 = inset;
                for (pending, image) in self.chunk.iter().zip(&images) {
                    let hash = hash_thumb(&region_thumb(image, &inset));
                    self.inset_tracks[track]
                        .1
                        .push(SampledFrame::new(pending.t, hash));
                }
                self.insets.push(RegionSpan {
                    start_t,
                    end_t,
                    region: inset.scaled(self.analysis_size, self.source_size),
                });
            }
        }
        drop(images);
        self.chunk.clear();
    }

    fn finish(
        mut self,
    ) -> (
        Vec<SampledFrame>,
        Vec<RegionSpan>,
        Vec<Vec<SampledFrame>>,
        Vec<RegionSpan>,
    ) {
        self.flush();
        // Decoders may emit frames slightly out of order around seeks and edits.
        self.frames.sort_by(|a, b| a.t.total_cmp(&b.t));
        let mut inset_frames: Vec<Vec<SampledFrame>> =
            self.inset_tracks.into_iter().map(|(_, f)| f).collect();
        for probe in &mut inset_frames {
            probe.sort_by(|a, b| a.t.total_cmp(&b.t));
        }
        (self.frames, self.regions, inset_frames, self.insets)
    }
}
