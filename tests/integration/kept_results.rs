//! The results kept in Redis for a room of phones (guarantee 11): they follow every change at
//! once (a batch, a new round, closing, a reveal, a deadline); a poll costs one Redis round
//! trip and nothing in PostgreSQL; a lost copy is rebuilt once, not once per phone; no field
//! of the copy serves a hidden count; with PostgreSQL down the room keeps the last results,
//! told they may be out of date; and every viewer gets the same answer, which a proxy may
//! share for a second.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::{App, HostCall, Response};
use voting_shared::results::RESULTS_KEY;
use voting_shared::schema::POLL_SNAPSHOT;
use voting_tests::{ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, body, poll_until};

async fn results(env: &TestEnv) -> serde_json::Value {
    env.results().await.unwrap()
}

/// Records every host call the app makes from now on, by kind.
fn record_host_calls(env: &TestEnv) -> Arc<Mutex<Vec<String>>> {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    env.app.on_host_call(Arc::new(move |call: &HostCall| {
        let kind = match call {
            HostCall::RedisOpen => "redis open".to_owned(),
            HostCall::RedisExecute { command, .. } => format!("redis {command}"),
            HostCall::PostgresOpen => "postgres open".to_owned(),
            HostCall::PostgresStatement(sql) if sql == POLL_SNAPSHOT => {
                "postgres snapshot".to_owned()
            }
            HostCall::PostgresStatement(_) => "postgres statement".to_owned(),
            HostCall::HttpSend(authority) => format!("http {authority}"),
        };
        recorded.lock().unwrap().push(kind);
        None
    }));
    calls
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kept_results_follow_every_change_at_once() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    Visitor::new(&env.app).vote("a").await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(results(&env).await["a"], 1, "a batch");

    let question = r#"{"question":"Lunch?","options":["Pizza","Soup"],"results":"on-reveal"}"#;
    presenter
        .api_json("POST", "/admin/api/rounds", question, 201)
        .await
        .unwrap();
    let started = results(&env).await;
    assert_eq!(
        (
            started["round"].as_i64(),
            &started["question"],
            started["total"].as_i64()
        ),
        (Some(2), &"Lunch?".into(), Some(0)),
        "a new round"
    );
    Visitor::new(&env.app).vote("b").await.unwrap();
    env.drain().await.unwrap();
    let hidden = results(&env).await;
    assert_eq!(
        (hidden["total"].as_i64(), hidden["hidden"].as_bool()),
        (Some(1), Some(true))
    );
    presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    assert_eq!(results(&env).await["open"], false, "closing");
    presenter
        .api_json("POST", "/admin/api/reveal", "", 200)
        .await
        .unwrap();
    let revealed = results(&env).await;
    assert_eq!(
        (revealed["hidden"].as_bool(), revealed["b"].as_i64()),
        (Some(false), Some(1))
    );

    // A deadline: the copy kept before it has the answer for after it, which Redis's clock
    // alone starts serving.
    presenter
        .api_json("POST", "/admin/api/time", r#"{"seconds": 2}"#, 200)
        .await
        .unwrap();
    let timed = results(&env).await;
    assert_eq!(timed["open"], true, "more time opened voting again");
    let closes = timed["closes_at"].as_i64().unwrap();
    let after = poll_until("the deadline", || async {
        let tally = results(&env).await;
        (tally["now"].as_i64()? >= closes).then_some(tally)
    })
    .await
    .unwrap();
    assert_eq!(
        (after["open"].as_bool(), after["seconds_left"].as_i64()),
        (Some(false), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_costs_one_redis_round_trip_and_nothing_in_postgresql() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::setup()
            .deployment(deployment)
            .start()
            .await
            .unwrap();
        Visitor::new(&env.app).vote("a").await.unwrap();
        env.drain().await.unwrap();
        let first = env.app.get("/result/api").await.unwrap();
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let calls = record_host_calls(&env);
        for poll in 0..100 {
            let mut request = App::request("GET", "/result/api");
            if poll % 2 == 0 {
                request = request.header("if-none-match", &etag);
            }
            let response = env
                .app
                .send(request.body(Bytes::new()).unwrap())
                .await
                .unwrap();
            let expected = if poll % 2 == 0 { 304 } else { 200 };
            assert_eq!(response.status(), expected, "{deployment:?}");
        }
        env.app.clear_host_call_hook();
        let calls = calls.lock().unwrap().clone();
        assert!(
            !calls.iter().any(|call| call.starts_with("postgres")),
            "{deployment:?}: {calls:?}"
        );
        assert_eq!(
            calls.iter().filter(|call| *call == "redis EVAL").count(),
            100,
            "{deployment:?}: one script a poll"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_copy_is_rebuilt_once_not_once_per_phone() {
    let env = TestEnv::start().await.unwrap();
    for choice in ["a", "b", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    env.drain().await.unwrap();
    let _: () = env.redis().await.unwrap().del(RESULTS_KEY).await.unwrap();
    let calls = record_host_calls(&env);
    let phones = (0..50).map(|_| {
        let app = env.app.clone();
        tokio::spawn(async move { app.get("/result/api").await.unwrap() })
    });
    let mut answered = 0;
    for phone in phones {
        let response = phone.await.unwrap();
        match response.status().as_u16() {
            200 => {
                answered += 1;
                let tally: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
                assert_eq!(tally["total"], 3);
            }
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                assert!(
                    body(&response).contains("being prepared"),
                    "{}",
                    body(&response)
                );
            }
            other => panic!("a phone got {other}: {}", body(&response)),
        }
    }
    assert!(answered >= 1, "the rebuilding phone answers");
    env.app.clear_host_call_hook();
    let snapshots = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|call| *call == "postgres snapshot")
        .count();
    assert_eq!(snapshots, 1, "one reader asked PostgreSQL");
    assert_eq!(
        results(&env).await["total"],
        3,
        "every phone reads the copy now"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_field_of_the_kept_copy_serves_a_hidden_count() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let mut redis = env.redis().await.unwrap();
    for (question, deadline_answer_has_counts) in [
        (
            r#"{"options":["Yes","No"],"results":"on-reveal","seconds":600}"#,
            false,
        ),
        (
            r#"{"options":["Yes","No"],"results":"after-close","seconds":600}"#,
            true,
        ),
    ] {
        presenter
            .api_json("POST", "/admin/api/rounds", question, 201)
            .await
            .unwrap();
        for choice in ["a", "a", "b"] {
            Visitor::new(&env.app).vote(choice).await.unwrap();
        }
        env.drain().await.unwrap();
        let kept: std::collections::HashMap<String, String> =
            redis.hgetall(RESULTS_KEY).await.unwrap();
        let before: serde_json::Value = serde_json::from_str(&kept["before"]).unwrap();
        assert_eq!(before["total"], 3);
        assert!(
            !kept["before"].contains("\"count\""),
            "{question}: {}",
            kept["before"]
        );
        assert!(before.get("a").is_none() && before.get("b").is_none());
        let after: serde_json::Value = serde_json::from_str(&kept["after"]).unwrap();
        assert_eq!(
            after["options"][0].get("count").is_some(),
            deadline_answer_has_counts,
            "{question}: only a round whose deadline shows the counts keeps them for after it"
        );
        let served = results(&env).await;
        assert!(served.get("a").is_none(), "{question}: {served}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_viewer_gets_the_same_answer_which_a_proxy_may_share_for_a_second() {
    let env = TestEnv::start().await.unwrap();
    let mut voter = Visitor::new(&env.app);
    voter.vote("b").await.unwrap();
    env.drain().await.unwrap();
    let anonymous = env.app.get("/result/api").await.unwrap();
    let known = voter.send("GET", "/result/api", None, b"").await.unwrap();
    for response in [&anonymous, &known] {
        assert_eq!(response.headers()["cache-control"], "public, max-age=1");
        assert!(response.headers().get("vary").is_none());
        assert!(response.headers().get("set-cookie").is_none());
    }
    assert_eq!(anonymous.headers()["etag"], known.headers()["etag"]);
    let strip_clock = |response: &Response| {
        let mut answer: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        answer["now"].take();
        answer
    };
    assert_eq!(strip_clock(&anonymous), strip_clock(&known));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_postgresql_down_polls_answer_the_last_results_marked_stale_without_a_trigger() {
    let mut env = TestEnv::setup()
        .deployment(Deployment::HttpOnly)
        .start()
        .await
        .unwrap();
    Visitor::new(&env.app).vote("a").await.unwrap();
    env.drain().await.unwrap();
    env.postgres.stop().unwrap();
    let voted = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"b"}"#)
        .await
        .unwrap();
    assert_eq!(voted.status(), 202);
    let stale = poll_until("the results to say they may be stale", || async {
        let tally = results(&env).await;
        (tally["stale"] == true).then_some(tally)
    })
    .await
    .unwrap();
    assert_eq!(stale["total"], 1, "the last results, not a 503");
    env.postgres.restart().await.unwrap();
    let caught_up = env.wait_for_total(2).await.unwrap();
    assert_eq!(caught_up["stale"], false);
}
