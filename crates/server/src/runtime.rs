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
use futures_util::future::Either;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::conn::serve_connection;
use crate::metrics::{self, Event};
use crate::reload::{Added, Control};
use crate::{
    AccessLog, Health, HttpConfig, Listeners, Overload, RuntimeConfig, Service, TcpService,
};

/// Pending connections the kernel queues per listening socket while all workers are busy.
const LISTEN_BACKLOG: i32 = 4096;
/// First pause after a failed `accept` (EMFILE...); it doubles up to [`MAX_ACCEPT_BACKOFF`].
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
/// Longest pause between `accept` retries.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// At most one "--max-connections reached" line per this long, however many connections hit
/// the limit: the metric counts each one, the log only says that it is happening.
const OVERLOAD_LOG_EVERY: Duration = Duration::from_secs(5);

/// Becomes ready once shutdown has begun, for the whole server or for the listener the
/// connection came in on (closed by a reload). A listener's token is a child of the server's,
/// so one token says both and waiting on it is one small future (an idle connection holds it).
#[derive(Debug, Clone)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// Waits until shutdown begins.
    pub async fn wait(&mut self) {
        self.cancelled().await;
    }

    /// Whether shutdown has begun.
    pub fn is_down(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Ready once shutdown has begun, borrowing rather than taking `&mut self`, for a driver
    /// that polls it beside other things.
    pub(crate) fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// The shutdown of a connection accepted on a listener that `closed` ends.
    fn for_listener(closed: CancellationToken) -> Shutdown {
        Shutdown { token: closed }
    }

    #[cfg(test)]
    pub(crate) fn never() -> Shutdown {
        Shutdown {
            token: CancellationToken::new(),
        }
    }
}

/// Starts a graceful shutdown: the binary uses it on the first SIGINT/SIGTERM, tests and
/// embedders whenever they like.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    token: CancellationToken,
    health: Arc<Health>,
    listeners: Listeners,
}

impl ShutdownHandle {
    /// Stops accepting and lets in-flight requests finish within the grace period; `/readyz`
    /// answers 503 from now on.
    pub fn shutdown(&self) {
        self.health.set_draining();
        // The copies kept for a handover would keep the sockets open (and connections queueing
        // on them) after the accept loops stop.
        self.listeners.clear();
        self.token.cancel();
    }
}

/// Type-erased per-thread starter of one bound service.
pub(crate) type Starter = Box<dyn Fn(TcpListener, Worker) + Send + Sync>;
type Task = Box<dyn FnOnce(Shutdown) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

struct Bound {
    sockets: Vec<std::net::TcpListener>,
    start: Arc<Starter>,
    /// Fires when a reload removes the listener (a child of the server's shutdown, except
    /// for the admin listener's).
    closed: CancellationToken,
    /// Whether its connections count as the server's (a permit each, drained at shutdown);
    /// not for the admin listener, which must answer `/readyz` while the rest drains.
    counted: bool,
}

/// What a worker thread gives each of its accept loops.
#[derive(Clone)]
pub(crate) struct Worker {
    shutdown: Shutdown,
    permits: Arc<Semaphore>,
    live: Arc<Live>,
    overload: Overload,
    /// `None` for the admin listener: no permit, not waited for, stops only with the worker.
    counted: bool,
}

/// Connections alive on one worker thread, to wait for at shutdown.
#[derive(Default)]
struct Live {
    count: AtomicUsize,
    idle: Notify,
}

/// Workers done draining: one that is done keeps running (its admin listener answers
/// `/readyz`) until all are, so no listening socket closes under a connection queued on it
/// while the process still serves.
#[derive(Default)]
struct Drained {
    count: AtomicUsize,
    all: Notify,
}

/// Keeps a connection counted (globally by its permit, per thread by [`Live`]) while it lives.
struct ConnGuard {
    _permit: OwnedSemaphorePermit,
    live: Arc<Live>,
}

impl ConnGuard {
    fn new(permit: OwnedSemaphorePermit, live: Arc<Live>) -> ConnGuard {
        live.count.fetch_add(1, Ordering::AcqRel);
        metrics::open_connections(1);
        ConnGuard {
            _permit: permit,
            live,
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        metrics::open_connections(-1);
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
    /// Cancelled when shutdown begins; every counted listener's token is its child.
    shutdown: CancellationToken,
    health: Arc<Health>,
    /// Listening sockets handed down (systemd's `LISTEN_FDS`, or the binary being replaced),
    /// used by [`Server::bind`] for their address instead of binding anew.
    inherited: Vec<(SocketAddr, std::net::TcpListener)>,
    listeners: Listeners,
    control: Control,
}

/// The per-thread starter of an HTTP listener serving `service`.
pub(crate) fn http_starter<S: Service>(service: S, config: HttpConfig) -> Starter {
    let service = Arc::new(service);
    let config = Arc::new(config);
    Box::new(move |listener, worker| {
        let service = service.clone();
        let config = config.clone();
        tokio::spawn(accept_loop(
            listener,
            worker,
            move |stream, peer, local, shutdown| {
                serve_connection(
                    stream,
                    peer,
                    local,
                    service.clone(),
                    config.clone(),
                    shutdown,
                )
            },
        ));
    })
}

/// The per-thread starter of an HTTPS listener serving `service` (see [`Server::https`]).
pub(crate) fn https_starter<S: Service>(
    service: S,
    config: HttpConfig,
    tls: Arc<rustls::ServerConfig>,
) -> Starter {
    let service = Arc::new(service);
    let tls = if config.http2 {
        tls
    } else {
        // `--no-http2`: ALPN never settles on h2, so every client speaks HTTP/1.1.
        let mut http1_only = (*tls).clone();
        http1_only.alpn_protocols.retain(|p| p != b"h2");
        Arc::new(http1_only)
    };
    let config = Arc::new(config);
    Box::new(move |listener, worker| {
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
                    let stream = tls_accept(stream, peer, tls, &handshakes).await?;
                    // Either protocol runs in a task of its own, which does not hold the
                    // handshake's state (some 1.5 KiB) for the connection's life.
                    if stream.is_h2() {
                        let h2 = crate::h2::serve_connection(
                            stream, peer, local, service, config, shutdown,
                        );
                        return Some(Either::Left(h2));
                    }
                    // What an HTTP/1.1 connection hands on, an HTTP/2 preface inside a session
                    // ALPN settled on HTTP/1.1, is nothing to run: `Handover::serve` refuses it.
                    let h1 = serve_connection(stream, peer, local, service, config, shutdown);
                    Some(Either::Right(h1.map(drop)))
                }
            },
        ));
    })
}

impl Server {
    /// A server with no services yet.
    pub fn new(config: RuntimeConfig) -> Server {
        let shutdown = CancellationToken::new();
        let listeners = Listeners::default();
        let control = Control::default();
        {
            let mut inner = control.lock();
            inner.threads = config.threads.max(1);
            inner.listeners = listeners.clone();
            inner.shutdown = shutdown.clone();
        }
        Server {
            config: RuntimeConfig {
                threads: config.threads.max(1),
                max_connections: config.max_connections.max(1),
                ..config
            },
            bound: Vec::new(),
            tasks: Vec::new(),
            logs: Vec::new(),
            shutdown,
            health: Health::new(),
            inherited: Vec::new(),
            listeners,
            control,
        }
    }

    /// Adds and removes listeners while the server runs.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// A handle that starts a graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            token: self.shutdown.clone(),
            health: self.health.clone(),
            listeners: self.listeners.clone(),
        }
    }

    /// The readiness `/readyz` reports; others may register checks on it.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// Every listening socket bound so far (and later), for handing to a new binary.
    pub fn listeners(&self) -> Listeners {
        self.listeners.clone()
    }

    /// Listening sockets this process was given (socket activation, a binary upgrade): a later
    /// bind of the same address, or of the same port where the given socket is a wildcard,
    /// takes them instead of binding. Sockets no bind claims are closed when the server runs.
    pub fn inherit(&mut self, sockets: Vec<std::net::TcpListener>) {
        for s in sockets {
            match s.local_addr() {
                Ok(addr) => self.inherited.push((addr, s)),
                Err(e) => tracing::warn!(error = %e, "an inherited socket has no address"),
            }
        }
    }

    /// Binds `addr` for HTTP served by `service`; returns the bound address (port 0 resolved).
    pub fn http<S: Service>(
        &mut self,
        addr: SocketAddr,
        service: S,
        config: HttpConfig,
    ) -> io::Result<SocketAddr> {
        self.logs.extend(config.access_log.clone());
        let start = http_starter(service, config);
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
        self.logs.extend(config.access_log.clone());
        let start = https_starter(service, config, tls);
        self.bind(addr, start)
    }

    /// Binds `addr` for the admin service (metrics, health): its connections take no permit
    /// and are not drained, so `/readyz` still answers (503) while the other listeners drain,
    /// and it never logs its requests nor counts them in the metrics.
    pub fn admin<S: Service>(&mut self, addr: SocketAddr, service: S) -> io::Result<SocketAddr> {
        // The default configuration has no access log and no metrics.
        let start = http_starter(service, HttpConfig::default());
        self.bind_as(addr, start, false)
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
                    async move {
                        service.serve(stream, peer, shutdown).await;
                        None::<std::future::Ready<()>>
                    }
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
        self.bind_as(addr, start, true)
    }

    fn bind_as(
        &mut self,
        addr: SocketAddr,
        start: Starter,
        counted: bool,
    ) -> io::Result<SocketAddr> {
        let (actual, sockets) = match self.take_inherited(addr)? {
            Some(found) => found,
            None => {
                let actual = claim_port(addr)?;
                let mut sockets = Vec::with_capacity(self.config.threads);
                for _ in 0..self.config.threads {
                    sockets.push(listen_socket(actual)?);
                }
                (actual, sockets)
            }
        };
        for s in &sockets {
            self.listeners.push(actual, s);
        }
        // The admin listener's connections get a shutdown that only a reload fires: they end
        // with their worker, after the others have drained.
        let closed = if counted {
            self.shutdown.child_token()
        } else {
            CancellationToken::new()
        };
        self.control.lock().closers.push((actual, closed.clone()));
        self.bound.push(Bound {
            sockets,
            start: Arc::new(start),
            closed,
            counted,
        });
        Ok(actual)
    }

    /// The inherited sockets for `addr`, one per worker thread: a process that passed one per
    /// thread hands each worker its own; fewer are shared (duplicated) between workers.
    fn take_inherited(
        &mut self,
        addr: SocketAddr,
    ) -> io::Result<Option<(SocketAddr, Vec<std::net::TcpListener>)>> {
        // Port 0 (any port) takes the first inherited address on the same IP: a process
        // started by an upgrade binds in the order its predecessor did, with the same flags.
        let any_port = addr.port() == 0;
        let first_same_ip = any_port
            .then(|| self.inherited.iter().find(|(a, _)| a.ip() == addr.ip()))
            .flatten()
            .map(|(a, _)| *a);
        let matches = |a: &SocketAddr| {
            *a == addr
                || Some(*a) == first_same_ip
                || (!any_port && a.port() == addr.port() && a.ip().is_unspecified())
        };
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.inherited)
            .into_iter()
            .partition(|(a, _)| matches(a));
        self.inherited = rest;
        let Some((actual, _)) = mine.first() else {
            return Ok(None);
        };
        let actual = *actual;
        let mut sockets = Vec::with_capacity(self.config.threads.max(mine.len()));
        for i in 0..self.config.threads.max(mine.len()) {
            let (_, s) = &mine[i % mine.len()];
            s.set_nonblocking(true)?;
            sockets.push(s.try_clone()?);
        }
        Ok(Some((actual, sockets)))
    }

    /// Runs every bound service until [`ShutdownHandle::shutdown`], then waits up to the grace
    /// period for open connections to finish.
    pub fn run(self) -> io::Result<()> {
        let Server {
            config,
            bound,
            mut tasks,
            logs,
            shutdown,
            health,
            inherited,
            listeners: _,
            control,
        } = self;
        for (addr, _) in &inherited {
            tracing::warn!(%addr, "an inherited socket matches no listener; closing it");
        }
        drop(inherited);
        let permits = Arc::new(Semaphore::new(config.max_connections));
        let drained = Arc::new(Drained::default());
        let mut per_thread: Vec<Vec<Listening>> = (0..config.threads).map(|_| Vec::new()).collect();
        for b in bound {
            for (i, socket) in b.sockets.into_iter().enumerate() {
                // More inherited sockets than threads: the extra ones go round the workers.
                per_thread[i % config.threads].push(Listening {
                    socket,
                    start: b.start.clone(),
                    closed: b.closed.clone(),
                    counted: b.counted,
                });
            }
        }
        let mut handles = Vec::new();
        for (i, listeners) in per_thread.into_iter().enumerate() {
            let worker = Worker {
                shutdown: Shutdown {
                    token: shutdown.clone(),
                },
                permits: permits.clone(),
                live: Arc::new(Live::default()),
                overload: config.overload,
                counted: true,
            };
            let (added_tx, added) = tokio::sync::mpsc::unbounded_channel();
            control.lock().workers.push(added_tx);
            let own_tasks = if i == 0 {
                std::mem::take(&mut tasks)
            } else {
                Vec::new()
            };
            let stop = Stop {
                grace: config.grace,
                drained: drained.clone(),
                workers: config.threads,
            };
            let handle = std::thread::Builder::new()
                .name(format!("sockserve-worker-{i}"))
                .spawn(move || run_worker(listeners, added, own_tasks, worker, stop))?;
            handles.push(handle);
        }
        health.set_listening();
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
/// One listening socket of a worker and what serves its connections.
struct Listening {
    socket: std::net::TcpListener,
    start: Arc<Starter>,
    closed: CancellationToken,
    counted: bool,
}

/// How a worker ends: within `grace`, once all `workers` have drained.
struct Stop {
    grace: Duration,
    drained: Arc<Drained>,
    workers: usize,
}

fn run_worker(
    listeners: Vec<Listening>,
    mut added: tokio::sync::mpsc::UnboundedReceiver<Added>,
    tasks: Vec<Task>,
    worker: Worker,
    stop: Stop,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?;
    let result = rt.block_on(async move {
        for Listening {
            socket,
            start,
            closed,
            counted,
        } in listeners
        {
            let listener = TcpListener::from_std(socket)?;
            let mut worker = worker.clone();
            worker.counted = counted;
            worker.shutdown = Shutdown::for_listener(closed);
            start(listener, worker);
        }
        let adder = worker.clone();
        tokio::spawn(async move {
            while let Some(Added {
                socket,
                start,
                closed,
            }) = added.recv().await
            {
                match TcpListener::from_std(socket) {
                    Ok(listener) => {
                        let mut worker = adder.clone();
                        worker.shutdown = Shutdown::for_listener(closed);
                        start(listener, worker);
                    }
                    Err(e) => tracing::error!(error = %e, "cannot start an added listener"),
                }
            }
        });
        for task in tasks {
            tokio::spawn(task(worker.shutdown.clone()));
        }
        let mut shutdown = worker.shutdown.clone();
        shutdown.wait().await;
        let deadline = tokio::time::Instant::now() + stop.grace;
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
        stop.drained.count.fetch_add(1, Ordering::AcqRel);
        stop.drained.all.notify_waiters();
        loop {
            let all = stop.drained.all.notified();
            if stop.drained.count.load(Ordering::Acquire) >= stop.workers {
                break;
            }
            if tokio::time::timeout_at(deadline, all).await.is_err() {
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
///
/// A connection's task may end by handing it on (`Some`: HTTP/2 found by the HTTP/1.1 reader,
/// or, after a TLS handshake, whichever protocol ALPN chose), which then runs in a task of its
/// own: a task keeps the size of its largest state for its whole life, so the connection would
/// otherwise hold the HTTP/1.1 connection's (or the TLS handshake's) room beside its own. The
/// connection's permit goes with it.
async fn accept_loop<H, Fut, Then>(listener: TcpListener, worker: Worker, handle: H)
where
    H: Fn(TcpStream, SocketAddr, SocketAddr, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Option<Then>> + Send + 'static,
    Then: Future<Output = ()> + Send + 'static,
{
    let local = listener.local_addr().ok();
    let mut shutdown = worker.shutdown.clone();
    let mut backoff = MIN_ACCEPT_BACKOFF;
    loop {
        let permit = if worker.counted {
            let permit = tokio::select! {
                p = permit(&worker, &listener) => p,
                _ = shutdown.wait() => return,
            };
            let Some(permit) = permit else { return };
            Some(permit)
        } else {
            None
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
                let guard = permit.map(|p| ConnGuard::new(p, worker.live.clone()));
                let conn = handle(stream, peer, local, worker.shutdown.clone());
                // `map` rather than an `async` block awaiting `conn`: such a block keeps the
                // connection's future twice (as captured, and as awaited), which doubled the
                // memory every connection holds.
                tokio::spawn(conn.map(move |then| match then {
                    Some(then) => drop(tokio::spawn(then.map(move |()| drop(guard)))),
                    None => drop(guard),
                }));
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

/// A connection slot under `--max-connections`; `None` once the semaphore is closed. At the
/// limit, `Overload::Wait` waits for one (the connection waits in the backlog, as nginx's do)
/// and `Overload::Refuse` accepts and closes connections until one frees up; both are counted
/// and logged at most every [`OVERLOAD_LOG_EVERY`].
async fn permit(worker: &Worker, listener: &TcpListener) -> Option<OwnedSemaphorePermit> {
    loop {
        match worker.permits.clone().try_acquire_owned() {
            Ok(p) => return Some(p),
            Err(tokio::sync::TryAcquireError::Closed) => return None,
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        overload_log(worker.overload);
        match worker.overload {
            Overload::Wait => {
                metrics::event(Event::OverloadWaited);
                return worker.permits.clone().acquire_owned().await.ok();
            }
            Overload::Refuse => {
                tokio::select! {
                    p = worker.permits.clone().acquire_owned() => return p.ok(),
                    a = listener.accept() => if let Ok((stream, _)) = a {
                        metrics::event(Event::OverloadRefused);
                        // Closed at once; a reset rather than a FIN would lose nothing more.
                        drop(stream);
                    },
                }
            }
        }
    }
}

/// The rate-limited line saying `--max-connections` was reached.
fn overload_log(mode: Overload) {
    use std::sync::atomic::AtomicU64;
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if now >= last + OVERLOAD_LOG_EVERY.as_secs()
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let what = match mode {
            Overload::Wait => "new connections wait",
            Overload::Refuse => "new connections are refused",
        };
        tracing::warn!("--max-connections reached: {what} (see sockserve_overload_* metrics)");
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
    let tls = match tokio::time::timeout(crate::HANDSHAKE_TIMEOUT, shake).await {
        Ok(tls) => tls,
        Err(_) => {
            tracing::debug!(?peer, "TLS handshake timed out");
            None
        }
    };
    metrics::event(if tls.is_some() {
        Event::TlsHandshake
    } else {
        Event::TlsHandshakeFailed
    });
    tls
}

/// Checks that `addr` is free and resolves port 0, with an ordinary bind.
///
/// `SO_REUSEPORT` lets any process of the same user join a listening group, so binding the
/// worker sockets directly would let a second `sockserve` silently share the port instead of
/// failing with "address in use". A plain bind fails while anyone listens on the port.
pub(crate) fn claim_port(addr: SocketAddr) -> io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind(addr)?;
    probe.local_addr()
}

/// A non-blocking listening socket with `SO_REUSEPORT`, so every worker can have its own.
pub(crate) fn listen_socket(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
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
