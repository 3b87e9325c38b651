//! Any prefix of an upload must parse as an image header (or not) without panicking, and any
//! string as an allow-list of containers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard_media::fuzz_headers(data);
});
