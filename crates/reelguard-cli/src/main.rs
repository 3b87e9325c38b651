//! The `reelguard` command: wires the library crates to a command line and nothing more.
//!
//! Each subcommand lives in its own module; all of them print machine-readable JSON with
//! `--json` and a table otherwise, and show progress only when stderr is a terminal.

mod admin;
mod bench;
mod bench_inputs;
mod chance;
mod eval;
mod fingerprint;
mod progress;
mod register;
mod scan;
mod serve;
mod splits;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Finds pirated copies of registered short-drama episodes.
#[derive(Parser)]
#[command(name = "reelguard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Offline administration: members and API keys.
    #[command(subcommand)]
    Admin(admin::Command),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REELGUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::Register(args) => register::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Admin(command) => admin::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("reelguard: {error:#}");
            ExitCode::from(2)
        }
    }
}
