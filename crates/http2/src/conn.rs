//! The server side of one HTTP/2 connection: bytes in ([`Connection::recv`]), events out
//! ([`Connection::poll_event`]), responses in ([`Connection::send_headers`],
//! [`Connection::send_data`]), bytes out ([`Connection::take_output`]).
//!
//! It keeps the settings of both sides, the flow-control windows of the connection and of
//! every stream (both directions), the stream states of RFC 9113 5.1, and the limits. A
//! connection error queues GOAWAY and ends the connection; a stream error queues RST_STREAM.
//!
//! Idle memory is the design goal: with no open stream and no partial frame the connection
//! holds no buffer at all (the partial frame, the output, the event queue and the stream
//! table are given back as they empty), only the HPACK decoder's table.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::error::{ConnError, Reason};
use crate::flood::FloodMeter;
use crate::frame::{self, HEAD_LEN, Head, flag, kind, setting};
use crate::hpack;
use crate::request::RequestHead;

mod recv;

/// The client connection preface (RFC 9113 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The dynamic table size this side advertises (the initial value, so it is not sent).
pub const HEADER_TABLE_SIZE: usize = 4096;

/// Streams reset by this side that are remembered, so that frames the client sent before it
/// saw the reset are ignored rather than taken for a protocol error.
const REMEMBERED_RESETS: usize = 32;

/// The limits a connection enforces; the server takes them from its named constants.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// SETTINGS_MAX_CONCURRENT_STREAMS; past it a stream is refused (`REFUSED_STREAM`).
    pub max_concurrent_streams: u32,
    /// SETTINGS_MAX_FRAME_SIZE: larger frames are a `FRAME_SIZE_ERROR`.
    pub max_frame_size: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window.
    pub stream_window: u32,
    /// The connection's receive window.
    pub connection_window: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: a larger request head is answered 431.
    pub max_header_list_size: u32,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441).
    pub enable_connect_protocol: bool,
    /// Streams the client may reset before the server took them in; past it, GOAWAY
    /// (`ENHANCE_YOUR_CALM`).
    pub max_pending_resets: usize,
    /// Streams this side may reset for the client's errors; past it, GOAWAY
    /// (`ENHANCE_YOUR_CALM`).
    pub max_local_resets: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_concurrent_streams: 128,
            max_frame_size: frame::DEFAULT_MAX_FRAME_SIZE,
            stream_window: 256 * 1024,
            connection_window: 1024 * 1024,
            max_header_list_size: 64 * 1024,
            enable_connect_protocol: true,
            max_pending_resets: 20,
            max_local_resets: 1024,
        }
    }
}

/// What the client did, for the server to act on.
#[derive(Debug)]
pub enum Event {
    /// A new stream carries a request.
    Request {
        /// Its id.
        stream: u32,
        /// The request's fields.
        head: Box<RequestHead>,
        /// No body follows.
        end_stream: bool,
    },
    /// Body bytes of a stream; give the window back with [`Connection::release`] as they are
    /// consumed.
    Data {
        /// The stream.
        stream: u32,
        /// The bytes (may be empty with `end_stream`).
        data: Bytes,
        /// The body is complete.
        end_stream: bool,
    },
    /// A stream is gone: reset by the client (`remote`), or by this side for a client error
    /// in it (a body longer or shorter than its `Content-Length`, flow control).
    Reset {
        /// The stream.
        stream: u32,
        /// The code sent or received.
        reason: Reason,
        /// The client reset it.
        remote: bool,
    },
    /// The peer's SETTINGS or WINDOW_UPDATE gave send windows room: blocked senders may go on.
    WindowOpened,
}

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Bytes of the client preface still to come.
    Preface(usize),
    /// The preface arrived; the first frame must be SETTINGS.
    FirstSettings,
    /// Frames.
    Open,
    /// A connection error was sent, or the peer's GOAWAY arrived and ended it.
    Closed,
}

/// One stream this side knows open (in one direction at least).
#[derive(Debug)]
struct Stream {
    /// The client may still send (not half-closed remote).
    remote_open: bool,
    /// This side may still send (not half-closed local).
    local_open: bool,
    /// What this side may still send on the stream.
    send_window: i64,
    /// What the client may still send on the stream.
    recv_window: i64,
    /// Consumed by the server, not yet given back.
    released: u32,
    /// `Content-Length`, checked against the DATA (RFC 9113 8.1.1).
    content_length: Option<u64>,
    received: u64,
}

/// A header block waiting for its CONTINUATION frames.
#[derive(Debug)]
struct Pending {
    stream: u32,
    end_stream: bool,
    /// What the block is for once complete.
    target: Target,
    fragments: Vec<u8>,
}

/// What a header block does once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Opens a stream.
    Open,
    /// Trailers of an open stream.
    Trailers,
    /// Decoded only to keep HPACK in step; the stream gets `Reason` (or nothing when `None`).
    Discard(Option<Reason>),
}

/// The server side of one HTTP/2 connection.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    state: State,
    /// The bytes of a frame not yet complete.
    partial: Vec<u8>,
    /// Bytes to send.
    out: Vec<u8>,
    decoder: hpack::Decoder,
    encoder: hpack::Encoder,
    header_block: Option<Box<Pending>>,
    /// The streams, events and resets; `None` while all are empty (see [`Tables`]).
    tables: Option<Box<Tables>>,
    /// The highest stream id the client opened (RFC 9113 5.1.1).
    last_stream: u32,
    /// The peer's SETTINGS_INITIAL_WINDOW_SIZE.
    peer_initial_window: u32,
    /// The peer's SETTINGS_MAX_FRAME_SIZE.
    peer_max_frame: u32,
    send_window: i64,
    recv_window: i64,
    released: u32,
    /// GOAWAY sent with this last stream id: no stream past it is taken.
    goaway_sent: Option<u32>,
    /// The peer sent GOAWAY: it opens no more streams.
    peer_goaway: bool,
    flood: FloodMeter,
    local_resets: usize,
    pending_resets: usize,
}

/// What a connection holds only while it has streams, events for the server, or streams it
/// reset recently: allocated when the first is needed and given back when all are empty, so
/// that an idle connection holds one pointer instead of three empty collections (some 110
/// bytes).
#[derive(Debug, Default)]
struct Tables {
    streams: HashMap<u32, Stream>,
    events: VecDeque<Event>,
    /// Recently reset by this side.
    reset_ids: VecDeque<u32>,
}

impl Tables {
    fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.events.is_empty() && self.reset_ids.is_empty()
    }
}

/// The tables, allocated if they were not.
fn tables(tables: &mut Option<Box<Tables>>) -> &mut Tables {
    tables.get_or_insert_with(Box::default)
}

/// Stream `id`, if this side knows it open.
fn stream(tables: &Option<Box<Tables>>, id: u32) -> Option<&Stream> {
    tables.as_ref()?.streams.get(&id)
}

/// Stream `id`, if this side knows it open.
fn stream_mut(tables: &mut Option<Box<Tables>>, id: u32) -> Option<&mut Stream> {
    tables.as_mut()?.streams.get_mut(&id)
}

impl Connection {
    /// A connection whose preface is still to come; its SETTINGS (and the connection window
    /// beyond the initial 65 535) are queued at once, as RFC 9113 3.4 allows.
    pub fn new(config: Config) -> Connection {
        let mut c = Connection {
            config,
            state: State::Preface(0),
            partial: Vec::new(),
            out: Vec::new(),
            decoder: hpack::Decoder::new(HEADER_TABLE_SIZE),
            encoder: hpack::Encoder::default(),
            header_block: None,
            tables: None,
            last_stream: 0,
            peer_initial_window: frame::DEFAULT_WINDOW,
            peer_max_frame: frame::DEFAULT_MAX_FRAME_SIZE,
            send_window: i64::from(frame::DEFAULT_WINDOW),
            recv_window: i64::from(frame::DEFAULT_WINDOW),
            released: 0,
            goaway_sent: None,
            peer_goaway: false,
            flood: FloodMeter::new(),
            local_resets: 0,
            pending_resets: 0,
        };
        let mut settings = vec![
            (
                setting::MAX_CONCURRENT_STREAMS,
                config.max_concurrent_streams,
            ),
            (setting::INITIAL_WINDOW_SIZE, config.stream_window),
            (setting::MAX_FRAME_SIZE, config.max_frame_size),
            (setting::MAX_HEADER_LIST_SIZE, config.max_header_list_size),
        ];
        if config.enable_connect_protocol {
            settings.push((setting::ENABLE_CONNECT_PROTOCOL, 1));
        }
        frame::settings(&mut c.out, &settings);
        let more = i64::from(config.connection_window) - c.recv_window;
        if more > 0 {
            frame::window_update(&mut c.out, 0, more as u32);
            c.recv_window += more;
        }
        c
    }

    /// Takes the client's next bytes: complete frames are processed at once (their events
    /// queued, their replies written to the output); an incomplete one is kept until the rest
    /// arrives. A connection error has queued GOAWAY; nothing more is read after it.
    pub fn recv(&mut self, data: &[u8]) -> Result<(), ConnError> {
        if self.state == State::Closed {
            return Err(ConnError::new(Reason::NO_ERROR, "connection closed"));
        }
        if self.partial.is_empty() {
            let used = self.process(data)?;
            if used < data.len() {
                self.partial.extend_from_slice(&data[used..]);
            }
        } else {
            let mut buf = std::mem::take(&mut self.partial);
            buf.extend_from_slice(data);
            let used = self.process(&buf)?;
            if used < buf.len() {
                buf.drain(..used);
                self.partial = buf;
            }
        }
        Ok(())
    }

    /// Processes what of `data` makes whole frames; returns how many bytes that was.
    fn process(&mut self, data: &[u8]) -> Result<usize, ConnError> {
        let mut at = 0;
        loop {
            let rest = &data[at..];
            match self.state {
                State::Closed => return Ok(data.len()),
                State::Preface(seen) => {
                    let n = (PREFACE.len() - seen).min(rest.len());
                    if rest[..n] != PREFACE[seen..seen + n] {
                        return Err(self.fail(Reason::PROTOCOL_ERROR, "invalid preface"));
                    }
                    at += n;
                    self.state = if seen + n == PREFACE.len() {
                        State::FirstSettings
                    } else {
                        State::Preface(seen + n)
                    };
                    if rest.len() == n && seen + n < PREFACE.len() {
                        return Ok(at);
                    }
                }
                State::FirstSettings | State::Open => {
                    let Some(head_bytes) = rest.first_chunk::<HEAD_LEN>() else {
                        return Ok(at);
                    };
                    let head = Head::parse(head_bytes);
                    if head.len > self.config.max_frame_size {
                        return Err(self.fail(Reason::FRAME_SIZE_ERROR, "frame too large"));
                    }
                    let end = HEAD_LEN + head.len as usize;
                    if rest.len() < end {
                        return Ok(at);
                    }
                    if self.state == State::FirstSettings {
                        if head.kind != kind::SETTINGS || head.has(flag::ACK) {
                            return Err(self.fail(
                                Reason::PROTOCOL_ERROR,
                                "the preface is not followed by SETTINGS",
                            ));
                        }
                        self.state = State::Open;
                    }
                    if self.flood.frame(head.kind, u64::from(head.len)).is_err() {
                        return Err(self.fail(Reason::ENHANCE_YOUR_CALM, "flood"));
                    }
                    self.frame(head, &rest[HEAD_LEN..end])?;
                    at += end;
                }
            }
        }
    }

    /// One whole frame.
    fn frame(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if let Some(pending) = &self.header_block
            && (head.kind != kind::CONTINUATION || head.stream != pending.stream)
        {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "expected CONTINUATION"));
        }
        match head.kind {
            kind::DATA => self.data(head, payload),
            kind::HEADERS => self.headers(head, payload),
            kind::PRIORITY => self.priority(head, payload),
            kind::RST_STREAM => self.rst_stream(head, payload),
            kind::SETTINGS => self.settings(head, payload),
            kind::PUSH_PROMISE => {
                Err(self.fail(Reason::PROTOCOL_ERROR, "PUSH_PROMISE from a client"))
            }
            kind::PING => self.ping(head, payload),
            kind::GOAWAY => self.goaway(head, payload),
            kind::WINDOW_UPDATE => self.window_update(head, payload),
            kind::CONTINUATION => self.continuation(head, payload),
            // RFC 9113 5.5: unknown types are ignored.
            _ => Ok(()),
        }
    }

    /// The next event, if any. Once none is left the queue's memory is given back.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.tables.as_mut().and_then(|t| t.events.pop_front());
        if event.is_none() {
            self.pending_resets = 0;
            if let Some(t) = self.tables.as_mut()
                && t.events.capacity() > 0
            {
                t.events = VecDeque::new();
            }
            self.tidy();
        }
        event
    }

    /// Queues an event for the server.
    fn push_event(&mut self, event: Event) {
        tables(&mut self.tables).events.push_back(event);
    }

    /// Removes stream `id`; whether this side knew it open.
    fn remove_stream(&mut self, id: u32) -> bool {
        let Some(t) = self.tables.as_mut() else {
            return false;
        };
        let known = t.streams.remove(&id).is_some();
        if t.streams.is_empty() && t.streams.capacity() > 0 {
            t.streams = HashMap::new();
        }
        known
    }

    /// Whether this side reset stream `id` recently.
    fn was_reset(&self, id: u32) -> bool {
        self.tables
            .as_ref()
            .is_some_and(|t| t.reset_ids.contains(&id))
    }

    /// Gives the tables back once they are all empty.
    fn tidy(&mut self) {
        if self.tables.as_ref().is_some_and(|t| t.is_empty()) {
            self.tables = None;
        }
    }

    /// The bytes to send, taken: the connection holds no output buffer afterwards.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Bytes waiting to be taken by [`Connection::take_output`].
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Sends a response head (`:status` and `fields`, names in lower case); `end_stream`
    /// when no body follows. Nothing is sent on a stream that is gone.
    pub fn send_headers<'a>(
        &mut self,
        stream: u32,
        status: u16,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        end_stream: bool,
    ) {
        if !self.can_send(stream) {
            return;
        }
        let mut block = Vec::new();
        self.encoder.begin(&mut block);
        self.encoder.status(status, &mut block);
        for (name, value) in fields {
            self.encoder.field(name, value, &mut block);
        }
        frame::headers(
            &mut self.out,
            stream,
            &block,
            end_stream,
            self.peer_max_frame as usize,
        );
        if end_stream {
            self.close_local(stream);
        }
    }

    /// How many body bytes may go on `stream` now: the smaller of its window and the
    /// connection's; 0 for a stream that is gone.
    pub fn capacity(&self, stream: u32) -> usize {
        let Some(s) = self::stream(&self.tables, stream).filter(|s| s.local_open) else {
            return 0;
        };
        s.send_window.min(self.send_window).max(0) as usize
    }

    /// Whether `stream` is open on this side (it may send).
    pub fn can_send(&self, stream: u32) -> bool {
        self::stream(&self.tables, stream).is_some_and(|s| s.local_open)
    }

    /// Sends body bytes, at most [`Connection::capacity`] of them (the rest is not sent;
    /// returns how many went); `end_stream` ends the stream with the last of them, if all went.
    pub fn send_data(&mut self, stream: u32, data: &[u8], end_stream: bool) -> usize {
        let n = self.capacity(stream).min(data.len());
        if n == 0 && !(data.is_empty() && end_stream && self.can_send(stream)) {
            return 0;
        }
        let end = end_stream && n == data.len();
        if let Some(s) = stream_mut(&mut self.tables, stream) {
            s.send_window -= n as i64;
        }
        self.send_window -= n as i64;
        frame::data(
            &mut self.out,
            stream,
            &data[..n],
            end,
            self.peer_max_frame as usize,
        );
        if end {
            self.close_local(stream);
        }
        n
    }

    /// Gives back `n` bytes of window for body bytes of `stream` the server consumed: a
    /// WINDOW_UPDATE goes out once half a window is owed, for the stream (while the client
    /// may still send on it) and for the connection.
    pub fn release(&mut self, stream: u32, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if let Some(s) = stream_mut(&mut self.tables, stream)
            && s.remote_open
        {
            s.released = s.released.saturating_add(n);
            if s.released >= self.config.stream_window / 2 {
                frame::window_update(&mut self.out, stream, s.released);
                s.recv_window += i64::from(s.released);
                s.released = 0;
            }
        }
        self.give_back(n as usize);
    }

    /// Connection window for bytes that were received and need no reading.
    fn give_back(&mut self, n: usize) {
        self.released = self
            .released
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.released >= self.config.connection_window / 2 {
            frame::window_update(&mut self.out, 0, self.released);
            self.recv_window += i64::from(self.released);
            self.released = 0;
        }
    }

    /// Resets `stream` (RST_STREAM with `reason`) if it is still open: a handler that failed,
    /// a client that did not read in time, or a response complete before its request body
    /// (`NO_ERROR`, RFC 9113 8.1).
    pub fn reset(&mut self, stream: u32, reason: Reason) {
        if self.remove_stream(stream) {
            self.send_reset(stream, reason);
        }
    }

    /// Starts a graceful shutdown: GOAWAY (`NO_ERROR`) with the last stream the client
    /// opened; streams in flight finish, later ones are not taken.
    pub fn go_away(&mut self) {
        if self.goaway_sent.is_none() && self.state != State::Closed {
            frame::goaway(&mut self.out, self.last_stream, Reason::NO_ERROR);
            self.goaway_sent = Some(self.last_stream);
        }
    }

    /// Ends the connection at once: GOAWAY with `reason` (`ENHANCE_YOUR_CALM` for a client
    /// past a bound the server counts itself).
    pub fn abort(&mut self, reason: Reason) {
        let _ = self.fail(reason, "aborted");
    }

    /// Whether GOAWAY went out, or the peer sent one.
    pub fn is_going_away(&self) -> bool {
        self.goaway_sent.is_some() || self.peer_goaway || self.state == State::Closed
    }

    /// Whether the connection ended with a connection error.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The largest frame payload this side may send: the peer's SETTINGS_MAX_FRAME_SIZE
    /// (RFC 9113 6.5.2), 16 KiB until it says otherwise. DATA frames are cut to it.
    pub fn peer_max_frame_size(&self) -> u32 {
        self.peer_max_frame
    }

    /// Streams open in either direction.
    pub fn open_streams(&self) -> usize {
        self.tables.as_ref().map_or(0, |t| t.streams.len())
    }

    /// Whether the preface and the first SETTINGS have arrived.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Open)
    }

    /// Whether a frame is partly read (the connection is not idle).
    pub fn has_partial_frame(&self) -> bool {
        !self.partial.is_empty() || self.header_block.is_some()
    }

    /// Heap bytes held beyond the structure itself, for tests of idle memory: the partial
    /// frame, the output, the event queue, the stream table, the HPACK table, the reset list.
    pub fn held_bytes(&self) -> usize {
        let tables = self.tables.as_ref().map_or(0, |t| {
            std::mem::size_of::<Tables>()
                + t.events.capacity() * std::mem::size_of::<Event>()
                + t.streams.capacity() * std::mem::size_of::<(u32, Stream)>()
                + t.reset_ids.capacity() * 4
        });
        self.partial.capacity()
            + self.out.capacity()
            + self.decoder.table_capacity()
            + self.encoder.table_capacity()
            + tables
    }

    /// Gives back what an idle connection need not hold: the list of recently reset streams
    /// and the HPACK encoder's table (the client's copy is emptied with the next response).
    pub fn shrink(&mut self) {
        if self.open_streams() == 0 {
            if let Some(t) = self.tables.as_mut() {
                t.reset_ids = VecDeque::new();
            }
            self.tidy();
            self.encoder.clear();
        }
    }

    fn close_remote(&mut self, id: u32) {
        if let Some(s) = stream_mut(&mut self.tables, id) {
            s.remote_open = false;
            if !s.local_open {
                self.remove_stream(id);
            }
        }
    }

    fn close_local(&mut self, id: u32) {
        if let Some(s) = stream_mut(&mut self.tables, id) {
            s.local_open = false;
            if !s.remote_open {
                self.remove_stream(id);
            }
        }
    }

    /// A stream error for a client mistake: RST_STREAM, the server told when it knew the
    /// stream, and counted against [`Config::max_local_resets`].
    fn stream_error(&mut self, id: u32, reason: Reason) -> Result<(), ConnError> {
        self.count_local_reset()?;
        if self.remove_stream(id) {
            self.push_event(Event::Reset {
                stream: id,
                reason,
                remote: false,
            });
        }
        self.send_reset(id, reason);
        Ok(())
    }

    fn count_local_reset(&mut self) -> Result<(), ConnError> {
        self.local_resets += 1;
        if self.local_resets > self.config.max_local_resets {
            return Err(self.fail(Reason::ENHANCE_YOUR_CALM, "too many streams in error"));
        }
        Ok(())
    }

    fn send_reset(&mut self, id: u32, reason: Reason) {
        frame::rst_stream(&mut self.out, id, reason);
        let reset_ids = &mut tables(&mut self.tables).reset_ids;
        if reset_ids.len() == REMEMBERED_RESETS {
            reset_ids.pop_front();
        }
        reset_ids.push_back(id);
    }

    /// A connection error: GOAWAY with `reason`, and nothing more is read.
    fn fail(&mut self, reason: Reason, why: &'static str) -> ConnError {
        if self.state != State::Closed {
            frame::goaway(&mut self.out, self.last_stream, reason);
            self.state = State::Closed;
            self.partial = Vec::new();
            self.header_block = None;
        }
        ConnError::new(reason, why)
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
