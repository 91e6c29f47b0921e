//! The connection machine driven without a socket: every rule, and every input split at every
//! byte giving the same decisions as the input whole.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::{StatusCode, Version};

use super::*;
use crate::response::Length;

fn settings() -> Settings {
    Settings {
        limits: Limits::default(),
        head_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(15),
        max_drain: 16,
    }
}

/// What the driver saw for one request: its method and target, the head's plan, what followed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    request: String,
    send_continue: bool,
    plan: Plan,
    next: Next,
}

/// How the simulated service treats a request.
#[derive(Debug, Clone, Copy)]
struct Service {
    /// The response's status.
    status: StatusCode,
    /// The response body's length (`None`: streamed).
    len: Option<u64>,
    /// Whether the service reads the body to its end before answering.
    reads_body: bool,
}

const OK: Service = Service {
    status: StatusCode::OK,
    len: Some(2),
    reads_body: false,
};

/// Feeds `parts` one after the other, answering every request with `service`, as the server's
/// driver does; rejections are recorded with a request of `-`. Stops when the connection ends.
fn drive(parts: &[&[u8]], service: Service) -> Vec<Seen> {
    let mut conn = Connection::new(settings());
    let mut buf = BytesMut::new();
    let mut seen = Vec::new();
    let mut parts = parts.iter();
    // The body of the request in progress, while it is being drained.
    let mut pending: Option<(Decoder, Seen)> = None;
    loop {
        if let Some((mut decoder, mut s)) = pending.take() {
            match conn.drain(&mut decoder, &mut buf) {
                Drain::NeedMore => match parts.next() {
                    Some(p) => {
                        buf.extend_from_slice(p);
                        pending = Some((decoder, s));
                        continue;
                    }
                    None => {
                        conn.drain_failed();
                        s.next = conn.taken_back();
                        seen.push(s);
                        return seen;
                    }
                },
                Drain::Done | Drain::TooLong | Drain::Malformed(_) => {
                    s.next = conn.taken_back();
                    let end = s.next != Next::KeepAlive;
                    seen.push(s);
                    if end {
                        return seen;
                    }
                }
            }
        }
        match conn.poll_head(&mut buf) {
            Step::NeedMore => match parts.next() {
                Some(p) => buf.extend_from_slice(p),
                None => return seen,
            },
            Step::Reject(reject, _) => {
                let plan = conn.respond(reject.status, Some(5), false);
                let next = conn.finish(true);
                seen.push(Seen {
                    request: "-".into(),
                    send_continue: false,
                    plan,
                    next,
                });
                return seen;
            }
            Step::Request(incoming) => {
                let Incoming {
                    head,
                    send_continue,
                    body,
                    ..
                } = incoming;
                let request = format!("{} {}", head.method, head.target.as_str());
                let mut decoder = body;
                let mut broken = false;
                if let Some(d) = decoder.as_mut().filter(|_| service.reads_body) {
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
                            Err(_) => {
                                broken = true;
                                break;
                            }
                        }
                    }
                }
                let plan = conn.respond(service.status, service.len, false);
                let mut s = Seen {
                    request,
                    send_continue,
                    plan,
                    next: conn.finish(true),
                };
                match (s.next, decoder) {
                    (Next::TakeBack, Some(d)) => match conn.body_returned(&d, broken) {
                        Leftover::Done => s.next = conn.taken_back(),
                        Leftover::Close => s.next = conn.taken_back(),
                        Leftover::Drain => {
                            pending = Some((d, s));
                            continue;
                        }
                    },
                    (Next::TakeBack, None) => s.next = conn.taken_back(),
                    _ => {}
                }
                let end = s.next != Next::KeepAlive;
                seen.push(s);
                if end {
                    return seen;
                }
            }
        }
    }
}

/// The decisions for `input` whole, checked to be the same for `input` split at every byte
/// (in two parts, and in one-byte parts).
fn decide(input: &[u8], service: Service) -> Vec<Seen> {
    let whole = drive(&[input], service);
    for cut in 1..input.len() {
        let split = drive(&[&input[..cut], &input[cut..]], service);
        assert_eq!(
            split,
            whole,
            "split at {cut}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(drive(&bytes, service), whole, "one byte at a time");
    whole
}

fn one(input: &[u8], service: Service) -> Seen {
    let mut seen = decide(input, service);
    assert_eq!(seen.len(), 1, "{seen:?}");
    seen.remove(0)
}

fn framing(version: Version, length: Length, close: bool) -> Framing {
    Framing {
        version,
        length,
        close,
    }
}

#[test]
fn http11_keeps_alive_and_answers_pipelined_requests_in_order() {
    let seen = decide(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        OK,
    );
    let requests: Vec<_> = seen.iter().map(|s| s.request.as_str()).collect();
    assert_eq!(requests, ["GET /a", "GET /b"]);
    for s in &seen {
        assert_eq!(s.next, Next::KeepAlive);
        assert_eq!(
            s.plan.framing,
            framing(Version::HTTP_11, Length::Known(2), false)
        );
        assert!(s.plan.send_body);
    }
}

#[test]
fn connection_close_closes_after_the_response() {
    let s = one(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /",
        OK,
    );
    assert!(s.plan.framing.close);
    assert_eq!(s.next, Next::Close);
}

#[test]
fn http10_closes_unless_it_asks_for_keep_alive() {
    let s = one(b"GET / HTTP/1.0\r\n\r\n", OK);
    assert_eq!(
        s.plan.framing,
        framing(Version::HTTP_10, Length::Known(2), true)
    );
    assert_eq!(s.next, Next::Close);

    let seen = decide(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
        OK,
    );
    assert_eq!(seen.len(), 2);
    // Not closing, to an HTTP/1.0 client: the encoder writes `Connection: keep-alive`.
    assert_eq!(
        seen[0].plan.framing,
        framing(Version::HTTP_10, Length::Known(2), false)
    );
    assert_eq!(seen[0].next, Next::KeepAlive);
    assert_eq!(seen[1].next, Next::Close);
}

#[test]
fn an_unknown_length_is_chunked_for_http11_and_ends_the_connection_for_http10() {
    let streamed = Service { len: None, ..OK };
    let s = one(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        streamed,
    );
    assert_eq!(s.plan.framing.length, Length::Chunked);

    let s = one(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        streamed,
    );
    assert_eq!(
        s.plan.framing,
        framing(Version::HTTP_10, Length::Omitted, true)
    );
    assert_eq!(s.next, Next::Close);
}

#[test]
fn head_gets_the_length_but_no_body_and_keeps_alive() {
    let seen = decide(
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        OK,
    );
    assert_eq!(seen[0].plan.framing.length, Length::Known(2));
    assert!(!seen[0].plan.send_body);
    assert_eq!(seen[0].next, Next::KeepAlive);
    assert!(seen[1].plan.send_body);
}

#[test]
fn no_content_and_not_modified_have_neither_length_nor_body() {
    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
        let s = one(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Service { status, ..OK },
        );
        assert_eq!(s.plan.framing.length, Length::Omitted);
        assert!(!s.plan.send_body);
    }
}

#[test]
fn connect_never_keeps_the_connection() {
    let s = one(
        b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\nGET /",
        OK,
    );
    assert!(s.plan.framing.close);
    assert_eq!(s.next, Next::Close);
}

#[test]
fn continue_is_sent_only_for_an_http11_body_that_waits_for_it() {
    let s = one(
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
        Service { reads_body: true, ..OK },
    );
    assert!(s.send_continue);
    let s = one(
        b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        OK,
    );
    assert!(!s.send_continue, "no body, nothing to wait for");
    let s = one(
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
        Service {
            reads_body: true,
            ..OK
        },
    );
    assert!(!s.send_continue, "an HTTP/1.0 client is sent no 1xx");
}

#[test]
fn an_unread_small_body_is_drained_and_the_connection_kept() {
    let seen = decide(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        OK,
    );
    let requests: Vec<_> = seen.iter().map(|s| (s.request.as_str(), s.next)).collect();
    assert_eq!(
        requests,
        [("POST /", Next::KeepAlive), ("GET /b", Next::KeepAlive)]
    );

    let seen = decide(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        OK,
    );
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].request, "GET /b");
}

#[test]
fn a_body_longer_than_the_drain_limit_closes_instead() {
    // Known in advance to be too long: no byte of it is read.
    let s = one(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n01234567890123456GET /b",
        OK,
    );
    assert_eq!(s.next, Next::Abort);
    // Found out while draining.
    let s = one(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n01234567890123456\r\n0\r\n\r\nGET /b",
        OK,
    );
    assert_eq!(s.next, Next::Abort);
}

#[test]
fn a_malformed_body_is_never_followed_by_another_request() {
    // A trailer line without a colon, then a request that must not be answered.
    let seen = decide(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        OK,
    );
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].next, Next::Abort);
    // Read by the service, failing there: the same.
    let seen = decide(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        Service { reads_body: true, ..OK },
    );
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].next, Next::Abort);
}

#[test]
fn a_body_whose_read_failed_is_not_drained_again() {
    let mut conn = Connection::new(settings());
    let mut buf =
        BytesMut::from(&b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc"[..]);
    let Step::Request(incoming) = conn.poll_head(&mut buf) else {
        panic!("a request");
    };
    let mut decoder = incoming.body.expect("a body");
    assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::Data(_))));
    // The service's read timed out: the answer closes, and nothing waits for the rest.
    assert_eq!(conn.body_returned(&decoder, true), Leftover::Close);
    let plan = conn.respond(StatusCode::REQUEST_TIMEOUT, Some(3), false);
    assert!(plan.framing.close);
    assert_eq!(conn.finish(true), Next::Abort);
}

#[test]
fn malformed_heads_are_answered_and_closed() {
    for (input, status) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], StatusCode::BAD_REQUEST),
        (
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            StatusCode::NOT_IMPLEMENTED,
        ),
    ] {
        let s = one(input, OK);
        assert_eq!(s.request, "-");
        assert_eq!(
            s.plan.framing,
            framing(Version::HTTP_11, Length::Known(5), true)
        );
        assert!(s.plan.send_body, "{status}");
        assert_eq!(s.next, Next::Abort);
    }
}

#[test]
fn head_response_to_early_error_has_no_body() {
    for input in [
        &b"HEAD / HTTP/1.1\r\n\r\n"[..],
        b"\r\nHEAD / HTTP/1.1\r\n\r\n",
        b"HEAD / HTTP/3.0\r\nHost: x\r\n\r\n",
        b"HEAD /\r\n",
        b"HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n",
    ] {
        let s = one(input, OK);
        assert_eq!(s.request, "-");
        assert!(!s.plan.send_body, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(s.plan.framing.length, Length::Known(5));
    }
}

#[test]
fn a_head_after_more_empty_lines_than_the_parser_skips_is_not_taken_for_head() {
    // Found by the h1_conn fuzz target: the fifth empty line is the (empty) request line the
    // parser refuses, so the `HEAD` after it is not the method. Whole, the input used to be
    // answered without a body (all the empty lines skipped to find `HEAD`); split where the
    // parser refused before `HEAD` arrived, with one. `one` checks every split.
    for input in [
        &b"\r\n\r\n\r\n\r\n\r\nHEAD / HTTP/1.1\r\n\r\n"[..],
        b"\r\n\r\n\r\n\r\n\r\n\r\n\r\nHEAD \r\xff",
    ] {
        let s = one(input, OK);
        assert_eq!(s.request, "-");
        assert!(s.plan.send_body, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(s.next, Next::Abort);
    }
    // Four empty lines are skipped: the `HEAD` after them is the method.
    let s = one(b"\r\n\r\n\r\n\r\nHEAD /\r\n", OK);
    assert!(!s.plan.send_body);
}

#[test]
fn a_request_line_without_version_is_refused_at_once() {
    let s = one(b"GET /\r\n", OK);
    assert_eq!(s.request, "-");
    assert_eq!(s.next, Next::Abort);
}

#[test]
fn waits_run_from_the_accept_then_the_first_byte_then_the_idle_timeout() {
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(3);
    let mut conn = Connection::new(settings());
    assert_eq!(
        conn.wait(false, t0),
        Wait {
            deadline: t0 + Duration::from_secs(10),
            idle: true
        }
    );
    let mut buf = BytesMut::from(&b"GET / HT"[..]);
    assert!(matches!(conn.poll_head(&mut buf), Step::NeedMore));
    let partial = conn.wait(true, t0);
    assert_eq!(partial.deadline, t0 + Duration::from_secs(10));
    assert!(!partial.idle);
    // The head timeout does not restart with each byte.
    assert_eq!(conn.wait(true, later), partial);
    buf.extend_from_slice(b"TP/1.1\r\nHost: x\r\n\r\n");
    let Step::Request(incoming) = conn.poll_head(&mut buf) else {
        panic!("a request");
    };
    assert_eq!(incoming.started, Some(t0));
    conn.respond(StatusCode::OK, Some(0), false);
    assert_eq!(conn.finish(true), Next::KeepAlive);
    assert_eq!(conn.served(), 1);
    assert_eq!(
        conn.wait(false, later),
        Wait {
            deadline: later + Duration::from_secs(15),
            idle: true
        }
    );
    assert_eq!(conn.timed_out(&buf), None);
    assert_eq!(conn.reading(), Reading::Closed);
}

#[test]
fn a_partial_head_that_times_out_is_408_without_body_for_head() {
    for (input, send_body) in [
        (&b"GET / HTTP/1.1\r\n"[..], true),
        (b"HEAD / HTTP/1.1\r\n", false),
    ] {
        let mut conn = Connection::new(settings());
        let mut buf = BytesMut::from(input);
        assert!(matches!(conn.poll_head(&mut buf), Step::NeedMore));
        conn.wait(true, Instant::now());
        let reject = conn.timed_out(&buf).expect("a 408");
        assert_eq!(reject.status, StatusCode::REQUEST_TIMEOUT);
        let plan = conn.respond(reject.status, Some(3), false);
        assert!(plan.framing.close);
        assert_eq!(plan.send_body, send_body);
        assert_eq!(conn.finish(true), Next::Abort);
    }
}

#[test]
fn shutdown_panics_and_failed_writes_end_the_connection() {
    let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let start = || {
        let mut conn = Connection::new(settings());
        let mut buf = BytesMut::from(&input[..]);
        assert!(matches!(conn.poll_head(&mut buf), Step::Request(_)));
        conn
    };
    let mut conn = start();
    assert!(conn.respond(StatusCode::OK, Some(1), true).framing.close);
    assert_eq!(conn.finish(true), Next::Close);

    let mut conn = start();
    conn.force_close();
    assert!(conn.respond(StatusCode::OK, Some(1), false).framing.close);
    assert_eq!(conn.finish(true), Next::Close);

    let mut conn = start();
    assert!(!conn.respond(StatusCode::OK, Some(1), false).framing.close);
    assert_eq!(conn.finish(false), Next::Abort);

    let mut conn = start();
    conn.respond_raw();
    assert_eq!(conn.finish(true), Next::Close);
}

#[test]
fn a_body_held_by_a_task_is_taken_back_after_the_response() {
    let mut conn = Connection::new(settings());
    let mut buf =
        BytesMut::from(&b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"[..]);
    let Step::Request(incoming) = conn.poll_head(&mut buf) else {
        panic!("a request");
    };
    let mut decoder = incoming.body.expect("a body");
    assert!(!conn.respond(StatusCode::OK, None, false).framing.close);
    assert_eq!(conn.finish(true), Next::TakeBack);
    assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::Data(_))));
    assert_eq!(conn.body_returned(&decoder, false), Leftover::Done);
    assert_eq!(conn.taken_back(), Next::KeepAlive);
}

#[test]
fn closing_lingers_unless_the_end_was_clean() {
    assert_eq!(closing(Next::Close, false, true), Closing::Close);
    assert_eq!(closing(Next::Close, true, true), Closing::Linger);
    assert_eq!(closing(Next::Abort, false, true), Closing::Linger);
    assert_eq!(closing(Next::Abort, false, false), Closing::Shutdown);
}

#[test]
fn options_asterisk_is_recognised() {
    let mut conn = Connection::new(settings());
    let mut buf = BytesMut::from(
        &b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
    );
    let Step::Request(first) = conn.poll_head(&mut buf) else {
        panic!("a request");
    };
    assert!(is_options_asterisk(&first.head));
    conn.respond(StatusCode::OK, Some(0), false);
    conn.finish(true);
    let Step::Request(second) = conn.poll_head(&mut buf) else {
        panic!("a request");
    };
    assert!(!is_options_asterisk(&second.head));
}

/// The first head of `raw` on a new connection, and the connection.
fn first_request(raw: &[u8]) -> (Connection, Incoming, BytesMut) {
    let mut conn = Connection::new(settings());
    let mut buf = BytesMut::from(raw);
    let Step::Request(incoming) = conn.poll_head(&mut buf) else {
        panic!("a request");
    };
    (conn, incoming, buf)
}

const WEBSOCKET_HANDSHAKE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x80";

#[test]
fn a_101_to_an_upgrade_request_hands_the_connection_over_with_what_followed() {
    let (mut conn, incoming, buf) = first_request(WEBSOCKET_HANDSHAKE);
    assert!(incoming.upgrade);
    // The first frame came with the head: it stays in the buffer for the new protocol.
    assert_eq!(&buf[..], b"\x81\x80");
    let plan = conn.respond(StatusCode::SWITCHING_PROTOCOLS, None, false);
    assert_eq!(plan.framing.length, Length::Omitted);
    assert!(!plan.framing.close);
    assert!(!plan.send_body);
    assert_eq!(conn.finish(true), Next::Upgrade);
    assert_eq!(conn.reading(), Reading::Closed);
}

#[test]
fn an_upgrade_request_answered_otherwise_stays_http() {
    let (mut conn, incoming, _) = first_request(WEBSOCKET_HANDSHAKE);
    assert!(incoming.upgrade);
    assert!(!conn.respond(StatusCode::OK, Some(2), false).framing.close);
    assert_eq!(conn.finish(true), Next::KeepAlive);
}

#[test]
fn only_http_1_1_requests_without_a_body_that_name_upgrade_in_connection_may_switch() {
    for raw in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
          Content-Length: 1\r\n\r\nx",
    ] {
        let (mut conn, incoming, _) = first_request(raw);
        assert!(!incoming.upgrade, "{}", String::from_utf8_lossy(raw));
        // A 101 nobody asked for closes the connection instead of switching it.
        let plan = conn.respond(StatusCode::SWITCHING_PROTOCOLS, None, false);
        assert!(plan.framing.close);
        assert_ne!(conn.finish(true), Next::Upgrade);
    }
}
