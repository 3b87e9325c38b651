//! A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` package,
//! a fresh data directory, a Unix socket inside it and no TCP port, stopped and removed on
//! drop.
//!
//! The decision that shapes it: the suite starts its own server rather than expecting one,
//! so `.ci/run` on a fresh machine needs only the package (`fixtures/install-deps` installs
//! it). PostgreSQL refuses to run as root, so as root the server runs as the package's
//! `postgres` user (`runuser`); durability is off (`fsync`, `synchronous_commit`,
//! `full_page_writes`): a test server's data dies with it anyway.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why a throwaway server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ThrowawayError {
    /// No PostgreSQL binaries were found.
    #[error(
        "no PostgreSQL server binaries (looked in $REELGUARD_PG_BIN and /usr/lib/postgresql/*/bin): \
         install Debian's postgresql package (fixtures/install-deps does)"
    )]
    NotInstalled,
    /// A file operation or a command could not be run.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{what} failed: {output}")]
    Failed {
        /// The command.
        what: String,
        /// Its stderr and stdout, and the server log where there is one.
        output: String,
    },
}

/// A running throwaway server.
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

/// The newest installed server's `bin` directory.
fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REELGUARD_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> ThrowawayError + '_ {
    move |source| ThrowawayError::Io {
        what: what.to_string(),
        source,
    }
}

impl PgServer {
    /// Initialises and starts a server in a new directory under the system's temporary one.
    pub fn start() -> Result<PgServer, ThrowawayError> {
        let bin = find_bin().ok_or(ThrowawayError::NotInstalled)?;
        let as_postgres = std::fs::metadata("/proc/self")
            .map_err(io("reading the process's uid"))?
            .uid()
            == 0;
        let token = crate::util::random_token().map_err(|e| ThrowawayError::Failed {
            what: "making a directory name".into(),
            output: e.to_string(),
        })?;
        let dir = std::env::temp_dir().join(format!("reelguard-pg-{}", &token[..12]));
        std::fs::create_dir(&dir).map_err(io("creating the server directory"))?;
        let server = PgServer {
            dir,
            bin,
            as_postgres,
        };
        if as_postgres {
            server.check(
                "chown",
                Command::new("chown").arg("postgres:").arg(&server.dir),
            )?;
        }
        let data = server.data();
        server.check(
            "initdb",
            server.tool("initdb").arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]),
        )?;
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            server.dir.display()
        );
        server.check(
            "pg_ctl start",
            server
                .tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(server.log())
                .args(["-w", "-t", "60", "-o", &options, "start"]),
        )?;
        Ok(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A command running a server binary, as `postgres` when this process is root.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn check(&self, what: &str, command: &mut Command) -> Result<Output, ThrowawayError> {
        let out = command.output().map_err(io(what))?;
        if out.status.success() {
            return Ok(out);
        }
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        Err(ThrowawayError::Failed {
            what: what.to_string(),
            output: format!(
                "{}{}{log}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ),
        })
    }

    /// The directory holding the server's socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// A connection string for `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!(
            "host={} user=postgres dbname={database}",
            self.dir.display()
        )
    }

    /// Creates an empty database and returns its connection string: tests sharing one server
    /// each get their own.
    pub fn create_database(&self, name: &str) -> Result<String, ThrowawayError> {
        self.check(
            "createdb",
            self.tool("createdb")
                .arg("-h")
                .arg(&self.dir)
                .args(["-U", "postgres", name]),
        )?;
        Ok(self.url(name))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // `immediate`: no checkpoint, the data is thrown away next.
        let stopped = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        if let Err(e) = stopped {
            tracing::warn!(error = %e, "could not stop the throwaway PostgreSQL server");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
