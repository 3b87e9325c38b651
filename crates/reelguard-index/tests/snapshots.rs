//! A catalogue snapshot answers the state of the commit it was taken at, whatever the writer
//! commits afterwards, and can be read from another thread while the writer commits.

use std::sync::Arc;

use reelguard_align::QueryFrame;
use reelguard_index::{
    Catalogue, CatalogueSnapshot, MatchParams, NewEpisode, NewWork, StoredFrame,
};

fn frames(seed: u64) -> Vec<StoredFrame> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..100)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            StoredFrame {
                t: i as f32 / 5.0,
                hash: state,
                quality: 80,
            }
        })
        .collect()
}

fn episode(seed: u64) -> NewEpisode {
    NewEpisode {
        audio: Vec::new(),
        file: format!("e{seed}.mp4"),
        duration_s: 20.0,
        frames: frames(seed),
    }
}

fn query(seed: u64) -> Vec<QueryFrame> {
    frames(seed)
        .into_iter()
        .map(|f| QueryFrame {
            t: f.t as f64,
            hash: f.hash,
            mirrored: !f.hash,
            quality: f.quality,
        })
        .collect()
}

fn work(title: &str) -> NewWork {
    NewWork {
        title: title.into(),
        ..NewWork::default()
    }
}

/// (work id, episode number) of every match for a copy of episode `seed`.
fn found(snapshot: &CatalogueSnapshot, seed: u64) -> Vec<(String, u32)> {
    snapshot
        .find(&query(seed), &MatchParams::default())
        .expect("find")
        .into_iter()
        .map(|m| (m.work_id, m.episode))
        .collect()
}

fn assert_send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn an_old_snapshot_keeps_its_state_while_the_writer_commits_and_a_new_one_sees_the_commits() {
    assert_send_sync_static::<CatalogueSnapshot>();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut catalogue = Catalogue::open(dir.path()).expect("open");
    let first = catalogue
        .add_work(work("First"), vec![episode(1), episode(2)])
        .expect("add");
    let before = catalogue.snapshot();
    // Built once per commit: asking again gives the same snapshot.
    assert!(Arc::ptr_eq(&before, &catalogue.snapshot()));

    let second = catalogue
        .add_work(work("Second"), vec![episode(3)])
        .expect("add second");
    catalogue
        .withdraw_episode(&first.id, 2)
        .expect("withdraw episode 2");
    catalogue.compact().expect("compact");

    // The old snapshot: one work, episode 2 live, episode 3 unknown.
    assert_eq!(before.manifest().works.len(), 1);
    assert_eq!(found(&before, 2), vec![(first.id.clone(), 2)]);
    assert!(found(&before, 3).is_empty());
    let (_, old_episode) = before.episode(2).expect("episode 2 in the old snapshot");
    assert!(!old_episode.withdrawn);
    assert_eq!(
        before.episode_frames(old_episode).expect("frames"),
        frames(2)
    );
    assert!(before.episode(3).is_none());

    // A new snapshot sees both the new episode and the withdrawal.
    let after = catalogue.snapshot();
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(after.manifest().works.len(), 2);
    assert!(found(&after, 2).is_empty());
    assert_eq!(found(&after, 3), vec![(second.id.clone(), 1)]);
    assert_eq!(found(&after, 1), vec![(first.id.clone(), 1)]);
    // The writer's own read methods answer the new state too.
    assert_eq!(catalogue.manifest().works.len(), 2);
}

#[test]
fn a_snapshot_is_read_from_another_thread_while_the_writer_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut catalogue = Catalogue::open(dir.path()).expect("open");
    let first = catalogue
        .add_work(work("First"), vec![episode(1)])
        .expect("add");
    let snapshot = catalogue.snapshot();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut rounds = 0usize;
        started_tx.send(()).expect("signal");
        // Keep reading until the writer has committed everything, then a few more times.
        loop {
            assert_eq!(found(&snapshot, 1), vec![("w000001".to_string(), 1)]);
            assert!(found(&snapshot, 10).is_empty());
            rounds += 1;
            if done_rx.try_recv().is_ok() {
                return rounds;
            }
        }
    });
    started_rx.recv().expect("reader started");
    // No lock is shared: the writer commits freely while the reader runs.
    for seed in 10..14 {
        catalogue
            .add_episodes(&first.id, vec![episode(seed)])
            .expect("add episode");
    }
    catalogue.withdraw_work(&first.id).expect("withdraw");
    done_tx.send(()).expect("done");
    let rounds = reader.join().expect("reader thread");
    assert!(rounds >= 1);
    let now = catalogue.snapshot();
    assert!(found(&now, 1).is_empty());
    assert!(found(&now, 10).is_empty());
    assert_eq!(now.manifest().works[0].episodes.len(), 5);
}
