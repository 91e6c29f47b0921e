//! Failed attempts, counted per client address in a small bounded table, so that a client
//! guessing passwords is answered `429` after a few tries, as fail2ban would ban it for
//! nginx. Addresses are counted per IPv4 address and per IPv6 /64, the block one subscriber
//! usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts a client may make in one [`FAILURE_WINDOW`]; the next attempt with
/// credentials is answered `429 Too Many Requests` with `Retry-After` until the window ends.
pub const MAX_FAILURES: u32 = 10;

/// How long failures are remembered, counted from a client's first failure.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Most clients tracked at once. When full, windows that ended are dropped first, then the
/// oldest window: memory stays bounded whatever number of addresses attacks.
pub const MAX_TRACKED: usize = 4096;

/// One client's failures in the window that started at `since`.
#[derive(Debug, Clone, Copy)]
struct Window {
    since: Instant,
    failures: u32,
}

/// The table of failed attempts.
#[derive(Debug, Default)]
pub struct Limiter {
    table: Mutex<HashMap<IpAddr, Window>>,
}

impl Limiter {
    /// An empty table.
    pub fn new() -> Limiter {
        Limiter::default()
    }

    /// How long `ip` must wait before trying again, or `None` when it may try now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let table = self.lock();
        let w = table.get(&key(ip))?;
        let end = w.since + FAILURE_WINDOW;
        (w.failures >= MAX_FAILURES && now < end).then(|| end - now)
    }

    /// Counts a failed attempt by `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut table = self.lock();
        let k = key(ip);
        if !table.contains_key(&k) && table.len() >= MAX_TRACKED {
            make_room(&mut table, now);
        }
        let w = table.entry(k).or_insert(Window {
            since: now,
            failures: 0,
        });
        if now >= w.since + FAILURE_WINDOW {
            *w = Window {
                since: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    /// Forgets `ip`'s failures after it proved it knows a password.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut table = self.lock();
        if !table.is_empty() {
            table.remove(&key(ip));
        }
    }

    /// Clients tracked now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nobody is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops ended windows, or the oldest one when none has ended.
fn make_room(table: &mut HashMap<IpAddr, Window>, now: Instant) {
    table.retain(|_, w| now < w.since + FAILURE_WINDOW);
    if table.len() >= MAX_TRACKED {
        let oldest = table.iter().min_by_key(|(_, w)| w.since).map(|(k, _)| *k);
        if let Some(k) = oldest {
            table.remove(&k);
        }
    }
}

/// The address failures are counted under: the IPv4 address, or the IPv6 /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_the_window_ends() {
        let l = Limiter::new();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.blocked(ip, t0), None);
            l.failed(ip, t0);
        }
        assert_eq!(l.blocked(ip, t0), Some(FAILURE_WINDOW));
        assert_eq!(l.blocked("10.0.0.2".parse().expect("ip"), t0), None);
        assert_eq!(l.blocked(ip, t0 + FAILURE_WINDOW), None);
        l.failed(ip, t0 + FAILURE_WINDOW);
        assert_eq!(l.blocked(ip, t0 + FAILURE_WINDOW), None, "a new window");
    }

    #[test]
    fn success_forgets_and_ipv6_counts_per_64() {
        let l = Limiter::new();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            let ip: IpAddr = format!("2001:db8::{i:x}").parse().expect("ip");
            l.failed(ip, t0);
        }
        let other: IpAddr = "2001:db8::ffff".parse().expect("ip");
        assert!(l.blocked(other, t0).is_some());
        l.succeeded(other);
        assert!(l.blocked(other, t0).is_none());
    }

    #[test]
    fn the_table_stays_bounded() {
        let l = Limiter::new();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 100) {
            l.failed(
                IpAddr::from(i.to_be_bytes()),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert_eq!(l.len(), MAX_TRACKED);
    }
}
