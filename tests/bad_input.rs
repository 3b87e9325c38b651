//! Bad input gets a clear, typed error naming the file, in bounded time, and never takes the
//! other files of the same run down with it.

mod support;

use std::path::Path;
use std::time::Duration;

use reelguard_media::{fingerprint_file, Limits, MediaError, Options};
use support::{fixtures, json_lines, reelguard};

fn bad(name: &str) -> String {
    fixtures().join("bad").join(name).display().to_string()
}

fn quiet(_: reelguard_media::Progress) {}

/// (file, accepted error kinds); an empty list means the file must fingerprint fine.
const CASES: &[(&str, &[&str])] = &[
    ("empty.mp4", &["empty"]),
    // Without `faststart` the index is at the end: the container cannot even be opened.
    ("truncated.mp4", &["unrecognized", "truncated"]),
    ("truncated_faststart.mp4", &["truncated"]),
    ("corrupt.mp4", &["corrupt", "truncated"]),
    ("garbage.mp4", &["unrecognized"]),
    ("audio_only.m4a", &["no_video_stream"]),
    ("audio_only.mp4", &["no_video_stream"]),
    ("not_video.mp4", &["unrecognized"]),
    ("image.mp4", &["not_a_video"]),
    ("huge.mp4", &["too_large"]),
    ("mislabelled.mp4", &[]),
    ("tiny.mp4", &[]),
];

#[test]
fn every_bad_file_gets_its_own_error_and_good_files_still_succeed() {
    let files: Vec<String> = CASES.iter().map(|(name, _)| bad(name)).collect();
    let mut args = vec!["fingerprint", "--json"];
    args.extend(files.iter().map(String::as_str));
    let output = reelguard(&args, Duration::from_secs(120));
    assert_eq!(
        output.status.code(),
        Some(1),
        "some files failed, so exit 1"
    );
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), CASES.len(), "one line per file, in order");
    for ((name, kinds), line) in CASES.iter().zip(&lines) {
        assert_eq!(line["file"].as_str(), Some(bad(name).as_str()));
        if kinds.is_empty() {
            assert!(line.get("error").is_none(), "{name} should succeed: {line}");
            assert!(
                line["frames_hashed"].as_u64().unwrap_or(0) > 0,
                "{name}: {line}"
            );
        } else {
            let kind = line["error_kind"].as_str().unwrap_or("none");
            assert!(
                kinds.contains(&kind),
                "{name}: expected {kinds:?}, got {line}"
            );
            let message = line["error"].as_str().unwrap_or("");
            assert!(
                message.contains(name),
                "error must name the file: {message}"
            );
        }
    }
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let result = fingerprint_file(
        Path::new("/nonexistent/episode.mp4"),
        &Options::default(),
        &quiet,
    );
    assert!(matches!(result, Err(MediaError::Io { .. })), "{result:?}");
}

#[test]
fn a_directory_is_not_a_video() {
    let result = fingerprint_file(fixtures(), &Options::default(), &quiet);
    assert!(result.is_err());
}

#[test]
fn decode_time_is_bounded() {
    let options = Options {
        limits: Limits {
            max_decode_time: Duration::from_millis(1),
            ..Limits::default()
        },
        ..Options::default()
    };
    let file = fixtures().join("originals/street_e1.mp4");
    let result = fingerprint_file(&file, &options, &quiet);
    assert!(
        matches!(result, Err(MediaError::Timeout { .. })),
        "{result:?}"
    );
}

#[test]
fn duration_is_bounded() {
    let options = Options {
        limits: Limits {
            max_duration: Duration::from_secs(2),
            ..Limits::default()
        },
        ..Options::default()
    };
    let file = fixtures().join("originals/street_e1.mp4");
    let result = fingerprint_file(&file, &options, &quiet);
    assert!(
        matches!(result, Err(MediaError::TooLong { .. })),
        "{result:?}"
    );
}

#[test]
fn pixel_count_is_bounded_before_decoding() {
    let result = fingerprint_file(
        &fixtures().join("bad/huge.mp4"),
        &Options::default(),
        &quiet,
    );
    match result {
        Err(MediaError::TooLarge { width, height, .. }) => {
            assert_eq!((width, height), (4096, 4096))
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}
