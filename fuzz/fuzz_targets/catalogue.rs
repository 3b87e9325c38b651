//! Any bytes as a catalogue's `catalogue.json` and `frames.bin` and as the band index's commit
//! payload, through the checks `Catalogue::open` runs; parsed manifests and records must
//! round-trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard_index::fuzzing::fuzz_catalogue(data);
});
