//! The query string, deserialized.

use serde::de::DeserializeOwned;

use super::{FromRequestParts, Parts};
use crate::rejection::Rejection;

/// The query string deserialized into `T` (`application/x-www-form-urlencoded` rules); an
/// absent query is the empty one, so `Option` fields make parameters optional. A query that does
/// not fit `T`, or whose escapes do not decode to UTF-8, is a `400`.
///
/// ```
/// use web::{Query, Router, routing::get};
///
/// #[derive(serde::Deserialize)]
/// struct Page { page: Option<u32> }
///
/// async fn list(Query(p): Query<Page>) -> String {
///     format!("page {}", p.page.unwrap_or(1))
/// }
///
/// let app: Router = Router::new().route("/list", get(list));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        let query = parts.head.target.query().unwrap_or("");
        if !super::form::decodes_to_utf8(query.as_bytes()) {
            return Err(Rejection::InvalidQuery(
                "a name or value is not valid UTF-8".into(),
            ));
        }
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|e| Rejection::InvalidQuery(e.to_string()))
    }
}
