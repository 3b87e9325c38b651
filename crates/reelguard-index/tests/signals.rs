//! Signal names travel with the data: every frame run in the manifest names its signal, index
//! terms are namespaced by signal (a second signal's identical term values never find video's
//! episodes), and every segment found says which signal found it.

use reelguard_align::{align_signal, Params, QueryFrame, RefFrame};
use reelguard_hash::{Record, SignalType, VideoPhash};
use reelguard_index::{Catalogue, MatchParams, NewEpisode, NewWork, StoredFrame};
use reelguard_model::{SignalName, VIDEO_PHASH};

/// A stand-in second signal: the same hash, terms and distances as video, without a mirrored
/// probe and under another name.
struct SecondSignal;

impl SignalType for SecondSignal {
    type Hash = u64;
    const NAME: SignalName = SignalName::from_static("second_signal");
    const RECORD_BYTES: usize = VideoPhash::RECORD_BYTES;
    const MIRRORED: bool = false;
    const CHANCE_DISTANCE: f64 = VideoPhash::CHANCE_DISTANCE;
    const EVIDENCE_DISTANCE: f64 = VideoPhash::EVIDENCE_DISTANCE;
    const PAIR_DISTANCE: u32 = VideoPhash::PAIR_DISTANCE;
    const TIE_DISTANCE: u32 = VideoPhash::TIE_DISTANCE;
    fn encode_record(record: &Record<u64>, out: &mut Vec<u8>) {
        VideoPhash::encode_record(record, out)
    }
    fn decode_record(bytes: &[u8]) -> Option<Record<u64>> {
        VideoPhash::decode_record(bytes)
    }
    fn reference_distance(a: &u64, b: &u64) -> u32 {
        VideoPhash::reference_distance(a, b)
    }
    fn distance(a: &u64, b: &u64) -> u32 {
        VideoPhash::distance(a, b)
    }
    fn lsh_terms(hash: &u64, terms: &mut Vec<u64>) {
        VideoPhash::lsh_terms(hash, terms)
    }
}

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

fn catalogue(dir: &std::path::Path) -> Catalogue {
    let mut catalogue = Catalogue::open(dir).expect("open");
    let episodes = (1..=2)
        .map(|seed| NewEpisode {
            audio: Vec::new(),
            file: format!("e{seed}.mp4"),
            duration_s: 20.0,
            frames: frames(seed),
        })
        .collect();
    catalogue
        .add_work(
            NewWork {
                title: "drama".into(),
                ..NewWork::default()
            },
            episodes,
        )
        .expect("add");
    catalogue
}

#[test]
fn every_frame_run_in_the_manifest_names_its_signal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalogue = catalogue(dir.path());
    let text = std::fs::read_to_string(dir.path().join("catalogue.json")).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(manifest["format"], 2);
    let episodes = manifest["works"][0]["episodes"]
        .as_array()
        .expect("episodes");
    assert_eq!(episodes.len(), 2);
    for episode in episodes {
        assert_eq!(episode["signal"], "video_phash", "{episode}");
    }
    for episode in &catalogue.manifest().works[0].episodes {
        assert_eq!(episode.signal, VIDEO_PHASH);
    }
}

#[test]
fn index_terms_are_namespaced_by_signal_and_segments_name_theirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalogue = catalogue(dir.path());
    let snapshot = catalogue.snapshot();
    let params = MatchParams::default();
    let video = snapshot.find(&query(2), &params).expect("find");
    assert_eq!(video.len(), 1);
    assert!(video[0].segments.iter().all(|s| s.signal == VIDEO_PHASH));

    // The same term values under another signal's name match nothing.
    let (ranked, stats) = snapshot
        .candidates_signal::<SecondSignal>(&query(2), &params)
        .expect("candidates");
    assert!(stats.terms > 0);
    assert!(ranked.is_empty(), "{ranked:?}");
    let (found, _) = snapshot
        .find_probes_signal::<SecondSignal>(&[&query(2)], &params)
        .expect("find");
    assert!(found.is_empty());
    // And a video run is never read as another signal's records.
    let (_, episode) = snapshot.episode(2).expect("episode 2");
    assert!(snapshot.episode_records::<SecondSignal>(episode).is_err());
}

#[test]
fn the_aligner_names_the_signal_and_skips_the_mirror_probe_when_the_signal_has_none() {
    let reference: Vec<RefFrame> = frames(5)
        .into_iter()
        .map(|f| RefFrame {
            t: f.t as f64,
            hash: f.hash,
            quality: f.quality,
        })
        .collect();
    // A mirrored copy: only the twin hash matches.
    let mirrored: Vec<QueryFrame> = query(5)
        .into_iter()
        .map(|q| QueryFrame {
            hash: q.mirrored,
            mirrored: q.hash,
            ..q
        })
        .collect();
    let params = Params::for_signal::<SecondSignal>();
    let straight = align_signal::<SecondSignal>(&query(5), &reference, &params);
    assert_eq!(straight.len(), 1);
    assert_eq!(straight[0].signal, SecondSignal::NAME);
    assert!(align_signal::<SecondSignal>(&mirrored, &reference, &params).is_empty());
    let video = align_signal::<VideoPhash>(&mirrored, &reference, &Params::default());
    assert_eq!(video.len(), 1);
    assert!(video[0].mirrored);
    assert_eq!(video[0].signal, VIDEO_PHASH);
}

#[test]
fn a_banded_view_is_aligned_only_near_its_speed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalogue = catalogue(dir.path());
    let snapshot = catalogue.snapshot();
    let params = MatchParams::default();
    // Episode 2 sped up 1.25x: each frame shown at 1/1.25 of its time.
    let fast: Vec<QueryFrame> = query(2)
        .into_iter()
        .map(|f| QueryFrame { t: f.t / 1.25, ..f })
        .collect();
    let speed_of = |bands: &[(f64, f64)]| -> Vec<f64> {
        let (found, _) = snapshot
            .find_probes_banded::<VideoPhash>(&[&fast], bands, &params)
            .expect("find");
        found
            .iter()
            .flat_map(|m| &m.segments)
            .map(|s| s.speed)
            .collect()
    };
    let whole = speed_of(&[]);
    assert_eq!(whole.len(), 1, "{whole:?}");
    assert!((whole[0] - 1.25).abs() < 0.02, "{whole:?}");
    // A band around the copy's speed finds the same line.
    assert_eq!(speed_of(&[(1.2, 1.3)]), whole);
    // One that leaves it out finds no line outside the band. (These hashes are exact at any
    // speed, so short pieces of the true line fit the band's edge; a sound track stretched
    // back by the wrong speed has the wrong pitch and no such pieces.)
    let off = speed_of(&[(0.97, 1.03)]);
    assert!(off.iter().all(|s| (0.97..=1.03).contains(s)), "{off:?}");
    assert!(!off.iter().any(|s| (s - 1.25).abs() < 0.1), "{off:?}");
    // A band is clamped to the aligner's own range (0.7–1.6x), never widened past it.
    assert!(speed_of(&[(1.7, 3.0)]).is_empty());
}
