//! The current round as the voting page shows it, read from its mirror in Redis.

use std::borrow::Cow;

use anyhow::Context;
use voting_glue::redis::{binary, eval};
use voting_glue::variable;
use voting_shared::choice::Choice;
use voting_shared::deck::Visibility;
use voting_shared::doorbell::VOTE_RING;
use voting_shared::poll::Poll;
use voting_shared::round::{READ_ROUND_SCRIPT, ROUND_KEY, Round};

use crate::page;
use crate::voter;

/// The current round, at Redis's clock when it was read.
pub struct Showing<'a> {
    pub round: i64,
    pub open: bool,
    /// The deadline (ms, Redis's clock), and that clock when read.
    pub closes_ms: Option<i64>,
    pub now_ms: i64,
    /// Who sees the counts, and when.
    pub visibility: Visibility,
    /// Whether the counts are shown on this page before voting, and after.
    pub results_before_voting: bool,
    pub results_after_voting: bool,
    pub poll: Cow<'a, Poll>,
}

impl<'a> Showing<'a> {
    /// `round` at `now_ms`; a round without a poll of its own shows the `configured` one.
    pub fn of((round, now_ms): (Round, i64), configured: &'a Poll) -> Showing<'a> {
        let open = round.open_at(now_ms);
        let results_before_voting = round.counts_shown_to_voter(now_ms, false);
        let results_after_voting = round.counts_shown_to_voter(now_ms, true);
        let poll = match round.poll {
            Some(poll) => Cow::Owned(poll),
            None => Cow::Borrowed(configured),
        };
        Showing {
            round: round.number,
            open,
            closes_ms: round.closes_ms,
            now_ms,
            visibility: round.results,
            results_before_voting,
            results_after_voting,
            poll,
        }
    }

    /// The configured poll, for an answer where Redis could not tell the round.
    pub fn unknown(configured: &'a Poll) -> Showing<'a> {
        Showing {
            round: 1,
            open: true,
            closes_ms: None,
            now_ms: 0,
            visibility: Visibility::Live,
            results_before_voting: false,
            results_after_voting: false,
            poll: Cow::Borrowed(configured),
        }
    }

    /// The current round when Redis can tell it, else the configured poll.
    pub fn current_or_unknown(configured: &'a Poll) -> Showing<'a> {
        match read() {
            Ok(Some(round)) => Showing::of(round, configured),
            _ => Showing::unknown(configured),
        }
    }

    /// How the page shows the round to a visitor whose vote in it is `chosen`.
    pub fn state(&self, chosen: Option<Choice>) -> page::State {
        page::State {
            round: self.round,
            open: self.open,
            closes_ms: self.closes_ms.filter(|_| self.open),
            now_ms: self.now_ms,
            visibility: self.visibility,
            results: if chosen.is_some() {
                self.results_after_voting
            } else {
                self.results_before_voting
            },
        }
    }

    /// The visitor's vote in this round, by its cookies.
    pub fn current_choice(&self, cookies: &[String]) -> Option<Choice> {
        voter::current_choice(cookies, &self.poll, self.round)
    }
}

/// The current round from its mirror in Redis, and Redis's clock (ms); `None` when the mirror
/// is missing, and then the script has rung the doorbell for the worker to restore it.
pub fn read() -> anyhow::Result<Option<(Round, i64)>> {
    let channel = variable("votes_channel")?;
    let redis = voting_glue::redis::open()?;
    let reply = eval(
        &redis,
        READ_ROUND_SCRIPT,
        &[ROUND_KEY],
        &[binary(&channel), binary(VOTE_RING)],
    )
    .context("reading the current round from Redis")?;
    voting_glue::round::from_reply(&reply)
}
