//! What is measured: each workload is one URL on sockserve against the same thing on each peer,
//! with the goal the ratio must reach where the project set one.

use crate::fixtures;
use crate::httpc::Reply;
use crate::servers::ServerKind;

/// What a workload's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Requests per second; higher is better.
    Requests,
    /// Bytes per second; higher is better.
    Bytes,
    /// Resident memory holding idle connections; lower is better.
    Memory,
    /// The most resident memory at any moment of a burst of requests; lower is better.
    PeakMemory,
}

impl Metric {
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Requests => "req/s",
            Metric::Bytes => "MiB/s",
            Metric::Memory => "MiB RSS",
            Metric::PeakMemory => "MiB peak RSS",
        }
    }
}

/// The ratio sockserve/peer a pair must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    pub fn met(self, ratio: f64) -> bool {
        match self {
            Goal::AtLeast(g) => ratio >= g,
            Goal::AtMost(g) => ratio <= g,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Goal::AtLeast(g) => format!("≥ {g}×"),
            Goal::AtMost(g) => format!("≤ {g}×"),
        }
    }
}

/// How to tell a correct answer before measuring.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// 200 with a non-empty body.
    Ok,
    /// 200 with exactly this many body bytes.
    Length(usize),
    /// 200 with a body containing this text.
    Contains(&'static str),
    /// 200 with a listing that names the directory's last entry.
    Listing,
}

impl Expect {
    /// `None` when `reply` is right, else what is wrong with it.
    pub fn check(self, reply: &Reply) -> Option<String> {
        if reply.status != 200 {
            return Some(format!(
                "status {} (body: {:.200})",
                reply.status,
                reply.text()
            ));
        }
        let ok = match self {
            Expect::Ok => !reply.body.is_empty(),
            Expect::Length(n) => reply.body.len() == n,
            Expect::Contains(s) => reply.text().contains(s),
            Expect::Listing => reply
                .text()
                .contains(&fixtures::entry_name(fixtures::ENTRIES - 1)),
        };
        (!ok).then(|| {
            format!(
                "unexpected body ({} bytes): {:.200}",
                reply.body.len(),
                reply.text()
            )
        })
    }
}

/// One URL on one server.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub server: ServerKind,
    pub path: &'static str,
    pub expect: Expect,
    /// Guestbook posts per second sent by another client while this target is measured (0: none).
    pub writes_per_sec: u32,
    /// Served by the baseline sockserve binary (`--baseline`) instead of the one under test.
    pub baseline: bool,
}

impl Target {
    /// Which running server answers this target: targets with the same instance share one.
    pub fn instance(&self) -> (ServerKind, bool) {
        (self.server, self.baseline)
    }

    /// The same target served by the baseline binary.
    pub fn on_baseline(self) -> Target {
        Target {
            baseline: true,
            ..self
        }
    }
}

/// A peer with its label in the results and its goal, if any.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub label: &'static str,
    pub target: Target,
    pub goal: Option<Goal>,
}

/// What generates the load of a requests or bytes workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// wrk, keep-alive unless the headers say otherwise.
    Wrk,
    /// [`crate::tls::handshakes`]: a new TLS connection per request, resuming the session or
    /// never, by [`HANDSHAKE_CLIENTS`] clients.
    Handshakes { resume: bool },
    /// h2load over HTTP/2 (or, for memory, idle h2c connections).
    H2(H2),
}

/// Clients making TLS connections at once in the handshake workloads: each waits for its
/// handshake and response, so this many keep every server core busy without queueing.
pub const HANDSHAKE_CLIENTS: usize = 16;

#[derive(Debug, Clone)]
pub struct Workload {
    pub name: &'static str,
    pub about: &'static str,
    pub metric: Metric,
    pub sockserve: Target,
    pub peers: Vec<Peer>,
    /// Concurrent connections, when the default does not suit (CGI forks a process per request).
    pub connections: Option<usize>,
    /// Extra request headers sent by wrk.
    pub headers: &'static [&'static str],
    /// Whether this needs the seeded guestbook.
    pub needs_guestbook: bool,
    /// Whether this needs the large guestbook ([`crate::guestbook::BOOK_MESSAGES`] messages).
    pub needs_book: bool,
    /// What makes the requests.
    pub load: Load,
}

/// How an HTTP/2 workload loads its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2 {
    /// Concurrent streams per connection (h2load `-m`).
    pub streams: usize,
    /// Paths requested besides the target's, in turn (a page's image).
    pub more_paths: &'static [&'static str],
}

/// h2load's connections for the HTTP/2 workloads: 50, each with [`H2_STREAMS`] streams.
pub const H2_CONNECTIONS: usize = 50;

/// Streams per connection: 100, under every server's concurrent-stream limit (128 by default
/// in nginx, h2o and sockserve).
pub const H2_STREAMS: usize = 100;

/// The demo page and its picture as files (`fixtures::DEMO_*`), so every server serves the same.
const DEMO_IMAGE: &[&str] = &[crate::fixtures::DEMO_IMAGE];
/// The `Cookie` header of the framework-session workload: the session `web_bench` seeds
/// (signed with its fixed key) and the one `axum_bench` seeds (tower-sessions' unsigned id).
pub const SESSION_COOKIE: &str = "Cookie: session=PB%2FW1VY+3tGPqo6PFdGM1zLIPEl5cRU3hjVISfrt%2FqE%3Dbenchbenchbenchbenchbe; id=AQAAAAAAAAAAAAAAAAAAAA";

/// Connections for workloads where a peer forks a process per request: more only queue up
/// behind the processes and time out.
pub const CGI_CONNECTIONS: usize = 16;

const fn t(server: ServerKind, path: &'static str, expect: Expect) -> Target {
    Target {
        server,
        path,
        expect,
        writes_per_sec: 0,
        baseline: false,
    }
}

/// `t` measured while another client posts to the guestbook `writes_per_sec` times a second.
const fn under_writes(target: Target, writes_per_sec: u32) -> Target {
    Target {
        writes_per_sec,
        ..target
    }
}

const fn peer(label: &'static str, target: Target, goal: Option<Goal>) -> Peer {
    Peer {
        label,
        target,
        goal,
    }
}

/// The static-file peers of a file URL: nginx, lighttpd, static-web-server and python.
fn file_peers(
    path: &'static str,
    expect: Expect,
    nginx: Option<Goal>,
    python: Option<Goal>,
) -> Vec<Peer> {
    vec![
        peer("nginx", t(ServerKind::Nginx, path, expect), nginx),
        peer("lighttpd", t(ServerKind::Lighttpd, path, expect), None),
        peer(
            "static-web-server",
            t(ServerKind::StaticWebServer, path, expect),
            None,
        ),
        peer(
            "python http.server",
            t(ServerKind::Python, path, expect),
            python,
        ),
    ]
}

fn cgi_peers(path: &'static str, python_goal: Option<Goal>) -> Vec<Peer> {
    let hello = Expect::Contains(fixtures::HELLO);
    vec![
        peer(
            "lighttpd mod_cgi",
            t(ServerKind::Lighttpd, path, hello),
            Some(Goal::AtLeast(1.0)),
        ),
        peer(
            "python http.server --cgi",
            t(ServerKind::PythonCgi, path, hello),
            python_goal,
        ),
    ]
}

/// Every workload, in the order of the results table; with `baseline`, each also measures the
/// same target on the baseline binary, interleaved with the others.
pub fn all_with(baseline: bool) -> Vec<Workload> {
    let mut all = all();
    if baseline {
        for w in &mut all {
            let before = peer(
                "sockserve (baseline binary)",
                w.sockserve.on_baseline(),
                None,
            );
            w.peers.insert(0, before);
        }
    }
    all
}

/// Every workload, in the order of the results table.
pub fn all() -> Vec<Workload> {
    use ServerKind::*;
    let small = Expect::Length(fixtures::SMALL);
    let large = Expect::Length(fixtures::LARGE);
    let site_root = peer("sockserve `/`", t(SockserveSite, "/", Expect::Ok), None);
    let book_reads = t(
        SockserveBook,
        "/api/messages",
        Expect::Contains(crate::guestbook::MARKER),
    );
    let base = Workload {
        name: "",
        about: "",
        metric: Metric::Requests,
        sockserve: t(SockserveFiles, "/1k.bin", small),
        peers: Vec::new(),
        connections: None,
        headers: &[],
        needs_guestbook: false,
        needs_book: false,
        load: Load::Wrk,
    };
    let tls_peers = |path: &'static str, expect: Expect, nginx: Goal| {
        vec![
            peer("nginx (TLS)", t(NginxTls, path, expect), Some(nginx)),
            peer("caddy (TLS)", t(CaddyTls, path, expect), None),
        ]
    };
    let h2 = Load::H2(H2 {
        streams: H2_STREAMS,
        more_paths: &[],
    });
    let h2_peers = |tls: bool, path: &'static str, expect: Expect, goal: Option<Goal>| {
        let (nginx, h2o) = if tls {
            (NginxH2Tls, H2oTls)
        } else {
            (NginxH2c, H2o)
        };
        vec![
            peer("nginx", t(nginx, path, expect), goal),
            peer("h2o", t(h2o, path, expect), None),
        ]
    };
    let demo = Expect::Contains("<img");
    let h2_workloads = vec![
        Workload {
            name: "h2-file-1k-tls",
            about: "a 1 KiB file over HTTP/2 and TLS (ALPN h2), h2load 50 connections × 100 streams",
            sockserve: t(SockserveTls, "/1k.bin", small),
            peers: h2_peers(true, "/1k.bin", small, Some(Goal::AtLeast(1.2))),
            connections: Some(H2_CONNECTIONS),
            load: h2,
            ..base.clone()
        },
        Workload {
            name: "h2-file-1k-h2c",
            about: "a 1 KiB file over h2c (prior knowledge), h2load 50 connections × 100 streams",
            sockserve: t(SockserveFiles, "/1k.bin", small),
            peers: h2_peers(false, "/1k.bin", small, Some(Goal::AtLeast(1.2))),
            connections: Some(H2_CONNECTIONS),
            load: h2,
            ..base.clone()
        },
        Workload {
            name: "h2-demo-page-tls",
            about: "the demo page and its picture in turn over HTTP/2 and TLS, 50 connections × 100 streams",
            sockserve: t(SockserveTls, crate::fixtures::DEMO_PAGE, demo),
            peers: h2_peers(true, crate::fixtures::DEMO_PAGE, demo, None),
            connections: Some(H2_CONNECTIONS),
            load: Load::H2(H2 {
                streams: H2_STREAMS,
                more_paths: DEMO_IMAGE,
            }),
            ..base.clone()
        },
        Workload {
            name: "h2-file-1m-tls",
            about: "a 1 MiB file over HTTP/2 and TLS, bytes/s, 50 connections × 10 streams",
            metric: Metric::Bytes,
            sockserve: t(SockserveTls, "/1m.bin", large),
            peers: h2_peers(true, "/1m.bin", large, Some(Goal::AtLeast(1.0))),
            connections: Some(H2_CONNECTIONS),
            // Ten 1 MiB responses in flight per connection already fill every window.
            load: Load::H2(H2 {
                streams: 10,
                more_paths: &[],
            }),
            ..base.clone()
        },
        Workload {
            name: "h2-idle-memory",
            about: "resident memory (all processes) holding 10,000 idle h2c connections, one request each",
            metric: Metric::Memory,
            sockserve: t(SockserveFiles, "/1k.bin", small),
            peers: vec![
                peer(
                    "nginx",
                    t(NginxH2c, "/1k.bin", small),
                    Some(Goal::AtMost(1.0)),
                ),
                peer("h2o", t(H2o, "/1k.bin", small), None),
            ],
            load: h2,
            ..base.clone()
        },
    ];
    let mut all = vec![
        Workload {
            name: "plaintext",
            about: "`GET /` of the default site, keep-alive, vs nginx `return 200` of the same page",
            sockserve: t(SockserveSite, "/", Expect::Ok),
            peers: vec![
                peer(
                    "nginx return 200",
                    t(Nginx, "/plain", Expect::Ok),
                    Some(Goal::AtLeast(1.2)),
                ),
                peer(
                    "ceiling (same page, no parsing)",
                    t(CeilingPage, "/", Expect::Ok),
                    None,
                ),
            ],
            ..base.clone()
        },
        Workload {
            name: "plaintext-log",
            about: "`plaintext` with an access log written to a file by both servers (nginx: `combined`, buffered 64 KiB, flushed every second)",
            sockserve: t(SockserveSiteLogged, "/", Expect::Ok),
            peers: vec![peer(
                "nginx return 200, logging",
                t(NginxLogged, "/plain", Expect::Ok),
                Some(Goal::AtLeast(1.0)),
            )],
            ..base.clone()
        },
        Workload {
            name: "file-1k",
            about: "a 1 KiB file, keep-alive",
            peers: {
                let mut peers = file_peers(
                    "/1k.bin",
                    small,
                    Some(Goal::AtLeast(1.2)),
                    Some(Goal::AtLeast(50.0)),
                );
                peers.push(peer(
                    "ceiling (same bytes, no parsing)",
                    t(ServerKind::Ceiling, "/1k.bin", small),
                    None,
                ));
                peers
            },
            ..base.clone()
        },
        Workload {
            name: "file-1k-config",
            about: "`file-1k` through a 10-site, 50-route configuration file vs the same file from `serve`",
            sockserve: t(SockserveConfig, "/1k.bin", small),
            peers: vec![peer(
                "sockserve serve (flags)",
                t(SockserveFiles, "/1k.bin", small),
                Some(Goal::AtLeast(0.95)),
            )],
            ..base.clone()
        },
        Workload {
            name: "file-1k-metrics",
            about: "`file-1k` with metrics on (`--admin`): what counting every request costs, against the same server without them",
            sockserve: t(SockserveFilesMetrics, "/1k.bin", small),
            peers: vec![peer(
                "sockserve without metrics",
                t(SockserveFiles, "/1k.bin", small),
                Some(Goal::AtLeast(0.97)),
            )],
            ..base.clone()
        },
        Workload {
            name: "file-1m",
            about: "a 1 MiB file, keep-alive, in bytes per second",
            metric: Metric::Bytes,
            sockserve: t(SockserveFiles, "/1m.bin", large),
            peers: file_peers("/1m.bin", large, Some(Goal::AtLeast(1.0)), None),
            ..base.clone()
        },
        Workload {
            name: "listing",
            about: "the listing of a 1000-entry directory",
            sockserve: t(SockserveFiles, "/dir/", Expect::Listing),
            peers: file_peers("/dir/", Expect::Listing, Some(Goal::AtLeast(1.5)), None),
            ..base.clone()
        },
        Workload {
            name: "listing-zip",
            about: "the 1000-entry directory downloaded as a zip streamed on the fly, in bytes per second, vs its listing",
            metric: Metric::Bytes,
            sockserve: t(SockserveFiles, "/dir/?download=zip", Expect::Ok),
            peers: vec![peer(
                "sockserve listing of the same directory",
                t(SockserveFiles, "/dir/", Expect::Listing),
                None,
            )],
            ..base.clone()
        },
        Workload {
            name: "cgi-sh",
            about: "a `sh` CGI hello world (a process per request)",
            sockserve: t(
                SockserveCgi,
                "/cgi-bin/hello.sh",
                Expect::Contains(fixtures::HELLO),
            ),
            peers: cgi_peers("/cgi-bin/hello.sh", Some(Goal::AtLeast(5.0))),
            connections: Some(CGI_CONNECTIONS),
            ..base.clone()
        },
        Workload {
            name: "cgi-python",
            about: "a `python3` CGI hello world",
            sockserve: t(
                SockserveCgi,
                "/cgi-bin/hello.py",
                Expect::Contains(fixtures::HELLO),
            ),
            peers: cgi_peers("/cgi-bin/hello.py", None),
            connections: Some(CGI_CONNECTIONS),
            ..base.clone()
        },
        Workload {
            name: "time",
            about: "the site's `/time` page, vs its own `/` and vs the same page from a python CGI script under lighttpd",
            sockserve: t(SockserveSite, "/time", Expect::Ok),
            peers: vec![
                site_root,
                peer(
                    "python CGI (lighttpd)",
                    t(Lighttpd, "/cgi-bin/time.py", Expect::Ok),
                    None,
                ),
            ],
            ..base.clone()
        },
        Workload {
            name: "guestbook",
            about: "the guestbook page (50 of 10,000 messages), vs the site's `/` and vs the same page from a python CGI script under lighttpd",
            sockserve: t(
                SockserveSite,
                "/guestbook",
                Expect::Contains(crate::guestbook::MARKER),
            ),
            peers: vec![
                site_root,
                peer(
                    "python CGI (lighttpd)",
                    t(
                        Lighttpd,
                        "/cgi-bin/guestbook.py",
                        Expect::Contains(crate::guestbook::MARKER),
                    ),
                    None,
                ),
            ],
            needs_guestbook: true,
            connections: Some(CGI_CONNECTIONS),
            ..base.clone()
        },
        Workload {
            name: "guestbook-scale",
            about: "the guestbook page (50 of 10,000 messages) on SQLite, vs the same on PostgreSQL with one instance and with two instances behind HAProxy (scripts/cluster; on one machine the second instance shares the same cores; CPU per request is not counted for these two, whose processes run in sessions of their own)",
            sockserve: t(
                SockserveSite,
                "/guestbook",
                Expect::Contains(crate::guestbook::MARKER),
            ),
            peers: vec![
                peer(
                    "PostgreSQL, 1 instance",
                    t(
                        SockservePg,
                        "/guestbook",
                        Expect::Contains(crate::guestbook::MARKER),
                    ),
                    None,
                ),
                peer(
                    "PostgreSQL, 2 instances + HAProxy",
                    t(
                        SockserveCluster,
                        "/guestbook",
                        Expect::Contains(crate::guestbook::MARKER),
                    ),
                    None,
                ),
            ],
            needs_guestbook: true,
            ..base.clone()
        },
        Workload {
            name: "file-1k-close",
            about: "a 1 KiB file with `Connection: close` (a connection per request)",
            peers: file_peers("/1k.bin", small, None, None),
            headers: &["Connection: close"],
            ..base.clone()
        },
        Workload {
            name: "guestbook-writes",
            about: "`GET /api/messages` (the newest 50 of a 400,000-message guestbook) alone, vs the same while another client posts 10 and 50 messages a second",
            sockserve: book_reads,
            peers: vec![
                peer("itself, 10 posts/s", under_writes(book_reads, 10), None),
                // Reads under 50 posts/s keep at least 80% of the rate alone: alone / under <= 1.25.
                peer(
                    "itself, 50 posts/s",
                    under_writes(book_reads, 50),
                    Some(Goal::AtMost(1.25)),
                ),
            ],
            needs_book: true,
            connections: Some(CGI_CONNECTIONS),
            ..base.clone()
        },
        Workload {
            name: "compress-burst",
            about: "peak resident memory while 40 clients at once fetch a cold 7.5 MiB text file compressed on the fly (sockserve: brotli; nginx: gzip, as Debian's nginx has no brotli)",
            metric: Metric::PeakMemory,
            sockserve: t(
                SockserveFiles,
                fixtures::TEXT_PATH,
                Expect::Length(fixtures::TEXT),
            ),
            peers: vec![peer(
                "nginx gzip",
                t(Nginx, fixtures::TEXT_PATH, Expect::Length(fixtures::TEXT)),
                None,
            )],
            headers: &["Accept-Encoding: br, gzip"],
            ..base.clone()
        },
        Workload {
            name: "tls-file-1k",
            about: "a 1 KiB file over TLS (ECDSA P-256), keep-alive",
            sockserve: t(SockserveTls, "/1k.bin", small),
            peers: tls_peers("/1k.bin", small, Goal::AtLeast(1.2)),
            ..base.clone()
        },
        Workload {
            name: "tls-handshake",
            about: "full TLS handshakes per second: a new connection per request (a 1 KiB file), no resumption",
            sockserve: t(SockserveTls, "/1k.bin", small),
            peers: tls_peers("/1k.bin", small, Goal::AtLeast(1.2)),
            connections: Some(HANDSHAKE_CLIENTS),
            load: Load::Handshakes { resume: false },
            ..base.clone()
        },
        Workload {
            name: "tls-resume",
            about: "resumed TLS handshakes per second: a new connection per request (a 1 KiB file), each resuming the session",
            sockserve: t(SockserveTls, "/1k.bin", small),
            peers: tls_peers("/1k.bin", small, Goal::AtLeast(1.2)),
            connections: Some(HANDSHAKE_CLIENTS),
            load: Load::Handshakes { resume: true },
            ..base.clone()
        },
        Workload {
            name: "tls-file-1m",
            about: "a 1 MiB file over TLS, keep-alive, in bytes per second",
            metric: Metric::Bytes,
            sockserve: t(SockserveTls, "/1m.bin", large),
            peers: tls_peers("/1m.bin", large, Goal::AtLeast(1.0)),
            ..base.clone()
        },
        Workload {
            name: "tls-idle-memory",
            about: "resident memory (all processes) holding 10,000 idle keep-alive TLS connections",
            metric: Metric::Memory,
            sockserve: t(SockserveTls, "/1k.bin", small),
            peers: tls_peers("/1k.bin", small, Goal::AtMost(1.0)),
            ..base.clone()
        },
        Workload {
            name: "framework-json",
            about: "a JSON GET route of the framework (`web_bench`) vs the same route on axum 0.8 (`axum_bench`)",
            sockserve: t(FrameworkWeb, "/json", Expect::Contains("\"title\"")),
            peers: vec![peer(
                "axum 0.8",
                t(FrameworkAxum, "/json", Expect::Contains("\"title\"")),
                Some(Goal::AtLeast(1.2)),
            )],
            ..base.clone()
        },
        Workload {
            name: "framework-session",
            about: "a page behind a session (read from a memory store through a cookie) rendered from an askama template: the framework vs axum 0.8 with tower-sessions",
            sockserve: t(FrameworkWeb, "/page", Expect::Contains("<h1>Hello")),
            peers: vec![peer(
                "axum 0.8 + tower-sessions",
                t(FrameworkAxum, "/page", Expect::Contains("<h1>Hello")),
                Some(Goal::AtLeast(1.2)),
            )],
            headers: &[SESSION_COOKIE],
            ..base.clone()
        },
        Workload {
            name: "idle-memory",
            about: "resident memory (all processes) holding 10,000 idle keep-alive connections",
            metric: Metric::Memory,
            peers: vec![
                peer("nginx", t(Nginx, "/1k.bin", small), Some(Goal::AtMost(1.0))),
                peer("lighttpd", t(Lighttpd, "/1k.bin", small), None),
                peer(
                    "static-web-server",
                    t(StaticWebServer, "/1k.bin", small),
                    None,
                ),
            ],
            ..base
        },
    ];
    all.extend(h2_workloads);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_peers_distinct() {
        let all = all();
        let mut names: Vec<_> = all.iter().map(|w| w.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for w in &all {
            assert!(!w.peers.is_empty(), "{} has no peer", w.name);
        }
    }

    #[test]
    fn expectations() {
        let reply = |status, body: &str| Reply {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        assert!(Expect::Ok.check(&reply(200, "x")).is_none());
        assert!(Expect::Ok.check(&reply(404, "x")).is_some());
        assert!(Expect::Length(3).check(&reply(200, "abcd")).is_some());
        assert!(
            Expect::Listing
                .check(&reply(200, "file-0999.txt"))
                .is_none()
        );
        assert!(Expect::Contains("Hello").check(&reply(200, "Hi")).is_some());
    }
}
