//! What a route takes and answers, as the route table states it: its query parameters, its
//! request body and its success response, each named by the Rust type the handler parses or
//! serialises, and the error statuses particular to it. [`crate::openapi`] turns this into
//! the API document; the guard holds query strings to the parameters named here.
//!
//! The decision that shapes it: types are named through plain function pointers
//! (`schema::<T>`, `params::<T>`), so the table stays a `const` and one line per route says
//! everything, with no second list to keep in step.

use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, ToSchema};

/// Named schemas a body needs in the document's `components`.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A body type: adds its schema (and those it refers to) and answers a reference to it.
pub type SchemaOf = fn(&mut Schemas) -> RefOr<Schema>;

/// A query-string type's parameters.
pub type ParamsOf = fn() -> Vec<Parameter>;

/// [`SchemaOf`] for a type.
pub fn schema<T: ToSchema>(out: &mut Schemas) -> RefOr<Schema> {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// [`ParamsOf`] for a type.
pub fn params<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

fn no_params() -> Vec<Parameter> {
    Vec::new()
}

/// A request or response body.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// None.
    Empty,
    /// JSON of this type.
    Json(SchemaOf),
    /// Bytes of these media types (an upload, a page, a still).
    Raw(&'static [&'static str]),
}

/// Plain text.
pub const TEXT: Body = Body::Raw(&["text/plain"]);
/// Prometheus' text format.
pub const METRICS_TEXT: Body = Body::Raw(&["text/plain; version=0.0.4"]);
/// A JSON document with no schema of its own (the API document itself).
pub const DOCUMENT: Body = Body::Raw(&["application/json"]);
/// An HTML page.
pub const HTML: Body = Body::Raw(&["text/html"]);
/// A still or an evidence bundle a notice cites.
pub const EVIDENCE_FILE: Body = Body::Raw(&["image/jpeg", "application/json"]);
/// A file uploaded as the raw request body.
pub const UPLOAD: Body = Body::Raw(&["application/octet-stream"]);

/// What one route takes and answers.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    /// Its query parameters: the only ones it accepts.
    pub query: ParamsOf,
    /// Its request body.
    pub request: Body,
    /// Its success status.
    pub status: u16,
    /// Its success body.
    pub response: Body,
    /// Error statuses particular to it (the guard's, the limits' and path lookups' are
    /// added from the route's access and path by [`crate::openapi`]).
    pub errors: &'static [u16],
}

impl Doc {
    /// A workbench page: not part of the API document.
    pub const PAGE: Doc = Doc::answers(200, HTML);

    /// Answers `status` with `response`, takes nothing.
    pub const fn answers(status: u16, response: Body) -> Doc {
        Doc {
            query: no_params,
            request: Body::Empty,
            status,
            response,
            errors: &[],
        }
    }

    /// Answers `status` with JSON of a type.
    pub const fn json(status: u16, response: SchemaOf) -> Doc {
        Doc::answers(status, Body::Json(response))
    }

    /// Takes a JSON body of a type.
    pub const fn body(self, request: SchemaOf) -> Doc {
        Doc {
            request: Body::Json(request),
            ..self
        }
    }

    /// Takes a file as the raw body.
    pub const fn upload(self) -> Doc {
        Doc {
            request: UPLOAD,
            ..self
        }
    }

    /// Takes these query parameters.
    pub const fn query(self, query: ParamsOf) -> Doc {
        Doc { query, ..self }
    }

    /// May also answer these error statuses.
    pub const fn errors(self, errors: &'static [u16]) -> Doc {
        Doc { errors, ..self }
    }

    /// The names of its query parameters.
    pub fn query_names(&self) -> Vec<String> {
        (self.query)().into_iter().map(|p| p.name).collect()
    }
}
