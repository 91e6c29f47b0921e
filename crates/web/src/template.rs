//! Templates: askama, re-exported as [`crate::askama`], and [`Page`], which answers with one.
//!
//! askama, because it compiles each template into Rust at build time: a syntax error, a
//! misspelt field or a missing template fails `cargo build` instead of a request, escaping for
//! HTML is on by default for `.html` files, and rendering costs what hand-written code does.
//!
//! Templates live in the crate's `templates/` directory:
//!
//! ```
//! use web::askama::Template;
//! use web::{Page, Router, routing::get};
//!
//! #[derive(Template)]
//! #[template(source = "<p>Hello, {{ name }}!</p>", ext = "html", askama = web::askama)]
//! struct Hello { name: String }
//!
//! async fn hello() -> Page<Hello> {
//!     Page(Hello { name: "<world>".into() }) // sent as `&lt;world&gt;`
//! }
//!
//! let app: Router = Router::new().route("/", get(hello));
//! # assert_eq!(Hello { name: "<b>".into() }.render().unwrap(), "<p>Hello, &#60;b&#62;!</p>");
//! # let _ = app;
//! ```
//!
//! (`askama = web::askama` lets a crate use the derive without depending on askama itself.)

use http1::StatusCode;
use server::Response;

use crate::response::{InternalError, IntoResponse};

/// A rendered template as an HTML page (`text/html; charset=utf-8`). Rendering fails only if a
/// value's `Display` does: then a `500`, with the error in the log.
#[derive(Debug, Clone)]
pub struct Page<T>(pub T);

impl<T: askama::Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Response::html(StatusCode::OK, html),
            Err(e) => InternalError::new(e).into_response(),
        }
    }
}
