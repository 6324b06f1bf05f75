//! The cost of our own code per request: `POST /` (vote), `GET /counter`, `GET /result/api`
//! (answered 200, and 304 to a phone whose ETag matches), and the audience's questions (asking,
//! upvoting, reading the list) next to floor components that only open Redis and RPUSH +
//! PUBLISH, INCR, or GET one value (`tests/floor/`). Each
//! request is a fresh instance (instantiate + handle) under the test host, on one real Redis;
//! the kinds of request are interleaved so drift affects them alike. Also prints each
//! component's size (the 1 MiB budget is a test: `manifest.rs`).
//!
//! Run: `cargo build --target wasm32-wasip2 --release -p counter -p vote -p worker -p result
//! -p admin -p questions -p floor-vote -p floor-counter -p floor-results`, then `cargo bench -p voting-tests
//! --bench floor`.

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
    for component in ["counter", "vote", "worker", "result", "admin", "questions"] {
        let size = std::fs::metadata(release.join(format!("{component}.wasm")))?.len();
        println!("{component:>8}.wasm: {:>4} KB", size / 1024);
    }

    let redis = TestRedis::start().await?;
    // No worker runs here to restore the round's mirror, nor to keep the results: write them
    // as the worker would, and the floor's value of the same size.
    let mut connection = redis.connection().await?;
    mirror_round(&mut connection, &first_round()).await?;
    let answer = keep_results(&mut connection).await?;
    let _: () = redis::AsyncCommands::set(&mut connection, "floor:results", answer).await?;
    let upvoted = keep_questions(&mut connection).await?;
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
        let etag = app
            .get("/result/api")
            .await?
            .headers()
            .get("etag")
            .ok_or_else(|| anyhow::anyhow!("/result/api has no ETag"))?
            .to_str()?
            .to_owned();
        let requests = [
            ("POST /", vote("/"), 303),
            ("floor vote", vote("/floor/vote"), 200),
            ("GET /counter", get("/counter"), 200),
            ("floor INCR", get("/floor/counter"), 200),
            ("results 200", get("/result/api"), 200),
            ("results 304", unchanged("/result/api", &etag), 304),
            ("floor GET", get("/floor/results"), 200),
            ("ask", ask(), 202),
            ("upvote", upvote(upvoted), 202),
            ("questions 200", get("/api/questions"), 200),
        ];
        let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); requests.len()];
        for round in 0..WARM_UP + ROUNDS {
            for (index, (name, request, status)) in requests.iter().enumerate() {
                let started = Instant::now();
                let response = app.send(request.clone()).await?;
                let elapsed = started.elapsed();
                anyhow::ensure!(
                    response.status() == *status,
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
        for ((name, _, _), (mean, p50)) in requests.iter().zip(&summaries) {
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
        for (name, ours) in [("ask", 7), ("upvote", 8)] {
            println!(
                "  {name} / floor vote: {:.2}× (mean), {:.2}× (p50)",
                ratio(summaries[ours].0, summaries[1].0),
                ratio(summaries[ours].1, summaries[1].1)
            );
        }
        // The floor's throughput over ours: at least 0.8 for a 200, 0.9 for a 304 (issue 26).
        for (name, ours) in [("results 200", 4), ("results 304", 5), ("questions 200", 9)] {
            println!(
                "  {name} at {:.2}× the floor's rate (mean), {:.2}× (p50)",
                ratio(summaries[6].0, summaries[ours].0),
                ratio(summaries[6].1, summaries[ours].1)
            );
        }
    }
    Ok(())
}

/// Keeps the results of round 1 (eight options, a few hundred votes) in Redis as the worker
/// does, and answers the answer it keeps, for the floor to read a value of the same size.
async fn keep_results(redis: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<String> {
    use voting_shared::poll::Poll;
    use voting_shared::results::{REBUILD_KEY, RESULTS_KEY, Snapshot, WRITE_SCRIPT};
    let snapshot = Snapshot::parse(
        r#"{"instance":"bench","version":1,"round":1,"open":true,"question":null,"options":null,
        "results":"live","closes_ms":null,"revealed":false,
        "counts":{"a":120,"b":80,"c":40,"d":30,"e":20,"f":10,"g":5,"h":1}}"#,
    )?;
    let configured = Poll::new(&[
        "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
    ])?;
    let kept = snapshot.to_kept(&configured)?;
    let _: i64 = redis::cmd("EVAL")
        .arg(WRITE_SCRIPT)
        .arg(2)
        .arg(RESULTS_KEY)
        .arg(REBUILD_KEY)
        .arg(&kept.instance)
        .arg(kept.version)
        .arg("1")
        .arg(kept.closes_ms)
        .arg(&kept.before.body)
        .arg(&kept.before.tag)
        .arg("")
        .arg("")
        .query_async(redis)
        .await?;
    Ok(kept.before.body)
}

/// Keeps a list of twenty published questions, in open Q&A, in Redis as the worker does, and
/// answers the id of one to upvote.
async fn keep_questions(redis: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<i64> {
    use voting_shared::questions::{
        QA_KEY, QA_REBUILD_KEY, QaSnapshot, VISIBLE_KEY, WRITE_LIST_SCRIPT,
    };
    let questions: Vec<serde_json::Value> = (1..=20)
        .map(|id| {
            serde_json::json!({"id": id, "text": format!("Question {id}: how does it hold up?"),
                "name": "Ada", "state": "published", "answered": false,
                "asked_ms": 1_700_000_000_000_i64 + id, "upvotes": id * 3})
        })
        .collect();
    let snapshot = QaSnapshot::parse(
        &serde_json::json!({"instance": "bench", "version": 1, "mode": "open",
            "highlighted": null, "questions": questions})
        .to_string(),
    )?;
    let list = snapshot.list().to_string();
    let mut script = redis::cmd("EVAL");
    script
        .arg(WRITE_LIST_SCRIPT)
        .arg(3)
        .arg(QA_KEY)
        .arg(VISIBLE_KEY)
        .arg(QA_REBUILD_KEY)
        .arg(&snapshot.instance)
        .arg(snapshot.version)
        .arg(snapshot.mode.as_str())
        .arg(&list)
        .arg(voting_shared::results::tag(&list));
    for question in snapshot.published() {
        script.arg(question.id);
    }
    let written: i64 = script.query_async(redis).await?;
    anyhow::ensure!(written == 1, "the questions' list was not kept");
    Ok(7)
}

/// A question from a new voter.
fn ask() -> http::Request<Bytes> {
    App::request("POST", "/api/questions")
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"text":"How does it hold up?"}"#))
        .expect("a valid request")
}

/// An upvote of question `id` from a new voter.
fn upvote(id: i64) -> http::Request<Bytes> {
    App::request("POST", &format!("/api/questions/{id}/upvote"))
        .body(Bytes::new())
        .expect("a valid request")
}

/// A poll from a phone whose answer is still `etag`.
fn unchanged(path: &str, etag: &str) -> http::Request<Bytes> {
    App::request("GET", path)
        .header("if-none-match", etag)
        .body(Bytes::new())
        .expect("a valid request")
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
