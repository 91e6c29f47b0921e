//! `/time`: the server's date and time, as a page or as JSON.

use chrono::{Local, SecondsFormat, Utc};
use web::askama::Template;
use web::{HeaderValue, IntoResponse, Json, Page, Request, Response, StatusCode, header};

use crate::negotiate::wants_json;

/// The current time in the three forms `/time` shows.
#[derive(Debug, serde::Serialize)]
pub struct Now {
    /// RFC 3339 in UTC, e.g. `2026-11-25T18:38:06.123Z`.
    pub utc: String,
    /// RFC 3339 in the server's time zone, with its offset.
    pub local: String,
    /// Seconds since the Unix epoch.
    pub unix: i64,
}

impl Now {
    /// Reads the clock.
    pub fn read() -> Now {
        let utc = Utc::now();
        let local = utc.with_timezone(&Local);
        Now {
            utc: utc.to_rfc3339_opts(SecondsFormat::Millis, true),
            local: local.to_rfc3339_opts(SecondsFormat::Millis, false),
            unix: utc.timestamp(),
        }
    }
}

/// `GET /time`.
pub async fn show(req: Request) -> Response {
    let now = Now::read();
    let mut response = if wants_json(req.headers(), req.query()) {
        Json(&now).into_response()
    } else {
        Page(TimePage {
            utc: &now.utc,
            local: &now.local,
            unix: now.unix,
        })
        .into_response()
    };
    response.status = StatusCode::OK;
    response
        .headers
        .append(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers
        .append(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// The page, from `templates/time.html`.
#[derive(Template)]
#[template(path = "time.html", askama = web::askama)]
struct TimePage<'a> {
    utc: &'a str,
    local: &'a str,
    unix: i64,
}
