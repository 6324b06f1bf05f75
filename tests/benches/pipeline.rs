//! End-to-end benchmark of the voting pipeline under the test host, with real Redis and
//! PostgreSQL: 3000 votes from distinct voters through `POST /` while the Redis trigger runs
//! as Spin runs it, then the time from the last POST answer to the last vote visible in
//! `/result/api`; and the Redis and PostgreSQL round trips per vote and per batch.
//!
//! Run: `cargo build --target wasm32-wasip2 --release -p counter -p vote -p worker -p result
//! -p admin`
//! then `cargo bench -p voting-tests --bench pipeline`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spin_test_host::{App, HostCall};
use voting_tests::{TestEnv, seed_votes};

const VOTES: usize = 3000;
const CLIENTS: usize = 8;
const RUNS: usize = 3;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secret = [("SPIN_VARIABLE_COOKIE_SECRET", "benchmark secret")];
    let mut latencies = Vec::new();
    for run in 1..=RUNS {
        let env = TestEnv::setup().envs(&secret).start().await?;
        let _triggers = env.app.start_redis_triggers().await?;
        let started = Instant::now();
        post_votes(&env.app, VOTES).await?;
        let last_post = Instant::now();
        wait_for_total(&env.app, VOTES).await?;
        let visible = last_post.elapsed();
        let posting = last_post - started;
        println!(
            "run {run}: {VOTES} POSTs in {:.2} s ({:.0} votes/s, {CLIENTS} clients); \
             last POST → last vote visible in /result/api: {} ms",
            posting.as_secs_f64(),
            VOTES as f64 / posting.as_secs_f64(),
            visible.as_millis()
        );
        latencies.push(visible);
    }
    latencies.sort();
    println!(
        "median last POST → visible: {} ms",
        latencies[RUNS / 2].as_millis()
    );

    // Round trips, counted at the host calls: first one vote and a drain so that the worker
    // has created the schema, then 1000 votes and one doorbell.
    let env = TestEnv::setup().envs(&secret).start().await?;
    post_votes(&env.app, 1).await?;
    env.drain().await?;
    let calls = count_host_calls(&env.app);
    post_votes(&env.app, 1000).await?;
    report("1000 votes (vote component)", &calls);
    calls.lock().unwrap().clear();
    env.drain().await?;
    let batches = 1000_usize.div_ceil(voting_shared::queue::BATCH_SIZE);
    report(
        &format!("one doorbell draining them in {batches} batches (worker)"),
        &calls,
    );
    Ok(())
}

async fn post_votes(app: &App, votes: usize) -> anyhow::Result<()> {
    seed_votes(app, votes, CLIENTS).await
}

async fn wait_for_total(app: &App, total: usize) -> anyhow::Result<()> {
    loop {
        let response = app.get("/result/api").await?;
        let tally: serde_json::Value = serde_json::from_slice(response.body())?;
        if tally["total"] == total {
            anyhow::ensure!(
                tally["a"] == 2000 && tally["b"] == 1000,
                "wrong tally {tally}"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

type Calls = Arc<Mutex<BTreeMap<&'static str, usize>>>;

fn count_host_calls(app: &App) -> Calls {
    let calls: Calls = Arc::default();
    let counter = calls.clone();
    app.on_host_call(Arc::new(move |call: &HostCall| {
        let kind = match call {
            HostCall::RedisOpen => "Redis connections opened",
            HostCall::RedisExecute { .. } => "Redis commands (round trips)",
            HostCall::PostgresOpen => "PostgreSQL connections taken from the pool",
            HostCall::PostgresStatement(_) => "PostgreSQL statements (round trips)",
            HostCall::HttpSend(_) => "HTTP requests (service chaining)",
        };
        *counter.lock().unwrap().entry(kind).or_default() += 1;
        None
    }));
    calls
}

fn report(what: &str, calls: &Calls) {
    println!("{what}:");
    for (kind, count) in calls.lock().unwrap().iter() {
        println!("  {kind}: {count}");
    }
}
