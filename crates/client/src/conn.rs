//! One client connection, plain or TLS: write a request, read a response head, stream its body.
//!
//! Every read and write is bounded by the same timeout, so a server that stops talking is an
//! error after that long of silence, however large the body.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http1::client::{ResponseHead, parse_response_head};
use http1::{Decoded, Decoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;

use crate::net::timed_out;
use crate::tls::{Tls, TlsInfo};
use crate::url::Scheme;
use crate::{Closed, Error, Url};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// The byte stream under HTTP: the socket itself, or TLS over it.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    /// Boxed: a TLS session is some kilobytes, a socket a few words.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(data).await,
            // TLS buffers records; flushing puts them on the wire before we wait for an answer.
            Stream::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
        }
    }
}

/// An open connection to one scheme, host and port.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    buf: BytesMut,
    scheme: Scheme,
    host: String,
    port: u16,
    timeout: Duration,
    /// What the TLS handshake settled; `None` on plain TCP.
    tls: Option<TlsInfo>,
    /// A TLS peer closed without `close_notify` (RFC 8446 6.1): what came before may be cut.
    truncated: bool,
}

impl Connection {
    /// Connects to the host and port of `url`, with a TLS handshake for `https://`.
    pub async fn open(url: &Url, timeout: Duration, tls: &Tls) -> Result<Connection, Error> {
        let tcp = crate::net::connect(url.host(), url.port(), timeout).await?;
        let (stream, info) = match url.scheme() {
            Scheme::Http => (Stream::Plain(tcp), None),
            Scheme::Https => {
                let (stream, info) = tls
                    .handshake(tcp, url.host(), &url.authority_with_port(), timeout)
                    .await?;
                (Stream::Tls(Box::new(stream)), Some(info))
            }
        };
        Ok(Connection {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            scheme: url.scheme(),
            host: url.host().to_string(),
            port: url.port(),
            timeout,
            tls: info,
            truncated: false,
        })
    }

    /// Whether this connection goes where `url` points (a TLS one serves only `https://`).
    pub fn serves(&self, url: &Url) -> bool {
        self.scheme == url.scheme() && self.host == url.host() && self.port == url.port()
    }

    /// The address actually connected to.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.stream.tcp().peer_addr().ok()
    }

    /// What the TLS handshake settled, on a TLS connection.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The TLS stream, when ALPN settled on HTTP/2 and nothing was read from it yet; the
    /// connection back otherwise.
    pub fn into_h2(self) -> Result<Box<TlsStream<TcpStream>>, Box<Connection>> {
        let h2 = self
            .tls
            .as_ref()
            .is_some_and(|t| t.alpn.as_deref() == Some("h2"));
        match self.stream {
            Stream::Tls(stream) if h2 && self.buf.is_empty() => Ok(stream),
            stream => Err(Box::new(Connection { stream, ..self })),
        }
    }

    /// Whether bytes arrived that no response has claimed; such a connection is not reused.
    pub fn has_leftover(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Writes all of `data`.
    pub async fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
        timeout(self.timeout, self.stream.write_all(data))
            .await
            .map_err(|_| timed_out("the server to accept the request", self.timeout))?
            .map_err(Error::Io)
    }

    /// Reads one response head, returning it with its bytes as received.
    pub async fn read_head(&mut self) -> Result<(ResponseHead, Bytes), Error> {
        loop {
            if let Some((head, len)) = parse_response_head(&self.buf).map_err(Error::Response)? {
                return Ok((head, self.buf.split_to(len).freeze()));
            }
            if self.read_more("the response").await? == 0 {
                let at = if self.buf.is_empty() {
                    Closed::BeforeResponse
                } else {
                    Closed::InHead
                };
                return Err(Error::Closed(at));
            }
        }
    }

    /// Feeds the body framed by `decoder` to `sink` until it is complete.
    pub async fn read_body(
        &mut self,
        decoder: &mut Decoder,
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        loop {
            match decoder.decode(&mut self.buf).map_err(Error::Body)? {
                Decoded::Data(data) => sink(&data).map_err(Error::Output)?,
                Decoded::Done => return Ok(()),
                Decoded::NeedMore => {
                    if self.read_more("the body").await? == 0 {
                        // Fine for a close-delimited body; anything else was cut short. Over
                        // TLS a close without close_notify may be an attacker's cut, so a
                        // close-delimited body is not complete without it (RFC 9112 9.8).
                        decoder.eof().map_err(|_| Error::Closed(Closed::InBody))?;
                        if self.truncated {
                            return Err(Error::Closed(Closed::WithoutCloseNotify));
                        }
                        return Ok(());
                    }
                }
            }
        }
    }

    /// One read into the buffer; 0 means the server closed its side.
    async fn read_more(&mut self, waiting_for: &'static str) -> Result<usize, Error> {
        self.buf.reserve(READ_CHUNK);
        let read = timeout(self.timeout, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| timed_out(waiting_for, self.timeout))?;
        match read {
            // rustls's word for a TLS close without close_notify: still a close, noted.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && self.tls.is_some() => {
                self.truncated = true;
                Ok(0)
            }
            other => other.map_err(Error::Io),
        }
    }
}
