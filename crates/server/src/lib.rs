//! The sockserve runtime: it owns the sockets and drives the sans-IO [`http1`] code over them.
//!
//! Each worker thread runs its own single-threaded event loop with its own `SO_REUSEPORT`
//! listener, so the kernel spreads connections over the cores and a connection never moves
//! between threads. HTTP and plain TCP services share that accept loop.
//!
//! # Layout
//! - [`runtime`]: [`Server`]: binding, worker threads, accept loop with back-off, graceful
//!   shutdown when its [`ShutdownHandle`] says so. Signals, the open-files limit and ending the
//!   process belong to the program that runs the server: this crate never exits.
//! - `conn`: the HTTP/1.1 connection driver, a thin loop around [`http1::conn::Connection`]:
//!   read, wait under the timeouts, call the [`Service`], write what the state machine planned.
//! - `h2`: the HTTP/2 connection driver (over the sans-IO `http2` crate): each stream becomes the same
//!   [`Request`], its [`Response`] goes back as frames; h2c is handed over by `conn`.
//! - `transport`: the byte streams a connection runs over (plain TCP, TLS), behind one seam.
//! - `tls`: the TLS transport, a rustls session driven over the socket; the handshake runs in
//!   the accept path under [`HANDSHAKE_TIMEOUT`] and [`MAX_HANDSHAKES`].
//! - `clock`: the coarse clock for deadlines and the `Date` value, rendered once a second.
//! - [`body`]: the request [`Body`], streamed from the socket on demand.
//! - [`request`], [`response`]: what a [`Service`] receives and returns.
//! - [`service`]: the [`Service`] and [`TcpService`] traits.
//! - [`upgrade`]: the connection handed to a service after `101 Switching Protocols`.
//! - [`config`]: timeouts and limits, each a named constant.
//! - [`access_log`]: one line per request (common, combined or JSON), buffered per thread.
//! - [`metrics`]: the counters behind `/metrics`, per thread where they are hot.
//! - [`health`]: readiness (listening, not draining, the checks others register).

pub mod access_log;
pub mod body;
mod clock;
pub mod config;
mod conn;
mod h2;
pub mod health;
pub mod metrics;
mod reload;
pub mod request;
pub mod response;
pub mod runtime;
pub mod service;
mod tls;
mod transport;
pub mod upgrade;
mod write;

pub use access_log::AccessLog;
pub use body::{Body, BodyError};
pub use config::{HttpConfig, Overload, RuntimeConfig};
pub use health::Health;
pub use reload::{Control, Listeners, Pending, Swap};
pub use request::{ConnInfo, PseudoHeaders, RemoteUser, Request, TlsInfo};
pub use response::{BoxStream, FileRegion, Response, ResponseBody};
pub use runtime::{Server, Shutdown, ShutdownHandle};
pub use rustls;
pub use service::{Service, TcpService};
pub use tls::{HANDSHAKE_TIMEOUT, MAX_HANDSHAKES};
pub use upgrade::{OnUpgrade, Upgraded};

pub use http1;
