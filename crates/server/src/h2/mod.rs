//! The HTTP/2 connection driver (RFC 9113), beside the HTTP/1.1 one in `conn`.
//!
//! The sans-IO `http2` crate does the framing, HPACK, flow control and the stream states; this
//! driver reads the socket into it, writes what it produces, sets the limits, turns each
//! stream into the same [`crate::Request`] an HTTP/1.1 connection makes, calls the same
//! [`Service`], and sends its [`crate::Response`] back as HEADERS and DATA frames. Streams of
//! one connection run concurrently on the connection's task (its worker thread), as HTTP/1.1
//! connections do.
//!
//! An idle connection (no stream, no partial frame) holds no read buffer (reads go through a
//! per-thread scratch buffer), no write buffer (given back once the socket took it), no stream
//! table: only the HPACK decoder's dynamic table and the few hundred bytes of its state.
//!
//! # Layout
//! - this file: the limits, the connection loop (reading, accepting streams, writing, the
//!   idle timeout, GOAWAY at shutdown, closing);
//! - `shared`: what the driver shares with its streams (the connection, received body bytes,
//!   wakers);
//! - `stream`: one stream: the request it carries, the response it sends;
//! - `io`: reading through the per-thread scratch buffer, and the outbox writes wait in;
//! - `tunnel`: a stream opened by an extended CONNECT (RFC 8441, WebSocket over HTTP/2) as
//!   the halves of an [`crate::Upgraded`] connection.

mod io;
mod shared;
mod stream;
pub(crate) mod tunnel;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::future::Either;
use futures_util::stream::FuturesUnordered;
use http2::{Connection, Event, Reason, RequestHead};
use tokio::time::Instant;

use crate::transport::{ReadIo, Transport, WriteIo};
use crate::{ConnInfo, HttpConfig, Service, Shutdown};

use self::io::Outbox;
use self::shared::{Core, StreamRef, lock};

/// The first line of the client connection preface as HTTP/1.1's parser takes it off the
/// buffer (`PRI * HTTP/2.0`, CRLF, and the empty line that ends it as a head). The rest of the
/// 24-byte preface, `SM\r\n\r\n`, is still in the buffer, or yet to arrive.
pub(crate) const PREFACE_HEAD: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";

/// Streams a client may have open at once. nginx's `http2_max_concurrent_streams` is 128 too:
/// enough for a page's every asset at once (browsers open about 100), and it bounds what one
/// connection can make the server hold. Past it the stream is refused (`REFUSED_STREAM`),
/// and the client retries it later.
pub const MAX_CONCURRENT_STREAMS: u32 = 128;

/// Largest frame payload the server accepts: the RFC's initial value (16 KiB), which every
/// client sends anyway. nginx advertises more and reads 16 KiB at a time (`http2_chunk_size`
/// is 8 KiB for what it sends); a larger frame is a connection error (`FRAME_SIZE_ERROR`).
pub const MAX_FRAME_SIZE: u32 = 16 * 1024;

/// The per-stream receive window: how much of a request body a client may send before the
/// handler reads it. nginx's `http2_body_preread_size` is 64 KiB; 256 KiB lets an upload fill
/// a faster link while [`CONNECTION_WINDOW`] still bounds the connection as a whole.
pub const STREAM_WINDOW: u32 = 256 * 1024;

/// The connection's receive window: request body bytes buffered for all its streams together,
/// at most. This, not [`MAX_CONCURRENT_STREAMS`] times [`STREAM_WINDOW`], is what one
/// connection can make the server hold of unread uploads.
pub const CONNECTION_WINDOW: u32 = 1024 * 1024;

/// Response bytes read ahead per stream of the client's window: a file is read this much at a
/// time, and a handler's body waits for the client to read past it (nginx bounds it by
/// `http2_chunk_size` and its output buffers): a client that stops reading (a zero window)
/// holds this much per stream, not the whole response. A stream waits at most the write
/// timeout for window before it is reset (`CANCEL`).
pub const SEND_BUFFER: usize = 64 * 1024;

/// Streams a client may reset before the server accepted them. Opening and cancelling streams
/// at once (CVE-2023-44487, "rapid reset") costs the client nothing and the server a handler
/// each; past this many reset in what one read brought, before the driver took them in, the
/// connection ends with GOAWAY (`ENHANCE_YOUR_CALM`). hyper's value; nginx bounds the same
/// thing by counting a connection's streams against `http2_max_concurrent_streams` twice over.
pub const MAX_PENDING_RESETS: usize = 20;

/// Streams the server itself may reset for client errors (malformed headers...) on one
/// connection before it sends GOAWAY (`ENHANCE_YOUR_CALM`): a client that keeps doing it is
/// attacking or broken. hyper's h2 default (its fix for the 2024 CONTINUATION and reset
/// floods).
pub const MAX_LOCAL_RESETS: usize = 1024;

/// Streams a client may cancel (reset before their response) within [`RESET_WINDOW`].
/// [`MAX_PENDING_RESETS`] counts only streams reset before the driver took them in; it takes
/// them in at once, so a client that opens and cancels streams at a steady pace would
/// pass under that count while each stream still starts a handler. Twice the concurrent
/// streams, as nginx's fix for CVE-2023-44487 bounds new streams per read to twice
/// `http2_max_concurrent_streams`; a browser cancels a handful when a page is left. Past it
/// the connection gets GOAWAY (`ENHANCE_YOUR_CALM`).
pub const MAX_CANCELLED_STREAMS: u32 = 2 * MAX_CONCURRENT_STREAMS;

/// The period [`MAX_CANCELLED_STREAMS`] is counted over.
pub const RESET_WINDOW: Duration = Duration::from_secs(10);

/// How long a connection that was sent GOAWAY (idle, shutdown, or a misbehaving client) has
/// to finish closing once its streams are done: its last frames to leave, its FIN, the
/// client's FIN, which a client that stopped reading never lets happen. Past this the
/// connection is dropped, so a stalled client (a zero window, a full socket) holds nothing for
/// longer. nginx bounds the same wait by `lingering_timeout` (5 s) and its send timeout.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Counts a connection's cancelled streams against [`MAX_CANCELLED_STREAMS`].
struct Cancellations {
    since: Instant,
    count: u32,
}

impl Cancellations {
    fn new() -> Cancellations {
        Cancellations {
            since: Instant::now(),
            count: 0,
        }
    }

    /// Counts one; whether the client is now past the bound.
    fn over_after_one_more(&mut self, now: Instant) -> bool {
        if now.duration_since(self.since) > RESET_WINDOW {
            self.since = now;
            self.count = 0;
        }
        self.count += 1;
        self.count > MAX_CANCELLED_STREAMS
    }
}

/// Largest decoded header list: the same bound as an HTTP/1.1 head (`--max-header-size`,
/// 64 KiB by default), so a request does not become acceptable by switching protocol. nginx
/// bounds HTTP/2 headers by `large_client_header_buffers` (4 × 8 KiB) per field and 32 KiB in
/// all; a larger list is answered 431. It also bounds what an HPACK bomb can
/// make the decoder produce, whatever the compressed size.
fn header_list_size(config: &HttpConfig) -> u32 {
    u32::try_from(config.limits.max_head_size).unwrap_or(u32::MAX)
}

/// How long a connection may stay without streams before it gets GOAWAY: the keep-alive idle
/// timeout (`--idle-timeout`, 15 s by default), as for an HTTP/1.1 connection between
/// requests. nginx's `keepalive_timeout` (75 s) governs its HTTP/2 connections the same way;
/// ours is shorter, as for HTTP/1.1.
fn idle_timeout(config: &HttpConfig) -> Duration {
    config.idle_timeout
}

/// How long a connection stays without streams before it gives back what only a busy one
/// needs: the HPACK encoder's table (a response's fields, some 300 bytes), which makes every
/// response after the first a few bytes of header block. Kept through the short gaps between a
/// page's requests or a load generator's batches, dropped when the connection goes quiet:
/// thousands of idle connections hold none.
pub const SHRINK_AFTER: Duration = Duration::from_millis(500);

/// How long a connection has to send its preface and SETTINGS: the head timeout, as an
/// HTTP/1.1 client has for its first request head.
fn handshake_timeout(config: &HttpConfig) -> Duration {
    config.head_timeout
}

/// The sans-IO connection's settings from the named limits and `config`.
fn settings(config: &HttpConfig) -> http2::Config {
    http2::Config {
        max_concurrent_streams: MAX_CONCURRENT_STREAMS,
        max_frame_size: MAX_FRAME_SIZE,
        stream_window: STREAM_WINDOW,
        connection_window: CONNECTION_WINDOW,
        max_header_list_size: header_list_size(config),
        // SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3): browsers then open WebSockets as
        // streams of the connection they have, as with Caddy (Go) and hyper servers.
        enable_connect_protocol: true,
        max_pending_resets: MAX_PENDING_RESETS,
        max_local_resets: MAX_LOCAL_RESETS,
    }
}

/// Serves an HTTP/2 connection over `stream`, a TLS session whose ALPN settled on `h2`, until
/// it closes. A plain function returning the connection's future (as
/// [`crate::conn::serve_connection`] is): its arguments are spent building the driver, not
/// kept in the future for the connection's life. The service and the configuration are
/// `Arc`s, so the future can be a task of its own.
pub(crate) fn serve_connection<S: Service>(
    stream: impl Transport,
    peer: SocketAddr,
    local: SocketAddr,
    service: Arc<S>,
    config: Arc<HttpConfig>,
    shutdown: Shutdown,
) -> impl Future<Output = ()> + Send + 'static {
    let info = ConnInfo {
        peer,
        local,
        tls: stream.tls_info(),
    };
    let (rd, wr) = stream.split();
    let driver = Driver::new(rd, wr, Bytes::new(), info, &config);
    drive(driver, service, config, shutdown)
}

/// A connection the HTTP/1.1 reader found to begin with the HTTP/2 preface (h2c with prior
/// knowledge): what it hands over when its own future ends. The future [`Handover::serve`]
/// makes of it runs in a new task, so an HTTP/2 connection holds a task sized for its own
/// driver rather than the HTTP/1.1 task it began in, which would otherwise stay (about 1 KiB)
/// for the connection's life.
pub(crate) struct Handover {
    pub(crate) rd: ReadIo,
    pub(crate) wr: WriteIo,
    /// What was read from the connection already, the preface's first line included.
    pub(crate) read_ahead: Bytes,
    pub(crate) info: ConnInfo,
    pub(crate) shutdown: Shutdown,
}

impl Handover {
    /// Serves the connection as HTTP/2 until it closes. A TLS session gets here only when its
    /// ALPN said `http/1.1` (or nothing): HTTP/2 over TLS is chosen by ALPN (RFC 9113 3.2),
    /// so a preface inside it closes the connection.
    pub(crate) fn serve<S: Service>(
        self,
        service: Arc<S>,
        config: Arc<HttpConfig>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let Handover {
            rd,
            wr,
            read_ahead,
            info,
            shutdown,
        } = self;
        if info.tls.is_some() {
            tracing::debug!(peer = %info.peer, "HTTP/2 preface in a TLS session negotiated for http/1.1");
            return Either::Left(std::future::ready(()));
        }
        let driver = Driver::new(rd, wr, read_ahead, info, &config);
        Either::Right(drive(driver, service, config, shutdown))
    }
}

/// What a pass of the driver tells the loop around it.
enum Turn {
    /// The last stream finished: the idle timeout starts.
    Idle,
    /// The connection is over.
    Closed,
}

/// Runs the connection until it ends: the client closes it, it stays without streams for the
/// idle timeout (GOAWAY), the server shuts down (GOAWAY, then the streams in flight finish),
/// or a connection error (GOAWAY with its code).
///
/// A plain function returning an `async move` block rather than an `async fn`: an `async fn`
/// keeps its arguments twice (as passed, and as the bindings its body uses), which was 112
/// bytes of every connection's task, enough to take it to the next 128-byte step.
#[allow(clippy::manual_async_fn)] // An `async fn` would keep its arguments twice (see above).
fn drive<S: Service>(
    mut d: Driver,
    service: Arc<S>,
    config: Arc<HttpConfig>,
    shutdown: Shutdown,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        let mut streams = Streams::default();
        // Boxed: `FuturesUnordered` keeps a stub task the size of its future type for the
        // connection's life, which for a stream's whole future (the service's call in it) is
        // kilobytes that an idle connection would hold.
        let mut open = |stream: StreamRef, head: Box<RequestHead>, end: bool, info: &ConnInfo| {
            Box::pin(stream::serve(
                stream,
                head,
                end,
                info.clone(),
                &*service,
                &config,
                Instant::now(),
            ))
        };
        // One timer for three deadlines, one at a time: the handshake's until the preface and
        // SETTINGS arrived, then the idle timeout while there is no stream, then, once the
        // connection is going away with no stream left, the time it has to close.
        let timer = tokio::time::sleep(handshake_timeout(&config));
        tokio::pin!(timer);
        let mut closing = false;
        // Whether the connection, without streams, has given back what only a busy one needs.
        let mut shrunk = true;
        loop {
            let quiet = streams.is_empty() && d.going_away();
            if quiet && !closing {
                timer.as_mut().reset(Instant::now() + PING_TIMEOUT);
            }
            closing = quiet;
            let armed = streams.is_empty();
            let listening = !d.going_away();
            tokio::select! {
                biased;
                turn = std::future::poll_fn(|cx| d.poll_pass(cx, &mut streams, &mut open)) => match turn {
                    Turn::Closed => return,
                    Turn::Idle => {
                        timer.as_mut().reset(Instant::now() + SHRINK_AFTER.min(idle_timeout(&config)));
                        shrunk = false;
                    }
                },
                () = &mut timer, if armed => {
                    if closing {
                        tracing::debug!(peer = %d.peer(), "HTTP/2 connection did not close after GOAWAY; dropped");
                        return;
                    }
                    if !d.established() {
                        tracing::debug!(peer = %d.peer(), "HTTP/2 handshake timed out");
                        return;
                    }
                    if !shrunk {
                        d.shrink();
                        shrunk = true;
                        let rest = idle_timeout(&config).saturating_sub(SHRINK_AFTER);
                        timer.as_mut().reset(Instant::now() + rest);
                        continue;
                    }
                    // RFC 9113 9.1: a server closes an idle connection with GOAWAY.
                    d.go_away();
                }
                () = shutdown.cancelled(), if listening => {
                    // GOAWAY with the last stream id; the streams in flight finish.
                    d.go_away();
                }
            }
        }
    }
}

/// Where the end of the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fin {
    /// Not begun.
    No,
    /// Sending what is left, then FIN.
    Sending,
    /// FIN sent; reading until the client's.
    Sent,
}

/// The streams' tasks, run on the connection's task. The set exists only while there are
/// streams: even empty, a `FuturesUnordered` holds two allocations, which an idle connection
/// need not.
struct Streams<F> {
    set: Option<FuturesUnordered<F>>,
}

impl<F> Default for Streams<F> {
    fn default() -> Streams<F> {
        Streams { set: None }
    }
}

impl<F: Future> Streams<F> {
    fn is_empty(&self) -> bool {
        self.set.as_ref().is_none_or(FuturesUnordered::is_empty)
    }

    fn push(&mut self, stream: F) {
        self.set
            .get_or_insert_with(FuturesUnordered::new)
            .push(stream);
    }

    /// The next stream to finish; `Pending` (never `None`) when none has.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>>
    where
        F: Unpin,
    {
        let Some(set) = self.set.as_mut() else {
            return Poll::Pending;
        };
        match set.poll_next_unpin(cx) {
            Poll::Ready(Some(out)) => {
                if set.is_empty() {
                    self.set = None;
                }
                Poll::Ready(Some(out))
            }
            Poll::Ready(None) => {
                self.set = None;
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Reads (of up to 16 KiB) one pass makes before it lets the worker's other connections run.
const MAX_READS_PER_PASS: usize = 16;

/// The connection's state beside the streams.
struct Driver {
    core: Arc<Mutex<Core>>,
    rd: ReadIo,
    out: Outbox,
    /// The client closed its side.
    eof: bool,
    /// The preface and SETTINGS arrived (as the driver last saw).
    established: bool,
    fin: Fin,
    /// From the first stream the client cancels on: most connections never cancel one.
    cancelled: Option<Box<Cancellations>>,
}

impl Driver {
    /// The driver of a connection whose first bytes, `read_ahead`, are read already. Not in
    /// `drive` itself: the connection's state would take room in its future for good.
    fn new(
        rd: ReadIo,
        wr: WriteIo,
        read_ahead: Bytes,
        info: ConnInfo,
        config: &HttpConfig,
    ) -> Driver {
        let mut conn = Connection::new(settings(config));
        if let Err(e) = conn.recv(&read_ahead) {
            tracing::debug!(peer = %info.peer, error = %e, "HTTP/2 connection error");
        }
        Driver {
            core: Arc::new(Mutex::new(Core::new(conn, info))),
            rd,
            out: Outbox::new(wr),
            eof: false,
            established: false,
            fin: Fin::No,
            cancelled: None,
        }
    }

    /// The client's address, for the log.
    fn peer(&self) -> SocketAddr {
        lock(&self.core).info.peer
    }

    fn going_away(&self) -> bool {
        lock(&self.core).conn.is_going_away()
    }

    fn established(&self) -> bool {
        self.established || lock(&self.core).conn.is_established()
    }

    /// Gives back what an idle connection need not hold (the HPACK encoder's table...).
    fn shrink(&mut self) {
        lock(&self.core).conn.shrink();
    }

    /// Graceful GOAWAY; the pass that follows sends it.
    fn go_away(&mut self) {
        lock(&self.core).conn.go_away();
    }

    /// One pass: reads what the socket has into the connection, starts the streams it opened,
    /// hands their body bytes and resets over, runs every stream that can make progress, and
    /// writes what all that produced, over and over while anything moves. Every response a
    /// pass finishes leaves in one write.
    fn poll_pass<F>(
        &mut self,
        cx: &mut Context<'_>,
        streams: &mut Streams<F>,
        open: &mut impl FnMut(StreamRef, Box<RequestHead>, bool, &ConnInfo) -> F,
    ) -> Poll<Turn>
    where
        F: Future<Output = (u32, stream::Outcome)> + Unpin,
    {
        lock(&self.core).set_driver(cx.waker());
        // Whether the pass had streams, even ones that began and ended within it.
        let mut was_busy = !streams.is_empty();
        let mut reads = 0;
        loop {
            let mut progress = false;
            reads += 1;
            if reads > MAX_READS_PER_PASS {
                // Fair to the other connections of this worker: the rest on the next pass.
                cx.waker().wake_by_ref();
                break;
            }
            match self.read(cx) {
                Ok(read) => progress |= read,
                Err(e) => {
                    tracing::debug!(peer = %self.peer(), error = %e, "HTTP/2 connection read failed");
                    return Poll::Ready(Turn::Closed);
                }
            }
            progress |= self.dispatch(streams, open);
            was_busy |= !streams.is_empty();
            while let Poll::Ready(Some((id, outcome))) = streams.poll_next(cx) {
                progress = true;
                self.finished(id, outcome);
            }
            match self.write(cx) {
                Ok(wrote) => progress |= wrote,
                Err(_) => return Poll::Ready(Turn::Closed),
            }
            if !progress {
                break;
            }
        }
        if self.poll_close(cx, streams.is_empty()) {
            return Poll::Ready(Turn::Closed);
        }
        if was_busy && streams.is_empty() {
            return Poll::Ready(Turn::Idle);
        }
        if !self.established && lock(&self.core).conn.is_established() {
            // The handshake is over: from now on the idle timeout.
            self.established = true;
            return Poll::Ready(Turn::Idle);
        }
        Poll::Pending
    }

    /// Reads what the socket has, unless the output is backed up (a client that does not
    /// read gets no more of its frames processed) or the connection is over; registers for
    /// readiness when there is nothing. Whether anything came.
    fn read(&mut self, cx: &mut Context<'_>) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        {
            let core = lock(&self.core);
            // Past a connection error nothing the client sends matters, not even its FIN:
            // the connection closes once its GOAWAY is out. Reading on while that waits for
            // the client to take the replies queued before it would let a flood go on being
            // read (and thrown away) for as long as that takes.
            if !core.has_room() || core.conn.is_closed() {
                return Ok(false);
            }
        }
        let got = io::read(&self.rd, |bytes| {
            if self.fin == Fin::Sent {
                // Past our FIN: read only to see the client's.
                return;
            }
            let mut core = lock(&self.core);
            if let Err(e) = core.conn.recv(bytes) {
                tracing::debug!(peer = %core.info.peer, error = %e, "HTTP/2 connection error");
            }
        })?;
        match got {
            io::Read::Some => Ok(true),
            io::Read::Eof => {
                self.eof = true;
                Ok(true)
            }
            io::Read::WouldBlock => match self.rd.poll_readable(cx) {
                Poll::Ready(Ok(())) => Ok(true),
                Poll::Ready(Err(e)) => Err(e),
                Poll::Pending => Ok(false),
            },
        }
    }

    /// Hands the connection's events to the streams; whether there were any.
    fn dispatch<F>(
        &mut self,
        streams: &mut Streams<F>,
        open: &mut impl FnMut(StreamRef, Box<RequestHead>, bool, &ConnInfo) -> F,
    ) -> bool
    where
        F: Future,
    {
        let mut core = lock(&self.core);
        let mut any = false;
        while let Some(event) = core.conn.poll_event() {
            any = true;
            match event {
                Event::Request {
                    stream,
                    head,
                    end_stream,
                } => {
                    core.open(stream, end_stream);
                    let handle = StreamRef::new(self.core.clone(), stream);
                    streams.push(open(handle, head, end_stream, &core.info));
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => core.data(stream, data, end_stream),
                Event::Reset {
                    stream,
                    reason,
                    remote,
                } => core.reset(stream, reason, remote),
                Event::WindowOpened => core.window_opened(),
            }
        }
        any
    }

    /// A stream's task ended.
    fn finished(&mut self, id: u32, outcome: stream::Outcome) {
        let mut core = lock(&self.core);
        core.finish(id);
        if outcome == stream::Outcome::Cancelled
            && !core.conn.is_going_away()
            && self
                .cancelled
                .get_or_insert_with(|| Box::new(Cancellations::new()))
                .over_after_one_more(Instant::now())
        {
            tracing::debug!(peer = %core.info.peer, "too many cancelled streams; GOAWAY");
            core.conn.abort(Reason::ENHANCE_YOUR_CALM);
        }
    }

    /// Sends what the connection produced; whether the socket took anything.
    fn write(&mut self, cx: &mut Context<'_>) -> std::io::Result<bool> {
        let before = {
            let mut core = lock(&self.core);
            if core.conn.output_len() > 0 {
                self.out.push(core.conn.take_output());
            }
            self.out.len()
        };
        if before == 0 {
            return Ok(false);
        }
        let sent = match self.out.poll_send(cx) {
            Poll::Ready(Err(e)) => return Err(e),
            _ => before - self.out.len(),
        };
        let mut core = lock(&self.core);
        core.unsent = self.out.len();
        core.drained();
        Ok(sent > 0)
    }

    /// Ends the connection once there is nothing more to do on it: after a connection error,
    /// or GOAWAY with no stream left, or the client's FIN with no stream left, what is left
    /// goes out, then FIN, then the client's FIN is awaited (the loop around bounds that by
    /// [`PING_TIMEOUT`]). Whether the connection is over.
    fn poll_close(&mut self, cx: &mut Context<'_>, no_streams: bool) -> bool {
        if self.fin == Fin::No {
            let core = lock(&self.core);
            let over =
                core.conn.is_closed() || (no_streams && (core.conn.is_going_away() || self.eof));
            if !over {
                return false;
            }
            drop(core);
            self.fin = Fin::Sending;
        }
        if self.fin == Fin::Sending {
            match self.out.poll_shutdown(cx) {
                Poll::Pending => return false,
                Poll::Ready(Err(_)) => return true,
                Poll::Ready(Ok(())) => self.fin = Fin::Sent,
            }
        }
        if self.eof || lock(&self.core).conn.is_closed() {
            // After a connection error nothing the client sends matters: closed at once, so
            // a flood ends in a reset rather than in reads.
            return true;
        }
        // Read on until the client's FIN, so that what it sent meanwhile does not turn the
        // close into a reset that could destroy the GOAWAY before the client reads it.
        for _ in 0..MAX_READS_PER_PASS {
            match self.read(cx) {
                Ok(true) if !self.eof => continue,
                Ok(_) => return self.eof,
                Err(_) => return true,
            }
        }
        cx.waker().wake_by_ref();
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response};
    use http1::StatusCode;

    /// Most bytes an HTTP/2 connection's future may take: the task of every idle connection
    /// holds one, in a block whose size goes by steps of 128 bytes (tokio aligns tasks to
    /// 128, and adds 128 bytes of its own). 408 since `drive` stopped keeping its arguments
    /// twice (a task of 640 bytes); it was 520 (768), and before h2c connections had a task
    /// of their own, the HTTP/1.1 task they began in (about 900 bytes) stayed beside their
    /// own future (790, boxed). The `h2` crate's connection held some 30 KiB of buffers.
    const IDLE_FUTURE_BUDGET: usize = 440;

    /// Most bytes of the state shared with the streams (one allocation per connection, with
    /// the `Arc`'s 16 bytes of counts: 448, one of jemalloc's size classes). It was 640 when
    /// the stream tables took room while empty, 464 while the flood meter kept a frame
    /// reader no caller used; now 432, the connection's addresses (72) included.
    const CORE_BUDGET: usize = 432;

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
            let (rd, wr) = stream.split();
            let config = Arc::new(HttpConfig::default());
            let service = Arc::new(|_: Request| async { Response::new(StatusCode::OK) });
            let info = ConnInfo {
                peer: addr,
                local: addr,
                tls: None,
            };
            // As the runtime spawns it: the h2c hand-over with the service and config shared.
            let handover = Handover {
                rd,
                wr,
                read_ahead: Bytes::new(),
                info,
                shutdown: Shutdown::never(),
            };
            let conn = handover.serve(service, config);
            let size = std::mem::size_of_val(&conn);
            assert!(
                size <= IDLE_FUTURE_BUDGET,
                "an HTTP/2 connection's future is {size} bytes, over {IDLE_FUTURE_BUDGET}"
            );
            let core = std::mem::size_of::<Mutex<Core>>();
            assert!(
                core <= CORE_BUDGET,
                "the shared state is {core} bytes, over {CORE_BUDGET}"
            );
        });
    }

    #[test]
    fn an_idle_connection_holds_only_the_hpack_table() {
        let mut conn = Connection::new(settings(&HttpConfig::default()));
        let mut wire = http2::PREFACE.to_vec();
        wire.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        // GET / with one field added to the HPACK table (as browsers add `user-agent`).
        let block = [
            0x82, 0x86, 0x84, 0x41, 0x01, b'a', 0x40, 0x01, b'x', 0x01, b'y',
        ];
        wire.extend_from_slice(&[0, 0, block.len() as u8, 1, 5, 0, 0, 0, 1]);
        wire.extend_from_slice(&block);
        conn.recv(&wire).expect("request");
        while conn.poll_event().is_some() {}
        let fields = http::HeaderMap::new();
        let none = fields
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        conn.send_headers(1, 204, none, true);
        drop(conn.take_output());
        conn.shrink();
        assert_eq!(conn.open_streams(), 0);
        assert!(conn.held_bytes() <= 64, "{} bytes held", conn.held_bytes());
    }
}
