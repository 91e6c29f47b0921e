//! The opening handshake (RFC 6455 4.2): the request's checks, the `101` response, and the
//! task that runs the handler's function once the connection is switched. Over HTTP/2 the
//! handshake is an extended CONNECT (RFC 8441 5), which the server hands over as a `GET` with
//! a [`ConnectProtocol`]: no `Sec-WebSocket-Key`, and `200` instead of `101`.

use std::fmt;
use std::future::Future;

use base64::Engine as _;
use http1::{HeaderValue, Method, StatusCode, header};
use server::upgrade::ConnectProtocol;
use server::{OnUpgrade, Response};
use sha1::{Digest, Sha1};

use super::deflate::{self, Agreed};
use super::socket::{Settled, WebSocket};
use super::{Keepalive, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE, PING_INTERVAL, PONG_TIMEOUT};
use crate::extract::{FromRequestParts, Parts};
use crate::response::IntoResponse;

/// The GUID every accept key is derived with (RFC 6455 1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only version of the protocol there is (RFC 6455 4.1).
const VERSION: &str = "13";

/// A request to open a WebSocket, checked. Answer it with [`WebSocketUpgrade::on_upgrade`].
pub struct WebSocketUpgrade {
    on_upgrade: OnUpgrade,
    /// `Sec-WebSocket-Accept`; `None` over HTTP/2, which has none (RFC 8441 5).
    accept: Option<String>,
    offered_protocols: Vec<String>,
    protocol: Option<String>,
    deflate: Option<Agreed>,
    max_message: usize,
    max_frame: usize,
    keepalive: Option<Keepalive>,
}

impl fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("protocol", &self.protocol)
            .field("deflate", &self.deflate)
            .finish()
    }
}

/// Why a request is not a WebSocket handshake this server can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsRejection {
    /// Not a `GET`: `405`.
    MethodNotGet,
    /// No `Upgrade: websocket` with `Connection: upgrade`: `426 Upgrade Required`, naming
    /// `websocket` in `Upgrade` (RFC 9110 15.5.22). Over HTTP/2: not an extended CONNECT
    /// with `:protocol websocket` (RFC 8441).
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13: `426` with `Sec-WebSocket-Version: 13` (RFC 6455 4.4).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is missing or not 16 bytes in base64: `400`.
    BadKey,
}

impl fmt::Display for WsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WsRejection::MethodNotGet => "a WebSocket handshake must be a GET",
            WsRejection::NotUpgrade => {
                "this resource speaks WebSocket: send Upgrade: websocket and Connection: upgrade over HTTP/1.1, or an extended CONNECT over HTTP/2"
            }
            WsRejection::UnsupportedVersion => "only WebSocket version 13 is supported",
            WsRejection::BadKey => "Sec-WebSocket-Key must be 16 bytes in base64",
        })
    }
}

impl IntoResponse for WsRejection {
    fn into_response(self) -> Response {
        let status = match self {
            WsRejection::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            WsRejection::NotUpgrade | WsRejection::UnsupportedVersion => {
                StatusCode::UPGRADE_REQUIRED
            }
            WsRejection::BadKey => StatusCode::BAD_REQUEST,
        };
        let mut r = Response::text(status, format!("{self}\n"));
        match self {
            WsRejection::MethodNotGet => {
                r = r.header(header::ALLOW, "GET");
            }
            WsRejection::NotUpgrade => {
                r = r
                    .header(header::UPGRADE, "websocket")
                    .header(header::CONNECTION, "upgrade");
            }
            WsRejection::UnsupportedVersion => {
                r = r.header(header::SEC_WEBSOCKET_VERSION, VERSION);
            }
            WsRejection::BadKey => {}
        }
        r
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = WsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, WsRejection> {
        check(parts)
    }
}

/// The handshake's checks (RFC 6455 4.2.1, RFC 8441 5) on a request's parts.
pub fn check(parts: &mut Parts) -> Result<WebSocketUpgrade, WsRejection> {
    let headers = &parts.head.headers;
    if parts.head.method != Method::GET {
        return Err(WsRejection::MethodNotGet);
    }
    // Over HTTP/2, an extended CONNECT: the server has already seen `:protocol`, and there is
    // no key to answer (RFC 8441 5).
    let extended = parts.extensions.get::<ConnectProtocol>();
    if let Some(protocol) = extended
        && !protocol.0.eq_ignore_ascii_case("websocket")
    {
        return Err(WsRejection::NotUpgrade);
    }
    if extended.is_none()
        && (!headers.has_token("upgrade", "websocket")
            || !headers.has_token("connection", "upgrade"))
    {
        return Err(WsRejection::NotUpgrade);
    }
    if headers.get_str("sec-websocket-version") != Some(VERSION) {
        return Err(WsRejection::UnsupportedVersion);
    }
    let accept = if extended.is_some() {
        None
    } else {
        let key = headers.get_str("sec-websocket-key").map(str::trim);
        let key_ok = key.is_some_and(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k)
                .is_ok_and(|raw| raw.len() == 16)
        });
        let Some(key) = key.filter(|_| key_ok) else {
            return Err(WsRejection::BadKey);
        };
        Some(accept_key(key))
    };
    let offered_protocols = headers
        .get_all("sec-websocket-protocol")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let deflate = deflate::negotiate(
        headers
            .get_all("sec-websocket-extensions")
            .filter_map(|v| v.to_str().ok()),
    );
    // Only an HTTP/1.1 request that asked to switch, without a body, or an HTTP/2 extended
    // CONNECT, can be switched.
    let on_upgrade = parts
        .extensions
        .remove::<OnUpgrade>()
        .ok_or(WsRejection::NotUpgrade)?;
    Ok(WebSocketUpgrade {
        on_upgrade,
        accept,
        offered_protocols,
        protocol: None,
        deflate,
        max_message: MAX_MESSAGE_SIZE,
        max_frame: MAX_FRAME_SIZE,
        keepalive: Some(Keepalive {
            interval: PING_INTERVAL,
            timeout: PONG_TIMEOUT,
        }),
    })
}

/// `Sec-WebSocket-Accept`: base64 of the SHA-1 of the key and the GUID (RFC 6455 4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

impl WebSocketUpgrade {
    /// The subprotocols this endpoint speaks, in order of preference: the first that the
    /// client offered in `Sec-WebSocket-Protocol` is agreed; with none in common, none is.
    pub fn protocols<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        self.protocol = protocols
            .into_iter()
            .find(|p| self.offered_protocols.iter().any(|o| o == p.as_ref()))
            .map(|p| p.as_ref().to_owned());
        self
    }

    /// The largest message the client may send (default [`MAX_MESSAGE_SIZE`]).
    pub fn max_message_size(mut self, max: usize) -> Self {
        self.max_message = max;
        self
    }

    /// The largest frame the client may send (default [`MAX_FRAME_SIZE`]).
    pub fn max_frame_size(mut self, max: usize) -> Self {
        self.max_frame = max;
        self
    }

    /// Pings the client after `interval` of silence (default [`PING_INTERVAL`]); a zero
    /// interval sends no pings, as [`WebSocketUpgrade::without_pings`].
    pub fn ping_interval(mut self, interval: std::time::Duration) -> Self {
        let timeout = self.keepalive.map_or(PONG_TIMEOUT, |k| k.timeout);
        self.keepalive = (!interval.is_zero()).then_some(Keepalive { interval, timeout });
        self
    }

    /// How long the client has to answer a ping (with a pong or any frame) before the
    /// connection is closed with 1011 (default [`PONG_TIMEOUT`]).
    pub fn pong_timeout(mut self, timeout: std::time::Duration) -> Self {
        if let Some(k) = &mut self.keepalive {
            k.timeout = timeout;
        }
        self
    }

    /// Sends no pings: a quiet connection stays open until the client or the handler ends it.
    pub fn without_pings(mut self) -> Self {
        self.keepalive = None;
        self
    }

    /// Refuses permessage-deflate even if the client offers it (for data that is already
    /// compressed, or to spend no CPU on it).
    pub fn without_compression(mut self) -> Self {
        self.deflate = None;
        self
    }

    /// The subprotocol that will be agreed, if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Answers the handshake with `101 Switching Protocols` (over HTTP/2, `200`); once that is
    /// written, `callback` runs in a task of its own with the open [`WebSocket`].
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut response = match &self.accept {
            Some(accept) => {
                let mut r = Response::new(StatusCode::SWITCHING_PROTOCOLS)
                    .header(header::UPGRADE, "websocket");
                push(&mut r, header::SEC_WEBSOCKET_ACCEPT, accept);
                r
            }
            None => Response::new(StatusCode::OK),
        };
        if let Some(p) = &self.protocol {
            push(&mut response, header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        if let Some(d) = &self.deflate {
            push(
                &mut response,
                header::SEC_WEBSOCKET_EXTENSIONS,
                &d.response_header(),
            );
        }
        let settled = Settled {
            deflate: self.deflate,
            protocol: self.protocol,
            max_message: self.max_message,
            max_frame: self.max_frame,
            keepalive: self.keepalive,
        };
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => callback(WebSocket::new(upgraded, settled)).await,
                Err(e) => tracing::debug!(error = %e, "WebSocket handshake not completed"),
            }
        });
        response
    }
}

/// Appends a header whose value came from the handshake (visible ASCII by construction: base64,
/// a protocol token the client sent, or our own extension string).
fn push(response: &mut Response, name: http1::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers.append(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_the_rfc_example() {
        // RFC 6455 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn parts(raw: &str) -> Parts {
        let req =
            server::Request::from_raw_head(raw.as_bytes(), server::Body::empty()).expect("a head");
        Parts::split(req).0
    }

    #[test]
    fn handshakes_that_cannot_be_accepted_are_refused_with_their_status() {
        let good = "Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
        let cases = [
            (format!("POST / HTTP/1.1\r\n{good}\r\n"), 405),
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(), 426),
            (
                format!("GET / HTTP/1.1\r\n{good}Sec-WebSocket-Version: 8\r\n\r\n"),
                426,
            ),
            (
                format!(
                    "GET / HTTP/1.1\r\n{good}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n"
                ),
                400,
            ),
            // Well formed, but not from a connection that can switch (no `OnUpgrade`).
            (
                format!(
                    "GET / HTTP/1.1\r\n{good}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                ),
                426,
            ),
        ];
        for (raw, status) in cases {
            let e = check(&mut parts(&raw)).expect_err("refused");
            assert_eq!(e.into_response().status.as_u16(), status, "{raw}");
        }
    }

    #[test]
    fn an_extended_connect_needs_websocket_and_version_13_but_no_key() {
        // What the HTTP/2 driver makes of `CONNECT` with `:protocol` (RFC 8441 5).
        let h2 = |protocol: &str, fields: &str| {
            let mut p = parts(&format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n"));
            p.extensions.insert(ConnectProtocol(protocol.to_owned()));
            check(&mut p).expect_err("refused")
        };
        assert_eq!(h2("chat", ""), WsRejection::NotUpgrade);
        assert_eq!(h2("websocket", ""), WsRejection::UnsupportedVersion);
        // No key, and none needed: refused only for want of a stream to switch.
        assert_eq!(
            h2("websocket", "Sec-WebSocket-Version: 13\r\n"),
            WsRejection::NotUpgrade
        );
    }
}
