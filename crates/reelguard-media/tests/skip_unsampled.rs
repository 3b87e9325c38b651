//! Letting the decoder drop unsampled non-reference frames changes no sampled frame: the
//! fingerprint with `skip_unsampled` is bit-identical (times, hashes, mirrored hashes,
//! quality, regions) to the one that decodes every frame, on the fixture episodes and on
//! 30 fps uploads with B-frames made here with the `ffmpeg` CLI, with one decoder thread and
//! with frame threads. Needs the fixtures (`fixtures/generate`, or `REELGUARD_FIXTURES`).

use std::path::{Path, PathBuf};
use std::process::Command;

use reelguard_media::{fingerprint_file, Fingerprint, Options};

fn fixtures() -> PathBuf {
    let dir = std::env::var_os("REELGUARD_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    assert!(
        dir.join("originals/street_e1.mp4").exists(),
        "fixtures missing in {}: run fixtures/generate or set REELGUARD_FIXTURES",
        dir.display()
    );
    dir
}

fn fingerprint(path: &Path, skip_unsampled: bool, threads: usize) -> Fingerprint {
    let options = Options {
        skip_unsampled,
        decoder_threads: threads,
        ..Options::default()
    };
    fingerprint_file(path, &options, &|_| {}).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fingerprints `path` both ways and asserts the same samples; returns frames decoded
/// (every frame, with skipping).
fn assert_same_samples(path: &Path, threads: usize) -> (u64, u64) {
    let all = fingerprint(path, false, threads);
    let skipped = fingerprint(path, true, threads);
    let name = path.display();
    assert!(!all.frames.is_empty(), "{name}: no samples");
    assert_eq!(
        all.frames.len(),
        skipped.frames.len(),
        "{name}: sample count"
    );
    for (a, b) in all.frames.iter().zip(&skipped.frames) {
        // Bit-identical, not merely close: the same frame was decoded to the same pixels.
        assert_eq!(
            a.t.to_bits(),
            b.t.to_bits(),
            "{name}: sample time {} vs {}",
            a.t,
            b.t
        );
        assert_eq!(a.hash, b.hash, "{name} at {:.3} s: hash", a.t);
        assert_eq!(
            a.mirrored, b.mirrored,
            "{name} at {:.3} s: mirrored hash",
            a.t
        );
        assert_eq!(a.quality, b.quality, "{name} at {:.3} s: quality", a.t);
    }
    assert_eq!(all.regions, skipped.regions, "{name}: content regions");
    assert_eq!(
        all.duration_s.to_bits(),
        skipped.duration_s.to_bits(),
        "{name}: duration"
    );
    assert_eq!(all.stats.packets_skippable, 0, "{name}: skipping was off");
    (all.stats.frames_decoded, skipped.stats.frames_decoded)
}

/// Re-encodes 8 s of a fixture episode at 30 fps with `codec_args` into `dir`.
fn upload(dir: &Path, name: &str, codec_args: &[&str]) -> PathBuf {
    let source = fixtures().join("originals/blupi_e1.mp4");
    let out = dir.join(name);
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&source)
        .args(["-t", "8", "-an", "-pix_fmt", "yuv420p"])
        .args(codec_args)
        .arg(&out)
        .output()
        .expect("the ffmpeg CLI is needed to make test uploads");
    assert!(
        output.status.success(),
        "ffmpeg {codec_args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn fixture_episodes_sample_the_same_frames_with_fewer_decoded() {
    let dir = fixtures().join("originals");
    let mut episodes: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("originals directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mp4"))
        .collect();
    episodes.sort();
    assert!(episodes.len() >= 10, "{} episodes", episodes.len());
    for episode in &episodes {
        let (all, skipped) = assert_same_samples(episode, 1);
        eprintln!("{}: decoded {skipped} of {all} frames", episode.display());
        assert!(
            skipped * 10 < all * 9,
            "{}: {skipped} of {all} frames decoded: x264's B-frames were not dropped",
            episode.display()
        );
    }
}

#[test]
fn frame_threads_read_the_per_packet_setting_at_submission() {
    for episode in ["street_e1.mp4", "blupi_e2.mp4"] {
        let path = fixtures().join("originals").join(episode);
        let (all, skipped) = assert_same_samples(&path, 2);
        assert!(
            skipped < all,
            "{episode}: {skipped} of {all} decoded with 2 threads"
        );
        let (_, skipped4) = assert_same_samples(&path, 4);
        assert!(
            skipped4 < all,
            "{episode}: {skipped4} of {all} decoded with 4 threads"
        );
    }
}

#[test]
fn uploads_with_b_frames_sample_the_same_frames() {
    let dir = tempfile::tempdir().expect("temp dir");
    let x264 = ["-c:v", "libx264", "-preset", "veryfast", "-threads", "1"];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        // x264's default B-pyramid: the middle B-frame of three is a reference.
        ("bf3.mp4", [&x264[..], &["-r", "30", "-bf", "3"]].concat()),
        // No pyramid: every B-frame is droppable.
        (
            "bf3_flat.mp4",
            [
                &x264[..],
                &["-r", "30", "-bf", "3", "-x264-params", "b-pyramid=none"],
            ]
            .concat(),
        ),
        // NTSC rate, Matroska's millisecond time base: timestamps are not multiples of 1/30.
        (
            "bf3_ntsc.mkv",
            [&x264[..], &["-r", "30000/1001", "-bf", "3"]].concat(),
        ),
        // Fragmented MP4, the way many crawled uploads are muxed.
        (
            "bf2_frag.mp4",
            [
                &x264[..],
                &[
                    "-r",
                    "30",
                    "-bf",
                    "2",
                    "-movflags",
                    "frag_keyframe+empty_moov",
                ],
            ]
            .concat(),
        ),
        (
            "hevc_bf4.mp4",
            vec![
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-r",
                "30",
                "-x265-params",
                "bframes=4:pools=1:frame-threads=1:log-level=error",
            ],
        ),
    ];
    for (name, args) in &cases {
        let path = upload(dir.path(), name, args);
        for threads in [1, 2] {
            let (all, skipped) = assert_same_samples(&path, threads);
            eprintln!("{name}, {threads} thread(s): decoded {skipped} of {all} frames");
            assert!(
                skipped < all,
                "{name}: nothing dropped ({skipped} of {all})"
            );
        }
    }
}
