//! Evidence stills against small clips generated with the `ffmpeg` CLI: the right frame at
//! colour changes and GOP boundaries, display-aspect sizing, and typed errors for bad files.

use std::path::{Path, PathBuf};
use std::process::Command;

use reelguard_media::{encode_jpeg, extract_still, Limits, MediaError};

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg CLI is needed to generate test clips");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Encodes the lavfi `source` to `out` with x264 (ultrafast), `options` going before the
/// codec's.
fn x264(source: &str, options: &[&str], out: &Path) {
    let out = out.to_str().expect("utf-8 temp path");
    let mut args = vec!["-f", "lavfi", "-i", source];
    args.extend_from_slice(options);
    args.extend_from_slice(&["-c:v", "libx264", "-preset", "ultrafast", out]);
    ffmpeg(&args);
}

/// 720x1280, 25 fps: red for 2 s, then blue for 2 s. H.264 with one key frame every 50 frames
/// (at 0 s and 2 s) and two B-frames between references, so the key frame at 2 s is *decoded*
/// before it is *displayed* and a seek to 1.98 s in the container's (decode-time) index lands
/// on it — exactly the case the still must not get wrong.
fn red_then_blue(dir: &Path) -> PathBuf {
    let path = dir.join("red_blue.mp4");
    x264(
        "color=c=red:s=720x1280:r=25:d=4,\
         drawbox=x=0:y=0:w=iw:h=ih:color=blue:t=fill:enable='gte(t,2)'",
        &[
            "-pix_fmt",
            "yuv420p",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-x264-params",
            "bframes=2:b-adapt=0:scenecut=0",
        ],
        &path,
    );
    path
}

#[derive(Debug, PartialEq)]
enum Colour {
    Red,
    Blue,
    Other([u8; 3]),
}

fn colour(image: &image::RgbImage) -> Colour {
    let n = (image.width() * image.height()) as u64;
    let mut sum = [0u64; 3];
    for p in image.pixels() {
        for c in 0..3 {
            sum[c] += p[c] as u64;
        }
    }
    let mean = sum.map(|s| (s / n.max(1)) as u8);
    match mean {
        [r, g, b] if r > 200 && g < 60 && b < 60 => Colour::Red,
        [r, g, b] if b > 200 && r < 60 && g < 60 => Colour::Blue,
        other => Colour::Other(other),
    }
}

#[test]
fn the_still_is_the_frame_displayed_at_the_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = red_then_blue(dir.path());
    // The same stream in containers that seek differently: FLV lands on the key frame
    // displayed after 1.98 s, MPEG-TS on arbitrary packets (even after the last key frame).
    let mut clips = vec![mp4.clone()];
    for ext in ["ts", "flv", "mkv"] {
        let remuxed = dir.path().join(format!("red_blue.{ext}"));
        ffmpeg(&[
            "-i",
            mp4.to_str().expect("utf-8 temp path"),
            "-c",
            "copy",
            remuxed.to_str().expect("utf-8 temp path"),
        ]);
        clips.push(remuxed);
    }
    let limits = Limits::default();
    let cases = [
        (0.0, Colour::Red),
        (0.5, Colour::Red),
        // Mid-GOP, and right after the first frame.
        (0.04, Colour::Red),
        (1.0, Colour::Red),
        // Last red frame (1.96 s) is displayed until 2.0 s, the key frame that is decoded
        // before 1.98 s.
        (1.98, Colour::Red),
        (2.0, Colour::Blue),
        (2.5, Colour::Blue),
        (3.0, Colour::Blue),
        // Past the end: the last frame.
        (99.0, Colour::Blue),
        (f64::INFINITY, Colour::Blue),
        // Before the start: clamped to the first frame.
        (-5.0, Colour::Red),
    ];
    for clip in &clips {
        for (at_s, expected) in &cases {
            let still = extract_still(clip, *at_s, 240, &limits)
                .unwrap_or_else(|e| panic!("{}: still at {at_s}: {e}", clip.display()));
            assert_eq!(
                &colour(&still),
                expected,
                "{}: still at {at_s} s",
                clip.display()
            );
        }
    }
}

#[test]
fn stills_keep_the_display_aspect_and_never_upscale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = red_then_blue(dir.path());
    let limits = Limits::default();
    let still = extract_still(&clip, 1.0, 240, &limits).expect("still");
    assert_eq!((still.width(), still.height()), (135, 240));
    let full = extract_still(&clip, 1.0, 4000, &limits).expect("still");
    assert_eq!((full.width(), full.height()), (720, 1280));

    // Anamorphic: 360x480 stored, sample aspect 2:1, displayed 720x480.
    let wide = dir.path().join("anamorphic.mp4");
    x264(
        "testsrc2=s=360x480:r=25:d=1,setsar=2/1",
        &["-pix_fmt", "yuv420p"],
        &wide,
    );
    let still = extract_still(&wide, 0.5, 240, &limits).expect("still");
    assert_eq!((still.width(), still.height()), (240, 160));
}

#[test]
fn bad_requests_and_bad_files_get_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits::default();

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    let result = extract_still(&empty, 1.0, 240, &limits);
    assert!(
        matches!(result, Err(MediaError::Empty { .. })),
        "{result:?}"
    );

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video, just some text\n".repeat(50)).expect("write");
    let result = extract_still(&text, 1.0, 240, &limits);
    assert!(
        matches!(result, Err(MediaError::Unrecognized { .. })),
        "{result:?}"
    );

    let audio = dir.path().join("audio.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
        "-c:a",
        "aac",
        audio.to_str().expect("utf-8 temp path"),
    ]);
    let result = extract_still(&audio, 0.5, 240, &limits);
    assert!(
        matches!(result, Err(MediaError::NoVideoStream { .. })),
        "{result:?}"
    );

    let missing = dir.path().join("missing.mp4");
    let result = extract_still(&missing, 0.5, 240, &limits);
    assert!(matches!(result, Err(MediaError::Io { .. })), "{result:?}");

    let clip = red_then_blue(dir.path());
    for (at_s, max_side) in [(f64::NAN, 240), (1.0, 0)] {
        let result = extract_still(&clip, at_s, max_side, &limits);
        match result {
            Err(e @ MediaError::InvalidRequest { .. }) => {
                assert_eq!(e.path(), clip.as_path());
                assert_eq!(e.kind(), "invalid_request");
            }
            other => panic!("({at_s}, {max_side}): {other:?}"),
        }
    }

    let tight = Limits {
        max_pixels: 640 * 480,
        ..Limits::default()
    };
    let result = extract_still(&clip, 1.0, 240, &tight);
    assert!(
        matches!(result, Err(MediaError::TooLarge { .. })),
        "{result:?}"
    );
}

#[test]
fn jpeg_round_trips() {
    let image = image::RgbImage::from_fn(135, 240, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let jpeg = encode_jpeg(&image, 85).expect("encode");
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "JPEG SOI marker");
    let decoded = image::load_from_memory(&jpeg).expect("decode").to_rgb8();
    assert_eq!(decoded.dimensions(), (135, 240));
    // Quality 0 is clamped rather than refused.
    assert!(encode_jpeg(&image, 0).is_ok());
}

#[test]
fn bt709_tagged_video_keeps_its_colours() {
    // Encoded with the BT.709 matrix and tagged so; read as BT.601 (swscale's default) this
    // orange would come back visibly off.
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("bt709.mp4");
    x264(
        "color=c=0xE08030:s=128x128:r=25:d=1",
        &[
            "-vf",
            "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
        ],
        &clip,
    );
    let still = extract_still(&clip, 0.5, 64, &Limits::default()).expect("still");
    let p = still.get_pixel(32, 32).0;
    let expected = [0xE0u8, 0x80, 0x30];
    for c in 0..3 {
        assert!(
            p[c].abs_diff(expected[c]) <= 6,
            "got {p:?}, expected about {expected:?}"
        );
    }
}
