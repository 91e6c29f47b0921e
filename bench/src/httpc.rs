//! A minimal blocking HTTP/1.1 client over `std::net`, for checking that each server answers
//! correctly before it is measured, seeding the guestbook, and holding idle connections.
//!
//! It understands `Content-Length`, `chunked` and close-delimited bodies, which is all the servers
//! under test send; anything else is an error, never a panic.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::error::{BenchError, Result};

/// How long any one check may take; generous, the machine may be busy.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A response as read off the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection to a server on the loopback: plain TCP, or any other byte stream
/// over it (TLS, in [`crate::tls`]).
pub struct Conn<S = TcpStream> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    /// A connection over `stream`, already connected.
    pub fn over(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// The stream, for what the connection settled (a TLS session's resumption).
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The stream, to read what follows a response (a TLS session's close_notify).
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }
}

/// A TCP connection to `port` on the loopback with `timeout` on reads and writes.
pub fn connect(port: u16, timeout: Duration) -> Result<TcpStream> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Conn {
    pub fn open(port: u16) -> Result<Conn> {
        Conn::open_with(port, TIMEOUT)
    }

    /// [`Conn::open`] with its own read and write timeout, for answers that may take long.
    pub fn open_with(port: u16, timeout: Duration) -> Result<Conn> {
        Ok(Conn::over(connect(port, timeout)?))
    }
}

impl<S: Read + Write> Conn<S> {
    /// Sends one request and reads its whole response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut wire = head.into_bytes();
        wire.extend_from_slice(body);
        self.stream.write_all(&wire)?;
        self.read_reply(method == "HEAD")
    }

    fn read_reply(&mut self, head_only: bool) -> Result<Reply> {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill()? == 0 {
                return Err(BenchError::new("connection closed before a response head"));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end);
        let (status, headers) = parse_head(&head)?;
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(reply);
        }
        let chunked = reply
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        reply.body = if chunked {
            self.read_chunked()?
        } else if let Some(len) = reply.header("content-length") {
            let len: usize = len
                .trim()
                .parse()
                .map_err(|_| BenchError::new(format!("bad Content-Length {len:?}")))?;
            self.read_exact_body(len)?
        } else {
            while self.fill()? > 0 {}
            std::mem::take(&mut self.buf)
        };
        Ok(reply)
    }

    fn fill(&mut self) -> Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn read_exact_body(&mut self, len: usize) -> Result<Vec<u8>> {
        while self.buf.len() < len {
            if self.fill()? == 0 {
                return Err(BenchError::new("connection closed inside a body"));
            }
        }
        Ok(self.buf.drain(..len).collect())
    }

    fn read_line(&mut self) -> Result<String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.fill()? == 0 {
                return Err(BenchError::new("connection closed inside a chunked body"));
            }
        }
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| BenchError::new(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                while !self.read_line()?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.read_exact_body(size)?);
            self.read_line()?;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &str) -> Result<(u16, Vec<(String, String)>)> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| BenchError::new(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok((status, headers))
}

/// `GET path` on a fresh connection.
pub fn get(port: u16, path: &str) -> Result<Reply> {
    Conn::open(port)?.request("GET", path, &[("Connection", "close")], b"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server on the loopback that sends `wire` after reading a request head.
    fn serve_once(wire: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            s.write_all(wire).unwrap();
        });
        port
    }

    #[test]
    fn reads_length_chunked_and_close_delimited_bodies() {
        let port = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(get(port, "/").unwrap().text(), "hello");
        let port = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        );
        assert_eq!(get(port, "/").unwrap().text(), "abcde");
        let port = serve_once(b"HTTP/1.0 200 Script output follows\r\n\r\nuntil close");
        let reply = get(port, "/").unwrap();
        assert_eq!((reply.status, reply.text().as_str()), (200, "until close"));
    }

    #[test]
    fn truncated_responses_are_errors() {
        let port = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
        assert!(get(port, "/").is_err());
        let port = serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert!(get(port, "/").is_err());
        let port = serve_once(b"HTTP/1.1 200 OK\r\nContent-Len");
        assert!(get(port, "/").is_err());
    }

    #[test]
    fn parses_status_and_headers() {
        let (status, headers) =
            parse_head("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX: a:b\r\n\r\n").unwrap();
        assert_eq!(status, 404);
        assert_eq!(headers[1], ("X".to_owned(), "a:b".to_owned()));
        assert!(parse_head("garbage\r\n\r\n").is_err());
    }
}
