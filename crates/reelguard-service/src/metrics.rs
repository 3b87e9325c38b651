//! Prometheus metrics, kept in memory and rendered as text on `GET /metrics`.
//!
//! Counters and histograms are process-local (they restart from zero with the daemon); job
//! counts by state, the queue depth, the review backlog, decisions and notices are read from
//! the store, and the catalogue's size from its snapshot, at scrape time, so they are exact
//! across restarts ([`crate::metrics_gauges`]). Labels are bounded sets (route templates,
//! never paths; status classes; job kinds and error kinds), so no series explodes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use reelguard_store::JobCount;

pub use crate::metrics_gauges::Scraped;

/// A fixed-bucket histogram of seconds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    inner: Mutex<HistogramInner>,
}

#[derive(Debug, Default)]
struct HistogramInner {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

const LATENCY_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            inner: Mutex::new(HistogramInner {
                buckets: vec![0; bounds.len()],
                ..HistogramInner::default()
            }),
        }
    }

    /// Records one observation.
    pub fn observe(&self, seconds: f64) {
        if let Ok(mut h) = self.inner.lock() {
            for (i, bound) in self.bounds.iter().enumerate() {
                if seconds <= *bound {
                    h.buckets[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    fn render(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        self.render_series(out, name, labels);
    }

    /// The bucket, sum and count lines of one series (no HELP or TYPE).
    fn render_series(&self, out: &mut String, name: &str, labels: &str) {
        let Ok(h) = self.inner.lock() else { return };
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&h.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
        let braces = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{{{s}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), h.sum);
        let _ = writeln!(out, "{name}_count{} {}", braces(labels), h.count);
    }
}

/// Histograms of one metric, one per label set (rendered `k="v",...`, escaped).
#[derive(Debug)]
pub struct HistogramVec {
    bounds: &'static [f64],
    series: Mutex<BTreeMap<String, Histogram>>,
}

impl HistogramVec {
    fn new(bounds: &'static [f64]) -> Self {
        HistogramVec {
            bounds,
            series: Mutex::default(),
        }
    }

    /// Records one observation for these `(label, value)` pairs.
    pub fn observe(&self, labels: &[(&str, &str)], seconds: f64) {
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        if let Ok(mut series) = self.series.lock() {
            series
                .entry(key)
                .or_insert_with(|| Histogram::new(self.bounds))
                .observe(seconds);
        }
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        if let Ok(series) = self.series.lock() {
            for (labels, histogram) in series.iter() {
                histogram.render_series(out, name, labels);
            }
        }
    }
}

/// Buckets for waits that run from seconds to a day (queue wait, submission to match).
const WAIT_BOUNDS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];

/// `2xx`, `4xx`...: the status label of the latency histograms (a class, so that the series
/// stay few; the exact status is counted in `reelguard_http_requests_total`).
fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// The daemon's metrics.
#[derive(Debug)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
    jobs_finished: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    video_seconds: Mutex<f64>,
    decode_seconds: Mutex<f64>,
    webhook_attempts: Mutex<BTreeMap<&'static str, u64>>,
    /// Time to serve an evidence still (an FFmpeg extraction on first view, the cache after).
    pub still_latency: Histogram,
    /// Time to match a fingerprinted suspect against the catalogue.
    pub match_latency: Histogram,
    /// Time from a job's claim to its result.
    pub job_latency: Histogram,
    /// Time to answer an HTTP request.
    pub http_latency: Histogram,
    /// Time to answer, by route template, method and status class.
    http_routes: HistogramVec,
    /// Time from claim to outcome, by job kind and outcome.
    job_durations: HistogramVec,
    /// Time from submission to claim, by job kind.
    queue_wait: HistogramVec,
    /// Time from a suspect's submission to its matches being recorded.
    submission_to_match: Histogram,
    /// Failed job attempts by job kind and error kind.
    job_failures: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            http: Mutex::default(),
            jobs_finished: Mutex::default(),
            video_seconds: Mutex::new(0.0),
            decode_seconds: Mutex::new(0.0),
            webhook_attempts: Mutex::default(),
            still_latency: Histogram::new(LATENCY_BOUNDS),
            match_latency: Histogram::new(LATENCY_BOUNDS),
            job_latency: Histogram::new(LATENCY_BOUNDS),
            http_latency: Histogram::new(LATENCY_BOUNDS),
            http_routes: HistogramVec::new(LATENCY_BOUNDS),
            job_durations: HistogramVec::new(LATENCY_BOUNDS),
            queue_wait: HistogramVec::new(WAIT_BOUNDS),
            submission_to_match: Histogram::new(WAIT_BOUNDS),
            job_failures: Mutex::default(),
        }
    }
}

pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts an answered request by method, route template and status.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.http.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_insert(0) += 1;
        }
        self.http_latency.observe(seconds);
        self.http_routes.observe(
            &[
                ("route", route),
                ("method", method),
                ("status_class", &status_class(status)),
            ],
            seconds,
        );
    }

    /// Counts a finished job by kind and outcome (`succeeded`, `failed`, `retried`).
    pub fn job_finished(&self, kind: &'static str, outcome: &'static str, seconds: f64) {
        if let Ok(mut m) = self.jobs_finished.lock() {
            *m.entry((kind, outcome)).or_insert(0) += 1;
        }
        self.job_latency.observe(seconds);
        self.job_durations
            .observe(&[("kind", kind), ("outcome", outcome)], seconds);
    }

    /// Records a claimed job's wait in the queue (claim time less submission time).
    pub fn job_claimed(&self, kind: &'static str, waited_seconds: f64) {
        self.queue_wait
            .observe(&[("kind", kind)], waited_seconds.max(0.0));
    }

    /// Counts a failed job attempt by its error kind (`JobError::kind`).
    pub fn job_failed(&self, kind: &'static str, error_kind: &'static str) {
        if let Ok(mut m) = self.job_failures.lock() {
            *m.entry((kind, error_kind)).or_insert(0) += 1;
        }
    }

    /// Records the time from a suspect's submission to its matches being stored.
    pub fn suspect_matched(&self, seconds: f64) {
        self.submission_to_match.observe(seconds.max(0.0));
    }

    /// Counts a webhook HTTP attempt by outcome (`delivered`, `failed`).
    pub fn webhook_attempt(&self, outcome: &'static str) {
        if let Ok(mut m) = self.webhook_attempts.lock() {
            *m.entry(outcome).or_insert(0) += 1;
        }
    }

    /// Adds fingerprinting work: seconds of video decoded in `decode_seconds` of wall time.
    pub fn fingerprinted(&self, video_seconds: f64, decode_seconds: f64) {
        if let Ok(mut v) = self.video_seconds.lock() {
            *v += video_seconds;
        }
        if let Ok(mut d) = self.decode_seconds.lock() {
            *d += decode_seconds;
        }
    }

    /// The Prometheus text exposition, with the counts read from the store and the
    /// catalogue at scrape time.
    pub fn render(&self, jobs: &[JobCount], queue_depth: u64, scraped: &Scraped) -> String {
        let mut out = String::new();
        crate::metrics_gauges::render(&mut out, scraped);
        out += "# HELP reelguard_jobs Jobs in the store by kind and state.\n# TYPE reelguard_jobs gauge\n";
        for kind in reelguard_store::JobKind::ALL {
            for state in reelguard_store::JobState::ALL {
                let count: u64 = jobs
                    .iter()
                    .filter(|j| j.kind == Some(*kind) && j.state == Some(*state))
                    .map(|j| j.count)
                    .sum();
                let _ = writeln!(
                    out,
                    "reelguard_jobs{{kind=\"{kind}\",state=\"{state}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP reelguard_queue_depth Unfinished (queued or running) jobs.\n\
             # TYPE reelguard_queue_depth gauge\nreelguard_queue_depth {queue_depth}"
        );
        out +=
            "# HELP reelguard_jobs_finished_total Job attempts finished since start, by outcome.\n\
                # TYPE reelguard_jobs_finished_total counter\n";
        if let Ok(m) = self.jobs_finished.lock() {
            for ((kind, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "reelguard_jobs_finished_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        let video = self.video_seconds.lock().map_or(0.0, |v| *v);
        let decode = self.decode_seconds.lock().map_or(0.0, |v| *v);
        let _ = writeln!(
            out,
            "# HELP reelguard_fingerprint_video_seconds_total Seconds of video fingerprinted.\n\
             # TYPE reelguard_fingerprint_video_seconds_total counter\n\
             reelguard_fingerprint_video_seconds_total {video}\n\
             # HELP reelguard_fingerprint_decode_seconds_total Wall-clock seconds spent fingerprinting.\n\
             # TYPE reelguard_fingerprint_decode_seconds_total counter\n\
             reelguard_fingerprint_decode_seconds_total {decode}"
        );
        self.match_latency.render(
            &mut out,
            "reelguard_match_seconds",
            "Time to match one fingerprinted suspect against the catalogue.",
            "",
        );
        self.job_latency.render(
            &mut out,
            "reelguard_job_seconds",
            "Time from claiming a job to its outcome.",
            "",
        );
        out += "# HELP reelguard_webhook_attempts_total Webhook HTTP attempts since start, by outcome.\n\
                # TYPE reelguard_webhook_attempts_total counter\n";
        if let Ok(m) = self.webhook_attempts.lock() {
            for (outcome, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "reelguard_webhook_attempts_total{{outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        self.still_latency.render(
            &mut out,
            "reelguard_still_request_seconds",
            "Time to serve an evidence still: extracted with FFmpeg on first view, cached after.",
            "",
        );
        self.http_latency.render(
            &mut out,
            "reelguard_http_request_seconds",
            "Time to answer an HTTP request.",
            "",
        );
        out += "# HELP reelguard_http_requests_total HTTP requests by method, route and status.\n\
                # TYPE reelguard_http_requests_total counter\n";
        if let Ok(m) = self.http.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "reelguard_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        self.render_operations(&mut out);
        out
    }

    /// The series an operator graphs and alerts on: latency per route, job durations, queue
    /// wait, submission to match, failures by kind.
    fn render_operations(&self, out: &mut String) {
        self.http_routes.render(
            out,
            "reelguard_http_route_seconds",
            "Time to answer an HTTP request, by route template, method and status class.",
        );
        self.job_durations.render(
            out,
            "reelguard_job_duration_seconds",
            "Time from claiming a job to its outcome, by job kind and outcome.",
        );
        self.queue_wait.render(
            out,
            "reelguard_job_queue_wait_seconds",
            "Time a job waited in the queue: claimed at less submitted at, by job kind.",
        );
        self.submission_to_match.render(
            out,
            "reelguard_suspect_to_match_seconds",
            "Time from a suspect's submission to its matches being recorded.",
            "",
        );
        *out += "# HELP reelguard_job_failures_total Failed job attempts since start, by job kind and error kind.\n\
                 # TYPE reelguard_job_failures_total counter\n";
        if let Ok(m) = self.job_failures.lock() {
            for ((kind, error_kind), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "reelguard_job_failures_total{{kind=\"{kind}\",error_kind=\"{error_kind}\"}} {n}"
                );
            }
        }
    }
}
