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

    fn answer(
        &self,
        what: &str,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<(u16, Value, Option<u64>)> {
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

    /// `GET path`, expecting 200.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let what = format!("GET {path}");
        let sent = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.key))
            .call();
        match self.answer(&what, sent)? {
            (200, json, _) => Ok(json),
            (status, json, _) => bail!("{what}: {status} {json}"),
        }
    }

    /// `POST path` with a JSON body, expecting `expect`.
    pub fn post_json(&self, path: &str, body: &Value, expect: u16) -> anyhow::Result<Value> {
        let what = format!("POST {path}");
        let sent = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.key))
            .header("Content-Type", "application/json")
            .send(body.to_string());
        match self.answer(&what, sent)? {
            (status, json, _) if status == expect => Ok(json),
            (status, json, _) => bail!("{what}: {status} {json}"),
        }
    }

    /// `POST path?query` with `file` as the raw body, expecting 202 (queued). A full queue
    /// (503 with `Retry-After`) is waited out, as a crawler should.
    pub fn upload(&self, path: &str, query: &[(&str, &str)], file: &Path) -> anyhow::Result<Value> {
        let what = format!("uploading {} to {path}", file.display());
        loop {
            let body =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let sent = self
                .agent
                .post(format!("{}{path}", self.base))
                .header("Authorization", &format!("Bearer {}", self.key))
                .header("Content-Type", "application/octet-stream")
                .query_pairs(query.iter().copied())
                .send(body);
            match self.answer(&what, sent)? {
                (202, json, _) => return Ok(json),
                (503, _, Some(secs)) => std::thread::sleep(Duration::from_secs(secs.min(30))),
                (status, json, _) => bail!("{what}: {status} {json}"),
            }
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
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}
