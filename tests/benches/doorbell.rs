//! What the worker costs per vote under a concurrent load: new voters posting from 50 clients
//! at once (as `wrk -c50` does), against real Redis and PostgreSQL, with the worker draining
//! beside them or not at all. For each deployment — `spin.toml` with one Redis trigger, with
//! two (two `spin up` replicas, or SpinKube's two worker pods), and `spin.http-only.toml` —
//! it prints the vote rate, the Redis script calls per counted vote (the vote's own enqueue
//! script and the worker's), the PostgreSQL statements per counted vote (each is its own
//! transaction under Spin), the worker's runs and its batches' mean size, and the time from
//! the last answer to the last vote visible in `/result/api`. Last, on an idle app, the time
//! from a single vote's answer to the vote visible in `/result/api`.
//!
//! Run: `cargo build --target wasm32-wasip2 --release -p counter -p vote -p worker -p result
//! -p admin`, then `cargo bench -p voting-tests --bench doorbell`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spin_test_host::{App, HostCall};
use voting_shared::queue::ENQUEUE_SCRIPT;
use voting_tests::{Deployment, TestEnv, seed_votes};

const VOTES: usize = 3000;
const CLIENTS: usize = 50;
const RUNS: usize = 3;

/// How the worker is woken in a scenario.
#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    /// `spin.toml`, nobody subscribed: what the vote component alone costs.
    VoteAlone,
    /// `spin.toml` with `workers` Redis triggers subscribed.
    RedisTrigger { workers: usize },
    /// `spin.http-only.toml`: vote rings the private worker by service chaining.
    HttpOnly,
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Scenario::VoteAlone => "vote alone (nobody drains)".to_owned(),
            Scenario::RedisTrigger { workers: 1 } => "spin.toml, one worker".to_owned(),
            Scenario::RedisTrigger { workers } => format!("spin.toml, {workers} workers"),
            Scenario::HttpOnly => "spin.http-only.toml".to_owned(),
        }
    }
}

#[derive(Default)]
struct Counts {
    enqueue_scripts: usize,
    worker_scripts: usize,
    other_redis: usize,
    postgres_statements: usize,
    batches: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scenarios = [
        Scenario::VoteAlone,
        Scenario::RedisTrigger { workers: 1 },
        Scenario::RedisTrigger { workers: 2 },
        Scenario::HttpOnly,
    ];
    for scenario in scenarios {
        println!("{}:", scenario.name());
        for _ in 0..RUNS {
            run(scenario).await?;
        }
    }
    single_votes_on_an_idle_app().await
}

/// One vote at a time on an idle app (spin.toml, one worker): from its answer to the vote
/// visible in `/result/api`, polled every millisecond.
async fn single_votes_on_an_idle_app() -> anyhow::Result<()> {
    const VOTES: usize = 30;
    let env = TestEnv::setup()
        .env("SPIN_VARIABLE_COOKIE_SECRET", "benchmark secret")
        .start()
        .await?;
    let _triggers = env.app.start_redis_triggers().await?;
    let reader = env.another_app()?;
    let mut times = Vec::new();
    for vote in 1..=VOTES {
        let response = voting_tests::Visitor::new(&env.app).vote("a").await?;
        anyhow::ensure!(
            response.status() == 200,
            "a vote answered {}",
            response.status()
        );
        let answered = Instant::now();
        loop {
            let response = reader.get("/result/api").await?;
            let tally: serde_json::Value = serde_json::from_slice(response.body())?;
            if tally["total"] == vote as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(answered.elapsed());
        // Idle again: the run has given the doorbell up before the next vote.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    times.sort();
    println!(
        "idle app, one vote at a time ({VOTES}): answer → visible median {:.1} ms, p90 {:.1} ms",
        times[VOTES / 2].as_secs_f64() * 1000.0,
        times[VOTES * 9 / 10].as_secs_f64() * 1000.0
    );
    Ok(())
}

async fn run(scenario: Scenario) -> anyhow::Result<()> {
    let deployment = match scenario {
        Scenario::HttpOnly => Deployment::HttpOnly,
        _ => Deployment::RedisTrigger,
    };
    let env = TestEnv::setup()
        .deployment(deployment)
        .env("SPIN_VARIABLE_COOKIE_SECRET", "benchmark secret")
        .start()
        .await?;
    let workers = match scenario {
        Scenario::RedisTrigger { workers } => workers,
        _ => 0,
    };
    let apps: Vec<App> = (1..workers)
        .map(|_| env.another_app())
        .collect::<anyhow::Result<_>>()?;
    let counts: Arc<Mutex<Counts>> = Arc::default();
    let mut triggers = Vec::new();
    for app in std::iter::once(&env.app).chain(&apps) {
        count_host_calls(app, &counts);
        if workers > 0 {
            triggers.push(app.start_redis_triggers().await?);
        }
    }
    // Results are read by an app of their own, so that their polls are not counted.
    let reader = env.another_app()?;
    let started = Instant::now();
    seed_votes(&env.app, VOTES, CLIENTS).await?;
    let posting = started.elapsed();
    let last_answer = Instant::now();
    let visible = if scenario == Scenario::VoteAlone {
        None
    } else {
        wait_for_total(&reader, VOTES).await?;
        Some(last_answer.elapsed())
    };
    let doorbells: u64 = triggers.iter().map(|t| t.messages_handled()).sum();
    let counts = counts.lock().unwrap();
    let per_vote = |n: usize| n as f64 / VOTES as f64;
    print!(
        "  {:>5.0} votes/s; per counted vote: {:.2} Redis scripts ({:.2} enqueue + {:.2} worker), \
         {:.3} PostgreSQL statements",
        VOTES as f64 / posting.as_secs_f64(),
        per_vote(counts.enqueue_scripts + counts.worker_scripts),
        per_vote(counts.enqueue_scripts),
        per_vote(counts.worker_scripts),
        per_vote(counts.postgres_statements),
    );
    if doorbells > 0 {
        print!("; {doorbells} doorbells");
    }
    if counts.batches > 0 {
        print!(
            "; {} batches of {:.1} votes",
            counts.batches,
            VOTES as f64 / counts.batches as f64
        );
    }
    if let Some(visible) = visible {
        print!(
            "; last vote visible {} ms after the last answer",
            visible.as_millis()
        );
    }
    if counts.other_redis > 0 {
        print!("; {} other Redis commands", counts.other_redis);
    }
    println!();
    Ok(())
}

/// Counts the host calls `app`'s components make into `counts`.
fn count_host_calls(app: &App, counts: &Arc<Mutex<Counts>>) {
    let counts = counts.clone();
    app.on_host_call(Arc::new(move |call: &HostCall| {
        let mut counts = counts.lock().unwrap();
        match call {
            HostCall::RedisExecute { command, arguments }
                if command.eq_ignore_ascii_case("EVAL") =>
            {
                if arguments.first().map(Vec::as_slice) == Some(ENQUEUE_SCRIPT.as_bytes()) {
                    counts.enqueue_scripts += 1;
                } else {
                    counts.worker_scripts += 1;
                }
            }
            HostCall::RedisExecute { .. } => counts.other_redis += 1,
            HostCall::PostgresStatement(statement) => {
                counts.postgres_statements += 1;
                if statement.contains("record_batch") {
                    counts.batches += 1;
                }
            }
            HostCall::RedisOpen | HostCall::PostgresOpen | HostCall::HttpSend(_) => {}
        }
        None
    }));
}

async fn wait_for_total(app: &App, total: usize) -> anyhow::Result<()> {
    let limit = Instant::now() + Duration::from_secs(60);
    loop {
        let response = app.get("/result/api").await?;
        let tally: serde_json::Value = serde_json::from_slice(response.body())?;
        if tally["total"] == total as u64 {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < limit, "not all votes counted: {tally}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
