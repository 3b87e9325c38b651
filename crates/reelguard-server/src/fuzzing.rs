//! Entry points for the `cargo fuzz` targets of the HTTP edge (`fuzz/fuzz_targets/api_*.rs`)
//! and for the stable test that replays their kept inputs (`tests/fuzz_regressions.rs`).
//!
//! The decision that shapes this module: **each entry point runs the code a request runs, not
//! a copy of it**: a JSON body goes through [`JsonBody`] (axum's `Json` extractor and our
//! rejection mapping) into the typed bodies of [`crate::wire::requests`], and a query string
//! through the guard's refusal of unknown parameters ([`crate::auth::unknown_query_parameters`],
//! against [`crate::routes::ROUTES`]) and then the [`Query`] extractor of every typed query.
//! Each asserts the contract the API documents, so a violation is a crash the fuzzer reports.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, StatusCode};
use futures_util::FutureExt;
use serde::de::DeserializeOwned;

use crate::api::{JsonBody, Query};
use crate::error::ApiError;
use crate::routes::{query_names, ROUTES};
use crate::wire::requests;

/// One body through the JSON extractor as `T`: `Some(true)` parsed, `Some(false)` refused.
/// Panics if the extractor's verdict differs from serde's on the same bytes, or a refusal is
/// not a client error (400 or 413).
fn json_body<T: DeserializeOwned>(body: &[u8]) -> bool {
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/fuzz")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()));
    let Ok(request) = request else {
        return false;
    };
    // The body is in memory, so the extractor finishes without waiting.
    let outcome = JsonBody::<T>::from_request(request, &())
        .now_or_never()
        .expect("an in-memory body is read at once");
    let serde_says = serde_json::from_slice::<T>(body).is_ok();
    match outcome {
        Ok(_) => {
            assert!(serde_says, "the extractor accepted what serde refuses");
            true
        }
        Err(error) => {
            let status = error.status();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
                "a body refused with {status}"
            );
            assert!(
                !serde_says,
                "the extractor refused what serde accepts: {error:?}"
            );
            false
        }
    }
}

/// The typed JSON bodies of the API, in the order the first input byte selects them.
const BODIES: &[fn(&[u8]) -> bool] = &[
    json_body::<requests::LegalFields>,
    json_body::<requests::NewMember>,
    json_body::<requests::Language>,
    json_body::<requests::ReviewScope>,
    json_body::<requests::NewKey>,
    json_body::<requests::NewWork>,
    json_body::<requests::IngestEpisode>,
    json_body::<requests::IngestSuspect>,
    json_body::<requests::NewDecision>,
    json_body::<requests::NewWebhook>,
    json_body::<requests::NewRights>,
    json_body::<requests::NewAuthorisation>,
    json_body::<requests::NewSegmentVerdict>,
    json_body::<requests::NewNoticeState>,
    json_body::<requests::UrlReport>,
];

/// `data[0]` picks a request body type, the rest is the body: parsed through the API's JSON
/// extractor. Returns whether it was accepted.
pub fn fuzz_json_body(data: &[u8]) -> bool {
    let Some((&pick, body)) = data.split_first() else {
        return false;
    };
    BODIES[usize::from(pick) % BODIES.len()](body)
}

/// One query string through the [`Query`] extractor as `T`: a value or a 400.
fn typed_query<T: DeserializeOwned>(uri: &str) -> bool {
    let Ok(request) = axum::http::Request::builder().uri(uri).body(()) else {
        return false;
    };
    let (mut parts, ()) = request.into_parts();
    let outcome = Query::<T>::from_request_parts(&mut parts, &())
        .now_or_never()
        .expect("a query string is parsed at once");
    match outcome {
        Ok(_) => true,
        Err(ApiError::BadRequest(_)) => false,
        Err(other) => panic!("a query string refused with {other:?}"),
    }
}

/// The typed query strings of the API.
const QUERIES: &[fn(&str) -> bool] = &[
    typed_query::<requests::Page>,
    typed_query::<requests::JobQuery>,
    typed_query::<requests::MatchQuery>,
    typed_query::<requests::EpisodeQuery>,
    typed_query::<requests::SuspectQuery>,
    typed_query::<requests::LangQuery>,
    typed_query::<requests::SightingQuery>,
];

/// `data[0]` picks a route of [`ROUTES`], the rest is its query string: the guard's refusal of
/// unknown parameters, held to its contract (refused exactly when some decoded name is not one
/// the route documents, and then naming it), then every typed query's extractor. Returns how
/// many of the typed queries accepted it.
pub fn fuzz_query(data: &[u8]) -> usize {
    let Some((&pick, query)) = data.split_first() else {
        return 0;
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return 0;
    };
    let route = &ROUTES[usize::from(pick) % ROUTES.len()];
    let refusal = crate::auth::unknown_query_parameters(route, Some(query));
    let known = query_names(route);
    match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
        Err(_) => assert!(
            query.is_empty() || matches!(refusal, Some(ApiError::BadRequest(_))),
            "a malformed query string passed the guard"
        ),
        Ok(pairs) => {
            let unknown: Vec<&String> = pairs
                .iter()
                .map(|(name, _)| name)
                .filter(|name| !known.contains(name))
                .collect();
            match (&refusal, unknown.first()) {
                (None, None) => {}
                (Some(ApiError::BadRequest(message)), Some(_)) => {
                    for name in &unknown {
                        assert!(message.contains(name.as_str()), "{message} omits {name:?}");
                    }
                }
                (refusal, first) => {
                    panic!("guard said {refusal:?} with unknown parameter {first:?}")
                }
            }
        }
    }
    let uri = format!("/fuzz?{query}");
    QUERIES.iter().filter(|parse| parse(&uri)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_body_is_accepted_and_an_unknown_field_refused() {
        // Index 5 is `NewWork`.
        assert!(fuzz_json_body(b"\x05{\"title\":\"t\"}"));
        assert!(!fuzz_json_body(b"\x05{\"title\":\"t\",\"titel\":1}"));
    }

    #[test]
    fn the_query_guard_refuses_a_misspelt_parameter() {
        let at = ROUTES
            .iter()
            .position(|r| r.method == "GET" && r.path == "/v1/matches")
            .expect("the matches route");
        let pick = u8::try_from(at).expect("fewer than 256 routes");
        let known = [&[pick][..], b"platform=douyin&limit=5".as_slice()].concat();
        assert!(crate::auth::unknown_query_parameters(&ROUTES[at], Some("platfrom=x")).is_some());
        assert!(fuzz_query(&known) > 0);
    }
}
