//! `suat`: a thin binary. It parses arguments and calls the libraries: `suat serve` runs `suat_server`, every other
//! command is the client side of the token lifecycle (`suat_client`).

mod commands;

/// The request path allocates per request (parameters, cached records, JSON) from many threads; mimalloc is built
/// for that pattern. The benchmark's ceiling uses it too, so the reported ratios compare handlers, not allocators.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

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
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log: the hash chain on SQLite (names the first bad row), the server role's privileges on
    /// PostgreSQL. Exits non-zero if it is broken.
    Verify(suat_server::audit::AuditArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
    }
}
