//! The admin component: the presenter's console (`/admin`, a session cookie after signing in
//! with the `admin_token`) and the same actions as a JSON API for scripts (`/admin/api/…`, with
//! `Authorization: Bearer <admin_token>`): prepare a talk's deck of questions and step through
//! it, start a round (new options, or the same ones again), close and reopen voting, add time,
//! reveal hidden results, set the new-voter limit, list the rounds and download each one's
//! results; and the presenter view. Without `admin_token` every admin route answers 404, as if
//! it did not exist.
//!
//! A change to the round is made in PostgreSQL, the source of truth, at Redis's clock, and then
//! mirrored to Redis for the vote component, with the results the room sees. The mirror is
//! removed first, so that while the change is under way no vote is taken under the old state;
//! if the change is refused or fails, the round PostgreSQL then has is mirrored again, and if
//! that fails too, the worker restores the mirror at the next vote.
//!
//! An `admin_token` shorter than 128 bits of hex is refused: the console stays off and says
//! how to make one.
//!
//! # Layout
//!
//! - [`api`]: the JSON API's routes.
//! - [`console`]: the console's routes: signing in and out, its forms, its downloads.
//! - [`pages`]: the sign-in page, the console page and what its forms send.
//! - [`present`]: the presenter view, full screen for a projector, driven from the keyboard.
//! - [`present_qa`]: its Q&A screen: the highlighted question and the next ones.
//! - [`deck`]: the talk's deck in PostgreSQL, and the console's edits to it.
//! - [`access`]: the token check, its failures per address, and sessions.
//! - [`actions`]: what both do: the table of actions on the round, list the rounds, download,
//!   edit the deck, set the limit.
//! - [`notice`]: every form answered with a redirect, and what went wrong carried to the page.
//! - [`rounds`]: every round's results, and their CSV and JSON downloads.
//! - [`qa`]: the audience's questions: the mode and the moderation.

mod access;
mod actions;
mod api;
mod console;
mod deck;
mod notice;
mod pages;
mod present;
mod present_qa;
mod qa;
mod rounds;

use std::net::IpAddr;

use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use voting_glue::headers::{BodyProblem, Headers, read_body};
use voting_glue::reply::{Reply, send};
use voting_glue::variable;
use voting_shared::client;
use voting_shared::poll::Poll;
use voting_shared::session::{self, SESSION_COOKIE};

/// The largest request body read: a deck of the most questions, each of eight long labels.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[http_component]
async fn handle_admin(request: IncomingRequest, response_out: ResponseOutparam) {
    let reply = match variable("admin_token") {
        Ok(token) if token.is_empty() => Reply::empty(404),
        Ok(token) => match session::weak_token_problem(&token) {
            Some(problem) => {
                eprintln!("admin: the console is off: {problem}");
                Reply::text(
                    503,
                    &format!("The console is off: {problem}, then restart the app.\n"),
                )
            }
            None => respond(request, &token).await,
        },
        Err(error) => {
            eprintln!("admin: {error:#}");
            Reply::empty(404)
        }
    };
    send(reply.header("cache-control", "no-store"), response_out).await;
}

/// What a handler needs to know of the request.
pub struct Asked {
    pub method: Method,
    pub path: String,
    /// The query string, without its `?`.
    pub query: String,
    pub client: Option<IpAddr>,
    /// The authority the request was sent to (`host:port`), for the vote page's address.
    pub host: Option<String>,
    pub authorization: Option<String>,
    pub session: Option<String>,
    /// What the last form left to show ([`notice`]).
    pub notice: Option<String>,
    pub cross_site: bool,
    pub https: bool,
    pub body: Vec<u8>,
}

async fn respond(request: IncomingRequest, token: &str) -> Reply {
    let asked = match read(request).await {
        Ok(asked) => asked,
        Err(reply) => return reply,
    };
    let configured = match Poll::from_variables(variable) {
        Ok(poll) => poll,
        Err(error) => {
            eprintln!("admin: {error:#}");
            return Reply::text(500, "The console is misconfigured; see the server log.\n");
        }
    };
    let path = asked.path.trim_end_matches('/').to_owned();
    match path.strip_prefix("/admin/api") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            api::handle(&asked, rest, token, &configured)
        }
        _ => console::handle(&asked, &path, token, &configured),
    }
}

async fn read(request: IncomingRequest) -> Result<Asked, Reply> {
    let headers = Headers::of(&request);
    let values = |name: &str| headers.values(name);
    let first = |name: &str| headers.first(name);
    let full = request.path_with_query().unwrap_or_default();
    let (path, query) = full.split_once('?').unwrap_or((&full, ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let host = request.authority().or_else(|| first("host"));
    let cross_site = headers.is_cross_site(&request);
    let public_url = variable("public_url").unwrap_or_default();
    let https = public_url.to_ascii_lowercase().starts_with("https://")
        || first("x-forwarded-proto").is_some_and(|proto| proto.trim() == "https");
    let cookies = values("cookie");
    let notice = notice::taken(&cookies);
    let session = cookies
        .iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned());
    let mut asked = Asked {
        method: request.method(),
        path,
        query,
        client: client::address(&values("spin-client-addr")),
        host: host.clone(),
        authorization: first("authorization"),
        session,
        notice,
        cross_site,
        https,
        body: Vec::new(),
    };
    asked.body =
        read_body(request, &headers, MAX_BODY_BYTES)
            .await
            .map_err(|problem| match problem {
                BodyProblem::TooLarge => {
                    Reply::text(413, "The body is too large for the console.\n")
                }
                BodyProblem::Unreadable => Reply::text(400, "The body could not be read.\n"),
            })?;
    Ok(asked)
}
