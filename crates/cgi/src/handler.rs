//! [`Cgi`]: from a request to a running script to a response.

use std::sync::Arc;
use std::time::Duration;

use http1::{HeaderName, Method, RequestHead, StatusCode, Target};
use server::{Request, Response, ResponseBody, Service};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::{CgiError, spawn_error};
use crate::input::{BodyWatch, Input};
use crate::locate::{self, Located, ScriptDir};
use crate::output::{self, HeadScanner, ScriptHead};
use crate::spawn::{self, Running};
use crate::stream::ScriptOutput;
use crate::{CgiConfig, env};

/// How long a request waits for a script slot when `max_scripts` are running, before `503`.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Most local redirects (`Location: /path`) followed for one request before giving up with
/// `500`; a script that redirects to itself would otherwise loop forever.
pub const MAX_LOCAL_REDIRECTS: usize = 8;

/// The CGI handler: runs scripts under the configured script directories.
#[derive(Debug)]
pub struct Cgi {
    config: CgiConfig,
    dirs: Vec<ScriptDir>,
    slots: Arc<Semaphore>,
}

/// What running a script led to.
enum Outcome {
    Response(Response),
    /// A local redirect: answer this request instead.
    Redirect(Box<Request>),
}

impl Cgi {
    /// A handler for `config`.
    pub fn new(config: CgiConfig) -> Cgi {
        let dirs = config
            .script_dirs
            .iter()
            .map(|d| ScriptDir::new(&config.root, d))
            .chain(
                config
                    .aliases
                    .iter()
                    .map(|(url, dir)| ScriptDir::aliased(url, dir)),
            )
            .collect();
        let slots = Arc::new(Semaphore::new(config.max_scripts.max(1)));
        Cgi {
            config,
            dirs,
            slots,
        }
    }

    /// Whether this URL path (percent-encoded, as in [`Request::path`]) falls under a script
    /// directory. Generous on purpose: see [`locate::matches`].
    pub fn matches(&self, path: &str) -> bool {
        locate::matches(&self.dirs, path)
    }

    /// Runs the script for `req`; `local` serves RFC 3875 local redirects (`Location: /path`)
    /// that lead outside the script directories.
    pub async fn handle<S: Service>(&self, mut req: Request, local: &S) -> Response {
        for _ in 0..=MAX_LOCAL_REDIRECTS {
            match self.run(req).await {
                Outcome::Response(r) => return r,
                Outcome::Redirect(next) if self.matches(next.path()) => req = *next,
                Outcome::Redirect(next) => return local.call(*next).await,
            }
        }
        CgiError::RedirectLoop.into_response(req.path())
    }

    async fn run(&self, req: Request) -> Outcome {
        let script = match locate::locate(&self.config, &self.dirs, req.path()) {
            Ok(s) => s,
            Err(e) => return Outcome::Response(CgiError::from(e).into_response(req.path())),
        };
        let name = spawn::display_name(&script);
        match self.execute(req, &script, name.clone()).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Response(e.into_response(&name)),
        }
    }

    async fn execute(
        &self,
        mut req: Request,
        script: &Located,
        name: Arc<str>,
    ) -> Result<Outcome, CgiError> {
        let body = std::mem::take(&mut req.body);
        let (mut input, len) = Input::prepare(body).await?;
        // A request without body framing has no CONTENT_LENGTH; `Content-Length: 0` has "0".
        let framed =
            req.headers().contains("content-length") || req.headers().contains("transfer-encoding");
        let len = framed.then_some(len);
        let vars = env::environment(&req, script, &self.config, len);
        let permit = self.slot().await?;
        let deadline = Instant::now() + self.config.timeout;
        let stdin = input.stdio().map_err(CgiError::Io)?;
        let mut child = spawn::spawn(script, vars, stdin).map_err(spawn_error)?;
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let child_stdin = child.stdin.take();
        let mut running = Running::new(child, permit);
        let watch = match input.feed(child_stdin) {
            Some((writer, watch)) => {
                running.set_writer(writer);
                watch
            }
            None => BodyWatch::default(),
        };
        if let Some(stderr) = stderr {
            spawn::log_stderr(stderr, name.clone());
        }
        let stdout = stdout.ok_or_else(|| CgiError::Io(std::io::ErrorKind::BrokenPipe.into()))?;
        let mut out = ScriptOutput::new(stdout, running, deadline, watch, name);
        if script.nph {
            return Ok(Outcome::Response(nph_response(out)));
        }
        let head = read_head(&mut out).await?;
        respond(req, head, out).await
    }

    /// A script slot, waiting up to [`QUEUE_WAIT`] for one.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, CgiError> {
        match tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(CgiError::Busy),
        }
    }
}

/// Reads stdout until the header block is complete and parses it; the bytes after it stay in
/// `out.buf`. A request body that breaks off meanwhile ends it: the script is killed and
/// nothing it wrote is sent (RFC 3875 4.2: a script gets exactly `CONTENT_LENGTH` bytes).
async fn read_head(out: &mut ScriptOutput) -> Result<ScriptHead, CgiError> {
    let mut scanner = HeadScanner::default();
    loop {
        match out.read_more().await.map_err(CgiError::Body)? {
            None => return Err(CgiError::TimedOut),
            Some(Err(e)) => return Err(CgiError::Io(e)),
            Some(Ok(0)) => {
                let status = match out.running.as_mut() {
                    Some(r) => r.exit_status(out.deadline).await,
                    None => None,
                };
                if out.buf.is_empty() {
                    return Err(CgiError::NoHeaders(status));
                }
                return Err(CgiError::Unfinished(output::unfinished(&out.buf), status));
            }
            Some(Ok(_)) => {}
        }
        if let Some((block, end)) = scanner.scan(&out.buf)? {
            let head = output::parse_head(&out.buf[..block])?;
            let _ = out.buf.split_to(end);
            return Ok(head);
        }
    }
}

/// Turns a parsed header block and the rest of the output into the outcome (RFC 3875 6.2).
async fn respond(
    req: Request,
    head: ScriptHead,
    mut out: ScriptOutput,
) -> Result<Outcome, CgiError> {
    if let Some(location) = head.local_redirect()
        && let Some(next) = redirected(&req, location)
    {
        out.drain();
        return Ok(Outcome::Redirect(Box::new(next)));
    }
    let status = match (head.status, &head.location) {
        (Some(s), _) => s,
        (None, Some(_)) => StatusCode::FOUND,
        (None, None) => StatusCode::OK,
    };
    let mut response = Response::new(status);
    response.reason = head.reason.map(String::into_boxed_str);
    response.headers = head.headers;
    if let Some(location) = head.location {
        response
            .headers
            .append(HeaderName::from_static("location"), location);
    }
    out.frame(head.chunked, head.content_length);
    out.hold_for_input().await?;
    if req.method() == Method::HEAD {
        out.drain();
        response.body = ResponseBody::Stream {
            stream: Box::pin(futures_util::stream::empty()),
            len: head.content_length,
        };
    } else if let Some(body) = out.try_complete()? {
        response.body = if body.is_empty() {
            ResponseBody::Empty
        } else {
            ResponseBody::Full(body)
        };
    } else {
        response.body = ResponseBody::Stream {
            len: head.content_length,
            stream: out.into_stream(),
        };
    }
    Ok(Outcome::Response(response))
}

/// The request a local redirect stands for: a `GET` of `location` with the original headers
/// (minus those describing the original body) on the same connection.
fn redirected(req: &Request, location: &str) -> Option<Request> {
    let target = Target::parse(location.as_bytes(), &Method::GET).ok()?;
    let mut headers = req.headers().clone();
    for h in [
        "content-length",
        "content-type",
        "transfer-encoding",
        "expect",
    ] {
        headers.remove(h);
    }
    let head = RequestHead {
        method: Method::GET,
        target,
        version: req.version(),
        headers,
        body: http1::BodyKind::Empty,
        keep_alive: req.head.keep_alive,
        expect_continue: false,
        field_lines: bytes::Bytes::new(),
    };
    Some(Request::new(head, server::Body::empty(), req.conn.clone()))
}

/// `nph-` scripts write the whole response themselves, status line included.
fn nph_response(out: ScriptOutput) -> Response {
    let mut response = Response::new(StatusCode::OK);
    response.body = ResponseBody::Raw(out.into_stream());
    response
}
