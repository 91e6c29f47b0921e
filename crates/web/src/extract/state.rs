//! Shared state given to [`crate::Router::with_state`].

use super::{FromRequestParts, Parts};

/// The router's state (a clone of it: keep the state cheap to clone, an `Arc` inside).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use web::{Router, State, routing::get};
///
/// #[derive(Clone, Default)]
/// struct Hits(Arc<AtomicU64>);
///
/// async fn count(State(hits): State<Hits>) -> String {
///     format!("{}", hits.0.fetch_add(1, Ordering::Relaxed) + 1)
/// }
///
/// let app: Router = Router::new().route("/", get(count)).with_state(Hits::default());
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<S>(pub S);

impl<S: Clone + Send + Sync> FromRequestParts<S> for State<S> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(State(state.clone()))
    }
}
