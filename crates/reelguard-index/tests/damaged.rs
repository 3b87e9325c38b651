//! A catalogue whose files were edited or damaged after the fact is refused with
//! `IndexError::Corrupt`, never read past its end, allocated for, or handed to the aligner.

use std::os::unix::fs::FileExt;
use std::path::Path;

use reelguard_align::QueryFrame;
use reelguard_index::{
    Catalogue, IndexError, MatchParams, NewEpisode, NewWork, StoredAudio, StoredFrame,
    FRAME_RECORD_BYTES,
};

fn frames(seed: u64) -> Vec<StoredFrame> {
    let mut state = seed | 1;
    (0..60)
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
        duration_s: 12.0,
        frames: frames(seed),
    }
}

fn register(dir: &Path) {
    let mut catalogue = Catalogue::open(dir).expect("open");
    catalogue
        .add_work(
            NewWork {
                title: "drama".into(),
                ..NewWork::default()
            },
            vec![episode(1), episode(2)],
        )
        .expect("add");
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

fn edit_manifest(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join("catalogue.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    edit(&mut manifest);
    std::fs::write(&path, manifest.to_string()).expect("write");
}

#[test]
fn episode_runs_beyond_frames_bin_are_refused_at_open() {
    for (first_frame, frame_count) in [
        (0u64, u64::MAX / 2),
        (u64::MAX / 13, 1),
        (0, 121),
        (100, 60),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        register(dir.path());
        edit_manifest(dir.path(), |m| {
            let episode = &mut m["works"][0]["episodes"][1];
            episode["first_frame"] = first_frame.into();
            episode["frame_count"] = frame_count.into();
        });
        let result = Catalogue::open_read_only(dir.path());
        assert!(
            matches!(result, Err(IndexError::Corrupt { .. })),
            "{first_frame}+{frame_count}: {:?}",
            result.err()
        );
    }
}

#[test]
fn a_frames_len_that_is_not_whole_records_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    register(dir.path());
    // Keep frames.bin long enough that only the record arithmetic is wrong.
    edit_manifest(dir.path(), |m| {
        let len = m["frames_len"].as_u64().expect("frames_len");
        m["frames_len"] = (len - 1).into();
    });
    assert!(matches!(
        Catalogue::open_read_only(dir.path()),
        Err(IndexError::Corrupt { .. })
    ));
}

#[test]
fn impossible_frame_times_in_frames_bin_are_corrupt_not_matched() {
    for bad in [f32::NAN, f32::INFINITY, 1e9, -1e9] {
        let dir = tempfile::tempdir().expect("tempdir");
        register(dir.path());
        // Record 70 is the 11th frame of episode 2: overwrite its time.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("frames.bin"))
            .expect("frames.bin");
        file.write_all_at(&bad.to_le_bytes(), 70 * FRAME_RECORD_BYTES + 8)
            .expect("write");
        let catalogue = Catalogue::open_read_only(dir.path()).expect("open");
        let (_, episode) = catalogue.episode(2).expect("episode 2");
        assert!(
            matches!(
                catalogue.episode_frames(episode),
                Err(IndexError::Corrupt { .. })
            ),
            "{bad}"
        );
        // Episode 1 still reads; a suspect of episode 2 gets the error, not a crash.
        let (_, first) = catalogue.episode(1).expect("episode 1");
        assert_eq!(catalogue.episode_frames(first).expect("frames").len(), 60);
        let result = catalogue.find(&query(2), &MatchParams::default());
        assert!(matches!(result, Err(IndexError::Corrupt { .. })), "{bad}");
    }
}

#[test]
fn episodes_with_impossible_frame_times_are_not_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut catalogue = Catalogue::open(dir.path()).expect("open");
    let mut bad = episode(3);
    bad.frames[5].t = f32::NAN;
    let result = catalogue.add_work(NewWork::default(), vec![episode(1), bad]);
    assert!(
        matches!(result, Err(IndexError::BadFrames { number: 2, .. })),
        "{result:?}"
    );
    assert!(catalogue.manifest().works.is_empty());

    // Audio records obey the same rule: stored, a time like this would make every later
    // lookup of the episode an error.
    let mut loud = episode(4);
    loud.audio = (0..40)
        .map(|i| StoredAudio {
            t: if i == 7 {
                f32::INFINITY
            } else {
                i as f32 * 0.032
            },
            hash: i,
            quality: 100,
        })
        .collect();
    let result = catalogue.add_work(NewWork::default(), vec![loud]);
    assert!(
        matches!(result, Err(IndexError::BadFrames { number: 1, ref reason, .. }) if reason.starts_with("audio:")),
        "{result:?}"
    );
    assert!(catalogue.manifest().works.is_empty());
}
