//! The compression-burst workload: [`CLIENTS`] clients ask at once for the same large text file,
//! compressed, from a freshly started server; the measure is the most resident memory the server
//! held at any moment (`VmHWM`), which a server that compresses the file once per request
//! multiplies by the number of clients.

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use crate::error::{BenchError, Result};
use crate::httpc::Conn;
use crate::procfs;
use crate::servers::Running;

/// Clients asking at once.
pub const CLIENTS: usize = 40;
/// How long a client waits for its answer: a server that compresses the file once per client
/// takes tens of seconds under the burst, and that must be measured, not timed out.
const PATIENCE: Duration = Duration::from_secs(300);

/// The peak resident bytes of `server`'s process group after [`CLIENTS`] concurrent requests for
/// `path` with `headers` (`"Name: value"`); every answer must be a compressed `200`.
pub fn measure(server: &Running, path: &str, headers: &[&str]) -> Result<u64> {
    let fields: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect();
    let start = Barrier::new(CLIENTS);
    thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (start, fields) = (&start, &fields);
                s.spawn(move || fetch(server.port, path, fields, start, i))
            })
            .collect();
        clients.into_iter().try_for_each(|c| {
            c.join()
                .unwrap_or_else(|_| Err(BenchError::new("a burst client panicked")))
        })
    })?;
    procfs::group_peak_rss(server.pgid())
}

fn fetch(port: u16, path: &str, fields: &[(&str, &str)], start: &Barrier, i: usize) -> Result<()> {
    let mut conn = Conn::open_with(port, PATIENCE)?;
    start.wait();
    let reply = conn
        .request("GET", path, fields, b"")
        .map_err(|e| e.context(format!("burst client {i}")))?;
    let coding = reply.header("content-encoding").unwrap_or("identity");
    if reply.status != 200 || coding == "identity" || reply.body.is_empty() {
        return Err(BenchError::new(format!(
            "burst client {i}: status {}, content-encoding {coding}, {} bytes",
            reply.status,
            reply.body.len()
        )));
    }
    Ok(())
}
