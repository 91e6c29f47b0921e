//! HTTP/2 denial-of-service patterns, each sent as raw frames to a running server over h2c,
//! each followed by a normal client that must still be served: CONTINUATION floods, HPACK
//! bombs, SETTINGS, PING and empty-frame floods, a client that never reads (a zero window), a
//! client that never answers the closing PING.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::h2_prior_knowledge::{
    DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PREFACE, SETTINGS, curl, error_code, frame,
    open, request_block, until,
};
use crate::harness::{Running, eventually};
use crate::site::{fresh_db, start};

const PING: u8 = 0x6;
const CONTINUATION: u8 = 0x9;

/// Most bytes a flood sends before the test gives up on the server closing: eight times the
/// server's allowance and more.
const FLOOD_LIMIT: usize = 48 << 20;

/// A `serve` of a directory holding a 1 MiB `big.bin`, with `extra` flags.
fn serve(extra: &[&str]) -> (tempfile::TempDir, Running) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("big.bin"), vec![7u8; 1 << 20]).expect("write");
    let mut args = vec!["-p", "0", "-q"];
    args.extend_from_slice(extra);
    args.push("serve");
    let s = Running::start_in(Some(dir.path()), &args);
    (dir, s)
}

/// The server's resident memory in KiB.
fn rss_kib(s: &Running) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", s.child.id())).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Sockets the server holds open (listeners and connections; files it caches are not counted).
fn sockets(s: &Running) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", s.child.id())) else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Reads and discards frames until the server closes; the GOAWAY error code, if one came.
fn drain(mut c: TcpStream) -> JoinHandle<Option<u32>> {
    std::thread::spawn(move || {
        c.set_read_timeout(Some(Duration::from_secs(15))).ok();
        let mut goaway = None;
        let mut head = [0u8; 9];
        while c.read_exact(&mut head).is_ok() {
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0; len];
            if c.read_exact(&mut payload).is_err() {
                break;
            }
            if head[3] == GOAWAY && payload.len() >= 8 {
                goaway = Some(error_code(&payload, 4));
            }
        }
        goaway
    })
}

/// Sends `setup`, then `batch` (built for the round's number) over and over until the server
/// closes the connection; panics if it took [`FLOOD_LIMIT`] bytes without closing. Returns
/// the GOAWAY error code, if one came before the close.
fn flood(s: &Running, setup: &[u8], batch: impl Fn(u32) -> Vec<u8>) -> Option<u32> {
    let mut c = open(s);
    c.write_all(setup).expect("setup");
    let reader = drain(c.try_clone().expect("clone"));
    let mut sent = 0;
    let mut round = 0;
    let closed = loop {
        let bytes = batch(round);
        round += 1;
        if c.write_all(&bytes).is_err() {
            break true;
        }
        sent += bytes.len();
        if sent > FLOOD_LIMIT {
            break false;
        }
    };
    let _ = c.shutdown(Shutdown::Both);
    let goaway = reader.join().expect("reader");
    assert!(
        closed,
        "the server took {sent} bytes of flood without closing"
    );
    goaway
}

/// A normal client is served while (after) the attack.
fn still_served(s: &Running, path: &str) {
    let (status, _) = curl(&[], &s.url(path));
    assert_eq!(status, "2 200");
}

#[test]
fn a_continuation_flood_gets_goaway_with_memory_bounded() {
    let (_dir, s) = serve(&[]);
    let before = rss_kib(&s);
    // A header block that never ends: CONTINUATION after CONTINUATION, none with END_HEADERS,
    // each carrying a field that only adds to the list.
    let mut setup = frame(HEADERS, 0, 1, &request_block("GET", "/big.bin", &[]));
    setup.extend(frame(CONTINUATION, 0, 1, &[]));
    let field = crate::h2_prior_knowledge::block(&[("x-flood", &"a".repeat(200))]);
    let goaway = flood(&s, &setup, |_| {
        let mut b = Vec::new();
        for _ in 0..100 {
            b.extend(frame(CONTINUATION, 0, 1, &field));
        }
        b
    });
    assert!(goaway.is_some(), "closed without GOAWAY");
    let grown = rss_kib(&s).saturating_sub(before);
    assert!(grown < 32 * 1024, "the server grew by {grown} KiB");
    still_served(&s, "/big.bin");
}

#[test]
fn empty_continuation_frames_without_end_are_cut_off_too() {
    let (_dir, s) = serve(&[]);
    let setup = frame(HEADERS, 0, 1, &request_block("GET", "/", &[]));
    let empty = frame(CONTINUATION, 0, 1, &[]);
    flood(&s, &setup, |_| empty.repeat(1000));
    still_served(&s, "/big.bin");
}

/// An HPACK integer with an `n`-bit prefix, the high bits of its first byte set to `flags`.
fn hpack_int(flags: u8, n: u32, value: usize, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

#[test]
fn an_hpack_bomb_is_refused_by_the_header_list_limit() {
    let (_dir, s) = serve(&[]);
    let before = rss_kib(&s);
    let mut c = open(&s);
    // One 4000-byte field into the dynamic table (literal with incremental indexing), then
    // 16 000 one-byte references to it: 16 KB on the wire, 64 MB of headers decoded.
    let mut bomb = request_block("GET", "/big.bin", &[]);
    bomb.push(0x40);
    hpack_int(0, 7, 6, &mut bomb);
    bomb.extend_from_slice(b"x-bomb");
    hpack_int(0, 7, 4000, &mut bomb);
    bomb.extend(std::iter::repeat_n(b'b', 4000));
    let refs = vec![0x80 | 62u8; 16_000 - bomb.len()];
    bomb.extend_from_slice(&refs);
    c.write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &bomb))
        .expect("bomb");
    // Refused: a reset, GOAWAY, or a response that is not `:status 200` (static index 8).
    let answer = loop {
        let mut head = [0u8; 9];
        if c.read_exact(&mut head).is_err() {
            break "closed";
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        c.read_exact(&mut payload).expect("payload");
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        match head[3] {
            GOAWAY => break "GOAWAY",
            0x3 if stream == 1 => break "RST_STREAM",
            HEADERS if stream == 1 => {
                assert_ne!(payload.first(), Some(&0x88), "the bomb was answered 200");
                break "refused";
            }
            _ => {}
        }
    };
    eprintln!("the bomb: {answer}");
    let grown = rss_kib(&s).saturating_sub(before);
    assert!(grown < 32 * 1024, "the server grew by {grown} KiB");
    still_served(&s, "/big.bin");
}

#[test]
fn a_settings_flood_is_cut_off() {
    let (_dir, s) = serve(&[]);
    // SETTINGS_INITIAL_WINDOW_SIZE = 65535, again and again: each wants an ACK.
    let mut payload = vec![0x00, 0x04];
    payload.extend_from_slice(&65_535u32.to_be_bytes());
    let unit = frame(SETTINGS, 0, 0, &payload);
    let goaway = flood(&s, &[], |_| unit.repeat(2000));
    assert_ne!(goaway, Some(0), "a flood is not a graceful close");
    still_served(&s, "/big.bin");
}

#[test]
fn a_ping_flood_is_cut_off() {
    let (_dir, s) = serve(&[]);
    let unit = frame(PING, 0, 0, b"12345678");
    flood(&s, &[], |_| unit.repeat(2000));
    still_served(&s, "/big.bin");
}

#[test]
fn an_empty_data_flood_is_cut_off() {
    // The site's /echo reads the body to its end, which never comes: only empty DATA frames.
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let setup = frame(
        HEADERS,
        END_HEADERS,
        1,
        &request_block("POST", "/echo", &[]),
    );
    let empty = frame(DATA, 0, 1, &[]);
    flood(&s, &setup, |_| empty.repeat(2000));
    still_served(&s, "/");
}

#[test]
fn an_empty_headers_flood_is_cut_off() {
    let (_dir, s) = serve(&[]);
    // Each a new stream whose header block is empty: malformed, reset, again.
    let goaway = flood(&s, &[], |round| {
        let mut b = Vec::new();
        for i in 0..500 {
            let id = 2 * (round * 500 + i) + 1;
            b.extend(frame(HEADERS, END_HEADERS | END_STREAM, id, &[]));
        }
        b
    });
    assert!(goaway.is_some(), "closed without GOAWAY");
    still_served(&s, "/big.bin");
}

#[test]
fn a_client_that_never_reads_is_dropped_with_its_memory() {
    // A window of zero: no body byte may go; and the socket is never read either. The streams
    // are reset after the write timeout, the connection goes idle, its GOAWAY cannot be
    // written, and it is dropped PING_TIMEOUT (5 s) later.
    let (_dir, s) = serve(&["--write-timeout", "1", "--idle-timeout", "1"]);
    // Served once first, so whatever the server opens on its first request is in the baseline.
    still_served(&s, "/big.bin");
    let baseline = sockets(&s);
    let before = rss_kib(&s);
    let mut c = s.connect();
    c.write_all(PREFACE).expect("preface");
    let mut zero_window = vec![0x00, 0x04];
    zero_window.extend_from_slice(&0u32.to_be_bytes());
    c.write_all(&frame(SETTINGS, 0, 0, &zero_window))
        .expect("settings");
    for i in 0..100u32 {
        let headers = request_block("GET", "/big.bin", &[]);
        c.write_all(&frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            2 * i + 1,
            &headers,
        ))
        .expect("headers");
    }
    eventually("the server to hold the connection", || {
        sockets(&s) > baseline
    });
    let grown = rss_kib(&s).saturating_sub(before);
    assert!(grown < 32 * 1024, "the server grew by {grown} KiB");
    still_served(&s, "/big.bin");
    let started = Instant::now();
    while sockets(&s) > baseline && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        sockets(&s),
        baseline,
        "the stalled connection is still held"
    );
    drop(c);
}

#[test]
fn an_idle_connection_gets_goaway_and_is_closed_when_it_does_not_answer_the_ping() {
    let (_dir, s) = serve(&["--idle-timeout", "1"]);
    let mut c = open(&s);
    let started = Instant::now();
    let (_, _, goaway) = until(&mut c, GOAWAY, Some(0)).expect("GOAWAY");
    assert_eq!(error_code(&goaway, 4), 0, "NO_ERROR");
    // The PING that follows is never answered: the server closes within PING_TIMEOUT.
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "closed after {:?}",
        started.elapsed()
    );
    still_served(&s, "/big.bin");
}
