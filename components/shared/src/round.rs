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
use crate::poll::{Poll, PollProblem};

/// The Redis hash mirroring the current round: `round`, `open` (`1` or `0`), `choices` (the
/// wire forms on the ballot, `abc`; empty for the configured poll) and `poll` (its JSON, or
/// empty for the configured poll).
pub const ROUND_KEY: &str = "voting:round";

/// What [`READ_ROUND_SCRIPT`] and the enqueue script answer while the mirror is missing.
pub const NO_ROUND: i64 = 0;

/// The current round for the voting page, in one round trip. KEYS: [`ROUND_KEY`]. ARGV: the
/// votes channel and the doorbell. Returns the round, `1` or `0` for open, and the poll field;
/// without a mirror, rings the doorbell (the worker restores it) and returns [`NO_ROUND`].
pub const READ_ROUND_SCRIPT: &str = r#"
local round = redis.call('HMGET', KEYS[1], 'round', 'open', 'poll')
if not round[1] then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return {0, 0, ''}
end
return {tonumber(round[1]), tonumber(round[2]), round[3] or ''}
"#;

/// Writes the mirror. KEYS: [`ROUND_KEY`]. ARGV: `1` to write only where there is none (a
/// restore, which must not undo a newer change by the console), then the round, `1`/`0` for
/// open, the choices and the poll field. Returns 1 when it wrote.
pub const MIRROR_ROUND_SCRIPT: &str = r#"
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'round', ARGV[2], 'open', ARGV[3], 'choices', ARGV[4], 'poll', ARGV[5])
return 1
"#;

/// A round as its ballot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// 1 for the first.
    pub number: i64,
    pub open: bool,
    /// Its own poll, or `None` for the configured one (the `options` variable, or `option_a` and
    /// `option_b`): round 1 keeps following the variables until the console starts another.
    pub poll: Option<Poll>,
}

/// The poll field's JSON.
#[derive(Serialize, Deserialize)]
struct StoredPoll {
    question: String,
    options: Vec<String>,
}

impl Round {
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

    /// The round as PostgreSQL stores it: labels as a JSON array, both NULL for the configured
    /// poll.
    pub fn from_stored(
        number: i64,
        open: bool,
        question: Option<&str>,
        labels_json: Option<&str>,
    ) -> Result<Round, PollProblem> {
        let poll = labels_json
            .map(|labels| Poll::from_stored(question.unwrap_or_default(), labels))
            .transpose()?;
        Ok(Round { number, open, poll })
    }

    /// The round a mirror's fields describe.
    pub fn from_fields(number: i64, open: bool, poll_field: &str) -> Result<Round, PollProblem> {
        let poll = if poll_field.is_empty() {
            None
        } else {
            let stored: StoredPoll =
                serde_json::from_str(poll_field).map_err(|_| PollProblem::NotAList)?;
            Some(Poll::with_question(&stored.question, &stored.options)?)
        };
        Ok(Round { number, open, poll })
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

    #[test]
    fn a_round_of_its_own_poll_survives_the_mirror() {
        let poll = Poll::with_question("Lunch?", &["Pizza", "Soup, hot", "Salad"]).unwrap();
        let round = Round {
            number: 3,
            open: false,
            poll: Some(poll),
        };
        assert_eq!(round.choices_field(), "abc");
        let back = Round::from_fields(3, false, &round.poll_field()).unwrap();
        assert_eq!(back, round);
        assert!(offers(&round.choices_field(), Choice::at(2)));
        assert!(!offers(&round.choices_field(), Choice::at(3)));
    }

    #[test]
    fn the_configured_poll_is_mirrored_as_empty_fields() {
        let configured = Poll::new(&["Cats", "Dogs"]).unwrap();
        let round = Round {
            number: 1,
            open: true,
            poll: None,
        };
        assert_eq!(round.choices_field(), "");
        assert_eq!(round.poll_field(), "");
        assert_eq!(Round::from_fields(1, true, "").unwrap(), round);
        assert_eq!(round.ballot(&configured), &configured);
        assert!(Round::from_fields(1, true, "{").is_err());
    }
}
