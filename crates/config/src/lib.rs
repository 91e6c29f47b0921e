//! The sockserve configuration file: several listeners, virtual hosts, and per-path routes
//! with their rules, written in TOML and checked before any socket opens.
//!
//! [`Config::load`] reads a file and returns either a validated [`Config`] or [`Diagnostics`]:
//! every mistake in the file at once (unknown keys, wrong types, bad addresses, missing
//! directories, unreadable certificates, a route with no handler or two...), each with its line
//! and column, as `nginx -t` would wish to. [`Config::from_str`] does the same for text.
//!
//! Nothing here opens a socket or reads the environment; the binary turns a [`Config`] into
//! running services, and calls [`Config::load`] again on reload.
//!
//! # Layout
//! - [`raw`]: the file's shape for serde (unknown keys refused, spans kept); also what
//!   `config-from-flags` prints.
//! - `unit`: reading one piece at a time so a mistake does not hide the next one.
//! - `validate`, `check`: judging every value, collecting all mistakes.
//! - [`model`]: the validated [`Config`].
//! - [`diag`]: [`Diagnostics`], printed as `FILE:LINE:COL: message`.
//! - [`host`], [`ip`]: host patterns and CIDR networks.
//! - [`table`]: choosing a site by `Host` and a route by path, without allocating.

#![forbid(unsafe_code)]

mod check;
pub mod diag;
pub mod host;
pub mod ip;
pub mod model;
pub mod raw;
pub mod table;
mod unit;
mod validate;

use std::path::{Path, PathBuf};

pub use check::FRAMING;
pub use diag::{Diagnostic, Diagnostics};
pub use model::*;

/// The largest configuration file read (a typo'd path to a log or a database would otherwise be
/// read whole before being refused).
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

impl Config {
    /// Reads and validates the file at `path`. Relative paths inside it are relative to the
    /// file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Diagnostics> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let one = |message: String| Diagnostics {
            file: name.clone(),
            items: vec![Diagnostic {
                line: 1,
                column: 1,
                message,
            }],
        };
        let meta = std::fs::metadata(path).map_err(|e| one(format!("cannot read: {e}")))?;
        if meta.len() > MAX_FILE_SIZE {
            return Err(one(format!(
                "larger than {MAX_FILE_SIZE} bytes: not a configuration file"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| one(format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| one("not UTF-8 text".into()))?;
        let base = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let mut config = validate::config(&text, &name, &base)?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// Validates `text`; relative paths in it are relative to the current directory.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Config, Diagnostics> {
        let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Config::parse(text, "<string>", &base)
    }

    /// Validates `text`, naming it `file` in messages; relative paths start at `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, Diagnostics> {
        validate::config(text, file, base)
    }
}

#[cfg(test)]
mod tests;
