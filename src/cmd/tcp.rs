//! `sockserve tcp listen|send`: the tutorial's raw TCP pair.
//!
//! `listen` runs [`services::reply::ReplyService`] on the shared runtime, so it serves
//! many clients at once; `send` is [`client::tcp::send`] on a one-thread runtime.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use client::error::report;
use server::RuntimeConfig;
use services::reply::{OnMessage, Reply, ReplyService, SHOWN_CHARS, escape};

use crate::cli::{DEFAULT_PORT, HttpArgs, ListenArgs, TcpListenArgs, TcpSendArgs};
use crate::cmd::{CliError, CmdResult, announce, bind_error, init_logs, listen_addr, run_server};

pub fn listen(args: TcpListenArgs, listen: ListenArgs, http: HttpArgs) -> CmdResult {
    init_logs(&http);
    let mut runtime = RuntimeConfig::default();
    if let Some(n) = http.threads {
        if n == 0 {
            return Err(CliError::Usage("--threads must be at least 1".into()));
        }
        runtime.threads = n;
    }
    if http.max_connections == 0 {
        return Err(CliError::Usage(
            "--max-connections must be at least 1".into(),
        ));
    }
    runtime.max_connections = http.max_connections;
    let reply = if args.echo {
        Reply::Echo
    } else {
        Reply::Text(args.reply.into_bytes().into())
    };
    let service = ReplyService::new(reply, print_message());
    let addr = listen_addr(&listen, DEFAULT_PORT);
    let mut server = crate::cmd::new_server(runtime)?;
    let bound = server.tcp(addr, service).map_err(|e| bind_error(addr, e))?;
    announce("tcp", bound, None);
    run_server(server, crate::cmd::Ops::from_args(&http))
}

/// Prints `peer: message` on stdout for each client, as the tutorial's server does.
fn print_message() -> OnMessage {
    Arc::new(|peer: SocketAddr, message: &[u8]| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{peer}: {}", escape(message, SHOWN_CHARS));
        let _ = out.flush();
    })
}

pub fn send(args: TcpSendArgs) -> CmdResult {
    let timeout = timeout_arg(args.timeout)?;
    let runtime = client_runtime()?;
    let reply = runtime
        .block_on(client::tcp::send(
            &args.addr,
            args.message.as_bytes(),
            timeout,
        ))
        .map_err(client_error)?;
    let mut out = std::io::stdout().lock();
    let written = out.write_all(&reply).and_then(|()| {
        if reply.ends_with(b"\n") {
            Ok(())
        } else {
            out.write_all(b"\n")
        }
    });
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Runtime(format!("cannot write the reply: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `--timeout SECS` of the client commands, validated.
pub(crate) fn timeout_arg(secs: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--timeout must be a positive number of seconds, not {secs}"
            ))
        })
}

/// The one-thread runtime a client command runs on.
pub(crate) fn client_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the runtime: {e}")))
}

/// A client failure as a one-line message: a bad address is a usage error, the rest run time.
pub(crate) fn client_error(e: client::Error) -> CliError {
    match e {
        client::Error::Url(_) => CliError::Usage(report(&e)),
        _ => CliError::Runtime(report(&e)),
    }
}
