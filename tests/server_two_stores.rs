//! A work lives in two stores (the relational store and the catalogue). The daemon killed
//! between the two writes of creating or withdrawing a work — at each crash point of the
//! protocol in `reelguard_service::works` — comes back with both sides agreeing.

mod support;

use std::path::Path;
use std::time::Duration;

use reelguard_index::Catalogue;
use serde_json::json;
use support::{call, create_key, create_work, wait_exit, Daemon};

/// A work as one side sees it: (id, title, withdrawn).
type Side = Vec<(String, String, bool)>;

/// What each side says about every work.
fn both_sides(daemon: &Daemon, key: &str, data: &Path) -> (Side, Side) {
    let listed = call("GET", &daemon.url("/v1/works"), Some(key), None);
    assert_eq!(listed.status, 200, "{}", listed.text);
    let mut store: Side = listed.json["works"]
        .as_array()
        .expect("works")
        .iter()
        .map(|w| {
            (
                w["work_id"].as_str().expect("id").to_string(),
                w["title"].as_str().expect("title").to_string(),
                w["withdrawn"].as_bool().expect("withdrawn"),
            )
        })
        .collect();
    let catalogue = Catalogue::open_read_only(&data.join("catalogue")).expect("catalogue opens");
    let mut indexed: Side = catalogue
        .manifest()
        .works
        .iter()
        .map(|w| (w.id.clone(), w.title.clone(), w.withdrawn))
        .collect();
    store.sort();
    indexed.sort();
    (store, indexed)
}

/// Sends a request that makes the daemon abort at `step`, and waits for it to die.
fn crash_during(
    daemon: &mut Daemon,
    method: &'static str,
    path: &str,
    key: &str,
    body: serde_json::Value,
) {
    let (url, key) = (daemon.url(path), key.to_string());
    // The connection dies with the daemon: the client sees a transport error, not an answer.
    let request = std::thread::spawn(move || call(method, &url, Some(&key), Some(&body)).status);
    let status = wait_exit(
        &mut daemon.child,
        Duration::from_secs(30),
        "the daemon at its crash point",
    );
    assert!(!status.success(), "the daemon was meant to abort: {status}");
    assert!(
        !matches!(request.join(), Ok(200..=299)),
        "a request the daemon died in must not have been acknowledged"
    );
}

#[test]
fn a_crash_at_each_step_of_creating_a_work_leaves_both_stores_agreeing() {
    for (step, kept) in [
        ("work_create_after_intent", false),
        ("work_create_after_catalogue", true),
        ("work_create_after_store", true),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let studio = create_key(&data, "studio", "member");
        let mut daemon = Daemon::start_env(&data, &[], &[("REELGUARD_CRASH_AT", step)]);
        crash_during(
            &mut daemon,
            "POST",
            "/v1/works",
            &studio,
            json!({"title": "Crash Drama"}),
        );
        let daemon = Daemon::start(&data, &[]);
        let (store, catalogue) = both_sides(&daemon, &studio, &data);
        let live: Vec<_> = catalogue.iter().filter(|w| !w.2).cloned().collect();
        assert_eq!(store, live, "{step}: the store and the catalogue disagree");
        assert_eq!(
            store.len(),
            usize::from(kept),
            "{step}: the interrupted creation should {}be there",
            if kept { "" } else { "not " }
        );
        assert!(
            !data.join("intents/create-work.json").exists(),
            "{step}: the intent outlived the reconciliation"
        );
        // The daemon goes on creating works normally afterwards.
        create_work(&daemon, &studio, &json!({"title": "After"}));
        let (store, catalogue) = both_sides(&daemon, &studio, &data);
        assert_eq!(store.len(), usize::from(kept) + 1, "{step}");
        assert!(store.iter().all(|w| catalogue.contains(w)), "{step}");
    }
}

#[test]
fn a_crash_between_the_two_writes_of_a_withdrawal_is_finished_at_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let studio = create_key(&data, "studio", "member");
    let daemon = Daemon::start(&data, &[]);
    let work = create_work(&daemon, &studio, &json!({"title": "Withdrawn Drama"}));
    drop(daemon);
    let mut daemon = Daemon::start_env(
        &data,
        &[],
        &[("REELGUARD_CRASH_AT", "work_withdraw_after_store")],
    );
    crash_during(
        &mut daemon,
        "DELETE",
        &format!("/v1/works/{work}"),
        &studio,
        json!({}),
    );
    let daemon = Daemon::start(&data, &[]);
    let (store, catalogue) = both_sides(&daemon, &studio, &data);
    assert_eq!(
        store,
        vec![(work.clone(), "Withdrawn Drama".to_string(), true)]
    );
    assert_eq!(
        catalogue, store,
        "the catalogue must follow the store's withdrawal"
    );
}
