//! Deadlines that work under any executor: the handler timeout, WebSocket pings and the SSE
//! keep-alive wait on them.
//!
//! tokio's own timer panics when there is none to use: outside a tokio runtime ("there is no
//! reactor running"), on a runtime built without `enable_time` ("timers are disabled"), and
//! when a sleep is polled after its runtime's time driver has shut down. tokio offers no way to
//! ask beforehand, so a framework layer cannot tell whether `tokio::time::sleep` is safe where
//! it happens to run (a `TestClient` under a plain `#[test]` executor, an application's own
//! runtime). These deadlines are kept instead by one process-wide thread, started the first
//! time one is needed, that wakes each waiting task when its time comes.
//!
//! A deadline costs nothing until it is first polled before its time (a handler that answers
//! at once never registers one); then one insertion into an ordered map, and one removal when
//! it fires or is dropped. Polling it again only updates its waker, without the map's lock.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// What a registered deadline shares with the timer thread.
#[derive(Default)]
struct Shared {
    fired: AtomicBool,
    waker: AtomicWaker,
}

/// A deadline's place in the queue: its time, then the order of registration.
type Key = (Instant, u64);

/// The queue of deadlines and the thread that fires them.
struct Wheel {
    queue: Mutex<BTreeMap<Key, Arc<Shared>>>,
    /// Wakes the thread when a deadline earlier than all others is added.
    changed: Condvar,
    next: AtomicU64,
}

impl Wheel {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, Arc<Shared>>> {
        // The queue is left consistent by every critical section (no panics inside them).
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The thread: fires what is due, then sleeps until the earliest deadline or a new one.
    fn run(&self) {
        let mut due = Vec::new();
        let mut queue = self.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = queue.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                drop(queue);
                for shared in due.drain(..) {
                    shared.fired.store(true, Ordering::Release);
                    shared.waker.wake();
                }
                queue = self.lock();
                continue;
            }
            queue = match queue.first_key_value().map(|((at, _), _)| *at) {
                Some(at) => {
                    let wait = at.saturating_duration_since(now);
                    self.changed
                        .wait_timeout(queue, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// The process's timer thread; `None` if it could not be started (then deadlines never fire,
/// which is logged once: waiting longer is better than ending the process).
fn wheel() -> Option<&'static Wheel> {
    static WHEEL: OnceLock<Option<&'static Wheel>> = OnceLock::new();
    *WHEEL.get_or_init(|| {
        let wheel: &'static Wheel = Box::leak(Box::new(Wheel {
            queue: Mutex::new(BTreeMap::new()),
            changed: Condvar::new(),
            next: AtomicU64::new(0),
        }));
        match std::thread::Builder::new()
            .name("sockserve-web-timer".into())
            .spawn(move || wheel.run())
        {
            Ok(_) => Some(wheel),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the timer thread; deadlines will not fire");
                None
            }
        }
    })
}

/// A future that is ready at its deadline (never, for `None`). [`Sleep::reset`] moves it.
#[derive(Default)]
pub(crate) struct Sleep {
    deadline: Option<Instant>,
    registered: Option<(Key, Arc<Shared>)>,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Sleep {
    /// Ready `after` from now (never, if that is past what an `Instant` can hold).
    pub(crate) fn after(after: Duration) -> Sleep {
        Sleep::until(Instant::now().checked_add(after))
    }

    /// Ready at `deadline` (never for `None`).
    pub(crate) fn until(deadline: Option<Instant>) -> Sleep {
        Sleep {
            deadline,
            registered: None,
        }
    }

    /// The deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Moves the deadline (even a deadline that has fired may be set again); the next poll
    /// registers it.
    pub(crate) fn reset(&mut self, deadline: Option<Instant>) {
        self.deregister();
        self.deadline = deadline;
    }

    fn deregister(&mut self) {
        if let (Some((key, shared)), Some(wheel)) = (self.registered.take(), wheel())
            && !shared.fired.load(Ordering::Acquire)
        {
            wheel.lock().remove(&key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        if let Some((_, shared)) = &self.registered {
            shared.waker.register(cx.waker());
            return if shared.fired.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        let Some(wheel) = wheel() else {
            return Poll::Pending;
        };
        let shared = Arc::new(Shared::default());
        shared.waker.register(cx.waker());
        let key = (deadline, wheel.next.fetch_add(1, Ordering::Relaxed));
        let mut queue = wheel.lock();
        queue.insert(key, shared.clone());
        let earliest = queue.first_key_value().is_some_and(|(k, _)| *k == key);
        drop(queue);
        if earliest {
            wheel.changed.notify_one();
        }
        self.registered = Some((key, shared));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal executor: no tokio runtime at all, so tokio's timer would panic here.
    pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Arc::new(Unpark(std::thread::current())).into();
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    #[test]
    fn deadlines_fire_in_order_without_a_runtime() {
        let start = Instant::now();
        block_on(Sleep::after(Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
        // A later deadline registered first does not hold up an earlier one.
        let late = std::thread::spawn(|| block_on(Sleep::after(Duration::from_secs(3))));
        let start = Instant::now();
        block_on(Sleep::after(Duration::from_millis(20)));
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(late);
    }

    #[test]
    fn a_dropped_or_moved_deadline_leaves_the_queue() {
        let mut s = Sleep::after(Duration::from_secs(60));
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
        let key = s.registered.as_ref().map(|(k, _)| *k).expect("registered");
        let queued = |k: &Key| wheel().is_some_and(|w| w.lock().contains_key(k));
        assert!(queued(&key));
        s.reset(Some(Instant::now()));
        assert!(!queued(&key));
        assert!(Pin::new(&mut s).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut Sleep::until(None)).poll(&mut cx).is_pending());
        assert!(Sleep::after(Duration::MAX).deadline().is_none());
    }
}
