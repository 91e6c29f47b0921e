//! Hello, world with the sockserve web framework.
//!
//! ```text
//! cargo run -p sockserve-web --example hello [PORT]
//! curl http://127.0.0.1:3000/
//! curl http://127.0.0.1:3000/hello/Ada
//! ```

use std::net::SocketAddr;

use server::{HttpConfig, RuntimeConfig, Server};
use web::extract::Path;
use web::middleware::ServiceExt;
use web::routing::get;
use web::{Html, Router};

async fn hello(Path(name): Path<String>) -> Html<String> {
    Html(format!("<h1>Hello, {}!</h1>\n", web::html::escape(&name)))
}

/// The application.
pub fn app() -> impl web::Service {
    Router::new()
        .route("/", get(|| async { "Hello, world!\n" }))
        .route("/hello/{name}", get(hello))
        .catch_panics()
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);

    let mut server = Server::new(RuntimeConfig::default());
    let addr = server.http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        app(),
        HttpConfig::default(),
    )?;
    println!("Listening on http://{addr}/");
    server.run()
}
