//! WebSocket on the demo site's `/ws/echo`: Python's `websockets` client for what a
//! well-behaved client does (echo, ping, fragments, permessage-deflate, the close handshake,
//! over TCP and TLS), raw frames from Python's sockets for every rule a bad client breaks,
//! and a Chromium page.

use std::io::{Read, Write};
use std::process::Command;

use serde_json::json;

use crate::harness::{Running, request};
use crate::site::browser::start_driver;
use crate::site::{fresh_db, start};

/// A Python that has the `websockets` package: Debian's `python3-websockets` goes with the
/// system's interpreter, which another `python3` on the `PATH` (pyenv) may hide.
pub(crate) fn python3() -> &'static str {
    static FOUND: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|py| {
                Command::new(py)
                    .args(["-c", "import websockets"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .expect("no python3 with the websockets package: install Debian's python3-websockets")
    })
}

/// Runs a Python script with the server's host and port; fails the test with its output.
fn python(script: &str, server: &Running, extra: &[&str]) -> String {
    let out = Command::new(python3())
        .arg("-c")
        .arg(script)
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .args(extra)
        .output()
        .expect("run python3");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "python failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// A well-behaved client: Debian's python3-websockets (10.x, its asyncio client).
const CLIENT_PY: &str = r#"
import asyncio, ssl, sys
import websockets

host, port, scheme = sys.argv[1], sys.argv[2], sys.argv[3]

async def main():
    ctx = None
    if scheme == "wss":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    url = f"{scheme}://{host}:{port}/ws/echo"
    async with websockets.connect(url, ssl=ctx, max_size=None) as ws:
        names = [e.name for e in ws.extensions]
        assert names == ["permessage-deflate"], names
        await ws.send("hello, wörld")
        assert await ws.recv() == "hello, wörld"
        await ws.send(b"\x00\x01\xfe\xff")
        assert await ws.recv() == b"\x00\x01\xfe\xff"
        # A ping is answered with its payload.
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        # A message in fragments (an iterable is sent as one frame per piece).
        await ws.send(["frag", "ment", "ed ✓"])
        assert await ws.recv() == "fragmented ✓"
        await ws.send([b"a" * 1000, b"b" * 70000])
        assert await ws.recv() == b"a" * 1000 + b"b" * 70000
        # Large and compressible, both ways through deflate.
        big = "the quick brown fox " * 40000
        await ws.send(big)
        assert await ws.recv() == big
        # Many in flight at once come back in order.
        for i in range(200):
            await ws.send(f"m{i}")
        for i in range(200):
            assert await ws.recv() == f"m{i}"
    assert ws.close_code == 1000, ws.close_code
    # Without compression too.
    async with websockets.connect(url, ssl=ctx, compression=None) as ws:
        assert ws.extensions == []
        await ws.send("plain " * 100)
        assert await ws.recv() == "plain " * 100
        await ws.close(code=4000, reason="done here")
    assert ws.close_code == 4000, ws.close_code
    # A message past the echo's 1 MiB limit closes with 1009.
    async with websockets.connect(url, ssl=ctx, max_size=None, compression=None) as ws:
        await ws.send(b"x" * (1024 * 1024 + 1))
        try:
            await ws.recv()
            raise SystemExit("the oversized message was echoed")
        except websockets.exceptions.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1009, e
    print("ok")

asyncio.run(main())
"#;

#[test]
fn the_websockets_client_gets_echoes_pongs_fragments_deflate_and_a_clean_close() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    assert_eq!(python(CLIENT_PY, &server, &["ws"]).trim(), "ok");
}

#[test]
fn websocket_over_tls_works_the_same() {
    let (dir, db) = fresh_db();
    let db = db.to_str().expect("utf-8");
    let server = Running::start_in(
        Some(dir.path()),
        &["-p", "0", "-q", "--db", db, "--tls-self-signed"],
    );
    assert!(server.banner.contains("https://"), "{}", server.banner);
    assert_eq!(python(CLIENT_PY, &server, &["wss"]).trim(), "ok");
}

/// Raw frames over a plain socket: the handshake by hand, then one case per rule. Each case
/// sends its bytes and expects the server's close frame with a code, then the end of the
/// connection; or, for cases that must be accepted, the echo.
const RAW_PY: &str = r#"
import base64, os, socket, struct, sys, time

host, port = sys.argv[1], int(sys.argv[2])

def connect(extensions=None):
    s = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    if extensions:
        req += f"Sec-WebSocket-Extensions: {extensions}\r\n"
    s.sendall((req + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, "closed during the handshake"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return s, rest

def frame(op, payload=b"", fin=True, mask=True, rsv=0, length=None):
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

class Reader:
    def __init__(self, s, buf):
        self.s, self.buf = s, buf
    def need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True
    def frame(self):
        if not self.need(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frames are not masked"
        n, at = b1 & 0x7F, 2
        if n == 126:
            self.need(4); n = struct.unpack(">H", self.buf[2:4])[0]; at = 4
        elif n == 127:
            self.need(10); n = struct.unpack(">Q", self.buf[2:10])[0]; at = 10
        assert self.need(at + n), "frame cut short"
        payload = self.buf[at:at + n]
        self.buf = self.buf[at + n:]
        return b0 & 0x0F, payload, b0 & 0x70
    def eof(self):
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

def expect_close(name, data, code):
    s, rest = connect()
    s.sendall(data)
    r = Reader(s, rest)
    while True:
        f = r.frame()
        assert f is not None, f"{name}: closed without a close frame"
        if f[0] == 8:
            break
    got = struct.unpack(">H", f[1][:2])[0]
    assert got == code, f"{name}: close code {got}, expected {code} ({f[1][2:]!r})"
    assert r.eof(), f"{name}: the connection stayed open after the close"
    print(f"{name}: {code}")

def expect_echo(name, data, want_op, want, slow=False):
    s, rest = connect()
    if slow:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(0.002)
    else:
        s.sendall(data)
    r = Reader(s, rest)
    got = []
    while len(got) < len(want):
        f = r.frame()
        assert f is not None, f"{name}: closed"
        got.append(f)
    for (op, payload, _), w in zip(got, want):
        assert (op, payload) == w, f"{name}: got {(op, payload)!r}, expected {w!r}"
    s.sendall(frame(8, struct.pack(">H", 1000)))
    f = r.frame()
    assert f[0] == 8 and f[1][:2] == struct.pack(">H", 1000), f"{name}: close echo {f!r}"
    assert r.eof(), f"{name}: still open after the close handshake"
    print(f"{name}: ok")

# What must be accepted (Autobahn 5.x, 6.x, 2.x in spirit).
expect_echo("text in three fragments", frame(1, b"Hel", fin=False) + frame(0, b"lo, ", fin=False) + frame(0, b"world"), 1, [(1, b"Hello, world")])
expect_echo("a ping between fragments", frame(1, b"ab", fin=False) + frame(9, b"p!") + frame(0, b"cd"), 1, [(10, b"p!"), (1, b"abcd")])
snowman = "☃".encode()
expect_echo("a character split across fragments", frame(1, snowman[:1], fin=False) + frame(0, snowman[1:]), 1, [(1, snowman)])
expect_echo("empty text", frame(1, b""), 1, [(1, b"")])
expect_echo("binary with a 16-bit length", frame(2, bytes(range(256)) * 2), 2, [(2, bytes(range(256)) * 2)])
expect_echo("ping with 125 bytes", frame(9, b"x" * 125), 10, [(10, b"x" * 125)])
expect_echo("an unsolicited pong is ignored", frame(10, b"hb") + frame(1, b"after"), 1, [(1, b"after")])
expect_echo("a frame sent one byte at a time", frame(1, b"slow"), 1, [(1, b"slow")], slow=True)

# What must be refused, with its code (RFC 6455 5.1, 5.2, 5.4, 5.5, 7.4, 8.1).
expect_close("unmasked frame", frame(1, b"hi", mask=False), 1002)
expect_close("RSV1 without an extension", frame(1, b"hi", rsv=0x40), 1002)
expect_close("RSV2", frame(1, b"hi", rsv=0x20), 1002)
expect_close("RSV3", frame(1, b"hi", rsv=0x10), 1002)
expect_close("reserved data opcode 3", frame(3, b"hi"), 1002)
expect_close("reserved control opcode 11", frame(11, b"hi"), 1002)
expect_close("ping over 125 bytes", frame(9, b"x" * 126), 1002)
expect_close("fragmented ping", frame(9, b"x", fin=False), 1002)
expect_close("continuation with nothing to continue", frame(0, b"x"), 1002)
expect_close("new message inside a fragmented one", frame(1, b"a", fin=False) + frame(1, b"b"), 1002)
expect_close("text that is not UTF-8", frame(1, b"\xff\xfe"), 1007)
expect_close("fragmented text not UTF-8 at its end", frame(1, b"ok", fin=False) + frame(0, b"\xe2\x98"), 1007)
expect_close("close with a one-byte body", frame(8, b"\x03"), 1002)
expect_close("close with reserved code 1005", frame(8, struct.pack(">H", 1005)), 1002)
expect_close("close with unassigned code 2000", frame(8, struct.pack(">H", 2000)), 1002)
expect_close("close reason not UTF-8", frame(8, struct.pack(">H", 1000) + b"\xff"), 1007)
expect_close("frame over the limit, refused from its header", frame(2, b"", length=(1 << 20) + 1), 1009)
expect_close("message over the limit in small fragments", b"".join(frame(2 if i == 0 else 0, b"z" * 65536, fin=False) for i in range(17)), 1009)
expect_close("64-bit length with its top bit set", bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + b"\x00" * 4, 1002)
# A client close gets the same code back, then the server closes the connection.
expect_close("client close 1001", frame(8, struct.pack(">H", 1001) + b"bye"), 1001)
expect_close("client close with an application code", frame(8, struct.pack(">H", 4321)), 4321)

# Compressed frames when permessage-deflate was agreed; invalid compressed data is 1007.
import zlib
def deflate(data):
    c = zlib.compressobj(wbits=-15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]
s, rest = connect("permessage-deflate; client_max_window_bits")
s.sendall(frame(1, deflate(b"squeezed " * 50), rsv=0x40))
r = Reader(s, rest)
op, payload, rsv = r.frame()
assert op == 1 and rsv == 0x40, (op, rsv)
d = zlib.decompressobj(wbits=-15)
assert d.decompress(payload + b"\x00\x00\xff\xff") == b"squeezed " * 50
s.sendall(frame(9, b"p", rsv=0x40))
op, payload, _ = r.frame()
assert op == 8 and payload[:2] == struct.pack(">H", 1002), (op, payload)
print("deflate: ok")
s, rest = connect("permessage-deflate")
s.sendall(frame(1, b"\xff\xff\xff\xff", rsv=0x40))
r = Reader(s, rest)
op, payload, _ = r.frame()
assert op == 8 and payload[:2] == struct.pack(">H", 1007), (op, payload)
print("bad deflate data: 1007")
"#;

#[test]
fn frames_that_break_the_rules_close_with_the_rfc_codes() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let out = python(RAW_PY, &server, &[]);
    assert!(out.contains("unmasked frame: 1002"), "{out}");
    assert!(out.contains("text that is not UTF-8: 1007"), "{out}");
    assert!(out.contains("deflate: ok"), "{out}");
}

#[test]
fn handshakes_that_are_not_websocket_get_the_right_status() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade")];
    let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");

    let old = request(
        server.addr,
        "GET",
        "/ws/echo",
        &[upgrade[0], upgrade[1], key, ("Sec-WebSocket-Version", "8")],
        b"",
    );
    assert_eq!(old.status, 426);
    assert_eq!(old.header("sec-websocket-version"), Some("13"));

    let keyless = request(
        server.addr,
        "GET",
        "/ws/echo",
        &[upgrade[0], upgrade[1], ("Sec-WebSocket-Version", "13")],
        b"",
    );
    assert_eq!(keyless.status, 400);

    // A plain visit gets the page that talks to the socket.
    let page = request(server.addr, "GET", "/ws/echo", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("new WebSocket("), "{}", page.text());

    // The accept key of RFC 6455 1.3, and the connection switched: the head ends, and the
    // connection stays open for frames.
    let mut s = server.connect();
    s.write_all(
        b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the 101 head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("utf-8");
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nConnection: upgrade\r\n"), "{head}");
    assert!(head.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
}

#[test]
fn chromium_talks_to_the_echo_page() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let driver = start_driver();
    driver.go(&server.url("/ws/echo"));
    driver.wait_for("the socket to open", |d| {
        d.script("return document.getElementById('status').textContent") == "open"
    });
    let input = driver.element("#text");
    driver.cmd(
        "POST",
        &format!("/element/{input}/value"),
        Some(json!({"text": "héllo from Chromium\n"})),
    );
    driver.wait_for("the echo", |d| {
        d.script("return document.getElementById('log').textContent")
            .as_str()
            .is_some_and(|t| t.contains("< héllo from Chromium"))
    });
    // The browser's own WebSocket, binary and a large message, straight from a script.
    let got = driver.cmd(
        "POST",
        "/execute/async",
        Some(json!({"script": r#"
            const done = arguments[arguments.length - 1];
            const ws = new WebSocket("ws://" + location.host + "/ws/echo");
            ws.binaryType = "arraybuffer";
            const big = "z".repeat(300000);
            const seen = [];
            ws.onopen = () => { ws.send(new Uint8Array([1, 2, 255])); ws.send(big); };
            ws.onmessage = (e) => {
                seen.push(typeof e.data === "string" ? e.data.length : Array.from(new Uint8Array(e.data)).join(","));
                if (seen.length === 2) { ws.close(1000); }
            };
            ws.onclose = (e) => done({seen, code: e.code, ext: ws.extensions});
        "#, "args": []})),
    );
    assert_eq!(got["seen"], json!(["1,2,255", 300000]), "{got}");
    assert_eq!(got["code"], 1000, "{got}");
    assert_eq!(got["ext"], "permessage-deflate", "{got}");
}

/// A client that sends and never reads: the echoes fill both sockets' buffers, the server's
/// write waits, and after the write timeout (1 s here) the server gives the connection up.
const STALLED_READER_PY: &str = r#"
import base64, os, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /ws/echo HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 101"), head
# 64 KiB binary messages, masked with a zero key, until the server stops taking them: it
# is stuck writing echoes this client does not read.
payload = bytes(65536)
frame = bytes([0x82, 0xFF]) + (65536).to_bytes(8, "big") + bytes(4) + payload
s.settimeout(0.5)
sent = 0
try:
    while sent < 256:
        s.sendall(frame)
        sent += 1
except socket.timeout:
    pass
assert sent < 256, "the server read 16 MiB without writing a byte back"
print("stalled after", sent, "messages")
# Past the write timeout the server drops the connection: reading now drains what it had
# sent, then finds the end (or a reset), well before this deadline.
s.settimeout(10)
deadline = time.monotonic() + 10
start = time.monotonic()
try:
    while time.monotonic() < deadline:
        if not s.recv(1 << 20):
            break
    else:
        raise SystemExit("the connection was still open after 10 s")
except ConnectionResetError:
    pass
print("closed after", round(time.monotonic() - start, 1), "s")
"#;

#[test]
fn a_websocket_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let (_dir, db) = fresh_db();
    let db = db.to_str().expect("utf-8 path");
    let server = Running::start(&["-p", "0", "-q", "--db", db, "--write-timeout", "1"]);
    let out = python(STALLED_READER_PY, &server, &[]);
    assert!(out.contains("closed after"), "{out}");
    // The server is fine, and serves the next client.
    assert_eq!(request(server.addr, "GET", "/", &[], b"").status, 200);
}
