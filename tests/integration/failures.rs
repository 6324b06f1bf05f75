//! Guarantees 3 and 4: a failure in the middle of a batch loses nothing and its retry counts
//! once; an entry that can never be processed is dead-lettered without blocking the queue.

use std::sync::Arc;

use redis::AsyncCommands;
use spin_test_host::HostCall;
use voting_shared::counts::Counts;
use voting_shared::doorbell::{DRAIN_SCRIPT, Step};
use voting_shared::queue::{DEAD_LETTER_KEY, LegacyEntry, VOTES_KEY};
use voting_shared::schema::RECORD_BATCH;
use voting_tests::{TestEnv, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_failure_in_the_middle_of_a_batch_loses_nothing_and_the_retry_counts_once() {
    let env = TestEnv::start().await.unwrap();
    for choice in ["a", "a", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    env.app.on_host_call(Arc::new(|call: &HostCall| match call {
        HostCall::PostgresStatement(sql) if sql == RECORD_BATCH => {
            Some("injected: PostgreSQL connection lost during the upsert".to_owned())
        }
        _ => None,
    }));
    assert!(env.drain().await.is_err());
    assert_eq!(
        env.queue_length().await.unwrap(),
        3,
        "the batch stays queued"
    );

    env.app.clear_host_call_hook();
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[2, 1]));
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_the_commit_but_before_the_acknowledgement_is_replayed_idempotently() {
    let env = TestEnv::start().await.unwrap();
    let mut voter = Visitor::new(&env.app);
    voter.vote("a").await.unwrap();
    voter.vote("b").await.unwrap();
    Visitor::new(&env.app).vote("a").await.unwrap();
    // The acknowledgement is the run's next step: EVAL, the script, 5, five keys, token, step.
    env.app.on_host_call(Arc::new(|call: &HostCall| match call {
        HostCall::RedisExecute { arguments, .. }
            if arguments.first().map(Vec::as_slice) == Some(DRAIN_SCRIPT.as_bytes())
                && arguments.get(8).map(Vec::as_slice) == Some(Step::Next.as_str().as_bytes()) =>
        {
            Some("injected: worker crashed before acknowledging".to_owned())
        }
        _ => None,
    }));
    assert!(env.drain().await.is_err());
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[1, 1]),
        "the batch was committed"
    );
    assert_eq!(
        env.queue_length().await.unwrap(),
        3,
        "but not removed from the queue"
    );

    env.app.clear_host_call_hook();
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[1, 1]));
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_entries_are_dead_lettered_and_do_not_block_the_valid_ones_behind_them() {
    let env = TestEnv::start().await.unwrap();
    let long_id = LegacyEntry {
        voter_id: &"x".repeat(300),
        vote: "a",
    }
    .to_json();
    let poison = [
        "not json".to_owned(),
        r#"{"voter_id":"v1","vote":"c"}"#.to_owned(),
        r#"{"vote":"a"}"#.to_owned(),
        long_id,
    ];
    let mut redis = env.redis().await.unwrap();
    for entry in &poison {
        let _: () = redis.rpush(VOTES_KEY, entry).await.unwrap();
    }
    Visitor::new(&env.app).vote("b").await.unwrap();
    let valid = LegacyEntry {
        voter_id: "v2",
        vote: "a",
    }
    .to_json();
    let _: () = redis.rpush(VOTES_KEY, &valid).await.unwrap();

    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), Counts::new(&[1, 1]));
    assert_eq!(env.queue_length().await.unwrap(), 0);
    let dead: Vec<String> = redis.lrange(DEAD_LETTER_KEY, 0, -1).await.unwrap();
    assert_eq!(dead, poison);
    let logs = env.app.logs();
    assert_eq!(
        logs.matches("worker: moving an entry to votes:dead")
            .count(),
        4,
        "{logs}"
    );
}
