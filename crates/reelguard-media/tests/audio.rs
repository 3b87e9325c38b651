//! Audio in the video's pass (module `audio`): decoding it changes nothing about the video's
//! fingerprint, a file without sound has no audio print, and the key-frame pass asked for no
//! audio decodes none. Clips are made with the `ffmpeg` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use reelguard_media::{fingerprint_file, DecodeMode, Options};

fn clip(dir: &Path, name: &str, audio: Option<&str>) -> PathBuf {
    let path = dir.join(name);
    let mut command = Command::new("ffmpeg");
    command
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=s=180x320:r=25:d=5");
    if let Some(source) = audio {
        command.args(["-f", "lavfi", "-i", source, "-c:a", "aac", "-shortest"]);
    }
    let status = command
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .arg(&path)
        .status()
        .expect("the ffmpeg CLI is needed to generate test clips");
    assert!(status.success());
    path
}

#[test]
fn audio_rides_along_without_changing_the_video_fingerprint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = clip(dir.path(), "sound.mp4", Some("anoisesrc=c=pink:a=0.3:d=5"));
    let quiet = |_| {};
    let with = fingerprint_file(&path, &Options::default(), &quiet).expect("with audio");
    let without = fingerprint_file(
        &path,
        &Options {
            audio_speeds: Vec::new(),
            ..Options::default()
        },
        &quiet,
    )
    .expect("without audio");
    assert_eq!(with.frames, without.frames);
    assert_eq!(without.audio, None);
    let audio = with.audio.expect("the clip has sound");
    assert_eq!(audio.codec, "aac");
    assert_eq!(audio.tracks.len(), 1);
    let track = &audio.tracks[0];
    assert_eq!(track.hashes.len(), track.quality.len());
    assert!(track.hashes.len() > 120, "{} windows", track.hashes.len());
    // Pink noise at a third of full scale is loud: every window is usable.
    assert!(track.quality.iter().all(|&q| q >= 8));
    assert!(track.time(0) < 0.1 && track.time(track.hashes.len() - 1) > 4.0);

    let keyframes = Options {
        mode: DecodeMode::Keyframes,
        audio_speeds: Vec::new(),
        ..Options::default()
    };
    assert_eq!(
        fingerprint_file(&path, &keyframes, &quiet)
            .expect("kf")
            .audio,
        None
    );

    let silent = clip(dir.path(), "silent.mp4", None);
    let print = fingerprint_file(&silent, &Options::default(), &quiet).expect("no audio");
    assert_eq!(print.audio, None);
    assert!(!print.frames.is_empty());
}
