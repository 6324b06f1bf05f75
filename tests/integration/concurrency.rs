//! Guarantee 2: the last vote wins per voter, however workers' batches interleave.

use std::collections::HashMap;

use redis::AsyncCommands;
use voting_shared::queue::VOTES_KEY;
use voting_tests::{TestEnv, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_draining_one_backlog_concurrently_keep_each_voters_last_vote() {
    let env = TestEnv::start().await.unwrap();
    let replica = env.another_app().unwrap();
    let mut voters: Vec<Visitor> = (0..150).map(|_| Visitor::new(&env.app)).collect();
    let mut expected = HashMap::new();
    for round in 0..4 {
        for (index, voter) in voters.iter_mut().enumerate() {
            let choice = if (index + round) % 3 == 0 { "b" } else { "a" };
            assert_eq!(voter.vote(choice).await.unwrap().status(), 200);
            expected.insert(
                voter
                    .voter_id()
                    .expect("the vote set a voter cookie")
                    .to_owned(),
                choice.to_owned(),
            );
        }
    }
    assert_eq!(env.queue_length().await.unwrap(), 600);

    // Catch-up rings: each run takes over from the one before, so their first batches overlap
    // (a vote's ring would defer to the run already draining).
    let doorbell = voting_shared::doorbell::CATCH_UP_RING.as_bytes();
    let (first, second, third) = tokio::join!(
        env.app.deliver("worker", doorbell),
        replica.deliver("worker", doorbell),
        replica.deliver("worker", doorbell),
    );
    first.unwrap();
    second.unwrap();
    third.unwrap();
    assert_eq!(env.queue_length().await.unwrap(), 0);
    let stored = env.votes_in_database().await.unwrap();
    let wrong = expected
        .iter()
        .filter(|(id, vote)| stored.get(*id) != Some(vote))
        .count();
    assert_eq!(
        (wrong, stored.len()),
        (0, expected.len()),
        "voters whose last vote was not kept"
    );
}

#[tokio::test]
async fn a_batch_committed_late_cannot_overwrite_a_newer_vote() {
    let env = TestEnv::start().await.unwrap();
    let mut redis = env.redis().await.unwrap();
    let newer = r#"{"voter_id":"v","vote":"b","seq":2000}"#;
    let older = r#"{"voter_id":"v","vote":"a","seq":1000}"#;
    let _: () = redis.rpush(VOTES_KEY, newer).await.unwrap();
    env.drain().await.unwrap();
    let _: () = redis.rpush(VOTES_KEY, older).await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(env.votes_in_database().await.unwrap()["v"], "b");
}
