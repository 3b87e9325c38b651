//! The route tables: every API route and every workbench page, who may call it, and what it
//! does. The router, the access guards (the API's bearer guard and the workbench's session
//! layer), the OpenAPI document's test and the role matrix test all follow these tables; no
//! handler checks a role itself.
//!
//! Access is decided in a fixed order, the same for every route: no valid key → 401; a role
//! the route does not admit → 403; a resource that exists but belongs to another member (or
//! lies outside a reviewer's scope) → 404, exactly as if it did not exist.

use reelguard_store::Role;

/// The OpenAPI document of [`ROUTES`], served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a key.
    Public,
    /// Any valid key.
    AnyKey,
    /// Valid keys of these roles.
    Roles(&'static [Role]),
}

/// One route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, as axum and OpenAPI spell it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
}

const ADMIN: Access = Access::Roles(&[Role::Admin]);
const MEMBER: Access = Access::Roles(&[Role::Member]);
const CRAWLER: Access = Access::Roles(&[Role::Crawler]);
const REVIEWER: Access = Access::Roles(&[Role::Reviewer]);
const READERS: Access = Access::Roles(&[Role::Member, Role::Reviewer]);
const SUBMITTERS: Access = Access::Roles(&[Role::Admin, Role::Member, Role::Crawler]);

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        summary,
    }
}

/// Every API route the daemon serves.
pub const ROUTES: &[RouteSpec] = &[
    route(
        "GET",
        "/healthz",
        Access::Public,
        "Liveness: 200 while the process serves.",
    ),
    route(
        "GET",
        "/readyz",
        Access::Public,
        "Readiness: 200 once serving, 503 while starting or stopping.",
    ),
    route("GET", "/metrics", Access::AnyKey, "Prometheus metrics."),
    route(
        "GET",
        "/v1/openapi.json",
        Access::Public,
        "This API's OpenAPI document.",
    ),
    route(
        "GET",
        "/v1/whoami",
        Access::AnyKey,
        "The calling key's member and role.",
    ),
    route(
        "PUT",
        "/v1/whoami/language",
        Access::AnyKey,
        "Set the calling key's interface language (zh-CN, en; null: the default).",
    ),
    // Administration.
    route(
        "POST",
        "/v1/members",
        ADMIN,
        "Create a member, with its legal profile.",
    ),
    route(
        "GET",
        "/v1/members",
        ADMIN,
        "List members with their legal profiles.",
    ),
    route(
        "PATCH",
        "/v1/members/{name}",
        ADMIN,
        "Edit a member's legal profile.",
    ),
    route(
        "PUT",
        "/v1/members/{name}/review-scope",
        ADMIN,
        "Set the members a reviewer member may review (none until set), or all.",
    ),
    route("POST", "/v1/keys", ADMIN, "Create an API key (shown once)."),
    route(
        "GET",
        "/v1/keys",
        ADMIN,
        "List API keys (never the keys themselves).",
    ),
    route("DELETE", "/v1/keys/{id}", ADMIN, "Revoke an API key."),
    route("GET", "/v1/audit", ADMIN, "Read the audit log."),
    // Works and episodes (members, own works only).
    route("POST", "/v1/works", MEMBER, "Create a work."),
    route("GET", "/v1/works", MEMBER, "List the caller's works."),
    route(
        "GET",
        "/v1/works/{work_id}",
        MEMBER,
        "One of the caller's works, with its episodes.",
    ),
    route(
        "DELETE",
        "/v1/works/{work_id}",
        MEMBER,
        "Withdraw a work: it never matches again.",
    ),
    route(
        "POST",
        "/v1/works/{work_id}/episodes",
        MEMBER,
        "Upload an episode (raw body); queues its registration.",
    ),
    route(
        "POST",
        "/v1/works/{work_id}/episodes/ingest",
        MEMBER,
        "Register an episode file from the ingest directory.",
    ),
    route(
        "DELETE",
        "/v1/works/{work_id}/episodes/{number}",
        MEMBER,
        "Withdraw one episode.",
    ),
    // Suspects (crawlers).
    route(
        "POST",
        "/v1/suspects",
        CRAWLER,
        "Submit a suspect (raw body, source metadata in the query); queues a scan.",
    ),
    route(
        "POST",
        "/v1/suspects/ingest",
        CRAWLER,
        "Submit a suspect file from the ingest directory.",
    ),
    // Jobs.
    route(
        "GET",
        "/v1/jobs",
        SUBMITTERS,
        "List jobs the caller may see, by state.",
    ),
    route(
        "GET",
        "/v1/jobs/{id}",
        SUBMITTERS,
        "A job's state, progress, error and result.",
    ),
    // Matches, review, notices.
    route(
        "GET",
        "/v1/matches",
        READERS,
        "List matches: by state, member, platform, age.",
    ),
    route(
        "GET",
        "/v1/matches/{id}",
        READERS,
        "One match, with segments and sources.",
    ),
    route(
        "POST",
        "/v1/matches/{id}/decision",
        REVIEWER,
        "Confirm or reject a match; confirming issues a notice.",
    ),
    route("GET", "/v1/notices", READERS, "List takedown notices."),
    route("GET", "/v1/notices/{id}", READERS, "One takedown notice."),
    // Webhooks (members, own webhook only).
    route(
        "PUT",
        "/v1/webhook",
        MEMBER,
        "Set the caller's webhook URL; answers a new signing secret (shown once).",
    ),
    route(
        "GET",
        "/v1/webhook",
        MEMBER,
        "The caller's webhook (never its secret).",
    ),
    route(
        "DELETE",
        "/v1/webhook",
        MEMBER,
        "Remove the caller's webhook; pending deliveries fail.",
    ),
    route(
        "GET",
        "/v1/webhook/deliveries",
        MEMBER,
        "The caller's webhook deliveries, newest first, with every attempt.",
    ),
    // Takedown (issue 12).
    route(
        "PUT",
        "/v1/works/{work_id}/rights",
        MEMBER,
        "Record a work's proof of rights (registration number, certificate file).",
    ),
    route(
        "PUT",
        "/v1/works/{work_id}/authorisation",
        MEMBER,
        "Record the agent's authorisation for a work (scope, validity, file).",
    ),
    route(
        "GET",
        "/v1/works/{work_id}/papers",
        MEMBER,
        "A work's papers and what a notice for it still lacks.",
    ),
    route(
        "PUT",
        "/v1/matches/{id}/segments/{segment}",
        REVIEWER,
        "Accept or reject one segment of a pending match.",
    ),
    route(
        "GET",
        "/v1/notices/{id}/tracking",
        READERS,
        "A notice's state and dated events.",
    ),
    route(
        "POST",
        "/v1/notices/{id}/state",
        READERS,
        "Move a notice: sent (reviewers; needs complete papers), acknowledged, removed, counter_noticed, restored, escalated.",
    ),
    route(
        "GET",
        "/v1/notices/{id}/document",
        READERS,
        "The notice document (HTML, Chinese; ?lang=en for English), printable.",
    ),
    route(
        "POST",
        "/v1/url-reports",
        CRAWLER,
        "Report a URL gone or still up; notices citing it follow.",
    ),
    route(
        "GET",
        "/v1/removal-times",
        READERS,
        "Time from first sighting to removal, per platform.",
    ),
    route(
        "GET",
        "/v1/sightings",
        READERS,
        "Sightings of confirmed content no notice names yet.",
    ),
    route(
        "POST",
        "/v1/sightings/{source_id}/notice",
        REVIEWER,
        "Notice a sighting in one step, from the decision already taken.",
    ),
    route(
        "GET",
        "/public/evidence/{token}",
        Access::Public,
        "A sent notice's evidence, read-only, without a key (the token is the secret).",
    ),
    route(
        "GET",
        "/public/evidence/{token}/{file}",
        Access::Public,
        "A still or bundle that public evidence cites.",
    ),
];

/// Every workbench page and form (HTML behind a session cookie; `AnyKey` means any logged-in
/// session, and a page that needs one redirects to the login page without it).
pub const UI_ROUTES: &[RouteSpec] = &[
    route("GET", "/ui", Access::Public, "Redirects to /ui/."),
    route("GET", "/ui/", Access::AnyKey, "Where each role starts."),
    route("GET", "/ui/login", Access::Public, "The login form."),
    route(
        "POST",
        "/ui/login",
        Access::Public,
        "A key in, a session cookie out.",
    ),
    route("POST", "/ui/logout", Access::AnyKey, "Ends the session."),
    route(
        "POST",
        "/ui/language",
        Access::Public,
        "Chooses the workbench's language.",
    ),
    route("GET", "/ui/queue", REVIEWER, "The review queue."),
    route(
        "GET",
        "/ui/matches/{id}",
        READERS,
        "The evidence of one match.",
    ),
    route(
        "POST",
        "/ui/matches/{id}/decision",
        REVIEWER,
        "Confirm or reject a match.",
    ),
    route(
        "GET",
        "/ui/matches/{id}/stills/{file}",
        READERS,
        "A still of a match, made on first view.",
    ),
    route(
        "POST",
        "/ui/suspects/{id}/confirm-all",
        REVIEWER,
        "Confirm every pending match of one upload.",
    ),
    route("GET", "/ui/notices", READERS, "Takedown notices."),
    route(
        "GET",
        "/ui/notices/{id}",
        READERS,
        "One notice, printable (or .json).",
    ),
    route(
        "GET",
        "/ui/notices/{id}/evidence/{file}",
        READERS,
        "A file a notice cites.",
    ),
    route(
        "POST",
        "/ui/notices/{id}/state",
        READERS,
        "Move a notice (send, acknowledged, removed...).",
    ),
    route(
        "GET",
        "/ui/notices/{id}/document",
        READERS,
        "The notice document alone, for printing.",
    ),
    route(
        "POST",
        "/ui/sightings/{id}/notice",
        REVIEWER,
        "Notice a re-post in one step.",
    ),
    route(
        "GET",
        "/ui/member",
        MEMBER,
        "The member's works, chart, notices and webhook.",
    ),
    route(
        "POST",
        "/ui/member/webhook",
        MEMBER,
        "Set the member's webhook.",
    ),
    route(
        "GET",
        "/ui/static/{file}",
        Access::Public,
        "The stylesheet and the script.",
    ),
];

fn find_in(table: &'static [RouteSpec], method: &str, path: &str) -> Option<&'static RouteSpec> {
    let method = if method == "HEAD" { "GET" } else { method };
    table.iter().find(|r| r.method == method && r.path == path)
}

/// The API route for a method and matched path template (HEAD is served, and guarded, as GET).
pub fn find(method: &str, path: &str) -> Option<&'static RouteSpec> {
    find_in(ROUTES, method, path)
}

/// The workbench route for a method and matched path template.
pub fn find_ui(method: &str, path: &str) -> Option<&'static RouteSpec> {
    find_in(UI_ROUTES, method, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json parses");
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} is missing from openapi.json",
                r.method,
                r.path
            );
        }
        let listed: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|p| p.as_object().map_or(0, |o| o.len()))
            .sum();
        assert_eq!(
            listed,
            ROUTES.len(),
            "openapi.json lists routes that do not exist"
        );
    }
}
