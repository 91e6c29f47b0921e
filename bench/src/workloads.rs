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
}

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
    };
    vec![
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
    ]
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
