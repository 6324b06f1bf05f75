//! `changes`: voters that vote, change their vote and change it back (half of them change it
//! once more), all at once; the final tally must equal each voter's last accepted vote.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use voting_shared::choice::Choice;

use crate::ledger::{Ledger, Reconciliation};
use crate::load::{self, Load};
use crate::progress;
use crate::split::Split;
use crate::stats::{Latencies, Statuses, millis};
use crate::stores::Postgres;
use crate::target::Target;
use crate::wait;
use voting_shared::counts::Counts;

pub struct ChangesOptions {
    pub voters: usize,
    pub split: Split,
    pub concurrency: usize,
    pub limit: Duration,
}

/// Voter `index`'s votes: its first choice, the other one, the first again, and for every
/// second voter the other one once more, so final votes differ from first ones.
pub fn plan(split: Split, index: usize) -> Vec<Choice> {
    let first = split.choice_for(index);
    let mut votes = vec![first, first.other(), first];
    if index % 2 == 1 {
        votes.push(first.other());
    }
    votes
}

pub struct ChangesReport {
    pub voters: usize,
    pub statuses: Statuses,
    pub latencies: Option<Latencies>,
    pub accepted_votes: usize,
    pub expected: Counts,
    pub before: Counts,
    pub after: Option<Counts>,
    /// From the end of the load until the tally matched.
    pub settled: Option<Duration>,
    pub limit: Duration,
    /// Per voter, when PostgreSQL was given.
    pub stored: Option<Reconciliation>,
}

impl ChangesReport {
    fn tally_matches(&self) -> bool {
        self.after
            .is_some_and(|after| after - self.before == self.expected)
    }

    pub fn is_success(&self) -> bool {
        self.settled.is_some()
            && self.tally_matches()
            && self
                .stored
                .as_ref()
                .is_none_or(|stored| stored.lost.is_empty())
    }
}

pub async fn changes(
    target: &Target,
    postgres: Option<&Postgres>,
    options: &ChangesOptions,
) -> anyhow::Result<ChangesReport> {
    let before = target
        .tally()
        .await
        .context("reading the tally before the load")?;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let split = options.split;
    let planned: usize = (0..options.voters)
        .map(|index| plan(split, index).len())
        .sum();
    let attempts = load::run(
        target,
        Load {
            voters: options.voters,
            concurrency: options.concurrency,
            plan: Arc::new(move |index| plan(split, index)),
            rate: None,
            max_votes: planned,
            stop: Arc::new(AtomicBool::new(false)),
        },
        ledger.clone(),
        progress::bar(planned as u64, "voting and changing"),
    )
    .await;
    let ended = std::time::Instant::now();
    let (expected, accepted_votes, ids) = {
        let ledger = ledger.lock().unwrap();
        (
            ledger.expected(),
            ledger.accepted_votes(),
            ledger.accepted_ids(),
        )
    };
    let spinner = progress::spinner("waiting for /result/api to show every last vote");
    let (after, reached) =
        wait::until_tally(target, options.limit, |tally| tally - before == expected).await;
    spinner.finish_and_clear();
    let stored = match postgres {
        Some(postgres) => {
            let votes = postgres.stored_votes(&ids).await?;
            Some(ledger.lock().unwrap().reconcile(&votes))
        }
        None => None,
    };
    Ok(ChangesReport {
        voters: options.voters,
        statuses: Statuses::of(&attempts),
        latencies: Latencies::of(attempts.iter().map(|attempt| attempt.latency)),
        accepted_votes,
        expected,
        before,
        after,
        settled: reached.then(|| ended.elapsed()),
        limit: options.limit,
        stored,
    })
}

impl fmt::Display for ChangesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "voters:     {} (each votes, changes, changes back; half change again)",
            self.voters
        )?;
        writeln!(f, "answers:    {}", self.statuses)?;
        if let Some(latencies) = &self.latencies {
            writeln!(f, "latency:    {latencies}")?;
        }
        writeln!(
            f,
            "accepted:   {} votes; last votes {}",
            self.accepted_votes,
            self.expected.describe()
        )?;
        match (self.settled, self.after) {
            (Some(time), _) => writeln!(
                f,
                "tally:      equals every voter's last accepted vote {} after the load",
                millis(time)
            )?,
            (None, Some(after)) => writeln!(
                f,
                "tally:      NOT the last accepted votes within {}: gained {} (expected {})",
                millis(self.limit),
                (after - self.before).describe(),
                self.expected.describe()
            )?,
            (None, None) => writeln!(f, "tally:      /result/api never answered")?,
        }
        if let Some(stored) = &self.stored {
            writeln!(
                f,
                "postgres:   {} of {} voters stored with their last accepted vote",
                stored.counted, stored.accepted
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_voter_changes_and_changes_back_and_half_end_on_the_other_option() {
        let split = Split::default();
        assert_eq!(plan(split, 0), [Choice::A, Choice::B, Choice::A]);
        assert_eq!(plan(split, 1), [Choice::A, Choice::B, Choice::A, Choice::B]);
        let changed_in_the_end = (0..100)
            .filter(|&index| {
                let votes = plan(split, index);
                votes.first() != votes.last()
            })
            .count();
        assert_eq!(changed_in_the_end, 50);
    }
}
