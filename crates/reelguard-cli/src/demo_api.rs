//! The daemon's HTTP API as `reelguard demo` speaks it: plain HTTP to the address the embedded
//! daemon bound, with a bearer key, JSON answers, and jobs polled until they finish.
//!
//! The decision that shapes it: **a client, not a shortcut.** The demo plays the member and the
//! crawler through the same routes an integrator uses (`POST /v1/works`, episode and suspect
//! uploads, `GET /v1/jobs/{id}`, `GET /v1/matches`), so every file goes through the daemon's
//! queue, its leased workers and its store, and what the demo shows is what the product does.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// A key's view of one daemon.
pub struct Api {
    base: String,
    key: String,
    agent: ureq::Agent,
}

/// How long one job may take before the demo gives up on it (a registration or scan of a
/// fixture takes seconds; a loaded 2-core machine can make it a minute).
const JOB_LIMIT: Duration = Duration::from_secs(600);

impl Api {
    /// The API at `base` (`http://ADDR:PORT`), called with `key`.
    pub fn new(base: &str, key: &str) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        Api {
            base: base.to_string(),
            key: key.to_string(),
            agent,
        }
    }

    /// Sends the request `build` makes until it is not refused for now: a crawler's rate limit
    /// (429) and a full queue (503) say when to come back (`Retry-After`), and the demo does,
    /// as an integration should.
    fn send(
        &self,
        what: &str,
        build: impl Fn() -> anyhow::Result<Sent>,
    ) -> anyhow::Result<(u16, Value)> {
        loop {
            match self.answer(what, build()?)? {
                (429 | 503, _, Some(secs)) => {
                    std::thread::sleep(Duration::from_secs(secs.clamp(1, 30)))
                }
                (status, json, _) => return Ok((status, json)),
            }
        }
    }

    fn answer(&self, what: &str, sent: Sent) -> anyhow::Result<(u16, Value, Option<u64>)> {
        let mut response = sent.with_context(|| what.to_string())?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{what}: reading the answer"))?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok((status, json, retry_after))
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.key)
    }

    /// `GET path`, expecting 200.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let what = format!("GET {path}");
        let url = format!("{}{path}", self.base);
        let send = || {
            Ok(self
                .agent
                .get(&url)
                .header("Authorization", &self.auth())
                .call())
        };
        match self.send(&what, send)? {
            (200, json) => Ok(json),
            (status, json) => bail!("{what}: {status} {json}"),
        }
    }

    /// `POST path` with a JSON body, expecting `expect`.
    pub fn post_json(&self, path: &str, body: &Value, expect: u16) -> anyhow::Result<Value> {
        let what = format!("POST {path}");
        let url = format!("{}{path}", self.base);
        let send = || {
            Ok(self
                .agent
                .post(&url)
                .header("Authorization", &self.auth())
                .header("Content-Type", "application/json")
                .send(body.to_string()))
        };
        match self.send(&what, send)? {
            (status, json) if status == expect => Ok(json),
            (status, json) => bail!("{what}: {status} {json}"),
        }
    }

    /// `POST path?query` with `file` as the raw body, expecting 202 (queued).
    pub fn upload(&self, path: &str, query: &[(&str, &str)], file: &Path) -> anyhow::Result<Value> {
        let what = format!("uploading {} to {path}", file.display());
        let url = format!("{}{path}", self.base);
        let send = || {
            let body =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            Ok(self
                .agent
                .post(&url)
                .header("Authorization", &self.auth())
                .header("Content-Type", "application/octet-stream")
                .query_pairs(query.iter().copied())
                .send(body))
        };
        match self.send(&what, send)? {
            (202, json) => Ok(json),
            (status, json) => bail!("{what}: {status} {json}"),
        }
    }

    /// Polls `GET /v1/jobs/{id}` until the job has succeeded or failed; returns its last JSON.
    pub fn wait_job(&self, id: i64) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            let job = self.get(&format!("/v1/jobs/{id}"))?;
            match job["state"].as_str() {
                Some("succeeded" | "failed") => return Ok(job),
                _ if started.elapsed() > JOB_LIMIT => {
                    bail!("job {id} did not finish within {} s", JOB_LIMIT.as_secs())
                }
                // Twice a second: well inside a crawler key's default rate limit.
                _ => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }
}

/// What sending a request gave.
type Sent = Result<ureq::http::Response<ureq::Body>, ureq::Error>;
