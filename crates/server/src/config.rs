//! Server settings: timeouts, limits, threads. Built and validated by the CLI, read-only here.

use std::time::Duration;

use http1::Limits;

use crate::AccessLog;

/// How long a client may take to send a whole request head, from its first byte.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may stay silent while sending a body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a kept-alive connection may wait for its next request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one write to a client may block (a client that stops reading).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight responses get to finish after SIGINT/SIGTERM.
pub const GRACE_PERIOD: Duration = Duration::from_secs(30);
/// Most connections open at once; further clients wait in the listen backlog until one closes.
pub const MAX_CONNECTIONS: usize = 25_000;
/// Body bytes the server reads and discards after a handler that did not read its body, so the
/// connection can be kept alive; a longer leftover closes the connection instead.
pub const MAX_DRAIN: u64 = 256 * 1024;

/// Settings of one HTTP listener.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Size limits for heads and bodies.
    pub limits: Limits,
    /// See [`HEAD_TIMEOUT`].
    pub head_timeout: Duration,
    /// See [`BODY_TIMEOUT`].
    pub body_timeout: Duration,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`WRITE_TIMEOUT`].
    pub write_timeout: Duration,
    /// Where access-log lines go; `None` for none.
    pub access_log: Option<AccessLog>,
    /// Whether a client may speak HTTP/2 (h2c with prior knowledge on a plain listener):
    /// `--no-http2` turns it off, and the preface is then answered as HTTP/1.1 would (505).
    pub http2: bool,
    /// Whether requests are counted for [`crate::metrics`] (on with the admin listener): one
    /// clock read and a few relaxed atomic adds per request.
    pub metrics: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            limits: Limits::default(),
            head_timeout: HEAD_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            access_log: None,
            http2: true,
            metrics: false,
        }
    }
}

/// What happens to a new connection while [`MAX_CONNECTIONS`] are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overload {
    /// It waits in the listen backlog until one closes (nginx's behaviour: it stops accepting).
    #[default]
    Wait,
    /// It is accepted and closed at once, so the client learns now instead of timing out.
    Refuse,
}

/// Settings of the runtime as a whole.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Worker threads, each with its own event loop and its own listening socket
    /// (`SO_REUSEPORT`); defaults to the number of cores.
    pub threads: usize,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`GRACE_PERIOD`].
    pub grace: Duration,
    /// See [`Overload`].
    pub overload: Overload,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: MAX_CONNECTIONS,
            grace: GRACE_PERIOD,
            overload: Overload::Wait,
        }
    }
}
