//! The cost of our own code per request: `POST /` (vote) and `GET /counter` next to floor
//! components that only open Redis and RPUSH + PUBLISH, or INCR (`tests/floor/`). Each request
//! is a fresh instance (instantiate + handle) under the test host, on one real Redis; the
//! four kinds of request are interleaved so drift affects them alike. Also prints each
//! component's size (the 1 MiB budget is a test: `manifest.rs`).
//!
//! Run: `cargo build --target wasm32-wasip2 --release -p counter -p vote -p worker -p result
//! -p admin -p floor-vote -p floor-counter`, then `cargo bench -p voting-tests --bench floor`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spin_test_host::App;
use test_services::TestRedis;
use voting_tests::{first_round, mirror_round, repository_root};

const WARM_UP: usize = 200;
const ROUNDS: usize = 3000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let release = repository_root().join("target/wasm32-wasip2/release");
    for component in ["counter", "vote", "worker", "result", "admin"] {
        let size = std::fs::metadata(release.join(format!("{component}.wasm")))?.len();
        println!("{component:>8}.wasm: {:>4} KB", size / 1024);
    }

    let redis = TestRedis::start().await?;
    // No worker runs here to restore the round's mirror: write it as the worker would.
    mirror_round(&mut redis.connection().await?, &first_round()).await?;
    for (setting, secret) in [
        (
            "cookie_secret set (scripts/up, SpinKube)",
            "bench-secret-0123456789abcdef",
        ),
        ("cookie_secret empty (kept in Redis)", ""),
    ] {
        let environment = HashMap::from([
            (
                "SPIN_VARIABLE_REDIS_HOST".to_owned(),
                redis.host().to_owned(),
            ),
            ("SPIN_VARIABLE_COOKIE_SECRET".to_owned(), secret.to_owned()),
        ]);
        let app = App::load(
            &repository_root().join("tests/floor/spin.toml"),
            &environment,
        )?;
        let requests = [
            ("POST /", vote("/")),
            ("floor vote", vote("/floor/vote")),
            ("GET /counter", get("/counter")),
            ("floor INCR", get("/floor/counter")),
        ];
        let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); requests.len()];
        for round in 0..WARM_UP + ROUNDS {
            for (index, (name, request)) in requests.iter().enumerate() {
                let started = Instant::now();
                let response = app.send(request.clone()).await?;
                let elapsed = started.elapsed();
                anyhow::ensure!(
                    response.status() == 200,
                    "{name} answered {}",
                    response.status()
                );
                if round >= WARM_UP {
                    samples[index].push(elapsed);
                }
            }
        }
        let summaries: Vec<(Duration, Duration)> =
            samples.iter_mut().map(|samples| summary(samples)).collect();
        println!("\n{setting}: {ROUNDS} requests each, fresh instance per request");
        for ((name, _), (mean, p50)) in requests.iter().zip(&summaries) {
            println!(
                "  {name:<13} mean {:.3} ms  p50 {:.3} ms",
                ms(*mean),
                ms(*p50)
            );
        }
        println!(
            "  vote / floor:    {:.2}× (mean), {:.2}× (p50)",
            ratio(summaries[0].0, summaries[1].0),
            ratio(summaries[0].1, summaries[1].1)
        );
        println!(
            "  counter / floor: {:.2}× (mean), {:.2}× (p50)",
            ratio(summaries[2].0, summaries[3].0),
            ratio(summaries[2].1, summaries[3].1)
        );
    }
    Ok(())
}

/// A form vote from a new voter, as the seed load sends it.
fn vote(path: &str) -> http::Request<Bytes> {
    App::request("POST", path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(b"vote=a"))
        .expect("a valid request")
}

fn get(path: &str) -> http::Request<Bytes> {
    App::request("GET", path)
        .body(Bytes::new())
        .expect("a valid request")
}

/// Mean and median.
fn summary(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    (mean, samples[samples.len() / 2])
}

fn ratio(ours: Duration, floor: Duration) -> f64 {
    ours.as_secs_f64() / floor.as_secs_f64()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
