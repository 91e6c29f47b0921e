//! The HTTP/1.1 connection driver: a thin loop around [`http1::conn::Connection`].
//!
//! The state machine decides (keep-alive, HEAD, HTTP/1.0, CONNECT, `100-continue`, draining,
//! how to close); this loop does what it decides over a transport ([`crate::transport`]): it
//! reads, waits under the timers, calls the [`Service`], writes the response, and builds the
//! access-log entry. After an error it never interprets another byte the client sent (RFC 9112
//! section 9.6).

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::FutureExt as _;
use http1::conn::{Closing, Connection, Drain, Incoming, Leftover, Next, Settings, Step};
use http1::response::{Fields, Length, encode_head};
use http1::{Decoder, ParseError, RequestHead, StatusCode};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::access_log::{Entry, Noted};
use crate::body::{ReadSide, Returned};
use crate::config::MAX_DRAIN;
use crate::request::RemoteUser;
use crate::transport::Transport;
use crate::write::{FLUSH_THRESHOLD, Writer};
use crate::{Body, ConnInfo, HttpConfig, Request, Response, ResponseBody, Service, Shutdown};

/// How long a closing connection keeps reading (and discarding) what the client still sends,
/// so the kernel does not answer it with a reset that could destroy our last response.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How long an idle connection keeps its buffers before giving them back.
const IDLE_HOLD: Duration = Duration::from_millis(500);
/// Most bytes discarded while lingering.
const LINGER_BYTES: usize = 1024 * 1024;

/// How waiting for a request head ended.
// Not boxed: a box would be one more allocation per request.
#[allow(clippy::large_enum_variant)]
enum HeadEvent {
    /// A head to answer.
    Head(Incoming),
    /// The client closed, went idle too long, or the server is shutting down while idle.
    Gone,
    /// The server answers this itself and closes (a malformed head, or a head timed out).
    Reject(StatusCode),
    /// The connection's first bytes are the HTTP/2 preface: h2c with prior knowledge.
    Http2,
}

/// What the connection does with a [`HeadEvent`].
enum Answer<E, R> {
    Done(Next),
    Http2,
    Exchange(Pin<Box<E>>),
    Reject(Pin<Box<R>>),
}

struct Conn<S> {
    service: Arc<S>,
    config: Arc<HttpConfig>,
    info: ConnInfo,
    shutdown: Shutdown,
    proto: Connection,
    side: Option<ReadSide>,
    out: Writer,
    /// The one timer of the connection, moved lazily by [`Waiting::until`].
    timer: Pin<Box<Sleep>>,
    /// Where the connection goes if the service answers the current request `101`.
    upgrade: Option<crate::upgrade::Pending>,
}

/// Serves one HTTP/1.1 connection over `stream` (plain TCP, or any other [`Transport`])
/// until it closes, or until the client turns out to speak HTTP/2 (h2c with prior
/// knowledge): then it ends with the HTTP/2 connection's future, for the caller to run in a
/// task of its own, so that an HTTP/2 connection does not keep a task sized for this future.
///
/// A plain function returning the connection's future, rather than an `async fn`: the
/// arguments are spent building the connection before the future exists, instead of being
/// kept in it beside the connection for its whole life. Every byte of that future is paid by
/// each idle connection, so [`Conn`]'s methods box what is large and rare. The service and
/// the configuration are `Arc`s, so the caller can spawn this future as it is, rather than in
/// an `async` block that would keep its own copies of the arguments beside it.
pub(crate) fn serve_connection<S: Service>(
    stream: impl Transport,
    peer: SocketAddr,
    local: SocketAddr,
    service: Arc<S>,
    config: Arc<HttpConfig>,
    shutdown: Shutdown,
) -> impl Future<Output = Option<impl Future<Output = ()> + Send + 'static>> + Send + 'static {
    let info = ConnInfo {
        peer,
        local,
        tls: stream.tls_info(),
    };
    let (rd, wr) = stream.split();
    let out = Writer::new(wr, config.write_timeout);
    let settings = Settings {
        limits: config.limits,
        head_timeout: config.head_timeout,
        idle_timeout: config.idle_timeout,
        max_drain: MAX_DRAIN,
    };
    let timer = Box::pin(tokio::time::sleep(config.head_timeout));
    let mut conn = Conn {
        service,
        config,
        info,
        shutdown,
        proto: Connection::new(settings),
        side: Some(ReadSide {
            io: rd,
            buf: BytesMut::new(),
        }),
        out,
        timer,
        upgrade: None,
    };
    // The block captures `conn` once and borrows it; an `async fn` taking `self` would keep
    // it twice (the argument and its binding). The rare ending (an upgrade) is boxed, so an
    // HTTP/1.1 connection does not carry its state.
    async move {
        let Some(next) = conn.run().await else {
            return conn.into_http2();
        };
        if next == Next::Upgrade {
            let hand_over = Box::pin(conn.hand_over());
            hand_over.await;
            return None;
        }
        if conn.close(next).await {
            conn.out.forget();
        }
        None
    }
}

impl<S: Service> Conn<S> {
    /// Hands the connection over to HTTP/2 with the bytes read so far: the parser took
    /// exactly [`crate::h2::PREFACE_HEAD`] off the buffer, as a head of its own. The HTTP/1.1
    /// state goes here, the read buffer with it: an idle HTTP/2 connection holds none.
    fn into_http2(self) -> Option<impl Future<Output = ()> + Send + 'static> {
        let Conn {
            service,
            config,
            info,
            shutdown,
            side,
            out,
            proto,
            timer,
            upgrade,
            ..
        } = self;
        drop((proto, timer, upgrade));
        let crate::body::ReadSide { io: rd, buf } = side?;
        let mut read_ahead = BytesMut::with_capacity(crate::h2::PREFACE_HEAD.len() + buf.len());
        read_ahead.extend_from_slice(crate::h2::PREFACE_HEAD);
        read_ahead.extend_from_slice(&buf);
        drop(buf);
        let wr = out.into_io();
        let handover = crate::h2::Handover {
            rd,
            wr,
            read_ahead: read_ahead.freeze(),
            info,
            shutdown,
        };
        Some(handover.serve(service, config))
    }

    /// After a `101`: the head goes out, then the transport and the bytes read after the
    /// request head go to the service's [`crate::upgrade::OnUpgrade`].
    async fn hand_over(mut self) {
        if self.out.flush().await.is_err() {
            return;
        }
        let (Some(pending), Some(side)) = (self.upgrade.take(), self.side.take()) else {
            return;
        };
        let write_timeout = self.config.write_timeout;
        pending.complete(
            side.io,
            side.buf,
            self.out.into_io(),
            self.info,
            write_timeout,
        );
    }

    /// Serves requests until the connection is to close (`Some`), or the client turns out to
    /// speak HTTP/2 (`None`).
    async fn run(&mut self) -> Option<Next> {
        loop {
            // Statements of their own, and the event handed to a plain function that boxes
            // what it starts, so the event is gone before the next await: otherwise its space
            // (about 300 bytes: the head) would sit in every idle connection's state.
            let event = self.read_head().await;
            let next = match self.answer(event) {
                Answer::Done(next) => next,
                Answer::Http2 => return None,
                Answer::Exchange(exchange) => exchange.await,
                Answer::Reject(reject) => reject.await,
            };
            if next != Next::KeepAlive {
                return Some(next);
            }
        }
    }

    /// Starts answering `event`. Boxed, so an idle connection's task holds only the reading
    /// state. The rare, large parts of an exchange (streams, body draining) box themselves, so
    /// this box is small (about 1 KiB and the handler's state).
    fn answer(
        &mut self,
        event: HeadEvent,
    ) -> Answer<impl Future<Output = Next> + '_, impl Future<Output = Next> + '_> {
        match event {
            HeadEvent::Head(incoming) => Answer::Exchange(Box::pin(self.exchange(incoming))),
            HeadEvent::Gone => Answer::Done(Next::Close),
            HeadEvent::Http2 => Answer::Http2,
            HeadEvent::Reject(status) => Answer::Reject(Box::pin(self.reject(status))),
        }
    }

    /// Reads until the state machine has a whole head. Pending output is flushed before
    /// blocking, so pipelined responses go out together.
    async fn read_head(&mut self) -> HeadEvent {
        let Some(side) = self.side.as_mut() else {
            return HeadEvent::Gone;
        };
        loop {
            match self.proto.poll_head(&mut side.buf) {
                Step::Request(mut incoming) => {
                    // A head that arrived whole costs no clock read unless the log wants it.
                    if self.config.access_log.is_some() || self.config.metrics {
                        incoming
                            .started
                            .get_or_insert_with(|| Instant::now().into_std());
                    }
                    return HeadEvent::Head(incoming);
                }
                Step::Reject(_, ParseError::Http2Preface)
                    if self.config.http2 && self.proto.served() == 0 =>
                {
                    return HeadEvent::Http2;
                }
                Step::Reject(reject, e) => {
                    tracing::debug!(peer = %self.info.peer, error = %e, "bad request");
                    return HeadEvent::Reject(reject.status);
                }
                Step::NeedMore => {}
            }
            if self.out.flush().await.is_err() {
                self.proto.gone();
                return HeadEvent::Gone;
            }
            // To within a tick: this only places the deadlines.
            let now = crate::clock::coarse_now();
            let plan = self.proto.wait(!side.buf.is_empty(), now.into_std());
            let wait = Waiting {
                side,
                out: &mut self.out,
                shutdown: &mut self.shutdown,
                timer: &mut self.timer,
            };
            let _idle = (plan.idle && self.config.metrics).then(crate::metrics::IdleGuard::new);
            match wait
                .until(now, Instant::from_std(plan.deadline), plan.idle)
                .await
            {
                Wait::Ready => {}
                Wait::TimedOut => {
                    return match self.proto.timed_out(&side.buf) {
                        Some(reject) => HeadEvent::Reject(reject.status),
                        None => HeadEvent::Gone,
                    };
                }
                Wait::Gone => {
                    self.proto.gone();
                    return HeadEvent::Gone;
                }
            }
            match side.try_read_some() {
                Ok(Some(0)) | Err(_) => {
                    self.proto.gone();
                    return HeadEvent::Gone;
                }
                Ok(Some(_)) | Ok(None) => {} // parsed above; `None`: spurious readiness
            }
        }
    }

    /// One request and its response.
    async fn exchange(&mut self, incoming: Incoming) -> Next {
        let Incoming {
            head,
            started,
            send_continue,
            body,
            upgrade,
        } = incoming;
        let asterisk = http1::conn::is_options_asterisk(&head);
        let noted = self.config.access_log.as_ref().map(|log| log.note(&head));
        let method = self.config.metrics.then(|| head.method.clone());

        let mut lent = match body {
            None => Lent::none(),
            Some(decoder) => {
                let lend = Box::pin(self.lend_body(&head, decoder, send_continue));
                match lend.await {
                    Ok(lent) => lent,
                    Err(next) => return next,
                }
            }
        };
        let mut request = Request::new(head, lent.take_body(), self.info.clone());
        if upgrade {
            let (pending, on_upgrade) = crate::upgrade::pending();
            request.extensions.insert(on_upgrade);
            self.upgrade = Some(pending);
        }
        let response = if asterisk {
            drop(request);
            self.service.options_asterisk()
        } else {
            // Not boxed: the handler's state lives in the exchange's box, which exists only
            // while the exchange runs, so an idle connection's task does not hold it either.
            let call = AssertUnwindSafe(self.service.call(request)).catch_unwind();
            match call.await {
                Ok(response) => response,
                Err(_) => {
                    // The panic message is already on stderr through the panic hook.
                    tracing::error!(peer = %self.info.peer, "handler panicked; answering 500");
                    self.proto.force_close();
                    Response::error(StatusCode::INTERNAL_SERVER_ERROR)
                }
            }
        };

        let mut response = response;
        if let Some(e) = self.settle_body(&mut lent).await {
            response = Response::error(e.status());
        }
        if response.status == StatusCode::SWITCHING_PROTOCOLS {
            if self.upgrade.is_none() {
                // A switch the client did not ask for: the service is wrong, not the client.
                tracing::error!(peer = %self.info.peer, "101 to a request that did not ask to switch");
                response = Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        } else {
            // Dropped, so the service's `OnUpgrade` fails rather than waits.
            self.upgrade = None;
        }
        let status = response.status;
        let user = response.user.take();
        let tag = response.tag.clone();
        let (sent, next) = self.write_response(response).await;
        if noted.is_some() || method.is_some() {
            let started = started.map_or_else(Instant::now, Instant::from_std);
            let counted = Counted {
                method: method.as_ref(),
                tag: tag.as_ref(),
                tls: self.info.tls.as_ref().map(|t| t.version),
            };
            log_entry(
                &self.config,
                self.info.peer,
                noted.as_ref().map(|noted| (noted, user.as_ref())),
                counted,
                status,
                sent,
                started,
            );
        }
        match (next, lent.rx.take()) {
            (Next::TakeBack, Some(rx)) => {
                let back = Box::pin(self.take_back(rx));
                back.await
            }
            (Next::TakeBack, None) => self.proto.taken_back(),
            (next, _) => next,
        }
    }

    /// A handler that handed the body to a task of its own (a CGI script's stdin) gives it
    /// back to the connection when that task is done with it; what is left is drained.
    async fn take_back(&mut self, rx: oneshot::Receiver<Returned>) -> Next {
        let Ok(Ok(back)) = tokio::time::timeout(self.config.body_timeout, rx).await else {
            self.proto.drain_failed();
            return self.proto.taken_back();
        };
        self.side = Some(back.side);
        if self.proto.body_returned(&back.decoder, back.broken) == Leftover::Drain {
            self.drain(back.decoder).await;
        }
        self.proto.taken_back()
    }

    /// Before answering: if the handler already let go of the body, takes the read side back and
    /// reads the rest of a small body now. A body that turns out to be malformed must get a 400
    /// rather than a success the client could pair with the wrong request (request smuggling):
    /// its error is returned. A body still held (by a task of the handler's) is waited for
    /// after the response.
    async fn settle_body(&mut self, lent: &mut Lent) -> Option<ParseError> {
        let back = lent.rx.as_mut().and_then(|rx| rx.try_recv().ok())?;
        lent.rx = None;
        self.side = Some(back.side);
        match self.proto.body_returned(&back.decoder, back.broken) {
            Leftover::Done | Leftover::Close => None,
            Leftover::Drain => {
                let drain = Box::pin(self.drain(back.decoder));
                drain.await
            }
        }
    }

    /// Sets up the request body: lends the read side to it.
    async fn lend_body(
        &mut self,
        head: &RequestHead,
        decoder: Decoder,
        send_continue: bool,
    ) -> Result<Lent, Next> {
        if send_continue {
            // Sent at once rather than on the first read: simpler, and RFC 9110 10.1.1 allows it.
            self.out.buf.extend_from_slice(http1::response::CONTINUE);
            if self.out.flush().await.is_err() {
                return Err(Next::Abort);
            }
        }
        let Some(side) = self.side.take() else {
            return Err(Next::Abort);
        };
        let (tx, rx) = oneshot::channel();
        let len = head.content_length();
        let wire = crate::body::Wire::new(side, decoder, len, self.config.body_timeout, tx);
        Ok(Lent {
            body: Some(Body::wire(wire)),
            rx: Some(rx),
        })
    }

    /// Reads and discards what the handler left of a body, as far as the state machine allows;
    /// returns the body's error if it turns out malformed.
    async fn drain(&mut self, mut decoder: Decoder) -> Option<ParseError> {
        let Some(side) = self.side.as_mut() else {
            self.proto.drain_failed();
            return None;
        };
        loop {
            match self.proto.drain(&mut decoder, &mut side.buf) {
                Drain::Done | Drain::TooLong => return None,
                Drain::Malformed(e) => return Some(e),
                Drain::NeedMore => {}
            }
            side.buf.reserve(DRAIN_READ_SIZE);
            let read =
                tokio::time::timeout(self.config.body_timeout, side.io.read_buf(&mut side.buf));
            match read.await {
                Ok(Ok(n)) if n > 0 => {}
                _ => {
                    self.proto.drain_failed();
                    return None;
                }
            }
        }
    }

    /// Answers a request the server could not accept, and closes.
    async fn reject(&mut self, status: StatusCode) -> Next {
        let response = Response::error(status);
        let started = Instant::now();
        let (sent, next) = self.write_response(response).await;
        log_entry(
            &self.config,
            self.info.peer,
            None,
            Counted {
                tls: self.info.tls.as_ref().map(|t| t.version),
                ..Counted::default()
            },
            status,
            sent,
            started,
        );
        next
    }

    /// Writes one response as the state machine plans it; returns the bytes of it that went out
    /// after the head (also when it was cut short) and what the connection does next.
    async fn write_response(&mut self, response: Response) -> (u64, Next) {
        let Response {
            status,
            reason,
            headers,
            rendered,
            body,
            ..
        } = response;
        if let ResponseBody::Raw(stream) = body {
            self.proto.respond_raw();
            let start = self.out.position();
            let write = Box::pin(self.out.write_stream(stream, false, None));
            let result = write.await;
            let sent = self.out.position().saturating_sub(start);
            return (sent, self.proto.finish(result.is_ok()));
        }
        let plan = self
            .proto
            .respond(status, body.len(), self.shutdown.is_down());
        encode_head(
            &mut self.out.buf,
            status,
            reason.as_deref(),
            Fields {
                list: &headers,
                rendered: rendered.as_ref(),
            },
            plan.framing,
            &crate::clock::http_date(),
        );
        // What follows the head counts as the body, chunk framing included, as nginx counts
        // `$body_bytes_sent`; bytes still buffered count, as they leave with the next flush.
        let body_start = self.out.position();
        let result = if plan.send_body {
            self.write_body(body, plan.framing.length).await
        } else {
            Ok(())
        };
        let sent = self.out.position().saturating_sub(body_start);
        if let Err(e) = &result {
            tracing::debug!(peer = %self.info.peer, error = %e, "response aborted");
        }
        (sent, self.proto.finish(result.is_ok()))
    }

    /// A small in-memory body is only buffered here: it leaves with the head, by the flush
    /// before the next read. Everything else is written by [`Conn::send_body`], boxed so that
    /// its larger state is allocated only when used.
    async fn write_body(&mut self, body: ResponseBody, length: Length) -> std::io::Result<()> {
        match body {
            ResponseBody::Empty | ResponseBody::Raw(_) => Ok(()),
            ResponseBody::Full(bytes) if self.out.buf.len() + bytes.len() < FLUSH_THRESHOLD => {
                self.out.buf.extend_from_slice(&bytes);
                Ok(())
            }
            body => {
                let send = Box::pin(self.send_body(body, length));
                send.await
            }
        }
    }

    async fn send_body(&mut self, body: ResponseBody, length: Length) -> std::io::Result<()> {
        match body {
            ResponseBody::Empty | ResponseBody::Raw(_) => Ok(()),
            ResponseBody::Full(bytes) => self.out.write_bytes(&bytes).await,
            ResponseBody::File(region) => {
                self.out
                    .send_file(&region.file, region.offset, region.len)
                    .await
            }
            ResponseBody::Stream { stream, len } => self
                .out
                .write_stream(stream, length == Length::Chunked, len)
                .await
                .map(drop),
        }
    }

    /// Ends the connection as [`http1::conn::closing`] decides. Returns whether the socket only
    /// has to be closed: a clean end with nothing unread needs no `shutdown`, as closing the
    /// socket sends the FIN.
    async fn close(&mut self, next: Next) -> bool {
        let unread = self.side.as_ref().is_some_and(|side| !side.buf.is_empty());
        match http1::conn::closing(next, unread, self.side.is_some()) {
            Closing::Close => {
                let _ = self.out.flush().await;
                true
            }
            Closing::Shutdown => {
                self.out.shutdown().await;
                false
            }
            Closing::Linger => {
                self.out.shutdown().await;
                if let Some(side) = self.side.as_mut() {
                    // Boxed: a rare path whose timer and read would otherwise enlarge every
                    // connection.
                    let linger = Box::pin(linger(side));
                    linger.await;
                }
                false
            }
        }
    }
}

/// What the metrics count a request under, beside its status: its method (`None` for a
/// request that did not parse) and the tag of its response.
#[derive(Default, Clone, Copy)]
pub(crate) struct Counted<'a> {
    pub(crate) method: Option<&'a http1::Method>,
    pub(crate) tag: Option<&'a crate::metrics::Tag>,
    /// The TLS version, for the access log.
    pub(crate) tls: Option<&'static str>,
}

/// The one place a finished request is logged and counted, for HTTP/1.1 and HTTP/2 alike;
/// `request` is `None` for a request that did not parse, and names the user the service
/// verified, if any.
pub(crate) fn log_entry(
    config: &HttpConfig,
    peer: SocketAddr,
    request: Option<(&Noted, Option<&RemoteUser>)>,
    counted: Counted<'_>,
    status: StatusCode,
    bytes: u64,
    started: Instant,
) {
    let elapsed = started.elapsed();
    if config.metrics {
        crate::metrics::record_request(counted.tag, counted.method, status.as_u16(), elapsed);
    }
    let Some(log) = &config.access_log else {
        return;
    };
    log.log(&Entry {
        peer,
        request: request.map(|(noted, _)| noted),
        user: request.and_then(|(_, user)| user).map(RemoteUser::name),
        status: status.as_u16(),
        bytes,
        elapsed,
        tls: counted.tls,
    });
}

/// How much room to make in the read buffer for each read while draining a body.
const DRAIN_READ_SIZE: usize = 16 * 1024;

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

impl Wait {
    /// The socket's readiness: readable (data, or EOF to be read), or failed.
    fn readiness(ready: std::io::Result<()>) -> Wait {
        if ready.is_ok() {
            Wait::Ready
        } else {
            Wait::Gone
        }
    }
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
        // Polled by hand rather than with `select!` over `readable()` and `shutdown.wait()`:
        // their futures would be kept in every connection's state, hundreds of bytes that an
        // idle connection pays for; readiness and the timer need no future at all.
        let held = std::future::poll_fn(|cx| {
            if let Poll::Ready(ready) = side.io.poll_readable(cx) {
                return Poll::Ready(Some(Wait::readiness(ready)));
            }
            while timer.as_mut().poll(cx).is_ready() {
                if Instant::now() >= due {
                    return Poll::Ready(None);
                }
                timer.as_mut().reset(due);
            }
            Poll::Pending
        })
        .await;
        if let Some(wait) = held {
            return wait;
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
        let mut down = std::pin::pin!(shutdown.cancelled());
        std::future::poll_fn(|cx| {
            if let Poll::Ready(ready) = side.io.poll_readable(cx) {
                return Poll::Ready(Wait::readiness(ready));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wait::TimedOut);
            }
            if down.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wait::Gone);
            }
            Poll::Pending
        })
        .await
    }
}

/// The body lent to a handler, and how to get the read side back.
struct Lent {
    body: Option<Body>,
    rx: Option<oneshot::Receiver<Returned>>,
}

impl Lent {
    fn none() -> Lent {
        Lent {
            body: None,
            rx: None,
        }
    }

    fn take_body(&mut self) -> Body {
        self.body.take().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Most bytes an HTTP/1.1 connection's future may take: each idle keep-alive connection
    /// holds one, so it decides most of what ten thousand of them cost. It was 1,928 bytes
    /// when the upgrade, metrics and HTTP/2 hand-over had grown it (idle memory 1.19x nginx's);
    /// boxing the rare paths and polling readiness by hand brought it to 664. The task adds
    /// nothing to it since the runtime spawns this future as it is (an `async` block around
    /// it kept the arguments, 120 bytes more, and made each task 1,024 bytes instead of 896).
    const IDLE_FUTURE_BUDGET: usize = 700;

    #[test]
    fn idle_connection_future_stays_small() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let config = Arc::new(HttpConfig::default());
            let service = Arc::new(|_: Request| async { Response::new(StatusCode::OK) });
            let conn = serve_connection(stream, addr, addr, service, config, Shutdown::never());
            let size = std::mem::size_of_val(&conn);
            assert!(
                size <= IDLE_FUTURE_BUDGET,
                "a connection's future is {size} bytes, over {IDLE_FUTURE_BUDGET}"
            );
        });
    }
}
