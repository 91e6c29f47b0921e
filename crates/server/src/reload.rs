//! What a running server can change without closing a socket: the service behind a listener
//! ([`Swap`]) and who holds the listening sockets ([`Listeners`], for a new binary to take
//! over).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::{Request, Response, Service};

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
