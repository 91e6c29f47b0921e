//! The ceiling: how many keep-alive requests per second this machine's loopback and load
//! generator allow at all.
//!
//! It answers every request with the same bytes (a fixed head and a body read once at start),
//! with no parsing beyond finding where each head ends and no file system work: it is not a web
//! server, it is the reference the harness measures the servers against, so that a ratio capped
//! by the client, not by the server, shows as such. One thread per `--threads`, each with its
//! own listening socket (`SO_REUSEPORT`) and its own `epoll` loop, as the servers measured run.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, bind, listen, setsockopt, socket,
    sockopt,
};

#[derive(Parser, Debug)]
#[command(about = "Answers every request with the same bytes: the load generator's ceiling")]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// Threads, each with its own listening socket and event loop.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The file whose bytes are the body of every response.
    #[arg(long)]
    body: PathBuf,
}

/// The `epoll` key of the listening socket; connections count up from 1.
const LISTENER: u64 = 0;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    let body = std::fs::read(&args.body)?;
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nServer: ceiling\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\
         Last-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\nETag: \"0123456789abcdef\"\r\n\
         Accept-Ranges: bytes\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let mut threads = Vec::new();
    for _ in 0..args.threads.max(1) {
        let listener = listen_on(args.port)?;
        let response = response.clone();
        threads.push(std::thread::spawn(move || serve(listener, &response)));
    }
    for t in threads {
        t.join()
            .map_err(|_| io::Error::other("a thread panicked"))??;
    }
    Ok(())
}

/// A non-blocking listening socket on 127.0.0.1:`port` that other threads may share.
fn listen_on(port: u16) -> io::Result<TcpListener> {
    let fd: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::ReusePort, &true)?;
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::new(127, 0, 0, 1, port),
    )?;
    listen(&fd, Backlog::MAXCONN)?;
    Ok(TcpListener::from(fd))
}

/// One connection: its socket and the tail of a head not yet complete.
struct Conn {
    stream: TcpStream,
    /// What came after the last complete head: the start of the next one.
    tail: Vec<u8>,
}

/// The event loop of one thread.
fn serve(listener: TcpListener, response: &[u8]) -> io::Result<()> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(&listener, EpollEvent::new(EpollFlags::EPOLLIN, LISTENER))?;
    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut next = LISTENER + 1;
    let mut events = vec![EpollEvent::empty(); 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    loop {
        let n = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for ev in &events[..n] {
            let key = ev.data();
            if key == LISTENER {
                while let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    epoll.add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, next))?;
                    let tail = Vec::new();
                    conns.insert(next, Conn { stream, tail });
                    next += 1;
                }
                continue;
            }
            let Some(conn) = conns.get_mut(&key) else {
                continue;
            };
            if !answer(conn, &mut buf, &mut out, response)
                && let Some(conn) = conns.remove(&key)
            {
                let _ = epoll.delete(&conn.stream);
            }
        }
    }
}

/// Reads what arrived and answers every complete head in it. `false` once the connection is
/// finished (closed by the client, or an error).
fn answer(conn: &mut Conn, buf: &mut [u8], out: &mut Vec<u8>, response: &[u8]) -> bool {
    let n = match conn.stream.read(buf) {
        Ok(0) => return false,
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    };
    let heads = count_heads(&mut conn.tail, &buf[..n]);
    out.clear();
    for _ in 0..heads {
        out.extend_from_slice(response);
    }
    // Responses this small fit the socket's buffer; a client that stops reading is dropped.
    conn.stream.write_all(out).is_ok()
}

/// How many heads end in `data`, given the `tail` of what came before; keeps the new tail.
fn count_heads(tail: &mut Vec<u8>, data: &[u8]) -> usize {
    tail.extend_from_slice(data);
    let mut count = 0;
    let mut start = 0;
    while let Some(i) = tail[start..].windows(4).position(|w| w == b"\r\n\r\n") {
        count += 1;
        start += i + 4;
    }
    tail.drain(..start);
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_counted_across_reads() {
        let mut tail = Vec::new();
        assert_eq!(
            count_heads(&mut tail, b"GET / HTTP/1.1\r\nHost: a\r\n\r"),
            0
        );
        assert_eq!(count_heads(&mut tail, b"\nGET / HTTP/1.1\r\n\r\nGET"), 2);
        assert_eq!(count_heads(&mut tail, b" / HTTP/1.1\r\n\r\n"), 1);
        assert!(tail.is_empty());
    }
}
