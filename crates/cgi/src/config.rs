//! What the CGI handler needs to know, validated by the caller before the server starts.

use std::path::PathBuf;
use std::time::Duration;

/// URL directories whose files are scripts when CGI is on, as in Python's `http.server --cgi`.
pub const DEFAULT_SCRIPT_DIRS: [&str; 2] = ["/cgi-bin", "/htbin"];

/// The `PATH` scripts get: the server's own environment never reaches a script, so a script
/// cannot learn secrets from it or be steered by a caller's odd `PATH`.
pub const SAFE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How long a script may run, from spawn to the last byte of its output, before its whole
/// process group is killed (`504` if it had not sent its header block yet).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Most scripts running at once; a request past it waits up to [`crate::handler::QUEUE_WAIT`]
/// for a slot, then gets `503`.
pub const DEFAULT_MAX_SCRIPTS: usize = 64;

/// Settings of a [`crate::Cgi`] handler.
#[derive(Debug, Clone)]
pub struct CgiConfig {
    /// The document root: script directories live under it, and `DOCUMENT_ROOT` and
    /// `PATH_TRANSLATED` are built from it.
    pub root: PathBuf,
    /// URL paths of script directories (`/cgi-bin`); each maps to the same path under `root`.
    pub script_dirs: Vec<String>,
    /// URL paths of script directories that live elsewhere on disk (`/cgi-bin` ->
    /// `/srv/scripts`), as Apache's `ScriptAlias` maps them.
    pub aliases: Vec<(String, PathBuf)>,
    /// Interpreters by file extension (`.py` -> `/usr/bin/python3`): such files run as
    /// `PROGRAM SCRIPT` and need no execute bit. Programs should be absolute paths.
    pub interpreters: Vec<(String, PathBuf)>,
    /// Extra environment variables for every script (they may replace `PATH`, but never a
    /// meta-variable).
    pub env: Vec<(String, String)>,
    /// See [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// See [`DEFAULT_MAX_SCRIPTS`].
    pub max_scripts: usize,
    /// `SERVER_SOFTWARE`.
    pub server_software: String,
}

impl CgiConfig {
    /// The defaults for serving `root`: `/cgi-bin` and `/htbin`, no interpreters, no extra
    /// environment, [`DEFAULT_TIMEOUT`], [`DEFAULT_MAX_SCRIPTS`].
    pub fn new(root: impl Into<PathBuf>) -> CgiConfig {
        CgiConfig {
            root: root.into(),
            script_dirs: DEFAULT_SCRIPT_DIRS.iter().map(|d| d.to_string()).collect(),
            aliases: Vec::new(),
            interpreters: Vec::new(),
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_scripts: DEFAULT_MAX_SCRIPTS,
            server_software: concat!("sockserve/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    /// The `PATH` scripts get: an extra `PATH=` entry if one was given, else [`SAFE_PATH`].
    pub fn script_path(&self) -> &str {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map_or(SAFE_PATH, |(_, v)| v.as_str())
    }

    /// The interpreter for a file name, by its extension (compared case-sensitively, like the
    /// file system).
    pub fn interpreter_for(&self, file_name: &[u8]) -> Option<&PathBuf> {
        self.interpreters
            .iter()
            .find(|(ext, _)| file_name.ends_with(ext.as_bytes()) && file_name.len() > ext.len())
            .map(|(_, program)| program)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_matches_extension_but_not_bare_name() {
        let mut c = CgiConfig::new("/srv");
        c.interpreters
            .push((".py".into(), "/usr/bin/python3".into()));
        assert!(c.interpreter_for(b"a.py").is_some());
        assert!(c.interpreter_for(b".py").is_none());
        assert!(c.interpreter_for(b"a.pl").is_none());
    }

    #[test]
    fn path_defaults_to_safe_path_and_can_be_replaced() {
        let mut c = CgiConfig::new("/srv");
        assert_eq!(c.script_path(), SAFE_PATH);
        c.env.push(("PATH".into(), "/opt/bin".into()));
        assert_eq!(c.script_path(), "/opt/bin");
    }
}
