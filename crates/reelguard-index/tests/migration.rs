//! A catalogue directory written by the format 1 code (`tests/data/catalogue-v1/data`, made
//! by the `reelguard` binary of commit 6f285ec: see that directory's README) opens with this
//! code, is migrated to format 2 with every run naming its signal, and still finds the
//! episodes the old code found.

use std::path::{Path, PathBuf};

use reelguard_align::QueryFrame;
use reelguard_index::{Catalogue, MatchParams, FORMAT};
use reelguard_model::VIDEO_PHASH;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/catalogue-v1")
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

/// A fresh copy of the format 1 directory.
fn v1_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture().join("data"), dir.path());
    dir
}

/// (file, work id, episode number) the format 1 code's `reelguard scan --json` reported for
/// each clip.
fn expected() -> Vec<(String, String, u64)> {
    let text = std::fs::read_to_string(fixture().join("scan.jsonl")).expect("scan.jsonl");
    text.lines()
        .map(|line| {
            let report: serde_json::Value = serde_json::from_str(line).expect("json");
            let matches = report["matches"].as_array().expect("matches");
            assert_eq!(matches.len(), 1, "{line}");
            (
                report["file"].as_str().expect("file").to_string(),
                matches[0]["work_id"].as_str().expect("work_id").to_string(),
                matches[0]["episode"].as_u64().expect("episode"),
            )
        })
        .collect()
}

fn manifest_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("catalogue.json")).expect("manifest");
    serde_json::from_str(&text).expect("json")
}

/// Every episode's own frames, as a suspect, find that episode (and only it).
fn assert_finds_the_old_answers(catalogue: &Catalogue) {
    let expected = expected();
    assert_eq!(expected.len(), 2);
    let snapshot = catalogue.snapshot();
    for (file, work_id, number) in expected {
        let (work, episode) = snapshot
            .manifest()
            .works
            .iter()
            .flat_map(|w| w.episodes.iter().map(move |e| (w, e)))
            .find(|(_, e)| e.file == file)
            .expect("the clip's episode is in the manifest");
        assert_eq!(
            (work.id.as_str(), episode.number as u64),
            (work_id.as_str(), number)
        );
        let query: Vec<QueryFrame> = snapshot
            .episode_frames(episode)
            .expect("frames")
            .into_iter()
            .map(|f| QueryFrame {
                t: f.t as f64,
                hash: f.hash,
                // The clips are not mirrored: a twin that matches nothing.
                mirrored: !f.hash,
                quality: f.quality,
            })
            .collect();
        let found = snapshot
            .find(&query, &MatchParams::default())
            .expect("find");
        let found: Vec<(String, u64)> = found
            .iter()
            .map(|m| (m.work_id.clone(), m.episode as u64))
            .collect();
        assert_eq!(found, vec![(work_id, number)], "{file}");
    }
}

#[test]
fn the_fixture_is_format_1_as_written_by_the_old_code() {
    let dir = fixture().join("data");
    let manifest = manifest_json(&dir);
    assert_eq!(manifest["format"], 1);
    assert!(manifest["works"][0]["episodes"][0].get("signal").is_none());
    assert!(dir.join("index/meta.json").exists());
}

#[test]
fn a_format_1_directory_is_migrated_on_open_and_finds_the_same_episodes() {
    let dir = v1_copy();
    let before = manifest_json(dir.path());
    let catalogue = Catalogue::open(dir.path()).expect("format 1 opens");

    let after = manifest_json(dir.path());
    assert_eq!(after["format"], FORMAT);
    assert_eq!(FORMAT, 2);
    // Everything but the format and the signal names is as it was.
    assert_eq!(after["generation"], before["generation"]);
    assert_eq!(after["frames_len"], before["frames_len"]);
    assert_eq!(after["works"].as_array().map(Vec::len), Some(2));
    for work in after["works"].as_array().expect("works") {
        for episode in work["episodes"].as_array().expect("episodes") {
            assert_eq!(episode["signal"], "video_phash", "{episode}");
        }
    }
    for episode in catalogue.manifest().works.iter().flat_map(|w| &w.episodes) {
        assert_eq!(episode.signal, VIDEO_PHASH);
    }
    assert!(!dir.path().join("index").exists(), "format 1 index left");
    assert!(dir.path().join("bands/meta.json").exists());
    assert!(!dir.path().join("catalogue.json.next").exists());
    assert_finds_the_old_answers(&catalogue);
    drop(catalogue);

    // Opening again is a plain format 2 open, and a commit on top works.
    let mut catalogue = Catalogue::open(dir.path()).expect("reopen");
    assert_finds_the_old_answers(&catalogue);
    catalogue.withdraw_work("w000002").expect("withdraw");
    assert_eq!(manifest_json(dir.path())["generation"], 3);
}

#[test]
fn a_read_only_open_migrates_too() {
    let dir = v1_copy();
    let catalogue = Catalogue::open_read_only(dir.path()).expect("format 1 opens read-only");
    assert_eq!(manifest_json(dir.path())["format"], 2);
    assert_finds_the_old_answers(&catalogue);
}
