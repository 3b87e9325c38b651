//! The route tables: every API route and every workbench page, who may call it, what it does
//! and (for the API) what it takes and answers. The router, the access guards (the API's
//! bearer guard and the workbench's session layer), the API document ([`crate::openapi`]),
//! the query-parameter check and the role matrix test all follow these tables; no handler
//! checks a role itself.
//!
//! Access is decided in a fixed order, the same for every route: no valid key → 401; a role
//! the route does not admit → 403; a resource that exists but belongs to another member (or
//! lies outside a reviewer's scope) → 404, exactly as if it did not exist.

pub mod doc;

use reelguard_service::legal::Papers;
use reelguard_service::members::MemberView;
use reelguard_store::{Caller, Role};

use crate::wire::requests::*;
use crate::wire::responses::*;
use doc::{params, schema, DOCUMENT, EVIDENCE_FILE, HTML, METRICS_TEXT, TEXT};
pub use doc::{Body, Doc};

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
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, as axum and OpenAPI spell it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
    /// What it takes and answers (workbench pages: [`Doc::PAGE`]).
    pub doc: Doc,
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
    doc: Doc,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        summary,
        doc,
    }
}

const fn page(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
) -> RouteSpec {
    route(method, path, access, summary, Doc::PAGE)
}

/// Every API route the daemon serves, with what the API document says of it.
pub const ROUTES: &[RouteSpec] = &[
    route(
        "GET",
        "/healthz",
        Access::Public,
        "Liveness: 200 while the process serves.",
        Doc::answers(200, TEXT),
    ),
    route(
        "GET",
        "/readyz",
        Access::Public,
        "Readiness: 200 once serving, 503 while starting or stopping.",
        Doc::answers(200, TEXT).errors(&[503]),
    ),
    route(
        "GET",
        "/metrics",
        Access::AnyKey,
        "Prometheus metrics.",
        Doc::answers(200, METRICS_TEXT),
    ),
    route(
        "GET",
        "/v1/openapi.json",
        Access::Public,
        "This API's OpenAPI document.",
        Doc::answers(200, DOCUMENT),
    ),
    route(
        "GET",
        "/v1/docs",
        Access::Public,
        "This API's reference, rendered from the document (HTML, no scripts).",
        Doc::answers(200, HTML),
    ),
    route(
        "GET",
        "/v1/whoami",
        Access::AnyKey,
        "The calling key's member and role.",
        Doc::json(200, schema::<Caller>),
    ),
    route(
        "PUT",
        "/v1/whoami/language",
        Access::AnyKey,
        "Set the calling key's interface language (zh-CN, en; null: the default).",
        Doc::json(200, schema::<LanguageSet>).body(schema::<Language>),
    ),
    route(
        "POST",
        "/v1/members",
        ADMIN,
        "Create a member, with its legal profile.",
        Doc::json(201, schema::<MemberView>).body(schema::<NewMember>).errors(&[409]),
    ),
    route(
        "GET",
        "/v1/members",
        ADMIN,
        "List members with their legal profiles.",
        Doc::json(200, schema::<MemberList>).query(params::<Page>),
    ),
    route(
        "PATCH",
        "/v1/members/{name}",
        ADMIN,
        "Edit a member's legal profile.",
        Doc::json(200, schema::<MemberView>).body(schema::<LegalFields>),
    ),
    route(
        "PUT",
        "/v1/members/{name}/review-scope",
        ADMIN,
        "Set the members a reviewer member may review (none until set), or all.",
        Doc::json(200, schema::<ReviewScopeSet>).body(schema::<ReviewScope>),
    ),
    route(
        "POST",
        "/v1/keys",
        ADMIN,
        "Create an API key (shown once).",
        Doc::json(201, schema::<NewKeyOut>).body(schema::<NewKey>),
    ),
    route(
        "GET",
        "/v1/keys",
        ADMIN,
        "List API keys (never the keys themselves).",
        Doc::json(200, schema::<KeyList>).query(params::<Page>),
    ),
    route(
        "DELETE",
        "/v1/keys/{id}",
        ADMIN,
        "Revoke an API key.",
        Doc::json(200, schema::<KeyRevoked>),
    ),
    route(
        "GET",
        "/v1/audit",
        ADMIN,
        "Read the audit log.",
        Doc::json(200, schema::<AuditPage>).query(params::<Page>),
    ),
    route(
        "POST",
        "/v1/works",
        MEMBER,
        "Create a work.",
        Doc::json(201, schema::<WorkOut>).body(schema::<NewWork>).errors(&[409]),
    ),
    route(
        "GET",
        "/v1/works",
        MEMBER,
        "List the caller's works.",
        Doc::json(200, schema::<WorkList>).query(params::<Page>),
    ),
    route(
        "GET",
        "/v1/works/{work_id}",
        MEMBER,
        "One of the caller's works, with its episodes.",
        Doc::json(200, schema::<WorkOut>),
    ),
    route(
        "DELETE",
        "/v1/works/{work_id}",
        MEMBER,
        "Withdraw a work: it never matches again.",
        Doc::json(200, schema::<WorkOut>).errors(&[409]),
    ),
    route(
        "POST",
        "/v1/works/{work_id}/episodes",
        MEMBER,
        "Upload an episode (raw body); queues its registration.",
        Doc::json(202, schema::<Accepted>).query(params::<EpisodeQuery>).upload().errors(&[409, 422, 429]),
    ),
    route(
        "POST",
        "/v1/works/{work_id}/episodes/ingest",
        MEMBER,
        "Register an episode file from the ingest directory.",
        Doc::json(202, schema::<Accepted>).body(schema::<IngestEpisode>).errors(&[409, 422, 429]),
    ),
    route(
        "DELETE",
        "/v1/works/{work_id}/episodes/{number}",
        MEMBER,
        "Withdraw one episode.",
        Doc::json(200, schema::<WorkOut>).errors(&[409]),
    ),
    route(
        "POST",
        "/v1/suspects",
        CRAWLER,
        "Submit a suspect (raw body, source metadata in the query); queues a scan.",
        Doc::json(202, schema::<Accepted>).query(params::<SuspectQuery>).upload(),
    ),
    route(
        "POST",
        "/v1/suspects/ingest",
        CRAWLER,
        "Submit a suspect file from the ingest directory.",
        Doc::json(202, schema::<Accepted>).body(schema::<IngestSuspect>),
    ),
    route(
        "GET",
        "/v1/jobs",
        SUBMITTERS,
        "List jobs the caller may see, by state.",
        Doc::json(200, schema::<JobList>).query(params::<JobQuery>),
    ),
    route(
        "GET",
        "/v1/jobs/{id}",
        SUBMITTERS,
        "A job's state, progress, error and result.",
        Doc::json(200, schema::<JobOut>),
    ),
    route(
        "GET",
        "/v1/matches",
        READERS,
        "List matches: by state, member, platform, age.",
        Doc::json(200, schema::<MatchList>).query(params::<MatchQuery>),
    ),
    route(
        "GET",
        "/v1/matches/{id}",
        READERS,
        "One match, with segments and sources.",
        Doc::json(200, schema::<MatchOut>),
    ),
    route(
        "GET",
        "/v1/matches/{id}/sources",
        READERS,
        "Every place a match's suspect was seen, oldest first, a page at a time.",
        Doc::json(200, schema::<SourceList>).query(params::<Page>),
    ),
    route(
        "POST",
        "/v1/matches/{id}/decision",
        REVIEWER,
        "Confirm or reject a match; confirming issues a notice.",
        Doc::json(200, schema::<Decided>).body(schema::<NewDecision>).errors(&[409]),
    ),
    route(
        "GET",
        "/v1/notices",
        READERS,
        "List takedown notices.",
        Doc::json(200, schema::<NoticeList>).query(params::<Page>),
    ),
    route(
        "GET",
        "/v1/notices/{id}",
        READERS,
        "One takedown notice.",
        Doc::json(200, schema::<NoticeOut>),
    ),
    route(
        "PUT",
        "/v1/webhook",
        MEMBER,
        "Set the caller's webhook URL; answers a new signing secret (shown once).",
        Doc::json(200, schema::<WebhookSet>).body(schema::<NewWebhook>),
    ),
    route(
        "GET",
        "/v1/webhook",
        MEMBER,
        "The caller's webhook (never its secret).",
        Doc::json(200, schema::<WebhookOut>).errors(&[404]),
    ),
    route(
        "DELETE",
        "/v1/webhook",
        MEMBER,
        "Remove the caller's webhook; pending deliveries fail.",
        Doc::json(200, schema::<WebhookDeleted>),
    ),
    route(
        "GET",
        "/v1/webhook/deliveries",
        MEMBER,
        "The caller's webhook deliveries, newest first, with every attempt.",
        Doc::json(200, schema::<DeliveryList>).query(params::<Page>),
    ),
    route(
        "PUT",
        "/v1/works/{work_id}/rights",
        MEMBER,
        "Record a work's proof of rights (registration number, certificate file).",
        Doc::json(200, schema::<RightsSet>).body(schema::<NewRights>),
    ),
    route(
        "PUT",
        "/v1/works/{work_id}/authorisation",
        MEMBER,
        "Record the agent's authorisation for a work (scope, validity, file).",
        Doc::json(200, schema::<AuthorisationSet>).body(schema::<NewAuthorisation>),
    ),
    route(
        "GET",
        "/v1/works/{work_id}/papers",
        MEMBER,
        "A work's papers and what a notice for it still lacks.",
        Doc::json(200, schema::<Papers>),
    ),
    route(
        "PUT",
        "/v1/matches/{id}/segments/{segment}",
        REVIEWER,
        "Accept or reject one segment of a pending match.",
        Doc::json(200, schema::<SegmentsSet>).body(schema::<NewSegmentVerdict>).errors(&[409]),
    ),
    route(
        "GET",
        "/v1/notices/{id}/tracking",
        READERS,
        "A notice's state and dated events.",
        Doc::json(200, schema::<TrackingOut>),
    ),
    route(
        "POST",
        "/v1/notices/{id}/state",
        READERS,
        "Move a notice: sent (reviewers; needs complete papers), acknowledged, removed, counter_noticed, restored, escalated.",
        Doc::json(200, schema::<TrackingOut>).body(schema::<NewNoticeState>).errors(&[409, 422]),
    ),
    route(
        "GET",
        "/v1/notices/{id}/document",
        READERS,
        "The notice document (HTML, Chinese; ?lang=en for English), printable.",
        Doc::answers(200, HTML).query(params::<LangQuery>),
    ),
    route(
        "POST",
        "/v1/url-reports",
        CRAWLER,
        "Report a URL gone or still up; notices citing it follow.",
        Doc::json(200, schema::<UrlReported>).body(schema::<UrlReport>),
    ),
    route(
        "GET",
        "/v1/removal-times",
        READERS,
        "Time from first sighting to removal, per platform.",
        Doc::json(200, schema::<RemovalTimes>),
    ),
    route(
        "GET",
        "/v1/sightings",
        READERS,
        "Sightings of confirmed content no notice names yet.",
        Doc::json(200, schema::<SightingList>).query(params::<SightingQuery>),
    ),
    route(
        "POST",
        "/v1/sightings/{source_id}/notice",
        REVIEWER,
        "Notice a sighting in one step, from the decision already taken.",
        Doc::json(200, schema::<NoticesMade>).errors(&[409]),
    ),
    route(
        "GET",
        "/public/evidence/{token}",
        Access::Public,
        "A sent notice's evidence, read-only, without a key (the token is the secret).",
        Doc::answers(200, HTML).query(params::<LangQuery>),
    ),
    route(
        "GET",
        "/public/evidence/{token}/{file}",
        Access::Public,
        "A still or bundle that public evidence cites.",
        Doc::answers(200, EVIDENCE_FILE),
    ),
];

/// Every workbench page and form (HTML behind a session cookie; `AnyKey` means any logged-in
/// session, and a page that needs one redirects to the login page without it).
pub const UI_ROUTES: &[RouteSpec] = &[
    page("GET", "/ui", Access::Public, "Redirects to /ui/."),
    page("GET", "/ui/", Access::AnyKey, "Where each role starts."),
    page("GET", "/ui/login", Access::Public, "The login form."),
    page(
        "POST",
        "/ui/login",
        Access::Public,
        "A key in, a session cookie out.",
    ),
    page("POST", "/ui/logout", Access::AnyKey, "Ends the session."),
    page(
        "POST",
        "/ui/language",
        Access::Public,
        "Chooses the workbench's language.",
    ),
    route(
        "GET",
        "/ui/queue",
        REVIEWER,
        "The review queue.",
        Doc::PAGE.query(params::<QueueQuery>),
    ),
    page(
        "GET",
        "/ui/matches/{id}",
        READERS,
        "The evidence of one match.",
    ),
    page(
        "POST",
        "/ui/matches/{id}/decision",
        REVIEWER,
        "Confirm or reject a match.",
    ),
    page(
        "GET",
        "/ui/matches/{id}/stills/{file}",
        READERS,
        "A still of a match, made on first view.",
    ),
    page(
        "POST",
        "/ui/suspects/{id}/confirm-all",
        REVIEWER,
        "Confirm every pending match of one upload.",
    ),
    page("GET", "/ui/notices", READERS, "Takedown notices."),
    route(
        "GET",
        "/ui/notices/{id}",
        READERS,
        "One notice, printable (or .json).",
        Doc::PAGE.query(params::<DocumentQuery>),
    ),
    page(
        "GET",
        "/ui/notices/{id}/evidence/{file}",
        READERS,
        "A file a notice cites.",
    ),
    page(
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
        Doc::PAGE.query(params::<DocumentQuery>),
    ),
    page(
        "POST",
        "/ui/sightings/{id}/notice",
        REVIEWER,
        "Notice a re-post in one step.",
    ),
    page(
        "GET",
        "/ui/member",
        MEMBER,
        "The member's works, chart, notices and webhook.",
    ),
    page(
        "POST",
        "/ui/member/webhook",
        MEMBER,
        "Set the member's webhook.",
    ),
    page(
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

/// The query parameters a route documents (an API route or a workbench page), by its place in
/// [`ROUTES`] then [`UI_ROUTES`]: built once, since the guards ask on every request that has a
/// query string and building a route's parameter documentation allocates its descriptions and
/// schemas. A route is recognised by its method and path, not its address: the tables are
/// `const`s, so two references to one entry need not be equal.
pub fn query_names(route: &'static RouteSpec) -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    let all = || ROUTES.iter().chain(UI_ROUTES);
    let names = NAMES.get_or_init(|| all().map(|r| r.doc.query_names()).collect());
    all()
        .position(|r| r.method == route.method && r.path == route.path)
        .and_then(|i| names.get(i))
        .map_or(&[], Vec::as_slice)
}

/// The workbench route for a method and matched path template.
pub fn find_ui(method: &str, path: &str) -> Option<&'static RouteSpec> {
    find_in(UI_ROUTES, method, path)
}

#[cfg(test)]
mod tests;
