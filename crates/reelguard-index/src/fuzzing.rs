//! Entry points for the `cargo fuzz` target `catalogue` (`fuzz/fuzz_targets/catalogue.rs`) and
//! for the stable test that replays its kept inputs (`tests/fuzz_regressions.rs`).
//!
//! The decision that shapes this module: **the bytes go through the functions `open` runs on
//! the files, not a copy of them**: the manifest through [`catalogue::parse_manifest`] and
//! `check_runs`, each episode's run of `frames.bin` through [`catalogue::decode_run`], and the
//! band index's commit payload through [`crate::lsh::parse_generation`]; only the file reads
//! are left out, so one input costs microseconds rather than a directory.

use std::path::Path;

use reelguard_hash::SignalType;

use crate::catalogue::{self, Video};

/// Splits an input into the manifest's text and `frames.bin`: a little-endian `u16` length
/// of the manifest, the manifest, then the frames.
fn split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    Some(rest.split_at(len))
}

/// Any bytes as a catalogue's `catalogue.json` and `frames.bin` (laid out as [`split`] says),
/// checked as opening checks them, and the whole input as a commit payload. The contracts:
/// no panic; a manifest that parses serialises and parses back to itself; every record read
/// from an accepted run encodes back to its bytes; a payload written by a commit
/// (`generation.to_string()`) reads back as that generation. Returns the records accepted.
pub fn fuzz_catalogue(data: &[u8]) -> usize {
    if let Ok(text) = std::str::from_utf8(data) {
        let generation = crate::lsh::parse_generation(Some(text));
        if text.parse::<u64>().is_ok() {
            assert_eq!(
                crate::lsh::parse_generation(Some(&generation.to_string())),
                generation
            );
        }
    }
    let Some((manifest, frames)) = split(data) else {
        return 0;
    };
    let Ok(text) = std::str::from_utf8(manifest) else {
        return 0;
    };
    let path = Path::new("catalogue.json");
    let Ok(manifest) = catalogue::parse_manifest(text, path) else {
        return 0;
    };
    let written = serde_json::to_string(&manifest).expect("a parsed manifest serialises");
    let again = catalogue::parse_manifest(&written, path)
        .unwrap_or_else(|e| panic!("a written manifest does not parse: {e}\n{written}"));
    assert_eq!(
        again, manifest,
        "a manifest changed through its own serialisation"
    );
    // Opening refuses a manifest whose runs lie outside `frames.bin`, or a file shorter than
    // the manifest's committed length.
    if catalogue::check_runs(&manifest).is_err() || (frames.len() as u64) < manifest.frames_len {
        return 0;
    }
    let mut accepted = 0;
    for episode in manifest.works.iter().flat_map(|w| &w.episodes) {
        let (offset, len) = catalogue::run_bytes(episode).expect("check_runs vetted the run");
        let run = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(offset, len)| frames.get(offset..offset.checked_add(len)?))
            .expect("check_runs kept the run inside frames_len");
        let Ok(records) = catalogue::decode_run::<Video>(run, episode.id) else {
            continue;
        };
        let mut encoded = Vec::with_capacity(run.len());
        for record in &records {
            Video::encode_record(record, &mut encoded);
        }
        assert_eq!(encoded, run, "a record changed through decode and encode");
        accepted += records.len();
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(manifest: &str, frames: &[u8]) -> Vec<u8> {
        let len = u16::try_from(manifest.len()).expect("short manifest");
        [&len.to_le_bytes()[..], manifest.as_bytes(), frames].concat()
    }

    /// A manifest of one work with one two-frame episode, committed up to `frames_len` bytes.
    fn manifest(frames_len: usize) -> String {
        format!(
            r#"{{"format":2,"generation":1,"frames_len":{frames_len},"next_episode_id":2,
            "next_work_number":2,"works":[{{"id":"w1","title":"t","owner":null,
            "external_id":null,"episodes":[{{"id":1,"number":1,"file":"e1.mp4",
            "duration_s":0.4,"first_frame":0,"frame_count":2,"signal":"video_phash"}}]}}]}}"#
        )
    }

    #[test]
    fn an_episode_s_records_are_read_from_a_well_formed_input() {
        let mut frames = Vec::new();
        for t in [0.0f32, 0.2] {
            let record = reelguard_hash::Record {
                t,
                hash: 7u64,
                quality: 200,
            };
            Video::encode_record(&record, &mut frames);
        }
        assert_eq!(fuzz_catalogue(&input(&manifest(26), &frames)), 2);
    }

    #[test]
    fn a_run_past_the_frames_is_refused() {
        assert_eq!(fuzz_catalogue(&input(&manifest(13), &[0; 26])), 0);
    }
}
