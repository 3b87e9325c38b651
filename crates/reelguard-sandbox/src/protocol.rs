//! The wire between the daemon and its decode workers: versioned, length-prefixed frames.
//!
//! Every frame is a 12-byte header — magic `RGSW`, version (u16 LE), kind (u16 LE), payload
//! length (u32 LE) — and the payload. The decision that shaped it: **the parent reads it as
//! hostile input**, because a worker is exactly the process an exploit would own. So every
//! kind has its own payload ceiling checked *before* anything is buffered, unknown kinds and
//! versions are errors, JSON payloads are parsed into plain data with serde's limits, a still
//! must have exactly `width * height * 3` bytes, and no byte sequence can make the parser
//! panic ([`fuzz_responses`] is the `cargo fuzz` entry point, and the unit tests feed it
//! truncated, garbage and oversized input).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::wire::{WireError, WireOptions, WireProgress, WireStill};

/// First four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"RGSW";
/// Version of this format; a frame of any other version is refused. Version 2: fingerprints
/// carry the audio's sub-fingerprints (`audio`) and requests the speeds to take them at.
pub const VERSION: u16 = 2;
/// Header bytes before the payload.
pub const HEADER_LEN: usize = 12;

/// Largest fingerprint payload: a 6-hour video at 5 fps is ~110k samples, ~10 MB of JSON;
/// audio adds at most 30 minutes at 31 sub-fingerprints a second per speed, ~0.7 MB each.
const MAX_FINGERPRINT: u32 = 64 << 20;
/// Largest still: 4096x4096 RGB plus its JSON header (`max_side` is far smaller in use).
const MAX_STILL: u32 = 4096 * 4096 * 3 + 4096;
/// Largest control payload (requests, errors, progress, ready, usage).
const MAX_SMALL: u32 = 64 << 10;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Parent → worker: fingerprint the attached file ([`Request`]).
    Request = 1,
    /// Worker → parent: the worker is locked down and waiting ([`Ready`]).
    Ready = 16,
    /// Worker → parent: decoding progress.
    Progress = 17,
    /// Worker → parent: the worker's resource use so far ([`Usage`]), just before a result.
    Usage = 18,
    /// Worker → parent: a fingerprint (JSON).
    Fingerprint = 19,
    /// Worker → parent: a still (JSON header, then RGB bytes).
    Still = 20,
    /// Worker → parent: a typed failure.
    Error = 21,
    /// Worker → parent: the result of a self-check.
    SelfCheck = 22,
}

impl Kind {
    fn from_u16(value: u16) -> Option<Kind> {
        Some(match value {
            1 => Kind::Request,
            16 => Kind::Ready,
            17 => Kind::Progress,
            18 => Kind::Usage,
            19 => Kind::Fingerprint,
            20 => Kind::Still,
            21 => Kind::Error,
            22 => Kind::SelfCheck,
            _ => return None,
        })
    }

    /// The largest payload a frame of this kind may declare.
    fn max_payload(self) -> u32 {
        match self {
            Kind::Fingerprint => MAX_FINGERPRINT,
            Kind::Still => MAX_STILL,
            _ => MAX_SMALL,
        }
    }
}

/// Why bytes from the other side are not a valid frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    /// The frame does not start with [`MAGIC`].
    #[error("bad magic {0:02x?}")]
    Magic([u8; 4]),
    /// A version this build does not speak.
    #[error("unsupported protocol version {0}")]
    Version(u16),
    /// A kind this build does not know.
    #[error("unknown frame kind {0}")]
    UnknownKind(u16),
    /// A payload longer than its kind allows.
    #[error("{kind:?} frame of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// The frame's kind.
        kind: Kind,
        /// Declared length.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// A frame that is valid but not what was expected now.
    #[error("unexpected {0:?} frame")]
    Unexpected(Kind),
    /// A payload that does not decode.
    #[error("malformed {kind:?} payload: {reason}")]
    Payload {
        /// The frame's kind.
        kind: Kind,
        /// Why.
        reason: String,
    },
}

/// A frame's header, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The kind.
    pub kind: Kind,
    /// Payload bytes that follow.
    pub len: u32,
}

/// Parses and validates a header: magic, version, kind, and the kind's length limit.
pub fn parse_header(bytes: &[u8; HEADER_LEN]) -> Result<Header, ProtocolError> {
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(ProtocolError::Magic(magic));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(ProtocolError::Version(version));
    }
    let raw_kind = u16::from_le_bytes([bytes[6], bytes[7]]);
    let kind = Kind::from_u16(raw_kind).ok_or(ProtocolError::UnknownKind(raw_kind))?;
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let max = kind.max_payload();
    if len > max {
        return Err(ProtocolError::TooLong { kind, len, max });
    }
    Ok(Header { kind, len })
}

/// A whole frame: header and payload.
pub fn encode(kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&VERSION.to_le_bytes());
    frame.extend_from_slice(&(kind as u16).to_le_bytes());
    // Payloads are bounded far below 4 GiB by the encoders; saturate rather than wrap so an
    // impossible one is refused by the reader instead of misframed.
    frame.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    frame.extend_from_slice(payload);
    frame
}

/// A complete frame at the start of a buffer: its header, its payload, and the bytes it used.
pub type Split<'a> = (Header, &'a [u8], usize);

/// Splits the first complete frame off `buf`: `Ok(None)` when more bytes are needed.
pub fn split_frame(buf: &[u8]) -> Result<Option<Split<'_>>, ProtocolError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = parse_header(head)?;
    let end = HEADER_LEN + header.len as usize;
    Ok(buf
        .get(HEADER_LEN..end)
        .map(|payload| (header, payload, end)))
}

/// What the parent asks of a worker (the file itself travels as an attached descriptor).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Fingerprint the attached file.
    Fingerprint(WireOptions),
    /// Extract a still from the attached file.
    Still {
        /// Seconds into the video.
        at_s: f64,
        /// Longest side of the image.
        max_side: u32,
        /// Bounds.
        options: WireOptions,
    },
    /// Try what the sandbox must forbid and report what happened (no file attached).
    SelfCheck,
    /// Misbehave on purpose, to test the parent (honoured only with `--test-hooks`).
    TestHook(TestHook),
}

/// Ways a worker misbehaves on request in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TestHook {
    /// `abort()`: dies of SIGABRT.
    Abort,
    /// Sleeps forever without reading.
    Hang,
    /// Spins on the CPU forever.
    Spin,
    /// Allocates (and touches) memory until the address-space limit stops it.
    AllocationBomb,
}

/// The worker's first frame: what lockdown achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// Landlock's status ("fully_enforced", "partially_enforced", "not_enforced", or why it
    /// failed).
    pub landlock: String,
    /// Whether the seccomp filter is installed.
    pub seccomp: bool,
}

/// What the sandbox forbade, as observed from inside (each entry: call → outcome).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfCheck {
    /// (syscall attempted, "refused: ..." or "ALLOWED").
    pub results: Vec<(String, String)>,
}

/// A worker's resource use so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// User + system CPU seconds since the worker started.
    pub cpu_s: f64,
    /// Peak resident set, KiB.
    pub max_rss_kib: u64,
}

impl Usage {
    /// 16 bytes: CPU microseconds and peak RSS, both u64 LE.
    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&((self.cpu_s.max(0.0) * 1e6) as u64).to_le_bytes());
        out[8..].copy_from_slice(&self.max_rss_kib.to_le_bytes());
        out
    }

    fn decode(payload: &[u8]) -> Option<Usage> {
        let cpu = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
        let rss = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
        (payload.len() == 16).then_some(Usage {
            cpu_s: cpu as f64 / 1e6,
            max_rss_kib: rss,
        })
    }
}

/// A frame from a worker, decoded.
#[derive(Debug, Clone)]
pub enum Response {
    /// See [`Ready`].
    Ready(Ready),
    /// Decoding progress.
    Progress(WireProgress),
    /// See [`Usage`].
    Usage(Usage),
    /// A fingerprint.
    Fingerprint(Box<reelguard_media::Fingerprint>),
    /// A still.
    Still(WireStill),
    /// A failure.
    Error(WireError),
    /// See [`SelfCheck`].
    SelfCheck(SelfCheck),
}

fn json<T: serde::de::DeserializeOwned>(kind: Kind, payload: &[u8]) -> Result<T, ProtocolError> {
    serde_json::from_slice(payload).map_err(|e| ProtocolError::Payload {
        kind,
        reason: e.to_string(),
    })
}

/// Decodes a worker's frame. Never panics; anything unexpected is a [`ProtocolError`].
pub fn decode_response(header: Header, payload: &[u8]) -> Result<Response, ProtocolError> {
    let kind = header.kind;
    let malformed = |reason: &str| ProtocolError::Payload {
        kind,
        reason: reason.to_string(),
    };
    Ok(match kind {
        Kind::Request => return Err(ProtocolError::Unexpected(kind)),
        Kind::Ready => Response::Ready(json(kind, payload)?),
        Kind::Progress => Response::Progress(json(kind, payload)?),
        Kind::Usage => Response::Usage(Usage::decode(payload).ok_or_else(|| malformed("length"))?),
        Kind::Fingerprint => Response::Fingerprint(Box::new(json(kind, payload)?)),
        Kind::Still => Response::Still(WireStill::decode(payload).map_err(|r| malformed(&r))?),
        Kind::Error => Response::Error(json(kind, payload)?),
        Kind::SelfCheck => Response::SelfCheck(json(kind, payload)?),
    })
}

/// Parses a byte stream as a worker would send it, frame after frame, until it ends or is
/// invalid, and turns what decodes into what the parent goes on to use (errors, progress, the
/// fingerprint's main region): the `cargo fuzz` target (`fuzz/fuzz_targets/worker_responses.rs`).
/// Returns how many frames decoded.
pub fn fuzz_responses(mut data: &[u8]) -> usize {
    let mut decoded = 0;
    while let Ok(Some((header, payload, used))) = split_frame(data) {
        if let Ok(response) = decode_response(header, payload) {
            decoded += 1;
            // What the parent would do next with it; black_box keeps it from being elided.
            match response {
                Response::Error(e) => {
                    std::hint::black_box(e.into_media(Path::new("fuzz")).kind());
                }
                Response::Progress(p) => {
                    std::hint::black_box(p.progress());
                }
                Response::Fingerprint(fp) => {
                    std::hint::black_box((fp.main_region(), fp.realtime_factor()));
                    for track in fp.audio.iter().flat_map(|a| &a.tracks) {
                        std::hint::black_box(track.time(track.hashes.len()));
                    }
                }
                _ => {}
            }
        }
        data = &data[used..];
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_frame() -> Vec<u8> {
        encode(
            Kind::Usage,
            &Usage {
                cpu_s: 1.5,
                max_rss_kib: 2048,
            }
            .encode(),
        )
    }

    #[test]
    fn frames_round_trip_and_split_at_their_length() {
        let mut stream = usage_frame();
        stream.extend(encode(Kind::Error, br#""Empty""#));
        let (header, payload, used) = split_frame(&stream).expect("valid").expect("complete");
        assert_eq!(header.kind, Kind::Usage);
        match decode_response(header, payload) {
            Ok(Response::Usage(u)) => assert_eq!((u.cpu_s, u.max_rss_kib), (1.5, 2048)),
            other => panic!("{other:?}"),
        }
        assert_eq!(fuzz_responses(&stream), 2);
        assert!(used < stream.len());
    }

    #[test]
    fn truncated_frames_ask_for_more_bytes_at_every_cut() {
        let frame = usage_frame();
        for cut in 0..frame.len() {
            assert_eq!(split_frame(&frame[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn bad_magic_version_kind_and_lengths_are_refused_before_buffering() {
        let mut frame = usage_frame();
        frame[0] = b'X';
        assert!(matches!(split_frame(&frame), Err(ProtocolError::Magic(_))));
        let mut frame = usage_frame();
        frame[4] = 3;
        assert_eq!(split_frame(&frame), Err(ProtocolError::Version(3)));
        let mut frame = usage_frame();
        frame[6] = 99;
        assert_eq!(split_frame(&frame), Err(ProtocolError::UnknownKind(99)));
        // A header alone declaring 4 GiB is refused without waiting for the payload.
        let mut header = encode(Kind::Fingerprint, b"");
        header[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            split_frame(&header),
            Err(ProtocolError::TooLong { .. })
        ));
        let mut small = encode(Kind::Error, b"");
        small[8..12].copy_from_slice(&(MAX_SMALL + 1).to_le_bytes());
        assert!(matches!(
            split_frame(&small),
            Err(ProtocolError::TooLong { .. })
        ));
    }

    #[test]
    fn malformed_payloads_are_errors_not_panics() {
        for (kind, payload) in [
            (Kind::Usage, &b"short"[..]),
            (Kind::Fingerprint, b"{\"duration_s\":"),
            (Kind::Error, b"\xff\xfe"),
            (Kind::Still, b"{}"),
            (Kind::Ready, b"[[[[[[[[[["),
            (Kind::Request, b""),
        ] {
            let frame = encode(kind, payload);
            let (header, payload, _) = split_frame(&frame).expect("header").expect("whole");
            assert!(decode_response(header, payload).is_err(), "{kind:?}");
        }
        // Deep nesting stays within serde_json's recursion limit.
        let deep = "[".repeat(100_000);
        let frame = encode(Kind::Ready, deep.as_bytes());
        assert_eq!(fuzz_responses(&frame), 0);
    }

    #[test]
    fn seeded_garbage_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = usage_frame();
        for round in 0..20_000 {
            let mut data: Vec<u8> = if round % 2 == 0 {
                valid.clone()
            } else {
                (0..(next() % 64)).map(|_| next() as u8).collect()
            };
            if !data.is_empty() {
                for _ in 0..(next() % 4) {
                    let at = (next() as usize) % data.len();
                    data[at] = next() as u8;
                }
            }
            fuzz_responses(&data);
        }
    }
}
