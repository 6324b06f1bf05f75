//! Guarantee 1, end to end (vote → Redis → worker → PostgreSQL → result, through the real
//! spin.toml): every accepted vote is counted once, eventually — also when it waited for a
//! worker, a PostgreSQL or a Redis restart — and each voter's last vote is the one counted.

use voting_shared::counts::Counts;
use voting_tests::{TestEnv, Visitor, poll_until, seed_votes};

#[tokio::test(flavor = "multi_thread")]
async fn three_thousand_votes_through_the_doorbell_path_are_counted_exactly() {
    let env = TestEnv::start().await.unwrap();
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    seed_votes(&env.app, 3000, 8).await.unwrap();
    let tally = env.wait_for_total(3000).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(2000), Some(1000))
    );
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[2000, 1000])
    );
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voter_who_votes_a_then_b_then_a_is_counted_once_for_a() {
    let env = TestEnv::start().await.unwrap();
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    let mut voter = Visitor::new(&env.app);
    for choice in ["a", "b", "a"] {
        let response = voter.vote(choice).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // The total is 1 from the first drain on; once one more drain returns, every vote has
    // been applied, whatever the trigger's doorbells have done meanwhile.
    env.drain().await.unwrap();
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[1, 0]));
    let page = env.app.get("/result").await.unwrap();
    assert!(
        std::str::from_utf8(page.body())
            .unwrap()
            .contains(">1 vote<")
    );
    let ballot = voter.send("GET", "/", None, b"").await.unwrap();
    let ballot = std::str::from_utf8(ballot.body()).unwrap();
    assert!(
        ballot.contains("Your vote: <strong>Cats</strong>"),
        "{ballot}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_queued_while_no_worker_runs_are_drained_by_the_next_doorbell() {
    let env = TestEnv::start().await.unwrap();
    for choice in ["a", "b", "a", "a"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    // Their doorbells rang with nobody subscribed, and were lost, as in Spin.
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    assert_eq!(env.queue_length().await.unwrap(), 4);
    env.publish_doorbell().await.unwrap();
    let tally = env.wait_for_total(4).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(3), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_votes_survive_a_redis_restart_that_stops_the_redis_trigger() {
    let mut env = TestEnv::start().await.unwrap();
    for choice in ["b", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    let triggers = env.app.start_redis_triggers().await.unwrap();
    env.redis.stop().unwrap();
    poll_until("the trigger to exit with its connection", || async {
        (!triggers.is_running()).then_some(())
    })
    .await
    .unwrap();
    env.redis.restart().await.unwrap();
    assert_eq!(
        env.queue_length().await.unwrap(),
        2,
        "the append-only file kept the queue"
    );

    // What scripts/up does: restart the worker, then ring the doorbell.
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    env.publish_doorbell().await.unwrap();
    let tally = env.wait_for_total(2).await.unwrap();
    assert_eq!(tally["b"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_cast_while_postgres_is_down_are_counted_once_it_returns() {
    let mut env = TestEnv::start().await.unwrap();
    let triggers = env.app.start_redis_triggers().await.unwrap();
    env.postgres.stop().unwrap();
    for choice in ["a", "b", "b"] {
        assert_eq!(
            Visitor::new(&env.app).vote(choice).await.unwrap().status(),
            200
        );
    }
    // The first vote rang; the run it woke failed, and the others found it rung. The room
    // keeps the last results, told they may be out of date.
    poll_until(
        "the trigger to handle the first vote's doorbell",
        || async { (triggers.messages_handled() >= 1).then_some(()) },
    )
    .await
    .unwrap();
    let stale = poll_until("the results to say they may be stale", || async {
        let api = env.app.get("/result/api").await.ok()?;
        let tally: serde_json::Value = serde_json::from_slice(api.body()).ok()?;
        (api.status() == 200 && tally["stale"] == true).then_some(tally)
    })
    .await
    .unwrap();
    assert_eq!(stale["total"], 0);
    let page = env.app.get("/result").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        std::str::from_utf8(page.body())
            .unwrap()
            .contains("May be out of date")
    );
    assert_eq!(env.queue_length().await.unwrap(), 3);

    env.postgres.restart().await.unwrap();
    env.publish_doorbell().await.unwrap();
    let tally = env.wait_for_total(3).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(2))
    );
}
