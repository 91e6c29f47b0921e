//! What the server calls for each request, and for each plain TCP connection.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::{Request, Response};

/// Answers HTTP requests. The server calls it once per request and never for malformed ones,
/// which it answers itself.
pub trait Service: Send + Sync + 'static {
    /// Produces the response to `req`.
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send;
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
    /// Serves one connection until done; the server closes the socket afterwards.
    fn serve(&self, stream: TcpStream, peer: SocketAddr) -> impl Future<Output = ()> + Send;
}
