//! The CGI part of `sockserve serve`: turning `--cgi*` flags into a [`cgi::Cgi`] handler.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cgi::{Cgi, CgiConfig};

use crate::cli::ServeArgs;
use crate::cmd::CliError;

/// The CGI handler the flags ask for, or `None` without `--cgi`/`--cgi-dir`.
pub fn cgi_from_args(args: &ServeArgs, root: &Path) -> Result<Option<Cgi>, CliError> {
    if !args.cgi && args.cgi_dirs.is_empty() {
        if let Some(flag) = stray_flag(args) {
            return Err(CliError::Usage(format!("{flag} needs --cgi or --cgi-dir")));
        }
        return Ok(None);
    }
    // Absolute, so DOCUMENT_ROOT, SCRIPT_FILENAME and PATH_TRANSLATED are too.
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut config = CgiConfig::new(root);
    for dir in &args.cgi_dirs {
        config.script_dirs.push(script_dir(dir)?);
    }
    for pair in &args.cgi_env {
        config.env.push(env_pair(pair)?);
    }
    for mapping in &args.cgi_ext {
        let (ext, program) = ext_mapping(mapping)?;
        let program = resolve_program(&program, config.script_path()).ok_or_else(|| {
            CliError::Usage(format!(
                "--cgi-ext {mapping}: program {program:?} not found"
            ))
        })?;
        config.interpreters.push((ext, program));
    }
    config.timeout = Duration::try_from_secs_f64(args.cgi_timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--cgi-timeout must be a positive number of seconds, not {}",
                args.cgi_timeout
            ))
        })?;
    if args.cgi_max == 0 {
        return Err(CliError::Usage("--cgi-max must be at least 1".into()));
    }
    config.max_scripts = args.cgi_max;
    Ok(Some(Cgi::new(config)))
}

/// A CGI flag given without CGI turned on, which would otherwise be silently ignored.
fn stray_flag(args: &ServeArgs) -> Option<&'static str> {
    if !args.cgi_ext.is_empty() {
        Some("--cgi-ext")
    } else if !args.cgi_env.is_empty() {
        Some("--cgi-env")
    } else {
        None
    }
}

/// `--cgi-dir scripts` or `/scripts/`: a URL directory, normalized to `/scripts`.
fn script_dir(dir: &str) -> Result<String, CliError> {
    let segments: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty()
        || segments
            .iter()
            .any(|s| *s == "." || *s == ".." || s.contains(['%', '\\', '\0']))
    {
        return Err(CliError::Usage(format!(
            "--cgi-dir {dir:?}: expected a URL directory such as /scripts"
        )));
    }
    Ok(format!("/{}", segments.join("/")))
}

/// `K=V`, with a name that a shell could export.
fn env_pair(pair: &str) -> Result<(String, String), CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--cgi-env {pair:?}: expected NAME=VALUE, NAME of letters, digits and _"
        ))
    };
    let (k, v) = pair.split_once('=').ok_or_else(bad)?;
    let valid = k
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
    if k.is_empty() || !valid {
        return Err(bad());
    }
    Ok((k.to_string(), v.to_string()))
}

/// `.py=python3`: the extension (leading dot required) and the program.
fn ext_mapping(mapping: &str) -> Result<(String, String), CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--cgi-ext {mapping:?}: expected .EXT=PROGRAM, e.g. .py=python3"
        ))
    };
    let (ext, program) = mapping.split_once('=').ok_or_else(bad)?;
    let ext_ok = ext.len() > 1 && ext.starts_with('.') && !ext[1..].contains(['.', '/']);
    if !ext_ok || program.trim().is_empty() {
        return Err(bad());
    }
    Ok((ext.to_string(), program.to_string()))
}

/// An absolute path for `program`: as given if it has a `/`, else the first match on the
/// scripts' `PATH`, then on the server's own (scripts never see the server's environment, so
/// the lookup happens here, once).
pub(crate) fn resolve_program(program: &str, script_path: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then(|| std::path::absolute(&p).unwrap_or(p));
    }
    let server_path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(script_path)
        .chain(std::env::split_paths(&server_path))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cgi_flag_syntax() {
        assert_eq!(script_dir("scripts/").unwrap(), "/scripts");
        assert_eq!(script_dir("/a/b").unwrap(), "/a/b");
        assert!(script_dir("/a/../b").is_err());
        assert!(script_dir("/").is_err());
        assert_eq!(env_pair("A_1=x=y").unwrap(), ("A_1".into(), "x=y".into()));
        assert!(env_pair("1A=x").is_err());
        assert!(env_pair("noequals").is_err());
        assert!(env_pair("=v").is_err());
        assert_eq!(
            ext_mapping(".py=python3").unwrap(),
            (".py".into(), "python3".into())
        );
        assert!(ext_mapping("py=python3").is_err());
        assert!(ext_mapping(".py=").is_err());
        assert!(ext_mapping(".py").is_err());
        assert!(resolve_program("sh", "/usr/bin:/bin").is_some());
        assert!(resolve_program("no-such-program-xyz", "/usr/bin").is_none());
    }
}
