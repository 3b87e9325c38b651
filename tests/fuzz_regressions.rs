//! The inputs kept from fuzzing (`fuzz/regressions/TARGET/`) replayed on stable through the
//! same entry points the `cargo fuzz` targets call: none may panic, and each parses to what
//! its file name promises where it promises something. The inputs of every target live here,
//! in the package that depends on every crate with a fuzz entry point.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read(&path).ok()?))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
}

#[test]
fn kept_worker_response_inputs_parse_without_panicking() {
    for (name, data) in inputs("worker_responses") {
        let decoded = reelguard_sandbox::protocol::fuzz_responses(&data);
        eprintln!("{name}: {decoded}");
        // Protocol 2's audio print, with absurd speeds and times: still one fingerprint.
        if name == "fingerprint_audio_extreme_values" {
            assert_eq!(decoded, 1, "{name}");
        }
        // Found by fuzzing: a still claiming u32::MAX x u32::MAX overflowed its size check
        // (a panic where overflow checks are on); it is a refused frame now.
        if name == "still_size_overflow" {
            let still = &data[..];
            let at = still
                .windows(4)
                .position(|w| w == b"RGSW")
                .expect("a frame");
            let payload = &still[at + 12..];
            assert!(reelguard_sandbox::wire::WireStill::decode(payload).is_err());
        }
    }
}

#[test]
fn kept_media_header_inputs_parse_without_panicking() {
    for (name, data) in inputs("media_headers") {
        let understood = reelguard_media::fuzz_headers(&data);
        // A PNG header claiming 2^32-1 squared must still come out as a size, not wrap to 0.
        if name == "png_ihdr_u32_max" {
            assert!(understood > 0, "{name}");
        }
    }
}

#[test]
fn kept_api_json_inputs_parse_without_panicking() {
    for (name, data) in inputs("api_json") {
        let accepted = reelguard_server::fuzzing::fuzz_json_body(&data);
        eprintln!("{name}: accepted {accepted}");
        if name.starts_with("accepted_") {
            assert!(accepted, "{name}");
        }
        if name.starts_with("refused_") {
            assert!(!accepted, "{name}");
        }
    }
}

#[test]
fn kept_api_query_inputs_parse_without_panicking() {
    for (name, data) in inputs("api_query") {
        let typed = reelguard_server::fuzzing::fuzz_query(&data);
        eprintln!("{name}: {typed} typed queries accept it");
    }
}

#[test]
fn kept_catalogue_inputs_parse_without_panicking() {
    for (name, data) in inputs("catalogue") {
        let records = reelguard_index::fuzzing::fuzz_catalogue(&data);
        eprintln!("{name}: {records} records");
        if let Some(count) = name.strip_prefix("records_") {
            let want: usize = count
                .split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert_eq!(records, want, "{name}");
        }
    }
}

#[test]
fn kept_config_inputs_parse_without_panicking() {
    for (name, data) in inputs("config") {
        let loaded = reelguard_service::config::fuzz_config(&data);
        eprintln!("{name}: loaded {loaded}");
        if name.starts_with("loads_") {
            assert!(loaded, "{name}");
        }
    }
}
