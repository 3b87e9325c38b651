//! The audio signal end to end (issue 14), through the real `reelguard` binary: episodes
//! whose picture is fixture footage and whose sound is `espeak-ng` speech over pink noise,
//! pirated with the `ffmpeg` CLI, registered and scanned. Each audio variant is found by
//! the audio signal at the right episode and speed, the still cover by audio alone, the
//! re-dub carries `redubbed`, and unrelated speech matches nothing. Through the daemon, the
//! workbench names the signals that found each segment and shows the re-dub tag.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::web::Web;
use support::{fixtures, json_lines, matches_of, reelguard, register_work, submit_suspect, Site};

const LINES: [&str; 3] = [
    "The heir returns to the family house after ten years. Nobody recognises him at the \
     gate, and his sister calls the guards. He laughs, hands over the ring, and asks for the \
     old room above the garden where his mother used to read. The servants whisper that the \
     will was changed the night before the fire, and the lawyer has not been seen since.",
    "Rain fell on the harbour all night. The captain counted the crates twice, then sent the \
     boy to wake the doctor, because one of the sailors had not come back from the lighthouse \
     and the lamp was dark. At dawn a fishing boat found an empty coat floating by the rocks.",
    "The contest starts at noon in the old theatre. Three singers remain, and the judges \
     argue in the corridor about the girl from the north, whose voice cracked on the last \
     note but whose song made the whole hall stand. Her teacher waits outside with flowers.",
];

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("the ffmpeg CLI is needed");
    assert!(status.success(), "ffmpeg {args:?}");
}

fn speech(dir: &Path, name: &str, voice: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wav"));
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng is needed (fixtures/install-deps)");
    assert!(status.success());
    path
}

/// `picture`'s first 24 s with `sound` (mixed with quiet pink noise) as its audio.
fn episode(dir: &Path, name: &str, picture: &Path, sound: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.mp4"));
    let (picture, sound, out_s) = (picture.to_str(), sound.to_str(), out.to_str());
    ffmpeg(&[
        "-t",
        "24",
        "-i",
        picture.unwrap_or_default(),
        "-i",
        sound.unwrap_or_default(),
        "-f",
        "lavfi",
        "-t",
        "24",
        "-i",
        "anoisesrc=c=pink:a=0.02",
        "-filter_complex",
        "[1:a]apad,atrim=0:24[s];[s][2:a]amix=inputs=2:normalize=0[a]",
        "-map",
        "0:v",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-ar",
        "44100",
        "-t",
        "24",
        out_s.unwrap_or_default(),
    ]);
    out
}

fn scan(data: &str, file: &Path) -> Value {
    let file = file.display().to_string();
    let output = reelguard(
        &["scan", "--data", data, "--json", &file],
        Duration::from_secs(600),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_lines(&output.stdout).pop().expect("scan JSON");
    eprintln!("{file}: {report}");
    report
}

/// The segments of `report` found by the audio signal (alone or with video), with their
/// episode number.
fn audio_segments(report: &Value) -> Vec<(u64, Value)> {
    let mut out = Vec::new();
    for m in report["matches"].as_array().into_iter().flatten() {
        for s in m["segments"].as_array().into_iter().flatten() {
            let signals = s["signals"].as_array().cloned().unwrap_or_default();
            if signals.iter().any(|n| n == "audio_hk32") {
                out.push((m["episode"].as_u64().unwrap_or(0), s.clone()));
            }
        }
    }
    out
}

#[test]
fn audio_finds_sped_up_still_cover_and_redubbed_copies_and_nothing_unrelated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // Only the originals are needed: use them as soon as they are complete.
    let originals = std::env::var_os("REELGUARD_FIXTURES")
        .map(PathBuf::from)
        .filter(|d| d.join("originals/MANIFEST.tsv").exists())
        .unwrap_or_else(|| fixtures().to_path_buf())
        .join("originals");
    let a = speech(dir, "a", "en", LINES[0]);
    let b = speech(dir, "b", "en-us", LINES[1]);
    let ep1 = episode(dir, "ep1", &originals.join("street_e1.mp4"), &a);
    let ep2 = episode(dir, "ep2", &originals.join("street_e2.mp4"), &b);
    let data = dir.join("data");
    let data = data.to_str().unwrap_or_default();
    let (ep1_s, ep2_s) = (ep1.display().to_string(), ep2.display().to_string());
    let out = reelguard(
        &[
            "register",
            "--data",
            data,
            "--work",
            "Audio drama",
            &ep1_s,
            &ep2_s,
        ],
        Duration::from_secs(600),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ep1_str = ep1.to_str().unwrap_or_default();
    let variant = |name: &str, args: &[&str]| {
        let path = dir.join(format!("{name}.mp4"));
        let mut all = vec!["-i", ep1_str];
        all.extend_from_slice(args);
        all.push(path.to_str().unwrap_or_default());
        ffmpeg(&all);
        path
    };
    // (variant, speed the audio must be found at)
    let sped = [
        (
            variant(
                "tempo125",
                &["-filter:v", "setpts=PTS/1.25", "-filter:a", "atempo=1.25"],
            ),
            1.25,
        ),
        (
            variant(
                "pitch125",
                &[
                    "-filter:v",
                    "setpts=PTS/1.25",
                    "-filter:a",
                    "asetrate=55125,aresample=44100",
                ],
            ),
            1.25,
        ),
        (
            variant("aac24k", &["-c:v", "copy", "-c:a", "aac", "-b:a", "24k"]),
            1.0,
        ),
    ];
    for (path, speed) in &sped {
        let report = scan(data, path);
        let found = audio_segments(&report);
        assert!(
            found.iter().any(|(ep, s)| *ep == 1
                && (s["speed"].as_f64().unwrap_or(0.0) / speed - 1.0).abs() <= 0.05),
            "{}: audio did not find episode 1 at {speed}x: {report}",
            path.display()
        );
        assert!(found.iter().all(|(ep, _)| *ep == 1), "{report}");
    }

    // Audio over a still cover: one picture from another fixture, the episode's sound.
    let cover = dir.join("cover.mp4");
    let still = originals.join("street_e4.mp4");
    ffmpeg(&[
        "-ss",
        "3",
        "-t",
        "0.04",
        "-i",
        still.to_str().unwrap_or_default(),
        "-i",
        ep1_str,
        "-filter_complex",
        "[0:v]loop=loop=-1:size=1,fps=25,trim=0:24,setpts=N/25/TB[v]",
        "-map",
        "[v]",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-t",
        "24",
        cover.to_str().unwrap_or_default(),
    ]);
    let report = scan(data, &cover);
    let matches = report["matches"].as_array().cloned().unwrap_or_default();
    assert_eq!(matches.len(), 1, "{report}");
    assert_eq!(matches[0]["episode"], 1);
    let segments = matches[0]["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!segments.is_empty());
    assert!(
        segments
            .iter()
            .all(|s| s["signals"] == serde_json::json!(["audio_hk32"])),
        "audio only: {report}"
    );

    // A re-dub: the same picture, other lines in another voice.
    let redub_voice = speech(dir, "redub", "en+f3", LINES[2]);
    let redub = episode(dir, "redub", &ep1, &redub_voice);
    let report = scan(data, &redub);
    let matches = report["matches"].as_array().cloned().unwrap_or_default();
    assert!(
        matches
            .iter()
            .any(|m| m["episode"] == 1 && m["tags"] == serde_json::json!(["redubbed"])),
        "{report}"
    );
    assert!(audio_segments(&report).is_empty(), "{report}");

    // Unrelated: other footage, other speech.
    let other_voice = speech(dir, "other", "en", LINES[2]);
    let unrelated = episode(
        dir,
        "unrelated",
        &originals.join("street_e4.mp4"),
        &other_voice,
    );
    let report = scan(data, &unrelated);
    assert!(audio_segments(&report).is_empty(), "{report}");
    assert_eq!(report["matches"], serde_json::json!([]), "{report}");
}

/// The fixture originals, as soon as they are complete.
fn originals() -> PathBuf {
    std::env::var_os("REELGUARD_FIXTURES")
        .map(PathBuf::from)
        .filter(|d| d.join("originals/MANIFEST.tsv").exists())
        .unwrap_or_else(|| fixtures().to_path_buf())
        .join("originals")
}

#[test]
fn the_workbench_names_the_signals_of_each_segment_and_tags_the_redub() {
    let site = Site::start(&[]);
    let dir = site.tmp.path();
    let studio = site.key("studio", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let a = speech(dir, "a", "en", LINES[0]);
    let ep1 = episode(dir, "ep1", &originals().join("street_e1.mp4"), &a);
    register_work(&site.daemon, &studio, "Audio drama", None, &ep1);

    // A plain re-encode: picture and sound both found it. A re-dub: the picture alone.
    let copy = dir.join("copy.mp4");
    ffmpeg(&[
        "-i",
        ep1.to_str().unwrap_or_default(),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "30",
        "-c:a",
        "aac",
        "-b:a",
        "48k",
        copy.to_str().unwrap_or_default(),
    ]);
    let redub_voice = speech(dir, "redub", "en+f3", LINES[2]);
    let redub = episode(dir, "redub", &ep1, &redub_voice);

    let mut web = Web::new(&site.daemon);
    web.log_in(&reviewer);
    let page_of = |web: &mut Web, file: &Path| {
        let suspect = submit_suspect(&site.daemon, &crawler, &[], file)["suspect_id"]
            .as_i64()
            .expect("suspect_id");
        let found = matches_of(&site.daemon, &reviewer, suspect);
        assert_eq!(found.len(), 1, "{}: {found:?}", file.display());
        let id = found[0]["id"].as_i64().expect("match id");
        let page = web.get(&format!("/ui/matches/{id}"));
        assert_eq!(page.status, 200, "{}", page.body);
        page.body
    };

    let body = page_of(&mut web, &copy);
    assert!(
        body.contains("data-signals=\"video_phash,audio_hk32\""),
        "the copy's segments name both signals: {body}"
    );
    // In the workbench's default language: 画面 (picture) + 声音 (sound), 重配音 (re-dubbed).
    assert!(body.contains("画面 + 声音"), "{body}");
    assert!(!body.contains("redubbed"), "{body}");

    let body = page_of(&mut web, &redub);
    assert!(
        body.contains("data-signals=\"video_phash\"") && !body.contains("audio_hk32"),
        "the re-dub was found by the picture alone: {body}"
    );
    let edits = body
        .split("data-edits=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert!(
        edits.split(',').any(|e| e == "redubbed"),
        "edits {edits:?}: {body}"
    );
    assert!(body.contains("重配音"), "{body}");
}
