//! One doorbell per burst (`voting_shared::doorbell`): a vote rings only when no worker is
//! rung or draining, and only marks the ring once a worker heard it; a vote's ring defers to
//! a run already draining, a catch-up takes over; a run that finds the queue empty gives the
//! doorbell up, so the next vote rings again; and a run that dies leaves a lease that runs
//! out, so that voters who keep voting while nobody drains get their votes counted — the
//! failure this design must never have is a queue that grows while nobody is rung.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use redis::AsyncCommands;
use spin_test_host::HostCall;
use voting_shared::doorbell::{DOORBELL_KEY, DRAIN_SCRIPT, RUNG, Ring};
use voting_shared::schema::RECORD_BATCH;
use voting_tests::{Deployment, TestEnv, Visitor, poll_until};

/// How many times Redis has run PUBLISH, scripts' included (`INFO commandstats`).
async fn publishes(env: &TestEnv) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut env.redis().await.unwrap())
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_publish:calls="))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

async fn doorbell(env: &TestEnv) -> Option<String> {
    env.redis().await.unwrap().get(DOORBELL_KEY).await.unwrap()
}

async fn vote(env: &TestEnv, choice: &str) {
    let response = Visitor::new(&env.app).vote(choice).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vote_rings_only_when_no_worker_is_rung_or_draining() {
    let env = TestEnv::start().await.unwrap();
    // Nobody subscribed: each ring is lost, so each vote rings again.
    let before = publishes(&env).await;
    vote(&env, "a").await;
    vote(&env, "b").await;
    assert_eq!(publishes(&env).await - before, 2);
    assert_eq!(doorbell(&env).await, None, "an unheard ring is not marked");

    // A worker subscribed: the first vote rings and marks it; the next finds it rung.
    let client = redis::Client::open(env.redis.url()).unwrap();
    let mut listener = client.get_async_pubsub().await.unwrap();
    listener.subscribe("votes").await.unwrap();
    let before = publishes(&env).await;
    vote(&env, "a").await;
    assert_eq!(doorbell(&env).await.as_deref(), Some(RUNG));
    vote(&env, "b").await;
    vote(&env, "a").await;
    assert_eq!(
        publishes(&env).await - before,
        1,
        "one ring for three votes"
    );
    assert_eq!(env.queue_length().await.unwrap(), 5);

    // The rung worker drains all five and gives the doorbell up with the empty queue.
    env.ring(Ring::Vote).await.unwrap();
    assert_eq!(env.queue_length().await.unwrap(), 0);
    assert_eq!(env.tally_in_database().await.unwrap().total(), 5);
    assert_eq!(doorbell(&env).await, None);
    let before = publishes(&env).await;
    vote(&env, "b").await;
    assert_eq!(
        publishes(&env).await - before,
        1,
        "the next vote rings again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_votes_ring_defers_to_a_run_draining_and_a_catch_up_takes_over() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::setup()
            .deployment(deployment)
            .start()
            .await
            .unwrap();
        let mut redis = env.redis().await.unwrap();
        // Another run holds the doorbell (on another replica, say): votes queue, none rings.
        let _: () = redis
            .set_ex(DOORBELL_KEY, "another-run", 3600)
            .await
            .unwrap();
        let claims = Arc::new(AtomicUsize::new(0));
        let counted = claims.clone();
        env.app.on_host_call(Arc::new(move |call: &HostCall| {
            if let HostCall::RedisExecute { arguments, .. } = call
                && arguments.first().map(Vec::as_slice) == Some(DRAIN_SCRIPT.as_bytes())
            {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            None
        }));
        for choice in ["a", "b", "a"] {
            vote(&env, choice).await;
        }
        assert_eq!(
            claims.load(Ordering::SeqCst),
            0,
            "{deployment:?}: no vote rang the worker"
        );
        env.ring(Ring::Vote).await.unwrap();
        assert_eq!(
            env.queue_length().await.unwrap(),
            3,
            "{deployment:?}: a vote's ring defers to the run draining"
        );
        assert_eq!(doorbell(&env).await.as_deref(), Some("another-run"));

        env.ring(Ring::CatchUp).await.unwrap();
        assert_eq!(env.queue_length().await.unwrap(), 0, "{deployment:?}");
        assert_eq!(env.tally_in_database().await.unwrap().total(), 3);
        assert_eq!(doorbell(&env).await, None, "{deployment:?}");
    }
}

/// The failure to test against: a worker dies in the middle of a run, holding the doorbell,
/// and voters keep voting. The lease runs out, a vote rings, and every vote is counted.
#[tokio::test(flavor = "multi_thread")]
async fn votes_cast_after_a_worker_died_holding_the_doorbell_are_counted_as_voting_goes_on() {
    let env = TestEnv::start().await.unwrap();
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    // The first batch's write traps, as a killed worker would stop: nothing is acknowledged,
    // nothing given up.
    let trapped = Arc::new(AtomicUsize::new(0));
    let traps = trapped.clone();
    env.app
        .on_host_call(Arc::new(move |call: &HostCall| match call {
            HostCall::PostgresStatement(sql)
                if sql == RECORD_BATCH && traps.fetch_add(1, Ordering::SeqCst) == 0 =>
            {
                Some("injected: the worker was killed mid-run".to_owned())
            }
            _ => None,
        }));
    vote(&env, "a").await;
    poll_until("the worker to die mid-run", || async {
        (trapped.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await
    .unwrap();
    let dead_run = doorbell(&env).await;
    assert!(
        dead_run.as_deref().is_some_and(|owner| owner != RUNG),
        "the dead run still holds the doorbell: {dead_run:?}"
    );
    // Voters keep voting; the queue grows until the lease runs out and a vote rings.
    let mut cast = 1;
    let tally = poll_until("every vote to be counted", || {
        cast += 1;
        let env = &env;
        async move {
            vote(env, "b").await;
            let response = env.app.get("/result/api").await.ok()?;
            let tally: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
            (tally["total"].as_u64()? >= 2).then_some(tally)
        }
    })
    .await
    .unwrap();
    assert!(tally["a"] == 1, "the dead run's vote too: {tally}");
    env.drain().await.unwrap();
    assert_eq!(env.queue_length().await.unwrap(), 0);
    assert_eq!(env.tally_in_database().await.unwrap().total(), cast as i64);
}
