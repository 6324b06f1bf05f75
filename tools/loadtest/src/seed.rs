//! `seed`: the original seed-data load (3000 votes, 2:1, 50 at a time), each vote from a new
//! voter, then the drain time: from the last accepted vote until `/result/api` shows them all.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::ledger::Ledger;
use crate::load::{self, Load};
use crate::progress;
use crate::split::Split;
use crate::stats::{Latencies, Statuses, millis};
use crate::target::Target;
use crate::wait;
use voting_shared::counts::Counts;

pub struct SeedOptions {
    pub votes: usize,
    pub split: Split,
    pub concurrency: usize,
    /// Wait at most this long for every accepted vote to show in `/result/api`; `None` skips
    /// the wait (for an app without that API, such as the original).
    pub drain_limit: Option<Duration>,
}

pub struct SeedReport {
    pub options_votes: usize,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub statuses: Statuses,
    pub latencies: Option<Latencies>,
    pub accepted: usize,
    pub expected: Counts,
    pub drain: Option<Drain>,
}

/// How the results caught up with the accepted votes.
pub struct Drain {
    pub before: Counts,
    pub after: Option<Counts>,
    /// From the last accepted answer until every accepted vote was visible; `None` if they
    /// never all were within the limit.
    pub time: Option<Duration>,
    pub limit: Duration,
}

impl Drain {
    /// The tally moved by exactly the accepted votes.
    fn is_exact(&self, expected: Counts) -> bool {
        self.after
            .is_some_and(|after| after - self.before == expected)
    }
}

impl SeedReport {
    /// Every vote accepted, and (when measured) every one counted, exactly.
    pub fn is_success(&self) -> bool {
        self.accepted == self.options_votes
            && self
                .drain
                .as_ref()
                .is_none_or(|drain| drain.time.is_some() && drain.is_exact(self.expected))
    }
}

pub async fn seed(target: &Target, options: &SeedOptions) -> anyhow::Result<SeedReport> {
    let before = match options.drain_limit {
        Some(_) => Some(target.tally().await.context(
            "reading the tally before the load; pass --no-drain for an app without /result/api",
        )?),
        None => None,
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let split = options.split;
    let started = Instant::now();
    let attempts = load::run(
        target,
        Load {
            voters: options.votes,
            concurrency: options.concurrency,
            plan: Arc::new(move |index| vec![split.choice_for(index)]),
            rate: None,
            max_votes: options.votes,
            stop: Arc::new(AtomicBool::new(false)),
        },
        ledger.clone(),
        progress::bar(options.votes as u64, "voting"),
    )
    .await;
    let elapsed = started.elapsed();
    let (expected, accepted) = {
        let ledger = ledger.lock().unwrap();
        (ledger.expected(), ledger.accepted_votes())
    };
    let last_accepted = attempts
        .iter()
        .filter(|attempt| attempt.outcome.is_accepted())
        .map(|attempt| attempt.finished)
        .max();

    let drain = match (before, options.drain_limit) {
        (Some(before), Some(limit)) => {
            let spinner = progress::spinner("waiting for /result/api to show every accepted vote");
            let (after, reached) = wait::until_tally(target, limit, |tally| {
                tally.total() - before.total() >= expected.total()
            })
            .await;
            spinner.finish_and_clear();
            let time = reached.then(|| last_accepted.map_or(Duration::ZERO, |at| at.elapsed()));
            Some(Drain {
                before,
                after,
                time,
                limit,
            })
        }
        _ => None,
    };
    Ok(SeedReport {
        options_votes: options.votes,
        concurrency: options.concurrency,
        elapsed,
        statuses: Statuses::of(&attempts),
        latencies: Latencies::of(attempts.iter().map(|attempt| attempt.latency)),
        accepted,
        expected,
        drain,
    })
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "votes:      {} sent by {} clients in {}: {:.0} votes/s",
            self.options_votes,
            self.concurrency,
            millis(self.elapsed),
            self.options_votes as f64 / seconds.max(f64::EPSILON)
        )?;
        writeln!(f, "answers:    {}", self.statuses)?;
        if let Some(latencies) = &self.latencies {
            writeln!(f, "latency:    {latencies}")?;
        }
        writeln!(
            f,
            "accepted:   {} ({})",
            self.accepted,
            self.expected.describe()
        )?;
        let Some(drain) = &self.drain else {
            return writeln!(f, "drain:      not measured (--no-drain)");
        };
        match drain.time {
            Some(time) => writeln!(
                f,
                "drain:      every accepted vote visible in /result/api {} after the last accepted answer",
                millis(time)
            )?,
            None => writeln!(
                f,
                "drain:      NOT every accepted vote was visible in /result/api within {}",
                millis(drain.limit)
            )?,
        }
        match drain.after {
            Some(after) => writeln!(
                f,
                "tally:      {}{}",
                after
                    .listed_choices()
                    .into_iter()
                    .map(|choice| format!(
                        "{choice} {} (+{})",
                        after.of(choice),
                        after.of(choice) - drain.before.of(choice)
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                if drain.is_exact(self.expected) {
                    ": exactly the accepted votes"
                } else {
                    ": NOT the accepted votes (other voters at the same time also show here)"
                }
            ),
            None => writeln!(f, "tally:      /result/api never answered"),
        }
    }
}
