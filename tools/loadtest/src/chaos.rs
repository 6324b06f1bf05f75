//! `chaos`: a steady vote load while faults are injected one after another; then, once the
//! queue has drained, every voter's last accepted vote must be the one stored in PostgreSQL,
//! and `/result/api` must show no more votes than were sent.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use voting_shared::choice::Choice;

use crate::faults::Fault;
use crate::ledger::{Ledger, Loss};
use crate::load::{self, Load};
use crate::progress;
use crate::split::Split;
use crate::stats::{Statuses, millis};
use crate::stores::{Postgres, Queue, Redis};
use crate::target::Target;
use crate::wait;
use voting_shared::counts::Counts;

pub struct ChaosOptions {
    pub split: Split,
    pub concurrency: usize,
    /// Votes per second during the whole run.
    pub rate: u32,
    /// The most votes the run sends, whatever happens.
    pub max_votes: usize,
    /// How long a fault with a healing step keeps its service down before that step.
    pub outage: Duration,
    /// Load before the first fault and after each recovery.
    pub settle: Duration,
    /// How long to wait for the results to catch up after each fault, and for the queue to
    /// drain at the end.
    pub converge_limit: Duration,
}

/// Voter `index`'s votes: one, two (a change) or three (a change and back).
pub fn plan(split: Split, index: usize) -> Vec<Choice> {
    let first = split.choice_for(index);
    [first, first.other(), first][..=index % 3].to_vec()
}

pub struct FaultRecord {
    pub name: String,
    /// Why injecting or healing failed, if it did.
    pub error: Option<String>,
    /// From the end of the fault (its healing step, or its injection when the service comes
    /// back by itself) until every vote accepted before then was visible.
    pub converged: Option<Duration>,
}

pub struct ChaosReport {
    pub faults: Vec<FaultRecord>,
    pub statuses: Statuses,
    pub accepted_votes: usize,
    pub accepted_voters: usize,
    pub counted: usize,
    pub lost: Vec<Loss>,
    /// What `/result/api` gained during the run, next to what PostgreSQL stores for the
    /// accepted voters; `None` if it never answered at the end.
    pub results: Option<(Counts, Counts)>,
    /// Votes `/result/api` gained beyond the stored ones and the unconfirmed ones.
    pub duplicated: i64,
    pub queue: Queue,
    pub drained: bool,
    pub limit: Duration,
}

impl ChaosReport {
    /// Nothing accepted was lost or counted twice, the results show every stored vote, every
    /// fault ran, and the queue drained.
    pub fn is_success(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated <= 0
            && self
                .results
                .is_some_and(|(shown, stored)| shown.covers(&stored))
            && self.drained
            && self.faults.iter().all(|fault| fault.error.is_none())
    }
}

pub async fn chaos(
    target: &Target,
    redis: &Redis,
    postgres: &Postgres,
    faults: &mut [Box<dyn Fault>],
    options: &ChaosOptions,
) -> anyhow::Result<ChaosReport> {
    let before = target
        .tally()
        .await
        .context("reading the tally before the run; is the app up at --url?")?;
    redis.queue().await?;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let split = options.split;
    let progress = progress::bar(options.max_votes as u64, "votes");
    let load = {
        let target = target.clone();
        let ledger = ledger.clone();
        let load = Load {
            voters: usize::MAX,
            concurrency: options.concurrency,
            plan: Arc::new(move |index| plan(split, index)),
            rate: Some(options.rate),
            max_votes: options.max_votes,
            stop: stop.clone(),
        };
        let progress = progress.clone();
        tokio::spawn(async move { load::run(&target, load, ledger, progress).await })
    };
    tokio::time::sleep(options.settle).await;
    let mut records = Vec::new();
    for fault in faults.iter_mut() {
        progress.set_message(fault.name().to_owned());
        let mut record = FaultRecord {
            name: fault.name().to_owned(),
            error: None,
            converged: None,
        };
        let outcome = async {
            fault.inject().await.context("injecting")?;
            if let Some(heal) = fault.heal() {
                tokio::time::sleep(options.outage).await;
                heal.await.context("healing")?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(error) = outcome {
            record.error = Some(format!("{error:#}"));
        }
        let ended = Instant::now();
        let owed = before.total() + ledger.lock().unwrap().accepted_voters() as i64;
        let (_, reached) = wait::until_tally(target, options.converge_limit, |tally| {
            tally.total() >= owed
        })
        .await;
        record.converged = reached.then(|| ended.elapsed());
        records.push(record);
        progress.set_message("votes");
        tokio::time::sleep(options.settle).await;
    }
    stop.store(true, Ordering::Relaxed);
    let attempts = load.await.context("the load failed")?;

    let spinner = progress::spinner("waiting for the queue to drain");
    let (queue, drained) = drain(redis, options.converge_limit).await?;
    spinner.finish_and_clear();
    let (unconfirmed, ids) = {
        let ledger = ledger.lock().unwrap();
        (ledger.unconfirmed_voters() as i64, ledger.accepted_ids())
    };
    // With the queue empty every vote is committed; the results may still be a second behind
    // (a cache in front keeps a copy that long), so wait for them to show every stored vote.
    let stored = postgres.stored_votes(&ids).await?;
    let mut stored_counts = Counts::default();
    for vote in stored.values() {
        if let Some(choice) = Choice::parse(vote) {
            stored_counts.add_vote(choice);
        }
    }
    let (after, _) = wait::until_tally(target, options.converge_limit, |tally| {
        (tally - before).covers(&stored_counts)
    })
    .await;
    let results = after.map(|after| (after - before, stored_counts));
    // Votes never confirmed may be counted too, some under ids the tool never learnt.
    let duplicated = results.map_or(0, |(shown, stored)| {
        shown.total() - stored.total() - unconfirmed
    });
    let ledger = ledger.lock().unwrap();
    let reconciliation = ledger.reconcile(&stored);
    Ok(ChaosReport {
        faults: records,
        statuses: Statuses::of(&attempts),
        accepted_votes: ledger.accepted_votes(),
        accepted_voters: reconciliation.accepted,
        counted: reconciliation.counted,
        lost: reconciliation.lost,
        results,
        duplicated,
        queue,
        drained,
        limit: options.converge_limit,
    })
}

/// Waits until no vote waits in Redis: then every accepted vote has been written or lost.
async fn drain(redis: &Redis, limit: Duration) -> anyhow::Result<(Queue, bool)> {
    let deadline = Instant::now() + limit;
    loop {
        match redis.queue().await {
            Ok(queue) if queue.waiting == 0 => return Ok((queue, true)),
            Ok(queue) if Instant::now() >= deadline => return Ok((queue, false)),
            Err(error) if Instant::now() >= deadline => return Err(error),
            _ => tokio::time::sleep(wait::POLL_INTERVAL).await,
        }
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "faults injected:")?;
        for fault in &self.faults {
            let converged = match fault.converged {
                Some(time) => format!("results caught up {} after it", millis(time)),
                None => format!("results did NOT catch up within {}", millis(self.limit)),
            };
            match &fault.error {
                None => writeln!(f, "  {:<22} {converged}", fault.name)?,
                Some(error) => writeln!(f, "  {:<22} FAILED: {error}; {converged}", fault.name)?,
            }
        }
        writeln!(f, "answers:    {}", self.statuses)?;
        writeln!(
            f,
            "accepted:   {} votes from {} voters",
            self.accepted_votes, self.accepted_voters
        )?;
        writeln!(
            f,
            "counted:    {} voters stored with their last accepted vote",
            self.counted
        )?;
        writeln!(f, "lost:       {}", self.lost.len())?;
        for loss in self.lost.iter().take(10) {
            writeln!(
                f,
                "  voter {} accepted {}, stored {}",
                loss.voter,
                loss.accepted,
                loss.stored.as_deref().unwrap_or("nothing")
            )?;
        }
        match self.results {
            Some((shown, stored)) => writeln!(
                f,
                "results:    /result/api gained {}; PostgreSQL stores {} for the accepted voters{}",
                shown.describe(),
                stored.describe(),
                if shown.covers(&stored) {
                    ""
                } else {
                    ": the results do NOT show every stored vote"
                }
            )?,
            None => writeln!(f, "results:    /result/api never answered at the end")?,
        }
        writeln!(f, "duplicated: {}", self.duplicated.max(0))?;
        if self.drained {
            writeln!(
                f,
                "queue:      drained ({} dead letters)",
                self.queue.dead_letters
            )
        } else {
            writeln!(
                f,
                "queue:      NOT drained within {}: {} votes still waiting",
                millis(self.limit),
                self.queue.waiting
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voters_vote_once_change_or_change_back() {
        let split = Split::default();
        assert_eq!(plan(split, 0), [Choice::A]);
        assert_eq!(plan(split, 1), [Choice::A, Choice::B]);
        assert_eq!(plan(split, 2), [Choice::B, Choice::A, Choice::B]);
    }
}
