//! What reading the results costs as `votes` grows: `GET /result/api` (a fresh result
//! component instance per request, under the test host, real Redis and PostgreSQL) of an
//! eight-option poll with 1, 100,000 and 1,000,000 rows in `votes`, answered from the copy kept
//! in Redis (what every poll costs) and rebuilt from PostgreSQL (what a poll cost before the
//! copy, and what one reader pays when Redis has lost it), next to the original app's `GROUP
//! BY` query on the same table, which the result component never runs.
//!
//! Run: `cargo build --target wasm32-wasip2 --release -p counter -p vote -p worker -p result
//! -p admin`
//! then `cargo bench -p voting-tests --bench results`.

use std::time::{Duration, Instant};

use voting_shared::schema::{CREATE_SCHEMA, ORIGINAL_TALLY_QUERY};
use voting_tests::TestEnv;

const SIZES: [u32; 3] = [1, 100_000, 1_000_000];
const REQUESTS: usize = 1000;
const ORIGINAL_QUERIES: usize = 5;
const EIGHT_OPTIONS: &str = "One,Two,Three,Four,Five,Six,Seven,Eight";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut means = Vec::new();
    for rows in SIZES {
        let env = TestEnv::setup()
            .env("SPIN_VARIABLE_OPTIONS", EIGHT_OPTIONS)
            .start()
            .await?;
        let client = env.postgres.client().await?;
        client.batch_execute(CREATE_SCHEMA).await?;
        let loading = Instant::now();
        // One statement: the tally trigger runs once, set-based, for the whole load.
        client
            .execute(
                "INSERT INTO votes (id, vote, seq)
                 SELECT 'voter-' || n, chr(97 + n % 8), n
                 FROM generate_series(1, $1::int4) AS n",
                &[&(rows as i32)],
            )
            .await?;
        let load = loading.elapsed();
        client.batch_execute("VACUUM ANALYZE").await?;

        let expected = i64::from(rows);
        for _ in 0..20 {
            env.app.get("/result/api").await?;
        }
        let mut redis = env.redis().await?;
        let mut kept = Vec::with_capacity(REQUESTS);
        let mut rebuilt = Vec::with_capacity(REQUESTS);
        for request in 0..2 * REQUESTS {
            let rebuild = request % 2 == 1;
            if rebuild {
                let _: () =
                    redis::AsyncCommands::del(&mut redis, voting_shared::results::RESULTS_KEY)
                        .await?;
            }
            let started = Instant::now();
            let response = env.app.get("/result/api").await?;
            let elapsed = started.elapsed();
            if rebuild {
                rebuilt.push(elapsed);
            } else {
                kept.push(elapsed);
            }
            let tally: serde_json::Value = serde_json::from_slice(response.body())?;
            anyhow::ensure!(
                tally["total"] == expected && tally["options"].as_array().map(Vec::len) == Some(8),
                "wrong tally {tally}"
            );
        }
        kept.sort();
        rebuilt.sort();
        let mean = |latencies: &[Duration]| latencies.iter().sum::<Duration>() / REQUESTS as u32;
        let (kept_mean, rebuilt_mean) = (mean(&kept), mean(&rebuilt));

        let mut original = Duration::ZERO;
        for _ in 0..ORIGINAL_QUERIES {
            let started = Instant::now();
            client.query(ORIGINAL_TALLY_QUERY, &[]).await?;
            original += started.elapsed();
        }
        println!(
            "{rows:>9} rows: GET /result/api kept mean {:.3} ms (p99 {:.3} ms), rebuilt mean \
             {:.3} ms (p99 {:.3} ms), {REQUESTS} each; original GROUP BY query {:.1} ms; bulk \
             load through the tally trigger {:.2} s",
            ms(kept_mean),
            ms(kept[REQUESTS * 99 / 100]),
            ms(rebuilt_mean),
            ms(rebuilt[REQUESTS * 99 / 100]),
            ms(original / ORIGINAL_QUERIES as u32),
            load.as_secs_f64(),
        );
        means.push(rebuilt_mean);
    }
    println!(
        "1,000,000 rows vs 1 row: {:.2}× the mean time of a rebuild",
        means[2].as_secs_f64() / means[0].as_secs_f64()
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
