//! Rounds: a poll runs in numbered rounds, and a vote counts in the round it was cast in.
//!
//! PostgreSQL holds every round and its results (the source of truth, see [`crate::schema`]).
//! Redis mirrors the current one in the hash [`ROUND_KEY`] for the vote component, which
//! reads nothing else: its enqueue script checks that voting is open and that the choice is
//! on the round's ballot, and stamps the round into the entry. Without the mirror (a fresh
//! Redis, or one that lost its data) no vote gets in: the vote component rings the doorbell,
//! and the worker restores the mirror from PostgreSQL.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::deck::Visibility;
use crate::poll::{Poll, PollProblem};

/// The Redis hash mirroring the current round: `round`, `open` (`1` or `0`), `choices` (the
/// wire forms on the ballot, `abc`; empty for the configured poll), `poll` (its JSON, or
/// empty for the configured poll), `results` (its [`Visibility`]), `closes` (its deadline in
/// ms since 1970, empty without one) and `revealed` (`1` once the presenter revealed it).
pub const ROUND_KEY: &str = "voting:round";

/// The round number [`READ_ROUND_SCRIPT`] and the enqueue script answer while the mirror is
/// missing.
pub const NO_ROUND: i64 = 0;

/// How many values a script answers for the mirror ([`READ_ROUND_SCRIPT`] alone, the enqueue
/// script after its own two): the round (`0`: [`NO_ROUND`]), `1`/`0` for the presenter's
/// switch, the poll field, the results field, the deadline (`0`: none), `1` when revealed, and
/// Redis's clock (ms).
pub const MIRROR_REPLY_LEN: usize = 7;

/// The current round for the voting page, in one round trip. KEYS: [`ROUND_KEY`]. ARGV: the
/// votes channel and the doorbell. Returns the mirror as [`MIRROR_REPLY_LEN`] says; without a
/// mirror, rings the doorbell (the worker restores it) and answers [`NO_ROUND`].
pub const READ_ROUND_SCRIPT: &str = r#"
local round = redis.call('HMGET', KEYS[1], 'round', 'open', 'poll', 'results', 'closes', 'revealed')
if not round[1] then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return {0, 0, '', '', 0, 0, 0}
end
local time = redis.call('TIME')
return {tonumber(round[1]), tonumber(round[2]), round[3] or '', round[4] or '',
  tonumber(round[5] or '') or 0, tonumber(round[6] or '') or 0,
  tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)}
"#;

/// Writes the mirror of a snapshot unless the mirror is of the same database and as new or
/// newer (so an older round never replaces a newer one, whoever writes last).
///
/// # KEYS
/// 1. [`ROUND_KEY`]
///
/// # ARGV
/// 1. `1` to write only where there is none (a restore, which must not undo a change)
/// 2. the round
/// 3. `1`/`0`: the presenter's switch
/// 4. the choices field
/// 5. the poll field
/// 6. the results field
/// 7. the deadline field
/// 8. the revealed field
/// 9. the snapshot's database instance
/// 10. its version
///
/// # Returns
/// `1` when it wrote, else `0`.
pub const MIRROR_ROUND_SCRIPT: &str = r#"
local kept = redis.call('HMGET', KEYS[1], 'round', 'instance', 'version')
if kept[1] then
  if ARGV[1] == '1' then return 0 end
  if kept[2] == ARGV[9] and (tonumber(kept[3]) or 0) >= tonumber(ARGV[10]) then return 0 end
end
redis.call('HSET', KEYS[1], 'round', ARGV[2], 'open', ARGV[3], 'choices', ARGV[4], 'poll', ARGV[5],
  'results', ARGV[6], 'closes', ARGV[7], 'revealed', ARGV[8], 'instance', ARGV[9],
  'version', ARGV[10])
return 1
"#;

/// Removes the mirror, so that no vote is taken while the round changes, and answers Redis's
/// clock (ms), by which the change is made. KEYS: [`ROUND_KEY`].
pub const PAUSE_SCRIPT: &str = r#"
redis.call('DEL', KEYS[1])
local time = redis.call('TIME')
return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"#;

/// Redis's clock (ms). No KEYS.
pub const CLOCK_SCRIPT: &str = r#"
local time = redis.call('TIME')
return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"#;

/// A round as its ballot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// 1 for the first.
    pub number: i64,
    /// Whether the presenter has voting open; past [`Round::closes_ms`] it is closed all the
    /// same ([`Round::open_at`]).
    pub open: bool,
    /// Its own poll, or `None` for the configured one (the `options` variable, or `option_a` and
    /// `option_b`): round 1 keeps following the variables until the console starts another.
    pub poll: Option<Poll>,
    /// Who sees its counts, and when.
    pub results: Visibility,
    /// When voting closes by itself, ms since 1970.
    pub closes_ms: Option<i64>,
    /// Whether the presenter has revealed its results.
    pub revealed: bool,
}

/// A round's fields as its Redis mirror holds them.
pub struct MirrorFields<'a> {
    pub number: i64,
    pub open: bool,
    pub poll: &'a str,
    pub results: &'a str,
    /// 0: no deadline.
    pub closes_ms: i64,
    pub revealed: bool,
}

/// The poll field's JSON.
#[derive(Serialize, Deserialize)]
struct StoredPoll {
    question: String,
    options: Vec<String>,
}

impl Round {
    /// Round `number` of the configured poll, open, live, without a deadline: round 1 of a
    /// fresh installation.
    pub fn configured(number: i64) -> Round {
        Round {
            number,
            open: true,
            poll: None,
            results: Visibility::Live,
            closes_ms: None,
            revealed: false,
        }
    }

    /// Whether voting is open at `now_ms` (ms since 1970): open, and before any deadline.
    pub fn open_at(&self, now_ms: i64) -> bool {
        self.open && self.closes_ms.is_none_or(|closes| now_ms < closes)
    }

    /// Whole seconds left to vote at `now_ms`, rounded up; `None` without a deadline, 0 once
    /// voting has closed.
    pub fn seconds_left(&self, now_ms: i64) -> Option<i64> {
        let closes = self.closes_ms?;
        Some(if self.open_at(now_ms) {
            (closes - now_ms + 999) / 1000
        } else {
            0
        })
    }

    /// Whether the per-option counts are hidden from everyone but the operator at `now_ms`.
    pub fn counts_hidden(&self, now_ms: i64) -> bool {
        match self.results {
            Visibility::Live | Visibility::AfterVote => false,
            Visibility::AfterClose => self.open_at(now_ms) && !self.revealed,
            Visibility::OnReveal => !self.revealed,
        }
    }

    /// Whether a voter's own vote page shows the counts at `now_ms`, `voted` saying whether
    /// that voter has voted in this round.
    pub fn counts_shown_to_voter(&self, now_ms: i64, voted: bool) -> bool {
        !self.counts_hidden(now_ms) && (voted || self.results != Visibility::AfterVote)
    }

    /// The mirror's `results` field.
    pub fn results_field(&self) -> &'static str {
        self.results.as_str()
    }

    /// The mirror's `closes` field: the deadline, empty without one.
    pub fn closes_field(&self) -> String {
        self.closes_ms.map(|ms| ms.to_string()).unwrap_or_default()
    }

    /// The poll on the round's ballot: its own, or the configured one.
    pub fn ballot<'a>(&'a self, configured: &'a Poll) -> &'a Poll {
        self.poll.as_ref().unwrap_or(configured)
    }

    /// The mirror's `choices` field: the wire forms on the ballot, empty for the configured poll.
    pub fn choices_field(&self) -> String {
        self.poll.as_ref().map(choices_of).unwrap_or_default()
    }

    /// The mirror's `poll` field: the poll as JSON, empty for the configured poll.
    pub fn poll_field(&self) -> String {
        self.poll.as_ref().map(poll_field).unwrap_or_default()
    }

    /// The round's poll as PostgreSQL stores it: labels as a JSON array, both NULL for the
    /// configured poll; the rest as [`Round::configured`] until set.
    pub fn from_stored(
        number: i64,
        open: bool,
        question: Option<&str>,
        labels_json: Option<&str>,
    ) -> Result<Round, PollProblem> {
        let poll = labels_json
            .map(|labels| Poll::from_stored(question.unwrap_or_default(), labels))
            .transpose()?;
        Ok(Round {
            open,
            poll,
            ..Round::configured(number)
        })
    }

    /// The round a mirror's fields describe (an unknown results field reads as live: a
    /// mirror written before results could be hidden).
    pub fn from_fields(fields: &MirrorFields) -> Result<Round, PollProblem> {
        let poll = if fields.poll.is_empty() {
            None
        } else {
            let stored: StoredPoll =
                serde_json::from_str(fields.poll).map_err(|_| PollProblem::NotAList)?;
            Some(Poll::with_question(&stored.question, &stored.options)?)
        };
        Ok(Round {
            number: fields.number,
            open: fields.open,
            poll,
            results: Visibility::parse(fields.results).unwrap_or_default(),
            closes_ms: (fields.closes_ms > 0).then_some(fields.closes_ms),
            revealed: fields.revealed,
        })
    }
}

/// The wire forms of `poll`'s choices, run together: `abc`.
pub fn choices_of(poll: &Poll) -> String {
    poll.options().map(|(choice, _)| choice.as_str()).collect()
}

/// `poll` as the mirror's `poll` field.
pub fn poll_field(poll: &Poll) -> String {
    let stored = StoredPoll {
        question: poll.question().to_owned(),
        options: poll.options().map(|(_, label)| label.to_owned()).collect(),
    };
    serde_json::to_string(&stored).expect("strings always serialize")
}

/// Whether `choice` is on a ballot whose choices field is `choices`.
pub fn offers(choices: &str, choice: Choice) -> bool {
    choices.contains(choice.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_of(round: &Round, poll: &str) -> Round {
        let closes = round.closes_field();
        Round::from_fields(&MirrorFields {
            number: round.number,
            open: round.open,
            poll,
            results: round.results_field(),
            closes_ms: closes.parse().unwrap_or(0),
            revealed: round.revealed,
        })
        .unwrap()
    }

    #[test]
    fn a_round_of_its_own_poll_survives_the_mirror() {
        let poll = Poll::with_question("Lunch?", &["Pizza", "Soup, hot", "Salad"]).unwrap();
        let round = Round {
            number: 3,
            open: false,
            poll: Some(poll),
            results: Visibility::OnReveal,
            closes_ms: Some(1_700_000_030_000),
            revealed: true,
        };
        assert_eq!(round.choices_field(), "abc");
        assert_eq!(fields_of(&round, &round.poll_field()), round);
        assert!(offers(&round.choices_field(), Choice::at(2)));
        assert!(!offers(&round.choices_field(), Choice::at(3)));
    }

    #[test]
    fn the_configured_poll_is_mirrored_as_empty_fields() {
        let configured = Poll::new(&["Cats", "Dogs"]).unwrap();
        let round = Round::configured(1);
        assert_eq!(round.choices_field(), "");
        assert_eq!(round.poll_field(), "");
        assert_eq!(round.closes_field(), "");
        assert_eq!(fields_of(&round, ""), round);
        assert_eq!(round.ballot(&configured), &configured);
        let broken = MirrorFields {
            number: 1,
            open: true,
            poll: "{",
            results: "",
            closes_ms: 0,
            revealed: false,
        };
        assert!(Round::from_fields(&broken).is_err());
    }

    #[test]
    fn a_deadline_closes_voting_at_its_millisecond() {
        let round = Round {
            closes_ms: Some(10_000),
            ..Round::configured(2)
        };
        assert!(round.open_at(9_999));
        assert!(!round.open_at(10_000));
        assert_eq!(round.seconds_left(8_500), Some(2));
        assert_eq!(round.seconds_left(9_999), Some(1));
        assert_eq!(round.seconds_left(10_000), Some(0));
        assert_eq!(Round::configured(2).seconds_left(10_000), None);
        let closed = Round {
            open: false,
            ..round
        };
        assert!(!closed.open_at(0));
        assert_eq!(closed.seconds_left(0), Some(0));
    }

    #[test]
    fn counts_are_hidden_as_the_round_says_until_it_says_otherwise() {
        let with = |results, open, revealed| Round {
            open,
            results,
            revealed,
            ..Round::configured(1)
        };
        let cases = [
            (Visibility::Live, true, false, false, [true, true]),
            (Visibility::AfterVote, true, false, false, [false, true]),
            (Visibility::AfterClose, true, false, true, [false, false]),
            (Visibility::AfterClose, false, false, false, [true, true]),
            (Visibility::AfterClose, true, true, false, [true, true]),
            (Visibility::OnReveal, false, false, true, [false, false]),
            (Visibility::OnReveal, true, true, false, [true, true]),
        ];
        for (results, open, revealed, hidden, [before_voting, after_voting]) in cases {
            let round = with(results, open, revealed);
            assert_eq!(round.counts_hidden(0), hidden, "{round:?}");
            assert_eq!(
                round.counts_shown_to_voter(0, false),
                before_voting,
                "{round:?}"
            );
            assert_eq!(
                round.counts_shown_to_voter(0, true),
                after_voting,
                "{round:?}"
            );
        }
        let timed = Round {
            closes_ms: Some(100),
            ..with(Visibility::AfterClose, true, false)
        };
        assert!(timed.counts_hidden(99));
        assert!(
            !timed.counts_hidden(100),
            "the deadline closes voting and shows the counts"
        );
    }
}
