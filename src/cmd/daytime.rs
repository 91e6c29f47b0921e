//! `sockserve daytime`: RFC 867 over TCP or UDP, and `--daytime PORT` beside the demo site.

use std::io;
use std::net::SocketAddr;

use server::{RuntimeConfig, Server};
use services::daytime::{self, DaytimeTcp};

use crate::cli::{DaytimeArgs, ListenArgs};
use crate::cmd::{
    CliError, CmdResult, announce, bind_error, init_logging, listen_addr, run_server,
};

pub fn run(args: DaytimeArgs, listen: ListenArgs, quiet: bool) -> CmdResult {
    init_logging(quiet);
    // One line per client needs no more than one worker.
    let mut server = Server::new(RuntimeConfig {
        threads: 1,
        ..RuntimeConfig::default()
    });
    let addr = listen_addr(&listen, daytime::PORT);
    let bound = if args.udp {
        bind_udp(&mut server, addr)
    } else {
        server.tcp(addr, DaytimeTcp)
    };
    let bound = bound.map_err(|e| bind_error(addr, e))?;
    announce(if args.udp { "udp" } else { "tcp" }, bound, None);
    run_server(server, crate::cmd::Ops::default())
}

/// Binds the TCP daytime service on an existing server (the demo site's `--daytime PORT`).
pub fn attach(server: &mut Server, addr: SocketAddr) -> Result<SocketAddr, CliError> {
    let bound = server
        .tcp(addr, DaytimeTcp)
        .map_err(|e| bind_error(addr, e))?;
    tracing::info!("daytime (RFC 867) on tcp://{bound}");
    Ok(bound)
}

/// Binds the UDP socket now, so a port in use is reported before the banner, and answers on it
/// once the server runs.
fn bind_udp(server: &mut Server, addr: SocketAddr) -> io::Result<SocketAddr> {
    let socket = std::net::UdpSocket::bind(addr)?;
    let bound = socket.local_addr()?;
    server.spawn(move |shutdown| daytime::serve_udp(socket, shutdown));
    Ok(bound)
}
