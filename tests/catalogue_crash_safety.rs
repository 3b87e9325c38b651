//! The catalogue's crash-safety guarantee: a writer killed at any point leaves the catalogue
//! and its index consistent, with the last operation there whole or not at all; and a format
//! migration killed at any step leaves the old format or the new one, both openable.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reelguard_index::{Catalogue, MatchParams};
use reelguard_media::{fingerprint_file, Options};
use reelguard_pipeline::query_frames;
use support::{
    fixtures, json_lines, reelguard, reelguard_bin, reelguard_env, repo_root, KillOnDrop,
};

fn original(name: &str) -> String {
    fixtures()
        .join("originals")
        .join(format!("{name}.mp4"))
        .display()
        .to_string()
}

fn register_args<'a>(data: &'a str, title: &'a str, files: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["register", "--data", data, "--work", title];
    args.extend(files.iter().map(String::as_str));
    args
}

/// Opens the catalogue and checks it is internally consistent: every episode's frames read
/// back, and each registered work is found by a copy of its first episode.
fn check_consistent(data: &Path) -> Vec<(String, usize)> {
    let catalogue = Catalogue::open_read_only(data).expect("catalogue opens after a crash");
    let quiet = |_: reelguard_media::Progress| {};
    let mut works = Vec::new();
    for work in &catalogue.manifest().works {
        for episode in &work.episodes {
            let frames = catalogue.episode_frames(episode).expect("frames readable");
            assert_eq!(frames.len() as u64, episode.frame_count);
        }
        let first = work.episodes.first().expect("a work has episodes");
        let fp = fingerprint_file(Path::new(&first.file), &Options::default(), &quiet)
            .expect("fingerprint");
        let found = catalogue
            .find(&query_frames(&fp), &MatchParams::default())
            .expect("find");
        // The same file may be registered in several works (the SIGKILL loop does that), and
        // the matcher gives a stretch of suspect to one of them: any copy of it will do.
        let same_file = |work_id: &str, number: u32| {
            catalogue.manifest().work(work_id).is_some_and(|w| {
                w.episodes
                    .iter()
                    .any(|e| e.number == number && e.file == first.file)
            })
        };
        assert!(
            found.iter().any(|m| same_file(&m.work_id, m.episode)),
            "work {} is in the manifest but not matchable",
            work.title
        );
        works.push((work.title.clone(), work.episodes.len()));
    }
    works
}

#[test]
fn a_crash_at_each_commit_step_keeps_the_operation_whole_or_absent() {
    let first = [original("synth_e1")];
    let second = [original("synth_e2"), original("synth_e3")];
    for (step, survives) in [
        ("after-frames", false),
        ("after-stage", false),
        ("after-index-commit", true),
    ] {
        let data = tempfile::tempdir().expect("temp dir");
        let dir = data.path().display().to_string();
        let output = reelguard(
            &register_args(&dir, "First", &first),
            Duration::from_secs(120),
        );
        assert!(output.status.success());

        let crashed = reelguard_env(
            &register_args(&dir, "Second", &second),
            &[("REELGUARD_CRASH_AT", step)],
            Duration::from_secs(120),
        );
        assert!(
            !crashed.status.success(),
            "{step}: the writer should have died"
        );

        let works = check_consistent(data.path());
        let expected: Vec<(String, usize)> = if survives {
            vec![("First".into(), 1), ("Second".into(), 2)]
        } else {
            vec![("First".into(), 1)]
        };
        assert_eq!(works, expected, "after a crash {step}");

        // The catalogue keeps working: the next registration lands whole.
        let output = reelguard(
            &register_args(&dir, "Third", &second),
            Duration::from_secs(120),
        );
        assert!(
            output.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let works = check_consistent(data.path());
        assert_eq!(
            works.last(),
            Some(&("Third".to_string(), 2)),
            "after recovery from {step}"
        );
    }
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_half_written_catalogue() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().display().to_string();
    let files = [original("synth_e2"), original("synth_e3")];
    let mut registered = 0usize;
    // Deterministic spread of kill delays across the whole run (decode, append, commit).
    for delay_ms in [50u64, 150, 300, 450, 600, 800, 1100, 1500] {
        let mut child = KillOnDrop(
            Command::new(reelguard_bin())
                .args(register_args(&dir, "Drama", &files))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn register"),
        );
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(delay_ms) {
            if child.0.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(child); // SIGKILL, and reap
        let works = check_consistent(data.path());
        assert!(
            works.len() == registered || works.len() == registered + 1,
            "kill after {delay_ms} ms: {} works, {registered} before",
            works.len()
        );
        assert!(
            works.iter().all(|(_, episodes)| *episodes == 2),
            "a work with missing episodes: {works:?}"
        );
        if works.len() > registered {
            registered += 1;
        }
    }
}

/// The catalogue directory written by the format 1 code, its clips and that code's scan of
/// them (see the README there).
fn v1_fixture() -> std::path::PathBuf {
    repo_root().join("crates/reelguard-index/tests/data/catalogue-v1")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn manifest_format(data: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(data.join("catalogue.json")).expect("catalogue.json");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("json");
    manifest["format"].clone()
}

/// Scan reports without the `file` field, which is the path as given on the command line.
fn without_file(mut reports: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    for report in &mut reports {
        if let Some(object) = report.as_object_mut() {
            object.remove("file");
        }
    }
    reports
}

/// A scan report of today's code in the shape the format 1 code wrote: the fields added
/// since (issue 14: each match's `tags`, each segment's `signals`) are checked to say what a
/// video-only catalogue must say (no tag, found by the video signal alone), then removed.
fn as_format_1(mut reports: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    for report in &mut reports {
        let matches = report["matches"].as_array_mut().expect("matches");
        for m in matches {
            let m = m.as_object_mut().expect("match object");
            assert_eq!(m.remove("tags"), Some(serde_json::json!([])), "tags");
            for segment in m["segments"].as_array_mut().expect("segments") {
                let segment = segment.as_object_mut().expect("segment object");
                assert_eq!(
                    segment.remove("signals"),
                    Some(serde_json::json!(["video_phash"])),
                    "signals"
                );
            }
        }
    }
    reports
}

#[test]
fn a_crash_at_each_migration_step_leaves_one_format_whole_and_the_same_answers() {
    let fixture = v1_fixture();
    let clips: Vec<String> = ["testsrc2.mp4", "mandelbrot.mp4"]
        .iter()
        .map(|c| fixture.join("clips").join(c).display().to_string())
        .collect();
    let expected = without_file(json_lines(
        &std::fs::read(fixture.join("scan.jsonl")).expect("scan.jsonl"),
    ));
    assert_eq!(expected.len(), 2);
    for (step, migrated) in [
        ("migrate-before-index-commit", false),
        ("migrate-after-index", false),
        ("migrate-after-stage", false),
        ("migrate-after-install", true),
    ] {
        let data = tempfile::tempdir().expect("temp dir");
        copy_dir(&fixture.join("data"), data.path());
        let dir = data.path().display().to_string();
        let mut args = vec!["scan", "--data", dir.as_str(), "--json"];
        args.extend(clips.iter().map(String::as_str));

        let crashed = reelguard_env(
            &args,
            &[("REELGUARD_CRASH_AT", step)],
            Duration::from_secs(120),
        );
        assert!(
            !crashed.status.success(),
            "{step}: the migration should have died"
        );
        // Before the commit point the directory is format 1 throughout, after it format 2.
        let format = if migrated { 2 } else { 1 };
        assert_eq!(manifest_format(data.path()), format, "after a crash {step}");
        // Format 1's index is only removed after the commit point, so a directory left in
        // format 1 is whole (the old code could still open it).
        assert!(
            data.path().join("index/meta.json").exists(),
            "{step}: format 1 index gone"
        );

        // The next open migrates (or finishes) and answers what the format 1 code answered.
        let output = reelguard(&args, Duration::from_secs(120));
        assert!(
            output.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            as_format_1(without_file(json_lines(&output.stdout))),
            expected,
            "after recovery from {step}"
        );
        assert_eq!(manifest_format(data.path()), 2, "{step}");
        assert!(
            !data.path().join("index").exists(),
            "{step}: format 1 index left"
        );
    }
}
