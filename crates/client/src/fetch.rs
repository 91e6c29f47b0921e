//! [`Client`]: one request and the redirects that follow it, over as few connections as the
//! server allows.
//!
//! The caller sees the exchange through [`Events`] as it happens: the heads as they go out and
//! come in (for `--trace` and `-i`), and the body piece by piece (for a file or a terminal), so a
//! large body is never held in memory.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http1::client::ResponseHead;
use http1::{BodyKind, Decoder};

use crate::conn::Connection;
use crate::redirect::{MAX_REDIRECTS, is_redirect, next_request};
use crate::tls::{Tls, TlsInfo, Trust};
use crate::{Closed, Error, Request, Url};

/// Largest redirect body read (and thrown away) to keep its connection; a longer one, or one
/// that ends only at close, is abandoned together with the connection.
const MAX_REDIRECT_BODY: u64 = 1024 * 1024;

/// What a response head is, in the exchange as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadRole {
    /// A 1xx before the real response.
    Interim,
    /// A redirect that is being followed; its body is discarded.
    Redirect,
    /// The response whose body is delivered.
    Final,
}

/// What a caller observes while a [`Client`] works. Only the body is required.
pub trait Events {
    /// A connection to `peer` was opened, or an idle one picked up again (`reused`).
    fn connection(&mut self, _peer: Option<SocketAddr>, _reused: bool) {}

    /// The TLS handshake of a new connection settled this (after [`Events::connection`]).
    fn tls(&mut self, _info: &TlsInfo) {}

    /// A request head, exactly as written to the socket.
    fn request_head(&mut self, _raw: &[u8]) {}

    /// A response head, exactly as received.
    fn response_head(
        &mut self,
        _raw: &[u8],
        _head: &ResponseHead,
        _role: HeadRole,
    ) -> io::Result<()> {
        Ok(())
    }

    /// The next piece of the final response's body.
    fn body(&mut self, data: &[u8]) -> io::Result<()>;

    /// An HTTP/2 frame's head crossed the connection (in the order they crossed).
    fn frame(&mut self, _head: &crate::frames::FrameHead) {}
}

/// How a fetch ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The final status.
    pub status: StatusCode,
    /// The URL that gave the final response.
    pub url: Url,
    /// How many redirects were followed to get there.
    pub redirects: usize,
}

/// An HTTP/1.1 client over TCP and TLS that keeps one idle connection for the next request to
/// the same place.
#[derive(Debug)]
pub struct Client {
    timeout: Duration,
    follow: bool,
    tls: Tls,
    /// Offer HTTP/2 by ALPN on `https://` and speak it when the server agrees.
    http2: bool,
    idle: Option<Connection>,
    /// A new connection already announced to the events, on which ALPN did not say `h2`.
    opened: Option<Connection>,
}

impl Client {
    /// A client whose connects, handshakes, reads and writes each give up after `timeout` of
    /// silence, which trusts the system's root certificates and does not follow redirects.
    pub fn new(timeout: Duration) -> Client {
        Client {
            timeout,
            follow: false,
            tls: Tls::default(),
            http2: false,
            idle: None,
            opened: None,
        }
    }

    /// Accepts the server certificates that `trust` accepts.
    pub fn trust(mut self, trust: Trust) -> Client {
        self.tls = if self.http2 {
            Tls::offering_h2(trust)
        } else {
            Tls::new(trust)
        };
        self
    }

    /// Offers HTTP/2 by ALPN on `https://` URLs (`h2` before `http/1.1`, as curl's `--http2`)
    /// and speaks it when the server chooses it; HTTP/1.1 on the same connection otherwise, and
    /// on `http://`. Call before [`Client::trust`]. Over HTTP/2 redirects are not followed.
    pub fn http2(mut self, yes: bool) -> Client {
        self.http2 = yes;
        self
    }

    /// Follows up to [`MAX_REDIRECTS`] redirects when `yes`.
    pub fn follow_redirects(mut self, yes: bool) -> Client {
        self.follow = yes;
        self
    }

    /// Sends `req`, follows redirects if asked, and delivers the final body to `events`.
    pub async fn fetch(
        &mut self,
        mut req: Request,
        events: &mut dyn Events,
    ) -> Result<Outcome, Error> {
        if self.http2 && req.url.scheme() == crate::Scheme::Https {
            let conn = Connection::open(&req.url, self.timeout, &self.tls).await?;
            announce(&conn, false, events);
            match conn.into_h2() {
                Ok(stream) => return crate::h2c::over(stream, &req, self.timeout, events).await,
                Err(conn) => self.opened = Some(*conn),
            }
        }
        let mut redirects = 0;
        loop {
            let (head, role) = self.exchange(&req, events).await?;
            if role == HeadRole::Final {
                return Ok(Outcome {
                    status: head.status,
                    url: req.url,
                    redirects,
                });
            }
            if redirects == MAX_REDIRECTS {
                return Err(Error::TooManyRedirects(MAX_REDIRECTS));
            }
            redirects += 1;
            req = next_request(&req, &head)?;
        }
    }

    /// One request and its response; the connection is kept if the exchange allows it.
    async fn exchange(
        &mut self,
        req: &Request,
        events: &mut dyn Events,
    ) -> Result<(ResponseHead, HeadRole), Error> {
        let (mut conn, sent) = self.send(req, events).await?;
        let kind = sent
            .response
            .body_kind(&req.method)
            .map_err(Error::Response)?;
        let role = if self.follow && is_redirect(&sent.response) {
            HeadRole::Redirect
        } else {
            HeadRole::Final
        };
        events
            .response_head(&sent.raw, &sent.response, role)
            .map_err(Error::Output)?;
        let complete = read_body(&mut conn, kind, role, events).await?;
        if complete
            && sent.whole_body
            && reusable(req, &sent.response, kind)
            && !conn.has_leftover()
        {
            self.idle = Some(conn);
        }
        Ok((sent.response, role))
    }

    /// Sends `req` on the idle connection when it goes to the same place, else on a new one.
    async fn send(
        &mut self,
        req: &Request,
        events: &mut dyn Events,
    ) -> Result<(Connection, Sent), Error> {
        let mut head = Vec::with_capacity(256);
        req.encode_head(&mut head);
        let (mut conn, reused) = match self.opened.take() {
            Some(conn) => (conn, false),
            None => {
                let (conn, reused) = self.connection_for(&req.url).await?;
                announce(&conn, reused, events);
                (conn, reused)
            }
        };
        events.request_head(&head);
        match write_and_read_head(&mut conn, &head, req, events).await {
            // An idle connection the server closed just as we reused it: RFC 9112 9.3.1 lets a
            // client retry on a new one when no response has begun.
            Err(Error::Closed(Closed::BeforeResponse) | Error::Io(_)) if reused => {
                let mut fresh = Connection::open(&req.url, self.timeout, &self.tls).await?;
                announce(&fresh, false, events);
                let sent = write_and_read_head(&mut fresh, &head, req, events).await?;
                Ok((fresh, sent))
            }
            sent => Ok((conn, sent?)),
        }
    }

    /// The idle connection if it serves `url`, else a new one; says which.
    async fn connection_for(&mut self, url: &Url) -> Result<(Connection, bool), Error> {
        match self.idle.take() {
            Some(conn) if conn.serves(url) => Ok((conn, true)),
            _ => Ok((Connection::open(url, self.timeout, &self.tls).await?, false)),
        }
    }
}

/// Tells `events` of the connection, and of its handshake when it is new.
fn announce(conn: &Connection, reused: bool, events: &mut dyn Events) {
    events.connection(conn.peer(), reused);
    if let (Some(info), false) = (conn.tls(), reused) {
        events.tls(info);
    }
}

/// A request written (wholly or not) and the final response head read.
struct Sent {
    response: ResponseHead,
    raw: Bytes,
    /// Whether the whole body went out; if not, the connection is out of step and not reused.
    whole_body: bool,
}

/// Writes the request and reads up to the final head.
async fn write_and_read_head(
    conn: &mut Connection,
    head: &[u8],
    req: &Request,
    events: &mut dyn Events,
) -> Result<Sent, Error> {
    conn.write_all(head).await?;
    if !req.body.is_empty()
        && let Err(e) = conn.write_all(&req.body).await
    {
        // A server may answer (413, say) and close before reading the whole body; its answer
        // tells the user more than our broken pipe does.
        return match read_final_head(conn, events).await {
            Ok((response, raw)) => Ok(Sent {
                response,
                raw,
                whole_body: false,
            }),
            Err(_) => Err(e),
        };
    }
    let (response, raw) = read_final_head(conn, events).await?;
    Ok(Sent {
        response,
        raw,
        whole_body: true,
    })
}

/// Reads heads until the final one, reporting interim ones.
async fn read_final_head(
    conn: &mut Connection,
    events: &mut dyn Events,
) -> Result<(ResponseHead, Bytes), Error> {
    loop {
        let (response, raw) = conn.read_head().await?;
        if !response.is_interim() {
            return Ok((response, raw));
        }
        events
            .response_head(&raw, &response, HeadRole::Interim)
            .map_err(Error::Output)?;
    }
}

/// Reads the body of a response in `role`: delivered when final, discarded for a redirect.
/// Returns whether it was read to its end (a redirect's long body is abandoned instead).
async fn read_body(
    conn: &mut Connection,
    kind: BodyKind,
    role: HeadRole,
    events: &mut dyn Events,
) -> Result<bool, Error> {
    let mut decoder = Decoder::new(kind, u64::MAX);
    match role {
        HeadRole::Redirect if !drainable(kind) => return Ok(false),
        HeadRole::Redirect => conn.read_body(&mut decoder, &mut |_| Ok(())).await?,
        _ => {
            conn.read_body(&mut decoder, &mut |data| events.body(data))
                .await?
        }
    }
    Ok(true)
}

/// Whether the connection may carry the next request, as far as this exchange says
/// (RFC 9112 9.3): both sides must allow it and the body must not have ended at close.
fn reusable(req: &Request, response: &ResponseHead, kind: BodyKind) -> bool {
    response.keep_alive()
        && !req.wants_close()
        && kind != BodyKind::UntilClose
        && response.status != StatusCode::SWITCHING_PROTOCOLS
}

/// Whether a redirect's body is worth reading to keep the connection.
fn drainable(kind: BodyKind) -> bool {
    match kind {
        BodyKind::Empty | BodyKind::Chunked => true,
        BodyKind::Length(n) => n <= MAX_REDIRECT_BODY,
        BodyKind::UntilClose => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::Method;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Records what a caller would see.
    #[derive(Default)]
    struct Seen {
        connections: Vec<bool>,
        requests: usize,
        heads: Vec<(u16, HeadRole)>,
        body: Vec<u8>,
    }

    impl Events for Seen {
        fn connection(&mut self, _peer: Option<SocketAddr>, reused: bool) {
            self.connections.push(reused);
        }
        fn request_head(&mut self, _raw: &[u8]) {
            self.requests += 1;
        }
        fn response_head(
            &mut self,
            _raw: &[u8],
            head: &ResponseHead,
            role: HeadRole,
        ) -> io::Result<()> {
            self.heads.push((head.status.as_u16(), role));
            Ok(())
        }
        fn body(&mut self, data: &[u8]) -> io::Result<()> {
            self.body.extend_from_slice(data);
            Ok(())
        }
    }

    /// Serves one connection: after each request head, the next of `replies`.
    async fn serve(listener: TcpListener, replies: Vec<&'static str>) {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        for reply in replies {
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let mut chunk = [0u8; 1024];
                let n = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.clear();
            s.write_all(reply.as_bytes()).await.unwrap();
        }
    }

    #[test]
    fn events_report_every_head_in_its_role_and_only_the_final_body() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url =
                Url::parse(&format!("http://{}/start", listener.local_addr().unwrap())).unwrap();
            let server = tokio::spawn(serve(
                listener,
                vec![
                    "HTTP/1.1 301 Moved\r\nLocation: /end\r\nContent-Length: 4\r\n\r\ngone",
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhere",
                ],
            ));
            let mut seen = Seen::default();
            let mut client = Client::new(Duration::from_secs(10)).follow_redirects(true);
            let outcome = client
                .fetch(Request::new(Method::GET, url), &mut seen)
                .await
                .unwrap();
            assert_eq!(outcome.status, StatusCode::OK);
            assert_eq!(outcome.redirects, 1);
            assert!(outcome.url.to_string().ends_with("/end"));
            assert_eq!(seen.connections, [false, true]);
            assert_eq!(seen.requests, 2);
            assert_eq!(
                seen.heads,
                [
                    (301, HeadRole::Redirect),
                    (100, HeadRole::Interim),
                    (200, HeadRole::Final)
                ]
            );
            assert_eq!(seen.body, b"here");
            server.await.unwrap();
        });
    }
}
