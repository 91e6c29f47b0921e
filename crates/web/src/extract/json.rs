//! JSON bodies.

use serde::de::DeserializeOwned;
use server::Request;

use super::{FromRequest, media_type};
use crate::rejection::Rejection;
pub use crate::response::Json;

/// Largest JSON body read (1 MiB); larger is `413`.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Reads an `application/json` (or `+json`) body into `T`: `415` for another content type,
/// `400` for broken JSON, `422` for JSON of the wrong shape.
impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Rejection> {
        let is_json = media_type(req.headers()).is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
        if !is_json {
            return Err(Rejection::UnsupportedMediaType {
                expected: "application/json",
            });
        }
        let bytes = req
            .body
            .collect(crate::middleware::BodyLimit::of(
                &req.extensions,
                MAX_JSON_BODY,
            ))
            .await?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            if e.is_data() {
                Rejection::JsonData(e.to_string())
            } else {
                Rejection::JsonSyntax(e.to_string())
            }
        })
    }
}
