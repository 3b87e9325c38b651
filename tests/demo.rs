//! `reelguard demo --exit-after-scan` on the `fixtures/generate --quick` subset: the newcomer's
//! first command shows an accuracy table of scans that really went through the daemon's queue,
//! and prints a key for every role and the workbench's address.
//!
//! The quick subset is made from the full fixtures (which the test command has generated): the
//! full tree is linked into a scratch directory without its manifests, and `fixtures/generate
//! --quick` finds every file it needs already there and writes only the quick manifests. That
//! tests the subset's selection without spending minutes of encoding on every run; the files
//! are the same either way, since a quick run makes them with the same commands.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reelguard_store::prelude::*;
use reelguard_store::{JobFilter, JobKind, JobState, SqliteStore};
use support::{fixtures, read_tsv, reelguard, repo_root};

/// The edits a quick run makes, and its clips that no drama contains.
const QUICK_FAMILIES: [&str; 6] = [
    "mirror",
    "crop15",
    "speed125",
    "reframe",
    "subs_logo",
    "excerpt",
];

/// Links every file of the full fixtures into `dir`, leaving out the manifests that say which
/// clips exist (the footage manifest stays, so nothing is downloaded).
fn link_fixtures(from: &Path, dir: &Path) {
    for entry in walk(from) {
        let relative = entry.strip_prefix(from).expect("inside the fixtures");
        let is_clip_manifest = relative.file_name().is_some_and(|n| n == "MANIFEST.tsv")
            && !relative.starts_with("footage");
        if is_clip_manifest {
            continue;
        }
        let target = dir.join(relative);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        std::os::unix::fs::symlink(&entry, &target).expect("symlink");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reading the fixtures") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Parses the accuracy table's rows: family → (cases, recall, wrong).
fn table(stdout: &str) -> HashMap<String, (usize, f64, usize)> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("family "));
    assert!(lines.next().is_some(), "no accuracy table in:\n{stdout}");
    lines
        .take_while(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert!(cols.len() >= 4, "a short table row: {line:?}");
            let number = |i: usize| -> f64 {
                cols[i]
                    .parse()
                    .unwrap_or_else(|_| panic!("column {i} of {line:?} is not a number"))
            };
            (
                cols[0].to_string(),
                (number(1) as usize, number(2), number(3) as usize),
            )
        })
        .collect()
}

#[test]
fn demo_scans_the_quick_subset_through_the_queue_and_prints_the_table_and_keys() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let quick = scratch.path().join("quick");
    link_fixtures(fixtures(), &quick);
    let generated = Command::new(repo_root().join("fixtures/generate"))
        .arg("--quick")
        .arg(&quick)
        .output()
        .expect("running fixtures/generate --quick");
    assert!(
        generated.status.success(),
        "fixtures/generate --quick: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let originals = read_tsv(&quick.join("originals/MANIFEST.tsv"));
    let variants = read_tsv(&quick.join("variants/MANIFEST.tsv"));
    let unrelated = read_tsv(&quick.join("unrelated/MANIFEST.tsv"));
    assert_eq!(originals.len(), 4, "the quick subset's originals");
    assert_eq!(variants.len(), 4 * QUICK_FAMILIES.len(), "its variants");
    assert_eq!(unrelated.len(), 2, "its unrelated clips");
    assert!(read_tsv(&quick.join("compilations/MANIFEST.tsv")).is_empty());

    let data = scratch.path().join("data");
    let out = reelguard(
        &[
            "demo",
            "--fixtures",
            quick.to_str().expect("utf-8"),
            "--data",
            data.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
            "--exit-after-scan",
        ],
        Duration::from_secs(900),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The table: every family of the subset, with its cases, and nothing wrong.
    let rows = table(&stdout);
    for family in QUICK_FAMILIES {
        let (cases, recall, wrong) = rows[family];
        assert_eq!(cases, 4, "{family}: {stdout}");
        assert!(recall >= 0.75, "{family} recall {recall}:\n{stdout}");
        assert_eq!(wrong, 0, "{family} wrong matches:\n{stdout}");
    }
    assert_eq!(rows["unrelated"].0, 2);
    assert_eq!(
        rows["unrelated"].2, 0,
        "an unrelated clip matched:\n{stdout}"
    );
    assert!(
        stdout.contains("4 registrations, 26 scans; 30 succeeded, 0 failed"),
        "{stdout}"
    );

    // A key for every role, each of which the daemon's store knows, and the workbench.
    assert!(stdout.contains("/ui/"), "no workbench address:\n{stdout}");
    let store = SqliteStore::open_in(&data).expect("the demo's store");
    for role in ["reviewer", "member", "crawler", "admin"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{role}:")))
            .unwrap_or_else(|| panic!("no {role} key printed:\n{stdout}"));
        let key = line
            .split_whitespace()
            .nth(1)
            .expect("a key after the role");
        let caller = store.authenticate(key).expect("key lookup");
        let caller = caller.unwrap_or_else(|| panic!("the printed {role} key is not valid"));
        assert_eq!(caller.role.to_string(), role, "{line}");
    }

    // Every file went through the queue: one finished job each, claimed by a worker.
    let jobs = store
        .jobs(&JobFilter {
            limit: 1000,
            ..JobFilter::default()
        })
        .expect("jobs");
    let count = |kind: JobKind| jobs.iter().filter(|j| j.kind == kind).count();
    assert_eq!(count(JobKind::Register), 4, "registration jobs");
    assert_eq!(count(JobKind::Scan), 26, "scan jobs");
    for job in &jobs {
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        assert!(job.attempts >= 1 && job.started_at.is_some(), "{job:?}");
    }
}
