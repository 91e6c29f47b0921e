//! `sockserve migrate [--db PATH|URL]`: brings the guestbook's schema to this version's, as the
//! site does at start, for deployments that migrate before rolling out (and to see what would
//! change in a log). Safe beside running instances: each backend migrates under a lock.

use std::path::PathBuf;
use std::process::ExitCode;

use app::guestbook::store::{DbTarget, ErrorKind, Store};

use crate::cli::DEFAULT_DB;
use crate::cmd::{CliError, CmdResult, init_logging, site::source_chain};

pub fn run(db: Option<PathBuf>) -> CmdResult {
    init_logging(true);
    let db = DbTarget::parse(&db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB)));
    match Store::migrate(&db) {
        Ok(applied) if applied.is_empty() => {
            println!("{db}: up to date");
            Ok(ExitCode::SUCCESS)
        }
        Ok(applied) => {
            let versions: Vec<String> = applied.iter().map(u32::to_string).collect();
            println!("{db}: applied version {}", versions.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == ErrorKind::Config => {
            Err(CliError::Usage(format!("{db}: {}", source_chain(&e))))
        }
        Err(e) => Err(CliError::Runtime(format!("{db}: {}", source_chain(&e)))),
    }
}
