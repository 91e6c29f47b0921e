//! The request-head parser behind [`crate::parse_request_head`].

use http::Method;

use crate::{Limits, ParseError, RequestHead, Target};

pub(crate) fn parse_request_head(
    _buf: &[u8],
    _limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    todo!("request head parser")
}

pub(crate) fn parse_target(_raw: &[u8], _method: &Method) -> Result<Target, ParseError> {
    todo!("target parser")
}
