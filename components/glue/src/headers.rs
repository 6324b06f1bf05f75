//! A request's headers, read from the host once (in WASI HTTP each `headers()` is a host call,
//! and so is each lookup in them), and its body, read within a limit.

use futures::StreamExt;
use spin_sdk::http::IncomingRequest;
use voting_shared::origin;

/// Every header of a request, as sent.
pub struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    pub fn of(request: &IncomingRequest) -> Headers {
        Headers(request.headers().entries())
    }

    /// Every value of the header `name` (any case), in order, as text.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
            .collect()
    }

    /// The first value of the header `name`.
    pub fn first(&self, name: &str) -> Option<String> {
        self.values(name).into_iter().next()
    }

    /// Whether `request` comes from another site's page (see [`origin::is_cross_site`]); the
    /// authority it was sent to is where wasi-http carries `Host`.
    pub fn is_cross_site(&self, request: &IncomingRequest) -> bool {
        let host = request.authority().or_else(|| self.first("host"));
        origin::is_cross_site(
            self.first("sec-fetch-site").as_deref(),
            self.first("origin").as_deref(),
            host.as_deref(),
        )
    }

    /// Whether the `Content-Type` names `expected`.
    pub fn content_type_is(&self, expected: &str) -> bool {
        media_type_is(self.first("content-type").as_deref(), expected)
    }
}

/// Whether a `Content-Type` header names `expected` (parameters such as charset aside).
pub fn media_type_is(header: Option<&str>, expected: &str) -> bool {
    header
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(expected))
}

/// Why a request's body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProblem {
    /// Larger than the limit: said by `Content-Length`, or found while reading.
    TooLarge,
    /// The stream failed.
    Unreadable,
}

/// The body of `request`, up to `limit` bytes, refused before reading it when its
/// `Content-Length` is larger.
pub async fn read_body(
    request: IncomingRequest,
    headers: &Headers,
    limit: usize,
) -> Result<Vec<u8>, BodyProblem> {
    let declared = headers
        .first("content-length")
        .and_then(|length| length.trim().parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyProblem::TooLarge);
    }
    let mut body = Vec::new();
    let mut chunks = request.into_body_stream();
    while let Some(chunk) = chunks.next().await {
        body.extend(chunk.map_err(|_| BodyProblem::Unreadable)?);
        if body.len() > limit {
            return Err(BodyProblem::TooLarge);
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_match_without_parameters_or_case() {
        assert!(media_type_is(
            Some("application/json; charset=utf-8"),
            "application/json"
        ));
        assert!(media_type_is(
            Some("Application/X-WWW-Form-Urlencoded"),
            "application/x-www-form-urlencoded"
        ));
        assert!(!media_type_is(Some("text/plain"), "application/json"));
        assert!(!media_type_is(None, "application/json"));
    }
}
