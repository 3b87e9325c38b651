//! A small crawl load against a real daemon (issue 10's "Load", run as a correctness test, not
//! a benchmark): 40 crawler clients over 20 keys for 10 s, open loop at 60 submissions/s, half
//! re-finds, a reviewer listing matches, through `benches/crawl_load/driver.rs`. It asserts no
//! errors, nothing lost, threads bounded, list answers bounded, no re-find ever refused, and a
//! p99 loose enough for a loaded 2-core machine.

#[path = "../benches/crawl_load/driver.rs"]
#[allow(dead_code)] // The bench's printing is not used here.
mod driver;

#[test]
fn a_crawl_burst_loses_nothing_and_stays_bounded() {
    let scratch = tempfile::tempdir().expect("scratch");
    let options = driver::Options {
        exe: env!("CARGO_BIN_EXE_reelguard").into(),
        scratch: scratch.path().to_path_buf(),
        clients: 40,
        keys: 20,
        secs: 10,
        rate: Some(60.0),
        memory: None,
        idle_jobs: 8,
        clip_kbps: Some(1500),
    };
    let r = driver::run(&options).expect("the load ran");
    driver::print(&options, &r);
    assert!(
        r.errors.is_empty(),
        "errors: {:?}",
        &r.errors[..r.errors.len().min(10)]
    );
    assert!(
        r.accepted >= 300,
        "only {} accepted in 10 s at 60/s",
        r.accepted
    );
    assert_eq!(r.lost, 0, "accepted submissions missing from the store");
    assert_eq!(r.refused_refinds, 0, "a re-find was refused");
    assert!(!r.refinds.0.is_empty() && !r.new_uploads.0.is_empty());
    assert!(
        r.peak.threads < 100,
        "daemon threads peaked at {}",
        r.peak.threads
    );
    assert!(
        r.reviewer.0.len() >= 10 && r.reviewer_max_bytes < 256 << 10,
        "reviewer: {} answers, largest {} bytes",
        r.reviewer.0.len(),
        r.reviewer_max_bytes
    );
    for (what, t) in [("new uploads", &r.new_uploads), ("re-finds", &r.refinds)] {
        let p99 = t.quantile(0.99);
        assert!(p99 < 2000.0, "{what}: p99 {p99:.0} ms");
    }
    assert!(r.reviewer.quantile(0.99) < 2000.0);
}
