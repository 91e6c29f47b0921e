//! What the server calls for each request, and for each plain TCP connection.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::{Request, Response, Shutdown};

/// Answers HTTP requests. The server calls it once per request and never for malformed ones,
/// which it answers itself.
pub trait Service: Send + Sync + 'static {
    /// Produces the response to `req`.
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send;

    /// The answer to `OPTIONS *`, which asks about the server as a whole, not a resource
    /// (RFC 9110 9.3.7). The connection routes it here rather than to [`Service::call`]: `*` is
    /// no path, so no router or file lookup could match it, yet every service must answer it.
    /// It is a hook rather than a fixed answer of the connection's because only the service
    /// knows which methods it serves; the default names those every service here answers.
    fn options_asterisk(&self) -> Response {
        Response::new(http1::StatusCode::OK).header(http1::header::ALLOW, "GET, HEAD, OPTIONS")
    }
}

impl<F, Fut> Service for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send,
{
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        self(req)
    }
}

/// Handles a plain TCP connection (no HTTP), on the same runtime and accept loop as HTTP.
pub trait TcpService: Send + Sync + 'static {
    /// Serves one connection until done; the server closes the socket afterwards. A service
    /// that waits on its client watches `shutdown` and ends at a clean point once it fires
    /// (between messages, say), as an idle HTTP connection does; otherwise one silent client
    /// would hold the whole process for the grace period.
    fn serve(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        shutdown: Shutdown,
    ) -> impl Future<Output = ()> + Send;
}
