//! One line per request: Common Log Format, combined, or JSON.
//!
//! ```text
//! common:   127.0.0.1 - - [25/Nov/2026:18:30:00 +0000] "GET / HTTP/1.1" 200 153 0.000087
//! combined: ... 200 153 "http://ref/" "curl/8.5.0" 0.000087
//! json:     {"timestamp":"2026-11-25T18:30:00.000Z","client":"127.0.0.1",...}
//! ```
//!
//! A request that did not parse is logged with `-` (or `null`) for everything not known, never
//! with made-up values. Bytes a client controls (`"`, `\`, controls, non-ASCII) are escaped as
//! nginx escapes them (`\x22`), so a line cannot be forged or broken by a request.
//!
//! Nothing is shared per request between threads: each thread appends its lines to a buffer of
//! its own (locked only by that thread and by the flusher, so the lock is uncontended), which is
//! written out whole, lines never cut, once it holds [`FLUSH_BYTES`], at least every
//! [`FLUSH_INTERVAL`] by a flusher thread, and on [`AccessLog::flush`] (at shutdown).

use std::cell::RefCell;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http1::{RequestHead, Version};

/// A thread's buffered lines are written out once they reach this size; it bounds what a
/// thread holds (nginx's `access_log ... buffer=32k`).
pub const FLUSH_BYTES: usize = 32 * 1024;
/// Lines wait at most about this long in a buffer before they are written, so a quiet server's
/// log is still current (nginx's `flush=1s`).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The shape of each line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Common Log Format plus the seconds taken.
    #[default]
    Common,
    /// Common plus the `Referer` and `User-Agent`, as Apache's and nginx's `combined`.
    Combined,
    /// One JSON object per line.
    Json,
}

/// Where access-log lines go, and in what shape.
#[derive(Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
    format: Format,
    /// Whether statuses are coloured (for a terminal).
    color: bool,
    /// Whether each line is written at once (someone is watching a terminal).
    immediate: bool,
    /// The logs of the sites that have their own, chosen per request by [`SiteLogs::route`].
    sites: Option<Arc<dyn SiteLogs>>,
    /// Lines not sent to a site's log are dropped ([`AccessLog::off`]).
    off: bool,
}

/// Chooses a request's log by its head: the log of the site that answers it, as nginx's
/// `access_log` inside a `server` block (see [`AccessLog::with_sites`]).
pub trait SiteLogs: Send + Sync {
    /// The log of the site `head` goes to, if that site has one of its own.
    fn route(&self, head: &RequestHead) -> Option<AccessLog>;
    /// Every site log in use now, to reopen on `USR1` and flush at exit.
    fn logs(&self) -> Vec<AccessLog>;
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLog")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// Tells this log's buffers apart from another log's in a thread's [`BUFFERS`].
    id: usize,
    sink: Mutex<Box<dyn Write + Send>>,
    /// The file the lines go to, opened again by [`AccessLog::reopen`]; `None` for stderr.
    path: Option<PathBuf>,
    /// Every thread's buffer, for [`AccessLog::flush`].
    buffers: Mutex<Vec<Arc<Buffer>>>,
}

impl Drop for Shared {
    /// A log let go of (a site's log a reload no longer names) writes what its threads'
    /// buffers still hold: no thread can add to them any more.
    fn drop(&mut self) {
        let sink = self.sink.get_mut().unwrap_or_else(|e| e.into_inner());
        for buffer in self.buffers.get_mut().unwrap_or_else(|e| e.into_inner()) {
            let mut buf = lock(buffer);
            let _ = sink.write_all(&buf);
            buf.clear();
        }
        let _ = sink.flush();
    }
}

/// One thread's lines not yet written.
type Buffer = Mutex<Vec<u8>>;

thread_local! {
    /// This thread's buffer for each log it has written to (almost always one).
    static BUFFERS: RefCell<Vec<(usize, Arc<Buffer>)>> = const { RefCell::new(Vec::new()) };
}

/// Numbers [`Shared::id`].
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// What one line records.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The client.
    pub peer: SocketAddr,
    /// The request, as [`AccessLog::note`] took it; `None` when it did not parse.
    pub request: Option<&'a Noted>,
    /// The user the service verified ([`crate::Response::user`]); never one merely named by
    /// the request's `Authorization` field.
    pub user: Option<&'a str>,
    /// The status sent.
    pub status: u16,
    /// Body bytes actually sent: a response cut short counts what left, not what was meant.
    pub bytes: u64,
    /// From the first byte of the request to the last byte of the response.
    pub elapsed: Duration,
    /// The TLS version (`TLSv1.3`) when the request came over TLS.
    pub tls: Option<&'static str>,
}

/// What the log needs from a request head, taken before the head goes to the service. Only
/// the fields the format shows are copied.
#[derive(Debug, Clone)]
pub struct Noted {
    method: http1::Method,
    /// A clone of the parsed target: a short one is inline, a long one shared, not copied.
    target: http1::Target,
    version: Version,
    host: Option<Vec<u8>>,
    /// Shares the request head's buffer: noting a field copies no bytes.
    referer: Option<http1::HeaderValue>,
    user_agent: Option<http1::HeaderValue>,
    /// The site's log the line goes to instead of the one that noted it.
    site: Option<AccessLog>,
}

impl Noted {
    fn referer(&self) -> Option<&[u8]> {
        self.referer.as_ref().map(http1::HeaderValue::as_bytes)
    }

    fn user_agent(&self) -> Option<&[u8]> {
        self.user_agent.as_ref().map(http1::HeaderValue::as_bytes)
    }
}

impl AccessLog {
    /// Lines go to standard error.
    pub fn stderr() -> AccessLog {
        AccessLog::to_writer(io::stderr())
    }

    /// Lines are appended to the file at `path`, created if missing.
    pub fn file(path: &Path) -> io::Result<AccessLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let mut log = AccessLog::to_writer(file);
        if let Some(shared) = Arc::get_mut(&mut log.shared) {
            shared.path = Some(path.to_path_buf());
        }
        Ok(log)
    }

    /// No line is written but those the sites' logs take ([`AccessLog::with_sites`]): the
    /// server's log is off while some sites have their own.
    pub fn off() -> AccessLog {
        AccessLog {
            off: true,
            ..AccessLog::to_writer(io::sink())
        }
    }

    /// Lines of requests a site with its own log answers go to that log, in its format.
    pub fn with_sites(self, sites: Arc<dyn SiteLogs>) -> AccessLog {
        AccessLog {
            sites: Some(sites),
            ..self
        }
    }

    /// The sites' logs, for reopening and flushing with this one.
    fn site_logs(&self) -> Vec<AccessLog> {
        self.sites.as_ref().map(|s| s.logs()).unwrap_or_default()
    }

    /// Writes out every buffered line to the file open now, then opens the log's path again
    /// (creating it), so that after logrotate renamed the file the next lines go to a new one
    /// (nginx's `USR1`). No line is lost: each is either in the renamed file or the new one.
    /// A log on stderr has nothing to reopen. When the path cannot be opened, lines keep going
    /// to the file open now and the error is returned.
    pub fn reopen(&self) -> io::Result<()> {
        let mut result = Ok(());
        for site in self.site_logs() {
            result = result.and(site.reopen());
        }
        let Some(path) = &self.shared.path else {
            return result;
        };
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        // Holding the buffer list keeps new threads from adding buffers meanwhile; a thread
        // appending to its own buffer during the switch writes it to whichever file is
        // open when it fills, and the flush below empties the rest into the old one.
        let buffers = lock(&self.shared.buffers);
        let mut sink = lock(&self.shared.sink);
        for buffer in buffers.iter() {
            let mut buf = lock(buffer);
            let _ = sink.write_all(&buf);
            buf.clear();
        }
        let _ = sink.flush();
        *sink = Box::new(file);
        result
    }

    /// Lines go to any writer (tests).
    pub fn to_writer(w: impl Write + Send + 'static) -> AccessLog {
        AccessLog {
            shared: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                sink: Mutex::new(Box::new(w)),
                path: None,
                buffers: Mutex::new(Vec::new()),
            }),
            format: Format::Common,
            color: false,
            immediate: false,
            sites: None,
            off: false,
        }
    }

    /// The same destination with lines in `format`.
    pub fn with_format(self, format: Format) -> AccessLog {
        AccessLog { format, ..self }
    }

    /// Colours the status (for a terminal; the caller decides, `NO_COLOR` included).
    pub fn with_color(self, color: bool) -> AccessLog {
        AccessLog { color, ..self }
    }

    /// Writes each line at once instead of buffering it: for a terminal, where someone watches
    /// the lines arrive and throughput matters less than seeing them now.
    pub fn unbuffered(self, immediate: bool) -> AccessLog {
        AccessLog { immediate, ..self }
    }

    /// Takes from `head` what a line in this log's format shows.
    pub fn note(&self, head: &RequestHead) -> Noted {
        if let Some(site) = self.sites.as_ref().and_then(|s| s.route(head)) {
            let mut noted = site.note(head);
            noted.site = Some(site);
            return noted;
        }
        let wide = self.format != Format::Common;
        let field =
            |name: &http1::HeaderName| wide.then(|| head.headers.get(name).cloned()).flatten();
        Noted {
            method: head.method.clone(),
            target: head.target.clone(),
            version: head.version,
            host: (self.format == Format::Json)
                .then(|| head.host().map(|h| h.as_bytes().to_vec()))
                .flatten(),
            referer: field(&http1::header::REFERER),
            user_agent: field(&http1::header::USER_AGENT),
            site: None,
        }
    }

    /// Adds one line to this thread's buffer, writing the buffer out when it is full.
    pub fn log(&self, e: &Entry<'_>) {
        if let Some(site) = e.request.and_then(|r| r.site.as_ref()) {
            return site.log_here(e);
        }
        if !self.off {
            self.log_here(e);
        }
    }

    /// Adds the line to this log itself, whatever site answered.
    fn log_here(&self, e: &Entry<'_>) {
        // The Common Log Format shows whole seconds; JSON shows milliseconds.
        let now = match self.format {
            Format::Json => SystemTime::now(),
            Format::Common | Format::Combined => crate::clock::coarse_wall_time(),
        };
        self.with_buffer(|buf| {
            match self.format {
                Format::Common | Format::Combined => self.clf_line(buf, e, now),
                Format::Json => json_line(buf, e, now),
            }
            if self.immediate || buf.len() >= FLUSH_BYTES {
                self.write_out(buf);
            }
        });
    }

    fn from_shared(shared: Arc<Shared>) -> AccessLog {
        AccessLog {
            shared,
            format: Format::Common,
            color: false,
            immediate: false,
            sites: None,
            off: false,
        }
    }

    /// Writes every thread's buffered lines now (at shutdown, before exiting on a signal).
    pub fn flush(&self) {
        for site in self.site_logs() {
            site.flush();
        }
        let buffers = lock(&self.shared.buffers).clone();
        for buffer in buffers {
            self.write_out(&mut lock(&buffer));
        }
        let _ = lock(&self.shared.sink).flush();
    }

    /// As [`AccessLog::flush`], but skips a buffer or a destination that is busy instead of
    /// waiting for it: for a process about to exit at once, which must not hang on a writer
    /// blocked by a full pipe.
    pub fn try_flush(&self) {
        for site in self.site_logs() {
            site.try_flush();
        }
        let Ok(buffers) = self.shared.buffers.try_lock().map(|b| b.clone()) else {
            return;
        };
        for buffer in buffers {
            let (Ok(mut buf), Ok(mut sink)) = (buffer.try_lock(), self.shared.sink.try_lock())
            else {
                continue;
            };
            let _ = sink.write_all(&buf);
            let _ = sink.flush();
            buf.clear();
        }
    }

    /// Runs `f` on this thread's buffer, making one on first use. The first buffer of a log
    /// starts its flusher thread, which ends with the last clone of the log.
    fn with_buffer(&self, f: impl FnOnce(&mut Vec<u8>)) {
        let id = self.shared.id;
        BUFFERS.with(|cell| {
            let mut mine = cell.borrow_mut();
            if let Some((_, b)) = mine.iter().find(|(i, _)| *i == id) {
                f(&mut lock(b));
                return;
            }
            // Buffers of logs gone (only this list still holds them) are let go.
            mine.retain(|(_, b)| Arc::strong_count(b) > 1);
            let b = Arc::new(Mutex::new(Vec::with_capacity(FLUSH_BYTES)));
            let mut all = lock(&self.shared.buffers);
            if all.is_empty() {
                let weak = Arc::downgrade(&self.shared);
                // Without it, lines still go out when a buffer fills and at shutdown.
                let _ = std::thread::Builder::new()
                    .name("sockserve-log".into())
                    .spawn(move || flush_periodically(weak));
            }
            all.push(b.clone());
            drop(all);
            f(&mut lock(&b));
            mine.push((id, b));
        });
    }

    /// Writes `buf` (whole lines) with one call under the sink's lock, and empties it.
    fn write_out(&self, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            return;
        }
        let _ = lock(&self.shared.sink).write_all(buf);
        buf.clear();
    }

    /// `127.0.0.1 - user [time] "GET / HTTP/1.1" 200 153 ["referer" "agent"] 0.000087`
    fn clf_line(&self, out: &mut Vec<u8>, e: &Entry<'_>, now: SystemTime) {
        push_ip(out, e.peer.ip());
        out.extend_from_slice(b" - ");
        match e.user {
            // A space would split the line's user field.
            Some(user) => escape_clf(out, user.replace(' ', "_").as_bytes()),
            None => out.push(b'-'),
        }
        out.extend_from_slice(b" [");
        clf_time(out, now);
        out.extend_from_slice(b"] \"");
        match e.request {
            Some(r) => {
                escape_clf(out, r.method.as_str().as_bytes());
                out.push(b' ');
                escape_clf(out, r.target.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(version_str(r.version).as_bytes());
            }
            // Apache and nginx log an unparsed request line as `"-"` too.
            None => out.push(b'-'),
        }
        out.extend_from_slice(b"\" ");
        self.status(out, e.status);
        out.push(b' ');
        push_int(out, e.bytes);
        if self.format == Format::Combined {
            for field in [
                e.request.and_then(Noted::referer),
                e.request.and_then(Noted::user_agent),
            ] {
                out.extend_from_slice(b" \"");
                match field {
                    Some(v) => escape_clf(out, v),
                    None => out.push(b'-'),
                }
                out.push(b'"');
            }
        }
        out.push(b' ');
        push_seconds(out, e.elapsed);
        out.push(b'\n');
    }

    /// The status, coloured by class when the log is for a terminal.
    fn status(&self, out: &mut Vec<u8>, status: u16) {
        if !self.color {
            push_int(out, status);
            return;
        }
        let color = match status {
            500.. => "31",    // red
            400..500 => "33", // yellow
            300..400 => "36", // cyan
            _ => "32",        // green
        };
        let _ = write!(out, "\x1b[{color}m{status}\x1b[0m");
    }
}

/// Flushes `log`'s buffers every [`FLUSH_INTERVAL`] until the log is dropped.
fn flush_periodically(log: Weak<Shared>) {
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        let Some(shared) = log.upgrade() else { return };
        AccessLog::from_shared(shared).flush();
    }
}

/// Locks `m`, taking it over if a panicking thread left it poisoned: a log line is never worth
/// a second panic.
fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn version_str(v: Version) -> &'static str {
    if v == Version::HTTP_10 {
        "HTTP/1.0"
    } else if v == Version::HTTP_2 {
        // As nginx logs `$server_protocol` for HTTP/2.
        "HTTP/2.0"
    } else {
        "HTTP/1.1"
    }
}

/// Appends `bytes` with `"`, `\`, controls and non-ASCII written `\xHH`, as nginx's log does.
/// The runs between such bytes (all of a normal request) are copied whole.
fn escape_clf(out: &mut Vec<u8>, mut bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let escaped = |b: &u8| *b == b'"' || *b == b'\\' || !(0x20..0x7f).contains(b);
    while let Some(at) = bytes.iter().position(escaped) {
        out.extend_from_slice(&bytes[..at]);
        let b = bytes[at];
        out.extend_from_slice(&[
            b'\\',
            b'x',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 15)],
        ]);
        bytes = &bytes[at + 1..];
    }
    out.extend_from_slice(bytes);
}

/// Appends `n` in decimal, without the formatting machinery (a log line has several).
fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends the client's address: IPv4, nearly every line, digit by digit.
fn push_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_int(out, octet);
            }
        }
        std::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Appends `d` as seconds with six decimals (`0.000087`).
fn push_seconds(out: &mut Vec<u8>, d: Duration) {
    push_int(out, d.as_secs());
    let mut micros = d.subsec_micros();
    let mut digits = *b".000000";
    for digit in digits[1..].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Appends `bytes` as a JSON string: invalid UTF-8 replaced, `"` `\` and controls escaped.
fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// A JSON string, or `null` when unknown.
fn json_opt(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => json_string(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// `{"timestamp":...,"client":...,...}` and a newline.
fn json_line(out: &mut Vec<u8>, e: &Entry<'_>, now: SystemTime) {
    let r = e.request;
    out.extend_from_slice(b"{\"timestamp\":\"");
    rfc3339_time(out, now);
    let _ = write!(out, "\",\"client\":\"{}\",\"user\":", e.peer.ip());
    json_opt(out, e.user.map(str::as_bytes));
    out.extend_from_slice(b",\"method\":");
    json_opt(out, r.map(|r| r.method.as_str().as_bytes()));
    out.extend_from_slice(b",\"target\":");
    json_opt(out, r.map(|r| r.target.as_str().as_bytes()));
    out.extend_from_slice(b",\"version\":");
    json_opt(out, r.map(|r| version_str(r.version).as_bytes()));
    let _ = write!(
        out,
        ",\"status\":{},\"bytes\":{},\"duration\":{}.{:06},\"host\":",
        e.status,
        e.bytes,
        e.elapsed.as_secs(),
        e.elapsed.subsec_micros()
    );
    json_opt(out, r.and_then(|r| r.host.as_deref()));
    out.extend_from_slice(b",\"referer\":");
    json_opt(out, r.and_then(Noted::referer));
    out.extend_from_slice(b",\"user_agent\":");
    json_opt(out, r.and_then(Noted::user_agent));
    out.extend_from_slice(b",\"tls\":");
    json_opt(out, e.tls.map(str::as_bytes));
    out.extend_from_slice(b"}\n");
}

/// Seconds since the epoch and the civil date of `now`, in UTC.
fn civil(now: SystemTime) -> (i64, u32, u32, u64, Duration) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = http1::date::civil_from_days((secs / 86_400) as i64);
    (y, m, d, secs % 86_400, since)
}

/// Length of [`clf_time`]'s text.
const CLF_TIME_LEN: usize = 26;

thread_local! {
    /// The second [`clf_time`] last formatted on this thread, and its text: lines in the same
    /// second (nearly all of them under load) copy it.
    static CLF_TIME: std::cell::Cell<(u64, [u8; CLF_TIME_LEN])> =
        const { std::cell::Cell::new((u64::MAX, [0; CLF_TIME_LEN])) };
}

/// `10/Oct/2000:13:55:36 +0000` (always UTC).
fn clf_time(out: &mut Vec<u8>, now: SystemTime) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (cached, text) = CLF_TIME.get();
    if cached == secs {
        out.extend_from_slice(&text);
        return;
    }
    let (y, m, d, rem, _) = civil(now);
    let month = MONTHS.get(m.saturating_sub(1) as usize).unwrap_or(&"Jan");
    let start = out.len();
    let _ = write!(
        out,
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        d,
        month,
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    // A year past 9999 would not fit; it is simply not cached.
    if let Ok(text) = <[u8; CLF_TIME_LEN]>::try_from(&out[start..]) {
        CLF_TIME.set((secs, text));
    }
}

/// `2000-10-10T13:55:36.000Z` (RFC 3339, UTC, milliseconds).
fn rfc3339_time(out: &mut Vec<u8>, now: SystemTime) {
    let (y, m, d, rem, since) = civil(now);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).expect("utf-8")
        }
    }

    fn head(raw: &str) -> RequestHead {
        let (head, _) = http1::parse_request_head(raw.as_bytes(), &http1::Limits::default())
            .expect("parses")
            .expect("complete");
        head
    }

    /// 10/Oct/2000:13:55:36 UTC.
    fn when() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(971_186_136_250)
    }

    fn line(format: Format, request: Option<&RequestHead>, status: u16, bytes: u64) -> String {
        line_as(format, request, request.map(|_| "bob"), status, bytes)
    }

    /// A line for a request whose user the service verified as `user`.
    fn line_as(
        format: Format,
        request: Option<&RequestHead>,
        user: Option<&str>,
        status: u16,
        bytes: u64,
    ) -> String {
        let log = AccessLog::to_writer(io::sink()).with_format(format);
        let noted = request.map(|h| log.note(h));
        let e = Entry {
            peer: "127.0.0.1:5000".parse().expect("addr"),
            request: noted.as_ref(),
            user,
            status,
            bytes,
            elapsed: Duration::from_micros(1_000_087),
            tls: None,
        };
        let mut out = Vec::new();
        match format {
            Format::Json => json_line(&mut out, &e, when()),
            _ => log.clf_line(&mut out, &e, when()),
        }
        String::from_utf8(out).expect("utf-8")
    }

    const FULL: &str = "GET /a?b HTTP/1.1\r\nHost: example.com\r\nReferer: http://r/\"x\r\n\
                        User-Agent: ag\"ent\\\r\nAuthorization: Basic Ym9iOnB3\r\n\r\n";

    #[test]
    fn formats_a_common_log_line() {
        assert_eq!(
            line(Format::Common, Some(&head(FULL)), 200, 153),
            "127.0.0.1 - bob [10/Oct/2000:13:55:36 +0000] \"GET /a?b HTTP/1.1\" 200 153 1.000087\n"
        );
    }

    #[test]
    fn the_cached_second_is_the_one_formatted_and_changes_with_it() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        let text = |secs| {
            let mut out = Vec::new();
            clf_time(&mut out, at(secs));
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(text(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(text(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(text(971_186_137), "10/Oct/2000:13:55:37 +0000");
        assert_eq!(text(0), "01/Jan/1970:00:00:00 +0000");
    }

    #[test]
    fn seconds_and_addresses_are_written_as_before() {
        let mut out = Vec::new();
        for d in [0, 87, 1_000_087, 12_345_678_901] {
            push_seconds(&mut out, Duration::from_micros(d));
            out.push(b' ');
        }
        push_ip(&mut out, "10.0.255.1".parse().expect("v4"));
        out.push(b' ');
        push_ip(&mut out, "::1".parse().expect("v6"));
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "0.000000 0.000087 1.000087 12345.678901 10.0.255.1 ::1"
        );
    }

    #[test]
    fn the_authorization_field_alone_names_nobody() {
        let text = line_as(Format::Common, Some(&head(FULL)), None, 401, 0);
        assert!(text.starts_with("127.0.0.1 - - ["), "{text}");
        let json = line_as(Format::Json, Some(&head(FULL)), None, 401, 0);
        assert!(json.contains("\"user\":null"), "{json}");
        let spaced = line_as(Format::Common, Some(&head(FULL)), Some("a b"), 200, 0);
        assert!(spaced.starts_with("127.0.0.1 - a_b ["), "{spaced}");
    }

    #[test]
    fn combined_adds_referer_and_user_agent_escaped_as_nginx_does() {
        assert_eq!(
            line(Format::Combined, Some(&head(FULL)), 200, 153),
            "127.0.0.1 - bob [10/Oct/2000:13:55:36 +0000] \"GET /a?b HTTP/1.1\" 200 153 \
             \"http://r/\\x22x\" \"ag\\x22ent\\x5C\" 1.000087\n"
        );
        let bare = head("GET / HTTP/1.0\r\n\r\n");
        assert!(
            line(Format::Combined, Some(&bare), 304, 0)
                .contains("\"GET / HTTP/1.0\" 304 0 \"-\" \"-\" 1.000087")
        );
    }

    #[test]
    fn json_is_one_object_per_line() {
        let text = line(Format::Json, Some(&head(FULL)), 404, 7);
        assert_eq!(
            text,
            "{\"timestamp\":\"2000-10-10T13:55:36.250Z\",\"client\":\"127.0.0.1\",\
             \"user\":\"bob\",\"method\":\"GET\",\"target\":\"/a?b\",\"version\":\"HTTP/1.1\",\
             \"status\":404,\"bytes\":7,\"duration\":1.000087,\"host\":\"example.com\",\
             \"referer\":\"http://r/\\\"x\",\"user_agent\":\"ag\\\"ent\\\\\",\"tls\":null}\n"
        );
    }

    #[test]
    fn a_request_that_did_not_parse_is_logged_with_dashes_not_made_up_values() {
        assert_eq!(
            line(Format::Combined, None, 400, 11),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"-\" 400 11 \"-\" \"-\" 1.000087\n"
        );
        let json = line(Format::Json, None, 400, 11);
        assert!(json.contains("\"method\":null,\"target\":null,\"version\":null"));
        assert!(!json.contains("HTTP/1.1"), "{json}");
    }

    #[test]
    fn control_bytes_and_non_ascii_are_escaped() {
        let mut out = Vec::new();
        escape_clf(&mut out, b"a\"b\\c\x01\x7f\xc3\xa9");
        assert_eq!(out, b"a\\x22b\\x5Cc\\x01\\x7F\\xC3\\xA9");
        let mut out = Vec::new();
        json_string(&mut out, b"a\"\\\n\x01\xc3\xa9\xff");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "\"a\\\"\\\\\\u000a\\u0001\u{e9}\u{fffd}\""
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let log = AccessLog::to_writer(io::sink());
        let mut out = Vec::new();
        log.status(&mut out, 404);
        assert_eq!(out, b"404");
        let log = log.with_color(true);
        out.clear();
        log.status(&mut out, 404);
        assert_eq!(out, b"\x1b[33m404\x1b[0m");
    }

    fn entry(noted: &Noted) -> Entry<'_> {
        Entry {
            peer: "127.0.0.1:5000".parse().expect("addr"),
            request: Some(noted),
            user: None,
            status: 200,
            bytes: 1,
            elapsed: Duration::ZERO,
            tls: None,
        }
    }

    #[test]
    fn lines_wait_in_the_thread_buffer_until_flushed() {
        let sink = Shared::default();
        let log = AccessLog::to_writer(sink.clone());
        let noted = log.note(&head("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
        log.log(&entry(&noted));
        assert_eq!(sink.text(), "", "written at once");
        log.flush();
        assert!(sink.text().contains("\"GET /x HTTP/1.1\" 200 1 "));
        assert_eq!(sink.text().lines().count(), 1);
        let log = log.unbuffered(true);
        log.log(&entry(&noted));
        assert_eq!(sink.text().lines().count(), 2, "an unbuffered line waits");
    }

    #[test]
    fn a_full_buffer_is_written_whole_lines_only() {
        let sink = Shared::default();
        let log = AccessLog::to_writer(sink.clone());
        let noted = log.note(&head("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
        let mut n = 0;
        while sink.text().is_empty() {
            log.log(&entry(&noted));
            n += 1;
            assert!(n < FLUSH_BYTES, "never written");
        }
        assert!(sink.text().ends_with('\n'));
        assert_eq!(sink.text().lines().count(), n);
    }

    #[test]
    fn lines_from_many_threads_never_interleave_and_none_is_lost() {
        let sink = Shared::default();
        let log = AccessLog::to_writer(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    let target = format!("/{}", "x".repeat(100 + t));
                    let raw = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
                    let noted = log.note(&head(&raw));
                    for _ in 0..2000 {
                        log.log(&entry(&noted));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        log.flush();
        let text = sink.text();
        assert_eq!(text.lines().count(), 8000);
        for l in text.lines() {
            assert!(
                l.starts_with("127.0.0.1 - - [") && l.contains("\" 200 1 0.000000"),
                "{l}"
            );
        }
    }

    #[test]
    fn the_flusher_writes_within_the_interval() {
        let sink = Shared::default();
        let log = AccessLog::to_writer(sink.clone());
        let noted = log.note(&head("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
        log.log(&entry(&noted));
        let end = std::time::Instant::now() + FLUSH_INTERVAL * 3;
        while sink.text().is_empty() {
            assert!(std::time::Instant::now() < end, "not flushed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
