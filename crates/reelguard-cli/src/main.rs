//! The `reelguard` command: wires the library crates to a command line and nothing more.
//!
//! Each subcommand lives in its own module; all of them print machine-readable JSON with
//! `--json` and a table otherwise, and show progress only when stderr is a terminal.

mod admin;
mod bench;
mod bench_inputs;
mod checks;
mod eval;
mod fingerprint;
mod progress;
mod register;
mod scan;
mod serve;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REELGUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
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
