//! HTTP/2: one request on a connection, framed by the h2 crate, over cleartext with prior
//! knowledge (h2c, RFC 9113 3.3) or over a TLS stream whose ALPN settled on `h2` (the
//! [`crate::Client`] hands it here). The heads shown to [`Events`] are rendered as text,
//! pseudo-header fields first, the way curl shows an HTTP/2 exchange; every frame's head goes
//! to [`Events::frame`] as it crosses the connection.

use std::future::Future;
use std::io;
use std::time::Duration;

use std::sync::mpsc;

use bytes::Bytes;
use http::{HeaderValue, Version, header};
use http1::Headers;
use http1::client::ResponseHead;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::fetch::{Events, HeadRole, Outcome};
use crate::frames::{FrameHead, Tap};
use crate::net::timed_out;
use crate::{Error, Request, USER_AGENT};

/// Sends `req` over a new h2c connection and delivers the response to `events`; each wait
/// (connecting, the handshake, the response, each piece of body) gives up after `timeout`.
/// Redirects are not followed.
pub async fn fetch(
    req: &Request,
    timeout: Duration,
    events: &mut dyn Events,
) -> Result<Outcome, Error> {
    let stream = crate::net::connect(req.url.host(), req.url.port(), timeout).await?;
    events.connection(stream.peer_addr().ok(), false);
    over(stream, req, timeout, events).await
}

/// Sends `req` over `io`, a new connection on which HTTP/2 starts now (h2c, or TLS after ALPN
/// said `h2`), and delivers the response to `events`.
pub async fn over<T>(
    io: T,
    req: &Request,
    timeout: Duration,
    events: &mut dyn Events,
) -> Result<Outcome, Error>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (io, frames) = Tap::new(io);
    let (send, conn) = within(timeout, "the HTTP/2 handshake", h2::client::handshake(io))
        .await?
        .map_err(h2_error)?;
    // The connection's frames are read and written by a task of its own, as the h2 crate asks.
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut events = Traced {
        inner: events,
        frames,
    };
    let result = exchange(send, req, timeout, &mut events).await;
    events.drain();
    driver.abort();
    result
}

/// The caller's events, with the frame heads seen so far passed on before each of them, so
/// they come out in the order they crossed the connection.
struct Traced<'a> {
    inner: &'a mut dyn Events,
    frames: mpsc::Receiver<FrameHead>,
}

impl Traced<'_> {
    fn drain(&mut self) {
        for frame in self.frames.try_iter() {
            self.inner.frame(&frame);
        }
    }
}

impl Events for Traced<'_> {
    fn request_head(&mut self, raw: &[u8]) {
        self.drain();
        self.inner.request_head(raw);
    }

    fn response_head(&mut self, raw: &[u8], head: &ResponseHead, role: HeadRole) -> io::Result<()> {
        self.drain();
        self.inner.response_head(raw, head, role)
    }

    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        self.drain();
        self.inner.body(data)
    }
}

async fn exchange(
    send: h2::client::SendRequest<Bytes>,
    req: &Request,
    timeout: Duration,
    events: &mut dyn Events,
) -> Result<Outcome, Error> {
    let mut send = within(timeout, "the HTTP/2 handshake", send.ready())
        .await?
        .map_err(h2_error)?;
    let request = http_request(req)?;
    events.request_head(&render_request(&request));
    let end = req.body.is_empty();
    let (response, mut body_out) = send.send_request(request, end).map_err(h2_error)?;
    if !end {
        // Buffered by the h2 crate and sent as the server's window allows.
        body_out
            .send_data(req.body.clone(), true)
            .map_err(h2_error)?;
    }
    let response = within(timeout, "the response", response)
        .await?
        .map_err(h2_error)?;
    let (parts, mut body) = response.into_parts();
    let mut headers = Headers::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        headers.append(name.clone(), value.clone());
    }
    let head = ResponseHead {
        version: Version::HTTP_2,
        status: parts.status,
        reason: String::new(),
        headers,
    };
    events
        .response_head(&render_response(&head), &head, HeadRole::Final)
        .map_err(Error::Output)?;
    while let Some(piece) = within(timeout, "the response body", body.data()).await? {
        let piece = piece.map_err(h2_error)?;
        let _ = body.flow_control().release_capacity(piece.len());
        events.body(&piece).map_err(Error::Output)?;
    }
    Ok(Outcome {
        status: head.status,
        url: req.url.clone(),
        redirects: 0,
    })
}

/// The request as the h2 crate takes it: `:authority` from the URL, the caller's fields, and
/// `User-Agent` and `Accept` unless the caller set them, as over HTTP/1.1. `Host` and the
/// connection-specific fields are left out (RFC 9113 8.2.2, 8.3.1).
fn http_request(req: &Request) -> Result<http::Request<()>, Error> {
    let scheme = match req.url.scheme() {
        crate::Scheme::Http => "http",
        crate::Scheme::Https => "https",
    };
    let uri = format!("{scheme}://{}{}", req.url.authority(), req.url.target());
    let mut request = http::Request::new(());
    *request.method_mut() = req.method.clone();
    *request.uri_mut() = uri
        .parse()
        .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let map = request.headers_mut();
    for (name, value) in req.headers.iter() {
        let hop = name == header::HOST
            || name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
            || name == header::CONTENT_LENGTH
            || name == header::UPGRADE
            || name == "keep-alive"
            || name == "proxy-connection";
        if !hop {
            map.append(name.clone(), value.clone());
        }
    }
    if !map.contains_key(header::USER_AGENT) {
        map.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    }
    if !map.contains_key(header::ACCEPT) {
        map.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    if !req.body.is_empty() {
        map.insert(header::CONTENT_LENGTH, HeaderValue::from(req.body.len()));
    }
    Ok(request)
}

/// `:method`, `:scheme`, `:authority`, `:path`, then the fields, one per line.
fn render_request(request: &http::Request<()>) -> Vec<u8> {
    let uri = request.uri();
    let mut out = format!(
        ":method: {}\r\n:scheme: {}\r\n:authority: {}\r\n:path: {}\r\n",
        request.method(),
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map_or("", |a| a.as_str()),
        uri.path_and_query().map_or("/", |p| p.as_str()),
    )
    .into_bytes();
    push_fields(&mut out, request.headers().iter());
    out.extend_from_slice(b"\r\n");
    out
}

/// `HTTP/2 STATUS`, then the fields, as curl shows an HTTP/2 response head.
fn render_response(head: &ResponseHead) -> Bytes {
    let mut out = format!("HTTP/2 {}\r\n", head.status.as_str()).into_bytes();
    push_fields(&mut out, head.headers.iter());
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

fn push_fields<'a>(
    out: &mut Vec<u8>,
    fields: impl Iterator<Item = (&'a http::HeaderName, &'a HeaderValue)>,
) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// An HTTP/2 failure (a reset, a GOAWAY, a protocol error) as the I/O error it is to a caller.
fn h2_error(e: h2::Error) -> Error {
    Error::Io(io::Error::other(e))
}

async fn within<T>(
    timeout: Duration,
    waiting_for: &'static str,
    fut: impl Future<Output = T>,
) -> Result<T, Error> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| timed_out(waiting_for, timeout))
}
