//! The access part of `sockserve serve`: `--auth`/`--auth-file` into an [`auth::Auth`], and
//! `--upload*` into a [`files::upload::Upload`].

use std::sync::Arc;

use auth::{Auth, Htpasswd};

use crate::cli::AccessArgs;
use crate::cmd::CliError;

/// The authentication the flags ask for, or `None` when every request may pass.
pub fn auth_from_args(args: &AccessArgs) -> Result<Option<Arc<Auth>>, CliError> {
    if args.auth.is_empty() && args.auth_file.is_empty() {
        if args.auth_realm.is_some() {
            return Err(CliError::Usage(
                "--auth-realm needs --auth or --auth-file".into(),
            ));
        }
        return Ok(None);
    }
    let mut users = Htpasswd::new();
    for pair in &args.auth {
        let bad = || {
            CliError::Usage(format!(
                "--auth {:?}: expected USER:PASSWORD with a non-empty user",
                redact(pair)
            ))
        };
        let (user, password) = pair.split_once(':').ok_or_else(bad)?;
        users.add_password(user, password).map_err(|_| bad())?;
    }
    for path in &args.auth_file {
        // Read once here for the error message and the empty check; Auth reads them again.
        let file = Htpasswd::load(path).map_err(load_error)?;
        if file.is_empty() {
            return Err(CliError::Usage(format!(
                "--auth-file {}: no users in it",
                path.display()
            )));
        }
    }
    let auth = Auth::with_files(args.auth_realm.as_deref(), users, args.auth_file.clone())
        .map_err(|e| match e {
            auth::AuthError::Load(e) => load_error(e),
            auth::AuthError::Realm(e) => CliError::Usage(format!("--auth-realm: {e}")),
        })?;
    Ok(Some(Arc::new(auth)))
}

/// A password file that cannot be used, as one line.
fn load_error(e: auth::LoadError) -> CliError {
    match &e {
        auth::LoadError::Io { source, .. } => {
            CliError::Usage(format!("--auth-file: {e}: {source}"))
        }
        auth::LoadError::Line { .. } => CliError::Usage(format!("--auth-file {e}")),
    }
}

/// The uploads the flags allow, or `None` (read-only). Uploads need a password unless
/// `--upload-public` says the site is meant to be writable by anyone.
pub fn upload_from_args(
    args: &AccessArgs,
    authenticated: bool,
) -> Result<Option<files::upload::Upload>, CliError> {
    if !args.upload {
        let stray = if args.upload_public {
            Some("--upload-public")
        } else if args.upload_max.is_some() {
            Some("--upload-max")
        } else if args.upload_quota.is_some() {
            Some("--upload-quota")
        } else {
            None
        };
        return match stray {
            Some(flag) => Err(CliError::Usage(format!("{flag} needs --upload"))),
            None => Ok(None),
        };
    }
    if !authenticated && !args.upload_public {
        return Err(CliError::Usage(
            "--upload needs --auth or --auth-file (or --upload-public to let anyone change files)"
                .into(),
        ));
    }
    let mut up = files::upload::Upload::default();
    if let Some(max) = &args.upload_max {
        up.max_file_size = size("--upload-max", max)?;
    }
    if let Some(quota) = &args.upload_quota {
        up.quota = Some(size("--upload-quota", quota)?);
    }
    Ok(Some(up))
}

/// `1048576`, `512K`, `10M`, `2G` (powers of 1024, as nginx's sizes).
pub(crate) fn size(flag: &str, text: &str) -> Result<u64, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "{flag} {text:?}: expected a size such as 10M (bytes, or K, M, G)"
        ))
    };
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(bad()),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).filter(|&v| v > 0).ok_or_else(bad)
}

/// `user:***`: a password is not repeated in an error message.
fn redact(pair: &str) -> String {
    match pair.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => pair.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(auth: &[&str]) -> AccessArgs {
        AccessArgs {
            auth: auth.iter().map(|s| s.to_string()).collect(),
            ..AccessArgs::default()
        }
    }

    #[test]
    fn auth_flags() {
        assert!(auth_from_args(&args(&[])).unwrap().is_none());
        let a = auth_from_args(&args(&["ann:pw", "bob:p:w"]))
            .unwrap()
            .unwrap();
        assert!(a.users().verify("ann", "pw"));
        assert!(a.users().verify("bob", "p:w"));
        let e = auth_from_args(&args(&["nocolon"])).unwrap_err();
        assert!(e.to_string().contains("USER:PASSWORD"), "{e}");
        let e = auth_from_args(&args(&[":secret"])).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        let realm_only = AccessArgs {
            auth_realm: Some("x".into()),
            ..AccessArgs::default()
        };
        assert!(auth_from_args(&realm_only).is_err());
    }

    #[test]
    fn upload_flags() {
        let on = AccessArgs {
            upload: true,
            ..AccessArgs::default()
        };
        assert!(upload_from_args(&on, false).is_err(), "needs a password");
        assert!(upload_from_args(&on, true).unwrap().is_some());
        let public = AccessArgs {
            upload_public: true,
            upload_max: Some("10M".into()),
            ..on.clone()
        };
        let up = upload_from_args(&public, false).unwrap().unwrap();
        assert_eq!(up.max_file_size, 10 << 20);
        let stray = AccessArgs {
            upload_public: true,
            ..AccessArgs::default()
        };
        assert!(upload_from_args(&stray, true).is_err());
        assert_eq!(size("x", "512k").unwrap(), 512 << 10);
        assert_eq!(size("x", "7").unwrap(), 7);
        for bad in ["", "0", "10X", "M", "-1", "99999999999999G"] {
            assert!(size("x", bad).is_err(), "{bad}");
        }
    }
}
