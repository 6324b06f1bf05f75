//! What the app promised: every vote it accepted, per voter, and the check of what it counted
//! against that promise. The last accepted vote of a voter must be the one counted; a later
//! vote the app refused or never answered may have been counted instead, so it is allowed.

use std::collections::HashMap;

use voting_shared::choice::Choice;
use voting_shared::counts::Counts;

use crate::target::{Attempt, Outcome};

#[derive(Debug, Default)]
pub struct Ledger {
    voters: HashMap<String, VoterRecord>,
    accepted_votes: usize,
    /// First votes that got no answer, so no voter id: the app may have counted them under an
    /// id the tool never learnt.
    unidentified: usize,
}

#[derive(Debug, Default)]
struct VoterRecord {
    last_accepted: Option<Choice>,
    /// Votes sent after the last accepted one that the app refused or did not answer.
    since: Vec<Choice>,
}

/// The outcome of comparing the ledger with the votes stored for its voters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Voters with at least one accepted vote.
    pub accepted: usize,
    /// Of those, voters stored with their last accepted vote (or a later unconfirmed one).
    pub counted: usize,
    /// Voters whose last accepted vote is missing or was replaced by an earlier one.
    pub lost: Vec<Loss>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub voter: String,
    pub accepted: Choice,
    /// What is stored instead, if anything.
    pub stored: Option<String>,
}

impl Ledger {
    /// Records one attempt by the voter the app knows as `voter` (`None` before it issued an id).
    pub fn record(&mut self, voter: Option<&str>, attempt: &Attempt) {
        let accepted = attempt.outcome.is_accepted();
        if accepted {
            self.accepted_votes += 1;
        }
        let Some(voter) = voter else {
            if attempt.outcome == Outcome::NoAnswer {
                self.unidentified += 1;
            }
            return;
        };
        let record = self.voters.entry(voter.to_owned()).or_default();
        if accepted {
            record.last_accepted = Some(attempt.choice);
            record.since.clear();
        } else {
            record.since.push(attempt.choice);
        }
    }

    /// Voters with an accepted vote.
    pub fn accepted_voters(&self) -> usize {
        self.accepted().count()
    }

    pub fn accepted_votes(&self) -> usize {
        self.accepted_votes
    }

    /// Voters none of whose votes was accepted, but who may have been counted anyway: a vote
    /// that got no answer, or an error after the app had queued it.
    pub fn unconfirmed_voters(&self) -> usize {
        self.unidentified
            + self
                .voters
                .values()
                .filter(|record| record.last_accepted.is_none())
                .count()
    }

    /// The ids of voters with an accepted vote.
    pub fn accepted_ids(&self) -> Vec<String> {
        self.accepted().map(|(id, _)| id.to_owned()).collect()
    }

    /// The tally the accepted votes add up to, counting each voter's last one.
    pub fn expected(&self) -> Counts {
        let mut counts = Counts::default();
        for (_, choice) in self.accepted() {
            counts.add_vote(choice);
        }
        counts
    }

    /// Compares the votes stored per voter id with what was accepted.
    pub fn reconcile(&self, stored: &HashMap<String, String>) -> Reconciliation {
        let mut reconciliation = Reconciliation::default();
        for (voter, record) in &self.voters {
            let Some(accepted) = record.last_accepted else {
                continue;
            };
            reconciliation.accepted += 1;
            let found = stored.get(voter);
            let allowed = |vote: &String| {
                Choice::parse(vote)
                    .is_some_and(|choice| choice == accepted || record.since.contains(&choice))
            };
            if found.is_some_and(allowed) {
                reconciliation.counted += 1;
            } else {
                reconciliation.lost.push(Loss {
                    voter: voter.clone(),
                    accepted,
                    stored: found.cloned(),
                });
            }
        }
        reconciliation.lost.sort_by(|x, y| x.voter.cmp(&y.voter));
        reconciliation
    }

    fn accepted(&self) -> impl Iterator<Item = (&str, Choice)> {
        self.voters
            .iter()
            .filter_map(|(id, record)| Some((id.as_str(), record.last_accepted?)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use reqwest::StatusCode;

    use super::*;

    fn attempt(choice: Choice, outcome: Outcome) -> Attempt {
        Attempt {
            choice,
            outcome,
            latency: Duration::ZERO,
            finished: Instant::now(),
        }
    }

    const OK: Outcome = Outcome::Accepted(StatusCode::OK);
    const DOWN: Outcome = Outcome::Refused(StatusCode::SERVICE_UNAVAILABLE);

    fn stored(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(id, vote)| (id.to_string(), vote.to_string()))
            .collect()
    }

    #[test]
    fn the_last_accepted_vote_is_the_one_expected() {
        let mut ledger = Ledger::default();
        ledger.record(Some("v1"), &attempt(Choice::A, OK));
        ledger.record(Some("v1"), &attempt(Choice::B, OK));
        ledger.record(Some("v2"), &attempt(Choice::A, OK));
        assert_eq!(ledger.expected(), Counts::new(&[1, 1]));
        assert_eq!(ledger.accepted_votes(), 3);

        let all_there = ledger.reconcile(&stored(&[("v1", "b"), ("v2", "a")]));
        assert_eq!(all_there.counted, 2);
        assert!(all_there.lost.is_empty());

        let first_vote_won = ledger.reconcile(&stored(&[("v1", "a"), ("v2", "a")]));
        assert_eq!(
            first_vote_won.lost,
            vec![Loss {
                voter: "v1".into(),
                accepted: Choice::B,
                stored: Some("a".into())
            }]
        );
    }

    #[test]
    fn a_missing_voter_is_lost() {
        let mut ledger = Ledger::default();
        ledger.record(Some("v1"), &attempt(Choice::A, OK));
        let reconciliation = ledger.reconcile(&HashMap::new());
        assert_eq!(reconciliation.accepted, 1);
        assert_eq!(reconciliation.counted, 0);
        assert_eq!(reconciliation.lost[0].stored, None);
    }

    #[test]
    fn a_later_unconfirmed_vote_may_be_the_one_counted() {
        let mut ledger = Ledger::default();
        ledger.record(Some("v1"), &attempt(Choice::A, OK));
        ledger.record(Some("v1"), &attempt(Choice::B, Outcome::NoAnswer));
        ledger.record(Some("v2"), &attempt(Choice::A, OK));
        ledger.record(Some("v2"), &attempt(Choice::B, DOWN));
        assert_eq!(ledger.expected(), Counts::new(&[2, 0]));
        let reconciliation = ledger.reconcile(&stored(&[("v1", "b"), ("v2", "a")]));
        assert!(reconciliation.lost.is_empty(), "{reconciliation:?}");
    }

    #[test]
    fn an_accepted_vote_after_a_refused_one_must_win() {
        let mut ledger = Ledger::default();
        ledger.record(Some("v1"), &attempt(Choice::B, DOWN));
        ledger.record(Some("v1"), &attempt(Choice::A, OK));
        let reconciliation = ledger.reconcile(&stored(&[("v1", "b")]));
        assert_eq!(reconciliation.lost.len(), 1);
    }

    #[test]
    fn voters_never_accepted_are_not_expected() {
        let mut ledger = Ledger::default();
        ledger.record(Some("v1"), &attempt(Choice::A, DOWN));
        ledger.record(None, &attempt(Choice::A, Outcome::NoAnswer));
        ledger.record(None, &attempt(Choice::A, DOWN));
        assert_eq!(ledger.accepted_voters(), 0);
        assert_eq!(ledger.unconfirmed_voters(), 2);
        assert_eq!(ledger.reconcile(&stored(&[("v1", "a")])).accepted, 0);
    }

    #[test]
    fn a_stored_value_that_is_not_an_option_is_a_loss() {
        let mut ledger = Ledger::default();
        ledger.record(Some("v1"), &attempt(Choice::A, OK));
        assert_eq!(ledger.reconcile(&stored(&[("v1", "A")])).lost.len(), 1);
    }
}
