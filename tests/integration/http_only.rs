//! The app from `spin.http-only.toml`, for hosts without a Redis trigger: the worker is a
//! private HTTP endpoint that vote rings after each vote and result rings when votes wait,
//! by local service chaining. The same guarantees as with the Redis trigger.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::{App, HostCall};
use test_services::TestPostgres;
use voting_shared::counts::Counts;
use voting_shared::queue::{DEAD_LETTER_KEY, LegacyEntry, VOTES_KEY};
use voting_tests::{Deployment, TestEnv, Visitor, poll_until, repository_root, seed_votes};

async fn http_only() -> TestEnv {
    let postgres = TestPostgres::start().await.unwrap();
    TestEnv::setup()
        .deployment(Deployment::HttpOnly)
        .postgres(postgres)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_thousand_votes_are_counted_exactly_without_a_redis_trigger() {
    let env = http_only().await;
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
    // The tally shows before the last batch leaves the queue; one more doorbell settles it.
    env.drain().await.unwrap();
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_vote_wins_without_a_redis_trigger() {
    let env = http_only().await;
    let mut voter = Visitor::new(&env.app);
    for choice in ["a", "b", "a", "b"] {
        assert_eq!(voter.vote(choice).await.unwrap().status(), 200);
    }
    // Each vote rang the doorbell; once one more drain returns, every vote has been applied.
    env.drain().await.unwrap();
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(0), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_worker_never_fails_a_vote_and_an_open_results_page_catches_up() {
    let mut env = http_only().await;
    env.postgres.stop().unwrap();
    for choice in ["a", "b", "b"] {
        let response = Visitor::new(&env.app).vote(choice).await.unwrap();
        assert_eq!(response.status(), 200, "the vote is accepted and queued");
    }
    assert_eq!(env.queue_length().await.unwrap(), 3);

    env.postgres.restart().await.unwrap();
    // Nobody votes again: polling the results alone rings the doorbell and converges.
    let tally = env.wait_for_total(3).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_crash_mid_batch_loses_nothing_without_a_redis_trigger() {
    let env = http_only().await;
    env.app.on_host_call(Arc::new(|call: &HostCall| match call {
        HostCall::PostgresStatement(sql) if sql == voting_shared::schema::RECORD_BATCH => {
            Some("injected: the worker crashed during the upsert".to_owned())
        }
        _ => None,
    }));
    for choice in ["a", "a", "b"] {
        assert_eq!(
            Visitor::new(&env.app).vote(choice).await.unwrap().status(),
            200
        );
    }
    assert_eq!(env.queue_length().await.unwrap(), 3);
    env.app.clear_host_call_hook();
    let tally = env.wait_for_total(3).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(2), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_entries_are_dead_lettered_without_a_redis_trigger() {
    let env = http_only().await;
    let mut redis = env.redis().await.unwrap();
    let poison = ["not json", r#"{"voter_id":"v1","vote":"c"}"#];
    for entry in poison {
        let _: () = redis.rpush(VOTES_KEY, entry).await.unwrap();
    }
    let legacy = LegacyEntry {
        voter_id: "v2",
        vote: "a",
    }
    .to_json();
    let _: () = redis.rpush(VOTES_KEY, legacy).await.unwrap();
    Visitor::new(&env.app).vote("b").await.unwrap();
    let tally = env.wait_for_total(2).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(1))
    );
    env.drain().await.unwrap();
    let dead: Vec<String> = redis.lrange(DEAD_LETTER_KEY, 0, -1).await.unwrap();
    assert_eq!(dead, poison);
}

#[tokio::test]
async fn the_private_worker_is_unreachable_from_outside() {
    let env = http_only().await;
    for path in [
        "/worker",
        "/drain",
        "/.well-known/spin/worker",
        "/api/vote/drain",
    ] {
        let response = env
            .app
            .send(App::request("POST", path).body(Bytes::new()).unwrap())
            .await
            .unwrap();
        assert_ne!(response.status(), 200, "{path}");
        assert!(
            !String::from_utf8_lossy(response.body()).contains("Drained"),
            "{path}"
        );
    }
    let doorbell = App::request("POST", "/").body(Bytes::new()).unwrap();
    let chained = env.app.chain("worker", doorbell).await.unwrap();
    assert_eq!(chained.status(), 200, "but service chaining reaches it");
}

/// Runs the results' read script as the HTTP-only result component does, with a one-minute
/// catch-up interval: whether the reader is to ring the worker.
async fn catch_up(redis: &mut redis::aio::MultiplexedConnection) -> i64 {
    use voting_shared::results::{READ_SCRIPT, REBUILD_KEY, RESULTS_KEY};
    let reply: Vec<redis::Value> = redis::cmd("EVAL")
        .arg(READ_SCRIPT)
        .arg(5)
        .arg(RESULTS_KEY)
        .arg(REBUILD_KEY)
        .arg(VOTES_KEY)
        .arg(voting_shared::queue::CATCH_UP_KEY)
        .arg(voting_shared::doorbell::DOORBELL_KEY)
        .arg("")
        .arg("")
        .arg("catch-up")
        .arg(2000)
        .arg(60_000)
        .query_async(redis)
        .await
        .unwrap();
    match reply[2] {
        redis::Value::Int(ring) => ring,
        ref other => panic!("unexpected ring {other:?}"),
    }
}

#[tokio::test]
async fn the_catch_up_rings_only_when_votes_wait_for_no_worker_and_once_per_interval() {
    let env = http_only().await;
    let mut redis = env.redis().await.unwrap();
    assert_eq!(
        catch_up(&mut redis).await,
        0,
        "an empty queue rings nothing"
    );
    let entry = LegacyEntry {
        voter_id: "v",
        vote: "a",
    }
    .to_json();
    let _: () = redis.rpush(VOTES_KEY, &entry).await.unwrap();
    let doorbell = voting_shared::doorbell::DOORBELL_KEY;
    let _: () = redis.set(doorbell, "a-run-draining").await.unwrap();
    assert_eq!(
        catch_up(&mut redis).await,
        0,
        "a worker rung or draining needs no catch-up"
    );
    let _: () = redis.del(doorbell).await.unwrap();
    let first = catch_up(&mut redis).await;
    let second = catch_up(&mut redis).await;
    assert_eq!((first, second), (1, 0), "one ring per interval");

    // Through the component: a queued vote and a results read are enough to count it.
    let _: () = redis.del(voting_shared::queue::CATCH_UP_KEY).await.unwrap();
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(tally["a"], 1);
}

/// With the Redis trigger, a results read catches up by publishing on the votes channel, not
/// by ringing an HTTP doorbell: a vote whose ring nobody heard is counted while only the
/// results are read.
#[tokio::test(flavor = "multi_thread")]
async fn under_the_redis_trigger_a_results_read_publishes_the_catch_up() {
    let env = TestEnv::start().await.unwrap();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    env.app.on_host_call(Arc::new(move |call: &HostCall| {
        if let HostCall::HttpSend(authority) = call {
            seen.lock().unwrap().push(authority.clone());
        }
        None
    }));
    let voted = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(voted.status(), 200);
    assert_eq!(
        env.queue_length().await.unwrap(),
        1,
        "no worker heard the ring"
    );
    let triggers = env.app.start_redis_triggers().await.unwrap();
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(tally["a"], 1);
    poll_until("the trigger to have handled the catch-up", || async {
        (triggers.messages_handled() >= 1).then_some(())
    })
    .await
    .unwrap();
    assert!(
        !env.app.logs().contains("doorbell at"),
        "{}",
        env.app.logs()
    );
    assert_eq!(
        *sent.lock().unwrap(),
        Vec::<String>::new(),
        "no HTTP doorbell rung"
    );
}

#[tokio::test]
async fn service_chaining_reaches_only_components_in_the_callers_allow_list() {
    let env = http_only().await;
    let manifest = std::fs::read_to_string(
        repository_root().join(voting_tests::Deployment::HttpOnly.file_name()),
    )
    .unwrap();
    let vote_may_chain = r#"allowed_outbound_hosts = ["{{ redis_scheme }}://{{ redis_host }}", "http://worker.spin.internal"]"#;
    assert!(manifest.contains(vote_may_chain));
    let vote_may_not = manifest
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", repository_root().display()),
        )
        .replace(
            vote_may_chain,
            r#"allowed_outbound_hosts = ["{{ redis_scheme }}://{{ redis_host }}"]"#,
        );
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("spin.toml");
    std::fs::write(&path, vote_may_not).unwrap();
    let environment = voting_tests::spin_variables(&env.redis, &env.postgres);
    let app = App::load(&path, &environment).unwrap();

    let response = Visitor::new(&app).vote("a").await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "a refused doorbell never fails a vote"
    );
    let refused = "vote: ringing the doorbell at http://worker.spin.internal/";
    voting_tests::poll_until("the refused doorbell in the log", || async {
        app.logs().contains(refused).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(
        env.queue_length().await.unwrap(),
        1,
        "nothing reached the worker"
    );
    assert!(
        env.votes_in_database().await.unwrap().is_empty(),
        "no vote reached the database"
    );
}
