//! The API's wire format as Rust types: every request body and query string ([`requests`]) and
//! every response body ([`responses`]; errors are [`crate::error::ErrorBody`]).
//!
//! The decision that shapes it: the API document is generated from these types
//! (`utoipa::ToSchema`, `utoipa::IntoParams`) by [`crate::openapi`], and the handlers parse
//! and serialise exactly these types, so the document cannot drift from what the daemon
//! answers; `tests/api_conformance.rs` holds real responses to it.

pub mod requests;
pub mod responses;
