//! The CGI part of `sockserve serve`: turning `--cgi*` flags into a [`cgi::Cgi`] handler.

use std::path::Path;

use crate::cli::ServeArgs;
use crate::cmd::CliError;

/// The CGI handler the flags ask for, or `None` without `--cgi`/`--cgi-dir`.
pub fn cgi_from_args(_args: &ServeArgs, _root: &Path) -> Result<Option<()>, CliError> {
    Ok(None)
}
