//! `sockserve tcp listen|send`: the tutorial's raw TCP pair.

use crate::cli::{TcpListenArgs, TcpSendArgs};
use crate::cmd::CmdResult;

pub fn listen(_args: TcpListenArgs) -> CmdResult {
    Err(crate::cmd::CliError::Runtime("not yet".into()))
}

pub fn send(_args: TcpSendArgs) -> CmdResult {
    Err(crate::cmd::CliError::Runtime("not yet".into()))
}
