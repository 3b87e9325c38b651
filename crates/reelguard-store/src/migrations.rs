//! The schema, as numbered migrations in portable SQL: applied in order, each in one
//! transaction, never edited once released (a change is a new migration). Both stores apply
//! these same texts ([`crate::sqlite::schema`], [`crate::postgres::schema`]); each engine's
//! dialect expands `{ID}` (the identity column) and adds what differs, named where a step
//! needs it (the audit log's append-only guard after version 1, the data step of version 4,
//! the constraint that version 9 drops).
//!
//! Conventions: timestamps are `BIGINT` Unix seconds; enums are `TEXT` with a `CHECK`; JSON is
//! `TEXT`; booleans do not appear (states are enums).

/// `(version, SQL)`, in order.
///
/// Version 2 (the review workbench) and 3 (webhooks) were developed in parallel, and a build of
/// the webhooks branch took stores from 1 straight to 3: `migrate` therefore applies every
/// listed version not yet recorded, in order, rather than only those above the highest one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, V4),
    (5, V5),
    (6, V6),
    (7, V7),
    (8, V8),
    (9, V9),
    (10, V10),
];

pub(crate) const V1: &str = "
CREATE TABLE members (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id {ID},
    member_id BIGINT NOT NULL REFERENCES members (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'crawler', 'reviewer')),
    key_sha256 TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- A reviewer member sees the matches of these members only; none listed = all members.
CREATE TABLE review_scopes (
    reviewer_member_id BIGINT NOT NULL REFERENCES members (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    PRIMARY KEY (reviewer_member_id, member_id)
);

-- Ownership of catalogue works (the catalogue itself lives in <data>/catalogue/).
CREATE TABLE works (
    work_id TEXT PRIMARY KEY,
    member_id BIGINT NOT NULL REFERENCES members (id),
    title TEXT NOT NULL,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    withdrawn_at BIGINT
);
CREATE INDEX works_member ON works (member_id);

-- One row per distinct content (sha256); every submission of it is a suspect_sources row.
CREATE TABLE suspects (
    id {ID},
    sha256 TEXT NOT NULL UNIQUE,
    size_bytes BIGINT NOT NULL,
    file_path TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE suspect_sources (
    id {ID},
    suspect_id BIGINT NOT NULL REFERENCES suspects (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    platform TEXT,
    url TEXT,
    uploader TEXT,
    title_seen TEXT,
    found_at BIGINT,
    submitted_at BIGINT NOT NULL
);
CREATE INDEX suspect_sources_suspect ON suspect_sources (suspect_id);
CREATE INDEX suspect_sources_member ON suspect_sources (member_id);

CREATE TABLE jobs (
    id {ID},
    kind TEXT NOT NULL CHECK (kind IN ('scan', 'register')),
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    member_id BIGINT NOT NULL REFERENCES members (id),
    suspect_id BIGINT REFERENCES suspects (id),
    work_id TEXT REFERENCES works (work_id),
    file_path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    error_kind TEXT,
    error TEXT,
    result TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX jobs_state ON jobs (state, next_attempt_at);
CREATE INDEX jobs_member ON jobs (member_id);

CREATE TABLE matches (
    id {ID},
    suspect_id BIGINT NOT NULL REFERENCES suspects (id),
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    work_id TEXT NOT NULL REFERENCES works (work_id),
    episode BIGINT NOT NULL,
    episode_id BIGINT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    segments TEXT NOT NULL,
    transformation TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending_review', 'confirmed', 'rejected')),
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    UNIQUE (suspect_id, episode_id)
);
CREATE INDEX matches_state ON matches (state, created_at);
CREATE INDEX matches_work ON matches (work_id);

CREATE TABLE decisions (
    id {ID},
    match_id BIGINT NOT NULL REFERENCES matches (id),
    reviewer_member_id BIGINT NOT NULL REFERENCES members (id),
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    reason TEXT NOT NULL,
    decided_at BIGINT NOT NULL
);

CREATE TABLE notices (
    id {ID},
    match_id BIGINT NOT NULL UNIQUE REFERENCES matches (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id {ID},
    at BIGINT NOT NULL,
    member_id BIGINT,
    key_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    status BIGINT NOT NULL,
    remote_addr TEXT
);
";

/// The review workbench: release dates for the queue's order, where the picture sat in the
/// suspect (the crop box / reframe a reviewer is shown), and browser sessions.
pub(crate) const V2: &str = "
ALTER TABLE works ADD COLUMN released_at BIGINT;
ALTER TABLE matches ADD COLUMN content_box TEXT;

-- A browser session stands for the API key it was opened with: revoking the key ends it.
-- Only the token's SHA-256 is stored, as for keys.
CREATE TABLE ui_sessions (
    id {ID},
    token_sha256 TEXT NOT NULL UNIQUE,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
";

/// Webhooks: one endpoint per member, a durable outbox of deliveries, and the log of every HTTP
/// attempt. The secret is stored as is (unlike API keys, which are hashed): the daemon needs it
/// to sign each delivery.
pub(crate) const V3: &str = "
CREATE TABLE webhooks (
    member_id BIGINT PRIMARY KEY REFERENCES members (id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The outbox: written in the transaction that writes the notice, so a confirmed match and its
-- delivery exist together or not at all.
CREATE TABLE webhook_deliveries (
    id {ID},
    member_id BIGINT NOT NULL REFERENCES members (id),
    notice_id BIGINT NOT NULL REFERENCES notices (id),
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    -- Unix MILLISECONDS (not seconds, unlike every other timestamp): retries back off from
    -- sub-second bases in tests. Also the claim lease while an attempt is in flight.
    next_attempt_at_ms BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at_ms);
CREATE INDEX webhook_deliveries_member ON webhook_deliveries (member_id, id);

-- The delivery log: one row per HTTP attempt; status is NULL when no response came (error).
CREATE TABLE webhook_attempts (
    id {ID},
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id),
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
";

/// Typed match records: every match names the signal types that found it (comma-separated,
/// like `transformation`), and its segments are rewritten from the API's rounded shape to the
/// typed record's (the data step is [`super::upgrade::v4_typed_segments`]).
pub(crate) const V4: &str = "
-- Every match older than this version was found by video pHash, hence the default; new rows
-- always write the column.
ALTER TABLE matches ADD COLUMN signals TEXT NOT NULL DEFAULT 'video_phash';
";

/// Leased jobs: who holds a running job, with which token, until when; and the index on
/// `jobs.suspect_id` that the deduplicating submission and the visibility checks look up by.
/// Jobs left running by an older build have no lease and are claimable at once.
pub(crate) const V5: &str = "
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
ALTER TABLE jobs ADD COLUMN lease_until BIGINT;
CREATE INDEX jobs_suspect ON jobs (suspect_id);
";

/// Members as legal parties (issue 12): each member's legal profile, a per-key interface
/// language, and explicit review scopes. A reviewer member's `review_scope` is `listed` (only
/// the members in `review_scopes`, so none until an admin assigns some) or `all`. New members
/// are `listed`; reviewer members that an older build let review everyone (a reviewer key and
/// no scope rows) keep `all`, so an upgrade does not silently lock a working team out.
pub(crate) const V6: &str = "
CREATE TABLE member_legal (
    member_id BIGINT PRIMARY KEY REFERENCES members (id),
    registration_id TEXT,
    contact TEXT,
    phone TEXT,
    email TEXT,
    address TEXT,
    updated_at BIGINT NOT NULL
);

-- NULL: the deployment's default language.
ALTER TABLE api_keys ADD COLUMN language TEXT;

ALTER TABLE members ADD COLUMN review_scope TEXT NOT NULL DEFAULT 'listed'
    CHECK (review_scope IN ('listed', 'all'));
UPDATE members SET review_scope = 'all'
    WHERE id IN (SELECT member_id FROM api_keys WHERE role = 'reviewer')
      AND id NOT IN (SELECT reviewer_member_id FROM review_scopes);
";

/// Idempotency keys of registrations: a member's `Idempotency-Key` names the job its first
/// request made, with a digest of that request, so a retry (same key, same request) gets the
/// same job back and a reuse for another request is refused. Written in the transaction that
/// makes the job, so a job exists if and only if its key is recorded. And the index that finds
/// an API key by its clear prefix.
pub(crate) const V7: &str = "
CREATE TABLE idempotency_keys (
    member_id BIGINT NOT NULL REFERENCES members (id),
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, idempotency_key)
);

-- Keys are found by their clear prefix and then compared by hash in constant time.
CREATE INDEX api_keys_prefix ON api_keys (prefix);
";

/// From confirmation to takedown (issue 12): each work's proof of rights and the agent's
/// authorisation (files kept under `<data>/legal/`, named by SHA-256), reviewers' verdicts on
/// single segments, a notice's tracked state and its dated events, and its public evidence
/// token. Notices of older builds were delivered as they were written, so they count as sent.
pub(crate) const V8: &str = "
CREATE TABLE work_rights (
    work_id TEXT PRIMARY KEY REFERENCES works (work_id),
    registration_number TEXT NOT NULL,
    certificate_sha256 TEXT NOT NULL,
    certificate_name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE work_authorisations (
    work_id TEXT PRIMARY KEY REFERENCES works (work_id),
    scope TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE segment_verdicts (
    match_id BIGINT NOT NULL REFERENCES matches (id),
    segment BIGINT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    decided_at BIGINT NOT NULL,
    PRIMARY KEY (match_id, segment)
);

ALTER TABLE notices ADD COLUMN state TEXT NOT NULL DEFAULT 'draft'
    CHECK (state IN ('draft', 'sent', 'acknowledged', 'removed', 'counter_noticed', 'restored', 'escalated'));
UPDATE notices SET state = 'sent';

CREATE TABLE notice_events (
    id {ID},
    notice_id BIGINT NOT NULL REFERENCES notices (id),
    state TEXT NOT NULL CHECK (state IN ('draft', 'sent', 'acknowledged', 'removed', 'counter_noticed', 'restored', 'escalated')),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX notice_events_notice ON notice_events (notice_id, id);

-- The token is the secret a platform's reviewer opens the evidence with, logged out. It is
-- printed in the sent notice itself, so it is stored as is (hashing it would hide nothing).
CREATE TABLE notice_links (
    token TEXT PRIMARY KEY,
    notice_id BIGINT NOT NULL UNIQUE REFERENCES notices (id),
    created_at BIGINT NOT NULL
);

CREATE INDEX suspect_sources_url ON suspect_sources (url);
";

/// Every copy followed (issue 12): a confirmed match takes a notice per new sighting of its
/// content, so `notices.match_id` is no longer unique, and each notice names the sightings it
/// covers (`notice_sources`; a crawler's "URL gone" then moves only the notices naming that
/// URL). SQLite cannot drop a column constraint, so `notices` is rebuilt (the documented
/// twelve-step way: [`migrate`] runs this step with foreign keys off and checks them before
/// committing); PostgreSQL: `ALTER TABLE notices DROP CONSTRAINT notices_match_id_key`.
/// Notices of older builds named every sighting known when they were issued.
pub(crate) const V9: &str = "
CREATE TABLE notices_v9 (
    id {ID},
    match_id BIGINT NOT NULL REFERENCES matches (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'sent', 'acknowledged', 'removed', 'counter_noticed', 'restored', 'escalated'))
);
INSERT INTO notices_v9 (id, match_id, member_id, body, created_at, state)
    SELECT id, match_id, member_id, body, created_at, state FROM notices;
DROP TABLE notices;
ALTER TABLE notices_v9 RENAME TO notices;
CREATE INDEX notices_match ON notices (match_id, id);
CREATE INDEX notices_member ON notices (member_id, id);

CREATE TABLE notice_sources (
    notice_id BIGINT NOT NULL REFERENCES notices (id),
    source_id BIGINT NOT NULL REFERENCES suspect_sources (id),
    PRIMARY KEY (notice_id, source_id)
);
CREATE INDEX notice_sources_source ON notice_sources (source_id);
INSERT INTO notice_sources (notice_id, source_id)
    SELECT n.id, ss.id FROM notices n JOIN matches m ON m.id = n.match_id
    JOIN suspect_sources ss ON ss.suspect_id = m.suspect_id
    WHERE ss.submitted_at <= n.created_at;
";

/// The claim's order as an index (issue 13): the oldest queued job is the first entry of a
/// partial index on `id`, instead of a sort of every queued row on each claim (on PostgreSQL
/// with 20000 queued jobs the sort was most of a claim's time).
pub(crate) const V10: &str = "
CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
";
