//! Rounds (guarantee 6): a new round keeps the old one's results and starts empty; a vote
//! counts in the round it was cast in, also when it is drained after the next round began,
//! and last vote wins within each round; closed voting takes no vote; a lost round mirror
//! takes no vote until the worker restores it, closed state and options included; an entry
//! without a round (the original vote service's) belongs to the current round.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use redis::AsyncCommands;
use voting_shared::queue::{LegacyEntry, VOTES_KEY};
use voting_shared::round::ROUND_KEY;
use voting_tests::{ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, body, poll_until};

const TOKEN: &str = ADMIN_TOKEN;

async fn results(env: &TestEnv) -> serde_json::Value {
    let response = env.app.get("/result/api").await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    serde_json::from_slice(response.body()).unwrap()
}

/// The time now, ms since 1970, as the components pass Redis's clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Each voter's vote in `round`'s kept results (`round_votes`).
async fn kept_votes(env: &TestEnv, round: i64) -> HashMap<String, String> {
    let client = env.postgres.client().await.unwrap();
    let rows = client
        .query(
            "SELECT id, vote FROM round_votes WHERE round = $1",
            &[&round],
        )
        .await
        .unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_round_keeps_the_old_results_and_starts_empty_with_its_own_options() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::with_console(deployment).await.unwrap();
        let presenter = Presenter::new(&env.app, TOKEN);
        for choice in ["a", "a", "b"] {
            assert_eq!(
                Visitor::new(&env.app).vote(choice).await.unwrap().status(),
                200
            );
        }
        env.drain().await.unwrap();
        let round = presenter
            .start_round("Lunch?", &["Pizza", "Soup", "Salad"])
            .await
            .unwrap();
        assert_eq!(round, 2, "{deployment:?}");

        let tally = results(&env).await;
        assert_eq!(
            (tally["round"].as_i64(), tally["total"].as_i64()),
            (Some(2), Some(0))
        );
        assert_eq!(
            (&tally["question"], &tally["open"]),
            (&"Lunch?".into(), &true.into())
        );
        assert_eq!(tally["options"][2]["label"], "Salad");
        assert_eq!(
            (&tally["option_a"], &tally["option_b"]),
            (&"Pizza".into(), &"Soup".into())
        );
        let page = body(&env.app.get("/").await.unwrap());
        assert!(
            page.contains(r#"<h1 id="question">Lunch?</h1>"#) && page.contains(">Salad</span>"),
            "{page}"
        );

        let mut voter = Visitor::new(&env.app);
        assert_eq!(voter.vote("c").await.unwrap().status(), 200);
        env.drain().await.unwrap();
        assert_eq!(results(&env).await["options"][2]["count"], 1);
        // The original result query sees the current round only.
        assert_eq!(
            env.votes_in_database().await.unwrap(),
            HashMap::from([(voter.voter_id().unwrap().to_owned(), "c".to_owned())])
        );
        let rounds = presenter
            .api_json("GET", "/admin/api/rounds", "", 200)
            .await
            .unwrap();
        let rounds = rounds["rounds"].as_array().unwrap().clone();
        assert_eq!(rounds.len(), 2);
        assert_eq!(
            (&rounds[0]["total"], &rounds[0]["current"]),
            (&3.into(), &false.into())
        );
        assert_eq!(rounds[0]["question"], "Cats or Dogs?");
        assert_eq!(rounds[0]["options"][0]["count"], 2);
        assert!(rounds[0]["closed_at"].is_string());
        assert_eq!(
            (&rounds[1]["total"], &rounds[1]["current"]),
            (&1.into(), &true.into())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vote_queued_before_a_new_round_counts_in_its_round_and_last_vote_wins_there() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    let mut changer = Visitor::new(&env.app);
    assert_eq!(changer.vote("a").await.unwrap().status(), 200);
    env.drain().await.unwrap();
    // Changed in round 1 and not drained when round 2 starts.
    assert_eq!(changer.vote("b").await.unwrap().status(), 200);
    let mut late = Visitor::new(&env.app);
    assert_eq!(late.vote("a").await.unwrap().status(), 200);
    presenter.start_round("", &["Cats", "Dogs"]).await.unwrap();
    // The same voters in round 2.
    assert_eq!(changer.vote("a").await.unwrap().status(), 200);
    env.drain().await.unwrap();

    let round_one = kept_votes(&env, 1).await;
    assert_eq!(
        round_one[changer.voter_id().unwrap()],
        "b",
        "last vote wins in round 1"
    );
    assert_eq!(round_one[late.voter_id().unwrap()], "a");
    assert_eq!(
        env.votes_in_database().await.unwrap(),
        HashMap::from([(changer.voter_id().unwrap().to_owned(), "a".to_owned())]),
        "round 2 holds only its own vote"
    );
    let tally = results(&env).await;
    assert_eq!(
        (tally["a"].as_i64(), tally["total"].as_i64()),
        (Some(1), Some(1))
    );
    let page = body(&late.send("GET", "/", None, b"").await.unwrap());
    assert!(
        !page.contains("&#10003; Your vote"),
        "round 1's vote is not round 2's: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_in_flight_during_round_changes_each_count_in_the_round_they_were_accepted_in() {
    const VOTERS: usize = 12;
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicUsize::new(0));
    // Each voter votes over and over through the API, which answers the round; a voter's
    // last accepted vote in each round is what that round must count.
    let voters: Vec<_> = (0..VOTERS)
        .map(|voter| {
            let app = env.app.clone();
            let (stop, accepted) = (stop.clone(), accepted.clone());
            tokio::spawn(async move {
                let mut visitor = Visitor::new(&app);
                let mut last: HashMap<i64, String> = HashMap::new();
                for n in voter.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let choice = ["a", "b"][n % 2];
                    let body = format!(r#"{{"vote":"{choice}"}}"#);
                    let response = visitor.vote_json(body.as_bytes()).await.unwrap();
                    // While a round changes, voting pauses for a moment: refused, not queued.
                    if response.status() == 503 {
                        continue;
                    }
                    assert_eq!(
                        response.status(),
                        202,
                        "{}",
                        String::from_utf8_lossy(response.body())
                    );
                    let answer: serde_json::Value =
                        serde_json::from_slice(response.body()).unwrap();
                    last.insert(answer["round"].as_i64().unwrap(), choice.to_owned());
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                (visitor.voter_id().unwrap().to_owned(), last)
            })
        })
        .collect();
    // A worker drains all along, so batches race the round changes in PostgreSQL.
    let draining = {
        let app = env.app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                app.deliver("worker", b"vote")
                    .await
                    .expect("a drain succeeds across round changes: it waits for them");
            }
        })
    };
    // Each round takes votes (at most one per voter still in flight from the one before).
    let mut target = 0;
    for change in 0..=2 {
        target += 5 * VOTERS;
        poll_until("votes to be accepted in this round", || async {
            (accepted.load(Ordering::Relaxed) >= target).then_some(())
        })
        .await
        .unwrap();
        if change < 2 {
            presenter.start_round("", &["Cats", "Dogs"]).await.unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut expected: HashMap<i64, HashMap<String, String>> = HashMap::new();
    for voter in voters {
        let (id, last) = voter.await.unwrap();
        for (round, choice) in last {
            expected
                .entry(round)
                .or_default()
                .insert(id.clone(), choice);
        }
    }
    draining.await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(env.queue_length().await.unwrap(), 0);
    assert_eq!(
        expected.len(),
        3,
        "votes were accepted in rounds 1, 2 and 3"
    );
    for round in [1, 2] {
        assert_eq!(
            kept_votes(&env, round).await,
            expected[&round],
            "round {round}"
        );
    }
    assert_eq!(
        env.votes_in_database().await.unwrap(),
        expected[&3],
        "round 3"
    );
    // Not every voter need have had a vote accepted in round 3 (a slow one may not yet): the
    // results show exactly those who did.
    let shown = results(&env).await;
    for choice in ["a", "b"] {
        let cast = expected[&3].values().filter(|vote| *vote == choice).count();
        assert_eq!(shown[choice], cast, "round 3's {choice}: {shown}");
    }
    assert_eq!(shown["total"], expected[&3].len());
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_voting_takes_no_vote_and_reopened_voting_does() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    let closed = presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    assert_eq!(
        (&closed["round"], &closed["open"]),
        (&1.into(), &false.into())
    );

    let page = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(page.status(), 409);
    assert!(body(&page).contains("voting is closed: your vote was not recorded"));
    let api = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"a"}"#)
        .await
        .unwrap();
    assert_eq!(api.status(), 409);
    let error: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("voting is closed")
    );
    assert_eq!(env.queue_length().await.unwrap(), 0, "nothing queued");
    let shown = body(&env.app.get("/").await.unwrap());
    assert!(
        shown.contains("Voting is closed.") && shown.contains(" disabled>"),
        "{shown}"
    );
    assert_eq!(results(&env).await["open"], false);
    let result_page = body(&env.app.get("/result").await.unwrap());
    assert!(result_page.contains("Voting is closed"), "{result_page}");

    presenter
        .api_json("POST", "/admin/api/open", "", 200)
        .await
        .unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
    assert_eq!(results(&env).await["open"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_round_mirror_takes_no_vote_until_the_worker_restores_it_from_postgres() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    presenter
        .start_round("Lunch?", &["Pizza", "Soup", "Salad"])
        .await
        .unwrap();
    presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.del(ROUND_KEY).await.unwrap();

    // Meanwhile every vote is refused, and the page says voting opens in a moment.
    let refused = Visitor::new(&env.app).vote("c").await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(body(&refused).contains("voting opens in a moment"));
    assert_eq!(refused.headers()["retry-after"], "2");
    assert_eq!(env.queue_length().await.unwrap(), 0);

    // The vote rang the doorbell; the worker restores round 2, closed, with its options.
    env.drain().await.unwrap();
    assert!(env.app.logs().contains("worker: restored round 2 to Redis"));
    let still_closed = Visitor::new(&env.app).vote("c").await.unwrap();
    assert_eq!(still_closed.status(), 409, "{}", body(&still_closed));
    presenter
        .api_json("POST", "/admin/api/open", "", 200)
        .await
        .unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("c").await.unwrap().status(),
        200
    );
    let beyond = Visitor::new(&env.app).vote("d").await.unwrap();
    assert_eq!(beyond.status(), 400);
    assert!(body(&beyond).contains(r#"unknown option &quot;d&quot;: vote &quot;a&quot; (Pizza)"#));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_redis_trigger_the_vote_itself_rings_the_worker_to_restore_the_mirror() {
    let env = TestEnv::with_console(Deployment::HttpOnly).await.unwrap();
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.del(ROUND_KEY).await.unwrap();
    assert_eq!(env.app.get("/").await.unwrap().status(), 503);
    poll_until("the worker to restore the round's mirror", || async {
        (env.app.get("/").await.ok()?.status() == 200).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_without_a_round_belongs_to_the_current_round() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    presenter
        .start_round("", &["Tea", "Coffee", "Water"])
        .await
        .unwrap();
    let legacy = LegacyEntry {
        voter_id: "original-vote-service",
        vote: "c",
    };
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.rpush(VOTES_KEY, legacy.to_json()).await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(results(&env).await["options"][2]["count"], 1);
    assert_eq!(
        env.votes_in_database().await.unwrap()["original-vote-service"],
        "c"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_written_while_a_round_starts_waits_for_it_and_goes_to_its_own_round() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let mut voter = Visitor::new(&env.app);
    assert_eq!(voter.vote("b").await.unwrap().status(), 200);
    // A new round under way in PostgreSQL (its transaction still open) when the worker
    // writes the batch of round 1.
    let client = env.postgres.client().await.unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute(
            voting_shared::schema::START_ROUND,
            &[
                &"Next?",
                &r#"["Cats","Dogs"]"#,
                &"Cats or Dogs?",
                &r#"["Cats","Dogs"]"#,
                &"live",
                &None::<i32>,
                &None::<i32>,
                &now_ms(),
            ],
        )
        .await
        .unwrap();
    let drain = {
        let app = env.app.clone();
        tokio::spawn(async move { app.deliver("worker", b"vote").await })
    };
    let observer = env.postgres.client().await.unwrap();
    poll_until("the worker's write to wait for the new round", || async {
        let waiting: i64 = observer
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                &[],
            )
            .await
            .ok()?
            .get(0);
        (waiting > 0).then_some(())
    })
    .await
    .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    drain.await.unwrap().unwrap();
    assert_eq!(kept_votes(&env, 1).await[voter.voter_id().unwrap()], "b");
    assert!(
        env.votes_in_database().await.unwrap().is_empty(),
        "nothing leaked into round 2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_installation_from_before_rounds_keeps_its_votes_as_round_one() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    for choice in ["a", "b", "b"] {
        assert_eq!(
            Visitor::new(&env.app).vote(choice).await.unwrap().status(),
            200
        );
    }
    env.drain().await.unwrap();
    // The schema as the worker made it before rounds: votes and their running tally only.
    let client = env.postgres.client().await.unwrap();
    client
        .batch_execute(
            "DROP TABLE poll_state, poll_rounds, round_votes;
             DROP FUNCTION record_batch, start_round, poll_snapshot",
        )
        .await
        .unwrap();
    let _: () = env
        .redis()
        .await
        .unwrap()
        .del(&[ROUND_KEY, voting_shared::results::RESULTS_KEY])
        .await
        .unwrap();
    assert_eq!(
        results(&env).await["total"],
        3,
        "counted from votes meanwhile"
    );

    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        503
    );
    env.drain().await.unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
    env.drain().await.unwrap();
    let tally = results(&env).await;
    assert_eq!(
        (tally["round"].as_i64(), tally["total"].as_i64()),
        (Some(1), Some(4))
    );
    let presenter = Presenter::new(&env.app, TOKEN);
    presenter.start_round("", &["Cats", "Dogs"]).await.unwrap();
    assert_eq!(kept_votes(&env, 1).await.len(), 4, "round 1 kept whole");
}
