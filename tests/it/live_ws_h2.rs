//! WebSocket over HTTP/2 (RFC 8441): the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL,
//! and an extended CONNECT with `:protocol websocket` to the demo site's `/ws/echo` opens a
//! socket on that stream. Python's h2 library by hand (h2c and TLS: the settings, the `200`,
//! echoes, permessage-deflate, the close handshake ending the stream), and Chromium's own
//! `new WebSocket("wss://...")` on a page it loaded over h2.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::h2_tls::Cert;
use crate::harness::{self, Running};

/// The demo site, over TLS when `cert` is given, with its access log; the log's path.
fn site(cert: Option<&Cert>) -> (tempfile::TempDir, Running, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("guestbook.db");
    let log = dir.path().join("access.log");
    let mut args = vec![
        "-p".to_owned(),
        "0".to_owned(),
        "--db".to_owned(),
        db.to_str().expect("utf-8").to_owned(),
        "--access-log".to_owned(),
        log.to_str().expect("utf-8").to_owned(),
    ];
    if let Some(cert) = cert {
        args.extend([
            "--tls-cert".to_owned(),
            cert.cert.to_str().expect("utf-8").to_owned(),
            "--tls-key".to_owned(),
            cert.key.to_str().expect("utf-8").to_owned(),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Running::start_in(Some(dir.path()), &args);
    (dir, server, log)
}

/// Waits for the access log to have a line with `needle` (it is written after the response
/// head went out); the log.
fn log_line(log: &PathBuf, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// An extended CONNECT by hand with Debian's python3-h2 (4.1): the server's SETTINGS, the
/// `200` with permessage-deflate agreed and no `Sec-WebSocket-Accept`, a text and a binary
/// echo (the server's replies compressed), a ping, and the close handshake, after which the
/// server ends the stream. Then a request for another protocol and one without the version.
const CONNECT_PY: &str = r#"
import os, socket, ssl, struct, sys, zlib
import h2.config, h2.connection, h2.events, h2.settings

host, port, scheme = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port), timeout=10)
if scheme == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(sock)
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

events = []
def pump():
    data = sock.recv(65536)
    if not data:
        raise SystemExit("connection closed")
    for e in conn.receive_data(data):
        events.append(e)
        if isinstance(e, h2.events.DataReceived):
            conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
    sock.sendall(conn.data_to_send())

def wait(pred, what):
    for _ in range(200):
        for e in events:
            if pred(e):
                events.remove(e)
                return e
        pump()
    raise SystemExit("no " + what)

wait(lambda e: isinstance(e, h2.events.RemoteSettingsChanged), "SETTINGS")
assert conn.remote_settings.enable_connect_protocol == 1, conn.remote_settings.enable_connect_protocol

def connect(extra, protocol="websocket"):
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", protocol), (":scheme", scheme),
                            (":path", "/ws/echo"), (":authority", f"{host}:{port}")] + extra)
    sock.sendall(conn.data_to_send())
    resp = wait(lambda e: isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid, "response")
    return sid, dict(resp.headers)

sid, head = connect([("sec-websocket-version", "13"),
                     ("sec-websocket-extensions", "permessage-deflate; client_max_window_bits")])
assert head[":status"] == "200", head
assert "sec-websocket-accept" not in head and "upgrade" not in head, head
assert head.get("sec-websocket-extensions", "").startswith("permessage-deflate"), head

def frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x80 | opcode])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return hdr + mask + body

buf = b""
ended = False
def read_frame():
    global buf, ended
    while True:
        if len(buf) >= 2:
            n = buf[1] & 0x7F
            off = 2
            if n == 126:
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) >= off + n:
                b0, payload, buf = buf[0], buf[off:off + n], buf[off + n:]
                if b0 & 0x40:
                    payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
                return b0 & 0x0F, payload
        e = wait(lambda e: getattr(e, "stream_id", None) == sid and
                 isinstance(e, (h2.events.DataReceived, h2.events.StreamEnded, h2.events.StreamReset)), "data")
        if isinstance(e, h2.events.DataReceived):
            buf += e.data
        elif isinstance(e, h2.events.StreamEnded):
            ended = True
            raise SystemExit("stream ended before a frame")
        else:
            raise SystemExit("stream reset: %r" % e)

def send(data, end=False):
    # In frames the server's SETTINGS allow, within its window.
    while data:
        n = min(len(data), conn.max_outbound_frame_size, conn.local_flow_control_window(sid))
        if n == 0:
            pump()
            continue
        conn.send_data(sid, data[:n])
        data = data[n:]
        sock.sendall(conn.data_to_send())
    if end:
        conn.end_stream(sid)
        sock.sendall(conn.data_to_send())

send(frame(0x1, "hello, wörld".encode()))
assert read_frame() == (0x1, "hello, wörld".encode())
big = bytes(range(256)) * 400
send(frame(0x2, big))
assert read_frame() == (0x2, big)
send(frame(0x9, b"ping?"))
assert read_frame() == (0xA, b"ping?")
send(frame(0x8, struct.pack("!H", 1000) + b"bye"))
op, payload = read_frame()
assert op == 0x8 and struct.unpack("!H", payload[:2])[0] == 1000, (op, payload)
# The server ends its side of the stream (END_STREAM, not a reset) once it has closed.
wait(lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == sid, "END_STREAM")
send(b"", end=True)

# The connection goes on. Another protocol is not WebSocket: the page's 200 cannot open a
# tunnel, so 501; and version 13 is required.
_, head = connect([("sec-websocket-version", "13")], protocol="chat")
assert head[":status"] == "501", head
_, head = connect([])
assert head[":status"] == "426" and head.get("sec-websocket-version") == "13", head
conn.close_connection()
sock.sendall(conn.data_to_send())
print("ok")
"#;

fn python_connect(server: &Running, scheme: &str) {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", CONNECT_PY])
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .arg(scheme)
        .output()
        .expect("run /usr/bin/python3 (Debian's python3-h2)");
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    assert_eq!(text.trim(), "ok");
}

#[test]
fn extended_connect_over_h2c_echoes_and_closes() {
    let (_dir, server, log) = site(None);
    python_connect(&server, "http");
    let text = log_line(&log, "\"CONNECT /ws/echo HTTP/2.0\" 200");
    assert!(text.contains("\"CONNECT /ws/echo HTTP/2.0\" 200"), "{text}");
}

#[test]
fn extended_connect_over_tls_echoes_and_closes() {
    let cert = Cert::new();
    let (_dir, server, log) = site(Some(&cert));
    python_connect(&server, "https");
    let text = log_line(&log, "\"CONNECT /ws/echo HTTP/2.0\" 200");
    assert!(text.contains("\"CONNECT /ws/echo HTTP/2.0\" 200"), "{text}");
}

#[test]
fn chromium_opens_its_websocket_as_a_stream_of_the_h2_connection() {
    use crate::site::browser::start_driver_with;
    let cert = Cert::new();
    let (_dir, server, log) = site(Some(&cert));
    let spki = tls::spki_sha256_base64(&cert.der).expect("spki");
    let driver = start_driver_with(&[format!("--ignore-certificate-errors-spki-list={spki}")]);
    let _ = &cert.dir;
    driver.go(&format!("https://127.0.0.1:{}/ws/echo", server.addr.port()));
    let got = driver.cmd(
        "POST",
        "/execute/async",
        Some(json!({"script": r#"
            const done = arguments[arguments.length - 1];
            const ws = new WebSocket("wss://" + location.host + "/ws/echo");
            ws.binaryType = "arraybuffer";
            const big = "z".repeat(300000);
            const seen = [];
            ws.onopen = () => { ws.send("héllo over h2"); ws.send(new Uint8Array([1, 2, 255])); ws.send(big); };
            ws.onmessage = (e) => {
                seen.push(typeof e.data === "string" ? (e.data.length > 100 ? e.data.length : e.data) : Array.from(new Uint8Array(e.data)).join(","));
                if (seen.length === 3) { ws.close(1000); }
            };
            ws.onclose = (e) => done({seen, code: e.code, ext: ws.extensions,
                page: performance.getEntriesByType("navigation")[0].nextHopProtocol});
        "#, "args": []})),
    );
    assert_eq!(
        got["seen"],
        json!(["héllo over h2", "1,2,255", 300000]),
        "{got}"
    );
    assert_eq!(got["code"], 1000, "{got}");
    assert_eq!(got["ext"], "permessage-deflate", "{got}");
    assert_eq!(got["page"], "h2", "{got}");
    // The socket went over the page's HTTP/2 connection, as an extended CONNECT.
    let text = log_line(&log, "\"CONNECT /ws/echo HTTP/2.0\" 200");
    assert!(text.contains("\"CONNECT /ws/echo HTTP/2.0\" 200"), "{text}");
}

/// A client that asks for an echo larger than the window it gives the stream, and never opens
/// the window: the server's write waits, and after the write timeout (1 s here) the server
/// gives the socket up and ends the stream. The connection goes on.
const STALLED_WINDOW_PY: &str = r#"
import os, socket, struct, sys, time
import h2.config, h2.connection, h2.events

host, port = sys.argv[1], int(sys.argv[2])
sock = socket.create_connection((host, port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
events = []
def pump():
    # Reads frames but grants no window: DATA is not acknowledged.
    data = sock.recv(65536)
    if not data:
        raise SystemExit("connection closed")
    events.extend(conn.receive_data(data))
    sock.sendall(conn.data_to_send())
def wait(pred, what, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for e in events:
            if pred(e):
                events.remove(e)
                return e
        pump()
    raise SystemExit("no " + what)

wait(lambda e: isinstance(e, h2.events.RemoteSettingsChanged), "SETTINGS")
sid = conn.get_next_available_stream_id()
conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                        (":path", "/ws/echo"), (":authority", f"{host}:{port}"),
                        ("sec-websocket-version", "13")])
sock.sendall(conn.data_to_send())
resp = wait(lambda e: isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid, "response")
assert dict(resp.headers)[":status"] == "200", resp.headers
# One 100 KB binary message (masked with a zero key): its echo needs more than the 64 KiB
# window this client gives the stream and the connection.
payload = bytes(100_000)
ws = bytes([0x82, 0xFF]) + struct.pack("!Q", len(payload)) + bytes(4) + payload
while ws:
    n = min(len(ws), conn.max_outbound_frame_size, conn.local_flow_control_window(sid))
    if n == 0:
        pump()
        continue
    conn.send_data(sid, ws[:n])
    ws = ws[n:]
    sock.sendall(conn.data_to_send())
start = time.monotonic()
ended = wait(lambda e: isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and e.stream_id == sid,
             "end of the stalled stream")
print("stream ended after", round(time.monotonic() - start, 1), "s:", type(ended).__name__)
# Give the window back, and the connection serves the next request.
conn.increment_flow_control_window(1 << 20)
sock.sendall(conn.data_to_send())
sid = conn.get_next_available_stream_id()
conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                        (":authority", f"{host}:{port}")], end_stream=True)
sock.sendall(conn.data_to_send())
resp = wait(lambda e: isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid, "next response")
assert dict(resp.headers)[":status"] == "200", resp.headers
print("ok")
"#;

#[test]
fn a_websocket_stream_whose_window_stays_shut_ends_after_the_write_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("guestbook.db");
    let db = db.to_str().expect("utf-8");
    let server = Running::start(&["-p", "0", "-q", "--db", db, "--write-timeout", "1"]);
    let out = Command::new("/usr/bin/python3")
        .args(["-c", STALLED_WINDOW_PY])
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .output()
        .expect("run /usr/bin/python3 (Debian's python3-h2)");
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    assert!(
        text.contains("stream ended after") && text.ends_with("ok\n"),
        "{text}"
    );
}
