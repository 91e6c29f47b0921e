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
///
/// A handler may also take a part of the state, any `T` that implements [`FromRef`] for the
/// router's state (as in axum), so a handler or a nested router need not know the whole:
///
/// ```
/// use web::{FromRef, Router, State, routing::get};
///
/// #[derive(Clone)]
/// struct Site { name: &'static str, db: Db }
/// #[derive(Clone)]
/// struct Db;
///
/// impl FromRef<Site> for Db {
///     fn from_ref(site: &Site) -> Db { site.db.clone() }
/// }
///
/// async fn items(State(_db): State<Db>) -> &'static str { "items" }
///
/// let app: Router = Router::new()
///     .route("/items", get(items))
///     .with_state(Site { name: "demo", db: Db });
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<S>(pub S);

/// A part of the state `T` that can be taken from it: `T: FromRef<T>` holds for every `Clone`
/// state; implement it for the parts of yours.
pub trait FromRef<T> {
    /// Takes the part out of the whole (a clone).
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> Self {
        input.clone()
    }
}

impl<S: Send + Sync, T: FromRef<S>> FromRequestParts<S> for State<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(State(T::from_ref(state)))
    }
}
