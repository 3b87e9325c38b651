//! The hostile corpus: about fifty files a crawler could hand the daemon, made at test time
//! with the `ffmpeg` CLI, coreutils and a few bytes written by hand (nothing is committed).
//! Each comes with the outcomes that are right for it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every failure kind that is the file's own fault (what a hostile file may rightly earn).
pub const FILE_FAULTS: &[&str] = &[
    "empty",
    "unrecognized",
    "no_video_stream",
    "no_decoder",
    "too_large",
    "too_long",
    "truncated",
    "corrupt",
    "not_a_video",
    "ffmpeg",
];

/// One file and the outcomes accepted for it: `succeeded`, a job's `error_kind`, or `http
/// NNN` when the upload itself must be refused.
pub struct Case {
    pub name: String,
    pub path: PathBuf,
    pub accepted: Vec<&'static str>,
}

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg CLI is needed to make the hostile corpus");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sh(script: &str) {
    let status = Command::new("sh")
        .args(["-c", script])
        .status()
        .expect("sh");
    assert!(status.success(), "{script}");
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// A seeded xorshift, so every run flips the same bits.
struct Bits(u64);

impl Bits {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

/// A ZIP archive holding `inflated` zero bytes, deflated by `gzip` (its raw deflate stream
/// between the 10-byte header and the 8-byte trailer is exactly a ZIP member's data).
fn zip_bomb(dir: &Path, inflated: u64) -> Vec<u8> {
    let gz = dir.join("zeros.gz");
    sh(&format!(
        "head -c {inflated} /dev/zero | gzip -n -9 > '{}'",
        s(&gz)
    ));
    let gz = std::fs::read(&gz).expect("gzip output");
    let (deflate, trailer) = gz[10..].split_at(gz.len() - 18);
    let (crc, size) = (&trailer[..4], &trailer[4..8]);
    let name = b"zeros.bin";
    let mut local = vec![0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0];
    local.extend_from_slice(crc);
    local.extend_from_slice(&(deflate.len() as u32).to_le_bytes());
    local.extend_from_slice(size);
    local.extend_from_slice(&(name.len() as u16).to_le_bytes());
    local.extend_from_slice(&[0, 0]);
    local.extend_from_slice(name);
    let central_at = local.len() + deflate.len();
    let mut central = vec![0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0];
    central.extend_from_slice(crc);
    central.extend_from_slice(&(deflate.len() as u32).to_le_bytes());
    central.extend_from_slice(size);
    central.extend_from_slice(&(name.len() as u16).to_le_bytes());
    central.extend_from_slice(&[0; 12]);
    central.extend_from_slice(name);
    let mut end = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0];
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&(central_at as u32).to_le_bytes());
    end.extend_from_slice(&[0, 0]);
    [local, deflate.to_vec(), central, end].concat()
}

/// A PNG whose IHDR claims `width` x `height`, with no image data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0d".to_vec();
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    png.extend_from_slice(b"\0\0\0\0IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    png
}

/// Overwrites the big-endian u32 `field` (0 = the atom's first field after version/flags)
/// of every `atom` box of a version-0 MP4 header.
fn patch_atom(bytes: &mut [u8], atom: &[u8; 4], field: usize, value: u32) {
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(4).position(|w| w == atom) {
        let at = from + at;
        let offset = at + 4 + 4 + field * 4;
        bytes[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
        from = at + 4;
    }
}

/// Makes the corpus in `dir`. Slow parts (a 1 GiB gzip bomb, a 4096² encode) take seconds.
pub fn make(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &str, bytes: &[u8], accepted: &[&'static str]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write corpus file");
        cases.push(Case {
            name: name.to_string(),
            path,
            accepted: accepted.to_vec(),
        });
    };
    let clip = |name: &str, input: &str, out_args: &[&str]| -> Vec<u8> {
        let path = dir.join(format!("src-{name}"));
        let mut args = vec!["-f", "lavfi", "-i", input];
        args.extend_from_slice(out_args);
        args.push(s(&path));
        ffmpeg(&args);
        std::fs::read(&path).expect("generated clip")
    };
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-bf",
        "3",
        "-threads",
        "1",
    ];
    let av = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "-f",
            "lavfi",
            "-i",
            "sine=d=6",
            "-c:a",
            "aac",
            "-shortest",
            "-pix_fmt",
            "yuv420p",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(x264.iter().map(|s| s.to_string()));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let video = "testsrc2=s=360x640:r=30:d=6";
    let owned = av(&[]);
    let at_end = clip(
        "at_end.mp4",
        video,
        &owned.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let owned = av(&["-movflags", "+faststart"]);
    let fast = clip(
        "fast.mp4",
        video,
        &owned.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mdat = find(&fast, b"mdat");

    // The controls: the same bytes, untouched, must scan.
    add("control_faststart.mp4", &fast, &["succeeded"]);
    add("control_moov_at_end.mp4", &at_end, &["succeeded"]);

    // Truncations. With the index at the end, any cut loses it; with faststart, a cut in the
    // index is unreadable, a cut in the data is truncated, and the last few percent are a
    // damaged but usable file (the stream still covers 85% of its declared length).
    for pct in [1usize, 10, 50, 90, 99] {
        add(
            &format!("truncated_moov_at_end_{pct:02}pct.mp4"),
            &at_end[..at_end.len() * pct / 100],
            &["unrecognized"],
        );
        let cut = fast.len() * pct / 100;
        let accepted: &[&str] = if cut <= mdat {
            &["unrecognized"]
        } else if pct >= 90 {
            &["truncated", "succeeded"]
        } else {
            &["truncated", "corrupt"]
        };
        add(
            &format!("truncated_faststart_{pct:02}pct.mp4"),
            &fast[..cut],
            accepted,
        );
    }

    // Seeded bit flips in the header (the moov box) and in the payload (mdat).
    let any: Vec<&'static str> = FILE_FAULTS.iter().copied().chain(["succeeded"]).collect();
    for seed in 1..=5u64 {
        let mut bits = Bits(seed * 0x9e37_79b9_7f4a_7c15);
        let mut header = fast.clone();
        for _ in 0..8 {
            let at = 32 + bits.below(mdat - 32);
            header[at] ^= 1 << bits.below(8);
        }
        add(&format!("bitflip_header_seed{seed}.mp4"), &header, &any);
        let mut payload = fast.clone();
        for _ in 0..64 {
            let at = mdat + 8 + bits.below(fast.len() - mdat - 8);
            payload[at] ^= 1 << bits.below(8);
        }
        add(&format!("bitflip_payload_seed{seed}.mp4"), &payload, &any);
    }

    // Nothing at all, and nothing but zeros.
    add("empty.mp4", b"", &["empty", "http 400", "http 411"]);
    add("zeros_4k.mp4", &[0; 4096], &["unrecognized"]);
    add("zeros_1m.mp4", &vec![0; 1 << 20], &["unrecognized"]);

    // Other kinds of file named .mp4, bombs included.
    add(
        "text.mp4",
        "just words, no video\n".repeat(200).as_bytes(),
        &["unrecognized"],
    );
    add(
        "html.mp4",
        b"<!doctype html><html><body><video src=x.mp4></video></body></html>",
        &["unrecognized"],
    );
    add(
        "pdf.mp4",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        &["unrecognized"],
    );
    add(
        "elf.mp4",
        &std::fs::read("/bin/true").expect("/bin/true"),
        &["unrecognized"],
    );
    add(
        "zip_bomb_256mib.mp4",
        &zip_bomb(dir, 256 << 20),
        &["unrecognized"],
    );
    let gz = dir.join("bomb.gz");
    sh(&format!(
        "head -c {} /dev/zero | gzip -9 > '{}'",
        1u64 << 30,
        s(&gz)
    ));
    add(
        "gzip_bomb_1gib.mp4",
        &std::fs::read(&gz).expect("gzip bomb"),
        &["unrecognized"],
    );

    // Audio only.
    let audio = "sine=d=3";
    add(
        "audio_aac_in_mp4.mp4",
        &clip("a.m4a", audio, &["-c:a", "aac"]),
        &["no_video_stream"],
    );
    add(
        "audio_opus_in_ogg.mp4",
        &clip("a.ogg", audio, &["-c:a", "libopus"]),
        &["no_video_stream"],
    );
    // MP3 and WAV are not containers we read.
    add(
        "audio_mp3.mp4",
        &clip("a.mp3", audio, &[]),
        &["unrecognized", "no_video_stream"],
    );
    add(
        "audio_wav.mp4",
        &clip("a.wav", audio, &[]),
        &["unrecognized"],
    );

    // Still and animated images.
    let still = "testsrc=s=320x240";
    let one = ["-frames:v", "1", "-f", "image2pipe", "-c:v"];
    add(
        "image_png.mp4",
        &clip("i.png", still, &[&one[..], &["png"]].concat()),
        &["not_a_video"],
    );
    add(
        "image_jpeg.mp4",
        &clip("i.jpg", still, &[&one[..], &["mjpeg"]].concat()),
        &["not_a_video"],
    );
    add(
        "image_png_claims_100000sq.mp4",
        &png_claiming(100_000, 100_000),
        &["too_large"],
    );
    let anim = "testsrc=s=160x120:r=10:d=2";
    add(
        "animated_gif.mp4",
        &clip("a.gif", anim, &[]),
        &["not_a_video"],
    );
    add(
        "animated_webp.mp4",
        &clip("a.webp", anim, &["-loop", "0"]),
        &["not_a_video"],
    );
    add(
        "animated_apng.mp4",
        &clip("a.apng", anim, &["-f", "apng"]),
        &["not_a_video"],
    );

    // Pictures too large to decode: refused from what the container or the SPS declares.
    add(
        "h264_4096sq.mp4",
        &clip("big.mp4", "color=s=4096x4096:r=5:d=0.4", &x264),
        &["too_large"],
    );
    add(
        "mjpeg_8192sq.avi.mp4",
        &clip(
            "big.avi",
            "color=s=8192x8192:r=5:d=0.4",
            &["-c:v", "mjpeg", "-q:v", "31"],
        ),
        &["too_large"],
    );
    add(
        "h264_sps_8192sq.mp4",
        &clip(
            "big.h264",
            "color=s=8192x8192:r=5",
            &[
                &x264[..],
                &["-frames:v", "1", "-tune", "zerolatency", "-f", "h264"],
            ]
            .concat(),
        ),
        &["too_large"],
    );

    // Absurd declared durations and time bases: the header's 136 years count even though the
    // edit list says 6000 s, and timestamps past 6 hours are refused as they are demuxed.
    let mut huge = fast.clone();
    patch_atom(&mut huge, b"mvhd", 2, 1);
    patch_atom(&mut huge, b"mvhd", 3, u32::MAX);
    patch_atom(&mut huge, b"mdhd", 2, 1);
    patch_atom(&mut huge, b"mdhd", 3, u32::MAX);
    add("duration_136_years.mp4", &huge, &["too_long"]);
    let mut slow = fast.clone();
    patch_atom(&mut slow, b"mdhd", 2, 1);
    add("timebase_1s_per_tick.mp4", &slow, &["too_long"]);
    let mut zero = fast.clone();
    patch_atom(&mut zero, b"mdhd", 2, 0);
    // FFmpeg reads a zero time scale as 1: the same absurd timestamps.
    add("timebase_zero.mp4", &zero, &["too_long"]);

    // Hundreds of streams (the demuxer's limit is 64).
    let one_stream = dir.join("src-one.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=64x64:r=5:d=1",
        "-c:v",
        "mpeg4",
        s(&one_stream),
    ]);
    let many = dir.join("src-many.mkv");
    let mut args: Vec<&str> = vec!["-i", s(&one_stream)];
    for _ in 0..300 {
        args.extend(["-map", "0:v"]);
    }
    args.extend(["-c", "copy", s(&many)]);
    ffmpeg(&args);
    // Refused by count, not by FFmpeg running out of stream slots (which reads as ENOMEM).
    add(
        "streams_300.mkv.mp4",
        &std::fs::read(&many).expect("many"),
        &["unrecognized"],
    );

    cases
}
