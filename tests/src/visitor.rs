//! A visitor of the app: a client with a cookie jar, as a browser keeps the voter cookie.

use std::collections::BTreeMap;

use bytes::Bytes;
use spin_test_host::{App, Response};

/// A visitor with a cookie jar: each request carries the cookies earlier answers set. A clone
/// is the same visitor in a second tab.
#[derive(Clone)]
pub struct Visitor {
    app: App,
    cookies: BTreeMap<String, String>,
}

impl Visitor {
    pub fn new(app: &App) -> Visitor {
        Visitor {
            app: app.clone(),
            cookies: BTreeMap::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// The voter id the app issued this visitor (unverified), from its voter cookie.
    pub fn voter_id(&self) -> Option<&str> {
        self.cookie(voting_shared::cookie::VOTER_COOKIE)
            .map(voting_shared::cookie::voter_id)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    /// Sends a request with the jar's cookies and keeps the cookies the answer sets.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let mut request = App::request(method, path);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header("cookie", jar.join("; "));
        }
        let response = self
            .app
            .send(request.body(Bytes::copy_from_slice(body))?)
            .await?;
        for header in response.headers().get_all("set-cookie") {
            let pair = header.to_str()?.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Ok(response)
    }

    /// Votes through the JSON API with `json` as the body, as a script would.
    pub async fn vote_json(&mut self, json: &[u8]) -> anyhow::Result<Response> {
        self.send("POST", "/api/vote", Some("application/json"), json)
            .await
    }

    /// Votes through the page's form, as a browser submits it (without the round the page
    /// showed, as a client of the original app does), and follows the answer's redirect as a
    /// browser does: answers the page it lands on, or the refusal.
    pub async fn vote(&mut self, choice: &str) -> anyhow::Result<Response> {
        let response = self.post_form("/", &format!("vote={choice}")).await?;
        self.follow(response).await
    }

    /// Votes through the page's form in `round`, as the page of that round sends it, and
    /// follows the redirect.
    pub async fn vote_in_round(&mut self, choice: &str, round: i64) -> anyhow::Result<Response> {
        let response = self
            .post_form("/", &format!("vote={choice}&round={round}"))
            .await?;
        self.follow(response).await
    }

    /// Posts `form` (urlencoded) to `path`; answers the answer itself, not where it leads.
    pub async fn post_form(&mut self, path: &str, form: &str) -> anyhow::Result<Response> {
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
        )
        .await
    }

    /// As a browser does: a `303 See Other` is followed by a `GET` of its `Location`, with the
    /// cookies it set; any other answer is the answer.
    pub async fn follow(&mut self, response: Response) -> anyhow::Result<Response> {
        if response.status() != 303 {
            return Ok(response);
        }
        let location = response
            .headers()
            .get("location")
            .ok_or_else(|| anyhow::anyhow!("a 303 without a Location"))?
            .to_str()?
            .to_owned();
        self.send("GET", &location, None, b"").await
    }
}
