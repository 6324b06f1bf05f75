//! Running a whole talk: a deck of questions prepared in advance (through the API and the
//! console: import, export, edit), stepped through with `next` to its end and past it; who sees
//! the results when (guarantee 8: a hidden count reaches no voter — not `/result/api`, not
//! `/result`, not the ETag, not the vote page); a time limit decided by Redis's clock in the
//! enqueue script (guarantee 9), also with the worker and PostgreSQL down; votes in flight
//! across `next`; and a restart in the middle of the deck.

use redis::AsyncCommands;
use spin_test_host::{App, Response};
use voting_shared::queue::VOTES_KEY;
use voting_shared::round::ROUND_KEY;
use voting_tests::{ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, body};

async fn results(env: &TestEnv) -> (serde_json::Value, String) {
    let response = env.app.get("/result/api").await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (serde_json::from_slice(response.body()).unwrap(), etag)
}

const DECK: &str = r#"{"questions":[
  {"question":"Tabs or spaces?","options":["Tabs","Spaces"]},
  {"question":"Best editor?","options":["Vim","Emacs","VS Code"],"results":"on-reveal","seconds":60},
  {"options":["Yes","No"],"results":"after-close"}]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_deck_is_stepped_through_with_next_and_nothing_changes_past_its_end() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    for (bad, message) in [
        ("not json", "as JSON"),
        (
            r#"{"questions":[{"options":["A"]}]}"#,
            "question 1: a poll has 2 to 8",
        ),
        (
            r#"{"questions":[{"options":["A","B"]},{"options":["A","B"],"results":"soon"}]}"#,
            "question 2: \"results\" is one of",
        ),
        (
            r#"{"questions":[{"options":["A","B"],"seconds":3}]}"#,
            "from 5 to 3600",
        ),
    ] {
        let error = presenter
            .api_error("PUT", "/admin/api/deck", bad, 400)
            .await
            .unwrap();
        assert!(error.contains(message), "{error}");
    }
    let empty = presenter
        .api_json("GET", "/admin/api/deck", "", 200)
        .await
        .unwrap();
    assert_eq!(
        empty["questions"],
        serde_json::json!([]),
        "bad input changed nothing"
    );
    let refused = presenter
        .api_error("POST", "/admin/api/next", "", 409)
        .await
        .unwrap();
    assert!(refused.contains("Nothing changed"), "{refused}");

    let stored = presenter
        .api_json("PUT", "/admin/api/deck", DECK, 200)
        .await
        .unwrap();
    assert_eq!(stored["questions"][1]["position"], 2);
    assert_eq!(stored["questions"][2]["question"], "Yes or No?");
    assert_eq!(stored["questions"][0]["results"], "live");
    let read = presenter
        .api_json("GET", "/admin/api/deck", "", 200)
        .await
        .unwrap();
    assert_eq!(read, stored);

    let mut asked = Vec::new();
    for expected_round in 2..=4 {
        let round = presenter
            .api_json("POST", "/admin/api/next", "", 201)
            .await
            .unwrap();
        assert_eq!(round["round"], expected_round);
        asked.push(round["question"].as_str().unwrap().to_owned());
        let (shown, _) = results(&env).await;
        assert_eq!(shown["round"], expected_round);
        assert_eq!(shown["question"], round["question"]);
    }
    assert_eq!(asked, ["Tabs or spaces?", "Best editor?", "Yes or No?"]);
    let (before, _) = results(&env).await;
    let refused = presenter
        .api_error("POST", "/admin/api/next", "", 409)
        .await
        .unwrap();
    assert!(refused.contains("all been asked"), "{refused}");
    let (after, _) = results(&env).await;
    assert_eq!(
        (after["round"].clone(), after["open"].clone()),
        (before["round"].clone(), before["open"].clone())
    );
    let vote = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(vote.status(), 200, "voting goes on in the last question");

    // Each round records the deck question it asked.
    let rounds = presenter
        .api_json("GET", "/admin/api/rounds", "", 200)
        .await
        .unwrap();
    let positions: Vec<&serde_json::Value> = rounds["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|round| &round["deck_position"])
        .collect();
    assert_eq!(
        positions,
        [&serde_json::Value::Null, &1.into(), &2.into(), &3.into()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_imports_exports_and_edits_the_deck() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let session = presenter.sign_in().await.unwrap();
    let form = |fields: &[(&str, &str)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish()
    };
    // Each form as the console shows it, with the deck's version in it.
    let post = |path: &'static str, fields: String| {
        let presenter = &presenter;
        let session = &session;
        async move {
            let version = deck_version(presenter, session).await;
            let fields = format!("{fields}&deck_version={version}");
            let response = presenter
                .console_post(path, &fields, Some(session))
                .await
                .unwrap();
            assert_eq!(response.status(), 303, "{path}: {}", body(&response));
            assert_eq!(notice(&response), None, "{path}");
        }
    };
    post("/admin/deck", form(&[("deck", DECK)])).await;
    post(
        "/admin/deck/add",
        form(&[
            ("question", "Coffee?"),
            ("options", "Yes\nNo"),
            ("results", "after-vote"),
            ("seconds", "30"),
        ]),
    )
    .await;
    post("/admin/deck/4/up", String::new()).await;
    post("/admin/deck/1/delete", String::new()).await;
    post(
        "/admin/deck/1/save",
        form(&[
            ("question", "The best editor?"),
            ("options", "Vim\nEmacs"),
            ("results", "live"),
            ("seconds", ""),
        ]),
    )
    .await;
    let export = presenter
        .console_get("/admin/deck.json", &session)
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("deck.json")
    );
    let deck: serde_json::Value = serde_json::from_slice(export.body()).unwrap();
    let questions: Vec<&str> = deck["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|question| question["question"].as_str().unwrap())
        .collect();
    assert_eq!(questions, ["The best editor?", "Coffee?", "Yes or No?"]);
    assert_eq!(deck["questions"][0]["seconds"], serde_json::Value::Null);
    assert_eq!(deck["questions"][1]["results"], "after-vote");
    assert_eq!(deck["questions"][1]["seconds"], 30);

    // A bad edit changes nothing and says why, on the console it returns to.
    let version = deck_version(&presenter, &session).await;
    let bad = presenter
        .console_post(
            "/admin/deck/add",
            &format!(
                "{}&deck_version={version}",
                form(&[("options", "Only one")])
            ),
            Some(&session),
        )
        .await
        .unwrap();
    assert_eq!(bad.status(), 303);
    let told = presenter.follow(&bad, &session).await.unwrap();
    assert!(body(&told).contains("Nothing added"), "{}", body(&told));
    let again = presenter
        .api_json("GET", "/admin/api/deck", "", 200)
        .await
        .unwrap();
    assert_eq!(again["questions"].as_array().unwrap().len(), 3);

    // The exported file imports back through the API as it was.
    let reimported = presenter
        .api_json(
            "PUT",
            "/admin/api/deck",
            &String::from_utf8_lossy(export.body()),
            200,
        )
        .await
        .unwrap();
    assert_eq!(reimported["questions"], deck["questions"]);

    // Questions asked and then deleted leave the next question next; a move across the line
    // between asked questions and those to come is refused.
    presenter
        .api_json("POST", "/admin/api/next", "", 201)
        .await
        .unwrap();
    let version = deck_version(&presenter, &session).await;
    let across = presenter
        .console_post(
            "/admin/deck/2/up",
            &format!("deck_version={version}"),
            Some(&session),
        )
        .await
        .unwrap();
    let told = presenter.follow(&across, &session).await.unwrap();
    assert!(body(&told).contains("has been asked"), "{}", body(&told));
    post("/admin/deck/1/delete", String::new()).await;
    let next = presenter
        .api_json("POST", "/admin/api/next", "", 201)
        .await
        .unwrap();
    assert_eq!(
        next["question"], "Coffee?",
        "the question after the asked one"
    );
    presenter
        .api_json(
            "PUT",
            "/admin/api/deck",
            &String::from_utf8_lossy(export.body()),
            200,
        )
        .await
        .unwrap();

    // The console shows the deck and the next question, and next from the console asks it.
    let page = presenter.console_get("/admin", &session).await.unwrap();
    assert!(body(&page).contains("Question 1 (next)"), "{}", body(&page));
    post("/admin/next", String::new()).await;
    let (shown, _) = results(&env).await;
    assert_eq!(shown["question"], "The best editor?");
}

/// Votes for `choices` from new voters, and the worker drains them.
async fn votes(env: &TestEnv, choices: &[&str]) -> Vec<Visitor> {
    let mut voters = Vec::new();
    for choice in choices {
        let mut voter = Visitor::new(&env.app);
        let response = voter.vote(choice).await.unwrap();
        assert_eq!(response.status(), 200, "{}", body(&response));
        voters.push(voter);
    }
    env.drain().await.unwrap();
    voters
}

/// Asserts that no count reaches a voter: not the API (nor its ETag, which stays the same
/// when counts change at the same total, while voting is open), not the results page, not the
/// vote page.
async fn assert_counts_hidden(env: &TestEnv, voter: &mut Visitor, total: i64) {
    let (shown, etag) = results(env).await;
    assert_eq!(shown["hidden"], true, "{shown}");
    assert_eq!(shown["total"], total);
    assert!(
        shown.get("a").is_none() && shown.get("b").is_none(),
        "{shown}"
    );
    for option in shown["options"].as_array().unwrap() {
        assert!(option.get("count").is_none(), "{shown}");
        assert!(option["label"].is_string());
    }
    if shown["open"] == true {
        // The voter changes their vote: the counts change, the total does not, nor the ETag.
        let current = voter.cookie("vote").unwrap_or_default().to_owned();
        let other = if current.starts_with('a') { "b" } else { "a" };
        assert_eq!(voter.vote(other).await.unwrap().status(), 200);
        env.drain().await.unwrap();
        let (mut again, same_etag) = results(env).await;
        let mut shown = shown.clone();
        assert!(again["now"].take().as_i64().unwrap() >= shown["now"].take().as_i64().unwrap());
        assert_eq!(again, shown);
        assert_eq!(same_etag, etag, "the ETag carries no count");
    }
    let page = env.app.get("/result").await.unwrap();
    let page = body(&page);
    let shown_part = page.split("<script>").next().unwrap();
    assert!(shown_part.contains("hidden until"), "{page}");
    assert!(!shown_part.contains("id=\"count-") && !shown_part.contains("id=\"percent-"));
    let ballot = voter.send("GET", "/", None, b"").await.unwrap();
    let ballot = body(&ballot);
    assert!(
        ballot.contains(r#"aria-labelledby="results-heading" hidden>"#),
        "no results on the vote page"
    );
    assert!(!ballot.split("<script>").next().unwrap().contains("count-"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_results_reach_no_voter_until_voting_closes_or_the_presenter_reveals_them() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);

    let question = r#"{"question":"Q?","options":["Yes","No"],"results":"on-reveal"}"#;
    presenter
        .api_json("POST", "/admin/api/rounds", question, 201)
        .await
        .unwrap();
    let mut voters = votes(&env, &["a", "a", "b"]).await;
    assert_counts_hidden(&env, &mut voters[0], 3).await;
    presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    assert_counts_hidden(&env, &mut voters[0], 3).await;
    let metrics = body(&presenter.api("GET", "/metrics", "").await.unwrap());
    assert!(
        metrics.contains("voting_votes{choice=\"a\""),
        "the operator sees them: {metrics}"
    );
    let phone = env.app.get("/metrics").await.unwrap();
    assert_eq!(phone.status(), 401, "a phone in the room does not");
    assert!(!body(&phone).contains("voting_votes"));
    let revealed = presenter
        .api_json("POST", "/admin/api/reveal", "", 200)
        .await
        .unwrap();
    assert_eq!(revealed["revealed"], true);
    let (shown, _) = results(&env).await;
    assert_eq!(shown["hidden"], false);
    assert_eq!(shown["total"], 3);
    assert!(shown["a"].is_number() && shown["options"][0]["count"].is_number());

    let question = r#"{"question":"Q2?","options":["Yes","No"],"results":"after-close"}"#;
    presenter
        .api_json("POST", "/admin/api/rounds", question, 201)
        .await
        .unwrap();
    let mut voters = votes(&env, &["b", "b"]).await;
    assert_counts_hidden(&env, &mut voters[1], 2).await;
    presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    let (shown, _) = results(&env).await;
    assert_eq!(shown["hidden"], false, "closing voting shows them");
    let downloaded = presenter
        .api("GET", "/admin/api/rounds/2/results.json", "")
        .await
        .unwrap();
    assert!(
        body(&downloaded).contains("\"count\""),
        "downloads always have counts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_sees_the_results_after_voting_as_the_round_allows() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let has_results = |page: &Response| {
        body(page).contains(
            r#"<section id="results" class="results" aria-labelledby="results-heading"><h2"#,
        )
    };
    for (mode, before, after) in [
        ("live", true, true),
        ("after-vote", false, true),
        ("after-close", false, false),
        ("on-reveal", false, false),
    ] {
        let question = format!(r#"{{"options":["Yes","No"],"results":"{mode}"}}"#);
        presenter
            .api_json("POST", "/admin/api/rounds", &question, 201)
            .await
            .unwrap();
        let mut phone = Visitor::new(&env.app);
        let ballot = phone.send("GET", "/", None, b"").await.unwrap();
        assert_eq!(has_results(&ballot), before, "{mode}: before voting");
        let voted = phone.vote("a").await.unwrap();
        assert_eq!(has_results(&voted), after, "{mode}: the answer to the vote");
        let ballot = phone.send("GET", "/", None, b"").await.unwrap();
        assert_eq!(has_results(&ballot), after, "{mode}: the page after voting");
        let (shown, _) = results(&env).await;
        assert_eq!(shown["hidden"], !after && mode != "after-vote", "{mode}");
    }
}

/// Redis's clock, in ms.
async fn redis_now_ms(env: &TestEnv) -> i64 {
    let (seconds, micros): (i64, i64) = redis::cmd("TIME")
        .query_async(&mut env.redis().await.unwrap())
        .await
        .unwrap();
    seconds * 1000 + micros / 1000
}

/// The deck's version in the console's forms, as a browser showing the console has it.
async fn deck_version(presenter: &Presenter, session: &str) -> i64 {
    let page = presenter.console_get("/admin", session).await.unwrap();
    let page = body(&page);
    let marker = r#"name="deck_version" value=""#;
    let start = page.find(marker).expect("the console's deck forms") + marker.len();
    page[start..].split('"').next().unwrap().parse().unwrap()
}

/// The notice a console form's answer carries to the page it returns to, if any.
fn notice(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("admin_notice="))
        .map(|value| value.split(';').next().unwrap_or_default().to_owned())
}

/// Moves the current round's deadline to `closes_ms`, in the mirror, in the results kept in
/// Redis and in PostgreSQL alike, as if the time to vote had been that.
async fn set_deadline(env: &TestEnv, closes_ms: i64) {
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.hset(ROUND_KEY, "closes", closes_ms).await.unwrap();
    let _: () = redis
        .hset(voting_shared::results::RESULTS_KEY, "closes", closes_ms)
        .await
        .unwrap();
    if let Ok(client) = env.postgres.client().await {
        client
            .execute(
                "UPDATE poll_rounds SET closes_ms = $1 FROM poll_state \
                 WHERE poll_rounds.round = poll_state.round",
                &[&closes_ms],
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_time_limit_closes_voting_at_its_deadline_by_redis_clock_alone() {
    let mut env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let question = r#"{"question":"Quick?","options":["Yes","No"],"seconds":60}"#;
    let round = presenter
        .api_json("POST", "/admin/api/rounds", question, 201)
        .await
        .unwrap();
    let closes = round["closes_at"].as_i64().unwrap();
    let (shown, _) = results(&env).await;
    assert_eq!(shown["closes_at"], closes);
    let left = shown["seconds_left"].as_i64().unwrap();
    assert!((1..=60).contains(&left), "{left}");
    let page = body(
        &Visitor::new(&env.app)
            .send("GET", "/", None, b"")
            .await
            .unwrap(),
    );
    assert!(page.contains("Voting closes in"), "{page}");

    // A vote a millisecond before the deadline counts.
    set_deadline(&env, redis_now_ms(&env).await + 60_000).await;
    let in_time = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"a"}"#)
        .await
        .unwrap();
    assert_eq!(in_time.status(), 202);
    env.drain().await.unwrap();

    // With the worker and PostgreSQL down, the deadline passes: Redis's clock alone refuses.
    env.postgres.stop().unwrap();
    set_deadline(&env, redis_now_ms(&env).await).await;
    let queued = env.queue_length().await.unwrap();
    let late = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"b"}"#)
        .await
        .unwrap();
    assert_eq!(late.status(), 409, "{}", body(&late));
    assert!(body(&late).contains("voting is closed"));
    let late_page = Visitor::new(&env.app).vote("b").await.unwrap();
    assert_eq!(late_page.status(), 409);
    assert_eq!(env.queue_length().await.unwrap(), queued, "nothing queued");
    env.postgres.restart().await.unwrap();
    set_deadline(&env, redis_now_ms(&env).await - 1).await;

    let (shown, _) = results(&env).await;
    assert_eq!(
        (shown["open"].as_bool(), shown["seconds_left"].as_i64()),
        (Some(false), Some(0))
    );
    assert_eq!(shown["total"], 1);

    // The closed state is recorded in PostgreSQL by the next write (here, the next batch).
    let client = env.postgres.client().await.unwrap();
    let _: () = env
        .redis()
        .await
        .unwrap()
        .rpush(VOTES_KEY, r#"{"voter_id":"legacy","vote":"a"}"#)
        .await
        .unwrap();
    env.drain().await.unwrap();
    let row = client
        .query_one(
            "SELECT open, closed_ms FROM poll_rounds JOIN poll_state USING (round)",
            &[],
        )
        .await
        .unwrap();
    let (open, closed_ms): (bool, Option<i64>) = (row.get(0), row.get(1));
    assert!(!open && closed_ms.is_some(), "recorded closed");

    // Thirty seconds more opens voting again until the new deadline.
    let more = presenter
        .api_json("POST", "/admin/api/time", "", 200)
        .await
        .unwrap();
    assert_eq!(more["open"], true);
    let again = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"b"}"#)
        .await
        .unwrap();
    assert_eq!(again.status(), 202, "{}", body(&again));
    let (shown, _) = results(&env).await;
    assert!(
        (1..=30).contains(&shown["seconds_left"].as_i64().unwrap()),
        "{shown}"
    );
    let bad = presenter
        .api_error("POST", "/admin/api/time", r#"{"seconds":0}"#, 400)
        .await
        .unwrap();
    assert!(bad.contains("from 1 to"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_in_flight_across_next_count_in_their_round_and_a_restart_carries_on_in_the_deck() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::setup()
            .deployment(deployment)
            .console()
            .start()
            .await
            .unwrap();
        let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
        presenter
            .api_json("PUT", "/admin/api/deck", DECK, 200)
            .await
            .unwrap();
        presenter
            .api_json("POST", "/admin/api/next", "", 201)
            .await
            .unwrap();
        // Queued in round 2 (the deck's first question), drained after round 3 began.
        let mut voter = Visitor::new(&env.app);
        assert_eq!(voter.vote("b").await.unwrap().status(), 200);
        presenter
            .api_json("POST", "/admin/api/next", "", 201)
            .await
            .unwrap();
        env.drain().await.unwrap();
        let client = env.postgres.client().await.unwrap();
        let kept: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM round_votes WHERE round = 2 AND vote = 'b'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            kept, 1,
            "{deployment:?}: counted in the round it was cast in"
        );
        let (shown, _) = results(&env).await;
        assert_eq!(
            (shown["round"].as_i64(), shown["total"].as_i64()),
            (Some(3), Some(0))
        );

        // Everything restarts, and Redis comes back empty: the deck goes on at question 3.
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut env.redis().await.unwrap())
            .await
            .unwrap();
        let restarted = env.another_app().unwrap();
        let presenter = Presenter::new(&restarted, ADMIN_TOKEN);
        let next = presenter
            .api_json("POST", "/admin/api/next", "", 201)
            .await
            .unwrap();
        assert_eq!(next["question"], "Yes or No?", "{deployment:?}");
        assert_eq!(next["results"], "after-close");
    }
}

#[tokio::test]
async fn the_deck_routes_need_the_token_and_the_right_method() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let stranger = Presenter::new(&env.app, "wrong");
    assert_eq!(
        stranger
            .api("PUT", "/admin/api/deck", DECK)
            .await
            .unwrap()
            .status(),
        401
    );
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let wrong = presenter
        .api("DELETE", "/admin/api/deck", "")
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET, PUT");
    let wrong = presenter.api("GET", "/admin/api/next", "").await.unwrap();
    assert_eq!(wrong.status(), 405);
    let unsigned = App::request("GET", "/admin/present")
        .body(bytes::Bytes::new())
        .unwrap();
    let response = env.app.send(unsigned).await.unwrap();
    assert_eq!(
        response.status(),
        303,
        "the presenter view needs the console's session"
    );
}
