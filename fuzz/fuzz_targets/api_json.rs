//! Any bytes as the JSON body of an API request, through the server's own extractor into
//! each typed body (`data[0]` picks the type): a value or a 400/413, never a panic, and the
//! same verdict serde gives.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard_server::fuzzing::fuzz_json_body(data);
});
