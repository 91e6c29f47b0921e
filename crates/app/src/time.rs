//! `/time`: the server's date and time, as a page or as JSON.

use chrono::{Local, SecondsFormat, Utc};
use web::{HeaderValue, Html, IntoResponse, Json, Request, Response, StatusCode, header};

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
        Html(page(&now)).into_response()
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

fn page(now: &Now) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Server time</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }} dt {{ font-weight: bold; }}</style>
</head>
<body>
<p><a href="/">Home</a></p>
<h1>The time on the server</h1>
<dl>
<dt>UTC</dt><dd><time id="utc" datetime="{utc}">{utc}</time></dd>
<dt>Local</dt><dd><time id="local" datetime="{local}">{local}</time></dd>
<dt>Unix time</dt><dd id="unix">{unix}</dd>
</dl>
<p>As JSON: <a href="/time?format=json">/time?format=json</a>, or send <code>Accept: application/json</code>.</p>
</body>
</html>
"#,
        utc = now.utc,
        local = now.local,
        unix = now.unix
    )
}
