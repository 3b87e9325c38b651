//! The decode worker on its own: what `reelguard worker` runs, as a separate small binary so
//! this crate's tests (and deployments that prefer a dedicated executable) can start real
//! workers without the CLI.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The CLI's subcommand name is accepted (and ignored) so both start the same way.
    let args = match args.first().map(String::as_str) {
        Some("worker") => &args[1..],
        _ => &args[..],
    };
    reelguard_sandbox::worker_main(args)
}
