//! What a running server can change without closing a socket: the service behind a listener
//! ([`Swap`]), the set of listeners ([`Control`]) and who holds the listening sockets
//! ([`Listeners`], for a new binary to take over).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use std::io;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use crate::runtime::{Starter, claim_port, http_starter, https_starter, listen_socket};
use crate::{HttpConfig, Request, Response, Service};

/// A service that can be replaced while it runs: each request takes the service current when
/// it arrives and keeps it to its end, so requests in flight finish on the old configuration
/// and the next ones see the new one at once. Cloning shares the slot.
pub struct Swap<S> {
    slot: Arc<ArcSwap<S>>,
}

impl<S> Clone for Swap<S> {
    fn clone(&self) -> Self {
        Swap {
            slot: self.slot.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Swap<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Swap")
    }
}

impl<S: Service> Swap<S> {
    /// A slot holding `service`.
    pub fn new(service: S) -> Swap<S> {
        Swap {
            slot: Arc::new(ArcSwap::from_pointee(service)),
        }
    }

    /// Replaces the service for the requests that arrive from now on.
    pub fn store(&self, service: S) {
        self.slot.store(Arc::new(service));
    }
}

impl<S: Service> Service for Swap<S> {
    async fn call(&self, req: Request) -> Response {
        let current = self.slot.load_full();
        current.call(req).await
    }

    fn options_asterisk(&self) -> Response {
        self.slot.load().options_asterisk()
    }
}

/// Duplicates of every listening socket the server bound, by address: what a new binary is
/// handed to take over without a moment when nobody listens (nginx's `USR2`). They are the
/// same sockets (same kernel queue), so a connection waiting in a backlog is accepted by
/// whichever process accepts next, never reset.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    all: Arc<Mutex<Vec<(SocketAddr, std::net::TcpListener)>>>,
}

impl Listeners {
    pub(crate) fn push(&self, addr: SocketAddr, socket: &std::net::TcpListener) {
        match socket.try_clone() {
            Ok(dup) => self.lock().push((addr, dup)),
            Err(e) => tracing::warn!(%addr, error = %e, "cannot keep a listener for handover"),
        }
    }

    /// Closes the copies of `addr`'s sockets (a listener a reload removed).
    pub(crate) fn remove(&self, addr: SocketAddr) {
        self.lock().retain(|(a, _)| *a != addr);
    }

    /// Closes the copies (at shutdown, once a handover no longer needs them).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// Duplicates of the sockets, for passing to another process.
    pub fn sockets(&self) -> Vec<std::net::TcpListener> {
        self.lock()
            .iter()
            .filter_map(|(_, s)| s.try_clone().ok())
            .collect()
    }

    /// The addresses listened on, once each.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        let mut out: Vec<SocketAddr> = self.lock().iter().map(|(a, _)| *a).collect();
        out.dedup();
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SocketAddr, std::net::TcpListener)>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Changes the set of listeners of a running server (a reload that adds or removes a
/// `[[listen]]`): a listener is bound first ([`Control::bind`], which may fail and change
/// nothing), then started on every worker; a closed one stops accepting and its connections
/// drain as at shutdown, while the rest of the server goes on.
#[derive(Clone, Default)]
pub struct Control {
    inner: Arc<std::sync::Mutex<ControlInner>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

#[derive(Default)]
pub(crate) struct ControlInner {
    pub(crate) threads: usize,
    /// Each worker's queue of listeners to start.
    pub(crate) workers: Vec<tokio::sync::mpsc::UnboundedSender<Added>>,
    /// Every listener's close signal, by address.
    pub(crate) closers: Vec<(SocketAddr, CancellationToken)>,
    /// The server's shutdown, parent of every counted listener's close token.
    pub(crate) shutdown: CancellationToken,
    pub(crate) listeners: Listeners,
}

/// One worker's socket of a listener added at run time.
pub(crate) struct Added {
    pub(crate) socket: std::net::TcpListener,
    pub(crate) start: Arc<Starter>,
    pub(crate) closed: CancellationToken,
}

/// A listener bound by [`Control::bind`], not accepting yet.
#[derive(Debug)]
pub struct Pending {
    addr: SocketAddr,
    sockets: Vec<std::net::TcpListener>,
}

impl Pending {
    /// The address bound (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Control {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, ControlInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds `addr` now, one socket per worker; nothing accepts until [`Control::start_http`].
    pub fn bind(&self, addr: SocketAddr) -> io::Result<Pending> {
        let threads = self.lock().threads.max(1);
        let actual = claim_port(addr)?;
        let sockets = (0..threads)
            .map(|_| listen_socket(actual))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Pending {
            addr: actual,
            sockets,
        })
    }

    /// Starts serving HTTP on `pending` with `service`.
    pub fn start_http<S: Service>(&self, pending: Pending, service: S, config: HttpConfig) {
        self.start(pending, http_starter(service, config));
    }

    /// Starts serving HTTPS on `pending` with `service`, as [`crate::Server::https`] does.
    pub fn start_https<S: Service>(
        &self,
        pending: Pending,
        service: S,
        config: HttpConfig,
        tls: Arc<rustls::ServerConfig>,
    ) {
        self.start(pending, https_starter(service, config, tls));
    }

    fn start(&self, pending: Pending, start: Starter) {
        let start = Arc::new(start);
        let mut inner = self.lock();
        let closed = inner.shutdown.child_token();
        for s in &pending.sockets {
            inner.listeners.push(pending.addr, s);
        }
        inner.closers.push((pending.addr, closed.clone()));
        let workers = inner.workers.clone();
        drop(inner);
        for (i, socket) in pending.sockets.into_iter().enumerate() {
            let Some(worker) = workers.get(i % workers.len().max(1)) else {
                return;
            };
            let _ = worker.send(Added {
                socket,
                start: start.clone(),
                closed: closed.clone(),
            });
        }
    }

    /// Stops accepting on `addr`; its open connections finish their requests and close.
    pub fn close(&self, addr: SocketAddr) {
        let mut inner = self.lock();
        inner.listeners.remove(addr);
        inner.closers.retain(|(a, closed)| {
            if *a == addr {
                closed.cancel();
                false
            } else {
                true
            }
        });
    }
}
