//! `suat`: a thin binary. It parses arguments and calls the libraries: `suat serve` runs `suat_server`, every other
//! command is the client side of the token lifecycle (`suat_client`).

mod commands;

/// The request path allocates per request (parameters, cached records, JSON) from many threads; mimalloc is built
/// for that pattern. The benchmark's ceiling uses it too, so the reported ratios compare handlers, not allocators.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "suat", version, about = "System-user access tokens: a Graph-compatible authority and its client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Graph-API-compatible token authority.
    Serve(suat_server::config::ServeArgs),
    /// The server's audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    #[command(flatten)]
    Client(commands::ClientCommand),
    /// Print a shell completion script (e.g. `suat completions bash > ~/.local/share/bash-completion/completions/suat`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (`suat man | man -l -`), or write one page per command with --dir.
    Man {
        /// Write suat.1 and a page per subcommand (suat-token-generate.1, ...) into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `suat completions` and `suat man`: generated from the same clap tree that parses the arguments, so they cannot
/// drift from the flags.
fn generate_docs(command: &Command) -> std::io::Result<()> {
    let mut cli = Cli::command();
    // Rendered whole first: clap_complete panics on a failed write, and `suat completions bash | head` must not.
    let mut text = Vec::new();
    match command {
        Command::Completions { shell } => clap_complete::generate(*shell, &mut cli, "suat", &mut text),
        Command::Man { dir: Some(dir) } => {
            std::fs::create_dir_all(dir)?;
            return clap_mangen::generate_to(cli, dir);
        }
        Command::Man { dir: None } => clap_mangen::Man::new(cli).render(&mut text)?,
        _ => {}
    }
    match std::io::Write::write_all(&mut std::io::stdout().lock(), &text) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log: the hash chain on SQLite (names the first bad row), the server role's privileges on
    /// PostgreSQL. Exits non-zero if it is broken.
    Verify(suat_server::audit::AuditArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Completions { .. } | Command::Man { .. }) {
        return match generate_docs(&cli.command) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    // Client commands log warnings and errors too: `suat watch` runs unattended, and a pass that fails (a wrong store
    // key, an unreachable Graph) must say so on stderr rather than loop in silence.
    let default_level = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    let json = matches!(&cli.command, Command::Serve(a) if a.log_format == suat_server::config::LogFormat::Json);
    // Colour codes only for a person at a terminal: in a log file or a pipe they are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()))
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        logs.json().flatten_event(true).with_current_span(false).with_span_list(false).init();
    } else {
        logs.init();
    }
    match cli.command {
        Command::Serve(args) => match runtime.block_on(suat_server::run(args)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                // A database held by another process: the store's own line says all (the file and the holder's PID).
                match e.downcast_ref::<suat_store::StoreError>() {
                    Some(busy @ suat_store::StoreError::InUse { .. }) => eprintln!("suat serve: {busy}"),
                    _ => eprintln!("suat serve: {e:#}"),
                }
                std::process::ExitCode::FAILURE
            }
        },
        Command::Audit(AuditCommand::Verify(args)) => match runtime.block_on(suat_server::audit::verify(&args)) {
            Ok(v) => {
                for line in &v.lines {
                    println!("{line}");
                }
                if v.ok {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("suat audit verify: {e:#}");
                std::process::ExitCode::from(2)
            }
        },
        Command::Client(cmd) => runtime.block_on(cmd.run()),
        Command::Completions { .. } | Command::Man { .. } => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `path --flag` for every visible argument without help text and every subcommand without an about line.
    fn undocumented(cmd: &clap::Command, path: &str) -> Vec<String> {
        let mut missing = Vec::new();
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && !arg.is_hide_set() && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} --{}", arg.get_long().unwrap_or(arg.get_id().as_str())));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let sub_path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() {
                missing.push(format!("{sub_path} (no about)"));
            }
            missing.extend(undocumented(sub, &sub_path));
        }
        missing
    }

    /// Every subcommand says what it does and every flag or argument says what it is for: `--help`, the man page and
    /// the completions all show these texts, and an undocumented flag is one a user cannot discover.
    #[test]
    fn every_command_and_argument_has_help() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let missing = undocumented(&cli, "suat");
        assert!(missing.is_empty(), "without help text:\n{}", missing.join("\n"));
    }

    /// The walk reaches nested subcommands and flags from flattened structs (so the test above is not vacuous).
    #[test]
    fn the_help_walk_finds_what_is_missing() {
        let cmd = clap::Command::new("x").subcommand(
            clap::Command::new("y")
                .about("y")
                .subcommand(clap::Command::new("z").arg(clap::Arg::new("bare").long("bare")))
                .arg(clap::Arg::new("ok").long("ok").help("fine")),
        );
        assert_eq!(undocumented(&cmd, "x"), vec!["x y z (no about)", "x y z --bare"]);
        let cli = Cli::command();
        let generate = cli.find_subcommand("token").and_then(|t| t.find_subcommand("generate")).expect("generate");
        for flag in ["json", "graph_url", "app_secret", "access_token", "store", "show_token", "profile"] {
            assert!(generate.get_arguments().any(|a| a.get_id() == flag), "token generate has --{flag}");
        }
    }
}
