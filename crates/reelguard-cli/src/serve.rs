//! `reelguard serve [--config FILE] [--data DIR] [--listen ADDR:PORT] [--ingest-dir DIR]`
//!
//! Settings come from built-in defaults, then the TOML file, then `REELGUARD_*` environment
//! variables, then these flags. Once the sockets are bound, one JSON line
//! `{"listening": "ADDR:PORT"}` is printed on stdout (useful with `--listen 127.0.0.1:0`),
//! with `"metrics_listening"` too when `metrics_listen` is set.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use reelguard_server::Config;

#[derive(clap::Args)]
pub struct Args {
    /// TOML configuration file (see systemd/reelguard.toml for a documented example).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory: store, catalogue and uploads.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory from which files may be registered or submitted by path.
    #[arg(long)]
    ingest_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref(), &|key| std::env::var(key).ok())
        .context("loading the configuration")?;
    if let Some(data) = args.data {
        config.data_dir = data;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(ingest) = args.ingest_dir {
        config.ingest_dir = Some(ingest);
    }
    reelguard_server::run(config, |bound| {
        let mut out = std::io::stdout().lock();
        let mut line = serde_json::json!({ "listening": bound.api.to_string() });
        if let Some(metrics) = bound.metrics {
            line["metrics_listening"] = serde_json::json!(metrics.to_string());
        }
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    })
    .context("reelguard serve")?;
    Ok(ExitCode::SUCCESS)
}
