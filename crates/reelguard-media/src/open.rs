//! Opening an untrusted file: from an already-open descriptor, through an allow-list of
//! demuxers, with decoder pixel limits in force from the first decoded byte.
//!
//! The decisions that shaped this module:
//!
//! * **Input is a file descriptor, read through a custom `AVIOContext`** (ffmpeg-next's
//!   `StreamIo` over positioned reads), never a path or URL handed to FFmpeg. A sandboxed
//!   worker is given an fd and may open nothing; FFmpeg 5.1 (Debian 12) has no `fd:` protocol
//!   and `pipe:N` is unseekable (MP4 with its index at the end would fail), and
//!   `/proc/self/fd/N` needs `openat` — exactly what the worker's seccomp filter forbids.
//!   With a custom `AVIOContext` no protocol is involved at all, the same code runs in and out
//!   of process, and every read checks the wall-clock deadline.
//! * **We probe, then open with the format we chose.** The container is guessed by
//!   `av_probe_input_format3` on a bounded prefix we read ourselves; a format that is not on
//!   [`crate::Demuxers`] is refused before its `read_header` runs (that is where libgme
//!   inflates a gzip bomb), and FFmpeg is handed the chosen demuxer plus `format_whitelist`
//!   and `protocol_whitelist` as a second lock for anything nested.
//! * **`max_pixels` reaches `avformat_find_stream_info` too.** FFmpeg decodes frames while
//!   probing codec parameters; without per-stream options those decoders run unbounded (an
//!   H.264 stream whose SPS claims 8192x8192 allocated ~150 MB there).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

use ffmpeg::ffi;
use ffmpeg::format::context::StreamIo;
use ffmpeg::media::Type;
use ffmpeg::{Discard, Rational};
use ffmpeg_next as ffmpeg;

use crate::allow::{image_dimensions, is_image_demuxer};
use crate::{Limits, MediaError};

/// Largest prefix read to guess the container (FFmpeg's own prober grows to 5 MB; every
/// family we allow is recognised within a few kilobytes, MPEG-TS within a few hundred).
const PROBE_MAX_BYTES: usize = 1 << 20;
/// First prefix tried; doubled while the best guess stays uncertain.
const PROBE_MIN_BYTES: usize = 2048;
/// A guess at or below this score is retried with more data (FFmpeg's AVPROBE_SCORE_RETRY).
const PROBE_SCORE_RETRY: i32 = 25;
/// Streams one file may declare: probing opens a decoder per stream, and no upload we want
/// has more than a handful. Checked by us after the header is read; FFmpeg's own
/// `max_streams` is set far higher, because it answers a stream bomb with ENOMEM, which
/// would read as running out of memory.
const MAX_STREAMS: u32 = 64;
const FFMPEG_MAX_STREAMS: &str = "4096";
/// Protocols nested opens may use (none of our demuxers opens another resource, but
/// FFmpeg's default would be every protocol it was built with).
const PROTOCOL_WHITELIST: &str = "file,pipe,fd";

/// An untrusted file, already open, with the name errors should carry.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    file: Arc<File>,
    len: u64,
    pub path: PathBuf,
}

impl Source {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<Source, MediaError> {
        let file = open_nonblocking(path).map_err(|source| MediaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Source::from_file(file, path)
    }

    /// Takes an already-open file; `name` is only used in errors.
    pub fn from_file(file: File, name: &Path) -> Result<Source, MediaError> {
        let path = name.to_path_buf();
        let metadata = file.metadata().map_err(|source| MediaError::Io {
            path: path.clone(),
            source,
        })?;
        if !metadata.is_file() {
            return Err(MediaError::Io {
                path,
                source: std::io::Error::other("not a regular file"),
            });
        }
        if metadata.len() == 0 {
            return Err(MediaError::Empty { path });
        }
        Ok(Source {
            file: Arc::new(file),
            len: metadata.len(),
            path,
        })
    }

    fn reader(&self, deadline: Instant) -> FileReader {
        FileReader {
            file: Arc::clone(&self.file),
            pos: 0,
            len: self.len,
            deadline,
        }
    }
}

/// Opens `path` for reading without blocking: opening a FIFO (a "file that never ends")
/// would otherwise wait for a writer forever. `O_NONBLOCK` changes nothing for the regular
/// files that are then accepted.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Positioned reads (`pread`) over a shared file: each opened input has its own position, so
/// a still can reopen the file without `dup` or rewinding, and every read observes the
/// deadline (FFmpeg does not poll its interrupt callback on custom I/O).
struct FileReader {
    file: Arc<File>,
    pos: u64,
    len: u64,
    deadline: Instant,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if Instant::now() > self.deadline {
            return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
        }
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FileReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

/// The error for running out of [`Limits::max_decode_time`].
pub(crate) fn timeout_error(path: &Path, limits: &Limits) -> MediaError {
    MediaError::Timeout {
        path: path.to_path_buf(),
        limit_s: limits.max_decode_time.as_secs_f64(),
    }
}

pub(crate) fn check_size(
    path: &Path,
    width: u32,
    height: u32,
    max_pixels: u64,
) -> Result<(), MediaError> {
    if width as u64 * height as u64 > max_pixels {
        return Err(MediaError::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
            max_pixels,
        });
    }
    Ok(())
}

/// Guesses the container from a prefix of the file, the way FFmpeg's own prober does (a
/// growing buffer until the guess is confident), and returns FFmpeg's demuxer with its name.
fn probe(
    source: &Source,
    limits: &Limits,
    deadline: Instant,
) -> Result<(*const ffi::AVInputFormat, String, Vec<u8>), MediaError> {
    let max = PROBE_MAX_BYTES.min(usize::try_from(source.len).unwrap_or(usize::MAX));
    let mut size = PROBE_MIN_BYTES.min(max);
    let mut buf = Vec::new();
    let mut reader = source.reader(deadline);
    loop {
        let have = buf.len();
        buf.resize(size, 0);
        let read = read_fully(&mut reader, &mut buf[have..]).map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                timeout_error(&source.path, limits)
            } else {
                MediaError::Io {
                    path: source.path.clone(),
                    source: e,
                }
            }
        })?;
        buf.truncate(have + read);
        let data_len = buf.len();
        // The probers may read past the end by up to AVPROBE_PADDING_SIZE: zeros.
        buf.resize(data_len + ffi::AVPROBE_PADDING_SIZE as usize, 0);
        let probe_data = ffi::AVProbeData {
            filename: c"".as_ptr(),
            buf: buf.as_mut_ptr(),
            buf_size: data_len as i32,
            mime_type: ptr::null(),
        };
        let mut score = 0;
        // SAFETY: `probe_data` points at `data_len` bytes plus the zeroed padding FFmpeg
        // requires; the returned format is a static of libavformat.
        let format = unsafe { ffi::av_probe_input_format3(&probe_data, 1, &mut score) };
        buf.truncate(data_len);
        let confident = score > PROBE_SCORE_RETRY;
        if (confident || data_len >= max || read < size - have) && !format.is_null() {
            // SAFETY: a demuxer's name is a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr((*format).name) }
                .to_string_lossy()
                .into_owned();
            return Ok((format, name, buf));
        }
        if data_len >= max || read < size - have {
            return Err(MediaError::Unrecognized {
                path: source.path.clone(),
                reason: "no demuxer recognises the data".to_string(),
            });
        }
        size = (size * 2).min(max);
    }
}

fn read_fully(reader: &mut impl Read, mut buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while !buf.is_empty() {
        match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// Per-stream decoder options for `avformat_find_stream_info`, freed on drop.
struct StreamOptions(Vec<*mut ffi::AVDictionary>);

impl StreamOptions {
    fn new(streams: usize, max_pixels: u64) -> StreamOptions {
        let max_pixels = CString::new(max_pixels.min(i32::MAX as u64).to_string())
            .unwrap_or_else(|_| c"1".to_owned());
        let mut dicts = vec![ptr::null_mut(); streams];
        for dict in &mut dicts {
            // SAFETY: av_dict_set copies key and value; a failed set leaves the entry unset,
            // and the decoder then falls back to the (pre-checked) stream size.
            unsafe {
                ffi::av_dict_set(dict, c"max_pixels".as_ptr(), max_pixels.as_ptr(), 0);
                ffi::av_dict_set(dict, c"threads".as_ptr(), c"1".as_ptr(), 0);
            }
        }
        StreamOptions(dicts)
    }
}

impl Drop for StreamOptions {
    fn drop(&mut self) {
        for dict in &mut self.0 {
            // SAFETY: each entry is null or a dictionary FFmpeg allocated.
            unsafe { ffi::av_dict_free(dict) };
        }
    }
}

/// The largest declared picture among the video streams of `ctx`.
///
/// SAFETY: `ctx` must be a valid opened format context.
unsafe fn largest_video(ctx: *mut ffi::AVFormatContext) -> Option<(u32, u32)> {
    // A container with no streams leaves `streams` NULL, and a slice from NULL is undefined
    // behaviour even at length 0.
    if unsafe { (*ctx).streams.is_null() || (*ctx).nb_streams == 0 } {
        return None;
    }
    let streams = unsafe { std::slice::from_raw_parts((*ctx).streams, (*ctx).nb_streams as usize) };
    streams
        .iter()
        .filter_map(|&s| {
            let par = unsafe { (*s).codecpar };
            // Cover art is no video (and is judged as such later), whatever its size.
            let cover = unsafe { (*s).disposition } & ffi::AV_DISPOSITION_ATTACHED_PIC != 0;
            (unsafe { (*par).codec_type } == ffi::AVMediaType::AVMEDIA_TYPE_VIDEO && !cover)
                .then(|| unsafe { ((*par).width.max(0) as u32, (*par).height.max(0) as u32) })
        })
        .max_by_key(|(w, h)| *w as u64 * *h as u64)
}

/// Opens `source` as a container on `limits.demuxers`, with codec parameters found by
/// decoders that honour `limits.max_pixels`.
pub(crate) fn open_input(
    source: &Source,
    limits: &Limits,
    deadline: Instant,
) -> Result<ffmpeg::format::context::Input, MediaError> {
    init_ffmpeg();
    let path = &source.path;
    let (format, name, header) = probe(source, limits, deadline)?;
    if !limits.demuxers.allows(&name) {
        if is_image_demuxer(&name) {
            if let Some((width, height)) = image_dimensions(&header) {
                check_size(path, width, height, limits.max_pixels)?;
            }
            return Err(MediaError::Image {
                path: path.clone(),
                format: name,
            });
        }
        return Err(MediaError::Unrecognized {
            path: path.clone(),
            reason: format!("read as {name:?}, which is not on the container allow-list"),
        });
    }
    let unrecognized = |e: ffmpeg::Error| {
        if Instant::now() > deadline {
            timeout_error(path, limits)
        } else {
            MediaError::Unrecognized {
                path: path.clone(),
                reason: e.to_string(),
            }
        }
    };
    let mut io = StreamIo::from_read_seek(source.reader(deadline)).map_err(unrecognized)?;
    let interrupt = ffmpeg::util::interrupt::new(Box::new(move || Instant::now() > deadline));
    let mut options = ffmpeg::Dictionary::new();
    options.set("format_whitelist", &limits.demuxers.ffmpeg_whitelist());
    options.set("protocol_whitelist", PROTOCOL_WHITELIST);
    options.set("max_streams", FFMPEG_MAX_STREAMS);
    // SAFETY: the context is allocated here and either freed by avformat_open_input on
    // failure or wrapped into an `Input` that owns it (with `io` and the interrupt closure,
    // which it frees after the context).
    unsafe {
        let mut ctx = ffi::avformat_alloc_context();
        if ctx.is_null() {
            return Err(unrecognized(ffmpeg::Error::Other {
                errno: ffmpeg::util::error::ENOMEM,
            }));
        }
        (*ctx).interrupt_callback = interrupt.interrupt;
        (*ctx).pb = io.as_mut_ptr();
        (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
        let mut raw_options = options.disown();
        let opened = ffi::avformat_open_input(&mut ctx, ptr::null(), format, &mut raw_options);
        ffmpeg::Dictionary::own(raw_options);
        if opened < 0 {
            return Err(unrecognized(ffmpeg::Error::from(opened)));
        }
        // What the container declares is refused before any decoder probes it: a probing
        // decoder that refuses an oversized picture can leave the stream's size at 0.
        let (streams, declared) = ((*ctx).nb_streams, largest_video(ctx));
        let refusal = if streams > MAX_STREAMS {
            Some(MediaError::Unrecognized {
                path: path.clone(),
                reason: format!("declares {streams} streams; at most {MAX_STREAMS} are read"),
            })
        } else {
            declared.and_then(|(w, h)| check_size(path, w, h, limits.max_pixels).err())
        };
        if let Some(refusal) = refusal {
            drop(
                ffmpeg::format::context::Input::wrap_with_custom_io_and_interrupt(
                    ctx,
                    io,
                    interrupt.guard,
                ),
            );
            return Err(refusal);
        }
        let mut stream_options = StreamOptions::new((*ctx).nb_streams as usize, limits.max_pixels);
        let found = ffi::avformat_find_stream_info(ctx, stream_options.0.as_mut_ptr());
        drop(stream_options);
        let largest = largest_video(ctx);
        let input = ffmpeg::format::context::Input::wrap_with_custom_io_and_interrupt(
            ctx,
            io,
            interrupt.guard,
        );
        if found < 0 {
            // Probing decoders refuse an oversized picture, which leaves the stream without
            // full parameters; its declared size still says why.
            if let Some((width, height)) = largest {
                check_size(path, width, height, limits.max_pixels)?;
            }
            drop(input);
            return Err(unrecognized(ffmpeg::Error::from(found)));
        }
        Ok(input)
    }
}

/// How the decoder of [`open_video`] is set up.
pub(crate) struct DecoderSetup {
    /// FFmpeg decoder threads.
    pub threads: usize,
    /// Skip the in-loop deblocking filter.
    pub skip_loop_filter: bool,
    /// Have the decoder drop everything but key frames.
    pub keyframes_only: bool,
}

/// A file opened, bounded and ready to decode: what [`crate::fingerprint_file`] and
/// [`crate::extract_still`] share, so both refuse the same files with the same errors.
pub(crate) struct OpenedVideo {
    pub input: ffmpeg::format::context::Input,
    pub stream_index: usize,
    pub time_base: Rational,
    /// The stream's first timestamp (0 when it declares none), in `time_base` units.
    pub start_ts: i64,
    /// Declared duration in seconds, 0 when unknown.
    pub declared_s: f64,
    pub width: u32,
    pub height: u32,
    pub codec_name: String,
    /// The container's sample aspect ratio (0/1 when it declares none).
    pub stream_aspect: Rational,
    pub decoder: ffmpeg::decoder::Video,
}

/// Opens `source`, picks its video stream, checks it against `limits` and opens a decoder.
/// FFmpeg's own I/O gives up at `deadline`.
pub(crate) fn open_video(
    source: &Source,
    limits: &Limits,
    deadline: Instant,
    setup: &DecoderSetup,
) -> Result<OpenedVideo, MediaError> {
    let path_buf = source.path.clone();
    let input = open_input(source, limits, deadline)?;

    let stream = input
        .streams()
        .filter(|s| s.parameters().medium() == Type::Video)
        // Cover art in audio files is a "video" stream of one picture: not a video.
        .filter(|s| {
            !s.disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
        })
        .max_by_key(|s| {
            let p = s.parameters();
            // SAFETY: plain field reads of the stream's parameters, valid while `input` lives.
            unsafe { (*p.as_ptr()).width as i64 * (*p.as_ptr()).height as i64 }
        })
        .ok_or_else(|| MediaError::NoVideoStream {
            path: path_buf.clone(),
        })?;
    let stream_index = stream.index();
    let time_base = stream.time_base();
    // Every time in the file is a multiple of this: a zero or negative one would make them
    // all 0, NaN or negative.
    if time_base.numerator() <= 0 || time_base.denominator() <= 0 {
        return Err(MediaError::Ffmpeg {
            path: path_buf,
            stage: "reading the video stream",
            reason: format!("invalid time base {time_base}"),
        });
    }
    let start_ts = match stream.start_time() {
        ts if ts == ffi::AV_NOPTS_VALUE => 0,
        ts => ts,
    };
    let declared_s = if stream.duration() > 0 {
        seconds(stream.duration(), time_base)
    } else if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    // The container's own figure counts too: a header claiming 136 years is refused even when
    // the stream's edit list says less.
    let claimed_s = declared_s.max(input.duration().max(0) as f64 / f64::from(ffi::AV_TIME_BASE));
    if claimed_s > limits.max_duration.as_secs_f64() {
        return Err(MediaError::TooLong {
            path: path_buf,
            duration_s: claimed_s,
            max_s: limits.max_duration.as_secs_f64(),
        });
    }
    // SAFETY: the stream pointer is valid while `input` lives; a plain field read.
    let stream_aspect = Rational::from(unsafe { (*stream.as_ptr()).sample_aspect_ratio });

    let context =
        ffmpeg::codec::context::Context::from_parameters(stream.parameters()).map_err(|e| {
            MediaError::Ffmpeg {
                path: path_buf.clone(),
                stage: "reading codec parameters",
                reason: e.to_string(),
            }
        })?;
    let codec_id = context.id();
    let codec_name = format!("{codec_id:?}").to_lowercase();
    // SAFETY: plain field reads of the stream's parameters, valid while `input` lives.
    let (width, height) = unsafe {
        let p = stream.parameters();
        (
            (*p.as_ptr()).width.max(0) as u32,
            (*p.as_ptr()).height.max(0) as u32,
        )
    };
    check_size(&path_buf, width, height, limits.max_pixels)?;
    let codec = ffmpeg::decoder::find(codec_id).ok_or_else(|| MediaError::NoDecoder {
        path: path_buf.clone(),
        codec: codec_name.clone(),
    })?;
    let mut decoder = context.decoder();
    if setup.skip_loop_filter {
        decoder.skip_loop_filter(Discard::All);
    }
    if setup.keyframes_only {
        decoder.skip_frame(Discard::NonKey);
    }
    let mut dictionary = ffmpeg::Dictionary::new();
    dictionary.set("threads", &setup.threads.max(1).to_string());
    // FFmpeg refuses any frame over this before allocating it, resolution changes mid-stream
    // included; [`oversized`] turns the resulting decode error into `TooLarge`.
    dictionary.set(
        "max_pixels",
        &limits.max_pixels.min(i32::MAX as u64).to_string(),
    );
    let decoder = decoder
        .open_as_with(codec, dictionary)
        .and_then(|opened| opened.video())
        .map_err(|e| MediaError::Ffmpeg {
            path: path_buf.clone(),
            stage: "opening the decoder",
            reason: e.to_string(),
        })?;
    Ok(OpenedVideo {
        input,
        stream_index,
        time_base,
        start_ts,
        declared_s,
        width,
        height,
        codec_name,
        stream_aspect,
        decoder,
    })
}

/// `TooLarge` when a decode error came from the decoder refusing a picture over the limit
/// (the context then holds the refused size), so hostile resolution changes are reported as
/// what they are rather than as corrupt data.
pub(crate) fn oversized(
    path: &Path,
    decoder: &ffmpeg::decoder::Video,
    max_pixels: u64,
) -> Option<MediaError> {
    check_size(path, decoder.width(), decoder.height(), max_pixels).err()
}

/// Initialises FFmpeg once per process, with its own logging silenced.
pub(crate) fn init_ffmpeg() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        // Errors come back typed; FFmpeg's own log lines would only be noise on stderr.
        if ffmpeg::init().is_ok() {
            ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Quiet);
        }
    });
}

/// A timestamp in seconds.
pub(crate) fn seconds(ts: i64, time_base: ffmpeg::Rational) -> f64 {
    ts as f64 * f64::from(time_base)
}

/// Seconds from the stream's first timestamp to `ts`. Saturating: a hostile file can put any
/// 64-bit value in a timestamp, and the difference must not overflow (the duration limit then
/// refuses the absurd time).
pub(crate) fn seconds_since(ts: i64, start_ts: i64, time_base: ffmpeg::Rational) -> f64 {
    seconds(ts.saturating_sub(start_ts), time_base)
}

/// When a decode started at `started` must stop: saturating, so an absurd configured budget
/// means "no limit in practice" rather than an `Instant` overflow panic.
pub(crate) fn deadline(
    started: std::time::Instant,
    budget: std::time::Duration,
) -> std::time::Instant {
    started
        .checked_add(budget)
        .unwrap_or_else(|| started + std::time::Duration::from_secs(1 << 32))
}
