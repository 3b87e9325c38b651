//! The command line refuses what is wrong instead of doing something plausible with it: a
//! missing data directory, a daemon's directory given to `scan`, impossible numbers, a key for
//! a member nobody created. It also walks directories and lists every command in its help.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::{fixtures, json_lines, reelguard};

const LIMIT: Duration = Duration::from_secs(60);

fn run(args: &[&str]) -> Output {
    reelguard(args, LIMIT)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A failed run: a non-zero exit, with `needle` in what it said on stderr.
fn assert_refused(out: &Output, needle: &str, what: &str) {
    assert!(
        !out.status.success(),
        "{what} should fail; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr(out).contains(needle),
        "{what}: expected {needle:?} in stderr: {}",
        stderr(out)
    );
}

fn tiny() -> String {
    fixtures().join("bad/tiny.mp4").display().to_string()
}

#[test]
fn every_reading_command_refuses_a_missing_data_directory_and_creates_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("no-such-dir");
    let missing = path(&missing);
    let file = tiny();
    let cases: Vec<Vec<&str>> = vec![
        vec!["scan", "--data", missing, &file],
        vec!["admin", "list-keys", "--data", missing],
        vec!["admin", "list-members", "--data", missing],
        vec!["admin", "revoke-key", "--data", missing, "1"],
        vec![
            "admin",
            "create-key",
            "--data",
            missing,
            "--member",
            "ops",
            "--role",
            "admin",
        ],
        vec!["eval", "--fixtures", missing],
    ];
    for args in cases {
        let out = run(&args);
        assert_refused(&out, "does not exist", &args.join(" "));
        assert!(!Path::new(missing).exists(), "{args:?} created {missing}");
    }
}

#[test]
fn scan_refuses_a_directory_that_holds_no_catalogue() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(&["scan", "--data", path(tmp.path()), &tiny()]);
    assert_refused(&out, "holds no catalogue", "scan on an empty directory");
    assert!(
        std::fs::read_dir(tmp.path())
            .expect("read_dir")
            .next()
            .is_none(),
        "scan wrote into the directory"
    );
}

#[test]
fn scan_refuses_a_daemons_data_directory_and_names_the_catalogue_flag() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let made = run(&["admin", "create-member", "--data", path(&data), "ops"]);
    assert!(made.status.success(), "create-member: {}", stderr(&made));
    std::fs::create_dir(data.join("catalogue")).expect("catalogue dir");
    let out = run(&["scan", "--data", path(&data), &tiny()]);
    let hint = format!("--data {}", data.join("catalogue").display());
    assert_refused(&out, &hint, "scan on a daemon's directory");
    assert_refused(&out, "daemon", "scan on a daemon's directory");
}

#[test]
fn scan_help_says_the_catalogue_is_read_only() {
    let out = run(&["scan", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("read-only"), "scan --help: {help}");
}

#[test]
fn impossible_sampling_rates_are_refused_with_a_message() {
    for fps in ["0", "-1", "NaN", "inf", "1e9", "fast"] {
        let flag = format!("--fps {fps}");
        let out = run(&["fingerprint", "--fps", fps, &tiny()]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        assert_refused(&out, "invalid value", &flag);
        assert!(out.stdout.is_empty(), "{flag} fingerprinted something");
    }
    let ok = run(&["fingerprint", "--fps=2.5", &tiny()]);
    assert!(ok.status.success(), "--fps=2.5: {}", stderr(&ok));
}

#[test]
fn bench_refuses_zero_runs() {
    let out = run(&["bench", "hash", "--runs", "0"]);
    assert_refused(&out, "at least 1", "bench hash --runs 0");
}

#[test]
fn create_key_for_an_unknown_member_needs_create_member() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let data = path(&data);
    let made = run(&["admin", "create-member", "--data", data, "acme"]);
    assert!(made.status.success(), "create-member: {}", stderr(&made));
    let key = |member: &str, extra: &[&str]| {
        let mut args = vec![
            "admin",
            "create-key",
            "--data",
            data,
            "--member",
            member,
            "--role",
            "member",
        ];
        args.extend(extra);
        run(&args)
    };
    let typo = key("acmee", &[]);
    assert_refused(
        &typo,
        "--create-member",
        "create-key for a misspelled member",
    );
    let members = json_lines(&run(&["admin", "list-members", "--data", data]).stdout);
    assert_eq!(members.len(), 1, "no member was created: {members:?}");
    assert!(
        key("acme", &[]).status.success(),
        "an existing member gets a key"
    );
    let new = key("globex", &["--create-member"]);
    assert!(new.status.success(), "--create-member: {}", stderr(&new));
    let members = json_lines(&run(&["admin", "list-members", "--data", data]).stdout);
    assert_eq!(members.len(), 2, "globex was created: {members:?}");
}

#[test]
fn fingerprint_walks_a_directory_recursively_in_name_order_skipping_hidden_and_non_video() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    for dir in ["b", "b/c", ".hidden"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    for file in ["b/c/z.mp4", "b/a.MOV", "a.mp4", ".hidden/h.mp4", ".dot.mp4"] {
        std::fs::copy(tiny(), root.join(file)).expect("copy");
    }
    std::fs::write(root.join("notes.txt"), "not a video").expect("write");
    let out = run(&["fingerprint", "--json", "--keyframes", path(root)]);
    assert!(out.status.success(), "fingerprint DIR: {}", stderr(&out));
    let files: Vec<String> = json_lines(&out.stdout)
        .iter()
        .map(|l| l["file"].as_str().unwrap_or("?").to_string())
        .collect();
    let expected: Vec<String> = ["a.mp4", "b/a.MOV", "b/c/z.mp4"]
        .iter()
        .map(|f| root.join(f).display().to_string())
        .collect();
    assert_eq!(files, expected);
}

#[test]
fn fingerprint_refuses_a_directory_without_videos() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("notes.txt"), "x").expect("write");
    let out = run(&["fingerprint", path(tmp.path())]);
    assert_refused(
        &out,
        "holds no video files",
        "fingerprint on a directory without videos",
    );
}

#[test]
fn top_level_help_lists_every_command_and_subcommand() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "fingerprint",
        "register",
        "scan",
        "eval",
        "bench",
        "serve",
        "admin",
        "admin create-key",
        "admin create-member",
        "admin list-members",
        "admin list-keys",
        "admin revoke-key",
        "bench hash",
        "bench index",
    ] {
        assert!(
            help.contains(command),
            "{command} missing from --help:\n{help}"
        );
    }
}
