//! Polls of 2 to 8 options, set by the `options` variable: every option on the vote page, the
//! results page, `/result/api` and in PostgreSQL; each voter's last vote counted exactly; a
//! choice the poll does not offer refused at the door and dead-lettered in the queue; a poll
//! that cannot be set up says what to change and loses nothing; votes for any option survive a
//! PostgreSQL outage.

use redis::AsyncCommands;
use spin_test_host::Response;
use voting_shared::choice::{Choice, MAX_OPTIONS};
use voting_shared::counts::Counts;
use voting_shared::queue::{DEAD_LETTER_KEY, LegacyEntry, VOTES_KEY};
use voting_tests::{Deployment, TestEnv, Visitor};

/// Eight labels, one with a comma (so the JSON form) and one long.
const EIGHT_OPTIONS: &str = r#"["Rust", "Go", "Zig", "C, or C++", "Swift", "Kotlin", "Haskell",
  "A language nobody in this room has heard of yet"]"#;
const EIGHT_LABELS: [&str; MAX_OPTIONS] = [
    "Rust",
    "Go",
    "Zig",
    "C, or C++",
    "Swift",
    "Kotlin",
    "Haskell",
    "A language nobody in this room has heard of yet",
];

fn body(response: &Response) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}

/// 3000 voters over eight options, from eight clients; every tenth voter changes their vote.
/// Returns what each voter's last vote makes of the tally.
async fn vote_over_eight_options(env: &TestEnv) -> Counts {
    const VOTERS: usize = 3000;
    const CLIENTS: usize = 8;
    let clients = (0..CLIENTS).map(|client| {
        let app = env.app.clone();
        tokio::spawn(async move {
            let mut last_votes = Counts::default();
            for voter in (client..VOTERS).step_by(CLIENTS) {
                let mut visitor = Visitor::new(&app);
                let mut choices = vec![Choice::at(voter % MAX_OPTIONS)];
                if voter % 10 == 0 {
                    choices.push(Choice::at((voter + 3) % MAX_OPTIONS));
                }
                for choice in &choices {
                    let response = visitor.vote(choice.as_str()).await.unwrap();
                    assert_eq!(response.status(), 200, "{}", body(&response));
                }
                last_votes.add_vote(*choices.last().unwrap());
            }
            last_votes
        })
    });
    let mut expected = Counts::default();
    for client in clients {
        expected = expected + client.await.unwrap();
    }
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_options_are_each_counted_exactly_with_the_last_vote_winning() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::setup()
            .deployment(deployment)
            .env("SPIN_VARIABLE_OPTIONS", EIGHT_OPTIONS)
            .start()
            .await
            .unwrap();
        let _triggers = match deployment {
            Deployment::RedisTrigger => Some(env.app.start_redis_triggers().await.unwrap()),
            Deployment::HttpOnly => None,
        };
        let expected = vote_over_eight_options(&env).await;
        assert_eq!(expected.total(), 3000);
        env.drain().await.unwrap();
        let tally = env.wait_for_total(3000).await.unwrap();
        assert_eq!(Counts::from_json(&tally), Some(expected), "{deployment:?}");
        let options = tally["options"].as_array().unwrap();
        let labels: Vec<&str> = options
            .iter()
            .map(|o| o["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, EIGHT_LABELS);
        assert_eq!(options[7]["choice"], "h");
        assert_eq!(tally["option_a"], "Rust");
        assert_eq!(env.tally_in_database().await.unwrap(), expected);
        assert_eq!(env.queue_length().await.unwrap(), 0);
        let dead: usize = env
            .redis()
            .await
            .unwrap()
            .llen(DEAD_LETTER_KEY)
            .await
            .unwrap();
        assert_eq!(dead, 0, "{deployment:?}");

        let results = env.app.get("/result").await.unwrap();
        let results = body(&results);
        assert!(results.contains(">3000 votes<"), "{results}");
        for (choice, label) in Choice::ALL.iter().zip(EIGHT_LABELS) {
            let count = expected.of(*choice);
            assert!(
                results.contains(&format!(">{label}</div>"))
                    && results.contains(&format!("<span id=\"count-{choice}\">{count}</span>")),
                "{label}: {results}"
            );
        }
        let metrics = env.app.get("/metrics").await.unwrap();
        assert!(
            body(&metrics).contains(&format!(
                "voting_votes{{choice=\"h\",label=\"{}\"}} {}",
                EIGHT_LABELS[7],
                expected.of(Choice::at(7))
            )),
            "{}",
            body(&metrics)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vote_page_offers_every_option_and_the_question() {
    let env = TestEnv::setup()
        .env("SPIN_VARIABLE_OPTIONS", EIGHT_OPTIONS)
        .start()
        .await
        .unwrap();
    let page = env.app.get("/").await.unwrap();
    let page = body(&page);
    assert!(
        page.contains(r#"<h1 id="question">Which one do you pick?</h1>"#),
        "{page}"
    );
    for choice in Choice::ALL {
        assert!(
            page.contains(&format!("name=\"vote\" value=\"{choice}\"")),
            "{choice}: {page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_choice_the_poll_does_not_offer_is_refused_and_dead_lettered() {
    let env = TestEnv::setup()
        .env("SPIN_VARIABLE_OPTIONS", "Cats,Dogs,Birds")
        .start()
        .await
        .unwrap();
    let mut visitor = Visitor::new(&env.app);
    let refused = visitor.vote_json(br#"{"vote":"d"}"#).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(
        body(&refused)
            .contains(r#"unknown option \"d\": vote \"a\" (Cats), \"b\" (Dogs) or \"c\" (Birds)"#),
        "{}",
        body(&refused)
    );
    assert_eq!(
        env.queue_length().await.unwrap(),
        0,
        "a refused vote queues nothing"
    );
    let accepted = visitor.vote("c").await.unwrap();
    assert_eq!(accepted.status(), 200);
    assert!(body(&accepted).contains("Your vote: <strong>Birds</strong>"));

    // What the original vote service, or anyone, pushes for an option this poll lacks.
    let mut redis = env.redis().await.unwrap();
    let beyond = LegacyEntry {
        voter_id: "someone",
        vote: "d",
    }
    .to_json();
    let _: () = redis.rpush(VOTES_KEY, &beyond).await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[0, 0, 1])
    );
    let dead: Vec<String> = redis.lrange(DEAD_LETTER_KEY, 0, -1).await.unwrap();
    assert_eq!(dead, [beyond]);
    assert!(
        env.app
            .logs()
            .contains("vote is not one of the poll's options"),
        "{}",
        env.app.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_that_cannot_be_set_up_says_what_to_change_and_loses_nothing() {
    let env = TestEnv::setup()
        .env("SPIN_VARIABLE_OPTIONS", "Cats")
        .unrung()
        .start()
        .await
        .unwrap();
    for path in ["/", "/result", "/result/api"] {
        let response = env.app.get(path).await.unwrap();
        assert_eq!(response.status(), 500, "{path}");
        assert!(
            body(&response).contains("misconfigured; see the server log"),
            "{path}"
        );
    }
    let health = env.app.get("/healthz").await.unwrap();
    assert_eq!(health.status(), 503);
    let health: serde_json::Value = serde_json::from_slice(health.body()).unwrap();
    assert_eq!(health["poll"], "misconfigured");
    assert_eq!(
        (&health["redis"], &health["postgres"]),
        (&"ok".into(), &"ok".into())
    );
    let problem = health["problems"][0].as_str().unwrap();
    assert!(
        problem.starts_with("the variable options makes no poll"),
        "{problem}"
    );
    let vote = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(vote.status(), 500);
    assert_eq!(env.queue_length().await.unwrap(), 0);

    // A vote queued before the change waits, neither counted nor dead-lettered.
    let queued = LegacyEntry {
        voter_id: "early",
        vote: "a",
    }
    .to_json();
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.rpush(VOTES_KEY, &queued).await.unwrap();
    assert!(env.drain().await.is_err());
    assert_eq!(env.queue_length().await.unwrap(), 1);
    let logs = env.app.logs();
    assert!(
        logs.contains(
            "the variable options makes no poll: a poll has 2 to 8 options, not 1: separate the \
             labels with commas (Cats,Dogs,Birds) or give a JSON array of strings"
        ),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_for_every_option_cast_while_postgresql_is_down_are_counted_after_it_returns() {
    let mut env = TestEnv::setup()
        .env("SPIN_VARIABLE_OPTIONS", EIGHT_OPTIONS)
        .start()
        .await
        .unwrap();
    env.postgres.stop().unwrap();
    let mut expected = Counts::default();
    for choice in Choice::ALL
        .into_iter()
        .chain([Choice::at(7), Choice::at(3)])
    {
        let response = Visitor::new(&env.app).vote(choice.as_str()).await.unwrap();
        assert_eq!(response.status(), 200, "voting needs only Redis");
        expected.add_vote(choice);
    }
    assert!(env.drain().await.is_err(), "the batch waits for PostgreSQL");
    assert_eq!(env.queue_length().await.unwrap(), 10);
    env.postgres.restart().await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(env.tally_in_database().await.unwrap(), expected);
    let tally = env.wait_for_total(10).await.unwrap();
    assert_eq!(Counts::from_json(&tally), Some(expected));
}
