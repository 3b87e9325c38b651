//! Configuration: built-in defaults, then a TOML file, then `REELGUARD_*` environment variables,
//! then command-line flags (applied by the caller), each overriding the one before.
//!
//! Every key of [`Config`] can be set from the environment as `REELGUARD_` + the key in upper
//! case (`queue_limit` → `REELGUARD_QUEUE_LIMIT`). The value is read as a TOML value when it
//! parses as one (`2`, `true`) and as a string otherwise (`127.0.0.1:8080`, a path). See
//! `systemd/reelguard.toml` in the repository for a documented example.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file or an environment variable does not describe a valid configuration.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file, or "environment".
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// The daemon's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where everything lives: the store (`reelguard.sqlite3`), the catalogue (`catalogue/`)
    /// and uploads (`uploads/`). Default: `$STATE_DIRECTORY` (set by systemd's
    /// `StateDirectory=`) or `./reelguard-data`.
    pub data_dir: PathBuf,
    /// Address and port to listen on. Port 0 picks a free port (the bound address is printed).
    pub listen: SocketAddr,
    /// A second address serving only `GET /metrics`, without an API key, for scrapers that
    /// send none (bind it to loopback or a monitoring network). Unset: no second listener;
    /// the keyed `/metrics` of the API is served either way.
    pub metrics_listen: Option<SocketAddr>,
    /// Files may be registered or submitted by path only from inside this directory.
    /// Unset: registration by path is refused.
    pub ingest_dir: Option<PathBuf>,
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// Most unfinished (queued or running) jobs; past it, submissions get 429.
    pub queue_limit: u64,
    /// Seconds a client is told to wait (`Retry-After`) when the queue is full.
    pub retry_after_secs: u64,
    /// Jobs processed at once; 0 means one per CPU core.
    pub workers: usize,
    /// Attempts per job before it fails for good.
    pub max_attempts: u32,
    /// Wait before the first retry of a failed attempt, in seconds; doubled for each further one.
    pub retry_backoff_secs: u64,
    /// On SIGTERM, how long running jobs may take to finish before they are re-queued.
    pub shutdown_grace_secs: u64,
    /// A claimed job's lease, in seconds: its worker renews it while it works (every third of
    /// it); a job whose lease runs out (a dead or stuck worker) is claimable again.
    pub job_lease_secs: u64,
    /// Scan suspects' key frames first and skip the full decode when nothing is related.
    pub keyframes_first: bool,
    /// Wall-clock budget for decoding one file, in seconds.
    pub max_decode_secs: u64,
    /// Decode every untrusted file (registrations, scans, evidence stills) in locked-down
    /// worker processes (`reelguard worker`: resource limits, seccomp, Landlock). Turn off only
    /// to debug a decode in the daemon's own process.
    pub sandbox: bool,
    /// Keep suspect files after their scan (as evidence); otherwise they are deleted.
    pub keep_suspect_files: bool,
    /// How long a review workbench login lasts, in hours.
    pub session_hours: u64,
    /// Mark the workbench's cookies `Secure` (browsers then send them over HTTPS only). Turn
    /// on when a TLS-terminating proxy sits in front of the daemon.
    pub secure_cookies: bool,
    /// HTTP attempts per webhook delivery before it is given up as failed.
    pub webhook_max_attempts: u32,
    /// Wait before the first retry of a webhook delivery, in milliseconds; doubled for each
    /// further one (at most a day).
    pub webhook_backoff_ms: u64,
    /// Budget for one webhook attempt (connect, send, answer), in seconds.
    pub webhook_timeout_secs: u64,
    /// Let webhooks reach loopback, private and link-local addresses. Off by default: a member's
    /// webhook must not be a way into the daemon's own network. Turn on only when every member
    /// is trusted (or for tests on one machine).
    pub webhook_allow_private_targets: bool,
    /// Requests per second each crawler key may make, on average; past it (and its burst) the
    /// key is answered 429 with `Retry-After`. 0: no limit.
    pub crawler_requests_per_sec: f64,
    /// Requests a crawler key may make at once above its rate (the bucket's size).
    pub crawler_burst: u32,
    /// Longest wait for the next piece of a request body, in seconds: a client that stops
    /// sending (a slow-loris body) is answered 408 and its connection closed.
    pub body_idle_secs: u64,
    /// Longest time for any request but an upload (reading its body included), in seconds;
    /// past it the answer is 408 (or 503 for a slow answer).
    pub request_timeout_secs: u64,
    /// The alliance, when it sends notices as the rights holders' agent: its name. Set, every
    /// notice names it as the sender and needs the holder's valid authorisation for the work.
    /// Unset: each rights holder sends its own notices.
    pub notice_agent_name: Option<String>,
    /// The agent's contact person.
    pub notice_agent_contact: Option<String>,
    /// The agent's phone.
    pub notice_agent_phone: Option<String>,
    /// The agent's email.
    pub notice_agent_email: Option<String>,
    /// The agent's address.
    pub notice_agent_address: Option<String>,
    /// The address platforms open public evidence links at (e.g. `https://evidence.example`);
    /// unset: `http://` + the listen address.
    pub public_base_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: std::env::var_os("STATE_DIRECTORY")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("reelguard-data")),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            ingest_dir: None,
            max_upload_bytes: 4 << 30,
            queue_limit: 10_000,
            retry_after_secs: 30,
            workers: 0,
            max_attempts: 3,
            retry_backoff_secs: 30,
            shutdown_grace_secs: 20,
            job_lease_secs: 30,
            keyframes_first: true,
            max_decode_secs: 30 * 60,
            sandbox: true,
            keep_suspect_files: true,
            session_hours: 12,
            secure_cookies: false,
            // 8 attempts 30 s apart, doubling: the last retry comes about an hour after the
            // first attempt, long enough to ride out a receiver's deploy or short outage.
            webhook_max_attempts: 8,
            webhook_backoff_ms: 30_000,
            webhook_timeout_secs: 10,
            webhook_allow_private_targets: false,
            crawler_requests_per_sec: 20.0,
            crawler_burst: 40,
            body_idle_secs: 30,
            request_timeout_secs: 60,
            notice_agent_name: None,
            notice_agent_contact: None,
            notice_agent_phone: None,
            notice_agent_email: None,
            notice_agent_address: None,
            public_base_url: None,
        }
    }
}

/// The keys of [`Config`], for environment overrides.
const KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "metrics_listen",
    "ingest_dir",
    "max_upload_bytes",
    "queue_limit",
    "retry_after_secs",
    "workers",
    "max_attempts",
    "retry_backoff_secs",
    "shutdown_grace_secs",
    "job_lease_secs",
    "keyframes_first",
    "max_decode_secs",
    "sandbox",
    "keep_suspect_files",
    "session_hours",
    "secure_cookies",
    "webhook_max_attempts",
    "webhook_backoff_ms",
    "webhook_timeout_secs",
    "webhook_allow_private_targets",
    "crawler_requests_per_sec",
    "crawler_burst",
    "body_idle_secs",
    "request_timeout_secs",
    "notice_agent_name",
    "notice_agent_contact",
    "notice_agent_phone",
    "notice_agent_email",
    "notice_agent_address",
    "public_base_url",
];

impl Config {
    /// Defaults, overridden by `file` (if any), overridden by the environment as `env` reports
    /// it (pass `|k| std::env::var(k).ok()`).
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Some((text, path.display().to_string()))
            }
            None => None,
        };
        Config::from_text(
            file.as_ref()
                .map(|(text, origin)| (text.as_str(), origin.as_str())),
            env,
        )
    }

    /// [`Config::load`] with the file already read: `file` is its text and its name (for
    /// errors). The fuzz target `config` calls this directly.
    pub fn from_text(
        file: Option<(&str, &str)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut table =
            toml::Table::try_from(Config::default()).map_err(|e| ConfigError::Invalid {
                origin: "defaults".into(),
                message: e.to_string(),
            })?;
        if let Some((text, origin)) = file {
            let from_file: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Invalid {
                        origin: origin.to_string(),
                        message: e.to_string(),
                    })?;
            for (key, value) in from_file {
                if !KEYS.contains(&key.as_str()) {
                    return Err(ConfigError::Invalid {
                        origin: origin.to_string(),
                        message: format!("unknown key {key:?} (known: {})", KEYS.join(", ")),
                    });
                }
                table.insert(key, value);
            }
        }
        for key in KEYS {
            let var = format!("REELGUARD_{}", key.to_uppercase());
            if let Some(raw) = env(&var) {
                let value = format!("v = {raw}")
                    .parse::<toml::Table>()
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .unwrap_or(toml::Value::String(raw));
                table.insert((*key).to_string(), value);
            }
        }
        let config: Config =
            table
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    origin: "configuration".into(),
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| {
            Err(ConfigError::Invalid {
                origin: "configuration".into(),
                message: message.to_string(),
            })
        };
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1");
        }
        if self.queue_limit == 0 {
            return invalid("queue_limit must be at least 1");
        }
        if self.webhook_max_attempts == 0 {
            return invalid("webhook_max_attempts must be at least 1");
        }
        if self.webhook_timeout_secs == 0 {
            return invalid("webhook_timeout_secs must be at least 1");
        }
        if self.max_upload_bytes == 0 {
            return invalid("max_upload_bytes must be at least 1");
        }
        if !(self.crawler_requests_per_sec >= 0.0 && self.crawler_requests_per_sec.is_finite()) {
            return invalid("crawler_requests_per_sec must be 0 (no limit) or more");
        }
        if self.crawler_requests_per_sec > 0.0 && self.crawler_burst == 0 {
            return invalid("crawler_burst must be at least 1 when crawlers are rate-limited");
        }
        if self.body_idle_secs == 0 || self.request_timeout_secs == 0 {
            return invalid("body_idle_secs and request_timeout_secs must be at least 1");
        }
        if self.job_lease_secs < 3 {
            return invalid("job_lease_secs must be at least 3 (it is renewed every third of it)");
        }
        Ok(())
    }

    /// Jobs processed at once.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.workers
        }
    }
}

/// The fuzz target `config`: any bytes as the configuration file, with no environment. A text
/// that loads must load again, to the same settings, from its own serialisation (what
/// `reelguard serve` would be given back if it wrote its settings out). Returns whether it
/// loaded.
pub fn fuzz_config(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(config) = Config::from_text(Some((text, "fuzz.toml")), &|_| None) else {
        return false;
    };
    let written = toml::to_string(&config).expect("a loaded configuration serialises");
    let again = Config::from_text(Some((&written, "written.toml")), &|_| None)
        .unwrap_or_else(|e| panic!("its own serialisation does not load: {e}\n{written}"));
    assert_eq!(
        again, config,
        "the serialisation loads differently:\n{written}"
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_the_file_and_the_file_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("reelguard.toml");
        std::fs::write(
            &file,
            "queue_limit = 5\nworkers = 3\nlisten = \"0.0.0.0:9000\"\n",
        )
        .expect("write");
        let env = |k: &str| match k {
            "REELGUARD_WORKERS" => Some("1".to_string()),
            "REELGUARD_LISTEN" => Some("127.0.0.1:9001".to_string()),
            "REELGUARD_KEYFRAMES_FIRST" => Some("false".to_string()),
            _ => None,
        };
        let config = Config::load(Some(&file), &env).expect("load");
        assert_eq!(config.queue_limit, 5);
        assert_eq!(config.workers, 1);
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 9001)));
        assert!(!config.keyframes_first);
        assert_eq!(config.max_attempts, Config::default().max_attempts);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("reelguard.toml");
        std::fs::write(&file, "queue_limt = 5\n").expect("write");
        assert!(Config::load(Some(&file), &|_| None).is_err());
    }

    #[test]
    fn the_example_config_is_valid() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/reelguard.toml");
        let config = Config::load(Some(&example), &|_| None).expect("example config");
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(
            config.webhook_max_attempts,
            Config::default().webhook_max_attempts
        );
        assert_eq!(
            config.webhook_backoff_ms,
            Config::default().webhook_backoff_ms
        );
    }
}
