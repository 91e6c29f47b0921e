//! `/echo`: shows the client the request the server received.
//!
//! The JSON form is for programs; the HTML form explains each part of the request the way the
//! tutorial explains a request line and its headers.

use base64::Engine;
use bytes::Bytes;
use web::askama::Template;
use web::{
    HeaderValue, IntoResponse, Json, Page, PseudoHeaders, Rejection, Request, Response, Version,
    header,
};

use crate::negotiate::wants_json;

/// Largest body `/echo` reads and shows (1 MiB); larger is `413`.
pub const MAX_ECHO_BODY: usize = 1024 * 1024;

/// The request as `/echo` reports it.
#[derive(Debug, serde::Serialize)]
pub struct Echo {
    /// The method, exactly as sent.
    pub method: String,
    /// The request target, exactly as sent.
    pub target: String,
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`.
    pub version: &'static str,
    /// Every header field in the order received, names spelt as the client sent them; over
    /// HTTP/2 the pseudo-header fields (`:method`, `:scheme`, `:authority`, `:path`) first.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: EchoBody,
    /// The client's address.
    pub peer: String,
    /// `https` over TLS, else `http`.
    pub scheme: &'static str,
}

/// A body as text when it is UTF-8, otherwise as base64.
#[derive(Debug, serde::Serialize)]
pub struct EchoBody {
    /// `text` or `base64`.
    pub encoding: &'static str,
    /// The body in that encoding.
    pub data: String,
    /// Its length in bytes.
    pub length: usize,
}

impl EchoBody {
    fn new(bytes: &Bytes) -> EchoBody {
        match std::str::from_utf8(bytes) {
            Ok(text) => EchoBody {
                encoding: "text",
                data: text.to_string(),
                length: bytes.len(),
            },
            Err(_) => EchoBody {
                encoding: "base64",
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
                length: bytes.len(),
            },
        }
    }
}

fn version(v: Version) -> &'static str {
    if v == Version::HTTP_10 {
        "HTTP/1.0"
    } else if v == Version::HTTP_2 {
        "HTTP/2"
    } else {
        "HTTP/1.1"
    }
}

/// Any method on `/echo`.
pub async fn echo(req: Request) -> Response {
    let json = wants_json(req.headers(), req.query());
    let method = req.method().as_str().to_string();
    let target = req.head.target.as_str().to_string();
    let version = version(req.version());
    let mut spelt = req.head.raw_names();
    let mut headers = pseudo_fields(req.extensions.get::<PseudoHeaders>());
    let fields = req.headers().iter().map(|(n, v)| {
        // The parsed name is lower case; the spelling received stands beside it in order.
        let name = match spelt.next() {
            Some(raw) if raw.eq_ignore_ascii_case(n.as_str().as_bytes()) => {
                String::from_utf8_lossy(raw).into_owned()
            }
            _ => n.as_str().to_string(),
        };
        (name, String::from_utf8_lossy(v.as_bytes()).into_owned())
    });
    headers.extend(fields);
    drop(spelt);
    let peer = req.conn.peer.to_string();
    let scheme = req.conn.scheme();
    let body = match req.body.collect(MAX_ECHO_BODY).await {
        Ok(b) => b,
        Err(e) => return Rejection::Body(e).into_response(),
    };
    let echo = Echo {
        method,
        target,
        version,
        headers,
        body: EchoBody::new(&body),
        peer,
        scheme,
    };
    let mut response = if json {
        Json(&echo).into_response()
    } else {
        Page(EchoPage::new(&echo)).into_response()
    };
    response
        .headers
        .append(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTTP/2 request's pseudo-header fields as name-value pairs, in the order RFC 9113 8.3.1
/// lists them; none for HTTP/1.x, whose request line carries the same parts.
fn pseudo_fields(pseudo: Option<&PseudoHeaders>) -> Vec<(String, String)> {
    let Some(p) = pseudo else {
        return Vec::new();
    };
    [
        (":method", p.method()),
        (":scheme", p.scheme()),
        (":authority", p.authority()),
        (":path", p.path()),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// What a header field is for, for the well-known ones.
fn explain(name: &str) -> &'static str {
    match name {
        "host" => "Which site you want: one server can host many names on one address.",
        ":method" => "HTTP/2's request line is gone: the method travels as this field.",
        ":scheme" => "The scheme of the URL (http or https).",
        ":authority" => "The host (and port) of the URL: HTTP/2's Host.",
        ":path" => "The target: the path on this server, and after ? the query.",
        "user-agent" => "The program that sent the request.",
        "accept" => "The media types the client would like back, in order of preference.",
        "accept-language" => "The languages the reader prefers.",
        "accept-encoding" => "Compressions the client can undo (gzip, br, ...).",
        "connection" => "Whether to keep the connection open for another request.",
        "content-type" => "What kind of data the body is.",
        "content-length" => "How many bytes of body follow the blank line.",
        "transfer-encoding" => "The body comes in chunks, each preceded by its size.",
        "cookie" => "Values the site asked the browser to send back.",
        "referer" => "The page whose link led here.",
        "upgrade-insecure-requests" => "The browser prefers HTTPS when the site offers it.",
        "cache-control" | "pragma" => "How the client wants caches to treat this request.",
        "if-none-match" | "if-modified-since" => {
            "Only send the page if it changed since the copy the client has."
        }
        "origin" => "The site that made the request (for cross-site checks).",
        "authorization" => "Credentials for the server.",
        _ if name.starts_with("sec-") => "Browser metadata about the context of the request.",
        _ => "",
    }
}

fn explain_method(method: &str) -> &'static str {
    match method {
        "GET" => "asks for the resource at the target",
        "HEAD" => "like GET, but only the response head is wanted",
        "POST" => "sends data in the body for the resource to process (a form, say)",
        "PUT" => "replaces the resource at the target with the body",
        "DELETE" => "removes the resource at the target",
        "OPTIONS" => "asks what the server allows at the target",
        "PATCH" => "changes part of the resource",
        "TRACE" => "asks the server to echo the request, as this page does",
        _ => "a method not defined by the HTTP specification; this page accepts it anyway",
    }
}

/// The page, from `templates/echo.html`: each header with what it is for.
#[derive(Template)]
#[template(path = "echo.html", askama = web::askama)]
struct EchoPage<'a> {
    e: &'a Echo,
    why: &'static str,
    headers: Vec<(&'a str, &'a str, &'static str)>,
}

impl<'a> EchoPage<'a> {
    fn new(e: &'a Echo) -> EchoPage<'a> {
        EchoPage {
            e,
            why: explain_method(&e.method),
            headers: e
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str(), explain(&n.to_ascii_lowercase())))
                .collect(),
        }
    }
}
