//! The HTTP/1.1 connection driver.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::{HttpConfig, Service, Shutdown};

pub(crate) async fn serve_connection<S: Service>(
    _stream: TcpStream,
    _peer: SocketAddr,
    _local: SocketAddr,
    _service: &S,
    _config: &HttpConfig,
    _shutdown: Shutdown,
) {
}
