//! `sockserve` with no command: the demo site.

use std::path::PathBuf;

use crate::cli::{HttpArgs, ListenArgs};
use crate::cmd::CmdResult;

pub fn run(_listen: ListenArgs, _http: HttpArgs, _db: PathBuf, _daytime: Option<u16>) -> CmdResult {
    Err(crate::cmd::CliError::Runtime("not yet".into()))
}
