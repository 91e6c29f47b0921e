//! Server-sent events (the HTML standard's `text/event-stream`): a response that stays open
//! and sends [`Event`]s as a stream produces them, each written to the socket as it comes
//! (the server flushes after every piece of a streamed body), with a comment line
//! (`: keep-alive`) after every [`KEEP_ALIVE_INTERVAL`] of silence, by default, so that proxies
//! and browsers do not time an idle stream out.
//!
//! The stream ends when the client is gone: the server notices at the next write that fails,
//! so at the latest one or two keep-alives after the client left, and drops the stream (and
//! whatever it holds, such as a subscription) instead of feeding a dead connection forever.
//!
//! ```
//! use std::time::Duration;
//! use web::sse::{Event, KeepAlive, Sse};
//!
//! async fn ticks() -> Sse<impl futures_core::Stream<Item = Event> + Send + 'static> {
//!     let stream = futures_util::stream::iter((1..=3).map(|n| Event::default().id(n.to_string()).data(format!("tick {n}"))));
//!     Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
//! }
//! ```

use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::response::IntoResponse;
use crate::timer::Sleep;
use bytes::Bytes;
use futures_core::Stream;
use http1::{StatusCode, header};
use server::{Response, ResponseBody};

/// How often a keep-alive comment is sent on a quiet stream by default: 15 s, as axum, and
/// well under the 60 s after which nginx (`proxy_read_timeout`) and many load balancers drop
/// an idle upstream connection.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// One event. Fields left unset are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    buf: String,
}

impl Event {
    /// The event's type (`event:`); the browser dispatches it to listeners of that name
    /// instead of `message`. Line breaks, which would end the field, are left out.
    pub fn event(mut self, name: impl AsRef<str>) -> Event {
        self.field("event", name.as_ref());
        self
    }

    /// The data (`data:`); each line of it becomes a `data:` line, and the browser joins them
    /// back with `\n`. Calling it again adds more lines.
    pub fn data(mut self, data: impl AsRef<str>) -> Event {
        let data = data.as_ref();
        // The standard's line ends are CRLF, LF or CR; each starts a new `data:` line.
        for line in data.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
            self.line("data", line);
        }
        self
    }

    /// The data as JSON (one line: `serde_json` escapes line breaks inside strings).
    pub fn json_data(self, value: &impl serde::Serialize) -> Result<Event, serde_json::Error> {
        Ok(self.data(serde_json::to_string(value)?))
    }

    /// The event's id (`id:`): the browser sends the last one back in `Last-Event-ID` when
    /// it reconnects. Line breaks and NUL, which the standard does not allow in an id, are
    /// left out.
    pub fn id(mut self, id: impl AsRef<str>) -> Event {
        let id: String = id.as_ref().chars().filter(|c| *c != '\0').collect();
        self.field("id", &id);
        self
    }

    /// How long the browser waits before reconnecting after the stream ends (`retry:`).
    pub fn retry(mut self, after: Duration) -> Event {
        let _ = writeln!(self.buf, "retry: {}", after.as_millis());
        self
    }

    /// A comment line (`: text`), which the browser ignores.
    pub fn comment(mut self, text: impl AsRef<str>) -> Event {
        self.field("", text.as_ref());
        self
    }

    /// A one-line field: what follows a line break is left out.
    fn field(&mut self, name: &str, value: &str) {
        let value: String = value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        self.line(name, &value);
    }

    fn line(&mut self, name: &str, value: &str) {
        self.buf.push_str(name);
        self.buf.push(':');
        // One space after the colon; the browser strips exactly one, so a value that starts
        // with a space keeps it.
        self.buf.push(' ');
        self.buf.push_str(value);
        self.buf.push('\n');
    }

    /// The event as sent, with the blank line that ends it.
    pub fn to_bytes(&self) -> Bytes {
        let mut s = String::with_capacity(self.buf.len() + 1);
        s.push_str(&self.buf);
        s.push('\n');
        Bytes::from(s)
    }
}

/// The keep-alive comment of a quiet stream.
#[derive(Debug, Clone)]
pub struct KeepAlive {
    interval: Duration,
    comment: Bytes,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive::new()
    }
}

impl KeepAlive {
    /// Every [`KEEP_ALIVE_INTERVAL`] of silence, the comment `: keep-alive`.
    pub fn new() -> KeepAlive {
        KeepAlive {
            interval: KEEP_ALIVE_INTERVAL,
            comment: Bytes::from_static(b": keep-alive\n\n"),
        }
    }

    /// After how long a silence to send one (a zero interval is taken as one millisecond).
    pub fn interval(mut self, interval: Duration) -> KeepAlive {
        self.interval = interval;
        self
    }

    /// The comment's text.
    pub fn text(mut self, text: &str) -> KeepAlive {
        self.comment = Event::default().comment(text).to_bytes();
        self
    }
}

/// A `text/event-stream` response from a stream of [`Event`]s; it ends when the stream does.
#[derive(Debug)]
pub struct Sse<S> {
    stream: S,
    keep_alive: Option<KeepAlive>,
}

impl<S> Sse<S>
where
    S: Stream<Item = Event> + Send + 'static,
{
    /// Events from `stream`, with the default [`KeepAlive`] (`: keep-alive` after each
    /// [`KEEP_ALIVE_INTERVAL`] of silence).
    pub fn new(stream: S) -> Sse<S> {
        Sse {
            stream,
            keep_alive: Some(KeepAlive::new()),
        }
    }

    /// Sends `keep_alive`'s comment after each silence of its interval.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Sse<S> {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// Sends no keep-alive comments (for a stream that is never quiet for long, or a client
    /// that is not behind anything that times connections out).
    pub fn without_keep_alive(mut self) -> Sse<S> {
        self.keep_alive = None;
        self
    }
}

impl<S> IntoResponse for Sse<S>
where
    S: Stream<Item = Event> + Send + 'static,
{
    fn into_response(self) -> Response {
        let body = EventBody {
            events: Box::pin(self.stream),
            timer: Sleep::default(),
            keep_alive: self.keep_alive,
        };
        let mut r = Response::new(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            // Each event is news: no cache may keep or serve the stream.
            .header(header::CACHE_CONTROL, "no-cache")
            // nginx buffers proxied responses unless told not to; an event must not wait.
            .header(header::HeaderName::from_static("x-accel-buffering"), "no");
        r.body = ResponseBody::Stream {
            stream: Box::pin(body),
            len: None,
        };
        r
    }
}

/// The events as body pieces, with keep-alive comments in the silences.
struct EventBody {
    events: Pin<Box<dyn Stream<Item = Event> + Send>>,
    keep_alive: Option<KeepAlive>,
    /// When the next keep-alive is due; set at the first poll and after each piece sent.
    timer: Sleep,
}

impl EventBody {
    /// The silence before the next keep-alive starts now.
    fn restart(&mut self) {
        if let Some(k) = &self.keep_alive {
            let interval = k.interval.max(MIN_INTERVAL);
            self.timer
                .reset(std::time::Instant::now().checked_add(interval));
        }
    }
}

/// The shortest keep-alive interval: a zero one would send comments as fast as the socket
/// takes them.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

impl Stream for EventBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                this.restart();
                return Poll::Ready(Some(Ok(event.to_bytes())));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        let Some(comment) = this.keep_alive.as_ref().map(|k| k.comment.clone()) else {
            return Poll::Pending;
        };
        if this.timer.deadline().is_none() {
            this.restart();
        }
        if Pin::new(&mut this.timer).poll(cx).is_ready() {
            this.restart();
            return Poll::Ready(Some(Ok(comment)));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_written_as_the_standard_reads_them() {
        let e = Event::default()
            .event("greeting\nevil: x")
            .id("7")
            .retry(Duration::from_millis(1500))
            .data("line one\nline two\r\nline three\rfour")
            .comment("hi");
        assert_eq!(
            std::str::from_utf8(&e.to_bytes()).expect("utf-8"),
            "event: greetingevil: x\nid: 7\nretry: 1500\ndata: line one\ndata: line two\n\
             data: line three\ndata: four\n: hi\n\n"
        );
        assert_eq!(&Event::default().data("").to_bytes()[..], b"data: \n\n");
    }

    #[tokio::test]
    async fn a_quiet_stream_gets_keep_alive_comments_and_the_response_is_an_event_stream() {
        use futures_util::StreamExt as _;
        let events = futures_util::stream::once(async { Event::default().data("a") })
            .chain(futures_util::stream::pending());
        let r = Sse::new(events)
            .keep_alive(
                KeepAlive::new()
                    .interval(Duration::from_millis(50))
                    .text("ka"),
            )
            .into_response();
        assert_eq!(r.headers.get_str("content-type"), Some("text/event-stream"));
        let ResponseBody::Stream { mut stream, len } = r.body else {
            panic!("a stream");
        };
        assert_eq!(len, None);
        let first = stream.next().await.expect("event").expect("ok");
        assert_eq!(&first[..], b"data: a\n\n");
        let ka = stream.next().await.expect("keep-alive").expect("ok");
        assert_eq!(&ka[..], b": ka\n\n");
    }
}
