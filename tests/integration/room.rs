//! The room follows the presenter (guarantees 6, 9 and 10): a vote counts on the question the
//! voter saw or not at all; a form's vote is answered with a redirect; a press of Next moves on
//! once; a change saved but not read back says it was saved; deck edits and Next cannot undo
//! each other, nor an older round replace a newer one in Redis; votes queued at a deadline are
//! counted with no later vote; and one clock, Redis's, decides a round everywhere.

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::App;
use voting_shared::round::{MIRROR_ROUND_SCRIPT, ROUND_KEY};
use voting_tests::{
    ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, body, form_field, poll_until,
};

async fn results(env: &TestEnv) -> serde_json::Value {
    env.results().await.unwrap()
}

/// The value of the hidden `name` field of a page's form.
fn hidden_field(page: &str, name: &str) -> String {
    form_field(page, name).unwrap_or_else(|| panic!("no {name}: {page}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vote_cast_on_an_earlier_question_is_refused_and_queued_nowhere() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::with_console(deployment).await.unwrap();
        let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
        presenter
            .start_round("Tabs or spaces?", &["Tabs", "Spaces"])
            .await
            .unwrap();
        let mut phone = Visitor::new(&env.app);
        let ballot = body(&phone.send("GET", "/", None, b"").await.unwrap());
        assert_eq!(hidden_field(&ballot, "round"), "2", "{deployment:?}");

        // The presenter moves on while the phone still shows question 2.
        presenter
            .start_round("Vim, Emacs or VS Code?", &["Vim", "Emacs", "VS Code"])
            .await
            .unwrap();
        let queued = env.queue_length().await.unwrap();
        let late = phone.post_form("/", "vote=b&round=2").await.unwrap();
        assert_eq!(late.status(), 409, "{deployment:?}: {}", body(&late));
        let page = body(&late);
        assert!(page.contains("was for an earlier question"), "{page}");
        assert!(
            page.contains(r#"<h1 id="question">Vim, Emacs or VS Code?</h1>"#),
            "the answer shows the current question: {page}"
        );
        assert_eq!(hidden_field(&page, "round"), "3");
        let api = phone.vote_json(br#"{"vote":"a","round":2}"#).await.unwrap();
        assert_eq!(api.status(), 409, "{}", body(&api));
        assert!(body(&api).contains("earlier question"));
        assert_eq!(
            env.queue_length().await.unwrap(),
            queued,
            "{deployment:?}: nothing queued"
        );

        // From the new question's page, and from a client that sends no round, it counts.
        let voted = phone.post_form("/", "vote=b&round=3").await.unwrap();
        assert_eq!(voted.status(), 303);
        let original = Visitor::new(&env.app)
            .vote_json(br#"{"vote":"c"}"#)
            .await
            .unwrap();
        assert_eq!(original.status(), 202);
        let answer: serde_json::Value = serde_json::from_slice(original.body()).unwrap();
        assert_eq!(answer["round"], 3);
        env.drain().await.unwrap();
        let tally = results(&env).await;
        assert_eq!(
            (tally["round"].as_i64(), tally["total"].as_i64()),
            (Some(3), Some(2))
        );
        assert_eq!(tally["options"][1]["count"], 1, "Emacs, not Spaces");
    }
}

#[tokio::test]
async fn a_form_vote_is_answered_with_a_redirect_and_the_page_thanks_once() {
    let env = TestEnv::start().await.unwrap();
    let mut phone = Visitor::new(&env.app);
    let voted = phone.post_form("/", "vote=b&round=1").await.unwrap();
    assert_eq!(voted.status(), 303, "{}", body(&voted));
    assert_eq!(voted.headers()["location"], "/");
    assert!(voted.body().is_empty());
    let cookies: Vec<&str> = voted
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("voter_id=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("vote=b.1;")),
        "{cookies:?}"
    );
    let landed = phone.follow(voted).await.unwrap();
    assert_eq!(landed.status(), 200);
    assert!(body(&landed).contains("Thanks! Your vote: <strong>Dogs</strong>"));
    let reloaded = phone.send("GET", "/", None, b"").await.unwrap();
    let reloaded = body(&reloaded);
    assert!(reloaded.contains("Your vote: <strong>Dogs</strong>"));
    assert!(!reloaded.contains("Thanks!"), "the thanks are shown once");
    assert_eq!(
        env.queue_length().await.unwrap(),
        1,
        "the reload sent nothing"
    );
    let api = phone.vote_json(br#"{"vote":"a"}"#).await.unwrap();
    assert_eq!(api.status(), 202, "the JSON API keeps its 202");
}

#[tokio::test(flavor = "multi_thread")]
async fn next_from_a_round_moves_on_once_however_often_it_is_pressed() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let deck = r#"{"questions":[{"question":"One?","options":["A","B"]},
        {"question":"Two?","options":["A","B"]},{"question":"Three?","options":["A","B"]},
        {"question":"Four?","options":["A","B"]}]}"#;
    presenter
        .api_json("PUT", "/admin/api/deck", deck, 200)
        .await
        .unwrap();
    let next = |from: i64| format!(r#"{{"from_round": {from}}}"#);
    let started = presenter
        .api_json("POST", "/admin/api/next", &next(1), 201)
        .await
        .unwrap();
    assert_eq!(
        (started["round"].as_i64(), &started["question"]),
        (Some(2), &"One?".into())
    );
    let again = presenter
        .api_error("POST", "/admin/api/next", &next(1), 409)
        .await
        .unwrap();
    assert!(again.contains("round 2 has started since"), "{again}");
    assert_eq!(results(&env).await["question"], "One?", "nothing changed");

    // Two presses at once from the same round: one moves on.
    let from_two = next(2);
    let (first, second) = tokio::join!(
        presenter.api("POST", "/admin/api/next", &from_two),
        presenter.api("POST", "/admin/api/next", &from_two),
    );
    let mut statuses = [first.unwrap().status(), second.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(results(&env).await["question"], "Two?");

    // The console's form names its round: resent, it changes nothing, and says so.
    let session = presenter.sign_in().await.unwrap();
    let console = body(&presenter.console_get("/admin", &session).await.unwrap());
    let from_round = hidden_field(&console, "from_round");
    assert_eq!(from_round, "3");
    let form = format!("from_round={from_round}");
    let pressed = presenter
        .console_post("/admin/next", &form, Some(&session))
        .await
        .unwrap();
    assert_eq!(pressed.status(), 303);
    let resent = presenter
        .console_post("/admin/next", &form, Some(&session))
        .await
        .unwrap();
    assert_eq!(resent.status(), 303);
    let told = presenter.follow(&resent, &session).await.unwrap();
    assert!(
        body(&told).contains("round 4 has started since"),
        "{}",
        body(&told)
    );
    assert_eq!(results(&env).await["question"], "Three?");

    // The presenter view's Next names its round too, and comes back to the view.
    let view = body(
        &presenter
            .console_get("/admin/present", &session)
            .await
            .unwrap(),
    );
    assert_eq!(hidden_field(&view, "from_round"), "4");
    assert!(view.contains(r#"name="back" value="present""#));
    // Without a round, Next moves on from whichever round is current, as before.
    let moved = presenter
        .api_json("POST", "/admin/api/next", "", 201)
        .await
        .unwrap();
    assert_eq!(moved["question"], "Four?");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_saved_but_not_read_back_says_it_was_saved() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    // The change reads the round before it and after it; the read after it fails (as when
    // PostgreSQL goes away between the two).
    let client = env.postgres.client().await.unwrap();
    client
        .batch_execute(
            "ALTER FUNCTION poll_snapshot() RENAME TO poll_snapshot_as_it_was;
             CREATE FUNCTION poll_snapshot() RETURNS text LANGUAGE plpgsql AS $$
             BEGIN
               IF EXISTS (SELECT 1 FROM poll_rounds JOIN poll_state USING (round)
                   WHERE NOT poll_rounds.open) THEN
                 RAISE EXCEPTION 'injected: the read after the change fails';
               END IF;
               RETURN poll_snapshot_as_it_was();
             END $$",
        )
        .await
        .unwrap();
    let refused = presenter
        .api_error("POST", "/admin/api/close", "", 503)
        .await
        .unwrap();
    assert!(refused.contains("The change is saved"), "{refused}");
    assert!(refused.contains("no need to do it again"), "{refused}");
    assert!(!refused.contains("Nothing changed"), "{refused}");
    let rounds = presenter
        .api_json("GET", "/admin/api/rounds", "", 200)
        .await
        .unwrap();
    assert_eq!(rounds["rounds"][0]["open"], false, "it was saved indeed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_deck_edit_is_refused_and_an_edit_never_undoes_a_next() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let deck = r#"{"questions":[{"question":"One?","options":["A","B"]},
        {"question":"Two?","options":["A","B"]},{"question":"Three?","options":["A","B"]}]}"#;
    presenter
        .api_json("PUT", "/admin/api/deck", deck, 200)
        .await
        .unwrap();
    let session = presenter.sign_in().await.unwrap();
    let shown = |session: String| {
        let presenter = &presenter;
        async move {
            let console = body(&presenter.console_get("/admin", &session).await.unwrap());
            hidden_field(&console, "deck_version")
        }
    };

    // A page shown before another edit of the deck: its edit is refused.
    let version = shown(session.clone()).await;
    presenter
        .api_json("PUT", "/admin/api/deck", deck, 200)
        .await
        .unwrap();
    let stale = presenter
        .console_post(
            "/admin/deck/1/delete",
            &format!("deck_version={version}"),
            Some(&session),
        )
        .await
        .unwrap();
    assert_eq!(stale.status(), 303);
    let told = presenter.follow(&stale, &session).await.unwrap();
    assert!(
        body(&told).contains("the deck changed since this page showed it"),
        "{}",
        body(&told)
    );
    let unchanged = presenter
        .api_json("GET", "/admin/api/deck", "", 200)
        .await
        .unwrap();
    assert_eq!(unchanged["questions"].as_array().unwrap().len(), 3);

    // A page shown before a Next: its edit applies, and the question asked stays asked.
    let version = shown(session.clone()).await;
    presenter
        .api_json("POST", "/admin/api/next", "", 201)
        .await
        .unwrap();
    let edit = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("deck_version", version.as_str()),
            ("question", "Three, edited?"),
            ("options", "A\nB"),
            ("results", "live"),
            ("seconds", ""),
        ])
        .finish();
    let saved = presenter
        .console_post("/admin/deck/3/save", &edit, Some(&session))
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let deck = presenter
        .api_json("GET", "/admin/api/deck", "", 200)
        .await
        .unwrap();
    assert_eq!(deck["questions"][2]["question"], "Three, edited?");
    assert_eq!(deck["next"], 2, "the edit kept the Next made meanwhile");
}

#[tokio::test]
async fn an_older_snapshot_never_replaces_a_newer_round_in_redis() {
    let env = TestEnv::start().await.unwrap();
    let mut redis = env.redis().await.unwrap();
    let mirror = |round: i64, instance: &'static str, version: i64| {
        redis::cmd("EVAL")
            .arg(MIRROR_ROUND_SCRIPT)
            .arg(1)
            .arg(ROUND_KEY)
            .arg("")
            .arg(round)
            .arg("1")
            .arg("")
            .arg("")
            .arg("live")
            .arg("")
            .arg("")
            .arg(instance)
            .arg(version)
            .clone()
    };
    let wrote = |command: redis::Cmd, redis: &mut redis::aio::MultiplexedConnection| {
        let mut redis = redis.clone();
        async move { command.query_async::<i64>(&mut redis).await.unwrap() }
    };
    assert_eq!(wrote(mirror(5, "db-1", 50), &mut redis).await, 1);
    assert_eq!(wrote(mirror(4, "db-1", 40), &mut redis).await, 0, "older");
    assert_eq!(
        wrote(mirror(5, "db-1", 50), &mut redis).await,
        0,
        "the same"
    );
    let round: i64 = redis.hget(ROUND_KEY, "round").await.unwrap();
    assert_eq!(round, 5);
    assert_eq!(wrote(mirror(5, "db-1", 51), &mut redis).await, 1, "newer");
    assert_eq!(
        wrote(mirror(1, "db-2", 1), &mut redis).await,
        1,
        "a database made anew starts again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_queued_at_a_deadline_are_counted_in_their_round_while_only_results_are_read() {
    for deployment in Deployment::BOTH {
        let mut env = TestEnv::with_console(deployment).await.unwrap();
        let _triggers = match deployment {
            Deployment::RedisTrigger => Some(env.app.start_redis_triggers().await.unwrap()),
            Deployment::HttpOnly => None,
        };
        let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
        let timed = r#"{"question":"Quick?","options":["Yes","No"],"seconds":5}"#;
        let round = presenter
            .api_json("POST", "/admin/api/rounds", timed, 201)
            .await
            .unwrap();
        let closes = round["closes_at"].as_i64().unwrap();
        env.postgres.stop().unwrap();
        for choice in ["a", "b", "b"] {
            let voted = Visitor::new(&env.app)
                .vote_json(format!(r#"{{"vote":"{choice}"}}"#).as_bytes())
                .await
                .unwrap();
            assert_eq!(voted.status(), 202, "{deployment:?}: {}", body(&voted));
        }
        // The deadline passes by Redis's clock, with PostgreSQL still down.
        poll_until("the deadline", || async {
            let tally = results(&env).await;
            (tally["now"].as_i64()? >= closes && tally["open"] == false).then_some(())
        })
        .await
        .unwrap();
        env.postgres.restart().await.unwrap();
        // Nothing but the results being read, as a projector does once a second.
        let tally = env.wait_for_total(3).await.unwrap();
        assert_eq!(
            (
                tally["round"].as_i64(),
                tally["a"].as_i64(),
                tally["b"].as_i64()
            ),
            (Some(2), Some(1), Some(2)),
            "{deployment:?}"
        );
        poll_until("the batch to be acknowledged", || async {
            (env.queue_length().await.ok()? == 0).then_some(())
        })
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_clock_decides_a_round_for_the_enqueue_script_the_answers_and_the_console() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let timed =
        r#"{"question":"Quick?","options":["Yes","No"],"seconds":5,"results":"after-close"}"#;
    presenter
        .api_json("POST", "/admin/api/rounds", timed, 201)
        .await
        .unwrap();
    let voted = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"a"}"#)
        .await
        .unwrap();
    assert_eq!(voted.status(), 202);
    env.drain().await.unwrap();

    // While open: the deadline and the server's clock, and an ETag that does not change
    // every second.
    let first = env.app.get("/result/api").await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let answer: serde_json::Value = serde_json::from_slice(first.body()).unwrap();
    let closes = answer["closes_at"].as_i64().unwrap();
    let now = answer["now"].as_i64().unwrap();
    assert_eq!(
        (answer["open"].as_bool(), answer["hidden"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        answer["seconds_left"].as_i64(),
        Some((closes - now + 999) / 1000)
    );
    let later = poll_until("a second of Redis's clock", || async {
        let response = env.app.get("/result/api").await.ok()?;
        let answer: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
        let advanced = answer["now"].as_i64()? >= now + 1000 && answer["open"] == true;
        advanced.then_some(response)
    })
    .await
    .unwrap();
    assert_eq!(
        later.headers()["etag"].to_str().unwrap(),
        etag,
        "the same answer"
    );

    // Once the answers say closed, the enqueue script refuses, and the counts show.
    let closed = poll_until("the deadline", || async {
        let tally = results(&env).await;
        (tally["open"] == false).then_some(tally)
    })
    .await
    .unwrap();
    assert_eq!(
        (closed["hidden"].as_bool(), closed["a"].as_i64()),
        (Some(false), Some(1))
    );
    assert_eq!(closed["seconds_left"], 0);
    let late = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"b"}"#)
        .await
        .unwrap();
    assert_eq!(late.status(), 409);
    let session = presenter.sign_in().await.unwrap();
    let view = body(
        &presenter
            .console_get("/admin/present", &session)
            .await
            .unwrap(),
    );
    assert!(
        view.contains("Voting is closed"),
        "the presenter view agrees"
    );
    let console = body(&presenter.console_get("/admin", &session).await.unwrap());
    let console = console.split("<script>").next().unwrap();
    assert!(console.contains("Voting is closed"), "the console agrees");
    assert!(!console.contains("closes in"));
    let phone = body(&env.app.get("/").await.unwrap());
    assert!(phone.contains("Voting is closed."), "the vote page agrees");
}

#[tokio::test]
async fn a_presenter_view_form_returns_to_the_view_with_what_went_wrong() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let session = presenter.sign_in().await.unwrap();
    // No deck: Next has nothing to start.
    let pressed = presenter
        .console_post("/admin/next", "back=present&from_round=1", Some(&session))
        .await
        .unwrap();
    assert_eq!(pressed.status(), 303);
    assert_eq!(pressed.headers()["location"], "/admin/present");
    let view = presenter.follow(&pressed, &session).await.unwrap();
    assert_eq!(view.status(), 200);
    assert!(
        body(&view).contains("have all been asked"),
        "{}",
        body(&view)
    );
    let request = App::request("GET", "/admin/present")
        .header("cookie", &session)
        .body(Bytes::new())
        .unwrap();
    let reloaded = env.app.send(request).await.unwrap();
    assert!(
        !body(&reloaded).contains("have all been asked"),
        "shown once"
    );
}
