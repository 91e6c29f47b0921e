//! The server side of an HTTP/1.1 connection as a state machine: bytes and the time in,
//! decisions out. No socket, no clock, no runtime.
//!
//! The driver (the server's `conn.rs`) owns the socket and the timers. It asks this machine
//! what to do at each step and does it:
//!
//! 1. [`Connection::poll_head`] over the read buffer: a [`Step::Request`] to hand to the service
//!    (with whether to send `100 Continue` first and the body's [`Decoder`]), a [`Step::Reject`]
//!    to answer and close, or [`Step::NeedMore`]; then [`Connection::wait`] says until when to wait
//!    for more bytes, and [`Connection::timed_out`] what a passed deadline means.
//! 2. [`Connection::respond`] turns a response's status and length into the [`Plan`] for its
//!    head: framing, `Connection: close`, whether the body is sent at all (HEAD, 1xx, 204, 304).
//! 3. [`Connection::body_returned`] and [`Connection::drain`] decide what happens to a body the
//!    service did not read to its end: drain a little of it, or close.
//! 4. [`Connection::finish`] says what follows the response ([`Next`]), and [`closing`] how a
//!    closing connection ends its socket.
//!
//! The lifecycle is the [`Reading`] enum; each exchange keeps its facts in an [`Exchange`],
//! whose [`BodyState`] says where the request body is. Keep-alive is decided from both.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::{Method, StatusCode, Version, header};

use crate::response::{Framing, Length, allows_body, allows_length};
use crate::{BodyKind, Decoded, Decoder, Limits, ParseError, RequestHead, TargetForm};

/// What the connection machine needs to know of the server's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Size limits for heads and bodies.
    pub limits: Limits,
    /// How long a client may take to send a whole head, from its first byte (and the first
    /// request of a connection from the accept).
    pub head_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Most body bytes read and discarded after a service that did not read its body, so the
    /// connection can be kept alive; a longer leftover closes the connection instead.
    pub max_drain: u64,
}

/// Where the connection is between and during requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Waiting for a request, none of it buffered.
    Idle,
    /// Part of a head has arrived; the head timeout runs from `since`.
    Head {
        /// When the first bytes of the head were seen.
        since: Instant,
    },
    /// A request is being answered.
    Exchange(Exchange),
    /// No further request is read.
    Closed,
}

/// The facts of one request that decide its response's framing and the connection's future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// The request's version (a rejected head counts as HTTP/1.1).
    pub version: Version,
    /// Whether the request was `HEAD`: its response carries no content (RFC 9110 9.3.2).
    pub head_request: bool,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// Where the request body is.
    pub body: BodyState,
    /// Whether the request asked to switch protocols, and whether the response did.
    pub upgrade: Upgrade,
}

/// A protocol switch (RFC 9110 7.8) through one exchange: the client asks with `Upgrade` and
/// `Connection: upgrade`, the service agrees with `101 Switching Protocols`, and the
/// connection's bytes after that response belong to the new protocol (WebSocket), not HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    /// The request did not ask, or cannot switch (HTTP/1.0, a request with a body).
    NotAsked,
    /// The request asked; the service may answer `101`.
    Asked,
    /// The service answered `101`: after it, the connection is handed over.
    Switched,
}

/// Where a request's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// The request has no body, or it has been read to its end.
    Done,
    /// The service holds the body (it may read it, or hand it to a task of its own).
    Lent,
    /// The body came back unfinished; `start` body bytes had been read when draining began.
    Draining {
        /// [`Decoder::bytes_seen`] when draining began.
        start: u64,
    },
    /// The body cannot be finished (malformed, too long to drain, timed out, client gone):
    /// the connection closes after the response, and no byte after it is read as a request.
    Broken,
}

/// A request head to hand to the service.
#[derive(Debug)]
pub struct Incoming {
    /// The head, boxed: the request is handed through several layers, each of which moves
    /// it, and a pointer moves cheaper than the head.
    pub head: Box<RequestHead>,
    /// When the head's first bytes were seen, if a wait was needed before it was whole.
    pub started: Option<Instant>,
    /// Whether to send `100 Continue` before the body is read (RFC 9110 10.1.1).
    pub send_continue: bool,
    /// The body's decoder; `None` when the request has no body.
    pub body: Option<Decoder>,
    /// Whether the service may switch protocols with a `101` (see [`Upgrade`]).
    pub upgrade: bool,
}

/// A request the server answers itself, then closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    /// The status to answer with.
    pub status: StatusCode,
}

/// What [`Connection::poll_head`] found in the read buffer.
// Not boxed: a box would be one more allocation per request, and a step lives only briefly.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step {
    /// A whole request head.
    Request(Incoming),
    /// The head is incomplete (or nothing is buffered): wait for more bytes.
    NeedMore,
    /// The head is malformed or too large: answer this and close.
    Reject(Reject, ParseError),
}

/// How long to wait for more request bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// When waiting ends with [`Connection::timed_out`].
    pub deadline: Instant,
    /// Whether the connection is between requests (nothing of the next one buffered): only
    /// then may it give its buffers back and end for a shutdown.
    pub idle: bool,
}

/// How a response head frames what follows, and whether the body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The framing fields to write.
    pub framing: Framing,
    /// Whether the body follows the head (never for HEAD, 1xx, 204, 304).
    pub send_body: bool,
}

/// What a connection does after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read the next request.
    KeepAlive,
    /// Wait for the service's task to give the body back, then see ([`Connection::body_returned`]).
    TakeBack,
    /// Close cleanly: the exchange ended as agreed.
    Close,
    /// Close after an error: unread input is discarded, never parsed (RFC 9112 9.6).
    Abort,
    /// The `101` went out: hand the connection (and the bytes buffered after the request) to
    /// whoever speaks the new protocol; no further HTTP is read or written on it.
    Upgrade,
}

/// What to do with a body the service gave back before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// Nothing left: the body is done.
    Done,
    /// Read and discard the rest with [`Connection::drain`].
    Drain,
    /// Too much left, or it cannot be read: close after the response.
    Close,
}

/// How one [`Connection::drain`] call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drain {
    /// The body ended; the connection can read the next request.
    Done,
    /// Everything buffered was discarded; read more and call again.
    NeedMore,
    /// More than [`Settings::max_drain`] bytes: close instead.
    TooLong,
    /// The body's framing is broken: answer with its status (if not yet answered) and close.
    Malformed(ParseError),
}

/// How a closing connection ends its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Just close: a clean end with nothing unread, whose FIN the close sends.
    Close,
    /// Send FIN, but do not read: the read side is still with a task of the service's.
    Shutdown,
    /// Send FIN, then read and discard for a moment before closing: closing a socket with
    /// unread input makes the kernel send a reset, which can destroy the response the client
    /// has not read yet (nginx's lingering close).
    Linger,
}

/// One HTTP/1.1 server connection's decisions.
#[derive(Debug, Clone)]
pub struct Connection {
    settings: Settings,
    reading: Reading,
    served: u64,
}

impl Connection {
    /// A connection just accepted.
    pub fn new(settings: Settings) -> Connection {
        Connection {
            settings,
            reading: Reading::Idle,
            served: 0,
        }
    }

    /// Where the connection is.
    pub fn reading(&self) -> Reading {
        self.reading
    }

    /// Requests answered and kept alive after so far.
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Looks for a whole request head at the front of `buf`, taking it off when found.
    pub fn poll_head(&mut self, buf: &mut BytesMut) -> Step {
        let started = match self.reading {
            Reading::Head { since } => Some(since),
            Reading::Idle => None,
            Reading::Exchange(_) | Reading::Closed => return Step::NeedMore,
        };
        if buf.is_empty() {
            return Step::NeedMore;
        }
        // Looked at first: a head that fails to parse may already be off the buffer.
        let head_request = is_head_request(buf);
        match crate::take_request_head(buf, &self.settings.limits) {
            Ok(Some(head)) => Step::Request(self.begin(head, started)),
            Ok(None) => Step::NeedMore,
            Err(e) => {
                let status = e.status();
                self.reject(head_request);
                Step::Reject(Reject { status }, e)
            }
        }
    }

    /// Starts the exchange for `head`.
    fn begin(&mut self, head: RequestHead, started: Option<Instant>) -> Incoming {
        // A CONNECT that succeeded would turn the connection into a tunnel, which this server
        // does not offer; whatever the answer, the bytes after it are not HTTP to us.
        let keep_alive = head.keep_alive && head.method != Method::CONNECT;
        let body = (head.body != BodyKind::Empty)
            .then(|| Decoder::new(head.body, self.settings.limits.max_body_size));
        let upgrade = asks_upgrade(&head, body.is_some());
        self.reading = Reading::Exchange(Exchange {
            version: head.version,
            head_request: head.method == Method::HEAD,
            keep_alive,
            body: if body.is_some() {
                BodyState::Lent
            } else {
                BodyState::Done
            },
            upgrade: if upgrade {
                Upgrade::Asked
            } else {
                Upgrade::NotAsked
            },
        });
        Incoming {
            // Only a request that has a body waits for `100 Continue` (the parser notes the
            // expectation for HTTP/1.1 only: an HTTP/1.0 client must not be sent a 1xx).
            send_continue: head.expect_continue && body.is_some(),
            head: Box::new(head),
            started,
            body,
            upgrade,
        }
    }

    /// Starts answering a request the server refuses: HTTP/1.1, then close.
    fn reject(&mut self, head_request: bool) {
        self.reading = Reading::Exchange(Exchange {
            version: Version::HTTP_11,
            head_request,
            keep_alive: false,
            body: BodyState::Broken,
            upgrade: Upgrade::NotAsked,
        });
    }

    /// Until when to wait for more bytes, `now` being the time (to within a tick). The first
    /// wait on a partly received head starts its head timeout.
    pub fn wait(&mut self, buffered: bool, now: Instant) -> Wait {
        let s = &self.settings;
        match self.reading {
            Reading::Head { since } => Wait {
                deadline: since + s.head_timeout,
                idle: false,
            },
            _ if buffered => {
                self.reading = Reading::Head { since: now };
                Wait {
                    deadline: now + s.head_timeout,
                    idle: false,
                }
            }
            // The first request of a connection is under the head timeout from the accept.
            _ if self.served == 0 => Wait {
                deadline: now + s.head_timeout,
                idle: true,
            },
            _ => Wait {
                deadline: now + s.idle_timeout,
                idle: true,
            },
        }
    }

    /// The deadline of the last [`Connection::wait`] passed: a partial head is answered `408`
    /// (`buf` tells whether it was a HEAD request); an idle connection just closes.
    pub fn timed_out(&mut self, buf: &[u8]) -> Option<Reject> {
        match self.reading {
            Reading::Head { .. } => {
                self.reject(is_head_request(buf));
                Some(Reject {
                    status: StatusCode::REQUEST_TIMEOUT,
                })
            }
            _ => {
                self.reading = Reading::Closed;
                None
            }
        }
    }

    /// The client closed, or the server stops reading (shutdown while idle).
    pub fn gone(&mut self) {
        self.reading = Reading::Closed;
    }

    /// The response will close the connection whatever the request asked (a service that
    /// panicked, a response cut short).
    pub fn force_close(&mut self) {
        if let Reading::Exchange(ex) = &mut self.reading {
            ex.keep_alive = false;
        }
    }

    /// The plan for the head of a response with `status` and a body of `len` bytes (`None`:
    /// not known in advance). `shutting_down`: the server is draining, so this is the last
    /// response on the connection.
    pub fn respond(&mut self, status: StatusCode, len: Option<u64>, shutting_down: bool) -> Plan {
        let Reading::Exchange(ex) = &mut self.reading else {
            // Not in an exchange (a driver bug): the safest answer ends the connection.
            return Plan {
                framing: Framing {
                    version: Version::HTTP_11,
                    length: Length::Omitted,
                    close: true,
                },
                send_body: false,
            };
        };
        if status == StatusCode::SWITCHING_PROTOCOLS && ex.upgrade == Upgrade::Asked {
            // No framing and no `Connection: close`: the head's `Connection: upgrade` is
            // written by the encoder for a 101, and what follows is the new protocol's.
            ex.upgrade = Upgrade::Switched;
            return Plan {
                framing: Framing {
                    version: ex.version,
                    length: Length::Omitted,
                    close: false,
                },
                send_body: false,
            };
        }
        let mut keep_alive = ex.keep_alive && !shutting_down && ex.body != BodyState::Broken;
        // A 101 nobody asked for cannot be followed by anything the client would understand.
        keep_alive &= status != StatusCode::SWITCHING_PROTOCOLS;
        let length = match len {
            _ if !allows_length(status) => Length::Omitted,
            Some(n) => Length::Known(n),
            None if ex.version == Version::HTTP_11 => Length::Chunked,
            None => {
                // An HTTP/1.0 client cannot read chunked: the body ends with the connection.
                keep_alive = false;
                Length::Omitted
            }
        };
        ex.keep_alive = keep_alive;
        Plan {
            framing: Framing {
                version: ex.version,
                length,
                close: !keep_alive,
            },
            send_body: allows_body(ex.head_request, status),
        }
    }

    /// A response the service wrote whole, head included (a CGI `nph-` script's): the server
    /// cannot know its framing, so the connection ends after it.
    pub fn respond_raw(&mut self) {
        self.force_close();
    }

    /// The response has been written (`sent`: completely). Says what follows.
    pub fn finish(&mut self, sent: bool) -> Next {
        let Reading::Exchange(ex) = self.reading else {
            return Next::Abort;
        };
        let next = match ex.body {
            _ if !sent => Next::Abort,
            BodyState::Broken => Next::Abort,
            _ if ex.upgrade == Upgrade::Switched => Next::Upgrade,
            _ if !ex.keep_alive => Next::Close,
            BodyState::Lent => Next::TakeBack,
            BodyState::Draining { .. } => Next::Abort,
            BodyState::Done => Next::KeepAlive,
        };
        self.after(next)
    }

    fn after(&mut self, next: Next) -> Next {
        match next {
            Next::KeepAlive => {
                self.served += 1;
                self.reading = Reading::Idle;
            }
            Next::TakeBack => {}
            Next::Close | Next::Abort | Next::Upgrade => self.reading = Reading::Closed,
        }
        next
    }

    /// The body came back from the service: `decoder` as it was left, `broken` if reading it
    /// failed (timed out, client gone). A failed read is not retried: draining it again would
    /// wait out the body timeout a second time.
    pub fn body_returned(&mut self, decoder: &Decoder, broken: bool) -> Leftover {
        let max_drain = self.settings.max_drain;
        let Reading::Exchange(ex) = &mut self.reading else {
            return Leftover::Close;
        };
        let remaining = decoder.remaining();
        let (state, leftover) = if broken {
            (BodyState::Broken, Leftover::Close)
        } else if decoder.is_done() {
            (BodyState::Done, Leftover::Done)
        } else if remaining.is_some_and(|n| n > max_drain) {
            (BodyState::Broken, Leftover::Close)
        } else {
            let start = decoder.bytes_seen();
            (BodyState::Draining { start }, Leftover::Drain)
        };
        ex.body = state;
        leftover
    }

    /// Discards the body bytes at the front of `buf`, up to [`Settings::max_drain`] of them.
    pub fn drain(&mut self, decoder: &mut Decoder, buf: &mut BytesMut) -> Drain {
        let max_drain = self.settings.max_drain;
        let Reading::Exchange(ex) = &mut self.reading else {
            return Drain::TooLong;
        };
        let BodyState::Draining { start } = ex.body else {
            return if ex.body == BodyState::Done {
                Drain::Done
            } else {
                Drain::TooLong
            };
        };
        loop {
            match decoder.decode(buf) {
                Ok(Decoded::Data(_)) if decoder.bytes_seen() - start <= max_drain => {}
                Ok(Decoded::Data(_)) => {
                    ex.body = BodyState::Broken;
                    return Drain::TooLong;
                }
                Ok(Decoded::NeedMore) => return Drain::NeedMore,
                Ok(Decoded::Done) => {
                    ex.body = BodyState::Done;
                    return Drain::Done;
                }
                Err(e) => {
                    ex.body = BodyState::Broken;
                    return Drain::Malformed(e);
                }
            }
        }
    }

    /// Draining stopped without reaching the end (timed out, client gone).
    pub fn drain_failed(&mut self) {
        if let Reading::Exchange(ex) = &mut self.reading {
            ex.body = BodyState::Broken;
        }
    }

    /// After [`Next::TakeBack`]: the body is back and done with (drained, or not needed).
    pub fn taken_back(&mut self) -> Next {
        let next = match self.reading {
            Reading::Exchange(Exchange {
                body: BodyState::Done,
                ..
            }) => Next::KeepAlive,
            _ => Next::Abort,
        };
        self.after(next)
    }
}

/// How a connection ending with `next` closes its socket: `unread` says whether request bytes
/// are buffered unread, `read_side` whether the connection still has its read side (a task of
/// the service's may hold it).
pub fn closing(next: Next, unread: bool, read_side: bool) -> Closing {
    match next {
        _ if !read_side => Closing::Shutdown,
        Next::Close if !unread => Closing::Close,
        _ => Closing::Linger,
    }
}

/// Whether the request at the front of `buf` is a `HEAD`: the answer to a head that could not
/// be parsed still carries no content when the method was read (RFC 9110 9.3.2), as nginx
/// does once it has the method. Empty lines before the request line are skipped exactly as
/// the parser skips them: past its bound an empty line is the (empty) request line, and a
/// `HEAD` after it is not this request's method, however the bytes arrived.
fn is_head_request(buf: &[u8]) -> bool {
    buf[crate::request_parse::skip_empty_lines(buf)..].starts_with(b"HEAD ")
}

/// Whether `head` asks to switch protocols in a way this connection can honour: HTTP/1.1
/// (RFC 9110 7.8: a server must ignore `Upgrade` from HTTP/1.0), an `Upgrade` field, `upgrade`
/// among the `Connection` options (it is hop-by-hop), and no body, so that every byte after
/// the head belongs to the new protocol (a WebSocket handshake is a bodiless `GET`).
fn asks_upgrade(head: &RequestHead, has_body: bool) -> bool {
    !has_body
        && head.version == Version::HTTP_11
        && head.method != Method::CONNECT
        && head.headers.get_str(&header::UPGRADE).is_some()
        && head.headers.has_token(&header::CONNECTION, "upgrade")
}

/// Whether `head` is `OPTIONS *`, a question about the server as a whole (RFC 9110 9.3.7).
pub fn is_options_asterisk(head: &RequestHead) -> bool {
    head.method == Method::OPTIONS && head.target.form() == TargetForm::Asterisk
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
