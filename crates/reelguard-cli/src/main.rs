//! The `reelguard` command: wires the library crates to a command line and nothing more.
//!
//! Each subcommand lives in its own module; all of them print machine-readable JSON with
//! `--json` and a table otherwise, and show progress only when stderr is a terminal.

mod admin;
mod bench;
mod bench_index;
mod bench_inputs;
mod chance;
mod chance_audio;
mod checks;
mod demo;
mod demo_api;
mod eval;
mod fingerprint;
mod progress;
mod register;
mod scan;
mod serve;
mod splits;
mod synthetic;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Finds pirated copies of registered short-drama episodes.
#[derive(Parser)]
#[command(name = "reelguard", version, about)]
struct Cli {
    /// Log format on stderr: text (coloured only on a terminal) or json (one object per line,
    /// for collectors) [env: REELGUARD_LOG_FORMAT] [default: text]
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logs go to stderr, filtered by `REELGUARD_LOG` (default `warn`). Colour only when stderr is
/// a terminal and `NO_COLOR` is unset: under systemd or `2>file` escape codes are noise in
/// journald and in files (tracing-subscriber colours whenever its `ansi` feature is on).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REELGUARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            builder
                .with_ansi(std::io::stderr().is_terminal() && !no_color)
                .init();
        }
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Decode files and print their perceptual frame hashes.
    Fingerprint(fingerprint::Args),
    /// Register a work's episode files in a catalogue.
    Register(register::Args),
    /// Find registered episodes in suspect files.
    Scan(scan::Args),
    /// Measure accuracy on the generated fixtures (per edit family).
    Eval(eval::Args),
    /// Measure speed: hashing, fingerprinting against FFmpeg's own decode, matching.
    Bench(bench::Args),
    /// Run the HTTP daemon.
    Serve(serve::Args),
    /// See the product: a daemon with the sample dramas registered, pirated copies scanned
    /// through its queue, demo keys for each role, and the workbench's address.
    Demo(demo::Args),
    /// Offline administration: members and API keys.
    #[command(subcommand)]
    Admin(admin::Command),
    /// A sandboxed decode worker (started by the daemon's sandbox, never by hand).
    #[command(hide = true)]
    Worker {
        /// The worker's limits, as `reelguard_sandbox::Sandbox` passes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The command line, whose top-level help also lists the subcommands of subcommands
/// (`admin create-key`, `bench index`, ...): an operator looking for a command finds it on the
/// first page. Built from the definitions, so the list cannot drift from them.
fn command_line() -> clap::Command {
    let command = Cli::command();
    let mut nested = String::from("Commands within commands:\n");
    for outer in command.get_subcommands() {
        for inner in outer.get_subcommands() {
            let name = format!("{} {}", outer.get_name(), inner.get_name());
            let about = inner.get_about().map(|a| a.to_string()).unwrap_or_default();
            nested.push_str(&format!("  {name:<20} {about}\n"));
        }
    }
    command.after_help(nested)
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command_line().get_matches()) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let format = match cli.log_format {
        Some(format) => format,
        None => match std::env::var("REELGUARD_LOG_FORMAT") {
            Ok(text) if !text.is_empty() => match LogFormat::from_str(&text, true) {
                Ok(format) => format,
                Err(_) => {
                    eprintln!("reelguard: REELGUARD_LOG_FORMAT={text:?}: expected text or json");
                    return ExitCode::from(2);
                }
            },
            _ => LogFormat::Text,
        },
    };
    init_logging(format);
    let result = match cli.command {
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::Register(args) => register::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Admin(command) => admin::run(command),
        Command::Worker { args } => return reelguard_sandbox::worker_main(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("reelguard: {error:#}");
            ExitCode::from(2)
        }
    }
}
