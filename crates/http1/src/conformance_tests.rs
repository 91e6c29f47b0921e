//! The external conformance corpus (llhttp's test suite and Apache's `http_strict.t`), run
//! against the parser and decoders the way a connection would drive them.
//!
//! Each vector is the bytes a client sends on one connection and the verdict the corpus
//! expects. For llhttp vectors that omit `Host` on HTTP/1.1 (the corpus runner adds one), the
//! literal below already has `Host: localhost` after each HTTP/1.1 request line. Vectors that
//! test CGI output rather than request parsing are not here.

use bytes::BytesMut;

use crate::{Decoded, Decoder, Limits, ParseError, parse_request_head};

/// What the corpus expects of a connection.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// This many requests parse completely (head and body), and nothing is an error.
    Accept(usize),
    /// The first thing that does not parse is an error answered with one of these statuses,
    /// or the head never completes (the server times out or the client gives up).
    Reject(&'static [u16]),
    /// The corpus rejects it, but the head is valid: the server refuses it by its method
    /// (CONNECT, an unknown method), which is not the parser's business.
    ServerRejects,
    /// No request completes and nothing is an error.
    Incomplete,
    /// The first request parses and does not keep the connection alive.
    CloseAfterFirst,
    /// Either outcome is fine; it only must not panic.
    Either,
}

use Verdict::*;

/// What happened to one request on the connection.
#[derive(Debug)]
enum Outcome {
    Request { keep_alive: bool },
    Error(ParseError),
    Incomplete,
}

/// Drives `input` through head parsing and body decoding until it runs out, fails, or a
/// request closes the connection.
fn run(input: &[u8]) -> Vec<Outcome> {
    let limits = Limits::default();
    let mut buf = BytesMut::from(input);
    let mut outcomes = Vec::new();
    loop {
        let head = match parse_request_head(&buf, &limits) {
            Ok(Some((head, used))) => {
                let _ = buf.split_to(used);
                head
            }
            Ok(None) => break outcomes.push(Outcome::Incomplete),
            Err(e) => break outcomes.push(Outcome::Error(e)),
        };
        let mut decoder = Decoder::new(head.body, limits.max_body_size);
        let body = loop {
            match decoder.decode(&mut buf) {
                Ok(Decoded::Data(_)) => {}
                Ok(Decoded::Done) => break Ok(true),
                Ok(Decoded::NeedMore) => break Ok(false),
                Err(e) => break Err(e),
            }
        };
        match body {
            Ok(true) => outcomes.push(Outcome::Request {
                keep_alive: head.keep_alive,
            }),
            Ok(false) => break outcomes.push(Outcome::Incomplete),
            Err(e) => break outcomes.push(Outcome::Error(e)),
        }
        if !head.keep_alive {
            break;
        }
    }
    outcomes
}

fn check(name: &str, input: &[u8], verdict: Verdict) -> Result<(), String> {
    let outcomes = run(input);
    let requests = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Request { .. }))
        .count();
    let error = outcomes.iter().find_map(|o| match o {
        Outcome::Error(e) => Some(e),
        _ => None,
    });
    let ok = match verdict {
        Accept(n) => requests == n && error.is_none(),
        Reject(statuses) => match error {
            Some(e) => requests == 0 && statuses.contains(&e.status().as_u16()),
            None => requests == 0,
        },
        ServerRejects => requests >= 1 && error.is_none(),
        Incomplete => requests == 0 && error.is_none(),
        CloseAfterFirst => matches!(
            outcomes.first(),
            Some(Outcome::Request {
                keep_alive: false,
                ..
            })
        ),
        Either => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name}: expected {verdict:?}, got {outcomes:?}"))
    }
}

#[test]
fn conformance_corpus() {
    let failures: Vec<String> = VECTORS
        .iter()
        .filter_map(|&(name, input, verdict)| check(name, input, verdict).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn conformance_corpus_split_anywhere_agrees() {
    // Parsing a prefix must never contradict parsing the whole: every prefix of an input
    // either is incomplete or gives the same verdict as the whole input.
    let limits = Limits::default();
    for &(name, input, _) in VECTORS {
        let whole = parse_request_head(input, &limits).map(|r| r.map(|(_, n)| n));
        for cut in 0..input.len() {
            match parse_request_head(&input[..cut], &limits) {
                Ok(None) => {}
                Ok(Some((_, n))) => assert_eq!(whole, Ok(Some(n)), "{name} cut at {cut}"),
                Err(e) => assert_eq!(whole, Err(e), "{name} cut at {cut}"),
            }
        }
    }
}

#[rustfmt::skip]
const VECTORS: &[(&str, &[u8], Verdict)] = &[
    ("llhttp connection.md:8 `keep-alive` / Setting flag", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n", Accept(1)),
    ("llhttp connection.md:36 `keep-alive` / Restarting when keep-alive is explicitly", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\nPUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n", Accept(2)),
    ("llhttp connection.md:83 `keep-alive` / No restart when keep-alive is off (1.0)", b"PUT /url HTTP/1.0\r\n\r\nPUT /url HTTP/1.1\r\n\r\n", CloseAfterFirst),
    ("llhttp connection.md:112 `keep-alive` / Resetting flags when keep-alive is off (1.0,", b"PUT /url HTTP/1.0\r\nContent-Length: 0\r\n\r\nPUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", CloseAfterFirst),
    ("llhttp connection.md:158 `keep-alive` / CRLF between requests, implicit `keep-alive`", b"POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1", Accept(1)),
    ("llhttp connection.md:210 `keep-alive` / Not treating `r` as `-`", b"PUT /url HTTP/1.1\r\nConnection: keep\ralive\r\n\r\n", Reject(&[400])),
    ("llhttp connection.md:238 `close` / Setting flag on `close`", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", Accept(1)),
    ("llhttp connection.md:266 `close` / Setting flag on `close` followed by tab", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: close\t\r\n\r\n", Accept(1)),
    ("llhttp connection.md:296 `close` / CRLF between requests, explicit `close`", b"POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1", CloseAfterFirst),
    ("llhttp connection.md:346 `close` / CRLF between requests, explicit `close` followed b", b"POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\t\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1", CloseAfterFirst),
    ("llhttp connection.md:396 `close` / CRLF between requests, explicit `close` (lenient)", b"POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1", CloseAfterFirst),
    ("llhttp connection.md:455 Parsing multiple tokens / Sample", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: close, token, upgrade, token, keep-alive\r\n\r\n", Accept(1)),
    ("llhttp connection.md:483 Parsing multiple tokens / Multiple tokens with folding", b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Something,\r\n Upgrade, ,Keep-Alive\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\nHot diggity dogg", Either),
    ("llhttp connection.md:544 Parsing multiple tokens / Multiple tokens with folding and L", b"GET /demo HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, upgrade\r\nUpgrade: WebSocket\r\n\r\nHot diggity dogg", Accept(1)),
    ("llhttp connection.md:578 Parsing multiple tokens / Multiple tokens with folding, LWS,", b"GET /demo HTTP/1.1\r\nConnection: keep-alive, \r\n upgrade\r\nUpgrade: WebSocket\r\n\r\nHot diggity dogg", Either),
    ("llhttp connection.md:613 Parsing multiple tokens / Invalid whitespace token with `Con", b"PUT /url HTTP/1.1\r\nConnection : upgrade\r\nContent-Length: 4\r\nUpgrade: ws\r\n\r\nabcdefgh", Reject(&[400])),
    ("llhttp connection.md:639 Parsing multiple tokens / Invalid whitespace token with `Con", b"PUT /url HTTP/1.1\r\nConnection : upgrade\r\nContent-Length: 4\r\nUpgrade: ws\r\n\r\nabcdefgh", Reject(&[400])),
    ("llhttp connection.md:681 `upgrade` / Setting a flag and pausing", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n", Accept(1)),
    ("llhttp connection.md:715 `upgrade` / Emitting part of body and pausing", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nContent-Length: 4\r\nUpgrade: ws\r\n\r\nabcdefgh", Accept(1)),
    ("llhttp connection.md:755 `upgrade` / Upgrade GET request", b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\nHot diggity dogg", Accept(1)),
    ("llhttp connection.md:814 `upgrade` / Upgrade POST request", b"POST /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: HTTP/2.0\r\nContent-Length: 15\r\n\r\nsweet post bodyHot diggity dogg", Accept(1)),
    ("llhttp content-length.md:6 `Content-Length` with zeroes", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nContent-Length: 003\r\n\r\nabc", Accept(1)),
    ("llhttp content-length.md:43 `Content-Length` with follow-up headers", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nContent-Length: 003\r\nOhai: world\r\n\r\nabc", Accept(1)),
    ("llhttp content-length.md:77 Error on `Content-Length` overflow", b"PUT /url HTTP/1.1\r\nContent-Length: 1000000000000000000000\r\n", Reject(&[400])),
    ("llhttp content-length.md:102 Error on duplicate `Content-Length`", b"PUT /url HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n", Reject(&[400])),
    ("llhttp content-length.md:131 Error on simultaneous `Content-Length` and `Transfer-Encodin", b"PUT /url HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: identity\r\n\r\n", Reject(&[400, 501])),
    ("llhttp content-length.md:161 Invalid whitespace token with `Content-Length` header field", b"PUT /url HTTP/1.1\r\nConnection: upgrade\r\nContent-Length : 4\r\nUpgrade: ws\r\n\r\nabcdefgh", Reject(&[400])),
    ("llhttp content-length.md:191 Invalid whitespace token with `Content-Length` header field", b"PUT /url HTTP/1.1\r\nConnection: upgrade\r\nContent-Length : 4\r\nUpgrade: ws\r\n\r\nabcdefgh", Reject(&[400])),
    ("llhttp content-length.md:231 No error on simultaneous `Content-Length` and `Transfer-Enco", b"PUT /url HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: identity\r\n\r\n", Reject(&[400, 501])),
    ("llhttp content-length.md:263 Funky `Content-Length` with body", b"GET /get_funky_content_length_body_hello HTTP/1.0\r\nconTENT-Length: 5\r\n\r\nHELLO", Accept(1)),
    ("llhttp content-length.md:292 Spaces in `Content-Length` (surrounding)", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length:  42 \r\n\r\n", Incomplete),
    ("llhttp content-length.md:319 Spaces in `Content-Length` (surrounding) / Tabs in `Content-", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length:\t42\t  \r\n\r\n", Incomplete),
    ("llhttp content-length.md:346 Spaces in `Content-Length` (surrounding) / Spaces in `Conten", b"POST / HTTP/1.1\r\nContent-Length: 4 2\r\n\r\n", Reject(&[400])),
    ("llhttp content-length.md:372 Spaces in `Content-Length` (surrounding) / Spaces in `Conten", b"POST / HTTP/1.1\r\nContent-Length: 13 37\r\n\r\n", Reject(&[400])),
    ("llhttp content-length.md:398 Spaces in `Content-Length` (surrounding) / Empty `Content-Le", b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", Reject(&[400])),
    ("llhttp content-length.md:423 `Content-Length` with CR instead of dash", b"PUT /url HTTP/1.1\r\nContent\rLength: 003\r\n\r\nabc", Reject(&[400])),
    // The corpus expects two requests (its parser was told to skip bodies); by RFC 9112 6.3 the
    // second request is the first one's 123-byte body, which has not all arrived.
    ("llhttp content-length.md:446 Content-Length reset when no body is received", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nContent-Length: 123\r\n\r\nPOST /url HTTP/1.1\r\nHost: localhost\r\nContent-Length: 456\r\n\r\n", Incomplete),
    ("llhttp content-length.md:495 Missing CRLF-CRLF before body", b"PUT /url HTTP/1.1\r\nContent-Length: 3\r\n\rabc", Reject(&[400])),
    ("llhttp content-length.md:521 Missing CRLF-CRLF before body (lenient)", b"PUT /url HTTP/1.1\r\nContent-Length: 3\r\n\rabc", Reject(&[400])),
    ("llhttp finish.md:8 It should be safe to finish after GET request", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp finish.md:32 It should be unsafe to finish after incomplete PUT request", b"PUT / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n", Incomplete),
    ("llhttp finish.md:57 It should be unsafe to finish inside of the header", b"PUT / HTTP/1.1\r\nHost: localhost\r\nContent-Leng", Incomplete),
    ("llhttp invalid.md:6 ICE protocol and GET method", b"GET /music/sweet/music ICE/1.0\r\nHost: example.com\r\n\r\n", Reject(&[400, 501])),
    ("llhttp invalid.md:27 ICE protocol and GET method / ICE protocol, but not really", b"GET /music/sweet/music IHTTP/1.0\r\nHost: example.com\r\n\r\n", Reject(&[400, 505])),
    ("llhttp invalid.md:47 ICE protocol and GET method / RTSP protocol and PUT method", b"PUT /music/sweet/music RTSP/1.0\r\nHost: example.com\r\n\r\n", Reject(&[400, 501])),
    // A valid head with a method the server does not implement: the server answers 501.
    ("llhttp invalid.md:68 ICE protocol and GET method / HTTP protocol and ANNOUNCE met", b"ANNOUNCE /music/sweet/music HTTP/1.0\r\nHost: example.com\r\n\r\n", ServerRejects),
    ("llhttp invalid.md:89 ICE protocol and GET method / Headers separated by CR", b"GET / HTTP/1.1\r\nFoo: 1\rBar: 2\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:115 ICE protocol and GET method / Headers separated by LF", b"POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n", Either),
    ("llhttp invalid.md:149 ICE protocol and GET method / Headers separated by dummy cha", b"GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n", Reject(&[400])),
    // The lenient variant of invalid.md:149 (same bytes): we are strict, so it is a 400 too.
    ("llhttp invalid.md:183 ICE protocol and GET method / Headers separated by dummy cha", b"GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n", Reject(&[400])),
    ("llhttp invalid.md:218 ICE protocol and GET method / Empty headers separated by CR", b"POST / HTTP/1.1\r\nConnection: Close\r\nHost: localhost:5000\r\nx:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n", Reject(&[400])),
    ("llhttp invalid.md:256 ICE protocol and GET method / Empty headers separated by LF", b"POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n", Either),
    ("llhttp invalid.md:289 ICE protocol and GET method / Invalid header token #1", b"GET / HTTP/1.1\r\nFo@: Failure\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:312 ICE protocol and GET method / Invalid header token #2", b"GET / HTTP/1.1\r\nFoo\x01\test: Bar\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:335 ICE protocol and GET method / Invalid header token #3", b"GET / HTTP/1.1\r\n: Bar\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:358 ICE protocol and GET method / Invalid method", b"MKCOLA / HTTP/1.1\r\n\r\n", Reject(&[400, 501])),
    ("llhttp invalid.md:374 ICE protocol and GET method / Illegal header field name line", b"GET / HTTP/1.1\r\nname\r\n : value\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:398 ICE protocol and GET method / Corrupted Connection header", b"GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection\r\x1b5\xc3\x95eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:427 ICE protocol and GET method / Corrupted header name", b"GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Some-Header\r\x1b5\xc3\x95eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n", Reject(&[400])),
    ("llhttp invalid.md:456 ICE protocol and GET method / Missing CR between headers", b"GET / HTTP/1.1\r\nHost: localhost\r\nDummy: x\nContent-Length: 23\r\n\r\nGET / HTTP/1.1\r\nDummy: GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n", Either),
    ("llhttp invalid.md:492 ICE protocol and GET method / Invalid HTTP version", b"GET / HTTP/5.6", Reject(&[400, 505])),
    ("llhttp invalid.md:511 Invalid space after start line", b"GET / HTTP/1.1\r\n Host: foo", Either),
    ("llhttp invalid.md:533 Invalid space after start line / Only LFs present", b"POST / HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\r\nFoo: abc\nBar: def\n\n1\nA\n1;abc\nB\n1;def=ghi\nC\n1;jkl=\"mno\"\nD\n0\n\nBaz: ghi\n\n\\", Either),
    ("llhttp invalid.md:570 Invalid space after start line / Only LFs present (lenient)", b"POST / HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\r\nFoo: abc\nBar: def\n\n1\nA\n1;abc\nB\n1;def=ghi\nC\n1;jkl=\"mno\"\nD\n0\n\nBaz: ghi\n\n", Either),
    ("llhttp invalid.md:652 Invalid space after start line / Spaces before headers", b"POST /hello HTTP/1.1\r\nHost: localhost\r\nFoo: bar\r\n Content-Length: 38\r\n\r\nGET /bye HTTP/1.1\r\nHost: localhost\r\n\r\n", Either),
    ("llhttp invalid.md:688 Invalid space after start line / Spaces before headers (leni", b"POST /hello HTTP/1.1\r\nHost: localhost\r\nFoo: bar\r\n Content-Length: 38\r\n\r\nGET /bye HTTP/1.1\r\nHost: localhost\r\n\r\n", Either),
    ("llhttp lenient-header-value-relaxed.md:12 Control char in header value (relaxed)", b"GET /url HTTP/1.1\r\nHeader1: hello\x0cworld\r\n\r\n", Either),
    ("llhttp lenient-header-value-relaxed.md:42 Control char in header value (strict)", b"GET /url HTTP/1.1\r\nHeader1: hello\x0cworld\r\n\r\n", Either),
    ("llhttp lenient-header-value-relaxed.md:70 LF in header value should be rejected even with relaxed flag", b"POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n", Either),
    ("llhttp lenient-header-value-relaxed.md:105 CR without LF in header value should be rejected even with r", b"POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n", Reject(&[400])),
    ("llhttp lenient-header-value-relaxed.md:140 Space after start line must still fail", b"GET /url HTTP/1.1\r\n Header1: value\r\n", Either),
    ("llhttp lenient-headers.md:8 Header value (lenient)", b"GET /url HTTP/1.1\r\nHeader1: \x0c\r\n\r\n", Either),
    ("llhttp lenient-headers.md:36 Second request header value (lenient)", b"GET /url HTTP/1.1\r\nHeader1: Okay\r\n\r\n\r\nGET /url HTTP/1.1\r\nHeader1: \x0c\r\n\r\n", Either),
    ("llhttp lenient-headers.md:84 Header value", b"GET /url HTTP/1.1\r\nHeader1: \x0c\r\n\r\n\r\n", Either),
    ("llhttp lenient-headers.md:111 Header value / Empty headers separated by CR (lenient)", b"POST / HTTP/1.1\r\nConnection: Close\r\nHost: localhost:5000\r\nx:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n", Reject(&[400])),
    ("llhttp lenient-version.md:6 Invalid HTTP version (lenient)", b"GET / HTTP/5.6\r\n\r\n", Reject(&[400, 505])),
    ("llhttp method.md:6 REPORT request", b"REPORT /test HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    // CONNECT to an origin server: a valid head the server answers with 405/501.
    ("llhttp method.md:29 REPORT request / CONNECT request", b"CONNECT 0-home0.netscape.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\n\r\nsome data\r\nand yet even more data", ServerRejects),
    // CONNECT to an origin server: a valid head the server answers with 405/501.
    ("llhttp method.md:64 REPORT request / CONNECT request with CAPS", b"CONNECT HOME0.NETSCAPE.COM:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\n\r\n", ServerRejects),
    // CONNECT to an origin server: a valid head the server answers with 405/501.
    ("llhttp method.md:98 REPORT request / CONNECT with body", b"CONNECT foo.bar.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\nContent-Length: 10\r\n\r\nblarfcicle\"", ServerRejects),
    ("llhttp method.md:137 REPORT request / M-SEARCH request", b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nST: \"ssdp:all\"\r\n\r\n", Either),
    ("llhttp method.md:175 REPORT request / PATCH request", b"PATCH /file.txt HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/example\r\nIf-Match: \"e0023aa4e\"\r\nContent-Length: 10\r\n\r\ncccccccccc", Accept(1)),
    ("llhttp method.md:219 REPORT request / PURGE request", b"PURGE /file.txt HTTP/1.1\r\nHost: www.example.com\r\n\r\n", Accept(1)),
    ("llhttp method.md:247 REPORT request / SEARCH request", b"SEARCH / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", Accept(1)),
    ("llhttp method.md:275 REPORT request / LINK request", b"LINK /images/my_dog.jpg HTTP/1.1\r\nHost: example.com\r\nLink: <http://example.com/profiles/joe>; rel=\"tag\"\r\nLink: <http://example.com/profiles/sally>; rel=\"tag\"\r\n\r\n", Accept(1)),
    ("llhttp method.md:313 REPORT request / LINK request", b"UNLINK /images/my_dog.jpg HTTP/1.1\r\nHost: example.com\r\nLink: <http://example.com/profiles/sally>; rel=\"tag\"\r\n\r\n", Accept(1)),
    ("llhttp method.md:346 REPORT request / SOURCE request", b"SOURCE /music/sweet/music HTTP/1.1\r\nHost: example.com\r\n\r\n", Accept(1)),
    ("llhttp method.md:374 REPORT request / SOURCE request with ICE", b"SOURCE /music/sweet/music ICE/1.0\r\nHost: example.com\r\n\r\n", Reject(&[400, 505])),
    ("llhttp method.md:404 REPORT request / OPTIONS request with RTSP", b"OPTIONS /music/sweet/music RTSP/1.0\r\nHost: example.com\r\n\r\n", Reject(&[400, 505])),
    ("llhttp method.md:432 REPORT request / ANNOUNCE request with RTSP", b"ANNOUNCE /music/sweet/music RTSP/1.0\r\nHost: example.com\r\n\r\n", Reject(&[400, 505])),
    ("llhttp method.md:460 REPORT request / PRI request HTTP2", b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n", Reject(&[400, 505])),
    ("llhttp method.md:484 REPORT request / QUERY request", b"QUERY /contacts HTTP/1.1\r\nHost: example.org\r\nContent-Type: example/query\r\nAccept: text/csv\r\nContent-Length: 41\r\n\r\nselect surname, givenname, email limit 10", Accept(1)),
    ("llhttp pausing.md:6 on_message_begin", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:36 on_message_begin / on_message_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:66 on_message_begin / on_protocol_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:96 on_message_begin / on_method_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:126 on_message_begin / on_url_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:156 on_message_begin / on_version_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:186 on_message_begin / on_header_field_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:216 on_message_begin / on_header_value_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:246 on_message_begin / on_headers_complete", b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", Accept(1)),
    ("llhttp pausing.md:276 on_message_begin / on_chunk_header", b"PUT / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n", Accept(1)),
    ("llhttp pausing.md:315 on_message_begin / on_chunk_extension_name", b"PUT / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\na;foo=bar\r\n0123456789\r\n0\r\n\r\n", Accept(1)),
    ("llhttp pausing.md:357 on_message_begin / on_chunk_extension_value", b"PUT / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\na;foo=bar\r\n0123456789\r\n0\r\n\r\n", Accept(1)),
    ("llhttp pausing.md:400 on_message_begin / on_chunk_complete", b"PUT / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n", Accept(1)),
    ("llhttp pipelining.md:6 Should parse multiple events", b"POST /aaa HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nAAA\r\nPUT /bbb HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nBBBB\r\nPATCH /ccc HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nCCCC", Accept(2)),
    ("llhttp sample.md:8 Simple request", b"OPTIONS /url HTTP/1.1\r\nHost: localhost\r\nHeader1: Value1\r\nHeader2:\t Value2\r\n\r\n", Accept(1)),
    ("llhttp sample.md:46 Request with method starting with `H`", b"HEAD /url HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp sample.md:69 curl GET", b"GET /test HTTP/1.1\r\nUser-Agent: curl/7.18.0 (i486-pc-linux-gnu) libcurl/7.18.0 OpenSSL/0.9.8g zlib/1.2.3.3 libidn/1.1\r\nHost: 0.0.0.0=5000\r\nAccept: */*\r\n\r\n", Accept(1)),
    ("llhttp sample.md:107 Firefox GET", b"GET /favicon.ico HTTP/1.1\r\nHost: 0.0.0.0=5000\r\nUser-Agent: Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9) Gecko/2008061015 Firefox/3.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-us,en;q=0.5\r\nAccept-Encoding: gzip,deflate\r\nAccept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\nKeep-Alive: 300\r\nConnection: keep-alive\r\n\r\n", Accept(1)),
    ("llhttp sample.md:170 DUMBPACK", b"GET /dumbpack HTTP/1.1\r\nHost: localhost\r\naaaaaaaaaaaaa:++++++++++\r\n\r\n", Accept(1)),
    ("llhttp sample.md:198 No headers and no body", b"GET /get_no_headers_no_body/world HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp sample.md:221 One header and no body", b"GET /get_one_header_no_body HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n", Accept(1)),
    ("llhttp sample.md:252 Apache bench GET", b"GET /test HTTP/1.0\r\nHost: 0.0.0.0:5000\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n", Accept(1)),
    ("llhttp sample.md:293 Prefix newline", b"\r\nGET /test HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp sample.md:316 No HTTP version", b"GET /\r\n\r\n", Either),
    ("llhttp sample.md:335 Line folding in header value with CRLF", b"GET / HTTP/1.1\r\nLine1:   abc\r\n\tdef\r\n ghi\r\n\t\tjkl\r\n  mno \r\n\t \tqrs\r\nLine2: \t line2\t\r\nLine3:\r\n line3\r\nLine4: \r\n \r\nConnection:\r\n close\r\n\r\n", Either),
    ("llhttp sample.md:396 Line folding in header value with LF", b"GET / HTTP/1.1\r\nLine1:   abc\n\tdef\n ghi\n\t\tjkl\n  mno \n\t \tqrs\nLine2: \t line2\t\nLine3:\n line3\nLine4: \n \nConnection:\n close\n\n", Either),
    ("llhttp sample.md:434 No LF after CR", b"GET / HTTP/1.1\rLine: 1\r\n", Reject(&[400, 505])),
    ("llhttp sample.md:456 No LF after CR (lenient)", b"GET / HTTP/1.1\rLine: 1\r\n", Reject(&[400])),
    ("llhttp sample.md:480 Request starting with CRLF", b"\r\nGET /url HTTP/1.1\r\nHost: localhost\r\nHeader1: Value1\r\n\r\n", Accept(1)),
    ("llhttp sample.md:510 Extended Characters", b"GET / HTTP/1.1\r\nHost: localhost\r\nTest: D\xc3\xbcsseldorf\r\n\r\n", Accept(1)),
    ("llhttp sample.md:540 255 ASCII in header value", b"OPTIONS /url HTTP/1.1\r\nHost: localhost\r\nHeader1: Value1\r\nHeader2: \xc3\xbfValue2\r\n\r\n", Accept(1)),
    ("llhttp sample.md:575 X-SSL-Nonsense", b"GET / HTTP/1.1\r\nX-SSL-Nonsense:   -----BEGIN CERTIFICATE-----\r\n\tMIIFbTCCBFWgAwIBAgICH4cwDQYJKoZIhvcNAQEFBQAwcDELMAkGA1UEBhMCVUsx\r\n\tETAPBgNVBAoTCGVTY2llbmNlMRIwEAYDVQQLEwlBdXRob3JpdHkxCzAJBgNVBAMT\r\n\tAkNBMS0wKwYJKoZIhvcNAQkBFh5jYS1vcGVyYXRvckBncmlkLXN1cHBvcnQuYWMu\r\n\tdWswHhcNMDYwNzI3MTQxMzI4WhcNMDcwNzI3MTQxMzI4WjBbMQswCQYDVQQGEwJV\r\n\tSzERMA8GA1UEChMIZVNjaWVuY2UxEzARBgNVBAsTCk1hbmNoZ", Either),
    ("llhttp transfer-encoding.md:8 `chunked` / Parsing and setting flag", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", Incomplete),
    ("llhttp transfer-encoding.md:35 `chunked` / Parse chunks with lowercase size", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n", Accept(1)),
    ("llhttp transfer-encoding.md:72 `chunked` / Parse chunks with uppercase size", b"PUT /url HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", Accept(1)),
    ("llhttp transfer-encoding.md:109 `chunked` / POST with `Transfer-Encoding: chunked`", b"POST /post_chunked_all_your_base HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1e\r\nall your base are belong to us\r\n0\r\n\r\n", Accept(1)),
    ("llhttp transfer-encoding.md:146 `chunked` / Two chunks and triple zero prefixed end chunk", b"POST /two_chunks_mult_zero_end HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n", Accept(1)),
    ("llhttp transfer-encoding.md:188 `chunked` / Trailing headers", b"POST /chunked_w_trailing_headers HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n", Accept(1)),
    ("llhttp transfer-encoding.md:240 `chunked` / Chunk extensions", b"POST /chunked_w_unicorns_after_length HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n", Incomplete),
    ("llhttp transfer-encoding.md:293 `chunked` / No semicolon before chunk extensions", b"POST /chunked_w_unicorns_after_length HTTP/1.1\r\nHost: localhost\r\nTransfer-encoding: chunked\r\n\r\n2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:330 `chunked` / No extension after semicolon", b"POST /chunked_w_unicorns_after_length HTTP/1.1\r\nHost: localhost\r\nTransfer-encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:368 `chunked` / Chunk extensions quoting", b"POST /chunked_w_unicorns_after_length HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=\"aretheseparametersfor\";blah;foo=bar\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n", Incomplete),
    ("llhttp transfer-encoding.md:426 `chunked` / Unbalanced chunk extensions quoting", b"POST /chunked_w_unicorns_after_length HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3=\"abc\";somuchlove=\"def; ghi\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:469 Ignoring `pigeons`", b"PUT /url HTTP/1.1\r\nTransfer-Encoding: pigeons\r\n\r\n", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:497 POST with `Transfer-Encoding` and `Content-Length`", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nWorld", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:538 POST with `Transfer-Encoding` and `Content-Length` (lenient)", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nWorld", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:576 POST with empty `Transfer-Encoding` and `Content-Length` (le", b"POST / HTTP/1.1\r\nHost: foo\r\nContent-Length: 10\r\nTransfer-Encoding:\r\nTransfer-Encoding:\r\nTransfer-Encoding:\r\n\r\n2\r\nAA\r\n0", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:615 POST with `chunked` before other transfer coding names", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:646 POST with `chunked` and duplicate transfer-encoding", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: deflate\r\n\r\nWorld", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:682 POST with `chunked` before other transfer-coding (lenient)", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld", Reject(&[400])),
    ("llhttp transfer-encoding.md:715 POST with `chunked` and duplicate transfer-encoding (lenient", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: deflate\r\n\r\nWorld", Reject(&[400])),
    // The corpus accepts a coding before chunked; we decode no other coding, so this is a 501
    // (RFC 9112 6.1: a server SHOULD answer 501 to a coding it does not understand).
    ("llhttp transfer-encoding.md:753 POST with `chunked` as last transfer-encoding", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nTransfer-Encoding: deflate, chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", Reject(&[501])),
    // As transfer-encoding.md:753, with the codings in two fields.
    ("llhttp transfer-encoding.md:795 POST with `chunked` as last transfer-encoding (multiple head", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", Reject(&[501])),
    ("llhttp transfer-encoding.md:842 POST with `chunkedchunked` as transfer-encoding", b"POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunkedchunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:879 Missing last-chunk", b"PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:913 Validate chunk parameters", b"PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \n  \r\nfoo\r\n\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:944 Invalid OBS fold after chunked value", b"PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", Reject(&[400, 501])),
    ("llhttp transfer-encoding.md:978 Invalid OBS fold after chunked value / Chunk header not term", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\nGET / HTTP/1.1 \r\nHost: a\r\nContent-Length: 5\r\n\r\n0\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:1027 Invalid OBS fold after chunked value / Chunk header not term", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n6\r\r;ABCD\r\n33\r\nE\r\n0\r\n\r\nGET / HTTP/1.1 \r\nHost: a\r\nContent-Length: 5\r\n0\r\n\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:1099 Invalid OBS fold after chunked value / Chunk data not termin", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\nABCDE0\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:1142 Invalid OBS fold after chunked value / Chunk data not termin", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\nABCDE0\r\n", Reject(&[400])),
    ("llhttp transfer-encoding.md:1186 Space after chunk header", b"PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na \r\n0123456789\r\n0\r\n\r\n", Either),
    ("llhttp transfer-encoding.md:1217 Space after chunk header (lenient)", b"PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na \r\n0123456789\r\n0\r\n\r\n", Either),
    ("llhttp uri.md:6 Quotes in URI", b"GET /with_\"lovely\"_quotes?foo=\\\"bar\\\" HTTP/1.1\r\n\r\n", Either),
    ("llhttp uri.md:31 Query URL with question mark", b"GET /test.cgi?foo=bar?baz HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp uri.md:54 Host terminated by a query string", b"GET http://hypnotoad.org?hail=all HTTP/1.1\r\nHost: localhost\r\n\r\n\r\n", Accept(1)),
    ("llhttp uri.md:77 `host:port` terminated by a query string", b"GET http://hypnotoad.org:1234?hail=all HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp uri.md:104 Query URL with vertical bar character", b"GET /test.cgi?query=| HTTP/1.1\r\n\r\n", Either),
    ("llhttp uri.md:127 `host:port` terminated by a space", b"GET http://hypnotoad.org:1234 HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("llhttp uri.md:150 Disallow UTF-8 in URI path in strict mode", b"GET /\xce\xb4\xc2\xb6/\xce\xb4t/pope?q=1#narf HTTP/1.1\r\nHost: github.com\r\n\r\n", Either),
    ("llhttp uri.md:167 Fragment in URI", b"GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\r\nHost: localhost\r\n\r\n", Accept(1)),
    // CONNECT to an origin server: a valid head the server answers with 405/501.
    ("llhttp uri.md:190 Underscore in hostname", b"CONNECT home_0.netscape.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\n\r\n", ServerRejects),
    ("llhttp uri.md:224 `host:port` and basic auth", b"GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\r\n\r\n", Either),
    ("llhttp uri.md:247 Space in URI", b"GET /foo bar/ HTTP/1.1\r\n\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#1", b"GET / HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#2", b"GET / HTTP/1.0\n\n", Reject(&[400])),
    // A valid head with a method the server does not implement: the server answers 501.
    ("apache http_strict.t#3", b"get / HTTP/1.0\r\n\r\n", ServerRejects),
    ("apache http_strict.t#4", b"G ET / HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#5", b"G\0ET / HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#6", b"G/T / HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#7", b"GET /\0 HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#8", b"GET / HTTP/1.0\0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#9", b"GET\x0c/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#10", b"GET\r/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#11", b"GET\t/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#12", b"GET / HTT/1.0\r\n\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#13", b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("apache http_strict.t#14", b"GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", Reject(&[505])),
    ("apache http_strict.t#15", b"GET / HTTP/1.2\r\nHost: localhost\r\n\r\n", Accept(1)),
    ("apache http_strict.t#16", b"GET / HTTP/1.11\r\nHost: localhost\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#17", b"GET / HTTP/10.0\r\nHost: localhost\r\n\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#18", b"GET / HTTP/1.0  \r\nHost: localhost\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#19", b"GET / HTTP/1.0 x\r\nHost: localhost\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#20", b"GET / HTTP/\r\nHost: localhost\r\n\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#21", b"GET / HTTP/0.9\r\n\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#22", b"GET / HTTP/0.8\r\n\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#23", b"GET /\x01 HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#24", b"GET / HTTP/1.0\r\nFoo: bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#25", b"GET / HTTP/1.0\r\nFoo:bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#26", b"GET / HTTP/1.0\r\nFoo: b\0ar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#27", b"GET / HTTP/1.0\r\nFoo: b\x01ar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#28", b"GET / HTTP/1.0\r\nFoo\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#29", b"GET / HTTP/1.0\r\nFoo bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#30", b"GET / HTTP/1.0\r\n: bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#31", b"GET / HTTP/1.0\r\nX: bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#32", b"GET / HTTP/1.0\r\nFoo bar:bash\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#33", b"GET / HTTP/1.0\r\nFoo :bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#34", b"GET / HTTP/1.0\r\n Foo:bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#35", b"GET / HTTP/1.0\r\nF\x01o: bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#36", b"GET / HTTP/1.0\r\nF\ro: bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#37", b"GET / HTTP/1.0\r\nF\to: bar\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#38", b"GET / HTTP/1.0\r\nFo: b\tar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#39", b"GET / HTTP/1.0\r\nFo: bar\r\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#40", b"GET / HTTP/1.0\r\r", Reject(&[400])),
    ("apache http_strict.t#41", b"GET /\r\n", Reject(&[400, 505])),
    ("apache http_strict.t#42", b"GET /#frag HTTP/1.0\r\n", Reject(&[400])),
    ("apache http_strict.t#43", b"GET / HTTP/1.0\r\nHost: localhost\r\nHost: localhost\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#44", b"GET http://017700000001/ HTTP/1.0\r\n\r\n", Either),
    ("apache http_strict.t#45", b"GET http://0x7f.1/ HTTP/1.0\r\n\r\n", Either),
    ("apache http_strict.t#46", b"GET http://127.0.0.1/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#47", b"GET http://127.01.0.1/ HTTP/1.0\r\n\r\n", Either),
    ("apache http_strict.t#48", b"GET http://%3127.0.0.1/ HTTP/1.0\r\n\r\n", Either),
    ("apache http_strict.t#49", b"GET / HTTP/1.0\r\nHost: localhost:80\r\nHost: localhost:80\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#50", b"GET / HTTP/1.0\r\nHost: localhost:80 x\r\n\r", Reject(&[400])),
    ("apache http_strict.t#51", b"GET http://localhost:80/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#52", b"GET http://localhost:80x/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#53", b"GET http://localhost:80:80/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#54", b"GET http://localhost::80/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#55", b"GET http://foo@localhost:80/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#56", b"GET http://[::1]/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#57", b"GET http://[::1:2]/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#58", b"GET http://[4712::abcd]/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#59", b"GET http://[4712::abcd:1]/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#60", b"GET http://[4712::abcd::]/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#61", b"GET http://[4712:abcd::]/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#62", b"GET http://[4712::abcd]:8000/ HTTP/1.0\r\n\r\n", Accept(1)),
    ("apache http_strict.t#63", b"GET http://4713::abcd:8001/ HTTP/1.0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#64", b"GET / HTTP/1.0\r\nHost: [::1]\r\n\r\n", Accept(1)),
    ("apache http_strict.t#65", b"GET / HTTP/1.0\r\nHost: [::1:2]\r\n\r\n", Accept(1)),
    ("apache http_strict.t#66", b"GET / HTTP/1.0\r\nHost: [4711::abcd]\r\n\r\n", Accept(1)),
    ("apache http_strict.t#67", b"GET / HTTP/1.0\r\nHost: [4711::abcd:1]\r\n\r\n", Accept(1)),
    ("apache http_strict.t#68", b"GET / HTTP/1.0\r\nHost: [4711:abcd::]\r\n\r\n", Accept(1)),
    ("apache http_strict.t#69", b"GET / HTTP/1.0\r\nHost: [4711::abcd]:8000\r\n\r\n", Accept(1)),
    ("apache http_strict.t#70", b"GET / HTTP/1.0\r\nHost: 4714::abcd:8001\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#71", b"GET / HTTP/1.0\r\nHost: abc\xa0\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#72", b"GET / HTTP/1.0\r\nHost: abc\\foo\r\n\r\n", Reject(&[400])),
    ("apache http_strict.t#73", b"GET http://foo/ HTTP/1.0\r\nHost: bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#74", b"GET http://foo:81/ HTTP/1.0\r\nHost: bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#75", b"GET http://[::1]:81/ HTTP/1.0\r\nHost: bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#76", b"GET http://10.0.0.1:81/ HTTP/1.0\r\nHost: bar\r\n\r\n", Accept(1)),
    ("apache http_strict.t#77", b"GET / HTTP/1.0\r\nHost: foo-bar.example.com\r\n\r\n", Accept(1)),
    ("apache http_strict.t#78", b"GET / HTTP/1.0\r\nHost: foo_bar.example.com\r\n\r\n", Accept(1)),
    ("apache http_strict.t#79", b"GET http://foo_bar/ HTTP/1.0\r\n\r\n", Accept(1)),
];
