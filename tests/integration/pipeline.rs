//! The voting pipeline end to end — vote → Redis → worker → PostgreSQL → result — through
//! the real spin.toml, with real Redis and PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;

use redis::AsyncCommands;
use spin_test_host::{App, HostCall};
use voting_shared::queue::{ACKNOWLEDGE_SCRIPT, DEAD_LETTER_KEY, LegacyEntry, VOTES_KEY};
use voting_shared::schema::UPSERT_VOTES;
use voting_tests::{TestEnv, Visitor, seed_votes};

async fn publish_doorbell(env: &TestEnv) {
    let _: () = env
        .redis()
        .await
        .unwrap()
        .publish("votes", "catch-up")
        .await
        .unwrap();
}

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
    assert_eq!(env.tally_in_database().await.unwrap(), (2000, 1000));
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
    assert_eq!(env.tally_in_database().await.unwrap(), (1, 0));
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
    publish_doorbell(&env).await;
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(tally["b"], 1);
    assert_eq!(
        env.votes_in_database().await.unwrap()["4ad3c2e1f0b9a877"],
        "b"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_made_by_the_original_worker_is_extended_and_its_votes_kept() {
    let env = TestEnv::start().await.unwrap();
    let client = env.postgres.client().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE votes (id VARCHAR(255) NOT NULL UNIQUE, vote VARCHAR(255) NOT NULL);
             INSERT INTO votes VALUES ('old-voter', 'b')",
        )
        .await
        .unwrap();
    Visitor::new(&env.app).vote("a").await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), (1, 1));
}

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
            expected.insert(voter_id(voter), choice.to_owned());
        }
    }
    assert_eq!(env.queue_length().await.unwrap(), 600);

    let doorbell = voting_shared::queue::DOORBELL.as_bytes();
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

fn voter_id(browser: &Visitor) -> String {
    let cookie = browser
        .cookie("voter_id")
        .expect("the vote set a voter cookie");
    cookie.split('.').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_failure_in_the_middle_of_a_batch_loses_nothing_and_the_retry_counts_once() {
    let env = TestEnv::start().await.unwrap();
    for choice in ["a", "a", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    env.app.inject_fault(Arc::new(|call: &HostCall| match call {
        HostCall::PostgresStatement(sql) if sql == UPSERT_VOTES => {
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

    env.app.clear_faults();
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), (2, 1));
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_the_commit_but_before_the_acknowledgement_is_replayed_idempotently() {
    let env = TestEnv::start().await.unwrap();
    let mut voter = Visitor::new(&env.app);
    voter.vote("a").await.unwrap();
    voter.vote("b").await.unwrap();
    Visitor::new(&env.app).vote("a").await.unwrap();
    env.app.inject_fault(Arc::new(|call: &HostCall| match call {
        HostCall::RedisExecute { arguments, .. }
            if arguments.first().map(Vec::as_slice) == Some(ACKNOWLEDGE_SCRIPT.as_bytes()) =>
        {
            Some("injected: worker crashed before acknowledging".to_owned())
        }
        _ => None,
    }));
    assert!(env.drain().await.is_err());
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        (1, 1),
        "the batch was committed"
    );
    assert_eq!(
        env.queue_length().await.unwrap(),
        3,
        "but not removed from the queue"
    );

    env.app.clear_faults();
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), (1, 1));
    assert_eq!(env.queue_length().await.unwrap(), 0);
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
    let api = env.app.get("/result/api").await.unwrap();
    assert_eq!(api.status(), 503);
    let page = env.app.get("/result").await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(
        std::str::from_utf8(page.body())
            .unwrap()
            .contains("Results are unavailable right now")
    );
    while triggers.messages_handled() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(env.queue_length().await.unwrap(), 3);

    env.postgres.restart().await.unwrap();
    publish_doorbell(&env).await;
    let tally = env.wait_for_total(3).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(2))
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
    publish_doorbell(&env).await;
    let tally = env.wait_for_total(4).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(3), Some(1))
    );
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
    assert_eq!(env.tally_in_database().await.unwrap(), (1, 1));
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

#[tokio::test]
async fn an_invented_voter_cookie_is_replaced_and_never_stored() {
    let env = TestEnv::start().await.unwrap();
    let mut forger = Visitor::new(&env.app);
    forger.set_cookie("voter_id", "forged-voter.0123");
    let response = forger
        .send(
            "POST",
            "/api/vote",
            Some("application/json"),
            br#"{"vote":"a"}"#,
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let answer: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_ne!(answer["voter_id"], "forged-voter");
    assert_eq!(answer["vote"], "a");
    let issued = forger.cookie("voter_id").unwrap().to_owned();
    assert!(issued.starts_with(answer["voter_id"].as_str().unwrap()));

    let entries: Vec<String> = env
        .redis()
        .await
        .unwrap()
        .lrange(VOTES_KEY, 0, -1)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert!(!entries[0].contains("forged"), "{}", entries[0]);
    let entry: serde_json::Value = serde_json::from_str(&entries[0]).unwrap();
    assert_eq!(entry["voter_id"], answer["voter_id"]);

    forger.vote("b").await.unwrap();
    assert_eq!(
        forger.cookie("voter_id").unwrap(),
        issued,
        "the issued id is kept"
    );
}

#[tokio::test]
async fn the_json_api_answers_202_with_the_voter_and_sets_the_voter_cookie() {
    let env = TestEnv::start().await.unwrap();
    let response = env
        .app
        .send(
            App::request("POST", "/api/vote")
                .header("content-type", "application/json")
                .body(bytes::Bytes::from_static(br#"{"vote":"b"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["content-type"], "application/json");
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    let voter_cookie = cookies.iter().find(|c| c.starts_with("voter_id=")).unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(voter_cookie.contains(attribute), "{voter_cookie}");
    }
    let answer: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(answer["vote"], "b");
    assert_eq!(
        answer["voter_id"].as_str().unwrap().len(),
        32,
        "128 random bits in hex"
    );
}

#[tokio::test]
async fn every_bad_request_gets_its_4xx_and_queues_nothing() {
    let env = TestEnv::start().await.unwrap();
    let form = Some("application/x-www-form-urlencoded");
    let json = Some("application/json");
    let oversized = format!("vote=a&pad={}", "x".repeat(5000));
    // (method, path, content type, body, expected status)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a [u8], u16);
    let cases: Vec<Case> = vec![
        ("POST", "/", form, b"vote=c", 400),
        ("POST", "/", form, b"vote=", 400),
        ("POST", "/", form, b"", 400),
        ("POST", "/", form, b"choice=a", 400),
        ("POST", "/", form, b"vote=a&vote=b", 400),
        ("POST", "/", form, b"vote=%zz", 400),
        ("POST", "/", form, b"vote=\xff\xfe", 400),
        ("POST", "/", json, br#"{"vote":"a"}"#, 415),
        ("POST", "/", None, b"vote=a", 415),
        ("POST", "/", form, oversized.as_bytes(), 413),
        ("POST", "/api/vote", json, br#"{"vote":"c"}"#, 400),
        ("POST", "/api/vote", json, br#"{}"#, 400),
        ("POST", "/api/vote", json, br#"{"vote":"a""#, 400),
        ("POST", "/api/vote", json, b"[]", 400),
        ("POST", "/api/vote", json, br#"{"vote":null}"#, 400),
        ("POST", "/api/vote", form, b"vote=a", 415),
        ("POST", "/api/vote", json, oversized.as_bytes(), 413),
        ("PUT", "/", form, b"vote=a", 405),
        ("DELETE", "/", None, b"", 405),
        ("GET", "/api/vote", None, b"", 405),
        ("PUT", "/api/vote", json, br#"{"vote":"a"}"#, 405),
        ("POST", "/result", form, b"vote=a", 405),
        ("DELETE", "/result/api", None, b"", 405),
    ];
    for (method, path, content_type, body, status) in cases {
        let response = Visitor::new(&env.app)
            .send(method, path, content_type, body)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(response.body());
        assert_eq!(
            response.status(),
            status,
            "{method} {path} {content_type:?}: {text}"
        );
        assert!(
            !text.is_empty(),
            "{method} {path}: the answer explains itself"
        );
        if status == 405 {
            assert!(response.headers().contains_key("allow"), "{method} {path}");
        }
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{method} {path}"
        );
    }
    assert_eq!(env.queue_length().await.unwrap(), 0);
    let sequence: Option<String> = env.redis().await.unwrap().get("votes:seq").await.unwrap();
    assert_eq!(sequence, None, "nothing reached the queue");
}

#[tokio::test]
async fn with_redis_down_voting_answers_503_while_the_page_still_renders() {
    let mut env = TestEnv::start().await.unwrap();
    env.redis.stop().unwrap();
    let response = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(String::from_utf8_lossy(response.body()).contains("Redis is not answering"));
    let api = Visitor::new(&env.app)
        .send(
            "POST",
            "/api/vote",
            Some("application/json"),
            br#"{"vote":"a"}"#,
        )
        .await
        .unwrap();
    assert_eq!(api.status(), 503);
    let error: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert!(error["error"].as_str().unwrap().contains("Redis"));
    assert_eq!(env.app.get("/").await.unwrap().status(), 200);

    env.redis.restart().await.unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn the_results_api_answers_304_until_the_tally_changes() {
    let env = TestEnv::start().await.unwrap();
    let first = env.app.get("/result/api").await.unwrap();
    assert_eq!(first.status(), 200);
    let tally: serde_json::Value = serde_json::from_slice(first.body()).unwrap();
    assert_eq!(
        tally,
        serde_json::json!({"a":0,"b":0,"total":0,"option_a":"Cats","option_b":"Dogs"})
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let conditional = |etag: String| {
        App::request("GET", "/result/api")
            .header("if-none-match", etag)
            .body(bytes::Bytes::new())
            .unwrap()
    };
    let unchanged = env.app.send(conditional(etag.clone())).await.unwrap();
    assert_eq!(unchanged.status(), 304);
    assert!(unchanged.body().is_empty());

    Visitor::new(&env.app).vote("a").await.unwrap();
    env.drain().await.unwrap();
    let changed = env.app.send(conditional(etag.clone())).await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn healthz_names_the_dependency_that_is_down() {
    let mut env = TestEnv::start().await.unwrap();
    let health = |response: spin_test_host::Response| {
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        (
            response.status().as_u16(),
            body["redis"].clone(),
            body["postgres"].clone(),
        )
    };
    assert_eq!(
        health(env.app.get("/healthz").await.unwrap()),
        (200, "ok".into(), "ok".into())
    );
    env.redis.stop().unwrap();
    assert_eq!(
        health(env.app.get("/healthz").await.unwrap()),
        (503, "down".into(), "ok".into())
    );
    env.redis.restart().await.unwrap();
    env.postgres.stop().unwrap();
    assert_eq!(
        health(env.app.get("/healthz").await.unwrap()),
        (503, "ok".into(), "down".into())
    );
    env.postgres.restart().await.unwrap();
    assert_eq!(
        health(env.app.get("/healthz").await.unwrap()),
        (200, "ok".into(), "ok".into())
    );
}

#[tokio::test]
async fn labels_from_configuration_are_escaped_on_every_page() {
    let env = TestEnv::setup()
        .envs(&[
            ("SPIN_VARIABLE_OPTION_A", "<script>alert(1)</script>"),
            ("SPIN_VARIABLE_OPTION_B", "Fish & \"Chips\""),
        ])
        .start()
        .await
        .unwrap();
    for path in ["/", "/result"] {
        let page = env.app.get(path).await.unwrap();
        let page = String::from_utf8_lossy(page.body());
        assert!(!page.contains("<script>alert(1)"), "{path}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(page.contains("Fish &amp; &quot;Chips&quot;"), "{path}");
    }
    let api = env.app.get("/result/api").await.unwrap();
    let tally: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert_eq!(tally["option_a"], "<script>alert(1)</script>");
}

#[tokio::test]
async fn no_input_makes_a_component_trap() {
    let env = TestEnv::start().await.unwrap();
    let bodies: [&[u8]; 6] = [
        b"",
        b"\x00\xff\xfe",
        b"vote=a\x00",
        b"{\"vote\":\"\\ud800\"}",
        b"%",
        b"vote=%%%",
    ];
    let content_types = [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("a/b; c"),
    ];
    let paths = [
        "/",
        "/api/vote",
        "/api/vote/",
        "/result",
        "/result/api",
        "/result/x/y",
        "/counter",
        "/healthz",
        "/?vote=a",
    ];
    for method in ["GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD"] {
        for path in paths {
            for content_type in content_types {
                for body in bodies {
                    let mut browser = Visitor::new(&env.app);
                    browser.set_cookie("voter_id", "zz.%zz");
                    let response = browser
                        .send(method, path, content_type, body)
                        .await
                        .unwrap();
                    assert_ne!(
                        response.status(),
                        500,
                        "{method} {path} {content_type:?} {body:?}"
                    );
                }
            }
        }
    }
    assert!(!env.app.logs().contains("trapped"), "{}", env.app.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_votes_survive_a_redis_restart_that_stops_the_redis_trigger() {
    let mut env = TestEnv::start().await.unwrap();
    for choice in ["b", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    let triggers = env.app.start_redis_triggers().await.unwrap();
    env.redis.stop().unwrap();
    while triggers.is_running() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    env.redis.restart().await.unwrap();
    assert_eq!(
        env.queue_length().await.unwrap(),
        2,
        "the append-only file kept the queue"
    );

    // What scripts/up does: restart the worker, then ring the doorbell.
    let _triggers = env.app.start_redis_triggers().await.unwrap();
    publish_doorbell(&env).await;
    let tally = env.wait_for_total(2).await.unwrap();
    assert_eq!(tally["b"], 2);
}
