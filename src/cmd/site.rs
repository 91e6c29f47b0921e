//! `sockserve` with no command: the demo site.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use app::guestbook::store::DbTarget;

use crate::cli::{DEFAULT_DB, DEFAULT_PORT, HttpArgs, ListenArgs, TlsArgs};
use crate::cmd::{CliError, CmdResult, http_config, init_logs, listen_addr, run_server};

pub fn run(
    listen: ListenArgs,
    http: HttpArgs,
    tls: TlsArgs,
    db: Option<PathBuf>,
    daytime: Option<u16>,
    session_key_file: Option<PathBuf>,
) -> CmdResult {
    let db = DbTarget::parse(&db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB)));
    let session_secret = session_secret(session_key_file.as_deref())?;
    init_logs(&http);
    let ops = crate::cmd::Ops::from_args(&http);
    let (runtime, http) = http_config(&http)?;
    let tls = crate::cmd::tls::tls_from_args(&tls)?;
    let addr = listen_addr(&listen, DEFAULT_PORT);
    let failed =
        |e: &dyn std::error::Error| CliError::Runtime(format!("{db}: {}", source_chain(e)));
    // As app::site builds it, keeping the store for the admin listener's /readyz.
    let store = app::guestbook::store::Store::open(db.clone()).map_err(|e| failed(&e))?;
    let sessions =
        app::Sessions::in_database(&store, session_secret.as_deref()).map_err(|e| failed(&e))?;
    let site = app::layered(app::router_with(
        app::Site {
            store: store.clone(),
        },
        sessions,
    ));
    let mut server = crate::cmd::new_server(runtime)?;
    let _database = crate::cmd::admin::check_database(&server, vec![store]);
    let banner = crate::cmd::tls::bind(&mut server, addr, tls, site, http, None)?;
    if let Some(port) = daytime {
        crate::cmd::daytime::attach(&mut server, SocketAddr::new(listen.bind, port))?;
    }
    banner.print();
    run_server(server, ops)
}

/// Where the session secret may be given instead of a file: its base64 or hex text.
pub const SESSION_KEY_ENV: &str = "SOCKSERVE_SESSION_KEY";
/// The shortest session secret accepted, in bytes: what `cookie::Key` derives its signing and
/// encryption keys from.
pub const MIN_SESSION_SECRET: usize = 64;

/// The session secret from `--session-key-file`, else from [`SESSION_KEY_ENV`], else `None`
/// (the site keeps one in its database). The secret never reaches a message or the log.
fn session_secret(file: Option<&Path>) -> Result<Option<Vec<u8>>, CliError> {
    let (text, from) = match file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| {
                CliError::Usage(format!("--session-key-file {}: {e}", path.display()))
            })?,
            format!("--session-key-file {}", path.display()),
        ),
        None => match std::env::var(SESSION_KEY_ENV) {
            Ok(text) => (text, SESSION_KEY_ENV.to_string()),
            Err(std::env::VarError::NotPresent) => return Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(CliError::Usage(format!("{SESSION_KEY_ENV}: not text")));
            }
        },
    };
    match decode_secret(&text) {
        Some(secret) if secret.len() >= MIN_SESSION_SECRET => Ok(Some(secret)),
        Some(secret) => Err(CliError::Usage(format!(
            "{from}: the session secret is {} bytes; at least {MIN_SESSION_SECRET} are needed \
             (openssl rand -base64 64)",
            secret.len()
        ))),
        None => Err(CliError::Usage(format!(
            "{from}: the session secret must be base64 or hex (openssl rand -base64 64)"
        ))),
    }
}

/// Hex when the text is only hex digits (an even count), else base64 (standard or URL-safe,
/// padded or not), whitespace and line breaks ignored.
fn decode_secret(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    if compact.len().is_multiple_of(2) && compact.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..compact.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&compact[i..i + 2], 16).ok())
            .collect();
    }
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, lenient)
        .decode(&compact)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient).decode(&compact))
        .ok()
}

/// `error: cause: cause...`, so the reason a database cannot open reaches the terminal.
pub(crate) fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode_secret;

    #[test]
    fn secrets_are_hex_or_base64() {
        assert_eq!(decode_secret("00ff10\n"), Some(vec![0, 255, 16]));
        assert_eq!(decode_secret("AP8Q"), Some(vec![0, 255, 16]));
        assert_eq!(decode_secret("_-8"), Some(vec![255, 239]));
        assert_eq!(decode_secret("  "), None);
        assert_eq!(decode_secret("not base64!"), None);
    }
}
