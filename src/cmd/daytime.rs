//! `sockserve daytime`: RFC 867 over TCP or UDP.

use crate::cli::DaytimeArgs;
use crate::cmd::CmdResult;

pub fn run(_args: DaytimeArgs) -> CmdResult {
    Err(crate::cmd::CliError::Runtime("not yet".into()))
}
