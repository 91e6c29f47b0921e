//! The HTTP/2 connection driver (RFC 9113), beside the HTTP/1.1 one in `conn`.
//!
//! The h2 crate does the framing, HPACK and flow control; this driver sets the limits, turns
//! each stream into the same [`crate::Request`] an HTTP/1.1 connection makes, calls the same
//! [`Service`], and sends its [`crate::Response`] back as HEADERS and DATA frames. Streams of
//! one connection run concurrently on the connection's task (its worker thread), as HTTP/1.1
//! connections do.
//!
//! # Layout
//! - this file: the limits, the connection loop (accepting streams, the idle timeout, GOAWAY
//!   at shutdown);
//! - `stream`: one stream: the request it carries, the response it sends;
//! - `io`: a transport's halves as the byte stream the h2 crate reads and writes;
//! - `flood`: the count of frames without request payload (PING, SETTINGS, empty frames...);
//! - `tunnel`: a stream opened by an extended CONNECT (RFC 8441, WebSocket over HTTP/2) as
//!   the halves of an [`crate::Upgraded`] connection.

mod flood;
mod io;
mod stream;
pub(crate) mod tunnel;

use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use h2::server::Connection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::transport::{ReadIo, Transport, WriteIo};
use crate::{ConnInfo, HttpConfig, Service, Shutdown};

use self::io::H2Io;

/// The first line of the client connection preface as HTTP/1.1's parser takes it off the
/// buffer (`PRI * HTTP/2.0`, CRLF, and the empty line that ends it as a head). The rest of the
/// 24-byte preface, `SM\r\n\r\n`, is still in the buffer, or yet to arrive.
pub(crate) const PREFACE_HEAD: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";

/// Streams a client may have open at once. nginx's `http2_max_concurrent_streams` is 128 too:
/// enough for a page's every asset at once (browsers open about 100), and it bounds what one
/// connection can make the server hold. Past it the h2 crate refuses the stream
/// (`REFUSED_STREAM`), and the client retries it later.
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

/// Response bytes buffered per stream ahead of the client's window. Past it a handler's body
/// waits for the client to read (nginx bounds it by `http2_chunk_size` and its output buffers):
/// a client that stops reading (a zero window) holds this much per stream, not the whole
/// response. A stream waits at most the write timeout for window before it is reset.
pub const SEND_BUFFER: usize = 64 * 1024;

/// Streams a client may reset before the server accepted them. Opening and cancelling streams
/// at once (CVE-2023-44487, "rapid reset") costs the client nothing and the server a handler
/// each; past this many outstanding the h2 crate ends the connection with GOAWAY
/// (`ENHANCE_YOUR_CALM`). hyper's value; nginx bounds the same thing by counting a
/// connection's streams against `http2_max_concurrent_streams` twice over.
pub const MAX_PENDING_RESETS: usize = 20;

/// Streams the server itself may reset for client errors (malformed headers...) on one
/// connection before it sends GOAWAY: a client that keeps doing it is attacking or broken. The
/// h2 crate's default (its fix for the 2024 CONTINUATION and reset floods).
pub const MAX_LOCAL_RESETS: usize = 1024;

/// Streams a client may cancel (reset before their response) within [`RESET_WINDOW`]. The
/// h2 crate counts only streams reset before they were accepted ([`MAX_PENDING_RESETS`]); this
/// driver accepts at once, so a client that opens and cancels streams at a steady pace would
/// pass under that count while each stream still starts a handler. Twice the concurrent
/// streams, as nginx's fix for CVE-2023-44487 bounds new streams per read to twice
/// `http2_max_concurrent_streams`; a browser cancels a handful when a page is left. Past it
/// the connection gets GOAWAY (`ENHANCE_YOUR_CALM`).
pub const MAX_CANCELLED_STREAMS: u32 = 2 * MAX_CONCURRENT_STREAMS;

/// The period [`MAX_CANCELLED_STREAMS`] is counted over.
pub const RESET_WINDOW: Duration = Duration::from_secs(10);

/// How long a connection that was sent GOAWAY (idle, shutdown, or a misbehaving client) has
/// to finish closing: the h2 crate follows a graceful GOAWAY with a PING and closes once it is
/// answered, which a client that stopped reading never does. Past this the connection is
/// dropped, so a stalled client (a zero window, a full socket) holds nothing for longer. nginx
/// bounds the same wait by `lingering_timeout` (5 s) and its send timeout.
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
/// all; a larger list is answered 431 by the h2 crate. It also bounds what an HPACK bomb can
/// make the decoder produce, whatever the compressed size.
fn header_list_size(config: &HttpConfig) -> u32 {
    u32::try_from(config.limits.max_head_size).unwrap_or(u32::MAX)
}

/// How long a connection may stay without streams before it gets GOAWAY: the keep-alive idle
/// timeout (`--idle-timeout`, 15 s by default), as for an HTTP/1.1 connection between
/// requests. nginx's `keepalive_timeout` (75 s) governs its HTTP/2 connections the same way;
/// ours is shorter because an idle connection holds the h2 crate's buffers and HPACK tables.
fn idle_timeout(config: &HttpConfig) -> Duration {
    config.idle_timeout
}

/// How long a connection has to send its preface and SETTINGS: the head timeout, as an
/// HTTP/1.1 client has for its first request head.
fn handshake_timeout(config: &HttpConfig) -> Duration {
    config.head_timeout
}

/// Serves an HTTP/2 connection over `stream`, a TLS session whose ALPN settled on `h2`, until
/// it closes.
pub(crate) async fn serve_connection<S: Service>(
    stream: impl Transport,
    peer: SocketAddr,
    local: SocketAddr,
    service: &S,
    config: &HttpConfig,
    shutdown: Shutdown,
) {
    let info = ConnInfo {
        peer,
        local,
        tls: stream.tls_info(),
    };
    let (rd, wr) = stream.split();
    let (io, out) = H2Io::new(rd, wr, Bytes::new());
    io::Flushing::new(serve_io(io, info, service, config, shutdown), out).await;
}

/// Serves an HTTP/2 connection over a transport's halves, after the bytes `read_ahead` that
/// were read from it already: h2c with prior knowledge, recognised by the HTTP/1.1 reader. A
/// TLS session gets there only when its ALPN said `http/1.1` (or nothing): HTTP/2 over TLS is
/// chosen by ALPN (RFC 9113 3.2), so a preface inside it closes the connection.
pub(crate) async fn serve_halves<S: Service>(
    rd: ReadIo,
    wr: WriteIo,
    read_ahead: Bytes,
    info: ConnInfo,
    service: &S,
    config: &HttpConfig,
    shutdown: Shutdown,
) {
    if info.tls.is_some() {
        tracing::debug!(peer = %info.peer, "HTTP/2 preface in a TLS session negotiated for http/1.1");
        return;
    }
    let (io, out) = H2Io::new(rd, wr, read_ahead);
    io::Flushing::new(serve_io(io, info, service, config, shutdown), out).await;
}

/// Serves an HTTP/2 connection over a transport until it closes; its writes leave when
/// [`io::Flushing`] around this future sends them.
async fn serve_io<S: Service>(
    io: H2Io,
    info: ConnInfo,
    service: &S,
    config: &HttpConfig,
    shutdown: Shutdown,
) {
    let handshake = builder(config).handshake::<_, Bytes>(io);
    let conn = match tokio::time::timeout(handshake_timeout(config), handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            tracing::debug!(peer = %info.peer, error = %e, "HTTP/2 handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(peer = %info.peer, "HTTP/2 handshake timed out");
            return;
        }
    };
    let peer = info.peer;
    if let Err(e) = drive(conn, info, service, config, shutdown).await {
        tracing::debug!(%peer, error = %e, "HTTP/2 connection ended with an error");
    }
}

/// The h2 crate's settings from the named limits and `config`.
fn builder(config: &HttpConfig) -> h2::server::Builder {
    let mut b = h2::server::Builder::new();
    b.max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_frame_size(MAX_FRAME_SIZE)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_header_list_size(header_list_size(config))
        .max_send_buffer_size(SEND_BUFFER)
        .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
        .max_local_error_reset_streams(Some(MAX_LOCAL_RESETS))
        // SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3): browsers then open WebSockets as
        // streams of the connection they have, as with Caddy (Go) and hyper servers.
        .enable_connect_protocol();
    b
}

/// Accepts streams and runs them until the connection ends: the client closes it, it stays
/// without streams for the idle timeout, or the server shuts down (GOAWAY, then the streams in
/// flight finish).
///
/// Every poll of the h2 crate's connection also writes out what the streams queued, so the
/// loop takes in every stream that is ready and runs every stream that can finish before it
/// polls the connection again: a hundred responses finished together leave in one write
/// instead of one write each.
async fn drive<S: Service, T: AsyncRead + AsyncWrite + Unpin>(
    mut conn: Connection<T, Bytes>,
    info: ConnInfo,
    service: &S,
    config: &HttpConfig,
    mut shutdown: Shutdown,
) -> Result<(), h2::Error> {
    let mut streams = FuturesUnordered::new();
    let idle = tokio::time::sleep(idle_timeout(config));
    tokio::pin!(idle);
    let mut going_away = false;
    // Runs from the moment the connection has gone away and has no streams left.
    let closing = tokio::time::sleep(PING_TIMEOUT);
    tokio::pin!(closing);
    let mut closing_armed = false;
    let mut cancelled = Cancellations::new();
    loop {
        let quiet = going_away && streams.is_empty();
        if quiet && !closing_armed {
            closing.as_mut().reset(Instant::now() + PING_TIMEOUT);
        }
        closing_armed = quiet;
        tokio::select! {
            // Streams first, so that what they queue goes out with the next connection poll.
            biased;
            Some(outcome) = streams.next(), if !streams.is_empty() => {
                let mut outcomes = vec![outcome];
                // Whatever else has finished, with this task's own context (so every stream
                // that is not ready is registered to wake it).
                std::future::poll_fn(|cx| {
                    while let Poll::Ready(Some(outcome)) = streams.poll_next_unpin(cx) {
                        outcomes.push(outcome);
                    }
                    Poll::Ready(())
                })
                .await;
                for outcome in outcomes {
                    if outcome == stream::Outcome::Cancelled
                        && !going_away
                        && cancelled.over_after_one_more(Instant::now())
                    {
                        tracing::debug!(peer = %info.peer, "too many cancelled streams; GOAWAY");
                        conn.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
                        going_away = true;
                    }
                }
                if streams.is_empty() {
                    idle.as_mut().reset(Instant::now() + idle_timeout(config));
                }
            }
            accepted = conn.accept() => {
                let mut accepted = accepted;
                // Every stream whose HEADERS arrived with this one, before any of them runs.
                loop {
                    match accepted {
                        Some(Ok((request, respond))) => {
                            let started = Instant::now();
                            streams.push(stream::serve(
                                request,
                                respond,
                                info.clone(),
                                service,
                                config,
                                started,
                            ));
                        }
                        Some(Err(e)) => return Err(e),
                        None => return Ok(()),
                    }
                    match std::future::poll_fn(|cx| Poll::Ready(conn.poll_accept(cx))).await {
                        Poll::Ready(next) => accepted = next,
                        Poll::Pending => break,
                    }
                }
            }
            () = &mut idle, if streams.is_empty() && !going_away => {
                // RFC 9113 9.1: a server closes an idle connection with GOAWAY.
                conn.graceful_shutdown();
                going_away = true;
            }
            () = &mut closing, if closing_armed => {
                tracing::debug!(peer = %info.peer, "HTTP/2 connection did not close after GOAWAY; dropped");
                return Ok(());
            }
            () = shutdown.wait(), if !going_away => {
                // GOAWAY with the last stream id; `accept` ends once the streams in flight have.
                conn.graceful_shutdown();
                going_away = true;
            }
        }
    }
}
