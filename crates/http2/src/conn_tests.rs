//! The connection fed byte strings: the rules of RFC 9113 h2spec checks, with input split at
//! every byte where framing matters.

use super::*;

fn frame_bytes(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::head(&mut out, kind, flags, stream, payload.len());
    out.extend_from_slice(payload);
    out
}

/// A header block of literals without indexing.
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        b.push(0);
        b.push(n.len() as u8);
        b.extend_from_slice(n.as_bytes());
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

fn get(path: &str) -> Vec<u8> {
    block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "a"),
        (":path", path),
    ])
}

fn post(len: u64) -> Vec<u8> {
    let len = len.to_string();
    block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/"),
        ("content-length", &len),
    ])
}

/// A connection past the preface and the client's SETTINGS, its output drained.
fn open() -> Connection {
    let mut c = Connection::new(Config::default());
    let mut hello = PREFACE.to_vec();
    hello.extend(frame_bytes(kind::SETTINGS, 0, 0, &[]));
    c.recv(&hello).expect("preface");
    c.take_output();
    c
}

/// The frames in `out`: (kind, flags, stream, payload).
fn frames(out: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut at = 0;
    let mut list = Vec::new();
    while at + HEAD_LEN <= out.len() {
        let head = Head::parse(out[at..at + HEAD_LEN].try_into().unwrap_or(&[0; 9]));
        let end = at + HEAD_LEN + head.len as usize;
        list.push((
            head.kind,
            head.flags,
            head.stream,
            out[at + HEAD_LEN..end].to_vec(),
        ));
        at = end;
    }
    list
}

fn code(payload: &[u8], at: usize) -> Reason {
    Reason(u32::from_be_bytes([
        payload[at],
        payload[at + 1],
        payload[at + 2],
        payload[at + 3],
    ]))
}

/// The GOAWAY's error code in the output, if one went out.
fn goaway(c: &mut Connection) -> Option<Reason> {
    frames(&c.take_output())
        .into_iter()
        .find(|f| f.0 == kind::GOAWAY)
        .map(|f| code(&f.3, 4))
}

/// The RST_STREAM codes in the output, by stream.
fn resets(c: &mut Connection) -> Vec<(u32, Reason)> {
    frames(&c.take_output())
        .into_iter()
        .filter(|f| f.0 == kind::RST_STREAM)
        .map(|f| (f.2, code(&f.3, 0)))
        .collect()
}

fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn conn_error(bytes: &[u8]) -> Option<Reason> {
    let mut c = open();
    let result = c.recv(bytes);
    let sent = goaway(&mut c);
    assert_eq!(result.is_err(), sent.is_some());
    sent
}

#[test]
fn settings_go_out_first_and_the_client_settings_are_acknowledged() {
    let mut c = Connection::new(Config::default());
    let first = frames(&c.take_output());
    assert_eq!(first[0].0, kind::SETTINGS);
    assert_eq!(first[1].0, kind::WINDOW_UPDATE);
    let mut hello = PREFACE.to_vec();
    hello.extend(frame_bytes(kind::SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 1]));
    c.recv(&hello).expect("preface");
    let acks = frames(&c.take_output());
    assert_eq!(acks, vec![(kind::SETTINGS, flag::ACK, 0, vec![])]);
}

#[test]
fn a_request_split_at_every_byte_is_the_same_request() {
    let mut wire = PREFACE.to_vec();
    wire.extend(frame_bytes(kind::SETTINGS, 0, 0, &[]));
    wire.extend(frame_bytes(kind::HEADERS, flag::END_HEADERS, 1, &post(5)));
    wire.extend(frame_bytes(kind::DATA, flag::END_STREAM, 1, b"hello"));
    for cut in 0..=wire.len() {
        let mut c = Connection::new(Config::default());
        c.recv(&wire[..cut]).expect("first part");
        c.recv(&wire[cut..]).expect("second part");
        let evs = events(&mut c);
        assert_eq!(evs.len(), 2, "cut at {cut}");
        assert!(
            matches!(&evs[0], Event::Request { stream: 1, end_stream: false, head } if head.method == http::Method::POST)
        );
        assert!(
            matches!(&evs[1], Event::Data { stream: 1, end_stream: true, data } if data == "hello")
        );
        assert!(!c.has_partial_frame());
    }
}

#[test]
fn a_bad_preface_is_a_protocol_error() {
    let mut c = Connection::new(Config::default());
    c.take_output();
    assert!(c.recv(b"PRI * HTTP/2.0\r\n\r\nXX").is_err());
    assert_eq!(goaway(&mut c), Some(Reason::PROTOCOL_ERROR));
    let mut c = Connection::new(Config::default());
    let mut wire = PREFACE.to_vec();
    wire.extend(frame_bytes(kind::PING, 0, 0, &[0; 8]));
    assert!(c.recv(&wire).is_err());
}

#[test]
fn frame_size_and_stream_id_rules() {
    use Reason as R;
    let big = vec![0; 16_385];
    assert_eq!(
        conn_error(&frame_bytes(kind::DATA, 0, 1, &big)),
        Some(R::FRAME_SIZE_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::DATA, 0, 0, b"x")),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::DATA, 0, 1, b"x")),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 2, &get("/"))),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::PING, 0, 0, &[0; 7])),
        Some(R::FRAME_SIZE_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::PING, 0, 1, &[0; 8])),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::SETTINGS, 0, 0, &[0; 5])),
        Some(R::FRAME_SIZE_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::SETTINGS, flag::ACK, 0, &[0; 6])),
        Some(R::FRAME_SIZE_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::SETTINGS, 0, 1, &[])),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 2])),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::SETTINGS, 0, 0, &[0, 4, 0x80, 0, 0, 0])),
        Some(R::FLOW_CONTROL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(
            kind::SETTINGS,
            0,
            0,
            &[0, 5, 0, 0, 0x3f, 0xff]
        )),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::RST_STREAM, 0, 1, &[0; 4])),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::WINDOW_UPDATE, 0, 0, &[0; 4])),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::WINDOW_UPDATE, 0, 0, &[0; 3])),
        Some(R::FRAME_SIZE_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::CONTINUATION, flag::END_HEADERS, 1, &[])),
        Some(R::PROTOCOL_ERROR)
    );
    assert_eq!(
        conn_error(&frame_bytes(kind::PUSH_PROMISE, 0, 1, &[0; 4])),
        Some(R::PROTOCOL_ERROR)
    );
    // Unknown types are ignored; PRIORITY on an idle stream opens nothing.
    assert_eq!(conn_error(&frame_bytes(0x20, 0, 1, b"x")), None);
    assert_eq!(
        conn_error(&frame_bytes(kind::PRIORITY, 0, 9, &[0, 0, 0, 1, 5])),
        None
    );
}

#[test]
fn stream_ids_must_increase() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        5,
        &get("/"),
    ))
    .expect("5");
    assert!(
        c.recv(&frame_bytes(
            kind::HEADERS,
            flag::END_HEADERS | flag::END_STREAM,
            3,
            &get("/")
        ))
        .is_err()
    );
}

#[test]
fn continuation_must_follow_on_the_same_stream() {
    let mut c = open();
    let b = get("/");
    c.recv(&frame_bytes(kind::HEADERS, flag::END_STREAM, 1, &b[..5]))
        .expect("first");
    assert!(c.has_partial_frame());
    let mut wire = frame_bytes(kind::CONTINUATION, 0, 1, &b[5..10]);
    wire.extend(frame_bytes(
        kind::CONTINUATION,
        flag::END_HEADERS,
        1,
        &b[10..],
    ));
    c.recv(&wire).expect("rest");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Request {
            stream: 1,
            end_stream: true,
            ..
        }]
    ));
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, 0, 1, &b[..5]))
        .expect("first");
    assert!(
        c.recv(&frame_bytes(
            kind::CONTINUATION,
            flag::END_HEADERS,
            3,
            &b[5..]
        ))
        .is_err()
    );
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, 0, 1, &b[..5]))
        .expect("first");
    assert!(c.recv(&frame_bytes(kind::PING, 0, 0, &[0; 8])).is_err());
}

#[test]
fn a_continuation_flood_is_cut_off_at_the_header_list_size() {
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, 0, 1, &get("/")))
        .expect("first");
    let mut result = Ok(());
    for _ in 0..100 {
        result = c.recv(&frame_bytes(kind::CONTINUATION, 0, 1, &[0; 1000]));
        if result.is_err() {
            break;
        }
    }
    assert!(result.is_err());
    assert_eq!(goaway(&mut c), Some(Reason::ENHANCE_YOUR_CALM));
}

#[test]
fn malformed_requests_reset_the_stream_and_the_connection_goes_on() {
    let mut c = open();
    let bad = block(&[(":method", "GET"), (":path", "/")]);
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &bad,
    ))
    .expect("stream error only");
    assert_eq!(resets(&mut c), vec![(1, Reason::PROTOCOL_ERROR)]);
    assert!(events(&mut c).is_empty());
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        3,
        &get("/"),
    ))
    .expect("next");
    assert_eq!(events(&mut c).len(), 1);
}

#[test]
fn a_body_that_does_not_match_its_length_is_malformed() {
    for (body, flags) in [
        (&b"toolong"[..], flag::END_STREAM),
        (b"abc", flag::END_STREAM),
    ] {
        let mut c = open();
        c.recv(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 1, &post(5)))
            .expect("headers");
        c.recv(&frame_bytes(kind::DATA, flags, 1, body))
            .expect("stream error");
        assert_eq!(resets(&mut c), vec![(1, Reason::PROTOCOL_ERROR)]);
        let evs = events(&mut c);
        assert!(matches!(
            evs.last(),
            Some(Event::Reset {
                stream: 1,
                remote: false,
                ..
            })
        ));
    }
    // END_STREAM on the HEADERS with a length above zero.
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &post(5),
    ))
    .expect("headers");
    assert_eq!(resets(&mut c), vec![(1, Reason::PROTOCOL_ERROR)]);
}

#[test]
fn data_on_a_half_closed_stream_is_stream_closed() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &get("/"),
    ))
    .expect("headers");
    c.recv(&frame_bytes(kind::DATA, 0, 1, b"x"))
        .expect("stream error");
    assert_eq!(resets(&mut c), vec![(1, Reason::STREAM_CLOSED)]);
}

#[test]
fn flow_control_windows_are_kept_both_ways() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &get("/"),
    ))
    .expect("headers");
    assert_eq!(c.capacity(1), 65_535);
    c.send_headers(1, 200, [(&b"content-type"[..], &b"text/plain"[..])], false);
    assert_eq!(c.send_data(1, &vec![1; 70_000], true), 65_535);
    assert_eq!(c.capacity(1), 0);
    let out = frames(&c.take_output());
    assert_eq!(out.len(), 1 + 4);
    assert!(out.iter().all(|f| f.1 & flag::END_STREAM == 0));
    c.recv(&frame_bytes(
        kind::WINDOW_UPDATE,
        0,
        1,
        &100u32.to_be_bytes(),
    ))
    .expect("stream");
    assert_eq!(c.capacity(1), 0, "the connection window is still shut");
    c.recv(&frame_bytes(
        kind::WINDOW_UPDATE,
        0,
        0,
        &1000u32.to_be_bytes(),
    ))
    .expect("conn");
    assert_eq!(c.capacity(1), 100);
    assert_eq!(c.send_data(1, &[1; 100], true), 100);
    assert_eq!(c.open_streams(), 0);
    // Overflow of a stream window is a stream error, of the connection window a connection error.
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &get("/"),
    ))
    .expect("headers");
    c.recv(&frame_bytes(
        kind::WINDOW_UPDATE,
        0,
        1,
        &0x7fff_ffffu32.to_be_bytes(),
    ))
    .expect("stream error");
    assert_eq!(resets(&mut c), vec![(1, Reason::FLOW_CONTROL_ERROR)]);
    assert!(
        c.recv(&frame_bytes(
            kind::WINDOW_UPDATE,
            0,
            0,
            &0x7fff_ffffu32.to_be_bytes()
        ))
        .is_err()
    );
}

#[test]
fn initial_window_changes_apply_to_open_streams() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &get("/"),
    ))
    .expect("headers");
    c.recv(&frame_bytes(kind::SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 0]))
        .expect("zero");
    assert_eq!(c.capacity(1), 0);
    c.recv(&frame_bytes(kind::SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 10]))
        .expect("ten");
    assert_eq!(c.capacity(1), 10);
}

#[test]
fn the_receive_window_is_enforced_and_given_back_as_consumed() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS,
        1,
        &post(1 << 20),
    ))
    .expect("headers");
    let chunk = vec![0; 16_384];
    for _ in 0..16 {
        c.recv(&frame_bytes(kind::DATA, 0, 1, &chunk))
            .expect("within the window");
    }
    // 256 KiB sent: the stream window is spent.
    c.recv(&frame_bytes(kind::DATA, 0, 1, b"x"))
        .expect("stream error");
    assert_eq!(resets(&mut c), vec![(1, Reason::FLOW_CONTROL_ERROR)]);
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS,
        1,
        &post(1 << 20),
    ))
    .expect("headers");
    for _ in 0..8 {
        c.recv(&frame_bytes(kind::DATA, 0, 1, &chunk))
            .expect("within the window");
    }
    c.release(1, 8 * 16_384);
    let updates: Vec<u32> = frames(&c.take_output())
        .into_iter()
        .filter(|f| f.0 == kind::WINDOW_UPDATE)
        .map(|f| f.2)
        .collect();
    assert_eq!(updates, vec![1]);
}

#[test]
fn too_many_streams_are_refused() {
    let mut c = open();
    let mut wire = Vec::new();
    for i in 0..129 {
        wire.extend(frame_bytes(
            kind::HEADERS,
            flag::END_HEADERS | flag::END_STREAM,
            2 * i + 1,
            &get("/"),
        ));
    }
    c.recv(&wire).expect("refused, not an error");
    assert_eq!(resets(&mut c), vec![(257, Reason::REFUSED_STREAM)]);
    assert_eq!(c.open_streams(), 128);
}

#[test]
fn rapid_reset_is_enhance_your_calm() {
    let mut c = open();
    let mut wire = Vec::new();
    for i in 0..30 {
        wire.extend(frame_bytes(
            kind::HEADERS,
            flag::END_HEADERS,
            2 * i + 1,
            &get("/"),
        ));
        wire.extend(frame_bytes(
            kind::RST_STREAM,
            0,
            2 * i + 1,
            &8u32.to_be_bytes(),
        ));
    }
    assert!(c.recv(&wire).is_err());
    assert_eq!(goaway(&mut c), Some(Reason::ENHANCE_YOUR_CALM));
}

#[test]
fn a_ping_is_answered_with_its_data() {
    let mut c = open();
    c.recv(&frame_bytes(kind::PING, 0, 0, b"12345678"))
        .expect("ping");
    assert_eq!(
        frames(&c.take_output()),
        vec![(kind::PING, flag::ACK, 0, b"12345678".to_vec())]
    );
    c.recv(&frame_bytes(kind::PING, flag::ACK, 0, b"12345678"))
        .expect("ack");
    assert!(c.take_output().is_empty());
}

#[test]
fn a_header_list_past_the_limit_is_answered_431() {
    let mut c = Connection::new(Config {
        max_header_list_size: 250,
        ..Config::default()
    });
    let mut wire = PREFACE.to_vec();
    wire.extend(frame_bytes(kind::SETTINGS, 0, 0, &[]));
    let mut b = get("/");
    b.extend(block(&[("x-big", &"a".repeat(120))]));
    wire.extend(frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &b,
    ));
    c.recv(&wire).expect("answered");
    let out = frames(&c.take_output());
    let answer = out.iter().find(|f| f.0 == kind::HEADERS).expect("431");
    let mut fields = Vec::new();
    hpack::Decoder::new(4096)
        .decode(&answer.3, |n, v| fields.push((n.to_vec(), v.to_vec())))
        .expect("decodes");
    assert_eq!(fields, vec![(b":status".to_vec(), b"431".to_vec())]);
}

#[test]
fn graceful_goaway_names_the_last_stream_and_refuses_later_ones() {
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 3, &post(1)))
        .expect("3");
    c.go_away();
    let out = frames(&c.take_output());
    assert_eq!(out[0].0, kind::GOAWAY);
    assert_eq!(code(&out[0].3, 0), Reason(3));
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        5,
        &get("/"),
    ))
    .expect("5");
    c.recv(&frame_bytes(kind::DATA, flag::END_STREAM, 3, b"x"))
        .expect("body");
    let evs = events(&mut c);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert!(matches!(
        evs[1],
        Event::Data {
            stream: 3,
            end_stream: true,
            ..
        }
    ));
}

#[test]
fn an_idle_connection_holds_no_buffers() {
    let mut c = open();
    let mut b = get("/index.html");
    // One field into the dynamic table, as browsers do.
    b.extend([0x40, 1, b'x', 1, b'y']);
    let wire = frame_bytes(kind::HEADERS, flag::END_HEADERS | flag::END_STREAM, 1, &b);
    c.recv(&wire[..10]).expect("part");
    assert!(c.has_partial_frame());
    c.recv(&wire[10..]).expect("rest");
    let _ = events(&mut c);
    c.send_headers(1, 200, [(&b"content-length"[..], &b"2"[..])], false);
    c.send_data(1, b"ok", true);
    let _ = c.take_output();
    let _ = c.poll_event();
    c.shrink();
    assert_eq!(c.open_streams(), 0);
    assert!(!c.has_partial_frame());
    assert!(c.tables.is_none(), "the stream tables are kept");
    assert_eq!(c.held_bytes(), c.decoder.table_capacity());
    assert!(c.held_bytes() <= 64, "{}", c.held_bytes());
}

#[test]
fn trailers_end_the_body() {
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 1, &post(2)))
        .expect("headers");
    c.recv(&frame_bytes(kind::DATA, 0, 1, b"ab")).expect("data");
    let t = block(&[("x-sum", "1")]);
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &t,
    ))
    .expect("trailers");
    let evs = events(&mut c);
    assert!(matches!(
        evs.last(),
        Some(Event::Data {
            end_stream: true,
            ..
        })
    ));
    // Trailers without END_STREAM are a stream error.
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 1, &post(2)))
        .expect("headers");
    c.recv(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 1, &t))
        .expect("stream error");
    assert_eq!(resets(&mut c), vec![(1, Reason::PROTOCOL_ERROR)]);
}

#[test]
fn padding_is_counted_against_the_window_and_refused_when_too_long() {
    let mut c = open();
    c.recv(&frame_bytes(kind::HEADERS, flag::END_HEADERS, 1, &post(2)))
        .expect("headers");
    c.recv(&frame_bytes(
        kind::DATA,
        flag::PADDED | flag::END_STREAM,
        1,
        &[3, b'a', b'b', 0, 0, 0],
    ))
    .expect("padded");
    assert!(matches!(&events(&mut c)[1], Event::Data { data, .. } if data == "ab"));
    assert_eq!(
        conn_error(&frame_bytes(
            kind::HEADERS,
            flag::PADDED | flag::END_HEADERS,
            1,
            &[10, 0x82]
        )),
        Some(Reason::PROTOCOL_ERROR)
    );
}

#[test]
fn frames_on_idle_and_closed_streams() {
    use Reason as R;
    assert_eq!(
        conn_error(&frame_bytes(kind::WINDOW_UPDATE, 0, 1, &1u32.to_be_bytes())),
        Some(R::PROTOCOL_ERROR)
    );
    // PRIORITY of the wrong length is a stream error; depending on itself too.
    let mut c = open();
    c.recv(&frame_bytes(kind::PRIORITY, 0, 3, &[0; 4]))
        .expect("stream error");
    assert_eq!(resets(&mut c), vec![(3, R::FRAME_SIZE_ERROR)]);
    c.recv(&frame_bytes(kind::PRIORITY, 0, 5, &[0, 0, 0, 5, 1]))
        .expect("stream error");
    assert_eq!(resets(&mut c), vec![(5, R::PROTOCOL_ERROR)]);
    let mut c = open();
    let mut b = vec![0, 0, 0, 1, 16];
    b.extend(get("/"));
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::PRIORITY | flag::END_HEADERS,
        1,
        &b,
    ))
    .expect("stream error");
    assert_eq!(resets(&mut c), vec![(1, R::PROTOCOL_ERROR)]);
    // A stream closed both ways: HEADERS on it again is a connection error.
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &get("/"),
    ))
    .expect("1");
    c.send_headers(1, 204, [], true);
    c.take_output();
    assert!(
        c.recv(&frame_bytes(
            kind::HEADERS,
            flag::END_HEADERS | flag::END_STREAM,
            1,
            &get("/")
        ))
        .is_err()
    );
    assert_eq!(goaway(&mut c), Some(R::STREAM_CLOSED));
}

#[test]
fn data_for_a_stream_this_side_reset_is_ignored_and_its_window_given_back() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS,
        1,
        &post(1 << 20),
    ))
    .expect("headers");
    c.reset(1, Reason::CANCEL);
    assert_eq!(resets(&mut c), vec![(1, Reason::CANCEL)]);
    let chunk = vec![0; 16_384];
    for _ in 0..40 {
        c.recv(&frame_bytes(kind::DATA, 0, 1, &chunk))
            .expect("ignored");
    }
    let out = frames(&c.take_output());
    assert!(out.iter().all(|f| f.0 != kind::RST_STREAM));
    assert!(out.iter().any(|f| f.0 == kind::WINDOW_UPDATE && f.2 == 0));
}

#[test]
fn a_ping_flood_is_enhance_your_calm() {
    let mut c = open();
    let ping = frame_bytes(kind::PING, 0, 0, &[0; 8]);
    let burst = ping.repeat(10_000);
    let mut result = Ok(());
    for _ in 0..100 {
        result = c.recv(&burst);
        c.take_output();
        if result.is_err() {
            break;
        }
    }
    assert_eq!(
        result.err().map(|e| e.reason),
        Some(Reason::ENHANCE_YOUR_CALM)
    );
}

#[test]
fn a_client_goaway_lets_streams_in_flight_finish() {
    let mut c = open();
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        1,
        &get("/"),
    ))
    .expect("1");
    c.recv(&frame_bytes(kind::GOAWAY, 0, 0, &[0; 8]))
        .expect("goaway");
    assert!(c.is_going_away());
    assert!(c.can_send(1));
    c.recv(&frame_bytes(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        3,
        &get("/"),
    ))
    .expect("ignored");
    assert_eq!(c.open_streams(), 1);
}

/// A small xorshift generator: the same sequences every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random frames, mostly well formed, on a few streams.
fn random_wire(rng: &mut Rng) -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..rng.below(30) {
        let stream = [0, 1, 3, 5, 2][rng.below(5)];
        let flags = (rng.next() & 0x2d) as u8;
        let payload: Vec<u8> = match rng.below(11) {
            0 => b"hello".to_vec(),
            1 => get("/"),
            2 => post(rng.below(10) as u64),
            3 => (0..rng.below(20)).map(|_| rng.next() as u8).collect(),
            4 => vec![0, 4, 0, 0, 0, rng.below(3) as u8],
            5 => (rng.below(70_000) as u32).to_be_bytes().to_vec(),
            6 => vec![0; 8],
            7 => vec![0, 0, 0, rng.below(6) as u8, 7],
            8 => vec![0x3f, 0xe1, 0x1f, 0x82, 0x40, 1, b'a', 1, b'b', 0xbe],
            9 => vec![],
            _ => vec![rng.below(4) as u8, 0x82, 0x86, 0x84, 0, 0, 0],
        };
        let kind = rng.below(11) as u8;
        wire.extend(frame_bytes(kind, flags, stream, &payload));
    }
    wire
}

/// What a run shows: the events, the output, whether it failed. Requests are answered once
/// all the input is in, so that the answers' place in the output does not depend on the
/// split.
fn observe(wire: &[u8], cuts: &[usize]) -> (Vec<String>, Vec<u8>, bool) {
    let mut c = open();
    let mut events = Vec::new();
    let mut failed = false;
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&wire.len())) {
        if failed {
            break;
        }
        failed = c.recv(&wire[from..to]).is_err();
        from = to;
        events.extend(std::iter::from_fn(|| c.poll_event()));
    }
    for event in &events {
        if let Event::Request { stream, .. } = *event {
            c.send_headers(stream, 200, [], false);
            let sent = c.send_data(stream, &[b'x'; 100], true);
            assert!(sent <= 100);
        }
    }
    let events = events.iter().map(|e| format!("{e:?}")).collect();
    (events, c.take_output(), failed)
}

#[test]
fn random_frames_never_panic_and_do_not_depend_on_the_split() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let wire = random_wire(&mut rng);
        let whole = observe(&wire, &[]);
        let a = rng.below(wire.len() + 1);
        let b = rng.below(wire.len() + 1);
        assert_eq!(observe(&wire, &[a.min(b), a.max(b)]), whole);
        // Responses go on client streams only (a reset may name any stream the client did).
        for f in frames(&whole.1) {
            assert!(f.0 == kind::RST_STREAM || f.2 == 0 || f.2 % 2 == 1, "{f:?}");
        }
    }
}

#[test]
fn data_frames_are_cut_to_the_frame_size_the_client_allows() {
    // 16 KiB until the client says more (RFC 9113 4.2); then up to what it said. The
    // h2_conn fuzz target had assumed 16 KiB always.
    for (max, sizes) in [
        (None, vec![16_384, 16_384, 7_232]),
        (Some(32_768u32), vec![32_768, 7_232]),
    ] {
        let mut c = open();
        if let Some(max) = max {
            let mut setting = 5u16.to_be_bytes().to_vec();
            setting.extend(max.to_be_bytes());
            c.recv(&frame_bytes(kind::SETTINGS, 0, 0, &setting))
                .expect("settings");
            assert_eq!(c.peer_max_frame_size(), max);
        }
        c.recv(&frame_bytes(
            kind::HEADERS,
            flag::END_HEADERS | flag::END_STREAM,
            1,
            &get("/"),
        ))
        .expect("headers");
        c.take_output();
        c.send_headers(1, 200, [(&b"content-type"[..], &b"text/plain"[..])], false);
        assert_eq!(c.send_data(1, &vec![1; 40_000], true), 40_000);
        let data: Vec<usize> = frames(&c.take_output())
            .into_iter()
            .filter(|f| f.0 == kind::DATA)
            .map(|f| f.3.len())
            .collect();
        assert_eq!(data, sizes, "{max:?}");
    }
}
