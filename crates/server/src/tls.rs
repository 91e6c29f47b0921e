//! The TLS transport: a rustls session driven directly over the TCP socket.
//!
//! rustls is sans-IO, like [`http1`]: it takes ciphertext in ([`ServerConnection::read_tls`])
//! and hands ciphertext out ([`ServerConnection::write_tls`]). Here those are fed by `recv` and
//! `send` on the socket, made directly as the plain TCP transport makes them, under the
//! socket's tokio readiness. Both halves of a connection share one session behind a mutex that
//! is never held across an `await`: the read half decrypts, the write half encrypts, and a
//! request body read on another task while a response is written just takes turns.
//!
//! The HTTP/1.1 driver reads and writes through the `async fn`s; the HTTP/2 driver, a poll
//! loop, reads with `try_read` and writes with the `poll_*` methods, over the same session and
//! the same system calls. tokio-rustls would give those too, but it owns the
//! socket and its own handshake: one session and one handshake path (with its timeout and its
//! permits) serve both protocols here, chosen by what ALPN settled.

use std::io::{self, Read as _, Write as _};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::BytesMut;
use rustix::net::{RecvFlags, SendFlags};
use rustls::{ServerConfig, ServerConnection};
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::TlsInfo;

/// How long a client has to complete the TLS handshake from the moment it is accepted; then
/// the connection is closed. Slow-handshake floods hold a socket no longer than this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most TLS handshakes in progress at once on one worker thread; a further connection waits
/// (within its [`HANDSHAKE_TIMEOUT`]) for one to finish. Handshakes are the expensive part of
/// TLS (a signature each), so a flood of them queues here instead of taking every core from
/// the connections already served.
pub const MAX_HANDSHAKES: usize = 256;

/// Most plaintext one `send` encrypts: rustls's outgoing buffer limit (64 KiB), so a large
/// body goes out 64 KiB of records at a time and the connection holds no more than that.
const SEND_CHUNK: usize = 64 * 1024;

/// Plaintext read per `read_buf` (one TLS record's worth).
const READ_CHUNK: usize = 16 * 1024;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737 section 6.2): a CA validating a name, offered
/// only when the certificate resolver answers it.
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// A TLS session over a TCP socket, shared by the connection's two halves.
pub(crate) struct Tls {
    tcp: TcpStream,
    session: Mutex<ServerConnection>,
}

/// The socket as `std::io::Read`/`Write` for rustls, with the system calls made directly.
struct Sock<'a>(&'a TcpStream);

impl io::Read for Sock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(rustix::net::recv(self.0, buf, RecvFlags::empty())?.0)
    }
}

impl io::Write for Sock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(rustix::net::send(self.0, buf, SendFlags::NOSIGNAL)?)
    }

    /// rustls hands over every queued record at once (a 64 KiB piece of a file is four of
    /// them): one `sendmsg` for all, where the default would make one `send` per record.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut control = rustix::net::SendAncillaryBuffer::default();
        Ok(rustix::net::sendmsg(
            self.0,
            bufs,
            &mut control,
            SendFlags::NOSIGNAL,
        )?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Writes what the session has to send, waiting for the socket as needed.
async fn flush_session(tcp: &TcpStream, session: &mut ServerConnection) -> io::Result<()> {
    while session.wants_write() {
        tcp.async_io(Interest::WRITABLE, || session.write_tls(&mut Sock(tcp)))
            .await?;
    }
    Ok(())
}

/// Runs the server side of the handshake on `tcp` (the caller bounds it in time).
pub(crate) async fn handshake(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<Tls> {
    let mut session = ServerConnection::new(config).map_err(tls_error)?;
    while session.is_handshaking() {
        flush_session(&tcp, &mut session).await?;
        if !session.wants_read() {
            break;
        }
        let n = tcp
            .async_io(Interest::READABLE, || session.read_tls(&mut Sock(&tcp)))
            .await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Err(e) = session.process_new_packets() {
            // The alert that says why goes out before the socket closes.
            let _ = flush_session(&tcp, &mut session).await;
            return Err(tls_error(e));
        }
    }
    flush_session(&tcp, &mut session).await?;
    if session.alpn_protocol() == Some(ACME_TLS_ALPN) {
        // RFC 8737 section 3: a TLS-ALPN-01 validation ends with the handshake; no
        // application data is exchanged on it.
        session.send_close_notify();
        let _ = flush_session(&tcp, &mut session).await;
        return Err(io::Error::other("answered a TLS-ALPN-01 validation"));
    }
    Ok(Tls {
        tcp,
        session: Mutex::new(session),
    })
}

impl Tls {
    fn lock(&self) -> MutexGuard<'_, ServerConnection> {
        // A panic while holding the lock leaves a session rustls can still report errors from.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the handshake settled.
    pub(crate) fn info(&self) -> TlsInfo {
        let s = self.lock();
        TlsInfo {
            version: match s.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "TLSv1.3",
            },
            cipher: s
                .negotiated_cipher_suite()
                .map_or("", |c| openssl_name(c.suite())),
            alpn: s.alpn_protocol().and_then(|p| match p {
                b"http/1.1" => Some("http/1.1"),
                b"h2" => Some("h2"),
                _ => None,
            }),
            sni: s.server_name().map(Box::from),
            client_subject: s
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| subject_dn(leaf)),
        }
    }

    /// Ready when decrypted bytes wait in the session or the socket is readable.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        if self.buffered() {
            return Ok(());
        }
        self.tcp.readable().await
    }

    /// [`Tls::readable`] as a poll.
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.buffered() {
            return Poll::Ready(Ok(()));
        }
        self.tcp.poll_read_ready(cx)
    }

    /// Whether a read can make progress without the socket: plaintext or the peer's close is
    /// already in the session (or an error to report).
    fn buffered(&self) -> bool {
        match self.lock().process_new_packets() {
            Ok(state) => state.plaintext_bytes_to_read() > 0 || state.peer_has_closed(),
            Err(_) => true,
        }
    }

    /// Plaintext into `scratch` without waiting, as [`crate::transport::ReadIo::try_read`]:
    /// `Ok(0)` at the end of the stream, `WouldBlock` when a record is still incomplete.
    pub(crate) fn try_read(&self, scratch: &mut [u8], got: &mut usize) -> io::Result<usize> {
        let mut s = self.lock();
        *got = 0;
        loop {
            match s.reader().read(scratch) {
                Ok(n) => {
                    *got = n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed the TCP connection without a close_notify: for HTTP, whose
                // messages delimit themselves, that is the end of the stream (as nginx treats it).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            self.tcp
                .try_io(Interest::READABLE, || s.read_tls(&mut Sock(&self.tcp)))?;
            if let Err(e) = s.process_new_packets() {
                self.try_flush(&mut s);
                return Err(tls_error(e));
            }
            // A key update or an alert to answer: sent now if the socket takes it, else with
            // the next response.
            self.try_flush(&mut s);
        }
    }

    /// Sends what the session has queued if the socket takes it now.
    fn try_flush(&self, s: &mut ServerConnection) {
        while s.wants_write() {
            let sent = self
                .tcp
                .try_io(Interest::WRITABLE, || s.write_tls(&mut Sock(&self.tcp)));
            if sent.is_err() {
                break;
            }
        }
    }

    /// Reads at least one byte of plaintext into `buf`; 0 at the end of the stream.
    pub(crate) async fn read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        loop {
            self.readable().await?;
            let start = buf.len();
            buf.resize(start + READ_CHUNK, 0);
            let mut got = 0;
            let result = self.try_read(&mut buf[start..], &mut got);
            buf.truncate(start + got);
            match result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    /// Encrypts up to [`SEND_CHUNK`] bytes of `data` and waits until the socket has taken
    /// every record; returns how much of `data` went.
    pub(crate) async fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.flush().await?;
        let n = self
            .lock()
            .writer()
            .write(&data[..data.len().min(SEND_CHUNK)])?;
        self.flush().await?;
        Ok(n)
    }

    /// Waits until the socket has taken everything the session queued.
    async fn flush(&self) -> io::Result<()> {
        while self.lock().wants_write() {
            self.tcp
                .async_io(Interest::WRITABLE, || {
                    let mut s = self.lock();
                    while s.wants_write() {
                        s.write_tls(&mut Sock(&self.tcp))?;
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }

    /// close_notify, then FIN.
    pub(crate) async fn shutdown(&self) {
        self.lock().send_close_notify();
        if self.flush().await.is_ok() {
            let _ = rustix::net::shutdown(&self.tcp, rustix::net::Shutdown::Write);
        }
    }

    /// close_notify if the socket takes it now; the FIN follows when both halves are dropped.
    pub(crate) fn close_notify(&self) {
        let mut s = self.lock();
        s.send_close_notify();
        self.try_flush(&mut s);
    }
}

/// The poll-based side, for the HTTP/2 driver's outbox.
impl Tls {
    /// Whether ALPN settled on HTTP/2.
    pub(crate) fn is_h2(&self) -> bool {
        self.lock().alpn_protocol() == Some(b"h2")
    }

    /// Encrypts what of `bufs` the session's outgoing buffer takes (one record for several
    /// slices: a frame's head and its payload), first sending what was queued when the buffer
    /// is full. The records reach the socket at [`Tls::poll_flush`], which the HTTP/2 driver
    /// calls once it has written what a pass produced: one `send` for many frames.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        loop {
            let n = self.lock().writer().write_vectored(bufs)?;
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            ready!(self.poll_flush(cx))?;
        }
    }

    /// Ready once the socket has taken every record the session queued.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut s = self.lock();
            if !s.wants_write() {
                return Poll::Ready(Ok(()));
            }
            let sent = self
                .tcp
                .try_io(Interest::WRITABLE, || s.write_tls(&mut Sock(&self.tcp)));
            drop(s);
            match sent {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.tcp.poll_write_ready(cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// close_notify (once: rustls sends it only the first time), its records, then FIN.
    pub(crate) fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.lock().send_close_notify();
        ready!(self.poll_flush(cx))?;
        let _ = rustix::net::shutdown(&self.tcp, rustix::net::Shutdown::Write);
        Poll::Ready(Ok(()))
    }
}

/// The subject of a DER certificate in RFC 2253 form, as Apache's `SSL_CLIENT_S_DN` gives it:
/// the most specific part first, `,` between parts, special characters escaped.
fn subject_dn(der: &[u8]) -> Option<Box<str>> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let registry = x509_parser::objects::oid_registry();
    let mut parts = Vec::new();
    for rdn in cert.subject().iter_rdn() {
        let mut attrs = Vec::new();
        for attr in rdn.iter() {
            let name = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
                .map_or_else(|_| attr.attr_type().to_id_string(), str::to_string);
            let value = attr.as_str().ok()?;
            attrs.push(format!("{name}={}", escape_dn(value)));
        }
        parts.push(attrs.join("+"));
    }
    parts.reverse();
    Some(parts.join(",").into())
}

/// RFC 2253 2.4: `,`, `+`, `"`, `\`, `<`, `>`, `;` are escaped, and so are a leading `#` or
/// space and a trailing space.
fn escape_dn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A cipher suite by the name OpenSSL gives it, which is what Apache's `SSL_CIPHER` holds.
/// TLS 1.3 suites have one name everywhere; rustls's TLS 1.2 suites are these six.
fn openssl_name(suite: rustls::CipherSuite) -> &'static str {
    use rustls::CipherSuite as C;
    match suite {
        C::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        C::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        C::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        other => other.as_str().unwrap_or("unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_values_escape_what_rfc_2253_reserves() {
        assert_eq!(escape_dn("alice"), "alice");
        assert_eq!(escape_dn("Doe, John+1"), "Doe\\, John\\+1");
        assert_eq!(escape_dn("#x "), "\\#x\\ ");
    }
}
