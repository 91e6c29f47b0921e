//! Why an extractor refused a request, and the one place where that becomes a status.
//!
//! Every rejection is the client's mistake, so none is logged as a server error. The response
//! is plain text: the status line and one sentence saying what was wrong.

use std::fmt;

use http1::StatusCode;
use server::{BodyError, Response};

use crate::response::IntoResponse;

/// A request an extractor could not turn into its type.
#[derive(Debug)]
pub enum Rejection {
    /// A path parameter is not valid percent-encoded UTF-8 or does not parse as its type: `400`.
    InvalidPath(String),
    /// The query string does not deserialize into its type: `400`.
    InvalidQuery(String),
    /// A required header is absent or not visible ASCII: `400`.
    MissingHeader(&'static str),
    /// The body could not be read (too large, timed out, broken framing): its own status.
    Body(BodyError),
    /// The body is not valid UTF-8 where text was required: `400`.
    InvalidUtf8,
    /// The body has the wrong `Content-Type` for the extractor: `415`.
    UnsupportedMediaType {
        /// What the extractor accepts.
        expected: &'static str,
    },
    /// The body is not syntactically valid JSON: `400`.
    JsonSyntax(String),
    /// The body is valid JSON of the wrong shape: `422`.
    JsonData(String),
    /// A URL-encoded form does not deserialize into its type: `422`.
    InvalidForm(String),
    /// A `multipart/form-data` body is malformed: `400`.
    Multipart(String),
    /// A multipart field or the whole multipart body is past its size limit: `413`.
    MultipartTooLarge(String),
    /// A file upload could not be stored on the server's disk: `500`, details in the log only.
    Storage(std::io::Error),
    /// What a handler asked for was never attached to the request (an [`crate::Extension`]
    /// no layer added, a session without the session layer): a mistake in the route table,
    /// `500`, named in the log only.
    MissingExtension(&'static str),
    /// The request's CSRF token is missing or wrong, or it came from another site: `403`.
    Csrf(&'static str),
}

impl Rejection {
    /// The status this rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::InvalidPath(_)
            | Rejection::InvalidQuery(_)
            | Rejection::MissingHeader(_)
            | Rejection::InvalidUtf8
            | Rejection::JsonSyntax(_)
            | Rejection::Multipart(_) => StatusCode::BAD_REQUEST,
            Rejection::Body(e) => e.status(),
            Rejection::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::JsonData(_) | Rejection::InvalidForm(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Rejection::MultipartTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Storage(_) | Rejection::MissingExtension(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Rejection::Csrf(_) => StatusCode::FORBIDDEN,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::InvalidPath(m) => write!(f, "invalid path parameter: {m}"),
            Rejection::InvalidQuery(m) => write!(f, "invalid query string: {m}"),
            Rejection::MissingHeader(name) => write!(f, "missing or unreadable header {name}"),
            Rejection::Body(e) => write!(f, "cannot read the request body: {e}"),
            Rejection::InvalidUtf8 => f.write_str("the request body is not valid UTF-8"),
            Rejection::UnsupportedMediaType { expected } => {
                write!(f, "expected a request body with Content-Type: {expected}")
            }
            Rejection::JsonSyntax(m) => write!(f, "the body is not valid JSON: {m}"),
            Rejection::JsonData(m) => {
                write!(f, "the JSON body does not have the expected shape: {m}")
            }
            Rejection::InvalidForm(m) => {
                write!(f, "the form does not have the expected fields: {m}")
            }
            Rejection::Multipart(m) => write!(f, "malformed multipart body: {m}"),
            Rejection::MultipartTooLarge(m) => write!(f, "upload too large: {m}"),
            Rejection::Storage(_) => f.write_str("cannot store the upload"),
            Rejection::MissingExtension(what) => write!(f, "no {what} attached to the request"),
            Rejection::Csrf(why) => write!(f, "cross-site request refused: {why}"),
        }
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Rejection::Body(e) => Some(e),
            Rejection::Storage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BodyError> for Rejection {
    fn from(e: BodyError) -> Self {
        Rejection::Body(e)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Rejection::Storage(e) => {
                tracing::error!(error = %e, "cannot store an upload");
                return Response::error(status);
            }
            Rejection::MissingExtension(what) => {
                tracing::error!(missing = what, "a handler asked for what no layer attached");
                return Response::error(status);
            }
            _ => {}
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        Response::text(status, format!("{} {reason}\n{self}\n", status.as_u16()))
    }
}

impl Rejection {
    /// The name of the field, parameter or header at fault, when the message names one (serde
    /// quotes them in backticks: "missing field `title`").
    pub fn field(&self) -> Option<String> {
        match self {
            Rejection::MissingHeader(name) => Some((*name).to_string()),
            Rejection::InvalidPath(m)
            | Rejection::InvalidQuery(m)
            | Rejection::JsonData(m)
            | Rejection::InvalidForm(m) => {
                let (_, rest) = m.split_once('`')?;
                let (name, _) = rest.split_once('`')?;
                Some(name.to_string())
            }
            _ => None,
        }
    }

    /// The rejection as a JSON response: `{"error": "...", "status": 422, "field": "title"}`
    /// (`field` only when known). Server-side failures stay a plain page with nothing inside.
    pub fn into_json_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            return self.into_response();
        }
        let mut body = serde_json::json!({ "error": self.to_string(), "status": status.as_u16() });
        if let Some(field) = self.field() {
            body["field"] = serde_json::Value::String(field);
        }
        let mut res = crate::Json(body).into_response();
        res.status = status;
        res
    }
}

/// Answers every [`Rejection`] of the handlers it wraps with a function of yours instead of
/// the plain-text page: for an API whose clients expect JSON errors. It is a layer:
///
/// ```
/// use web::rejection::RejectionHandler;
/// use web::{Json, Router, routing::post};
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct Item { title: String }
///
/// let api: Router = Router::new()
///     .route("/items", post(|Json(item): Json<Item>| async move { Json(item) }))
///     .layer(RejectionHandler::json());
/// # let _ = api;
/// ```
#[derive(Clone)]
pub struct RejectionHandler(std::sync::Arc<dyn Fn(Rejection) -> Response + Send + Sync>);

impl fmt::Debug for RejectionHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RejectionHandler")
    }
}

impl RejectionHandler {
    /// Answers rejections with `f`.
    pub fn new(f: impl Fn(Rejection) -> Response + Send + Sync + 'static) -> RejectionHandler {
        RejectionHandler(std::sync::Arc::new(f))
    }

    /// Answers rejections with [`Rejection::into_json_response`].
    pub fn json() -> RejectionHandler {
        RejectionHandler::new(Rejection::into_json_response)
    }

    /// The answer to `rejection`.
    pub fn respond(&self, rejection: Rejection) -> Response {
        (self.0)(rejection)
    }
}

impl<S: server::Service> crate::middleware::Layer<S> for RejectionHandler {
    type Service = crate::middleware::AddExtension<S, RejectionHandler>;

    fn layer(&self, inner: S) -> Self::Service {
        crate::middleware::Layer::layer(&crate::Extension(self.clone()), inner)
    }
}

/// The response to an extractor's rejection: the [`RejectionHandler`]'s answer when one is
/// installed and the rejection is a [`Rejection`], its own otherwise.
pub(crate) fn respond<R: IntoResponse + 'static>(
    rejection: R,
    handler: Option<&RejectionHandler>,
) -> Response {
    let Some(handler) = handler else {
        return rejection.into_response();
    };
    let mut slot = Some(rejection);
    let any: &mut dyn std::any::Any = &mut slot;
    if let Some(ours) = any
        .downcast_mut::<Option<Rejection>>()
        .and_then(Option::take)
    {
        return handler.respond(ours);
    }
    match slot {
        Some(other) => other.into_response(),
        None => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_one_place() {
        assert_eq!(
            Rejection::JsonSyntax("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Rejection::JsonData("x".into()).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            Rejection::Body(BodyError::TooLarge).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let e = Rejection::UnsupportedMediaType {
            expected: "application/json",
        };
        assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = Rejection::Storage(std::io::Error::other("disk full")).into_response();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!format!("{:?}", r.body).contains("disk"));
    }
}
