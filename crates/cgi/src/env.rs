//! The meta-variables of RFC 3875 section 4.1, as a pure function of the request.
//!
//! Scripts get these and nothing else from the server: `PATH` (see
//! [`crate::config::SAFE_PATH`]), the `--cgi-env` extras, then the meta-variables, which win
//! over an extra of the same name.

use std::ffi::OsString;
use std::net::IpAddr;
use std::os::unix::ffi::OsStringExt;

use semantics::auth;
use server::{RemoteUser, Request};

use crate::{CgiConfig, Located};

/// One environment variable.
pub type Var = (String, OsString);

/// Request header fields that never become `HTTP_*` variables.
///
/// RFC 3875 4.1.18: the server "SHOULD remove any header fields carrying authentication
/// information, such as 'Authorization'; or that are available to the script in other
/// variables, such as 'Content-Length' and 'Content-Type'". `Proxy` is dropped because
/// `HTTP_PROXY` would be read as a proxy setting by many HTTP libraries (httpoxy, CVE-2016-5385).
const HIDDEN_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "content-length",
    "content-type",
    "proxy",
];

/// Everything a script's environment holds for `req`, in the order it is set.
///
/// `content_length` is the body's length as the script will read it (a chunked body has been
/// de-chunked and counted by then); `None` when the request has no body framing at all.
pub fn environment(
    req: &Request,
    script: &Located,
    config: &CgiConfig,
    content_length: Option<u64>,
) -> Vec<Var> {
    let mut vars: Vec<Var> = Vec::with_capacity(32 + config.env.len());
    vars.push(("PATH".into(), config.script_path().into()));
    for (k, v) in &config.env {
        if k != "PATH" {
            vars.push((k.clone(), v.into()));
        }
    }
    meta_variables(req, script, config, content_length, &mut vars);
    http_variables(req, &mut vars);
    vars
}

fn meta_variables(
    req: &Request,
    script: &Located,
    config: &CgiConfig,
    content_length: Option<u64>,
    vars: &mut Vec<Var>,
) {
    let mut set = |k: &str, v: OsString| vars.push((k.to_string(), v));
    let headers = req.headers();
    // RFC 3875 4.1.1 and 4.1.11: the user is the one the server authenticated, put in the
    // request by the auth layer; the `Authorization` field alone names nobody. Without a
    // verified user, AUTH_TYPE is still the field's scheme, for scripts that check credentials
    // of their own (a bearer token).
    if let Some(user) = req.extensions.get::<RemoteUser>() {
        set("AUTH_TYPE", "Basic".into());
        set("REMOTE_USER", user.name().into());
    } else if let Some(value) = headers.get("authorization") {
        set(
            "AUTH_TYPE",
            bytes(auth::scheme(value.as_bytes()).unwrap_or_default()),
        );
    }
    if let Some(n) = content_length {
        set("CONTENT_LENGTH", n.to_string().into());
    }
    if let Some(ct) = headers.get("content-type") {
        set("CONTENT_TYPE", bytes(ct.as_bytes()));
    }
    set("GATEWAY_INTERFACE", "CGI/1.1".into());
    set("PATH_INFO", bytes(&script.path_info));
    if !script.path_info.is_empty() {
        let mut translated = config.root.as_os_str().to_owned().into_vec();
        translated.extend_from_slice(&script.path_info);
        set("PATH_TRANSLATED", OsString::from_vec(translated));
    }
    set("QUERY_STRING", req.query().unwrap_or("").into());
    let peer = req.conn.peer;
    set("REMOTE_ADDR", peer.ip().to_canonical().to_string().into());
    set("REMOTE_PORT", peer.port().to_string().into());
    set("REQUEST_METHOD", req.method().as_str().into());
    set("REQUEST_URI", req.head.target.as_str().into());
    set("SCRIPT_NAME", bytes(&script.script_name));
    set("SCRIPT_FILENAME", script.file.clone().into_os_string());
    set("DOCUMENT_ROOT", config.root.as_os_str().to_owned());
    set("SERVER_NAME", server_name(req).into());
    set("SERVER_PORT", req.conn.local.port().to_string().into());
    set("SERVER_PROTOCOL", format!("{:?}", req.version()).into());
    set("SERVER_SOFTWARE", config.server_software.as_str().into());
    // What Apache's mod_ssl sets (with `SSLOptions +StdEnvVars`), which scripts test for.
    if let Some(tls) = &req.conn.tls {
        set("HTTPS", "on".into());
        set("SSL_PROTOCOL", tls.version.into());
        set("SSL_CIPHER", tls.cipher.into());
        if let Some(sni) = &tls.sni {
            set("SSL_TLS_SNI", sni.as_ref().into());
        }
        if let Some(dn) = &tls.client_subject {
            set("SSL_CLIENT_VERIFY", "SUCCESS".into());
            set("SSL_CLIENT_S_DN", dn.as_ref().into());
        }
    }
}

/// `HTTP_*` for every other header field, repeated fields joined with `, ` (RFC 3875 4.1.18).
///
/// Names with characters other than letters, digits and `-` are left out, as Apache and nginx
/// do: `X_Forwarded_For` would otherwise become indistinguishable from `X-Forwarded-For`.
fn http_variables(req: &Request, vars: &mut Vec<Var>) {
    let first = vars.len();
    for (name, value) in req.headers() {
        let name = name.as_str();
        if HIDDEN_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h))
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            continue;
        }
        let key = variable_name(name);
        match vars[first..].iter_mut().find(|(k, _)| *k == key) {
            Some((_, joined)) => {
                joined.push(", ");
                joined.push(bytes(value.as_bytes()));
            }
            None => vars.push((key, bytes(value.as_bytes()))),
        }
    }
}

fn variable_name(header: &str) -> String {
    let mut key = String::with_capacity(5 + header.len());
    key.push_str("HTTP_");
    key.extend(header.chars().map(|c| {
        if c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    }));
    key
}

/// The host the client asked for, without its port (RFC 3875 4.1.14), or the local address.
fn server_name(req: &Request) -> String {
    if let Some(host) = req.head.host().filter(|h| !h.is_empty()) {
        let name = match host.find(']') {
            Some(end) if host.starts_with('[') => &host[..=end],
            _ => host.split(':').next().unwrap_or(host),
        };
        return name.to_string();
    }
    match req.conn.local.ip().to_canonical() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn bytes(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

/// The value of `name` in `vars`, for tests and logging.
pub fn lookup<'a>(vars: &'a [Var], name: &str) -> Option<&'a std::ffi::OsStr> {
    vars.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_os_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use server::{Body, ConnInfo};
    use std::path::PathBuf;

    fn script(path_info: &[u8]) -> Located {
        Located {
            file: PathBuf::from("/srv/www/cgi-bin/env.sh"),
            dir: PathBuf::from("/srv/www/cgi-bin"),
            script_name: b"/cgi-bin/env.sh".to_vec(),
            path_info: path_info.to_vec(),
            interpreter: None,
            nph: false,
        }
    }

    fn env_of(raw: &str, path_info: &[u8], len: Option<u64>) -> Vec<Var> {
        let mut req = Request::from_raw_head(raw.as_bytes(), Body::empty()).unwrap();
        req.conn = ConnInfo {
            peer: "[::ffff:10.1.2.3]:5555".parse().unwrap(),
            local: "127.0.0.1:8080".parse().unwrap(),
            tls: None,
        };
        let mut config = CgiConfig::new("/srv/www");
        config.env.push(("EXTRA".into(), "1".into()));
        config.env.push(("REMOTE_ADDR".into(), "spoofed".into()));
        environment(&req, &script(path_info), &config, len)
    }

    fn get<'a>(vars: &'a [Var], k: &str) -> Option<&'a str> {
        lookup(vars, k).and_then(|v| v.to_str())
    }

    #[test]
    fn tls_connections_get_https_and_the_ssl_variables() {
        let plain = env_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"", None);
        assert_eq!(get(&plain, "HTTPS"), None);
        let mut req =
            Request::from_raw_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Body::empty()).unwrap();
        req.conn.tls = Some(std::sync::Arc::new(server::TlsInfo {
            version: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
            alpn: Some("http/1.1"),
            sni: Some("a.test".into()),
            client_subject: Some("CN=alice,O=Example".into()),
        }));
        let v = environment(&req, &script(b""), &CgiConfig::new("/srv/www"), None);
        assert_eq!(get(&v, "HTTPS"), Some("on"));
        assert_eq!(get(&v, "SSL_PROTOCOL"), Some("TLSv1.3"));
        assert_eq!(get(&v, "SSL_CIPHER"), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(get(&v, "SSL_TLS_SNI"), Some("a.test"));
        assert_eq!(get(&v, "SSL_CLIENT_S_DN"), Some("CN=alice,O=Example"));
    }

    #[test]
    fn standard_variables() {
        let v = env_of(
            "POST /cgi-bin/env.sh/a%20b?x=1?y//z&q=%2f HTTP/1.1\r\nHost: Example.org:8080\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
            b"/a b",
            Some(5),
        );
        assert_eq!(get(&v, "GATEWAY_INTERFACE"), Some("CGI/1.1"));
        assert_eq!(get(&v, "QUERY_STRING"), Some("x=1?y//z&q=%2f"));
        assert_eq!(
            get(&v, "REQUEST_URI"),
            Some("/cgi-bin/env.sh/a%20b?x=1?y//z&q=%2f")
        );
        assert_eq!(get(&v, "PATH_INFO"), Some("/a b"));
        assert_eq!(get(&v, "PATH_TRANSLATED"), Some("/srv/www/a b"));
        assert_eq!(get(&v, "SCRIPT_NAME"), Some("/cgi-bin/env.sh"));
        assert_eq!(get(&v, "SCRIPT_FILENAME"), Some("/srv/www/cgi-bin/env.sh"));
        assert_eq!(get(&v, "DOCUMENT_ROOT"), Some("/srv/www"));
        assert_eq!(get(&v, "REQUEST_METHOD"), Some("POST"));
        assert_eq!(get(&v, "CONTENT_LENGTH"), Some("5"));
        assert_eq!(get(&v, "CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(get(&v, "SERVER_NAME"), Some("Example.org"));
        assert_eq!(get(&v, "SERVER_PORT"), Some("8080"));
        assert_eq!(get(&v, "SERVER_PROTOCOL"), Some("HTTP/1.1"));
        assert_eq!(get(&v, "REMOTE_ADDR"), Some("10.1.2.3"));
        assert_eq!(get(&v, "REMOTE_PORT"), Some("5555"));
        assert!(
            get(&v, "SERVER_SOFTWARE")
                .unwrap()
                .starts_with("sockserve/")
        );
        assert_eq!(get(&v, "PATH"), Some(crate::config::SAFE_PATH));
        assert_eq!(get(&v, "EXTRA"), Some("1"));
        assert_eq!(get(&v, "HTTP_HOST"), Some("Example.org:8080"));
        assert_eq!(get(&v, "HTTP_CONTENT_TYPE"), None);
        assert_eq!(get(&v, "HTTP_CONTENT_LENGTH"), None);
        assert_eq!(get(&v, "AUTH_TYPE"), None);
    }

    #[test]
    fn empty_values_when_absent() {
        let v = env_of("GET /cgi-bin/env.sh HTTP/1.0\r\n\r\n", b"", None);
        assert_eq!(get(&v, "QUERY_STRING"), Some(""));
        assert_eq!(get(&v, "PATH_INFO"), Some(""));
        assert_eq!(get(&v, "PATH_TRANSLATED"), None);
        assert_eq!(get(&v, "CONTENT_LENGTH"), None);
        assert_eq!(get(&v, "CONTENT_TYPE"), None);
        assert_eq!(get(&v, "SERVER_NAME"), Some("127.0.0.1"));
        assert_eq!(get(&v, "SERVER_PROTOCOL"), Some("HTTP/1.0"));
    }

    #[test]
    fn meta_variables_win_over_extras() {
        let v = env_of("GET /cgi-bin/env.sh HTTP/1.1\r\nHost: a\r\n\r\n", b"", None);
        assert_eq!(get(&v, "REMOTE_ADDR"), Some("10.1.2.3"));
    }

    #[test]
    fn headers_become_http_variables() {
        let v = env_of(
            "GET /cgi-bin/env.sh HTTP/1.1\r\nHost: [::1]:9\r\nX-Multi: a\r\nUser-Agent: t/1\r\nx-multi: b\r\nProxy: http://evil\r\nX_Under: no\r\nAccept-Language: en\r\n\r\n",
            b"",
            None,
        );
        assert_eq!(get(&v, "HTTP_X_MULTI"), Some("a, b"));
        assert_eq!(get(&v, "HTTP_USER_AGENT"), Some("t/1"));
        assert_eq!(get(&v, "HTTP_ACCEPT_LANGUAGE"), Some("en"));
        assert_eq!(get(&v, "HTTP_PROXY"), None);
        assert_eq!(get(&v, "HTTP_X_UNDER"), None);
        assert_eq!(get(&v, "SERVER_NAME"), Some("[::1]"));
        let count = v.iter().filter(|(k, _)| k == "HTTP_X_MULTI").count();
        assert_eq!(count, 1);
    }

    #[test]
    fn remote_user_only_when_verified() {
        // "alice:pw:x" in base64: named in the field, verified by nobody.
        let raw = "GET /cgi-bin/env.sh HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YWxpY2U6cHc6eA==\r\n\r\n";
        let v = env_of(raw, b"", None);
        assert_eq!(get(&v, "AUTH_TYPE"), Some("Basic"));
        assert_eq!(get(&v, "REMOTE_USER"), None);
        assert_eq!(get(&v, "HTTP_AUTHORIZATION"), None);
        let mut req = Request::from_raw_head(raw.as_bytes(), Body::empty()).unwrap();
        req.extensions.insert(RemoteUser::new("alice"));
        let v = environment(&req, &script(b""), &CgiConfig::new("/srv/www"), None);
        assert_eq!(get(&v, "AUTH_TYPE"), Some("Basic"));
        assert_eq!(get(&v, "REMOTE_USER"), Some("alice"));
        let v = env_of(
            "GET /cgi-bin/env.sh HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc\r\n\r\n",
            b"",
            None,
        );
        assert_eq!(get(&v, "AUTH_TYPE"), Some("Bearer"));
        assert_eq!(get(&v, "REMOTE_USER"), None);
    }
}
