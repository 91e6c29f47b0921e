//! Listeners, worker threads, the accept loop and graceful shutdown.
//!
//! The caller binds every service first ([`Server::http`], [`Server::tcp`]), so a port in use is
//! reported before anything runs, then calls [`Server::run`], which blocks until its
//! [`ShutdownHandle`] is used and the grace period that follows. Signals, the open-files limit
//! and ending the process are the caller's: this library never exits and sets no process-wide
//! state.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::FutureExt as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use crate::conn::serve_connection;
use crate::{AccessLog, HttpConfig, RuntimeConfig, Service, TcpService};

/// Pending connections the kernel queues per listening socket while all workers are busy.
const LISTEN_BACKLOG: i32 = 4096;
/// First pause after a failed `accept` (EMFILE...); it doubles up to [`MAX_ACCEPT_BACKOFF`].
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
/// Longest pause between `accept` retries.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Becomes ready once shutdown has begun.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Waits until shutdown begins.
    pub async fn wait(&mut self) {
        let _ = self.rx.wait_for(|&down| down).await;
    }

    /// Whether shutdown has begun.
    pub fn is_down(&self) -> bool {
        *self.rx.borrow()
    }
}

/// Starts a graceful shutdown: the binary uses it on the first SIGINT/SIGTERM, tests and
/// embedders whenever they like.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Stops accepting and lets in-flight requests finish within the grace period.
    pub fn shutdown(&self) {
        let _ = self.tx.send(true);
    }
}

/// Type-erased per-thread starter of one bound service.
type Starter = Box<dyn Fn(TcpListener, Worker) + Send + Sync>;
type Task = Box<dyn FnOnce(Shutdown) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

struct Bound {
    sockets: Vec<std::net::TcpListener>,
    start: Arc<Starter>,
}

/// What a worker thread gives each of its accept loops.
#[derive(Clone)]
struct Worker {
    shutdown: Shutdown,
    permits: Arc<Semaphore>,
    live: Arc<Live>,
}

/// Connections alive on one worker thread, to wait for at shutdown.
#[derive(Default)]
struct Live {
    count: AtomicUsize,
    idle: Notify,
}

/// Keeps a connection counted (globally by its permit, per thread by [`Live`]) while it lives.
struct ConnGuard {
    _permit: OwnedSemaphorePermit,
    live: Arc<Live>,
}

impl ConnGuard {
    fn new(permit: OwnedSemaphorePermit, live: Arc<Live>) -> ConnGuard {
        live.count.fetch_add(1, Ordering::AcqRel);
        ConnGuard {
            _permit: permit,
            live,
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if self.live.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.live.idle.notify_waiters();
        }
    }
}

/// The set of services to run and the threads to run them on.
pub struct Server {
    config: RuntimeConfig,
    bound: Vec<Bound>,
    tasks: Vec<Task>,
    /// The HTTP services' access logs, flushed when the server stops.
    logs: Vec<AccessLog>,
    shutdown_tx: Arc<watch::Sender<bool>>,
    shutdown_rx: watch::Receiver<bool>,
}

impl Server {
    /// A server with no services yet.
    pub fn new(config: RuntimeConfig) -> Server {
        let (tx, rx) = watch::channel(false);
        Server {
            config: RuntimeConfig {
                threads: config.threads.max(1),
                max_connections: config.max_connections.max(1),
                ..config
            },
            bound: Vec::new(),
            tasks: Vec::new(),
            logs: Vec::new(),
            shutdown_tx: Arc::new(tx),
            shutdown_rx: rx,
        }
    }

    /// A handle that starts a graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            tx: self.shutdown_tx.clone(),
        }
    }

    /// Binds `addr` for HTTP served by `service`; returns the bound address (port 0 resolved).
    pub fn http<S: Service>(
        &mut self,
        addr: SocketAddr,
        service: S,
        config: HttpConfig,
    ) -> io::Result<SocketAddr> {
        let service = Arc::new(service);
        self.logs.extend(config.access_log.clone());
        let config = Arc::new(config);
        let start: Starter = Box::new(move |listener, worker| {
            let service = service.clone();
            let config = config.clone();
            tokio::spawn(accept_loop(
                listener,
                worker,
                move |stream, peer, local, shutdown| {
                    let service = service.clone();
                    let config = config.clone();
                    async move {
                        serve_connection(stream, peer, local, &*service, &config, shutdown).await
                    }
                },
            ));
        });
        self.bind(addr, start)
    }

    /// Binds `addr` for HTTPS served by `service`: each connection's TLS handshake runs first,
    /// under [`crate::HANDSHAKE_TIMEOUT`] and at most [`crate::MAX_HANDSHAKES`] at once per
    /// worker thread; a failed handshake closes the connection, logged at debug level only
    /// (scanners and clients that distrust the certificate cause most of them). Then HTTP/2
    /// when ALPN settled on `h2` (offered unless `config.http2` is off), HTTP/1.1 otherwise.
    pub fn https<S: Service>(
        &mut self,
        addr: SocketAddr,
        service: S,
        config: HttpConfig,
        tls: Arc<rustls::ServerConfig>,
    ) -> io::Result<SocketAddr> {
        let service = Arc::new(service);
        self.logs.extend(config.access_log.clone());
        let tls = if config.http2 {
            tls
        } else {
            // `--no-http2`: ALPN never settles on h2, so every client speaks HTTP/1.1.
            let mut http1_only = (*tls).clone();
            http1_only.alpn_protocols.retain(|p| p != b"h2");
            Arc::new(http1_only)
        };
        let config = Arc::new(config);
        let start: Starter = Box::new(move |listener, worker| {
            let service = service.clone();
            let config = config.clone();
            let tls = tls.clone();
            let handshakes = Arc::new(Semaphore::new(crate::MAX_HANDSHAKES));
            tokio::spawn(accept_loop(
                listener,
                worker,
                move |stream, peer, local, shutdown| {
                    let service = service.clone();
                    let config = config.clone();
                    let tls = tls.clone();
                    let handshakes = handshakes.clone();
                    async move {
                        let Some(stream) = tls_accept(stream, peer, tls, &handshakes).await else {
                            return;
                        };
                        if stream.is_h2() {
                            // Boxed: an HTTP/1.1 connection does not carry the HTTP/2 state.
                            let h2 = crate::h2::serve_connection(
                                stream, peer, local, &*service, &config, shutdown,
                            );
                            return Box::pin(h2).await;
                        }
                        serve_connection(stream, peer, local, &*service, &config, shutdown).await
                    }
                },
            ));
        });
        self.bind(addr, start)
    }

    /// Binds `addr` for a plain TCP service; returns the bound address.
    pub fn tcp<T: TcpService>(&mut self, addr: SocketAddr, service: T) -> io::Result<SocketAddr> {
        let service = Arc::new(service);
        let start: Starter = Box::new(move |listener, worker| {
            let service = service.clone();
            tokio::spawn(accept_loop(
                listener,
                worker,
                move |stream, peer, _local, shutdown| {
                    let service = service.clone();
                    async move { service.serve(stream, peer, shutdown).await }
                },
            ));
        });
        self.bind(addr, start)
    }

    /// Runs `task` on the first worker thread once the server starts (a UDP responder, say).
    pub fn spawn<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Box::new(move |s| Box::pin(task(s))));
    }

    fn bind(&mut self, addr: SocketAddr, start: Starter) -> io::Result<SocketAddr> {
        let actual = claim_port(addr)?;
        let mut sockets = Vec::with_capacity(self.config.threads);
        for _ in 0..self.config.threads {
            sockets.push(listen_socket(actual)?);
        }
        self.bound.push(Bound {
            sockets,
            start: Arc::new(start),
        });
        Ok(actual)
    }

    /// Runs every bound service until [`ShutdownHandle::shutdown`], then waits up to the grace
    /// period for open connections to finish.
    pub fn run(self) -> io::Result<()> {
        let Server {
            config,
            bound,
            mut tasks,
            logs,
            // Kept to the end: with every sender gone, the workers would take it for a shutdown.
            shutdown_tx: _shutdown_tx,
            shutdown_rx,
        } = self;
        let permits = Arc::new(Semaphore::new(config.max_connections));
        let mut per_thread: Vec<Vec<(std::net::TcpListener, Arc<Starter>)>> =
            (0..config.threads).map(|_| Vec::new()).collect();
        for b in bound {
            for (i, socket) in b.sockets.into_iter().enumerate() {
                per_thread[i].push((socket, b.start.clone()));
            }
        }
        let mut handles = Vec::new();
        for (i, listeners) in per_thread.into_iter().enumerate() {
            let worker = Worker {
                shutdown: Shutdown {
                    rx: shutdown_rx.clone(),
                },
                permits: permits.clone(),
                live: Arc::new(Live::default()),
            };
            let own_tasks = if i == 0 {
                std::mem::take(&mut tasks)
            } else {
                Vec::new()
            };
            let grace = config.grace;
            let handle = std::thread::Builder::new()
                .name(format!("sockserve-worker-{i}"))
                .spawn(move || run_worker(listeners, own_tasks, worker, grace))?;
            handles.push(handle);
        }
        let mut result = Ok(());
        for h in handles {
            let joined = h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a worker thread panicked")));
            result = result.and(joined);
        }
        for log in &logs {
            log.flush();
        }
        result
    }
}

/// Most threads a worker runs blocking work on (file lookups, SQLite), as nginx's default
/// thread pool: a burst of first requests for uncached files queues for them instead of
/// starting a thread each (tokio's default allows 512), which would hold their stacks and
/// allocator arenas long after the burst.
const BLOCKING_THREADS: usize = 32;

/// One worker thread: its own event loop, its accept loops, then the drain at shutdown.
fn run_worker(
    listeners: Vec<(std::net::TcpListener, Arc<Starter>)>,
    tasks: Vec<Task>,
    worker: Worker,
    grace: Duration,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?;
    let result = rt.block_on(async move {
        for (socket, start) in listeners {
            let listener = TcpListener::from_std(socket)?;
            start(listener, worker.clone());
        }
        for task in tasks {
            tokio::spawn(task(worker.shutdown.clone()));
        }
        let mut shutdown = worker.shutdown.clone();
        shutdown.wait().await;
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let idle = worker.live.idle.notified();
            if worker.live.count.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                tracing::warn!(
                    open = worker.live.count.load(Ordering::Acquire),
                    "grace period over; closing the remaining connections"
                );
                break;
            }
        }
        Ok(())
    });
    // Dropping the runtime would wait for every blocking-pool thread still running a task (a
    // file lookup, a SQLite statement) that belonged to a connection the grace period already
    // gave up on: nothing can come of it any more, so the process does not wait for it.
    rt.shutdown_background();
    result
}

/// Accepts connections until shutdown, one permit each, backing off when `accept` fails.
async fn accept_loop<H, Fut>(listener: TcpListener, worker: Worker, handle: H)
where
    H: Fn(TcpStream, SocketAddr, SocketAddr, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let local = listener.local_addr().ok();
    let mut shutdown = worker.shutdown.clone();
    let mut backoff = MIN_ACCEPT_BACKOFF;
    loop {
        let permit = tokio::select! {
            p = worker.permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.wait() => return,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = MIN_ACCEPT_BACKOFF;
                let _ = stream.set_nodelay(true);
                // A listener bound to one address is reached only there; only a wildcard
                // listener has to ask each socket (one `getsockname`).
                let local = match local {
                    Some(addr) if !addr.ip().is_unspecified() => addr,
                    _ => stream.local_addr().ok().or(local).unwrap_or(peer),
                };
                let guard = ConnGuard::new(permit, worker.live.clone());
                let conn = handle(stream, peer, local, worker.shutdown.clone());
                // `map` rather than an `async` block awaiting `conn`: such a block keeps the
                // connection's future twice (as captured, and as awaited), which doubled the
                // memory every connection holds.
                tokio::spawn(conn.map(move |()| drop(guard)));
            }
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS...: the listener is fine, the process is not; wait for
                // connections to close instead of spinning.
                tracing::warn!(error = %e, retry_in = ?backoff, "accept failed");
                drop(permit);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}

/// The TLS handshake on an accepted connection, waiting for a handshake permit and then
/// handshaking, all within [`crate::HANDSHAKE_TIMEOUT`]; `None` when it failed or timed out.
async fn tls_accept(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<rustls::ServerConfig>,
    handshakes: &Semaphore,
) -> Option<crate::transport::Tls> {
    let shake = async {
        let _permit = handshakes.acquire().await.ok()?;
        crate::tls::handshake(stream, config)
            .await
            .map_err(|e| {
                tracing::debug!(?peer, error = %e, "TLS handshake failed");
            })
            .ok()
    };
    match tokio::time::timeout(crate::HANDSHAKE_TIMEOUT, shake).await {
        Ok(tls) => tls,
        Err(_) => {
            tracing::debug!(?peer, "TLS handshake timed out");
            None
        }
    }
}

/// Checks that `addr` is free and resolves port 0, with an ordinary bind.
///
/// `SO_REUSEPORT` lets any process of the same user join a listening group, so binding the
/// worker sockets directly would let a second `sockserve` silently share the port instead of
/// failing with "address in use". A plain bind fails while anyone listens on the port.
fn claim_port(addr: SocketAddr) -> io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind(addr)?;
    probe.local_addr()
}

/// A non-blocking listening socket with `SO_REUSEPORT`, so every worker can have its own.
fn listen_socket(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // Dual-stack, as python's http.server binds `::`: IPv4 clients arrive as ::ffff:a.b.c.d.
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}
