//! What the server counts for `/metrics`: requests, latency, bytes, connections, TLS
//! handshakes, overload, reloads, CGI and the file cache; encoded by `prometheus-client`.
//!
//! The hot path takes no lock and shares no cache line between worker threads where it can
//! avoid it: each thread adds to a [`Shard`] of its own (relaxed atomics only it writes), and a
//! scrape sums the shards. Requests are counted on the [`Tag`] a response carries (its site and
//! route), whose counters are shared atomics; an untagged response counts on the default tag.
//! Events elsewhere (CGI, the cache, reloads) are rare next to requests and are plain atomics.
//!
//! The numbers are process-wide statics, as the Prometheus client libraries' default registry
//! is: one process, one set of numbers, reachable from every crate without threading a handle
//! through each service. Per-request counting happens only where [`crate::HttpConfig::metrics`]
//! says so (the binary turns it on with the admin listener), so a server nobody scrapes pays
//! nothing for it.
//!
//! # Layout
//! - [`Tag`]: a site and route label pair with its request counters, made once per route.
//! - [`record_request`]: one finished request (the connection drivers call it).
//! - [`Event`] / [`event`]: the rare counters (CGI, cache, reloads, overload, TLS).
//! - [`Collector`]: encodes all of it for a `prometheus_client` registry.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Methods counted by name; any other is counted as `other`, so a client cannot grow the
/// label set (Prometheus advises bounded label values).
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];
/// `METHODS` and `other`.
const METHOD_SLOTS: usize = METHODS.len() + 1;
/// Status classes `1xx`..`5xx`.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the latency histogram's buckets, in seconds: Prometheus's default buckets
/// with 1 ms and 2.5 ms added, since most answers here take well under 5 ms.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A site and route to count requests under, with their counters. Made once (when the
/// configuration is built), cloned into each response that belongs to it: counting is then
/// one atomic add, no lookup. Tags with the same labels share their counters, so a reload
/// that rebuilds its routes continues the same series.
#[derive(Clone)]
pub struct Tag(Arc<TagInner>);

struct TagInner {
    site: Box<str>,
    route: Box<str>,
    requests: [[AtomicU64; CLASSES.len()]; METHOD_SLOTS],
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tag({:?}, {:?})", self.0.site, self.0.route)
    }
}

/// Every tag made, for the scrape; a tag lives as long as the process (there are as many as
/// routes in the configurations loaded, a few hundred at most).
static TAGS: Mutex<Vec<Tag>> = Mutex::new(Vec::new());

/// The tag of responses that carry none: site `default`, route empty.
static DEFAULT_TAG: LazyLock<Tag> = LazyLock::new(|| Tag::new("default", ""));

impl Tag {
    /// The tag for `site` and `route`, the same counters every time for the same pair.
    pub fn new(site: &str, route: &str) -> Tag {
        let mut tags = TAGS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tags
            .iter()
            .find(|t| &*t.0.site == site && &*t.0.route == route)
        {
            return t.clone();
        }
        let tag = Tag(Arc::new(TagInner {
            site: site.into(),
            route: route.into(),
            requests: Default::default(),
        }));
        tags.push(tag.clone());
        tag
    }

    /// The tag of untagged responses.
    pub fn default_tag() -> Tag {
        DEFAULT_TAG.clone()
    }
}

/// One thread's counters: written by that thread only, summed by the scrape.
#[derive(Default)]
struct Shard {
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    idle: AtomicI64,
    open: AtomicI64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

static SHARDS: Mutex<Vec<Arc<Shard>>> = Mutex::new(Vec::new());

thread_local! {
    static SHARD: RefCell<Option<Arc<Shard>>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's shard, registering it on first use.
fn with_shard(f: impl FnOnce(&Shard)) {
    SHARD.with(|cell| {
        let mut mine = cell.borrow_mut();
        let shard = mine.get_or_insert_with(|| {
            let s = Arc::new(Shard::default());
            SHARDS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(s.clone());
            s
        });
        f(shard);
    });
}

/// Adds `n` to a counter only this thread writes: a load and a store, no locked instruction.
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// One request answered: its method, status, body bytes sent and time taken, counted under
/// `tag` (or the default one).
pub fn record_request(
    tag: Option<&Tag>,
    method: Option<&http1::Method>,
    status: u16,
    elapsed: Duration,
) {
    let m = method
        .and_then(|m| METHODS.iter().position(|&n| n == m.as_str()))
        .unwrap_or(METHODS.len());
    let class = usize::from(status / 100).clamp(1, 5) - 1;
    let tag = tag.unwrap_or(&DEFAULT_TAG);
    tag.0.requests[m][class].fetch_add(1, Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    let bucket = LATENCY_BUCKETS
        .iter()
        .position(|&b| secs <= b)
        .unwrap_or(LATENCY_BUCKETS.len());
    with_shard(|s| {
        bump(&s.latency[bucket], 1);
        bump(
            &s.latency_sum_micros,
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
    });
}

/// A file-cache lookup: found or not. Per thread, as it happens on most file requests.
pub fn file_cache(hit: bool) {
    with_shard(|s| bump(if hit { &s.cache_hits } else { &s.cache_misses }, 1));
}

/// Bytes received from clients (as read from the socket, TLS records included).
pub fn bytes_in(n: usize) {
    with_shard(|s| bump(&s.bytes_in, n as u64));
}

/// Bytes sent to clients.
pub fn bytes_out(n: usize) {
    with_shard(|s| bump(&s.bytes_out, n as u64));
}

/// A connection opened (`+1`) or closed (`-1`).
pub(crate) fn open_connections(delta: i64) {
    with_shard(|s| {
        s.open
            .store(s.open.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    });
}

/// Counts a kept-alive connection as idle while it waits for its next request.
pub(crate) struct IdleGuard;

impl IdleGuard {
    pub(crate) fn new() -> IdleGuard {
        idle_connections(1);
        IdleGuard
    }
}

impl Drop for IdleGuard {
    fn drop(&mut self) {
        idle_connections(-1);
    }
}

/// A kept-alive connection began (`+1`) or ended (`-1`) waiting for its next request.
fn idle_connections(delta: i64) {
    with_shard(|s| {
        s.idle
            .store(s.idle.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    });
}

/// The rare things counted, each one atomic add where it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A TLS handshake completed.
    TlsHandshake,
    /// A TLS handshake failed or timed out.
    TlsHandshakeFailed,
    /// A connection waited for a free slot under `--max-connections`.
    OverloadWaited,
    /// A connection was closed unserved because `--max-connections` was reached.
    OverloadRefused,
    /// A CGI script was started.
    CgiStarted,
    /// A CGI script was killed for running past its timeout.
    CgiTimedOut,
    /// A reload took the new configuration.
    ReloadOk,
    /// A reload failed; the old configuration stays.
    ReloadFailed,
}

/// How many [`Event`] variants there are.
const EVENTS: usize = 8;

static EVENT_COUNTS: [AtomicU64; EVENTS] = [const { AtomicU64::new(0) }; EVENTS];
/// CGI scripts running now.
static CGI_RUNNING: AtomicI64 = AtomicI64::new(0);

/// Counts one `e`.
pub fn event(e: Event) {
    EVENT_COUNTS[e as usize].fetch_add(1, Ordering::Relaxed);
}

fn events(e: Event) -> u64 {
    EVENT_COUNTS[e as usize].load(Ordering::Relaxed)
}

/// A CGI script started (`+1`) or was reaped (`-1`).
pub fn cgi_running(delta: i64) {
    CGI_RUNNING.fetch_add(delta, Ordering::Relaxed);
}

/// Encodes everything above into a `prometheus_client` registry
/// (`registry.register_collector(Box::new(Collector))`).
#[derive(Debug, Default)]
pub struct Collector;

/// The shards summed.
#[derive(Default)]
struct Totals {
    latency: [u64; LATENCY_BUCKETS.len() + 1],
    latency_sum_micros: u64,
    bytes_in: u64,
    bytes_out: u64,
    idle: i64,
    open: i64,
    cache_hits: u64,
    cache_misses: u64,
}

fn totals() -> Totals {
    let mut t = Totals::default();
    for s in SHARDS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        for (sum, b) in t.latency.iter_mut().zip(&s.latency) {
            *sum += b.load(Ordering::Relaxed);
        }
        t.latency_sum_micros += s.latency_sum_micros.load(Ordering::Relaxed);
        t.bytes_in += s.bytes_in.load(Ordering::Relaxed);
        t.bytes_out += s.bytes_out.load(Ordering::Relaxed);
        t.idle += s.idle.load(Ordering::Relaxed);
        t.open += s.open.load(Ordering::Relaxed);
        t.cache_hits += s.cache_hits.load(Ordering::Relaxed);
        t.cache_misses += s.cache_misses.load(Ordering::Relaxed);
    }
    t
}

type Labels = Vec<(&'static str, String)>;

fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: &[(Labels, u64)],
) -> std::fmt::Result {
    let mut metric = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in samples {
        ConstCounter::new(*v).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// A counter without labels.
fn plain_counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let metric = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(v).encode(metric)
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let metric = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(metric)
}

impl prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let requests = request_samples();
        counter(
            &mut enc,
            "sockserve_http_requests",
            "HTTP requests answered, by site, route, method and status class.",
            &requests,
        )?;
        let t = totals();
        // Counts per bucket, not cumulative: the encoder adds them up. The last bound is
        // `f64::MAX`, which it writes as `+Inf`, as its own `Histogram` does.
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .copied()
            .chain([f64::MAX])
            .zip(t.latency)
            .collect();
        let count = t.latency.iter().sum();
        let mut hist = enc.encode_descriptor(
            "sockserve_http_request_duration_seconds",
            "Time from a request's first byte to its response's last.",
            None,
            MetricType::Histogram,
        )?;
        hist.encode_histogram::<Labels>(t.latency_sum_micros as f64 / 1e6, count, &buckets, None)?;
        let simple: [(&str, &str, u64); 10] = [
            (
                "sockserve_received_bytes",
                "Bytes read from client connections.",
                t.bytes_in,
            ),
            (
                "sockserve_sent_bytes",
                "Bytes written to client connections.",
                t.bytes_out,
            ),
            (
                "sockserve_tls_handshakes",
                "TLS handshakes completed.",
                events(Event::TlsHandshake),
            ),
            (
                "sockserve_tls_handshake_failures",
                "TLS handshakes that failed or timed out.",
                events(Event::TlsHandshakeFailed),
            ),
            (
                "sockserve_overload_waits",
                "Connections that waited because --max-connections was reached.",
                events(Event::OverloadWaited),
            ),
            (
                "sockserve_overload_refused",
                "Connections closed unserved because --max-connections was reached.",
                events(Event::OverloadRefused),
            ),
            (
                "sockserve_cgi_started",
                "CGI scripts started.",
                events(Event::CgiStarted),
            ),
            (
                "sockserve_cgi_timed_out",
                "CGI scripts killed at their timeout.",
                events(Event::CgiTimedOut),
            ),
            (
                "sockserve_file_cache_hits",
                "File lookups the in-memory cache answered.",
                t.cache_hits,
            ),
            (
                "sockserve_file_cache_misses",
                "File lookups the in-memory cache did not answer.",
                t.cache_misses,
            ),
        ];
        for (name, help, v) in simple {
            plain_counter(&mut enc, name, help, v)?;
        }
        counter(
            &mut enc,
            "sockserve_reloads",
            "Configuration reloads, by result.",
            &[
                (vec![("result", "ok".into())], events(Event::ReloadOk)),
                (
                    vec![("result", "failed".into())],
                    events(Event::ReloadFailed),
                ),
            ],
        )?;
        gauge(
            &mut enc,
            "sockserve_connections_open",
            "Client connections open.",
            t.open,
        )?;
        gauge(
            &mut enc,
            "sockserve_connections_idle",
            "Kept-alive connections waiting for their next request.",
            t.idle,
        )?;
        gauge(
            &mut enc,
            "sockserve_cgi_running",
            "CGI scripts running.",
            CGI_RUNNING.load(Ordering::Relaxed),
        )?;
        let info = enc.encode_descriptor(
            "sockserve_build",
            "The running build.",
            None,
            MetricType::Info,
        );
        let labels: Labels = vec![("version", env!("CARGO_PKG_VERSION").into())];
        info?.encode_info(&labels)
    }
}

/// One sample per tag, method and class that counted anything.
fn request_samples() -> Vec<(Labels, u64)> {
    let tags = TAGS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut out = Vec::new();
    for tag in &tags {
        for (m, row) in tag.0.requests.iter().enumerate() {
            for (c, n) in row.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n == 0 {
                    continue;
                }
                let method = METHODS.get(m).copied().unwrap_or("other");
                out.push((
                    vec![
                        ("site", tag.0.site.to_string()),
                        ("route", tag.0.route.to_string()),
                        ("method", method.to_string()),
                        ("code", CLASSES[c].to_string()),
                    ],
                    n,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape() -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Collector));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap_or_default();
        out
    }

    #[test]
    fn requests_are_counted_by_tag_method_and_class() {
        let tag = Tag::new("shop", "/cart");
        let again = Tag::new("shop", "/cart");
        record_request(
            Some(&tag),
            Some(&http1::Method::GET),
            200,
            Duration::from_millis(3),
        );
        record_request(Some(&again), Some(&http1::Method::GET), 204, Duration::ZERO);
        record_request(None, None, 400, Duration::from_secs(20));
        let text = scrape();
        assert!(
            text.contains(
                "sockserve_http_requests_total{site=\"shop\",route=\"/cart\",method=\"GET\",code=\"2xx\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("method=\"other\",code=\"4xx\"}"), "{text}");
        assert!(text.contains("sockserve_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
        assert!(text.contains("sockserve_build_info{version="), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
