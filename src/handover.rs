//! Listening sockets that pass between processes: systemd's socket activation (`LISTEN_FDS`)
//! and the binary upgrade, where a running sockserve hands its sockets to a new process of its
//! (replaced) binary, as nginx does on `USR2`.
//!
//! The upgrade: the old process makes a unix socket pair, starts the new binary with the same
//! arguments, one end of the pair as its standard input and [`HANDOVER_ENV`] set, and sends
//! every listening socket (one per worker thread per address) over it with `SCM_RIGHTS`. The
//! new process binds nothing that it was given: it serves on the same sockets (the same kernel
//! queues, so a connection waiting in a backlog is never reset), and once it listens writes one
//! byte back. Only then does the old process stop accepting and drain. If the new process
//! fails before that, the old one goes on serving as if nothing happened.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use server::Listeners;

/// Set (to `1`) in the environment of the process an upgrade starts: its standard input is the
/// socket the listening sockets arrive on.
pub const HANDOVER_ENV: &str = "SOCKSERVE_HANDOVER";
/// How long the old process waits for the new one to say it listens before giving up on the
/// upgrade (and killing it): starting takes well under a second, opening a large database a
/// few.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Most sockets one upgrade passes: the kernel's `SCM_MAX_FD` per message.
const MAX_FDS: usize = 253;
/// The byte the new process writes once it listens.
const READY: u8 = b'R';

/// The listening sockets this process was given: by the process it replaces (an upgrade), or
/// by systemd (`LISTEN_FDS`/`LISTEN_PID`, through the listenfd crate). Empty when neither.
pub fn inherited_sockets() -> io::Result<Vec<TcpListener>> {
    if std::env::var_os(HANDOVER_ENV).is_some_and(|v| v == "1") {
        return receive();
    }
    let mut fds = listenfd::ListenFd::from_env();
    let mut sockets = Vec::new();
    for i in 0..fds.len() {
        if let Some(s) = fds.take_tcp_listener(i)? {
            sockets.push(s);
        }
    }
    if !sockets.is_empty() {
        tracing::info!(count = sockets.len(), "serving on sockets from systemd");
    }
    Ok(sockets)
}

/// Whether this process was started by an upgrade (and must say when it listens).
pub fn is_upgrade() -> bool {
    std::env::var_os(HANDOVER_ENV).is_some_and(|v| v == "1")
}

/// In the new process: the sockets the old one sends on standard input.
fn receive() -> io::Result<Vec<TcpListener>> {
    let stdin = io::stdin();
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    let got = rustix::net::recvmsg(
        stdin.as_fd(),
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    if got.bytes == 0 {
        return Err(io::Error::other("the old process sent nothing"));
    }
    let mut sockets = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            sockets.extend(fds.map(TcpListener::from));
        }
    }
    tracing::info!(count = sockets.len(), "took over the listening sockets");
    Ok(sockets)
}

/// In the new process, once it listens: tells the old one it may drain.
pub fn announce_ready() {
    let stdin = io::stdin();
    if let Err(e) = rustix::net::send(stdin.as_fd(), &[READY], SendFlags::NOSIGNAL) {
        tracing::warn!(error = %e, "cannot tell the old process that this one listens");
    }
}

/// In the old process: starts the new binary, hands it every listening socket and waits until
/// it listens. `Ok` means the old process should now drain and exit; on `Err` nothing changed.
pub fn upgrade(listeners: &Listeners) -> io::Result<()> {
    let sockets = listeners.sockets();
    if sockets.is_empty() || sockets.len() > MAX_FDS {
        return Err(io::Error::other(format!(
            "{} listening sockets to pass (1 to {MAX_FDS} can be)",
            sockets.len()
        )));
    }
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    let mut child = spawn_new_binary(theirs)?;
    match hand_over(&ours, &sockets) {
        Ok(()) => {
            tracing::info!(
                pid = child.id(),
                "the new process listens; draining this one"
            );
            // Not waited for: it outlives this process and is adopted by init (or the
            // service manager's subreaper).
            Ok(())
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// The binary this process runs (its path now: the file replaced by the upgrade), with the
/// same arguments, `stdin` as the handover socket.
fn spawn_new_binary(stdin: OwnedFd) -> io::Result<Child> {
    let exe = std::env::current_exe()?;
    // After the binary was replaced by a rename, /proc/self/exe names the old file
    // "(deleted)"; the new one is at the plain path.
    let exe = exe
        .to_str()
        .and_then(|s| s.strip_suffix(" (deleted)"))
        .map_or(exe.clone(), std::path::PathBuf::from);
    Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(HANDOVER_ENV, "1")
        .stdin(Stdio::from(stdin))
        .spawn()
}

/// Sends the sockets and waits for the new process's ready byte.
fn hand_over(ours: &OwnedFd, sockets: &[TcpListener]) -> io::Result<()> {
    let fds: Vec<_> = sockets.iter().map(AsFd::as_fd).collect();
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("the sockets do not fit in one message"));
    }
    rustix::net::sendmsg(
        ours,
        &[IoSlice::new(b"S")],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    rustix::net::sockopt::set_socket_timeout(
        ours,
        rustix::net::sockopt::Timeout::Recv,
        Some(READY_TIMEOUT),
    )?;
    let mut byte = [0u8; 1];
    match rustix::net::recv(ours, &mut byte, RecvFlags::empty()) {
        Ok((1, _)) if byte[0] == READY => Ok(()),
        Ok(_) => Err(io::Error::other(
            "the new process exited before it listened",
        )),
        Err(rustix::io::Errno::AGAIN) => Err(io::Error::other(format!(
            "the new process did not listen within {} s",
            READY_TIMEOUT.as_secs()
        ))),
        Err(e) => Err(e.into()),
    }
}
