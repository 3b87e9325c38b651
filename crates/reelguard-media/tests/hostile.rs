//! Hostile uploads are refused by what they are, before FFmpeg spends memory on them: only
//! allow-listed containers are read, oversized pictures are "too large" (declared in a
//! container, an SPS or an image header), and images are "not a video". Inputs are made with
//! the `ffmpeg` CLI (and a few bytes by hand) in a temporary directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use reelguard_media::{
    extract_still, fingerprint_fd, fingerprint_file, Demuxers, Limits, MediaError, Options,
};

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg CLI is needed to generate test inputs");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn quiet(_: reelguard_media::Progress) {}

fn kind(result: Result<reelguard_media::Fingerprint, MediaError>) -> String {
    match result {
        Ok(_) => "ok".to_string(),
        Err(e) => {
            eprintln!("{e}");
            e.kind().to_string()
        }
    }
}

/// A 2 s 64x64 test pattern in the container `ffmpeg` picks for `name`'s extension.
fn clip(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut args = vec!["-f", "lavfi", "-i", "testsrc=s=64x64:r=10:d=2"];
    args.extend_from_slice(extra);
    args.push(path.to_str().expect("utf-8 temp path"));
    ffmpeg(&args);
    path
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose IHDR claims `width` x `height` (with a valid CRC), followed by no image data.
fn png_claiming(path: &Path, width: u32, height: u32) {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0]);
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    std::fs::write(path, png).expect("write png");
}

#[test]
fn every_allowed_container_still_fingerprints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ];
    let mut cases = vec![
        clip(dir.path(), "a.mp4", &x264),
        clip(dir.path(), "a.mkv", &x264),
        clip(dir.path(), "a.ts", &x264),
        clip(dir.path(), "a.flv", &x264),
        clip(dir.path(), "a.avi", &x264),
        clip(dir.path(), "a.mpg", &["-c:v", "mpeg2video"]),
        clip(dir.path(), "a.ogv", &["-c:v", "libtheora"]),
    ];
    let mut raw = x264.to_vec();
    raw.extend_from_slice(&["-f", "h264"]);
    cases.push(clip(dir.path(), "a.h264", &raw));
    for path in cases {
        let result = fingerprint_file(&path, &Options::default(), &quiet);
        assert_eq!(kind(result), "ok", "{}", path.display());
    }
}

#[test]
fn a_container_off_the_allow_list_is_refused_as_unrecognized() {
    let dir = tempfile::tempdir().expect("tempdir");
    // NUT is a perfectly good container FFmpeg reads, but not one we mean to.
    let nut = clip(dir.path(), "a.nut", &["-c:v", "mpeg4"]);
    let result = fingerprint_file(&nut, &Options::default(), &quiet);
    match &result {
        Err(MediaError::Unrecognized { reason, .. }) => {
            assert!(reason.contains("allow-list"), "{reason}")
        }
        other => panic!("expected unrecognized, got {other:?}"),
    }
    // A narrowed list refuses what the default list reads.
    let mkv = clip(dir.path(), "a.mkv", &["-c:v", "mpeg4"]);
    let only_mp4 = Options {
        limits: Limits {
            demuxers: Demuxers::MP4,
            ..Limits::default()
        },
        ..Options::default()
    };
    assert_eq!(
        kind(fingerprint_file(&mkv, &only_mp4, &quiet)),
        "unrecognized"
    );
    assert_eq!(
        kind(fingerprint_file(&mkv, &Options::default(), &quiet)),
        "ok"
    );
    // Stills go through the same door.
    let still = extract_still(&nut, 0.5, 64, &Limits::default());
    assert!(
        matches!(still, Err(MediaError::Unrecognized { .. })),
        "{still:?}"
    );
}

#[test]
fn an_h264_stream_whose_sps_claims_8192_square_is_too_large() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.h264");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=s=8192x8192:r=5",
        "-frames:v",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-threads",
        "1",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "h264",
        big.to_str().expect("utf-8"),
    ]);
    match fingerprint_file(&big, &Options::default(), &quiet) {
        Err(MediaError::TooLarge { width, height, .. }) => {
            assert_eq!((width, height), (8192, 8192))
        }
        other => panic!("expected too_large, got {other:?}"),
    }
}

#[test]
fn images_are_not_videos_and_huge_image_headers_are_too_large() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("frame.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=64x64",
        "-frames:v",
        "1",
        "-c:v",
        "png",
        "-f",
        "image2pipe",
        png.to_str().expect("utf-8"),
    ]);
    let webp = clip(dir.path(), "anim.webp", &["-loop", "0"]);
    let gif = clip(dir.path(), "anim.gif", &[]);
    for path in [&png, &webp, &gif] {
        let result = fingerprint_file(path, &Options::default(), &quiet);
        assert!(
            matches!(result, Err(MediaError::Image { .. })),
            "{}: {result:?}",
            path.display()
        );
    }
    let huge = dir.path().join("huge.png");
    png_claiming(&huge, 100_000, 100_000);
    match fingerprint_file(&huge, &Options::default(), &quiet) {
        Err(MediaError::TooLarge { width, height, .. }) => {
            assert_eq!((width, height), (100_000, 100_000))
        }
        other => panic!("expected too_large, got {other:?}"),
    }
    let result = extract_still(&huge, 0.0, 64, &Limits::default());
    assert!(
        matches!(result, Err(MediaError::TooLarge { .. })),
        "{result:?}"
    );
}

#[test]
fn a_file_descriptor_fingerprints_like_its_path_and_errors_carry_the_given_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = clip(
        dir.path(),
        "a.mp4",
        &["-c:v", "libx264", "-preset", "ultrafast"],
    );
    let by_path = fingerprint_file(&path, &Options::default(), &quiet).expect("path");
    let file = File::open(&path).expect("open");
    let by_fd =
        fingerprint_fd(file, Path::new("upload-7"), &Options::default(), &quiet).expect("fd");
    assert_eq!(by_path.frames, by_fd.frames);
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "just words, no video").expect("write");
    let file = File::open(&text).expect("open");
    let error = fingerprint_fd(file, Path::new("upload-8"), &Options::default(), &quiet)
        .expect_err("text is no video");
    assert_eq!(error.path(), Path::new("upload-8"));
    assert_eq!(error.kind(), "unrecognized");
}

#[test]
fn a_fifo_is_refused_at_once_instead_of_waiting_for_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("never_ends.mp4");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let started = std::time::Instant::now();
    let result = fingerprint_file(&fifo, &Options::default(), &quiet);
    assert_eq!(kind(result), "io");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
