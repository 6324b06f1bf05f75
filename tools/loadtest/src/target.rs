//! The deployment under test, reached only through the URL it was given: `POST /` as a
//! browser's form does, and `GET /result/api`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{StatusCode, Url};
use voting_shared::choice::Choice;

/// The cookie that carries a voter's id, as in the original app.
use voting_shared::cookie::VOTER_COOKIE;
use voting_shared::counts::Counts;

/// Long enough for an app whose services are restarting; short enough that a stuck request
/// cannot stall a run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Target {
    client: reqwest::Client,
    vote_url: Url,
    tally_url: Url,
}

/// What the app answered to one vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx or 303: the app says the vote is queued.
    Accepted(StatusCode),
    /// Any other status: the app says it did not take the vote.
    Refused(StatusCode),
    /// No answer (refused or reset connection, timeout): the vote may or may not be queued.
    NoAnswer,
}

impl Outcome {
    fn of(status: StatusCode) -> Outcome {
        if status.is_success() || status == StatusCode::SEE_OTHER {
            Outcome::Accepted(status)
        } else {
            Outcome::Refused(status)
        }
    }

    pub fn is_accepted(self) -> bool {
        matches!(self, Outcome::Accepted(_))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Accepted(status) | Outcome::Refused(status) => write!(f, "{status}"),
            Outcome::NoAnswer => f.write_str("no answer"),
        }
    }
}

/// One vote sent and what came of it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub choice: Choice,
    pub outcome: Outcome,
    pub latency: Duration,
    /// When the answer (or the failure) arrived.
    pub finished: Instant,
}

/// One voter's browser: the cookie the app issued it, once it has.
#[derive(Debug, Clone, Default)]
pub struct Voter {
    cookie: Option<String>,
}

impl Voter {
    /// The id the app stores the vote under: the cookie's value up to its signature.
    pub fn id(&self) -> Option<&str> {
        let cookie = self.cookie.as_deref()?;
        Some(voting_shared::cookie::voter_id(cookie))
    }
}

/// The value a `Set-Cookie` header gives the voter cookie, if it is that cookie.
pub fn voter_cookie_in(set_cookie: &str) -> Option<&str> {
    let pair = set_cookie.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    (name.trim() == VOTER_COOKIE && !value.trim().is_empty()).then(|| value.trim())
}

impl Target {
    /// The app at `url` (`http://host:port` or `https://…`, the address `spin up` prints).
    pub fn new(url: &str) -> anyhow::Result<Target> {
        let base = Url::parse(url).with_context(|| {
            format!(
                "--url {url:?} is not a URL; give the app's address, e.g. http://127.0.0.1:3000"
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            bail!("--url {url:?} must be an http:// or https:// address of the app");
        }
        let client = reqwest::Client::builder()
            // Traffic goes to the given address only: no proxy, no redirect followed.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Target {
            client,
            vote_url: base.join("/")?,
            tally_url: base.join("/result/api")?,
        })
    }

    pub fn url(&self) -> &Url {
        &self.vote_url
    }

    /// Posts `choice` as `voter`'s browser would, and keeps any voter cookie the app issues.
    pub async fn vote(&self, voter: &mut Voter, choice: Choice) -> Attempt {
        let started = Instant::now();
        let mut request = self
            .client
            .post(self.vote_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("vote={choice}"));
        if let Some(cookie) = &voter.cookie {
            request = request.header(COOKIE, format!("{VOTER_COOKIE}={cookie}"));
        }
        let outcome = match request.send().await {
            Ok(response) => {
                let issued = response
                    .headers()
                    .get_all(SET_COOKIE)
                    .iter()
                    .filter_map(|value| voter_cookie_in(value.to_str().ok()?))
                    .next_back();
                if let Some(cookie) = issued {
                    voter.cookie = Some(cookie.to_owned());
                }
                let outcome = Outcome::of(response.status());
                // The whole answer counts towards the latency, as a browser waits for it.
                let _ = response.bytes().await;
                outcome
            }
            Err(_) => Outcome::NoAnswer,
        };
        let finished = Instant::now();
        Attempt {
            choice,
            outcome,
            latency: finished - started,
            finished,
        }
    }

    /// The current tally from `/result/api`.
    pub async fn tally(&self) -> anyhow::Result<Counts> {
        let response = self
            .client
            .get(self.tally_url.clone())
            .send()
            .await
            .with_context(|| format!("GET {}", self.tally_url))?;
        let status = response.status();
        let body = response.bytes().await.context("reading /result/api")?;
        if status != StatusCode::OK {
            bail!(
                "GET {} answered {status}: {}",
                self.tally_url,
                String::from_utf8_lossy(&body).trim()
            );
        }
        let json: serde_json::Value = serde_json::from_slice(&body)
            .with_context(|| format!("{} did not answer JSON", self.tally_url))?;
        Counts::from_json(&json)
            .with_context(|| format!("{} has no counts: {json}", self.tally_url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_voter_id_is_the_cookie_up_to_its_signature() {
        let signed = Voter {
            cookie: Some("0123abcd.c2lnbmF0dXJl".to_owned()),
        };
        assert_eq!(signed.id(), Some("0123abcd"));
        // The original app's cookie is the bare id.
        let original = Voter {
            cookie: Some("5c1f0a9e2b".to_owned()),
        };
        assert_eq!(original.id(), Some("5c1f0a9e2b"));
        assert_eq!(Voter::default().id(), None);
    }

    #[test]
    fn only_the_voter_cookie_is_taken_from_set_cookie() {
        assert_eq!(
            voter_cookie_in("voter_id=ab12.sig; Path=/; HttpOnly; SameSite=Lax"),
            Some("ab12.sig")
        );
        assert_eq!(voter_cookie_in("choice=a; Path=/"), None);
        assert_eq!(voter_cookie_in("voter_id=; Max-Age=0"), None);
        assert_eq!(voter_cookie_in("garbage"), None);
    }

    #[test]
    fn accepted_means_a_success_or_a_redirect_after_post() {
        assert!(Outcome::of(StatusCode::OK).is_accepted());
        assert!(Outcome::of(StatusCode::ACCEPTED).is_accepted());
        assert!(Outcome::of(StatusCode::SEE_OTHER).is_accepted());
        assert!(!Outcome::of(StatusCode::SERVICE_UNAVAILABLE).is_accepted());
        assert!(!Outcome::of(StatusCode::FORBIDDEN).is_accepted());
        assert!(!Outcome::NoAnswer.is_accepted());
    }

    #[test]
    fn urls_that_are_not_an_app_address_are_refused() {
        for url in ["127.0.0.1:3000", "ftp://example.com", "not a url"] {
            let error = Target::new(url).err().unwrap().to_string();
            assert!(error.contains("--url"), "{error}");
        }
        let target = Target::new("http://127.0.0.1:3000").unwrap();
        assert_eq!(target.url().as_str(), "http://127.0.0.1:3000/");
    }
}
