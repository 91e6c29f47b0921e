//! What the example tests share: an example's app served by the real server on 127.0.0.1:0.

use std::net::SocketAddr;
use std::time::Duration;

use server::{HttpConfig, RuntimeConfig, Server, Service, ShutdownHandle};

/// A server running `app` on a free port; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `app` on one worker thread; `grace` is how long a drop waits for open connections.
pub fn serve(app: impl Service, grace: Duration) -> Running {
    let mut server = Server::new(RuntimeConfig {
        threads: 1,
        grace,
        ..RuntimeConfig::default()
    });
    let addr = server
        .http(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            app,
            HttpConfig::default(),
        )
        .expect("bind");
    let shutdown = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run().expect("server runs"));
    Running {
        addr,
        shutdown,
        thread: Some(thread),
    }
}
