//! A request's headers, read from the host once: in WASI HTTP each `headers()` is a host call,
//! and so is each lookup in them.

use spin_sdk::http::IncomingRequest;

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
}
