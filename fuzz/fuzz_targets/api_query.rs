//! Any bytes as a route's query string (`data[0]` picks the route): the guard refuses exactly
//! the parameters the route does not document, naming them, and every typed query's
//! extractor gives a value or a 400.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reelguard_server::fuzzing::fuzz_query(data);
});
