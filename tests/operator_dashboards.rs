//! The Grafana dashboard and the Prometheus alert rules next to the systemd unit are usable as
//! shipped: the rules pass `promtool check rules` and their own unit tests (`promtool test
//! rules`, which fire each alert on made-up series and check its labels and text), and every
//! series the dashboard and the rules name is one a real daemon exports.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use support::prom::parse;
use support::{call, repo_root, Daemon};

/// `promtool` from Debian's `prometheus` package (fixtures/install-deps installs it).
fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool").arg("--version").output();
    found
        .is_ok_and(|o| o.status.success())
        .then_some("promtool")
}

fn run_promtool(args: &[&str], dir: &Path) {
    let Some(promtool) = promtool() else {
        eprintln!(
            "SKIPPED promtool {args:?}: promtool is absent (Debian's `prometheus` package \
             provides it; fixtures/install-deps installs it)"
        );
        return;
    };
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running promtool");
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn alert_rules_pass_promtool_check() {
    run_promtool(
        &["check", "rules", "reelguard-alerts.yml"],
        &repo_root().join("systemd"),
    );
}

#[test]
fn alert_rules_fire_as_their_unit_tests_expect() {
    run_promtool(
        &["test", "rules", "reelguard-alerts.test.yml"],
        &repo_root().join("systemd"),
    );
}

/// Every `reelguard_...` name in `text`.
fn series_names(text: &str) -> BTreeSet<String> {
    text.match_indices("reelguard_")
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn dashboard_and_rules_name_only_series_the_daemon_exports() {
    let systemd = repo_root().join("systemd");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(systemd.join("reelguard-grafana.json")).expect("dashboard"),
    )
    .expect("the dashboard is JSON");
    let mut exprs = String::new();
    let panels = dashboard["panels"].as_array().expect("panels");
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs += target["expr"].as_str().expect("a target's expr");
            exprs.push('\n');
        }
    }
    // The variables' queries too (the instance list is read from a series).
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = variable["query"].as_str() {
            exprs += query;
            exprs.push('\n');
        }
    }
    let from_dashboard = series_names(&exprs);
    assert!(from_dashboard.len() >= 15, "{from_dashboard:?}");
    let rules = std::fs::read_to_string(systemd.join("reelguard-alerts.yml")).expect("rules");
    let from_rules = series_names(&rules);

    let tmp = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start_env(
        &tmp.path().join("data"),
        &[],
        &[("REELGUARD_METRICS_LISTEN", "127.0.0.1:0")],
    );
    let base = daemon.metrics_base.clone().expect("a metrics listener");
    let scraped = call("GET", &format!("{base}/metrics"), None, None);
    assert_eq!(scraped.status, 200);
    let exposition = parse(&scraped.text).expect("Prometheus text");
    let exported = |name: &str| {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| {
                exposition
                    .types
                    .get(*base)
                    .is_some_and(|t| t == "histogram")
            })
            .unwrap_or(name);
        exposition.types.contains_key(family)
    };
    for (source, names) in [("dashboard", &from_dashboard), ("alert rules", &from_rules)] {
        let unknown: Vec<&String> = names.iter().filter(|n| !exported(n)).collect();
        assert!(
            unknown.is_empty(),
            "the {source} name series the daemon does not export: {unknown:?}"
        );
    }
    // Panel ids are unique (Grafana keys panel state by them).
    let ids: BTreeSet<i64> = panels.iter().filter_map(|p| p["id"].as_i64()).collect();
    assert_eq!(ids.len(), panels.len(), "duplicate panel ids");
}
