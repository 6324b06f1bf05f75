//! The running tally (`vote_tallies`) and the result component's reads, against real
//! PostgreSQL: the tally agrees with the original `GROUP BY` query whoever writes `votes`,
//! existing tables migrate, and every read returns a row (a zero-row `query` hangs a real
//! Spin, and traps in the test host).

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use test_services::TestPostgres;
use voting_shared::counts::Counts;
use voting_shared::schema::{CREATE_SCHEMA, RECORD_BATCH};
use voting_tests::{TestEnv, Visitor, counts_by_vote, first_round, mirror_round, running_tally};

const ORIGINAL_TABLE: &str =
    "CREATE TABLE votes (id VARCHAR(255) NOT NULL UNIQUE, vote VARCHAR(255) NOT NULL)";

/// The results as the result component reads them from PostgreSQL: the answers kept in Redis
/// are removed first, so that it rebuilds them.
async fn results(env: &TestEnv) -> serde_json::Value {
    let _: () = redis::AsyncCommands::del(
        &mut env.redis().await.unwrap(),
        voting_shared::results::RESULTS_KEY,
    )
    .await
    .unwrap();
    let response = env.app.get("/result/api").await.unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(response.body()).unwrap()
}

fn counts(tally: &serde_json::Value) -> (i64, i64, i64) {
    let count = |field: &str| tally[field].as_i64().unwrap();
    (count("a"), count("b"), count("total"))
}

#[tokio::test]
async fn results_on_the_original_workers_empty_table_show_no_votes() {
    // The original worker's table first: no doorbell has set up our schema yet.
    let env = TestEnv::setup().unrung().start().await.unwrap();
    let client = env.postgres.client().await.unwrap();
    client.batch_execute(ORIGINAL_TABLE).await.unwrap();
    assert_eq!(counts(&results(&env).await), (0, 0, 0));
    let page = env.app.get("/result").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(String::from_utf8_lossy(page.body()).contains("No votes yet"));
}

#[tokio::test]
async fn results_count_the_original_workers_votes_before_our_worker_migrates_the_table() {
    // The original worker's table first: no doorbell has set up our schema yet.
    let env = TestEnv::setup().unrung().start().await.unwrap();
    let client = env.postgres.client().await.unwrap();
    client.batch_execute(ORIGINAL_TABLE).await.unwrap();
    client
        .batch_execute("INSERT INTO votes VALUES ('v1', 'a'), ('v2', 'b'), ('v3', 'b')")
        .await
        .unwrap();
    assert_eq!(counts(&results(&env).await), (1, 2, 3));
    let migrated = BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]);
    assert_eq!(
        running_tally(&client).await.unwrap(),
        Some(migrated),
        "reading the results migrated the table, as the worker would, keeping every vote"
    );

    // Round 1 as the worker sets it up, so that the vote is taken before any migration.
    mirror_round(&mut env.redis().await.unwrap(), &first_round())
        .await
        .unwrap();
    Visitor::new(&env.app).vote("a").await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(counts(&results(&env).await), (2, 2, 4));
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[2, 2]));
}

#[tokio::test]
async fn results_after_a_truncate_to_reset_the_poll_show_no_votes_then_count_again() {
    let env = TestEnv::start().await.unwrap();
    for choice in ["a", "b", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    env.drain().await.unwrap();
    assert_eq!(counts(&results(&env).await), (1, 2, 3));

    let client = env.postgres.client().await.unwrap();
    client.batch_execute("TRUNCATE votes").await.unwrap();
    assert_eq!(counts(&results(&env).await), (0, 0, 0));
    let page = env.app.get("/result").await.unwrap();
    assert!(String::from_utf8_lossy(page.body()).contains("No votes yet"));

    Visitor::new(&env.app).vote("b").await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(counts(&results(&env).await), (0, 1, 1));
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[0, 1]));
}

#[tokio::test(flavor = "multi_thread")]
async fn more_concurrent_reads_of_an_empty_tally_than_spins_pool_holds_all_answer() {
    let env = TestEnv::start().await.unwrap();
    let client = env.postgres.client().await.unwrap();
    client.batch_execute(CREATE_SCHEMA).await.unwrap();
    let readers = (0..3 * spin_test_host::POSTGRES_POOL_SIZE).map(|reader| {
        let app = env.app.clone();
        let path = ["/result/api", "/result", "/healthz"][reader % 3];
        tokio::spawn(async move { (path, app.get(path).await.unwrap().status()) })
    });
    for reader in readers {
        let (path, status) = reader.await.unwrap();
        assert_eq!(status, 200, "{path}");
    }
    assert_eq!(counts(&results(&env).await), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn migrating_a_populated_table_counts_every_vote_including_those_written_meanwhile() {
    // The original worker's table first: no doorbell has set up our schema yet.
    let env = TestEnv::setup().unrung().start().await.unwrap();
    let client = env.postgres.client().await.unwrap();
    client.batch_execute(ORIGINAL_TABLE).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO votes SELECT 'old-' || n, CASE WHEN n % 3 = 0 THEN 'b' ELSE 'a' END
             FROM generate_series(1, 20000) AS n",
        )
        .await
        .unwrap();
    // The original worker keeps writing, one statement a vote, while ours migrates.
    let original_worker = {
        let client = env.postgres.client().await.unwrap();
        tokio::spawn(async move {
            for n in 0..300 {
                let vote = if n % 2 == 0 { "a" } else { "b" };
                client
                    .execute(
                        "INSERT INTO votes (id, vote) VALUES ($1, $2)",
                        &[&format!("new-{n}"), &vote],
                    )
                    .await
                    .unwrap();
            }
        })
    };
    mirror_round(&mut env.redis().await.unwrap(), &first_round())
        .await
        .unwrap();
    Visitor::new(&env.app).vote("b").await.unwrap();
    env.drain().await.unwrap();
    original_worker.await.unwrap();

    let expected_a = 13334 + 150;
    let expected_b = 6666 + 150 + 1;
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[expected_a, expected_b])
    );
    assert_eq!(
        counts(&results(&env).await),
        (expected_a, expected_b, expected_a + expected_b)
    );
}

/// One write to `votes`, by our worker or by anyone else.
#[derive(Debug, Clone)]
enum Write {
    /// Our worker's batched upsert: (voter, vote, seq), one entry per voter.
    Upsert(Vec<(u8, bool, u8)>),
    /// Two workers' upserts at once, on two connections.
    ConcurrentUpserts(Vec<(u8, bool, u8)>, Vec<(u8, bool, u8)>),
    /// The original worker: `INSERT`, and `UPDATE` when the voter exists.
    Original(u8, bool),
    Delete(u8),
    Truncate,
}

fn batch() -> impl Strategy<Value = Vec<(u8, bool, u8)>> {
    // One entry per voter, as the worker's batch plan makes them.
    prop::collection::btree_map(0..12u8, (any::<bool>(), 0..6u8), 0..8)
        .prop_map(|batch| batch.into_iter().map(|(v, (b, s))| (v, b, s)).collect())
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        4 => batch().prop_map(Write::Upsert),
        2 => (batch(), batch()).prop_map(|(a, b)| Write::ConcurrentUpserts(a, b)),
        3 => (0..12u8, any::<bool>()).prop_map(|(v, b)| Write::Original(v, b)),
        2 => (0..12u8).prop_map(Write::Delete),
        1 => Just(Write::Truncate),
    ]
}

fn vote(b: bool) -> &'static str {
    if b { "b" } else { "a" }
}

async fn upsert(client: &tokio_postgres::Client, batch: &[(u8, bool, u8)]) {
    let ids: Vec<String> = batch.iter().map(|(v, _, _)| format!("voter-{v}")).collect();
    let votes: Vec<&str> = batch.iter().map(|(_, b, _)| vote(*b)).collect();
    let seqs: Vec<i64> = batch.iter().map(|(_, _, s)| i64::from(*s)).collect();
    let current_round: Vec<Option<i64>> = vec![None; batch.len()];
    let now_ms: i64 = 0;
    client
        .execute(
            RECORD_BATCH,
            &[&ids, &votes, &seqs, &current_round, &now_ms],
        )
        .await
        .unwrap();
}

async fn apply(clients: &[tokio_postgres::Client; 2], write: &Write) {
    let [first, second] = clients;
    match write {
        Write::Upsert(batch) => upsert(first, batch).await,
        Write::ConcurrentUpserts(a, b) => {
            tokio::join!(upsert(first, a), upsert(second, b));
        }
        Write::Original(v, b) => {
            let id = format!("voter-{v}");
            let insert = first
                .execute(
                    "INSERT INTO votes (id, vote) VALUES ($1, $2)",
                    &[&id, &vote(*b)],
                )
                .await;
            if insert.is_err() {
                first
                    .execute(
                        "UPDATE votes SET vote = $2 WHERE id = $1",
                        &[&id, &vote(*b)],
                    )
                    .await
                    .unwrap();
            }
        }
        Write::Delete(v) => {
            first
                .execute("DELETE FROM votes WHERE id = $1", &[&format!("voter-{v}")])
                .await
                .unwrap();
        }
        Write::Truncate => first.batch_execute("TRUNCATE votes").await.unwrap(),
    }
}

#[test]
fn the_tally_equals_the_original_query_after_any_sequence_of_writes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let postgres = runtime.block_on(TestPostgres::start()).unwrap();
    let clients = runtime.block_on(async {
        [
            postgres.client().await.unwrap(),
            postgres.client().await.unwrap(),
        ]
    });
    let case = (
        prop::collection::btree_map(0..12u8, any::<bool>(), 0..10),
        prop::collection::vec(write(), 1..12),
    );
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case, |(existing, writes)| {
            runtime.block_on(async {
                let [client, _] = &clients;
                client
                    .batch_execute("DROP TABLE IF EXISTS votes, vote_tallies")
                    .await
                    .unwrap();
                client.batch_execute(ORIGINAL_TABLE).await.unwrap();
                for (v, b) in &existing {
                    apply(&clients, &Write::Original(*v, *b)).await;
                }
                client.batch_execute(CREATE_SCHEMA).await.unwrap();
                check_agreement(client, "after the migration").await?;
                for (step, write) in writes.iter().enumerate() {
                    apply(&clients, write).await;
                    check_agreement(client, &format!("after write {step}: {write:?}")).await?;
                }
                Ok(())
            })
        })
        .unwrap();
}

async fn check_agreement(client: &tokio_postgres::Client, when: &str) -> Result<(), TestCaseError> {
    let counted: BTreeMap<String, i64> = counts_by_vote(client).await.unwrap();
    let running = running_tally(client).await.unwrap();
    prop_assert_eq!(running, Some(counted), "{}", when);
    Ok(())
}
