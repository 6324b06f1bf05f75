//! The app under the test host, served on a loopback port with its own Redis and PostgreSQL
//! and the worker subscribed, until Ctrl-C: something to point `loadtest` at on a machine
//! without the Spin CLI. It prints the addresses the tool takes, and when stopped, the memory
//! the run took: the most linear memory an instance of each component had, and the process's
//! peak resident memory (the figures the SpinKube resources are sized from).
//!
//! Run: `cargo build --target wasm32-wasip2 --release -p counter -p vote -p worker -p result
//! -p admin`,
//! then `cargo run --profile bench -p voting-tests --example serve [-- --http-only]`.

use test_services::TestPostgres;
use voting_tests::{Deployment, TestEnv};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let deployment = match std::env::args().nth(1).as_deref() {
        None => Deployment::RedisTrigger,
        Some("--http-only") => Deployment::HttpOnly,
        Some(other) => anyhow::bail!("unknown argument {other:?}; the only option is --http-only"),
    };
    let env = TestEnv::setup()
        .deployment(deployment)
        .postgres(TestPostgres::start().await?)
        .start()
        .await?;
    let server = env.app.serve().await?;
    let _worker = match deployment {
        Deployment::RedisTrigger => Some(env.app.start_redis_triggers().await?),
        Deployment::HttpOnly => None,
    };
    println!("app:        {}", server.url());
    println!("redis:      {}", env.redis.url());
    println!("postgres:   {}", env.postgres.address());
    println!("Ctrl-C (or SIGTERM) stops the app, its Redis and its PostgreSQL.");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        stopped = tokio::signal::ctrl_c() => stopped?,
        _ = terminate.recv() => {}
    }
    for component in ["counter", "vote", "worker", "result"] {
        let peak = env.app.peak_instance_memory(component).unwrap_or_default();
        println!("{component:8} instance memory peak: {} KiB", peak / 1024);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(peak) = status.lines().find(|line| line.starts_with("VmHWM:")) {
        println!("test host resident memory peak ({peak})");
    }
    Ok(())
}
