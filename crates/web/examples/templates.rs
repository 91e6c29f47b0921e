//! HTML pages from askama templates: a layout the pages extend, loops and conditions, and
//! escaping on by default (search for `<script>` and it is shown, not run).
//!
//! ```text
//! cargo run -p sockserve-web --example templates [PORT]
//! open http://127.0.0.1:3000/
//! ```
//!
//! The templates are `crates/web/templates/base.html` and `books.html`, compiled into the
//! program: a mistake in them fails the build, not a request.

use std::net::SocketAddr;

use server::{HttpConfig, RuntimeConfig, Server};
use web::askama::Template;
use web::middleware::ServiceExt;
use web::routing::get;
use web::{Page, Query, Router, Service};

/// One book of the catalogue.
pub struct Book {
    pub title: &'static str,
    pub author: &'static str,
    pub year: u16,
}

/// The catalogue.
pub const BOOKS: &[Book] = &[
    Book {
        title: "The Rust Programming Language",
        author: "Steve Klabnik & Carol Nichols",
        year: 2018,
    },
    Book {
        title: "TCP/IP Illustrated",
        author: "W. Richard Stevens",
        year: 1994,
    },
    Book {
        title: "HTTP: The Definitive Guide",
        author: "David Gourley & Brian Totty",
        year: 2002,
    },
];

#[derive(Template)]
#[template(path = "books.html", askama = web::askama)]
pub struct Books<'a> {
    pub heading: String,
    pub query: String,
    pub books: Vec<&'a Book>,
}

#[derive(serde::Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

async fn index() -> Page<Books<'static>> {
    Page(Books {
        heading: "Books".into(),
        query: String::new(),
        books: BOOKS.iter().collect(),
    })
}

async fn search(Query(s): Query<Search>) -> Page<Books<'static>> {
    let needle = s.q.to_lowercase();
    Page(Books {
        heading: format!("Books matching “{}”", s.q),
        books: BOOKS
            .iter()
            .filter(|b| {
                b.title.to_lowercase().contains(&needle)
                    || b.author.to_lowercase().contains(&needle)
            })
            .collect(),
        query: s.q,
    })
}

/// The pages.
pub fn app() -> impl Service {
    Router::new()
        .route("/", get(index))
        .route("/search", get(search))
        .compressed()
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
