//! The `sockserve` command: parse the command line, validate it into a config, run.
//!
//! This is the only place that knows about clap, the logger, exit codes, signals, rlimits and
//! the memory allocator.

mod cli;
mod cmd;
mod handover;
mod lifecycle;

use std::process::ExitCode;

use crate::cli::{Command, TcpCommand};

/// jemalloc rather than glibc's malloc: every connection holds a few long-lived blocks, two of
/// them aligned to 128 bytes (tokio's task and I/O registration). glibc carves each aligned
/// block out of a larger one and leaves the rest as holes that later requests rarely fit, so
/// ten thousand idle connections left about a third of the heap unused. jemalloc's size
/// classes place such blocks side by side (bench `h2-idle-memory`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::parse();
    let serves = !cli.print_config
        && !matches!(
            cli.command,
            Some(
                Command::Get(_)
                    | Command::Tcp(TcpCommand::Send(_))
                    | Command::Check(_)
                    | Command::ConfigFromFlags(_)
                    | Command::Reload
                    | Command::Upgrade
                    | Command::Migrate(_)
            )
        );
    if serves && let Err(e) = lifecycle::install_signal_handlers() {
        eprintln!("sockserve: cannot install the signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    let result = if let Some(file) = cli.config {
        cmd::config_run::run(&file, &cli.http)
    } else if cli.print_config {
        cmd::config_flags::print(cli)
    } else {
        match cli.command {
            None => cmd::site::run(
                cli.listen,
                cli.http,
                cli.tls,
                cli.db,
                cli.daytime,
                cli.session_key_file,
            ),
            Some(Command::Serve(args)) => cmd::serve::run(*args, cli.listen, cli.http, cli.tls),
            Some(Command::Tcp(TcpCommand::Listen(args))) => {
                cmd::tcp::listen(args, cli.listen, cli.http)
            }
            Some(Command::Tcp(TcpCommand::Send(args))) => cmd::tcp::send(args),
            Some(Command::Daytime(args)) => cmd::daytime::run(args, cli.listen, cli.http.quiet),
            Some(Command::Get(args)) => cmd::get::run(args),
            Some(Command::Check(args)) => cmd::config_run::check(&args.file),
            Some(Command::ConfigFromFlags(args)) => cmd::config_flags::from_args(&args.args),
            Some(Command::Reload) => {
                cmd::signal::send(cli.http.pid_file.as_deref(), cmd::signal::Ask::Reload)
            }
            Some(Command::Upgrade) => {
                cmd::signal::send(cli.http.pid_file.as_deref(), cmd::signal::Ask::Upgrade)
            }
            Some(Command::Migrate(args)) => cmd::migrate::run(args.db.or(cli.db)),
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sockserve: {e}");
            e.exit_code()
        }
    }
}
