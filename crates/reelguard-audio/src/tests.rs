//! The fingerprint against real sound: speech from `espeak-ng`, edited by the `ffmpeg` CLI
//! the way pirates edit it, decoded to 8 kHz mono. The figures the signal type's constants
//! quote are printed here (`cargo test -p reelguard-audio -- --nocapture`).

use std::io::Write;
use std::process::{Command, Stdio};

use reelguard_hash::{Record, SignalType};

use super::*;

const ENGLISH: &str = "The heir returns to the family house after ten years. Nobody recognises \
    him at the gate, and his sister calls the guards. He laughs, hands over the ring, and \
    asks for the old room above the garden where his mother used to read.";
const OTHER: &str = "Rain fell on the harbour all night. The captain counted the crates twice, \
    then sent the boy to wake the doctor, because one of the sailors had not come back from \
    the lighthouse and the lamp was dark.";

/// Mono f32 samples at [`SAMPLE_RATE`] of `text` spoken by `voice`, through `filter`.
fn speech(text: &str, voice: &str, filter: &str) -> Vec<f32> {
    let wav = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "--stdout", text])
        .output()
        .expect("espeak-ng runs (fixtures/install-deps installs it)");
    assert!(wav.status.success(), "espeak-ng failed");
    decode(&wav.stdout, filter, None)
}

/// `input` (any format ffmpeg reads) through `filter`, optionally via a lossy `codec`
/// (encoded and decoded again), to mono f32 at [`SAMPLE_RATE`].
fn decode(input: &[u8], filter: &str, codec: Option<(&str, &str)>) -> Vec<f32> {
    let input = match codec {
        Some((codec, bitrate)) => run_ffmpeg(
            input,
            &[
                "-af", filter, "-c:a", codec, "-b:a", bitrate, "-f", "matroska",
            ],
        ),
        None => run_ffmpeg(input, &["-af", filter, "-f", "wav"]),
    };
    let raw = run_ffmpeg(
        &input,
        &["-ac", "1", "-ar", &SAMPLE_RATE.to_string(), "-f", "f32le"],
    );
    raw.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn run_ffmpeg(input: &[u8], args: &[&str]) -> Vec<u8> {
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-i", "pipe:0"])
        .args(args)
        .arg("pipe:1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffmpeg runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("ffmpeg finishes");
    let _ = writer.join();
    assert!(out.status.success(), "ffmpeg {args:?} failed");
    out.stdout
}

/// Distances of each usable window of `copy` (plainly sped up by `pitch_speed`, then
/// stretched in time only by `tempo`) to the original's window at the same moment.
fn aligned_distances(original: &Hashes, copy: &Hashes, speed: f64) -> Vec<u32> {
    // The best of a few offsets, as the aligner's offset search would find: codecs add a
    // priming delay.
    (-6i32..=6)
        .map(|lag| aligned_at(original, copy, speed, lag as f64 * HOP_S))
        .min_by_key(|d| {
            let mut d = d.clone();
            if d.is_empty() {
                u32::MAX
            } else {
                percentile(&mut d, 0.5)
            }
        })
        .unwrap_or_default()
}

fn aligned_at(original: &Hashes, copy: &Hashes, speed: f64, lag: f64) -> Vec<u32> {
    copy.hashes
        .iter()
        .zip(&copy.quality)
        .enumerate()
        .filter(|(_, (_, &q))| q >= reelguard_hash::MIN_USEFUL_QUALITY)
        .filter_map(|(i, (h, _))| {
            let t = hash_time(i, 1.0) * speed + lag;
            let j = (t / HOP_S).round().max(0.0) as usize;
            let j = j.checked_sub(1)?;
            let o = original.hashes.get(j)?;
            (original.quality[j] >= reelguard_hash::MIN_USEFUL_QUALITY)
                .then(|| AudioHk::distance(o, h))
        })
        .collect()
}

fn percentile(values: &mut [u32], p: f64) -> u32 {
    values.sort_unstable();
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn fast_distance_equals_reference_distance() {
    let mut state = 0x9E37_79B9u32;
    let mut all = vec![0, u32::MAX, 1, 1 << 31];
    for _ in 0..2000 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        all.push(state);
    }
    for pair in all.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert_eq!(
            AudioHk::distance(&a, &b),
            AudioHk::reference_distance(&a, &b)
        );
    }
    assert_eq!(AudioHk::reference_distance(&0, &u32::MAX), 32);
}

#[test]
fn records_round_trip_in_record_bytes() {
    for i in 0..50u32 {
        let record = Record {
            t: i as f32 * 0.032,
            hash: i.wrapping_mul(0x9E37_79B9),
            quality: (i * 5) as u8,
        };
        let mut bytes = Vec::new();
        AudioHk::encode_record(&record, &mut bytes);
        assert_eq!(bytes.len(), AudioHk::RECORD_BYTES);
        assert_eq!(AudioHk::decode_record(&bytes), Some(record));
    }
    assert_eq!(AudioHk::decode_record(&[0u8; 8]), None);
    assert_eq!(AudioHk::decode_record(&[0u8; 10]), None);
}

#[test]
fn silence_and_short_input_give_nothing_usable() {
    let print = Fingerprinter::new();
    assert!(print.fingerprint(&[0.0; 100]).hashes.is_empty());
    let silent = print.fingerprint(&vec![0.0; SAMPLE_RATE as usize * 2]);
    assert!(!silent.hashes.is_empty());
    assert!(silent.quality.iter().all(|&q| q == 0));
    // A pure tone (the old fixtures' beep) is one band: its other bits are noise.
    let tone: Vec<f32> = (0..SAMPLE_RATE as usize * 2)
        .map(|n| (n as f32 * 2.0 * std::f32::consts::PI * 660.0 / SAMPLE_RATE as f32).sin() * 0.5)
        .collect();
    let tone = print.fingerprint(&tone);
    assert!(tone
        .quality
        .iter()
        .all(|&q| q < reelguard_hash::MIN_USEFUL_QUALITY));
}

#[test]
fn undo_speed_restores_length_and_the_grid_covers_the_range() {
    let samples: Vec<f32> = (0..8000).map(|n| (n as f32 * 0.01).sin()).collect();
    assert_eq!(undo_speed(&samples, 1.25).len(), 10000);
    assert_eq!(undo_speed(&samples, f64::NAN), samples);
    assert!(SPEED_GRID.contains(&1.0) && SPEED_GRID.contains(&1.25));
    assert!(SPEED_GRID.iter().all(|s| (0.8..=1.6).contains(s)));
}

/// An edit: name, ffmpeg filter, lossy codec and bitrate, speed the copy plays at, speed to
/// undo before fingerprinting.
type Case = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    f64,
    f64,
);

/// The figures behind [`AudioHk`]'s constants, on real speech.
#[test]
fn copies_stay_close_and_unrelated_speech_stays_at_chance() {
    let print = Fingerprinter::new();
    let original = print.fingerprint(&speech(ENGLISH, "en", "anull"));
    assert!(
        original.hashes.len() > 300,
        "{} windows",
        original.hashes.len()
    );
    let wav = Command::new("espeak-ng")
        .args(["-v", "en", "-s", "150", "--stdout", ENGLISH])
        .output()
        .expect("espeak-ng runs");
    // (edit, ffmpeg filter, lossy codec, speed the copy plays at, speed to undo first)
    let cases: [Case; 9] = [
        ("delay 16 ms (half a hop)", "adelay=16", None, 1.0, 1.0),
        ("delay 8 ms", "adelay=8", None, 1.0, 1.0),
        ("volume x0.3", "volume=0.3", None, 1.0, 1.0),
        ("aac 24k", "anull", Some(("aac", "24k")), 1.0, 1.0),
        ("opus 16k", "anull", Some(("libopus", "16k")), 1.0, 1.0),
        (
            "noise -20 dB",
            "asplit[a][b];anoisesrc=a=0.05:c=pink[n];[a][n]amix=inputs=2:duration=first[m];[b]anullsink;[m]volume=2",
            None,
            1.0,
            1.0,
        ),
        ("atempo 1.25", "atempo=1.25", None, 1.25, 1.0),
        ("pitch 1.25, undone", "asetrate=27562,aresample=22050", None, 1.25, 1.25),
        ("pitch 1.01, not undone", "asetrate=22271,aresample=22050", None, 1.01, 1.0),
    ];
    for (name, filter, codec, speed, undo) in cases {
        let samples = decode(&wav.stdout, filter, codec);
        let copy = print.fingerprint(&undo_speed(&samples, undo));
        // Hash i of the stretched copy sits at copy time hash_time(i, undo); the original's
        // moment is that times the speed.
        let mut d = aligned_distances(&original, &copy, speed / undo);
        assert!(d.len() > 100, "{name}: {} aligned windows", d.len());
        let (median, p90) = (percentile(&mut d, 0.5), percentile(&mut d, 0.9));
        println!("{name}: median {median} bits, 90th percentile {p90}");
        assert!(median <= 7, "{name}: median {median}");
    }
    let other = print.fingerprint(&speech(OTHER, "en", "anull"));
    let mut chance: Vec<u32> = original
        .hashes
        .iter()
        .zip(&original.quality)
        .filter(|(_, &q)| q >= reelguard_hash::MIN_USEFUL_QUALITY)
        .flat_map(|(a, _)| {
            other
                .hashes
                .iter()
                .zip(&other.quality)
                .filter(|(_, &q)| q >= reelguard_hash::MIN_USEFUL_QUALITY)
                .step_by(7)
                .map(move |(b, _)| AudioHk::distance(a, b))
        })
        .collect();
    let (p1, p5, median) = (
        percentile(&mut chance, 0.01),
        percentile(&mut chance, 0.05),
        percentile(&mut chance, 0.5),
    );
    println!("unrelated speech: 1st percentile {p1}, 5th {p5}, median {median}");
    assert!(median >= 14 && p1 >= 7, "chance {p1} {p5} {median}");
}
