//! Any bytes as the daemon's TOML configuration file: a configuration or an error, and a
//! loaded one loads again, unchanged, from its own serialisation.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard_service::config::fuzz_config(data);
});
