//! `sockserve` with no command: the demo site.

use std::net::SocketAddr;
use std::path::PathBuf;

use app::guestbook::store::DbTarget;

use crate::cli::{DEFAULT_DB, DEFAULT_PORT, HttpArgs, ListenArgs, TlsArgs};
use crate::cmd::{CliError, CmdResult, http_config, init_logs, listen_addr, run_server};

pub fn run(
    listen: ListenArgs,
    http: HttpArgs,
    tls: TlsArgs,
    db: Option<PathBuf>,
    daytime: Option<u16>,
) -> CmdResult {
    let db = DbTarget::parse(&db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB)));
    init_logs(&http);
    let ops = crate::cmd::Ops::from_args(&http);
    let (runtime, http) = http_config(&http)?;
    let tls = crate::cmd::tls::tls_from_args(&tls)?;
    let addr = listen_addr(&listen, DEFAULT_PORT);
    let site = app::site(&app::Config { db: db.clone() })
        .map_err(|e| CliError::Runtime(format!("{db}: {}", source_chain(&e))))?;
    let mut server = crate::cmd::new_server(runtime)?;
    let banner = crate::cmd::tls::bind(&mut server, addr, tls, site, http, None)?;
    if let Some(port) = daytime {
        crate::cmd::daytime::attach(&mut server, SocketAddr::new(listen.bind, port))?;
    }
    banner.print();
    run_server(server, ops)
}

/// `error: cause: cause...`, so the reason a database cannot open reaches the terminal.
pub(crate) fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}
