//! The body as bytes or as text.

use bytes::Bytes;
use server::Request;

use super::FromRequest;
use crate::rejection::Rejection;

/// Largest body the [`Bytes`] and [`String`] extractors read into memory (2 MiB). Past it the
/// request is answered `413`; read the [`server::Body`] yourself for larger ones.
pub const MAX_TEXT_BODY: usize = 2 * 1024 * 1024;

impl<S: Send + Sync> FromRequest<S> for Bytes {
    type Rejection = Rejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Rejection> {
        Ok(req
            .body
            .collect(crate::middleware::BodyLimit::of(
                &req.extensions,
                MAX_TEXT_BODY,
            ))
            .await?)
    }
}

/// The body as UTF-8 text; invalid UTF-8 is a `400`.
impl<S: Send + Sync> FromRequest<S> for String {
    type Rejection = Rejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Rejection> {
        let bytes = req
            .body
            .collect(crate::middleware::BodyLimit::of(
                &req.extensions,
                MAX_TEXT_BODY,
            ))
            .await?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Rejection::InvalidUtf8)
    }
}

/// The body as text with a caller-chosen limit: `Text<1024>` reads at most 1 KiB.
#[derive(Debug, Clone)]
pub struct Text<const LIMIT: usize>(pub String);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for Text<LIMIT> {
    type Rejection = Rejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Rejection> {
        let bytes = req.body.collect(LIMIT).await?;
        String::from_utf8(bytes.to_vec())
            .map(Text)
            .map_err(|_| Rejection::InvalidUtf8)
    }
}
