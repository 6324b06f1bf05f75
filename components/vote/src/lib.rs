//! The vote component: the voting page (`GET /`, `POST /` with a form) and the JSON API
//! (`POST /api/vote`), for the current round's options. It reads only Redis: the page reads
//! the round's mirror, and a vote is checked against it (the round the voter saw, open, on the
//! ballot), stamped with the round, appended to the Redis list `votes` and announced on the
//! votes channel in one atomic script, one Redis round trip, which also applies the optional
//! limit on new voter ids per client address. An open page follows the round by itself.
//!
//! # Layout
//!
//! - [`ballot`]: what the voter sent: the choice, and the round whose ballot they saw.
//! - [`cast`]: queuing a vote, and what became of it.
//! - [`round`]: the current round as the page shows it, from its mirror in Redis.
//! - [`answer`]: the page or the JSON for each outcome; a form's vote answered by a redirect.
//! - [`page`]: the voting page, and its script that follows the round.
//! - [`voter`]: the voter's signed cookie, and the choice and thanks cookies.

mod answer;
mod ballot;
mod cast;
mod page;
mod round;
mod voter;

use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use voting_glue::doorbell;
use voting_glue::headers::Headers;
use voting_glue::reply::{Reply, send};
use voting_glue::variable;
use voting_shared::client;
use voting_shared::doorbell::VOTE_RING;
use voting_shared::poll::Poll;
use voting_shared::round::choices_of;

use crate::answer::{Answer, Interface};
use crate::page::Message;
use crate::round::Showing;
use crate::voter::VOTER_COOKIE;

#[http_component]
async fn handle_vote(request: IncomingRequest, response_out: ResponseOutparam) {
    let answer = match Poll::from_variables(variable) {
        Ok(configured) => route(request, &configured).await,
        Err(error) => {
            eprintln!("vote: {error:#}");
            Answer::of(Reply::text(
                500,
                "The voting page is misconfigured; see the server log.\n",
            ))
        }
    };
    send(answer.reply, response_out).await;
    if answer.ring_worker {
        ring_http_doorbell().await;
    }
}

/// On hosts without a Redis trigger the worker is a private endpoint; ringing it after the
/// answer is sent costs the voter nothing, and a failure only delays counting: the vote is
/// queued, and the next doorbell drains it.
async fn ring_http_doorbell() {
    if let Err(error) = doorbell::ring_http(VOTE_RING).await {
        eprintln!("vote: {error:#}");
    }
}

async fn route(request: IncomingRequest, configured: &Poll) -> Answer {
    let path = request.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let interface = if path.trim_end_matches('/') == "/api/vote" {
        Interface::Api
    } else {
        Interface::Page
    };
    let headers = Headers::of(&request);
    let cookies = headers.values("cookie");
    let refuse = |status, message: &str| {
        let showing = Showing::current_or_unknown(configured);
        answer::refusal(interface, status, &showing, &cookies, message)
    };
    if request.method() == Method::Post && headers.is_cross_site(&request) {
        let message = "votes from other sites are refused: vote on this site's own page";
        return Answer::of(refuse(403, message));
    }
    match (interface, request.method()) {
        (_, Method::Post) => cast(request, &headers, interface, configured, &cookies).await,
        (Interface::Api, _) => Answer::of(
            Reply::json(405, &serde_json::json!({ "error": "use POST" })).header("allow", "POST"),
        ),
        (Interface::Page, Method::Get | Method::Head) => show_page(configured, &cookies),
        (Interface::Page, _) => {
            Answer::of(refuse(405, "use GET or POST").header("allow", "GET, HEAD, POST"))
        }
    }
}

/// The voting page for the current round: one Redis round trip.
fn show_page(configured: &Poll, cookies: &[String]) -> Answer {
    match round::read() {
        Ok(Some(round)) => {
            let showing = Showing::of(round, configured);
            let chosen = showing.current_choice(cookies);
            if voter::thanked(cookies) {
                let reply = answer::page(200, &showing, chosen, Message::Confirmation);
                Answer::of(reply.header("set-cookie", &voter::thanked_once()))
            } else {
                Answer::of(answer::page(200, &showing, chosen, Message::Idle))
            }
        }
        Ok(None) => answer::setting_up(Interface::Page, configured),
        Err(error) => {
            let message = answer::unavailable(&error);
            let showing = Showing::unknown(configured);
            Answer::of(answer::refusal(
                Interface::Page,
                503,
                &showing,
                &[],
                &message,
            ))
        }
    }
}

/// Reads the ballot, queues it if the round it was cast on is current, open and offers it, and
/// answers what became of it. Nothing is queued otherwise.
async fn cast(
    request: IncomingRequest,
    headers: &Headers,
    interface: Interface,
    configured: &Poll,
    cookies: &[String],
) -> Answer {
    let expected = match interface {
        Interface::Page => ballot::FORM,
        Interface::Api => ballot::JSON,
    };
    let ballot = match ballot::read(request, headers, expected).await {
        Ok(ballot) => ballot,
        Err(bad) => return answer::bad_ballot(interface, &bad, configured, cookies),
    };
    let client = client::address(&headers.values("spin-client-addr"));
    let cookie = voter::cookie(cookies, VOTER_COOKIE);
    match cast::queue(cookie, ballot, client, &choices_of(configured)) {
        Ok(cast) => answer::cast(interface, ballot, cast, configured, cookies),
        Err(error) => {
            let message = answer::unavailable(&error);
            let showing = Showing::unknown(configured);
            Answer::of(answer::refusal(interface, 503, &showing, &[], &message))
        }
    }
}
