//! What a connection's driver shares with its streams: the sans-IO [`http2::Connection`], each
//! stream's received body bytes, and the wakers of whoever waits on them. Streams usually run
//! on the connection's own task, but a request body or a tunnel half can move to a task of the
//! handler's, so the state sits behind a mutex (held for a few instructions at a time).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use http2::{Connection, Reason};

use crate::ConnInfo;

/// Most bytes the connection's output holds (taken from the connection, not yet by the
/// socket) before streams wait to add more and the driver stops reading: what one task pass of
/// a busy connection produces (a hundred 1 KiB responses), so the write that ends the pass is
/// one system call, and a bound on what a client that does not read can make the server hold.
pub(super) const OUTBOX_LIMIT: usize = 128 * 1024;

/// The connection and its streams' state.
pub(super) struct Core {
    pub(super) conn: Connection,
    /// The connection's addresses (and TLS parameters), which every request gets a copy of:
    /// here rather than in the driver's future, which every idle connection holds in a task
    /// whose size goes by steps of 128 bytes.
    pub(super) info: ConnInfo,
    /// The streams' side; `None` while there is no stream, so that an idle connection holds
    /// one pointer rather than an empty table and list (some 70 bytes).
    busy: Option<Box<Busy>>,
    /// The driver's task.
    driver: Option<Waker>,
    /// Output the driver holds that the socket has not taken yet.
    pub(super) unsent: usize,
}

/// What exists only while the connection has streams.
#[derive(Default)]
struct Busy {
    slots: HashMap<u32, Slot>,
    /// Streams waiting for the output to drain.
    out_waiters: Vec<Waker>,
}

/// A stream's side of the state.
#[derive(Default)]
struct Slot {
    /// Body bytes received, not yet read.
    recv: VecDeque<Bytes>,
    /// The client ended its side.
    end: bool,
    /// The stream was reset, and by whom (`true`: the client).
    reset: Option<(Reason, bool)>,
    recv_waker: Option<Waker>,
    send_waker: Option<Waker>,
}

/// Why a stream can no longer be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gone {
    /// The client reset it (rather than this side, for an error of the client's).
    pub(super) remote: bool,
}

impl Core {
    pub(super) fn new(conn: Connection, info: ConnInfo) -> Core {
        Core {
            conn,
            info,
            busy: None,
            driver: None,
            unsent: 0,
        }
    }

    /// The state of stream `id`, while its task runs.
    fn slot(&mut self, id: u32) -> Option<&mut Slot> {
        self.busy.as_mut()?.slots.get_mut(&id)
    }

    /// The driver's task, woken when a stream queued output.
    pub(super) fn set_driver(&mut self, waker: &Waker) {
        if !self.driver.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.driver = Some(waker.clone());
        }
    }

    fn wake_driver(&self) {
        if let Some(w) = &self.driver {
            w.wake_by_ref();
        }
    }

    /// A stream the client opened.
    pub(super) fn open(&mut self, id: u32, end: bool) {
        let busy = self.busy.get_or_insert_with(Box::default);
        busy.slots.insert(
            id,
            Slot {
                end,
                ..Slot::default()
            },
        );
    }

    /// Body bytes for a stream; given back at once when nothing will read them.
    pub(super) fn data(&mut self, id: u32, data: Bytes, end: bool) {
        let Some(slot) = self.slot(id) else {
            self.conn.release(id, data.len());
            return;
        };
        if !data.is_empty() {
            slot.recv.push_back(data);
        }
        slot.end |= end;
        if let Some(w) = slot.recv_waker.take() {
            w.wake();
        }
    }

    /// A stream was reset.
    pub(super) fn reset(&mut self, id: u32, reason: Reason, remote: bool) {
        if let Some(slot) = self.slot(id) {
            slot.reset = Some((reason, remote));
            for w in [slot.recv_waker.take(), slot.send_waker.take()]
                .into_iter()
                .flatten()
            {
                w.wake();
            }
        }
    }

    /// Windows opened: every stream waiting to send tries again.
    pub(super) fn window_opened(&mut self) {
        let Some(busy) = self.busy.as_mut() else {
            return;
        };
        for slot in busy.slots.values_mut() {
            if let Some(w) = slot.send_waker.take() {
                w.wake();
            }
        }
    }

    /// The socket took output: streams waiting for room try again.
    pub(super) fn drained(&mut self) {
        if self.unsent + self.conn.output_len() < OUTBOX_LIMIT
            && let Some(busy) = self.busy.as_mut()
        {
            for w in busy.out_waiters.drain(..) {
                w.wake();
            }
            if busy.out_waiters.capacity() > 0 {
                busy.out_waiters = Vec::new();
            }
        }
    }

    /// A stream's task is done: its state goes, and the stream is reset if it is still open
    /// (`CANCEL` if its response did not finish, `NO_ERROR` if only the request body did not:
    /// RFC 9113 8.1).
    pub(super) fn finish(&mut self, id: u32) {
        if let Some(busy) = self.busy.as_mut() {
            if let Some(slot) = busy.slots.remove(&id) {
                // Received and never read: the connection window is not to shrink by it for
                // good.
                let unread: usize = slot.recv.iter().map(Bytes::len).sum();
                if unread > 0 {
                    self.conn.release(id, unread);
                }
            }
            if busy.slots.is_empty() {
                // Whoever still waits for room tries again, and finds its stream gone.
                for w in busy.out_waiters.drain(..) {
                    w.wake();
                }
                self.busy = None;
            }
        }
        let reason = if self.conn.can_send(id) {
            Reason::CANCEL
        } else {
            Reason::NO_ERROR
        };
        self.conn.reset(id, reason);
    }

    /// Whether output may grow: under [`OUTBOX_LIMIT`] with what the socket has not taken.
    pub(super) fn has_room(&self) -> bool {
        self.unsent + self.conn.output_len() < OUTBOX_LIMIT
    }
}

/// A locked [`Core`].
pub(super) fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

/// One stream, as its task (and its body and tunnel halves) sees it.
#[derive(Clone)]
pub(super) struct StreamRef {
    core: Arc<Mutex<Core>>,
    id: u32,
}

impl StreamRef {
    pub(super) fn new(core: Arc<Mutex<Core>>, id: u32) -> StreamRef {
        StreamRef { core, id }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// The stream's id.
    pub(super) fn id(&self) -> u32 {
        self.id
    }

    /// The next received body bytes; `None` once the client ended its side. The window is
    /// not given back until [`StreamRef::release`].
    pub(super) fn poll_data(&self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Gone>> {
        let mut core = self.lock();
        let Some(slot) = core.slot(self.id) else {
            return Poll::Ready(Err(Gone { remote: false }));
        };
        if let Some(data) = slot.recv.pop_front() {
            if slot.recv.is_empty() {
                slot.recv = VecDeque::new();
            }
            return Poll::Ready(Ok(Some(data)));
        }
        if let Some((_, remote)) = slot.reset {
            return Poll::Ready(Err(Gone { remote }));
        }
        if slot.end {
            return Poll::Ready(Ok(None));
        }
        slot.recv_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Whether the client's side is over and every byte of it read.
    pub(super) fn is_end_stream(&self) -> bool {
        let core = self.lock();
        core.busy
            .as_ref()
            .and_then(|busy| busy.slots.get(&self.id))
            .is_none_or(|s| s.reset.is_some() || (s.end && s.recv.is_empty()))
    }

    /// Gives back window for `n` body bytes consumed.
    pub(super) fn release(&self, n: usize) {
        let mut core = self.lock();
        let before = core.conn.output_len();
        core.conn.release(self.id, n);
        if core.conn.output_len() > before {
            core.wake_driver();
        }
    }

    /// Ready with the code once the client resets the stream.
    pub(super) fn poll_reset(&self, cx: &mut Context<'_>) -> Poll<Reason> {
        let mut core = self.lock();
        let Some(slot) = core.slot(self.id) else {
            return Poll::Ready(Reason::CANCEL);
        };
        match slot.reset {
            Some((reason, true)) => Poll::Ready(reason),
            _ => {
                slot.send_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Sends the response head; `false` when the stream is gone.
    pub(super) fn send_headers(&self, status: u16, fields: &http::HeaderMap, end: bool) -> bool {
        let mut core = self.lock();
        if !core.conn.can_send(self.id) {
            return false;
        }
        let fields = fields
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        core.conn.send_headers(self.id, status, fields, end);
        core.wake_driver();
        true
    }

    /// Sends what of `data` the windows and the output's room allow now, ending the stream
    /// with the last of it when `end`; ready once something went (or, for an empty `data`,
    /// the end), an error once the stream is gone.
    pub(super) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        data: &mut Bytes,
        end: bool,
    ) -> Poll<Result<(), Gone>> {
        let mut core = self.lock();
        let core = &mut *core;
        let Some(busy) = core.busy.as_deref_mut() else {
            return Poll::Ready(Err(Gone { remote: false }));
        };
        let Some(slot) = busy.slots.get_mut(&self.id) else {
            return Poll::Ready(Err(Gone { remote: false }));
        };
        if let Some((_, remote)) = slot.reset {
            return Poll::Ready(Err(Gone { remote }));
        }
        if !core.conn.can_send(self.id) {
            return Poll::Ready(Err(Gone { remote: false }));
        }
        if core.unsent + core.conn.output_len() >= OUTBOX_LIMIT {
            busy.out_waiters.push(cx.waker().clone());
            return Poll::Pending;
        }
        let was_empty = data.is_empty();
        let n = core.conn.send_data(self.id, data, end);
        data.advance(n);
        if n > 0 || (was_empty && end) {
            if let Some(w) = &core.driver {
                w.wake_by_ref();
            }
            return Poll::Ready(Ok(()));
        }
        if was_empty {
            return Poll::Ready(Ok(()));
        }
        slot.send_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Waits until at least one byte may go, then sends up to `data.len()` bytes (no end);
    /// returns how many went.
    pub(super) fn poll_write(
        &self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<Result<usize, Gone>> {
        let mut piece =
            Bytes::copy_from_slice(&data[..data.len().min(super::MAX_FRAME_SIZE as usize)]);
        let len = piece.len();
        match self.poll_send(cx, &mut piece, false) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(len - piece.len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Resets the stream with `reason`.
    pub(super) fn reset(&self, reason: Reason) {
        let mut core = self.lock();
        core.conn.reset(self.id, reason);
        core.wake_driver();
    }
}
