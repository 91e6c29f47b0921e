//! The guestbook's storage, [`storage::guestbook`]: SQLite (a file) or PostgreSQL (a URL)
//! behind one async interface, and how its failures and its readiness answer over HTTP.

use web::{IntoResponse, Response, State, StatusCode, header};

pub use storage::guestbook::{Event, Message, Store, Subscription};
pub use storage::{DbTarget, ErrorKind, StoreError};

use crate::Site;

/// What `Retry-After` asks of a client when the database is unavailable, in seconds: about
/// how long a database restart or a fail-over takes.
pub const RETRY_AFTER: &str = "2";

/// The answer to a failed database call: `503` with `Retry-After` when the database cannot be
/// reached now (it may be back soon, and a load balancer may try another instance), `500` for
/// anything else. The cause goes to the log only.
pub fn failure(e: StoreError) -> Response {
    let cause = storage::chain(&e);
    if e.is_unavailable() {
        tracing::warn!(error = %cause, "database unavailable");
        Response::error(StatusCode::SERVICE_UNAVAILABLE).header(header::RETRY_AFTER, RETRY_AFTER)
    } else {
        tracing::error!(error = %cause, "request failed");
        Response::error(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// `GET /readyz`: `200` when the database answers, `503` when it does not, for load balancers'
/// health checks (HAProxy's `option httpchk`, Kubernetes' readiness probes). Never cached.
pub async fn readyz(State(site): State<Site>) -> Response {
    let (status, body) = match site.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %storage::chain(&e), "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    };
    Response::text(status, body)
        .header(header::CACHE_CONTROL, "no-store")
        .into_response()
}
