//! `sockserve` with no command: the demo site.

use std::path::PathBuf;

use crate::cli::{HttpArgs, ListenArgs};
use crate::cmd::{
    CmdResult, announce, bind_error, http_config, init_logging, listen_addr, run_server,
};

pub fn run(listen: ListenArgs, http: HttpArgs, _db: PathBuf, _daytime: Option<u16>) -> CmdResult {
    init_logging(http.quiet);
    let (runtime, http) = http_config(&http)?;
    let addr = listen_addr(&listen);
    let mut server = server::Server::new(runtime);
    let bound = server
        .http(addr, app::service(), http)
        .map_err(|e| bind_error(addr, e))?;
    announce("http", bound);
    // daytime: `--daytime PORT` is wired here by the daytime command.
    run_server(server)
}
