//! The HTTP/1.1 connection driver: read a head, call the service, write the response, repeat.
//!
//! One task per connection. The states a connection goes through are explicit in [`Next`]:
//! after each response it either reads the next request or closes, and when it closes after
//! an error it never interprets another byte the client sent (RFC 9112 section 9.6).

use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::FutureExt as _;
use http1::response::{Fields, Length, allows_body, allows_length, encode_head};
use http1::{BodyKind, Decoder, Method, ParseError, RequestHead, StatusCode, Version};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::access_log::Entry;
use crate::body::{ReadSide, Returned, Wire, read_chunk};
use crate::config::MAX_DRAIN;
use crate::write::{FLUSH_THRESHOLD, Writer};
use crate::{
    Body, BodyError, ConnInfo, HttpConfig, Request, Response, ResponseBody, Service, Shutdown,
};

/// How long a closing connection keeps reading (and discarding) what the client still sends,
/// so the kernel does not answer it with a reset that could destroy our last response.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How long an idle connection keeps its buffers before giving them back.
const IDLE_HOLD: Duration = Duration::from_millis(500);
/// Most bytes discarded while lingering.
const LINGER_BYTES: usize = 1024 * 1024;

/// What the connection does after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close cleanly: the exchange ended as agreed.
    Close,
    /// Close after an error: unread input is discarded, never parsed.
    Abort,
}

/// How waiting for a request head ended.
enum HeadEvent {
    /// A head, and when its first bytes were seen if that was noted (a head that arrives
    /// whole in one read is not timed unless the access log wants its latency).
    Head(RequestHead, Option<Instant>),
    /// The client closed, went idle too long, or the server is shutting down while idle.
    Gone,
    /// A partial head took longer than the head timeout.
    TimedOut,
    Invalid(ParseError),
}

struct Conn<'a, S> {
    service: &'a S,
    config: &'a HttpConfig,
    info: ConnInfo,
    shutdown: Shutdown,
    side: Option<ReadSide>,
    out: Writer,
    /// The one timer of the connection, moved lazily by [`Waiting::until`].
    timer: Pin<Box<Sleep>>,
    served: u64,
}

/// Serves one HTTP/1.1 connection until it closes.
pub(crate) async fn serve_connection<S: Service>(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    service: &S,
    config: &HttpConfig,
    shutdown: Shutdown,
) {
    let (rd, wr) = stream.into_split();
    let mut conn = Conn {
        service,
        config,
        info: ConnInfo { peer, local },
        shutdown,
        side: Some(ReadSide {
            io: rd,
            buf: BytesMut::new(),
        }),
        out: Writer::new(wr, config.write_timeout),
        timer: Box::pin(tokio::time::sleep(config.head_timeout)),
        served: 0,
    };
    let next = conn.run().await;
    if conn.close(next).await {
        conn.out.forget();
    }
}

impl<S: Service> Conn<'_, S> {
    async fn run(&mut self) -> Next {
        loop {
            // A statement of its own, so the reading state is gone while the exchange runs.
            let event = self.read_head().await;
            let next = match event {
                // Boxed, so an idle connection's task holds only the reading state. The rare,
                // large parts of an exchange (streams, body draining) box themselves, so this
                // box is small (about 1 KiB and the handler's state). (Every boxed future here
                // is made in a statement of its own: one made inside the awaited expression
                // would still have its space reserved in this future's state.)
                HeadEvent::Head(head, started) => {
                    let exchange = Box::pin(self.exchange(head, started));
                    exchange.await
                }
                HeadEvent::Gone => Next::Close,
                HeadEvent::TimedOut => {
                    let reject = Box::pin(self.reject(StatusCode::REQUEST_TIMEOUT));
                    reject.await
                }
                HeadEvent::Invalid(e) => {
                    tracing::debug!(peer = %self.info.peer, error = %e, "bad request");
                    let reject = Box::pin(self.reject(e.status()));
                    reject.await
                }
            };
            if next != Next::KeepAlive {
                return next;
            }
            self.served += 1;
        }
    }

    /// Reads until a whole head is buffered. Pending output is flushed before blocking, so
    /// pipelined responses go out together.
    async fn read_head(&mut self) -> HeadEvent {
        let Some(side) = self.side.as_mut() else {
            return HeadEvent::Gone;
        };
        // When the head's first bytes were seen, noted once a head is found incomplete (it
        // starts the head timeout) or when the access log wants the latency: a head that
        // arrives whole costs no clock read.
        let mut started = None;
        loop {
            if !side.buf.is_empty() {
                match http1::take_request_head(&mut side.buf, &self.config.limits) {
                    Ok(Some(head)) => {
                        if self.config.access_log.is_some() {
                            started.get_or_insert_with(Instant::now);
                        }
                        return HeadEvent::Head(head, started);
                    }
                    Ok(None) => {
                        started.get_or_insert_with(Instant::now);
                    }
                    Err(e) => return HeadEvent::Invalid(e),
                }
            }
            if self.out.flush().await.is_err() {
                return HeadEvent::Gone;
            }
            // To within a tick: this only places the idle deadline.
            let now = crate::clock::coarse_now();
            let deadline = match started {
                Some(t) => t + self.config.head_timeout,
                None if self.served == 0 => now + self.config.head_timeout,
                None => now + self.config.idle_timeout,
            };
            let idle = side.buf.is_empty();
            let wait = Waiting {
                side,
                out: &mut self.out,
                shutdown: &mut self.shutdown,
                timer: &mut self.timer,
            };
            match wait.until(now, deadline, idle).await {
                Wait::Ready => {}
                Wait::TimedOut if !idle => return HeadEvent::TimedOut,
                Wait::TimedOut | Wait::Gone => return HeadEvent::Gone,
            }
            match side.try_read_some() {
                Ok(Some(0)) | Err(_) => return HeadEvent::Gone,
                Ok(Some(_)) | Ok(None) => {} // parsed above; `None`: spurious readiness
            }
        }
    }

    /// One request and its response.
    async fn exchange(&mut self, head: RequestHead, started: Option<Instant>) -> Next {
        let head_request = head.method == Method::HEAD;
        let version = head.version;
        let mut keep_alive = head.keep_alive && head.method != Method::CONNECT;
        let log_line = self.config.access_log.as_ref().map(|_| {
            (
                head.method.clone(),
                head.target.as_str().to_owned(),
                basic_auth_user(&head),
            )
        });

        let mut lent = if head.body == BodyKind::Empty {
            Lent::none()
        } else {
            let lend = Box::pin(self.lend_body(&head));
            match lend.await {
                Ok(lent) => lent,
                Err(next) => return next,
            }
        };
        let request = Request::new(head, lent.take_body(), self.info);
        // Not boxed: the handler's state lives in the exchange's box, which exists only while
        // the exchange runs, so an idle connection's task does not hold it either.
        let call = AssertUnwindSafe(self.service.call(request)).catch_unwind();
        let response = match call.await {
            Ok(response) => response,
            Err(_) => {
                // The panic message is already on stderr through the panic hook.
                tracing::error!(peer = %self.info.peer, "handler panicked; answering 500");
                keep_alive = false;
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        };

        let mut response = response;
        match self.settle_body(&mut lent).await {
            Settled::Clean => {}
            Settled::Close => keep_alive = false,
            Settled::Malformed(e) => {
                response = Response::error(e.status());
                keep_alive = false;
            }
        }
        let status = response.status;
        keep_alive &= !self.shutdown.is_down();

        let (sent, next) = self
            .write_response(response, version, head_request, keep_alive)
            .await;
        if let Some((method, target, user)) = log_line {
            self.log(LogLine {
                method: method.as_str(),
                target: &target,
                user: user.as_deref(),
                version,
                status: status.as_u16(),
                bytes: sent,
                started: started.unwrap_or_else(Instant::now),
            });
        }
        if next != Next::KeepAlive {
            return next;
        }
        match lent.rx.take() {
            None => Next::KeepAlive,
            Some(rx) => {
                let back = Box::pin(self.take_back(rx));
                back.await
            }
        }
    }

    /// A handler that handed the body to a task of its own (a CGI script's stdin) gives it
    /// back to the connection when that task is done with it; what is left is drained.
    async fn take_back(&mut self, rx: oneshot::Receiver<Returned>) -> Next {
        let Ok(Ok(back)) = tokio::time::timeout(self.config.body_timeout, rx).await else {
            return Next::Abort;
        };
        self.side = Some(back.side);
        if back.decoder.is_done() {
            return Next::KeepAlive;
        }
        match self.drain(back.decoder).await {
            Drained::Done => Next::KeepAlive,
            Drained::Malformed(_) | Drained::Failed => Next::Abort,
        }
    }

    /// Before answering: if the handler already let go of the body, takes the read side back and
    /// reads the rest of a small body now. A body that turns out to be malformed must get a 400
    /// rather than a success the client could pair with the wrong request (request smuggling).
    /// A body still held (handed to a task of the handler's) is waited for after the response.
    async fn settle_body(&mut self, lent: &mut Lent) -> Settled {
        let Some(back) = lent.rx.as_mut().and_then(|rx| rx.try_recv().ok()) else {
            return Settled::Clean;
        };
        lent.rx = None;
        let remaining = lent
            .len
            .map(|n| n.saturating_sub(back.decoder.bytes_seen()));
        self.side = Some(back.side);
        if back.decoder.is_done() {
            return Settled::Clean;
        }
        if remaining.is_some_and(|n| n > MAX_DRAIN) {
            return Settled::Close;
        }
        let drain = Box::pin(self.drain(back.decoder));
        match drain.await {
            Drained::Done => Settled::Clean,
            Drained::Malformed(e) => Settled::Malformed(e),
            Drained::Failed => Settled::Close,
        }
    }

    /// Sets up the request body: lends the read side to it when there is a body to read.
    async fn lend_body(&mut self, head: &RequestHead) -> Result<Lent, Next> {
        let len = match head.body {
            BodyKind::Empty => return Ok(Lent::none()),
            BodyKind::Length(n) => Some(n),
            BodyKind::Chunked | BodyKind::UntilClose => None,
        };
        if head.expect_continue {
            // Sent at once rather than on the first read: simpler, and RFC 9110 10.1.1 allows it.
            self.out.buf.extend_from_slice(http1::response::CONTINUE);
            if self.out.flush().await.is_err() {
                return Err(Next::Abort);
            }
        }
        let Some(side) = self.side.take() else {
            return Err(Next::Abort);
        };
        let decoder = Decoder::new(head.body, self.config.limits.max_body_size);
        let (tx, rx) = oneshot::channel();
        let wire = Wire::new(side, decoder, len, self.config.body_timeout, tx);
        Ok(Lent {
            body: Some(Body::wire(wire)),
            rx: Some(rx),
            len,
        })
    }

    /// Reads and discards what the handler left of a body, up to [`MAX_DRAIN`] bytes.
    async fn drain(&mut self, mut decoder: Decoder) -> Drained {
        let Some(side) = self.side.as_mut() else {
            return Drained::Failed;
        };
        let start = decoder.bytes_seen();
        loop {
            match read_chunk(side, &mut decoder, self.config.body_timeout).await {
                Ok(None) => return Drained::Done,
                Ok(Some(_)) if decoder.bytes_seen() - start <= MAX_DRAIN => {}
                Ok(Some(_)) => return Drained::Failed,
                Err(BodyError::Malformed(e)) => return Drained::Malformed(e),
                Err(_) => return Drained::Failed,
            }
        }
    }

    /// Answers a request the server could not accept, and closes.
    async fn reject(&mut self, status: StatusCode) -> Next {
        let response = Response::error(status);
        let started = Instant::now();
        let (sent, _) = self
            .write_response(response, Version::HTTP_11, false, false)
            .await;
        self.log(LogLine {
            method: "-",
            target: "-",
            user: None,
            version: Version::HTTP_11,
            status: status.as_u16(),
            bytes: sent,
            started,
        });
        Next::Abort
    }

    /// Writes one response; returns the body bytes sent and what the connection does next.
    async fn write_response(
        &mut self,
        response: Response,
        version: Version,
        head_request: bool,
        keep_alive: bool,
    ) -> (u64, Next) {
        let Response {
            status,
            reason,
            headers,
            rendered,
            body,
        } = response;
        if let ResponseBody::Raw(stream) = body {
            let write = Box::pin(self.out.write_stream(stream, false, None));
            let result = write.await;
            return (result.unwrap_or(0), Next::Close);
        }
        let send_body = allows_body(head_request, status);
        let mut close = !keep_alive;
        let length = match body.len() {
            _ if !allows_length(status) => Length::Omitted,
            Some(n) => Length::Known(n),
            None if version == Version::HTTP_11 => Length::Chunked,
            None => {
                // An HTTP/1.0 client cannot read chunked: the body ends with the connection.
                close = true;
                Length::Omitted
            }
        };
        encode_head(
            &mut self.out.buf,
            version,
            status,
            reason.as_deref(),
            Fields {
                list: &headers,
                rendered: rendered.as_ref(),
            },
            length,
            close,
        );
        let result = if send_body {
            self.write_body(body, length).await
        } else {
            Ok(0)
        };
        match result {
            Ok(sent) if close => (sent, Next::Close),
            Ok(sent) => (sent, Next::KeepAlive),
            Err(e) => {
                tracing::debug!(peer = %self.info.peer, error = %e, "response aborted");
                (0, Next::Abort)
            }
        }
    }

    /// A small in-memory body is only buffered here: it leaves with the head, by the flush
    /// before the next read. Everything else is written by [`Conn::send_body`], boxed so that
    /// its larger state is allocated only when used.
    async fn write_body(&mut self, body: ResponseBody, length: Length) -> io::Result<u64> {
        match body {
            ResponseBody::Empty | ResponseBody::Raw(_) => Ok(0),
            ResponseBody::Full(bytes) if self.out.buf.len() + bytes.len() < FLUSH_THRESHOLD => {
                self.out.buf.extend_from_slice(&bytes);
                Ok(bytes.len() as u64)
            }
            body => {
                let send = Box::pin(self.send_body(body, length));
                send.await
            }
        }
    }

    async fn send_body(&mut self, body: ResponseBody, length: Length) -> io::Result<u64> {
        match body {
            ResponseBody::Empty | ResponseBody::Raw(_) => Ok(0),
            ResponseBody::Full(bytes) => {
                self.out.write_bytes(&bytes).await?;
                Ok(bytes.len() as u64)
            }
            ResponseBody::File(region) => {
                self.out
                    .send_file(&region.file, region.offset, region.len)
                    .await?;
                Ok(region.len)
            }
            ResponseBody::Stream { stream, len } => {
                self.out
                    .write_stream(stream, length == Length::Chunked, len)
                    .await
            }
        }
    }

    fn log(&self, line: LogLine<'_>) {
        let Some(log) = &self.config.access_log else {
            return;
        };
        log.log(&Entry {
            peer: self.info.peer,
            user: line.user,
            method: line.method,
            target: line.target,
            version: if line.version == Version::HTTP_10 {
                "HTTP/1.0"
            } else {
                "HTTP/1.1"
            },
            status: line.status,
            bytes: line.bytes,
            elapsed: line.started.elapsed(),
        });
    }

    /// Ends the connection. After an error, or when the client may still be sending, keeps
    /// reading for a moment and discards it: closing a socket with unread input makes the
    /// kernel send a reset, which can destroy the response the client has not read yet.
    ///
    /// Returns whether the socket only has to be closed: a clean end with nothing unread needs
    /// no `shutdown`, as closing the socket sends the FIN.
    async fn close(&mut self, next: Next) -> bool {
        match &self.side {
            Some(side) if next == Next::Close && side.buf.is_empty() => {
                let _ = self.out.flush().await;
                return true;
            }
            Some(_) => {}
            // The read side is still lent out (a body a handler's task holds): only a
            // `shutdown` tells the client the response is over.
            None => {
                self.out.shutdown().await;
                return false;
            }
        }
        self.out.shutdown().await;
        if let Some(side) = self.side.as_mut() {
            // Boxed: a rare path whose timer and read would otherwise enlarge every connection.
            let linger = Box::pin(linger(side));
            linger.await;
        }
        false
    }
}

/// Reads and discards what the client still sends, for [`LINGER_TIME`] or [`LINGER_BYTES`].
async fn linger(side: &mut ReadSide) {
    let deadline = Instant::now() + LINGER_TIME;
    let mut discarded = side.buf.len();
    while discarded < LINGER_BYTES {
        side.buf.clear();
        match tokio::time::timeout_at(deadline, side.io.read_buf(&mut side.buf)).await {
            Ok(Ok(n)) if n > 0 => discarded += n,
            _ => break,
        }
    }
}

/// How waiting for request bytes ended.
enum Wait {
    /// The socket is readable (data, or EOF to be read).
    Ready,
    /// The deadline passed.
    TimedOut,
    /// The server is shutting down (only while idle: a half-read request is finished).
    Gone,
}

/// What waiting for request bytes uses.
struct Waiting<'a> {
    side: &'a mut ReadSide,
    out: &'a mut Writer,
    shutdown: &'a mut Shutdown,
    timer: &'a mut Pin<Box<Sleep>>,
}

impl Waiting<'_> {
    /// Waits until the socket is readable, the deadline passes, or (while `idle`, between
    /// requests) the server shuts down.
    ///
    /// A connection idle past [`IDLE_HOLD`] gives its buffers back to the allocator, so ten
    /// thousand idle keep-alive connections cost little more than their sockets; a busy one
    /// keeps them and allocates nothing per request. Only then does it start watching for
    /// shutdown: a busy connection sees a shutdown after its next response, one idle for less
    /// than [`IDLE_HOLD`] when the hold ends, so a request does not pay for a shutdown watch.
    ///
    /// The timer is moved lazily, as nginx moves its timers: one due earlier than needed is
    /// left alone, and when it fires early it is moved to the real time. So a busy connection
    /// re-arms it about once per hold period, not once per request.
    async fn until(self, now: Instant, deadline: Instant, idle: bool) -> Wait {
        let Waiting {
            side,
            out,
            shutdown,
            timer,
        } = self;
        let due = if idle {
            (now + IDLE_HOLD).min(deadline)
        } else {
            deadline
        };
        if timer.deadline() > due {
            timer.as_mut().reset(due);
        }
        loop {
            tokio::select! {
                ready = side.io.readable() => return if ready.is_ok() { Wait::Ready } else { Wait::Gone },
                () = timer.as_mut() => {}
            }
            if Instant::now() >= due {
                break;
            }
            timer.as_mut().reset(due);
        }
        if due >= deadline {
            return Wait::TimedOut;
        }
        side.buf = BytesMut::new();
        out.release();
        if shutdown.is_down() {
            return Wait::Gone;
        }
        timer.as_mut().reset(deadline);
        tokio::select! {
            ready = side.io.readable() => if ready.is_ok() { Wait::Ready } else { Wait::Gone },
            () = timer.as_mut() => Wait::TimedOut,
            () = shutdown.wait() => Wait::Gone,
        }
    }
}

/// What settling the body before the response decided.
enum Settled {
    /// The body is finished (or still with the handler); keep-alive as the request asked.
    Clean,
    /// Too much left, or the client went away: answer, then close.
    Close,
    /// The body is malformed: answer with its error status instead, then close.
    Malformed(ParseError),
}

/// How skipping the rest of an unread body ended.
enum Drained {
    /// The body ended; the connection can read the next request.
    Done,
    /// The body's framing is broken.
    Malformed(ParseError),
    /// The client went away, stalled, or sent more than [`MAX_DRAIN`].
    Failed,
}

/// Fields of one access-log line gathered during an exchange.
struct LogLine<'a> {
    method: &'a str,
    target: &'a str,
    user: Option<&'a str>,
    version: Version,
    status: u16,
    bytes: u64,
    started: Instant,
}

/// The body lent to a handler, and how to get the read side back.
struct Lent {
    body: Option<Body>,
    rx: Option<oneshot::Receiver<Returned>>,
    len: Option<u64>,
}

impl Lent {
    fn none() -> Lent {
        Lent {
            body: None,
            rx: None,
            len: Some(0),
        }
    }

    fn take_body(&mut self) -> Body {
        self.body.take().unwrap_or_default()
    }
}

/// The user name of `Authorization: Basic`, for the access log (not verified: logging only),
/// decoded by the rule CGI's `REMOTE_USER` follows too.
fn basic_auth_user(head: &RequestHead) -> Option<String> {
    semantics::auth::basic_user(head.headers.get("authorization")?.as_bytes())
}
