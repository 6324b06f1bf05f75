//! An HTTP answer, built by plain code and sent through WASI HTTP's streaming interface, so a
//! handler can go on working (ring a doorbell, catch up) after the client has its answer.
//! Every answer carries the app's security headers, added here and nowhere else.

use futures::SinkExt;
use spin_sdk::http::{Fields, OutgoingResponse, ResponseOutparam};
use voting_shared::html::security_headers;

/// A status, headers and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The page's one inline script, which its security policy lets run; empty: none.
    pub script: &'static str,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body: body.into(),
            script: "",
        }
    }

    /// No body, no content type: a `304 Not Modified`.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            script: "",
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::new(status, "text/plain; charset=utf-8", body)
    }

    pub fn html(status: u16, body: String) -> Reply {
        Reply::new(status, "text/html; charset=utf-8", body)
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::new(status, "application/json", body.to_string())
    }

    /// With `script` as the page's one inline script.
    pub fn script(mut self, script: &'static str) -> Reply {
        self.script = script;
        self
    }

    /// With one more header (set a name twice for two values, as `set-cookie` needs).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The headers as sent: the reply's own, then the security headers, whose policy allows
    /// exactly the reply's `script` (the page's one inline script, or none) to run.
    pub fn headers_with_security(&self) -> Vec<(String, Vec<u8>)> {
        let security = security_headers(self.script)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value));
        self.headers
            .iter()
            .cloned()
            .chain(security)
            .map(|(name, value)| (name, value.into_bytes()))
            .collect()
    }
}

/// Sends `reply` with the security headers (allowing its own inline script). A client that
/// went away is only a log line: the work was done.
pub async fn send(reply: Reply, response_out: ResponseOutparam) {
    let response = match Fields::from_list(&reply.headers_with_security()) {
        Ok(fields) => OutgoingResponse::new(fields),
        Err(error) => {
            eprintln!("invalid response headers: {error:?}");
            let response = OutgoingResponse::new(Fields::new());
            let _ = response.set_status_code(500);
            response_out.set(response);
            return;
        }
    };
    let _ = response.set_status_code(reply.status);
    let mut body = response.take_body();
    response_out.set(response);
    if let Err(error) = body.send(reply.body).await {
        eprintln!("writing the response: {error:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_carries_its_headers_then_the_security_headers() {
        let reply = Reply::text(405, "no").header("allow", "GET");
        let headers = reply.headers_with_security();
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            &names[..2],
            ["content-type", "allow"],
            "the reply's own first"
        );
        assert!(names.contains(&"content-security-policy"));
        assert!(names.contains(&"x-content-type-options"));
        assert_eq!(Reply::empty(304).headers_with_security().len(), 4);
    }
}
