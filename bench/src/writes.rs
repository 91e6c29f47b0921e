//! A client that posts to the guestbook at a steady rate while another workload reads, so a
//! read rate can be measured under writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::guestbook;
use crate::httpc::Conn;

/// Posts running in the background; [`Writer::finish`] stops them and reports failures.
pub struct Writer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<usize>>,
}

impl Writer {
    /// Starts posting to the site on `port`, `per_sec` messages a second, each on time (a late
    /// post is sent at once, never skipped, so the rate holds over the run).
    pub fn start(port: u16, per_sec: u32) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || post_until(port, per_sec, &flag));
        Writer { stop, handle }
    }

    /// Stops posting; the number of posts made, or the first failure.
    pub fn finish(self) -> Result<usize> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .unwrap_or_else(|_| Err(BenchError::new("the guestbook writer panicked")))
    }
}

fn post_until(port: u16, per_sec: u32, stop: &AtomicBool) -> Result<usize> {
    let interval = Duration::from_secs(1) / per_sec.max(1);
    let mut conn = Conn::open(port)?;
    let start = Instant::now();
    let mut posted = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let due = start + interval * u32::try_from(posted).unwrap_or(u32::MAX);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait.min(Duration::from_millis(50)));
            continue;
        }
        guestbook::post(&mut conn, 1_000_000_000 + posted)
            .map_err(|e| e.context("posting while reads were measured"))?;
        posted += 1;
    }
    Ok(posted)
}

/// Runs `f` while a [`Writer`] posts `per_sec` messages a second to `port` (none when 0); a
/// failed post fails the run.
pub fn during<T>(port: u16, per_sec: u32, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if per_sec == 0 {
        return f();
    }
    let writer = Writer::start(port, per_sec);
    let out = f();
    let posted = writer.finish()?;
    if posted == 0 {
        return Err(BenchError::new(
            "the guestbook writer made no post during the run",
        ));
    }
    out
}
