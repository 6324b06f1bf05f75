//! How the vote component answers: the voting page, or JSON for the API. A refusal shows the
//! current round's page with a notice (or a JSON error), and queues nothing; a vote cast with
//! the page's form is answered with a redirect back to the page (Post/Redirect/Get), so that a
//! reload or the back button never sends it again.

use voting_glue::reply::Reply;
use voting_shared::choice::Choice;
use voting_shared::diagnosis::RedisProblem;
use voting_shared::poll::Poll;

use crate::ballot::{BadBallot, Ballot};
use crate::cast::{Cast, Queued};
use crate::page::{self, Message};
use crate::round::Showing;
use crate::voter::{self, CHOICE_COOKIE, VOTER_COOKIE};

/// Which interface a request came through, which decides how answers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Page,
    Api,
}

/// An answer, and whether to ring the worker's HTTP doorbell once it is sent: after a vote that
/// found no worker rung or draining, or when the round's mirror is missing (the worker
/// restores it).
pub struct Answer {
    pub reply: Reply,
    pub ring_worker: bool,
}

impl Answer {
    pub fn of(reply: Reply) -> Answer {
        Answer {
            reply,
            ring_worker: false,
        }
    }
}

/// The voting page for `showing`, `chosen` being the visitor's vote in it.
pub fn page(status: u16, showing: &Showing, chosen: Option<Choice>, message: Message) -> Reply {
    Reply::html(
        status,
        page::render(&showing.poll, chosen, message, showing.state(chosen)),
    )
    .script(page::SCRIPT)
}

/// A refusal in the interface's format: the page of `showing` with a notice (and the
/// visitor's vote in it still shown), or JSON.
pub fn refusal(
    interface: Interface,
    status: u16,
    showing: &Showing,
    cookies: &[String],
    message: &str,
) -> Reply {
    match interface {
        Interface::Page => page(
            status,
            showing,
            showing.current_choice(cookies),
            Message::Error(message),
        ),
        Interface::Api => Reply::json(status, &serde_json::json!({ "error": message })),
    }
}

/// A ballot refused before anything was queued, with the current round when Redis tells it.
pub fn bad_ballot(
    interface: Interface,
    bad: &BadBallot,
    configured: &Poll,
    cookies: &[String],
) -> Answer {
    let showing = Showing::current_or_unknown(configured);
    let message = bad.message(&showing.poll);
    Answer::of(refusal(
        interface,
        bad.status(),
        &showing,
        cookies,
        &message,
    ))
}

/// While the round's mirror is missing: voting waits for the worker to restore it (the
/// doorbell was rung, and is rung again over HTTP where there is no Redis trigger).
pub fn setting_up(interface: Interface, configured: &Poll) -> Answer {
    let message = "voting opens in a moment: the poll is being set up. Your vote was not \
                   recorded; this page reloads by itself.";
    let waiting = Showing {
        open: false,
        ..Showing::unknown(configured)
    };
    let reply = refusal(interface, 503, &waiting, &[], message)
        .header("retry-after", "2")
        .header("refresh", "2");
    Answer {
        reply,
        ring_worker: true,
    }
}

/// What a voter reads when Redis fails; the log gets the details.
pub fn unavailable(error: &anyhow::Error) -> String {
    match voting_glue::redis::diagnose("vote", error) {
        RedisProblem::NotAnswering => "voting is unavailable right now: Redis is not \
             answering. Your vote was not recorded; please try again in a moment."
            .to_owned(),
        problem => format!(
            "voting is unavailable right now: {}. Your vote was not recorded.",
            problem.advice()
        ),
    }
}

impl Queued {
    /// The answer to `ballot` of voter `voter_id` that became this, `showing` the round it was
    /// checked against.
    pub fn answer(
        self,
        interface: Interface,
        ballot: Ballot,
        voter_id: &str,
        showing: &Showing,
        cookies: &[String],
    ) -> Reply {
        let refuse = |status, message: &str| refusal(interface, status, showing, cookies, message);
        match self {
            Queued::Accepted { .. } => match interface {
                Interface::Page => Reply::empty(303)
                    .header("location", "/")
                    .header("set-cookie", &voter::thank()),
                Interface::Api => Reply::json(
                    202,
                    &serde_json::json!({
                        "voter_id": voter_id,
                        "vote": ballot.choice.as_str(),
                        "round": showing.round,
                    }),
                ),
            },
            Queued::OtherRound => {
                let asked = ballot
                    .round
                    .map(|round| format!(" (round {round})"))
                    .unwrap_or_default();
                refuse(
                    409,
                    &format!(
                        "this vote was for an earlier question{asked}, and the presenter has \
                         moved on: it was not recorded. The question now is round {}'s: vote \
                         again if you like.",
                        showing.round
                    ),
                )
            }
            Queued::Closed => refuse(
                409,
                "voting is closed: your vote was not recorded. The results stay up.",
            ),
            Queued::NotOnBallot => refuse(
                400,
                &BadBallot::UnknownOption(ballot.choice.as_str().to_owned()).message(&showing.poll),
            ),
            Queued::OverTheLimit { retry_after } => refuse(
                429,
                &format!(
                    "too many new voters from your network: try again in {retry_after} \
                     seconds. Your vote was not recorded."
                ),
            )
            .header("retry-after", &retry_after.to_string()),
            Queued::NoRound => refuse(
                503,
                "voting opens in a moment: the poll is being set up. Your vote was not recorded.",
            ),
        }
    }
}

/// The answer to a vote cast: for an accepted one with the voter's cookies (a new voter id,
/// and the choice made in this round).
pub fn cast(
    interface: Interface,
    ballot: Ballot,
    cast: Cast,
    configured: &Poll,
    cookies: &[String],
) -> Answer {
    let Some(round) = cast.round else {
        return setting_up(interface, configured);
    };
    let showing = Showing::of(round, configured);
    let reply = cast
        .queued
        .answer(interface, ballot, &cast.voter.id, &showing, cookies);
    let Queued::Accepted { rang } = cast.queued else {
        return Answer::of(reply);
    };
    let reply = match &cast.voter.new_cookie {
        Some(value) => reply.header("set-cookie", &voter::set_cookie(VOTER_COOKIE, value)),
        None => reply,
    };
    let reply = reply.header(
        "set-cookie",
        &voter::set_cookie(
            CHOICE_COOKIE,
            &voter::choice_cookie(ballot.choice, showing.round),
        ),
    );
    Answer {
        reply,
        ring_worker: rang,
    }
}
