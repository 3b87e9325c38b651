//! Tests of the job queue: recovery, idempotent completion, registration order, and leases
//! (take-over after expiry, refusal of a stale holder, bounded attempts, `next_due`).

use std::time::Duration;

use super::test_support::{file, store, LIMITS};
use super::SqliteStore;
use crate::prelude::*;
use crate::{Job, JobState, MatchFilter, NewMatch, QueueLimits, SourceMeta, StoreError};

const OWNER: &str = "worker-a";
const LEASE: Duration = Duration::from_secs(60);

fn claim(s: &SqliteStore, owner: &str) -> Option<Job> {
    s.claim_job(owner, LEASE).expect("claim")
}

/// Moves every lease into the past: the holder "stopped renewing" that long ago.
fn age_leases(s: &SqliteStore) {
    s.write()
        .execute("UPDATE jobs SET lease_until = 0", [])
        .expect("age leases");
}

fn one_match() -> NewMatch {
    NewMatch {
        work_id: "w000001".into(),
        episode: 1,
        episode_id: 1,
        score: 0.9,
        segments: vec![],
        transformation: vec!["mirror".into()],
        content_box: None,
    }
}

fn match_count(s: &SqliteStore) -> usize {
    s.matches(&MatchFilter {
        limit: 10,
        ..MatchFilter::default()
    })
    .expect("matches")
    .len()
}

#[test]
fn interrupted_jobs_are_requeued_until_their_attempts_run_out() {
    let (_dir, s) = store();
    let m = s.ensure_member("crawler").expect("member");
    let sub = s
        .submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
        .expect("accepted");
    for expected in [JobState::Queued, JobState::Failed] {
        let job = s.claim_job(OWNER, LEASE).expect("claim").expect("a job");
        assert_eq!(job.id, sub.job_id);
        assert_eq!(
            s.recover_interrupted().expect("recover").0 as usize,
            usize::from(expected == JobState::Queued)
        );
        let job = s.job(sub.job_id).expect("job").expect("exists");
        assert_eq!(job.state, expected);
    }
}

#[test]
fn completing_a_job_twice_records_each_match_once() {
    let (_dir, s) = store();
    let owner = s.ensure_member("acme").expect("member");
    s.insert_work("w000001", owner.id, "Street", None, None)
        .expect("work");
    let crawler = s.ensure_member("crawler").expect("member");
    let sub = s
        .submit_suspect(crawler.id, &file("a"), &SourceMeta::default(), LIMITS)
        .expect("accepted");
    let m = one_match();
    let job = claim(&s, OWNER).expect("job");
    let token = job.lease_token();
    assert!(s
        .complete_job(
            sub.job_id,
            token,
            &serde_json::json!({}),
            std::slice::from_ref(&m)
        )
        .expect("done"));
    // A second run (say, after a crash between matching and recording) adds nothing.
    s.write()
        .execute("UPDATE jobs SET state = 'running'", [])
        .expect("reset");
    assert!(s
        .complete_job(sub.job_id, token, &serde_json::json!({}), &[m])
        .expect("done"));
    let all = s
        .matches(&MatchFilter {
            limit: 10,
            ..MatchFilter::default()
        })
        .expect("matches");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].transformation, vec!["mirror".to_string()]);
}

#[test]
fn registrations_of_one_work_run_in_order() {
    let (_dir, s) = store();
    let owner = s.ensure_member("acme").expect("member");
    s.insert_work("w000001", owner.id, "Street", None, None)
        .expect("work");
    let limits = QueueLimits {
        max_unfinished: 10,
        max_attempts: 3,
    };
    let first = s
        .submit_registration(owner.id, "w000001", &file("e1"), None, limits)
        .expect("e1");
    let second = s
        .submit_registration(owner.id, "w000001", &file("e2"), None, limits)
        .expect("e2");
    let job = claim(&s, OWNER).expect("job");
    assert_eq!(job.id, first.job_id);
    assert!(claim(&s, OWNER).is_none(), "e2 waits for e1");
    s.fail_job(
        first.job_id,
        job.lease_token(),
        "io",
        "transient",
        Some(3600),
    )
    .expect("retry later");
    assert!(claim(&s, OWNER).is_none(), "e2 still waits for e1's retry");
    s.write()
        .execute("UPDATE jobs SET next_attempt_at = 0", [])
        .expect("due");
    let job = claim(&s, OWNER).expect("job");
    assert_eq!(job.id, first.job_id);
    s.complete_job(first.job_id, job.lease_token(), &serde_json::json!({}), &[])
        .expect("done");
    assert_eq!(claim(&s, OWNER).expect("job").id, second.job_id);
}

#[test]
fn a_job_whose_holder_stops_renewing_is_taken_over_and_completed_once() {
    let (_dir, s) = store();
    let owner = s.ensure_member("acme").expect("member");
    s.insert_work("w000001", owner.id, "Street", None, None)
        .expect("work");
    let limits = QueueLimits {
        max_unfinished: 10,
        max_attempts: 3,
    };
    let sub = s
        .submit_suspect(owner.id, &file("a"), &SourceMeta::default(), limits)
        .expect("accepted");
    let stale = claim(&s, "worker-a").expect("a claims");
    assert!(
        claim(&s, "worker-b").is_none(),
        "a live lease is not taken over"
    );
    assert!(s
        .renew_lease(stale.id, stale.lease_token(), LEASE)
        .expect("renew"));

    age_leases(&s);
    let fresh = claim(&s, "worker-b").expect("b takes the expired job over");
    assert_eq!(fresh.id, sub.job_id);
    assert_eq!(fresh.attempts, 2, "the expired attempt counts");
    assert_ne!(fresh.lease_token(), stale.lease_token());
    assert_eq!(
        fresh.lease.as_ref().map(|l| l.owner.as_str()),
        Some("worker-b")
    );

    // Every write of the stale holder is refused, and changes nothing.
    let (id, old) = (stale.id, stale.lease_token());
    assert!(!s.renew_lease(id, old, LEASE).expect("renew"));
    assert!(!s.set_progress(id, old, 0.5).expect("progress"));
    assert!(!s.requeue(id, old).expect("requeue"));
    assert!(matches!(
        s.fail_job(id, old, "io", "late", Some(1)),
        Err(StoreError::LeaseLost { job_id }) if job_id == id
    ));
    assert!(!s
        .complete_job(id, old, &serde_json::json!({"by": "a"}), &[one_match()])
        .expect("stale completion"));
    assert_eq!(match_count(&s), 0);

    assert!(s
        .set_progress(id, fresh.lease_token(), 0.5)
        .expect("progress"));
    assert!(s
        .complete_job(
            id,
            fresh.lease_token(),
            &serde_json::json!({"by": "b"}),
            &[one_match()]
        )
        .expect("completion"));
    let done = s.job(id).expect("job").expect("exists");
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result, Some(serde_json::json!({"by": "b"})));
    assert_eq!(match_count(&s), 1);
    assert!(
        !s.complete_job(id, old, &serde_json::json!({}), &[])
            .expect("after the fact"),
        "the stale holder cannot complete it afterwards either"
    );
}

#[test]
fn attempts_stay_bounded_when_every_holder_stops_renewing() {
    let (_dir, s) = store();
    let m = s.ensure_member("crawler").expect("member");
    let sub = s
        .submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
        .expect("accepted");
    for worker in ["worker-a", "worker-b"] {
        assert_eq!(claim(&s, worker).expect("claimed").id, sub.job_id);
        age_leases(&s);
    }
    assert!(claim(&s, "worker-c").is_none(), "no attempt is left");
    let job = s.job(sub.job_id).expect("job").expect("exists");
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempts, LIMITS.max_attempts);
    assert_eq!(job.error_kind.as_deref(), Some("lease_expired"));
}

#[test]
fn next_due_is_the_earliest_of_due_jobs_and_lease_expiries() {
    let (_dir, s) = store();
    let m = s.ensure_member("crawler").expect("member");
    assert_eq!(s.next_due().expect("due"), None);
    s.submit_suspect(m.id, &file("a"), &SourceMeta::default(), LIMITS)
        .expect("accepted");
    let job = claim(&s, OWNER).expect("job");
    let until = job.lease.as_ref().expect("leased").until;
    assert_eq!(
        s.next_due().expect("due"),
        Some(until),
        "with nothing queued, the lease expiry is when a claim may next succeed"
    );
    s.submit_suspect(m.id, &file("b"), &SourceMeta::default(), LIMITS)
        .expect("accepted");
    let queued = s.next_due().expect("due").expect("some");
    assert!(
        queued < until,
        "a job due now comes before the lease expiry"
    );
}

#[test]
fn a_restart_expires_the_leases_of_earlier_instances_only() {
    let (_dir, s) = store();
    let m = s.ensure_member("crawler").expect("member");
    let limits = QueueLimits {
        max_unfinished: 10,
        max_attempts: 3,
    };
    for sha in ["a", "b"] {
        s.submit_suspect(m.id, &file(sha), &SourceMeta::default(), limits)
            .expect("accepted");
    }
    let earlier = claim(&s, "instance-1").expect("job");
    let current = claim(&s, "instance-2").expect("job");
    assert_eq!(
        s.expire_leases_of_others("instance-2").expect("expire"),
        (1, 0)
    );
    assert_eq!(
        s.job(earlier.id).expect("job").expect("exists").state,
        JobState::Queued
    );
    assert!(s
        .renew_lease(current.id, current.lease_token(), LEASE)
        .expect("renew"));
    assert!(!s
        .renew_lease(earlier.id, earlier.lease_token(), LEASE)
        .expect("renew"));
}

#[test]
fn an_idempotency_key_gives_a_retry_the_first_job_and_refuses_another_request() {
    let (_dir, s) = store();
    let owner = s.ensure_member("acme").expect("member");
    let other = s.ensure_member("other").expect("member");
    s.insert_work("w000001", owner.id, "Street", None, None)
        .expect("work");
    let key = |digest: &str| crate::IdempotencyKey {
        key: "retry-1".into(),
        request_sha256: digest.into(),
    };
    let first = s
        .submit_registration(owner.id, "w000001", &file("e1"), Some(&key("a")), LIMITS)
        .expect("first");
    assert!(!first.replayed);
    let retry = s
        .submit_registration(owner.id, "w000001", &file("e1"), Some(&key("a")), LIMITS)
        .expect("retry");
    assert_eq!(retry.job_id, first.job_id);
    assert!(retry.replayed);
    assert_eq!(s.queue_depth().expect("depth"), 1, "no second job");
    assert_eq!(
        s.idempotent_job(owner.id, &key("a")).expect("look-up"),
        Some(first.job_id)
    );
    let reused = s.submit_registration(owner.id, "w000001", &file("e2"), Some(&key("b")), LIMITS);
    assert!(
        matches!(reused, Err(StoreError::IdempotencyKeyReused(_))),
        "{reused:?}"
    );
    assert!(matches!(
        s.idempotent_job(owner.id, &key("b")),
        Err(StoreError::IdempotencyKeyReused(_))
    ));
    // Keys are per member: another member's identical key is a new request.
    let theirs = s
        .submit_registration(other.id, "w000001", &file("e1"), Some(&key("a")), LIMITS)
        .expect("another member");
    assert_ne!(theirs.job_id, first.job_id);
    assert_eq!(s.queue_depth().expect("depth"), 2);
}
