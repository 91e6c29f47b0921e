//! One HTTP/2 stream: the [`Request`] it carries and the [`Response`] it sends back.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use bytes::Bytes;
use futures_util::{FutureExt as _, StreamExt as _};
use http::header::{self, HeaderMap, HeaderValue};
use http1::{BodyKind, Headers, Method, RequestHead, StatusCode, Target, Version};
use http2::Reason;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::access_log::Noted;
use crate::body::BodyError;
use crate::write::FILE_READ_CHUNK;
use crate::{Body, ConnInfo, HttpConfig, PseudoHeaders, Request, Response, ResponseBody, Service};

use super::shared::{Gone, StreamRef};

/// Why a stream's request is not handed to the service.
enum Refused {
    /// Malformed (RFC 9113 8.1.1): reset with `PROTOCOL_ERROR`.
    Malformed,
    /// Well-formed HTTP/2 but not a request we take: answered with this status.
    Status(StatusCode),
}

/// How a stream ended, as far as the connection cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Answered, refused or reset by the server.
    Served,
    /// The client reset the stream before its response was ready; the handler was dropped.
    Cancelled,
}

/// Status logged for a stream the client cancelled before its response, as nginx logs it.
const CLIENT_CLOSED: u16 = 499;

/// Serves one stream: maps its request, calls the service, sends the response, logs it.
/// Returns the stream's id with how it ended.
pub(super) async fn serve<S: Service>(
    stream: StreamRef,
    head: Box<http2::RequestHead>,
    end_stream: bool,
    info: ConnInfo,
    service: &S,
    config: &HttpConfig,
    started: Instant,
) -> (u32, Outcome) {
    let id = stream.id();
    let outcome = serve_stream(stream, head, end_stream, info, service, config, started).await;
    (id, outcome)
}

async fn serve_stream<S: Service>(
    stream: StreamRef,
    head: Box<http2::RequestHead>,
    end_stream: bool,
    info: ConnInfo,
    service: &S,
    config: &HttpConfig,
    started: Instant,
) -> Outcome {
    let protocol = head.protocol.clone();
    let extended = protocol.is_some();
    let Some(parts) = request_parts(*head) else {
        stream.reset(Reason::PROTOCOL_ERROR);
        return Outcome::Served;
    };
    let head = match request_head(&parts, end_stream, extended, config) {
        Ok(head) => head,
        Err(Refused::Malformed) => {
            stream.reset(Reason::PROTOCOL_ERROR);
            return Outcome::Served;
        }
        Err(Refused::Status(status)) => {
            let sent = send_response(&stream, Response::error(status), false, config).await;
            let counted = crate::conn::Counted::default();
            let sent = sent.unwrap_or(0);
            crate::conn::log_entry(config, info.peer, None, counted, status, sent, started);
            return Outcome::Served;
        }
    };
    // Logged as sent: `CONNECT /ws/echo HTTP/2.0` for an extended CONNECT.
    let noted: Option<Noted> = config.access_log.as_ref().map(|log| log.note(&head));
    let mut head = head;
    if extended {
        // RFC 8441 5: the HTTP/1.1 form of the same request is a GET that asks to switch;
        // services (and their routes) see that, the pseudo-header fields keep `CONNECT`.
        head.method = Method::GET;
    }
    let method = config.metrics.then(|| head.method.clone());
    let counted = crate::conn::Counted {
        method: method.as_ref(),
        tag: None,
        tls: info.tls.as_ref().map(|t| t.version),
    };
    let head_request = head.method == Method::HEAD;
    let asterisk = http1::conn::is_options_asterisk(&head);
    let (body, home, tunnel) = match protocol {
        // The stream's DATA frames are the tunnel's, not a request body.
        Some(protocol) => {
            let (pending, on_upgrade) = crate::upgrade::pending();
            let tunnel = Tunnel {
                stream: stream.clone(),
                pending,
                info: info.clone(),
            };
            let asked = (on_upgrade, crate::upgrade::ConnectProtocol(protocol));
            (Body::empty(), None, Some((tunnel, asked)))
        }
        None => {
            let (body, home) = request_body(stream.clone(), &head, config);
            (body, Some(home), None)
        }
    };
    let peer = info.peer;
    let mut request = Request::new(head, body, info);
    request.extensions.insert(pseudo_headers(&parts));
    let tunnel = tunnel.map(|(tunnel, (on_upgrade, protocol))| {
        request.extensions.insert(on_upgrade);
        request.extensions.insert(protocol);
        tunnel
    });
    let mut response = if asterisk {
        drop(request);
        service.options_asterisk()
    } else {
        let call = AssertUnwindSafe(service.call(request)).catch_unwind();
        // A stream the client resets is no longer worth its handler: dropped, as hyper does,
        // so that cancelled requests cost no more than their HEADERS (rapid reset).
        let reset = std::future::poll_fn(|cx| stream.poll_reset(cx));
        tokio::select! {
            called = call => match called {
                Ok(response) => response,
                Err(_) => {
                    tracing::error!(%peer, "handler panicked; answering 500");
                    Response::error(StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
            _ = reset => {
                log_cancelled(config, peer, noted.as_ref(), counted, started);
                return Outcome::Cancelled;
            }
        }
    };
    match settle_body(home, config).await {
        Settled::Done => {}
        // The body broke its framing (its length): the connection has reset the stream.
        Settled::Malformed => return Outcome::Served,
        Settled::Cancelled => {
            log_cancelled(config, peer, noted.as_ref(), counted, started);
            return Outcome::Cancelled;
        }
    }
    // Refused (not `2xx`): answered as any response below; the service's `OnUpgrade` fails.
    if let Some(tunnel) = tunnel
        && (response.status.is_success() || response.status == StatusCode::SWITCHING_PROTOCOLS)
    {
        return tunnel
            .open(response, config, noted.as_ref(), counted, started)
            .await;
    }
    let status = response.status;
    let user = response.user.take();
    let tag = response.tag.clone();
    let counted = crate::conn::Counted {
        tag: tag.as_ref(),
        ..counted
    };
    let Some(sent) = send_response(&stream, response, head_request, config).await else {
        // Reset while the handler ran, seen by the handler first (its body read failed).
        log_cancelled(config, peer, noted.as_ref(), counted, started);
        return Outcome::Cancelled;
    };
    let request = noted.as_ref().map(|noted| (noted, user.as_ref()));
    crate::conn::log_entry(config, peer, request, counted, status, sent, started);
    Outcome::Served
}

/// A stream opened by an extended CONNECT (RFC 8441), until the service's answer.
struct Tunnel {
    stream: StreamRef,
    /// The driver's end of the service's `OnUpgrade`.
    pending: crate::upgrade::Pending,
    info: ConnInfo,
}

impl Tunnel {
    /// The service agreed (`2xx`, or the `101` it would send over HTTP/1.1): sends the head
    /// (`200` for a `101`; no content, as any `2xx` to a CONNECT, RFC 9110 9.3.6) without
    /// ending the stream, hands the stream to the service's `OnUpgrade`, and waits until the
    /// service has let both halves go, so the connection keeps the stream counted.
    async fn open(
        self,
        mut response: Response,
        config: &HttpConfig,
        noted: Option<&Noted>,
        counted: crate::conn::Counted<'_>,
        started: Instant,
    ) -> Outcome {
        let Tunnel {
            stream,
            pending,
            info,
        } = self;
        let peer = info.peer;
        if pending.is_abandoned() {
            // A `2xx` from a service that does not speak the protocol (a page, a file): a `2xx`
            // would open a tunnel with nothing at its end, and a CONNECT's has no content.
            let status = StatusCode::NOT_IMPLEMENTED;
            let sent = send_response(&stream, Response::error(status), false, config).await;
            let request = noted.map(|noted| (noted, None));
            let sent = sent.unwrap_or(0);
            crate::conn::log_entry(config, peer, request, counted, status, sent, started);
            return Outcome::Served;
        }
        let status = if response.status == StatusCode::SWITCHING_PROTOCOLS {
            StatusCode::OK
        } else {
            response.status
        };
        let user = response.user.take();
        let mut fields = HeaderMap::new();
        response_fields(&mut fields, &response.headers, response.rendered.as_ref());
        if !stream.send_headers(status.as_u16(), &fields, false) {
            log_cancelled(config, peer, noted, counted, started);
            return Outcome::Cancelled;
        };
        let request = noted.map(|noted| (noted, user.as_ref()));
        crate::conn::log_entry(config, peer, request, counted, status, 0, started);
        let (rd, wr, tunnel) = super::tunnel::halves(stream);
        // If the service let its `OnUpgrade` go since, the halves are dropped here and the
        // stream is reset at once.
        pending.complete_h2(rd, wr, info, config.write_timeout);
        tunnel.closed().await;
        Outcome::Served
    }
}

/// Logs a stream the client cancelled before its response, as nginx does: status 499.
fn log_cancelled(
    config: &HttpConfig,
    peer: SocketAddr,
    noted: Option<&Noted>,
    counted: crate::conn::Counted<'_>,
    started: Instant,
) {
    if let Ok(status) = StatusCode::from_u16(CLIENT_CLOSED) {
        let request = noted.map(|n| (n, None));
        crate::conn::log_entry(config, peer, request, counted, status, 0, started);
    }
}

/// The pseudo-header fields as received, for [`Request::extensions`].
fn pseudo_headers(parts: &http::request::Parts) -> PseudoHeaders {
    PseudoHeaders::new(parts.method.clone(), parts.uri.clone())
}

/// RFC 9113 8.2.2: fields that are about one HTTP/1.1 connection. The connection already
/// resets a stream that carries one (and `TE` other than `trailers`); this list keeps them out
/// of what the server sends, whatever a handler or CGI script set.
use http2::is_connection_specific;

/// The request as `http`'s parts: the method, a URI of `:scheme`, `:authority` and `:path`
/// (the authority alone for a plain CONNECT), the fields. `None` when they make no URI.
fn request_parts(head: http2::RequestHead) -> Option<http::request::Parts> {
    let http2::RequestHead {
        method,
        scheme,
        authority,
        path,
        protocol,
        fields,
        ..
    } = head;
    let mut uri = http::Uri::builder();
    if method == Method::CONNECT && protocol.is_none() {
        uri = uri.authority(authority?);
    } else {
        if let Some(authority) = authority {
            uri = uri.scheme(scheme?.as_str()).authority(authority);
        }
        uri = uri.path_and_query(path?);
    }
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri.build().ok()?;
    *request.headers_mut() = fields;
    Some(request.into_parts().0)
}

/// The request head an HTTP/1.1 connection would have made of the same request: the method,
/// the target from `:path` (`:authority` for `CONNECT`), `Host` from `:authority` when the
/// client sent no `Host`, and the header fields, cookies joined into one (RFC 9113 8.2.3).
fn request_head(
    parts: &http::request::Parts,
    end_stream: bool,
    extended: bool,
    config: &HttpConfig,
) -> Result<RequestHead, Refused> {
    for (name, value) in &parts.headers {
        // Checked here too, so no Service ever sees one whatever the connection lets through.
        if is_connection_specific(name) || (name == header::TE && value != "trailers") {
            return Err(Refused::Malformed);
        }
    }
    // An extended CONNECT (RFC 8441 4) names its resource by `:path`, as a GET does.
    let raw_target = if parts.method == Method::CONNECT && !extended {
        parts.uri.authority().map(|a| a.as_str())
    } else {
        parts.uri.path_and_query().map(|p| p.as_str())
    };
    let raw_target = raw_target.ok_or(Refused::Malformed)?;
    let target_method = if extended {
        &Method::GET
    } else {
        &parts.method
    };
    let target = Target::parse(raw_target.as_bytes(), target_method)
        .map_err(|e| Refused::Status(e.status()))?;
    let headers = request_fields(&parts.headers, parts.uri.authority())?;
    let body = match content_length(&parts.headers)? {
        Some(n) if n > config.limits.max_body_size => {
            return Err(Refused::Status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        // The stream carries the tunnel, not a body.
        _ if extended => BodyKind::Empty,
        Some(0) => BodyKind::Empty,
        Some(n) => BodyKind::Length(n),
        None if end_stream => BodyKind::Empty,
        // A body of unknown length: what an HTTP/1.1 client would send chunked.
        None => BodyKind::Chunked,
    };
    let expect_continue = body != BodyKind::Empty && expects_continue(&parts.headers);
    Ok(RequestHead {
        method: parts.method.clone(),
        target,
        version: Version::HTTP_2,
        headers,
        body,
        keep_alive: true,
        expect_continue,
        field_lines: bytes::Bytes::new(),
    })
}

/// Whether the client announced its body with `Expect: 100-continue` (RFC 9110 10.1.1) and
/// may wait for the interim response before sending it, over HTTP/2 as over HTTP/1.1.
fn expects_continue(map: &HeaderMap) -> bool {
    map.get_all(header::EXPECT)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The header fields as [`Headers`], with `Host` first when it comes from `:authority`.
fn request_fields(
    map: &HeaderMap,
    authority: Option<&http::uri::Authority>,
) -> Result<Headers, Refused> {
    let mut headers = Headers::with_capacity(map.len() + 1);
    if !map.contains_key(header::HOST)
        && let Some(authority) = authority
    {
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| Refused::Malformed)?;
        headers.append(header::HOST, host);
    }
    let mut cookies: Vec<u8> = Vec::new();
    for (name, value) in map {
        if name == header::COOKIE {
            if !cookies.is_empty() {
                cookies.extend_from_slice(b"; ");
            }
            cookies.extend_from_slice(value.as_bytes());
        } else {
            headers.append(name.clone(), value.clone());
        }
    }
    if !cookies.is_empty() {
        let cookie = HeaderValue::from_bytes(&cookies).map_err(|_| Refused::Malformed)?;
        headers.append(header::COOKIE, cookie);
    }
    Ok(headers)
}

/// The declared body length. The connection has checked that it is one valid number and
/// resets the stream if the DATA frames do not add up to it.
fn content_length(map: &HeaderMap) -> Result<Option<u64>, Refused> {
    let Some(value) = map.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| Refused::Malformed)?;
    text.parse().map(Some).map_err(|_| Refused::Malformed)
}

/// The request body: DATA frames as the handler reads them, each read under the body timeout,
/// the total under the configured body limit. Window is given back as the handler consumes,
/// so a handler that does not read holds the client at [`super::STREAM_WINDOW`]. The stream
/// comes back through the receiver when the body is dropped, for [`settle_body`].
fn request_body(
    stream: StreamRef,
    head: &RequestHead,
    config: &HttpConfig,
) -> (Body, oneshot::Receiver<StreamRef>) {
    let (home, back) = oneshot::channel();
    if head.body == BodyKind::Empty {
        let _ = home.send(stream);
        return (Body::empty(), back);
    }
    let len = head.content_length();
    let state = Reading {
        stream: Some(stream),
        home: Some(home),
        received: 0,
        continue_due: head.expect_continue,
        max: config.limits.max_body_size,
        timeout: config.body_timeout,
    };
    let stream = futures_util::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        match state.next().await {
            Ok(Some(data)) => Some((Ok(data), Some(state))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    });
    (Body::from_stream(stream, len), back)
}

/// Before answering, as the HTTP/1.1 driver does: reads and discards up to
/// [`crate::config::MAX_DRAIN`] of what the handler left of the body, so that a body whose
/// DATA frames do not add up to its `Content-Length` is seen to be malformed (RFC 9113 8.1.1)
/// rather than answered as if it were whole. A body still held by a task of the handler's, or
/// longer than that, is left: the stream is reset (`NO_ERROR`) once its response is complete.
async fn settle_body(home: Option<oneshot::Receiver<StreamRef>>, config: &HttpConfig) -> Settled {
    let Some(Ok(stream)) = home.map(|mut home| home.try_recv()) else {
        return Settled::Done;
    };
    let mut drained = 0;
    while !stream.is_end_stream() && drained < crate::config::MAX_DRAIN {
        let data = std::future::poll_fn(|cx| stream.poll_data(cx));
        match tokio::time::timeout(config.body_timeout, data).await {
            Ok(Ok(Some(data))) => {
                stream.release(data.len());
                drained += data.len() as u64;
            }
            Ok(Err(Gone { remote: true })) => return Settled::Cancelled,
            Ok(Err(Gone { remote: false })) => return Settled::Malformed,
            Ok(Ok(None)) | Err(_) => break,
        }
    }
    Settled::Done
}

/// How [`settle_body`] left the stream.
enum Settled {
    /// Ready for the response.
    Done,
    /// The body broke its framing; the connection reset the stream.
    Malformed,
    /// The client reset the stream.
    Cancelled,
}

/// A request body being read.
struct Reading {
    /// `None` only once dropped.
    stream: Option<StreamRef>,
    /// Where the stream goes back to when the body is dropped.
    home: Option<oneshot::Sender<StreamRef>>,
    received: u64,
    /// `100 Continue` is still to be sent: when the handler first reads, as HTTP/1.1 does, so
    /// that a request refused from its head alone never has its body sent.
    continue_due: bool,
    max: u64,
    timeout: std::time::Duration,
}

impl Reading {
    async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
        let Some(stream) = self.stream.as_ref() else {
            return Ok(None);
        };
        if std::mem::take(&mut self.continue_due) && !stream.is_end_stream() {
            stream.send_headers(100, &HeaderMap::new(), false);
        }
        let data = std::future::poll_fn(|cx| stream.poll_data(cx));
        let data = match tokio::time::timeout(self.timeout, data).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(Ok(None)) => return Ok(None),
            Ok(Err(_)) => return Err(BodyError::Disconnected),
            Ok(Ok(Some(data))) => data,
        };
        stream.release(data.len());
        self.received += data.len() as u64;
        if self.received > self.max {
            return Err(BodyError::TooLarge);
        }
        Ok(Some(data))
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        if let (Some(stream), Some(home)) = (self.stream.take(), self.home.take()) {
            let _ = home.send(stream);
        }
    }
}

/// Sends `response` on the stream; returns the body bytes that went out (as far as they went),
/// or `None` when the stream was gone before the response head could go (reset by the client).
async fn send_response(
    stream: &StreamRef,
    response: Response,
    head_request: bool,
    config: &HttpConfig,
) -> Option<u64> {
    let Response {
        status,
        headers,
        rendered,
        body,
        ..
    } = response;
    let body = match body {
        // A raw HTTP/1.1 response (an `nph-` script's) cannot be carried by HTTP/2 frames:
        // answered as nginx answers an upstream response it cannot use.
        ResponseBody::Raw(_) => Response::error(StatusCode::BAD_GATEWAY).body,
        body => body,
    };
    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let mut fields = HeaderMap::new();
    let map = &mut fields;
    response_fields(map, &headers, rendered.as_ref());
    // A 304's length would describe the representation it stands for, which this body is not.
    if status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
        && !status.is_informational()
        && let Some(len) = body.len()
    {
        map.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let end = no_body || body.is_empty();
    if !stream.send_headers(status.as_u16(), &fields, end) {
        return None;
    }
    if end {
        return Some(0);
    }
    let mut out = Out {
        stream,
        sent: 0,
        timeout: config.write_timeout,
    };
    if let Err(reason) = out.body(body).await {
        stream.reset(reason);
    }
    Some(out.sent)
}

/// Response fields: the handler's, then the shared rendered ones, then `Server` and `Date`
/// where the handler set none, as an HTTP/1.1 head has them; never a connection-specific
/// field, and `Content-Length` only as the driver computes it.
fn response_fields(
    map: &mut HeaderMap,
    headers: &Headers,
    rendered: Option<&http1::response::RenderedFields>,
) {
    for (name, value) in headers.iter() {
        if !is_connection_specific(name) && name != header::CONTENT_LENGTH {
            map.append(name.clone(), value.clone());
        }
    }
    // The rendered lines' own fields, cloned (a reference count each), not parsed again.
    for (name, value) in rendered.into_iter().flat_map(|r| r.fields().iter()) {
        if !is_connection_specific(name) && name != header::CONTENT_LENGTH {
            map.append(name.clone(), value.clone());
        }
    }
    match map.get(header::SERVER) {
        None => {
            map.insert(
                header::SERVER,
                HeaderValue::from_static(http1::response::SERVER_NAME),
            );
        }
        Some(v) if v == http1::response::NO_SERVER => {
            map.remove(header::SERVER);
        }
        Some(_) => {}
    }
    if !map.contains_key(header::DATE)
        && let Ok(date) = HeaderValue::from_bytes(crate::clock::http_date().as_bytes())
    {
        map.insert(header::DATE, date);
    }
}

/// A response body going out as DATA frames, within the client's flow-control window.
struct Out<'a> {
    stream: &'a StreamRef,
    /// Body bytes handed to the connection so far.
    sent: u64,
    timeout: std::time::Duration,
}

impl Out<'_> {
    /// Sends the whole body and ends the stream; on failure, the reason to reset it with.
    async fn body(&mut self, body: ResponseBody) -> Result<(), Reason> {
        match body {
            ResponseBody::Empty | ResponseBody::Raw(_) => self.data(Bytes::new(), true).await,
            ResponseBody::Full(bytes) => self.data(bytes, true).await,
            ResponseBody::File(region) => self.file(&region.file, region.offset, region.len).await,
            ResponseBody::Stream { mut stream, .. } => {
                while let Some(piece) = stream.next().await {
                    let piece = piece.map_err(|_| Reason::INTERNAL_ERROR)?;
                    self.data(piece, false).await?;
                }
                self.data(Bytes::new(), true).await
            }
        }
    }

    /// A file region, read [`super::SEND_BUFFER`] at a time (at most): HTTP/2 frames every
    /// byte, so there is no `sendfile`.
    async fn file(&mut self, file: &std::fs::File, offset: u64, len: u64) -> Result<(), Reason> {
        use std::os::unix::fs::FileExt as _;
        let chunk_size = FILE_READ_CHUNK.min(super::SEND_BUFFER);
        let mut done = 0;
        while done < len {
            let want = usize::try_from(len - done).map_or(chunk_size, |n| n.min(chunk_size));
            let mut chunk = vec![0; want];
            let n = file
                .read_at(&mut chunk, offset + done)
                .map_err(|_| Reason::INTERNAL_ERROR)?;
            if n == 0 {
                // The file shrank while being sent: the length promised cannot be kept.
                return Err(Reason::INTERNAL_ERROR);
            }
            chunk.truncate(n);
            done += n as u64;
            self.data(Bytes::from(chunk), done == len).await?;
        }
        Ok(())
    }

    /// Sends `data` as the windows allow, each wait for window under the write timeout (a
    /// client that keeps its window at zero is reset with `CANCEL`, as a stalled HTTP/1.1
    /// client is closed); `end` ends the stream with the last of it.
    async fn data(&mut self, mut data: Bytes, end: bool) -> Result<(), Reason> {
        if data.is_empty() && !end {
            return Ok(());
        }
        loop {
            let before = data.len();
            let send = std::future::poll_fn(|cx| self.stream.poll_send(cx, &mut data, end));
            match tokio::time::timeout(self.timeout, send).await {
                Err(_) | Ok(Err(_)) => return Err(Reason::CANCEL),
                Ok(Ok(())) => {}
            }
            self.sent += (before - data.len()) as u64;
            if data.is_empty() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(uri: &str, fields: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().method("GET").uri(uri);
        for (name, value) in fields {
            b = b.header(*name, *value);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn head(uri: &str, fields: &[(&str, &str)]) -> Result<RequestHead, Refused> {
        request_head(&parts(uri, fields), true, false, &HttpConfig::default())
    }

    #[test]
    fn the_head_is_what_http1_would_have_made() {
        let h = head("http://example.com:8080/a/b?c=d", &[("accept", "*/*")])
            .ok()
            .unwrap();
        assert_eq!(h.method, Method::GET);
        assert_eq!(h.target.as_str(), "/a/b?c=d");
        assert_eq!(h.version, Version::HTTP_2);
        assert_eq!(h.host(), Some("example.com:8080"));
        assert_eq!(h.headers.get_str("accept"), Some("*/*"));
        assert_eq!(h.body, BodyKind::Empty);
    }

    #[test]
    fn a_host_field_the_client_sent_is_kept() {
        let h = head("http://a/", &[("host", "b")]).ok().unwrap();
        assert_eq!(h.headers.count("host"), 1);
        assert_eq!(h.host(), Some("b"));
    }

    #[test]
    fn cookie_fields_are_joined_into_one() {
        // RFC 9113 8.2.3: split for compression, joined with "; " for HTTP/1.1 semantics.
        let h = head("http://a/", &[("cookie", "a=1"), ("cookie", "b=2")])
            .ok()
            .unwrap();
        assert_eq!(h.headers.count("cookie"), 1);
        assert_eq!(h.headers.get_str("cookie"), Some("a=1; b=2"));
    }

    #[test]
    fn connection_specific_fields_are_malformed() {
        for field in [
            ("connection", "close"),
            ("keep-alive", "5"),
            ("proxy-connection", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("te", "gzip"),
        ] {
            assert!(
                matches!(head("http://a/", &[field]), Err(Refused::Malformed)),
                "{field:?}"
            );
        }
        assert!(head("http://a/", &[("te", "trailers")]).is_ok());
    }

    #[test]
    fn a_declared_body_past_the_limit_is_413_before_reading() {
        let mut config = HttpConfig::default();
        config.limits.max_body_size = 10;
        let p = parts("http://a/", &[("content-length", "11")]);
        assert!(matches!(
            request_head(&p, false, false, &config),
            Err(Refused::Status(StatusCode::PAYLOAD_TOO_LARGE))
        ));
        let p = parts("http://a/", &[("content-length", "10")]);
        let h = request_head(&p, false, false, &config).ok().unwrap();
        assert_eq!(h.body, BodyKind::Length(10));
        // No length and more to come: a body of unknown length.
        let h = request_head(&parts("http://a/", &[]), false, false, &config)
            .ok()
            .unwrap();
        assert_eq!(h.body, BodyKind::Chunked);
    }

    #[test]
    fn response_fields_leave_out_framing_and_add_server_and_date() {
        let mut headers = Headers::new();
        headers.append(header::CONNECTION, HeaderValue::from_static("close"));
        headers.append(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        headers.append(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let mut rendered_list = Headers::new();
        rendered_list.append(header::ETAG, HeaderValue::from_static("\"x\""));
        let rendered = http1::response::RenderedFields::render(&rendered_list);
        let mut map = HeaderMap::new();
        response_fields(&mut map, &headers, Some(&rendered));
        assert!(!map.contains_key(header::CONNECTION));
        assert!(!map.contains_key(header::CONTENT_LENGTH));
        assert_eq!(map.get(header::CONTENT_TYPE).unwrap(), "text/plain");
        assert_eq!(map.get(header::ETAG).unwrap(), "\"x\"");
        assert!(map.contains_key(header::SERVER) && map.contains_key(header::DATE));
    }
}
