//! Drives the server connection state machine with arbitrary bytes, whole and split at two
//! points, answering every request as a service would.
//!
//! Beyond "never panics": the decisions (requests seen, each head's plan, what follows) must not
//! depend on where the input was split; a response to HEAD or with 1xx/204/304 never carries a
//! body; nothing is read after a connection decided to close.

#![no_main]

use std::time::Duration;

use bytes::BytesMut;
use http1::conn::{Connection, Drain, Incoming, Leftover, Next, Plan, Settings, Step};
use http1::{Decoded, Limits, StatusCode};
use libfuzzer_sys::fuzz_target;

/// How the simulated service answers: chosen by the first input byte.
#[derive(Clone, Copy)]
struct Service {
    status: StatusCode,
    len: Option<u64>,
    reads_body: bool,
}

fn service(b: u8) -> Service {
    let status = [200, 204, 304, 404, 101, 500][usize::from(b % 6)];
    Service {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        len: (b & 0x40 == 0).then_some(u64::from(b & 0x7)),
        reads_body: b & 0x80 != 0,
    }
}

type Seen = Vec<(String, Option<Plan>, Next)>;

fn drive(input: &[u8], cuts: &[usize], svc: Service) -> Seen {
    let settings = Settings {
        limits: Limits {
            max_body_size: 4096,
            ..Limits::default()
        },
        head_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(15),
        max_drain: 64,
    };
    let mut conn = Connection::new(settings);
    let mut buf = BytesMut::new();
    let mut parts = cuts
        .iter()
        .copied()
        .chain(std::iter::once(input.len()))
        .scan(0, |fed, end| {
            let part = &input[*fed..end];
            *fed = end;
            Some(part)
        });
    let mut seen = Seen::new();
    loop {
        let incoming: Incoming = match conn.poll_head(&mut buf) {
            Step::NeedMore => match parts.next() {
                Some(p) => {
                    buf.extend_from_slice(p);
                    continue;
                }
                None => return seen,
            },
            Step::Reject(reject, _) => {
                let plan = conn.respond(reject.status, Some(3), false);
                let next = conn.finish(true);
                assert_ne!(next, Next::KeepAlive);
                seen.push(("-".into(), Some(plan), next));
                return seen;
            }
            Step::Request(incoming) => incoming,
        };
        let request = format!("{} {}", incoming.head.method, incoming.head.target.as_str());
        let head_request = incoming.head.method == http1::Method::HEAD;
        let mut decoder = incoming.body;
        let mut broken = false;
        if let Some(d) = decoder.as_mut().filter(|_| svc.reads_body) {
            loop {
                match d.decode(&mut buf) {
                    Ok(Decoded::Data(_)) => {}
                    Ok(Decoded::Done) => break,
                    Ok(Decoded::NeedMore) => match parts.next() {
                        Some(p) => buf.extend_from_slice(p),
                        None => {
                            broken = true;
                            break;
                        }
                    },
                    Err(_) => break,
                }
            }
        }
        let plan = conn.respond(svc.status, svc.len, false);
        if head_request || matches!(svc.status.as_u16(), 100..=199 | 204 | 304) {
            assert!(!plan.send_body);
        }
        let mut next = conn.finish(true);
        if let (Next::TakeBack, Some(mut d)) = (next, decoder) {
            if conn.body_returned(&d, broken) == Leftover::Drain {
                loop {
                    match conn.drain(&mut d, &mut buf) {
                        Drain::NeedMore => match parts.next() {
                            Some(p) => buf.extend_from_slice(p),
                            None => {
                                conn.drain_failed();
                                break;
                            }
                        },
                        Drain::Done | Drain::TooLong | Drain::Malformed(_) => break,
                    }
                }
            }
            next = conn.taken_back();
        } else if next == Next::TakeBack {
            next = conn.taken_back();
        }
        if plan.framing.close {
            assert_ne!(next, Next::KeepAlive);
        }
        seen.push((request, Some(plan), next));
        if next != Next::KeepAlive {
            // Closed: whatever follows is never read as a request.
            assert!(matches!(conn.poll_head(&mut buf), Step::NeedMore));
            return seen;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let svc = service(first);
    let (a, b) = match input {
        [x, y, ..] => (
            usize::from(*x) % (input.len() + 1),
            usize::from(*y) % (input.len() + 1),
        ),
        _ => (0, 0),
    };
    let whole = drive(input, &[], svc);
    let split = drive(input, &[a.min(b), a.max(b)], svc);
    assert_eq!(whole, split);
});
