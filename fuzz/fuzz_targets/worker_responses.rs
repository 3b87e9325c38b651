//! Any byte stream a (compromised) worker could write must parse without panicking.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard_sandbox::protocol::fuzz_responses(data);
});
