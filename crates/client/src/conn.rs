//! One client connection: write a request, read a response head, stream its body.
//!
//! Every read and write is bounded by the same timeout, so a server that stops talking is an
//! error after that long of silence, however large the body.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http1::client::{ResponseHead, parse_response_head};
use http1::{Decoded, Decoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::net::timed_out;
use crate::{Closed, Error, Url};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// An open connection to one host and port.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buf: BytesMut,
    host: String,
    port: u16,
    timeout: Duration,
}

impl Connection {
    /// Connects to the host and port of `url`.
    pub async fn open(url: &Url, timeout: Duration) -> Result<Connection, Error> {
        let stream = crate::net::connect(url.host(), url.port(), timeout).await?;
        Ok(Connection {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            host: url.host().to_string(),
            port: url.port(),
            timeout,
        })
    }

    /// Whether this connection goes where `url` points.
    pub fn serves(&self, url: &Url) -> bool {
        self.host == url.host() && self.port == url.port()
    }

    /// The address actually connected to.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
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
                        // Fine for a close-delimited body; anything else was cut short.
                        return decoder.eof().map_err(|_| Error::Closed(Closed::InBody));
                    }
                }
            }
        }
    }

    /// One read into the buffer; 0 means the server closed its side.
    async fn read_more(&mut self, waiting_for: &'static str) -> Result<usize, Error> {
        self.buf.reserve(READ_CHUNK);
        timeout(self.timeout, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| timed_out(waiting_for, self.timeout))?
            .map_err(Error::Io)
    }
}
