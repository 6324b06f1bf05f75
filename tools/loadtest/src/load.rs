//! Many voters at once: each votes its plan in order, as one browser, from a pool of
//! concurrent clients; every answer goes into the shared ledger.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::time::{Interval, MissedTickBehavior};
use voting_shared::choice::Choice;

use crate::ledger::Ledger;
use crate::target::{Attempt, Target, Voter};

/// The votes of voter `index`, in order.
pub type Plan = Arc<dyn Fn(usize) -> Vec<Choice> + Send + Sync>;

pub struct Load {
    pub voters: usize,
    pub concurrency: usize,
    pub plan: Plan,
    /// At most this many votes per second, if set.
    pub rate: Option<u32>,
    /// At most this many votes in all.
    pub max_votes: usize,
    /// Stops starting votes once set.
    pub stop: Arc<AtomicBool>,
}

/// Runs `load` against `target` to the end (or until stopped) and returns every attempt.
pub async fn run(
    target: &Target,
    load: Load,
    ledger: Arc<Mutex<Ledger>>,
    progress: ProgressBar,
) -> Vec<Attempt> {
    let next_voter = Arc::new(AtomicUsize::new(0));
    let votes_started = Arc::new(AtomicUsize::new(0));
    let pace = load.rate.map(|rate| {
        let mut interval = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Arc::new(tokio::sync::Mutex::new(interval))
    });
    let clients = (0..load.concurrency.max(1)).map(|_| {
        let client = Client {
            target: target.clone(),
            ledger: ledger.clone(),
            next_voter: next_voter.clone(),
            voters: load.voters,
            votes_started: votes_started.clone(),
            max_votes: load.max_votes,
            plan: load.plan.clone(),
            pace: pace.clone(),
            stop: load.stop.clone(),
            progress: progress.clone(),
        };
        tokio::spawn(client.run())
    });
    let mut attempts = Vec::new();
    for client in clients.collect::<Vec<_>>() {
        attempts.extend(client.await.expect("a load client panicked"));
    }
    progress.finish();
    attempts
}

struct Client {
    target: Target,
    ledger: Arc<Mutex<Ledger>>,
    next_voter: Arc<AtomicUsize>,
    voters: usize,
    votes_started: Arc<AtomicUsize>,
    max_votes: usize,
    plan: Plan,
    pace: Option<Arc<tokio::sync::Mutex<Interval>>>,
    stop: Arc<AtomicBool>,
    progress: ProgressBar,
}

impl Client {
    async fn run(self) -> Vec<Attempt> {
        let mut attempts = Vec::new();
        loop {
            let index = self.next_voter.fetch_add(1, Ordering::Relaxed);
            if index >= self.voters {
                return attempts;
            }
            let mut voter = Voter::default();
            for choice in (self.plan)(index) {
                if self.stop.load(Ordering::Relaxed)
                    || self.votes_started.fetch_add(1, Ordering::Relaxed) >= self.max_votes
                {
                    return attempts;
                }
                if let Some(pace) = &self.pace {
                    pace.lock().await.tick().await;
                }
                let attempt = self.target.vote(&mut voter, choice).await;
                // The app stores the vote under the id of the cookie it sent back, if it
                // issued one with this answer, else under the one the voter already had.
                self.ledger.lock().unwrap().record(voter.id(), &attempt);
                self.progress.inc(1);
                attempts.push(attempt);
            }
        }
    }
}
