//! Wire compatibility with the original app: entries its Python vote service pushed, and a
//! `votes` table its .NET worker made, are counted and kept.

use redis::AsyncCommands;
use voting_shared::counts::Counts;
use voting_shared::queue::{LegacyEntry, VOTES_KEY};
use voting_tests::{TestEnv, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn entries_pushed_by_the_original_vote_service_are_counted() {
    let env = TestEnv::start().await.unwrap();
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    let entry = LegacyEntry {
        voter_id: "4ad3c2e1f0b9a877",
        vote: "b",
    }
    .to_json();
    let _: () = env
        .redis()
        .await
        .unwrap()
        .rpush(VOTES_KEY, entry)
        .await
        .unwrap();
    env.publish_doorbell().await.unwrap();
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(tally["b"], 1);
    assert_eq!(
        env.votes_in_database().await.unwrap()["4ad3c2e1f0b9a877"],
        "b"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_made_by_the_original_worker_is_extended_and_its_votes_kept() {
    let env = TestEnv::setup().unrung().start().await.unwrap();
    let client = env.postgres.client().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE votes (id VARCHAR(255) NOT NULL UNIQUE, vote VARCHAR(255) NOT NULL);
             INSERT INTO votes VALUES ('old-voter', 'b')",
        )
        .await
        .unwrap();
    // The first doorbell migrates the table and sets up round 1.
    env.drain().await.unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[1, 1]));
}
