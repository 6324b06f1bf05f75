//! The audience's questions, with a vote's guarantees: asking and upvoting answer 202 (a form,
//! a redirect) once queued in Redis and reach PostgreSQL through the worker, surviving its
//! outage with a read as the only catch-up; counts are exact, one upvote per voter; bad input
//! stores nothing; moderation keeps pending and hidden questions from every phone; reading the
//! list costs one Redis read.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::{App, HostCall, Response};
use voting_shared::questions::{QA_KEY, QUESTIONS_DEAD_KEY, QUESTIONS_KEY};
use voting_shared::schema::QA_SNAPSHOT;
use voting_tests::{ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, body, poll_until};

async fn set_mode(env: &TestEnv, mode: &str) {
    Presenter::new(&env.app, ADMIN_TOKEN)
        .api_json(
            "PUT",
            "/admin/api/questions/mode",
            &format!(r#"{{"mode":"{mode}"}}"#),
            200,
        )
        .await
        .unwrap();
}

/// Asks `text` through the JSON API as `phone`.
async fn ask(phone: &mut Visitor, text: &str) -> Response {
    let json = serde_json::json!({ "text": text }).to_string();
    phone
        .send(
            "POST",
            "/api/questions",
            Some("application/json"),
            json.as_bytes(),
        )
        .await
        .unwrap()
}

/// The published questions, as `/api/questions` lists them.
async fn listed(env: &TestEnv) -> Vec<serde_json::Value> {
    let response = env.app.get("/api/questions").await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    let list: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    list["questions"].as_array().unwrap().clone()
}

fn id_of(response: &Response) -> String {
    let answer: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    answer["id"].as_str().unwrap().to_owned()
}

async fn upvote(phone: &mut Visitor, id: &str, method: &str) -> Response {
    phone
        .send(method, &format!("/api/questions/{id}/upvote"), None, b"")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_qa_off_the_page_says_so_and_asking_is_refused() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let page = Visitor::new(&env.app)
        .send("GET", "/questions", None, b"")
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(body(&page).contains("Q&amp;A is closed"));
    let refused = ask(&mut Visitor::new(&env.app), "Anyone?").await;
    assert_eq!(refused.status(), 409, "{}", body(&refused));
    let form = Visitor::new(&env.app)
        .post_form("/questions", "text=Anyone%3F")
        .await
        .unwrap();
    assert_eq!(form.status(), 409);
    assert!(body(&form).contains("Q&amp;A is closed"));
    let queued: usize = env
        .redis()
        .await
        .unwrap()
        .llen(QUESTIONS_KEY)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn questions_appear_and_upvotes_count_once_per_voter_in_both_manifests() {
    for deployment in Deployment::BOTH {
        let env = TestEnv::with_console(deployment).await.unwrap();
        set_mode(&env, "open").await;
        let mut asker = Visitor::new(&env.app);
        let sent = asker
            .post_form("/questions", "text=Why+Wasm%3F&name=Ada")
            .await
            .unwrap();
        assert_eq!(sent.status(), 303, "{deployment:?}: {}", body(&sent));
        let page = asker.follow(sent).await.unwrap();
        assert!(
            body(&page).contains("Your question was sent."),
            "{}",
            body(&page)
        );
        env.drain().await.unwrap();
        let questions = listed(&env).await;
        assert_eq!(questions.len(), 1, "{deployment:?}");
        let id = questions[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            (
                &questions[0]["text"],
                &questions[0]["name"],
                &questions[0]["upvotes"]
            ),
            (&"Why Wasm?".into(), &"Ada".into(), &0.into())
        );
        let page = body(&asker.send("GET", "/questions", None, b"").await.unwrap());
        assert!(
            page.contains("You asked this"),
            "the phone sees its own question"
        );

        // One voter: again changes nothing, DELETE takes it back, POST gives it again.
        let mut voter = Visitor::new(&env.app);
        for (method, upvoted) in [
            ("POST", true),
            ("POST", true),
            ("DELETE", false),
            ("POST", true),
        ] {
            let tapped = upvote(&mut voter, &id, method).await;
            assert_eq!(tapped.status(), 202, "{}", body(&tapped));
            let answer: serde_json::Value = serde_json::from_slice(tapped.body()).unwrap();
            assert_eq!(answer["upvoted"], upvoted);
        }
        // Twenty voters at once, one of whom taps twice at once.
        let mut voters: Vec<Visitor> = (0..20).map(|_| Visitor::new(&env.app)).collect();
        for voter in &mut voters {
            let first = upvote(voter, &id, "POST").await; // each gets its cookie
            assert_eq!(first.status(), 202, "{}", body(&first));
        }
        let mut second_tab = voters[0].clone();
        let taps = voters
            .iter_mut()
            .chain(std::iter::once(&mut second_tab))
            .map(|voter| {
                let id = id.clone();
                async move { upvote(voter, &id, "POST").await.status() }
            });
        let statuses = futures::future::join_all(taps).await;
        assert!(statuses.iter().all(|status| *status == 202), "{statuses:?}");
        env.drain().await.unwrap();
        let questions = listed(&env).await;
        assert_eq!(
            questions[0]["upvotes"], 21,
            "{deployment:?}: once per voter"
        );
        let page = body(&voter.send("GET", "/questions", None, b"").await.unwrap());
        assert!(
            page.contains(r#"aria-pressed="true" aria-label="Upvote: 21""#),
            "{page}"
        );

        // A form's button takes the upvote back.
        let toggled = voter
            .post_form(&format!("/questions/{id}/upvote"), "sort=top")
            .await
            .unwrap();
        assert_eq!(toggled.status(), 303);
        env.drain().await.unwrap();
        assert_eq!(listed(&env).await[0]["upvotes"], 20);

        let unknown = upvote(&mut voter, "999", "POST").await;
        assert_eq!(unknown.status(), 404);
        let nonsense = upvote(&mut voter, "abc", "POST").await;
        assert_eq!(nonsense.status(), 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn moderated_questions_wait_and_hidden_ones_reach_no_phone() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    set_mode(&env, "moderated").await;
    let mut asker = Visitor::new(&env.app);
    let asked = ask(&mut asker, "=1+1, is it?").await;
    assert_eq!(asked.status(), 202);
    let answer: serde_json::Value = serde_json::from_slice(asked.body()).unwrap();
    assert_eq!(answer["published"], false);
    let id = id_of(&asked);
    let form = asker
        .post_form("/questions", "text=And+another%3F")
        .await
        .unwrap();
    let page = asker.follow(form).await.unwrap();
    assert!(body(&page).contains("will appear once the presenter approves it"));
    env.drain().await.unwrap();
    assert!(listed(&env).await.is_empty(), "pending: on no phone");
    let all = presenter
        .api_json("GET", "/admin/api/questions", "", 200)
        .await
        .unwrap();
    assert_eq!(all["questions"].as_array().unwrap().len(), 2);
    assert_eq!(all["questions"][0]["state"], "pending");

    let approved = presenter
        .api_json(
            "POST",
            &format!("/admin/api/questions/{id}/approve"),
            "",
            200,
        )
        .await
        .unwrap();
    assert_eq!(approved["state"], "published");
    let before = env.app.get("/api/questions").await.unwrap();
    let etag = before.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(listed(&env).await.len(), 1);
    for (action, field) in [("highlight", "highlighted"), ("answer", "answered")] {
        presenter
            .api_json(
                "POST",
                &format!("/admin/api/questions/{id}/{action}"),
                "",
                200,
            )
            .await
            .unwrap();
        assert_eq!(listed(&env).await[0][field], true, "{action}");
    }
    let hidden = presenter
        .api_json("POST", &format!("/admin/api/questions/{id}/hide"), "", 200)
        .await
        .unwrap();
    assert_eq!(hidden["highlighted"], false, "hidden: off the projector");
    let after = env.app.get("/api/questions").await.unwrap();
    assert!(!body(&after).contains("=1+1"), "hidden: in no answer");
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    let page = body(&env.app.get("/questions").await.unwrap());
    assert!(!page.contains("=1+1"));
    assert_eq!(
        upvote(&mut Visitor::new(&env.app), &id, "POST")
            .await
            .status(),
        404
    );
    let missing = presenter
        .api_error("POST", "/admin/api/questions/12345/approve", "", 404)
        .await
        .unwrap();
    assert!(missing.contains("no question 12345"), "{missing}");

    let csv = presenter
        .api("GET", "/admin/api/questions.csv", "")
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = body(&csv);
    assert!(csv.starts_with("id,text,name,upvotes,state,answered,asked_at\r\n"));
    assert!(
        csv.contains(r#""'=1+1, is it?","",0,hidden,true,"#),
        "{csv}"
    );
    assert!(csv.contains(",pending,false,"), "{csv}");

    // Putting a pending question on the projector publishes it.
    let pending = all["questions"][0]["id"].as_str().unwrap();
    let highlighted = presenter
        .api_json(
            "POST",
            &format!("/admin/api/questions/{pending}/highlight"),
            "",
            200,
        )
        .await
        .unwrap();
    assert_eq!(
        (&highlighted["state"], &highlighted["highlighted"]),
        (&serde_json::json!("published"), &serde_json::json!(true))
    );
    let room = listed(&env).await;
    assert_eq!(room.len(), 1);
    assert_eq!(
        (&room[0]["text"], &room[0]["highlighted"]),
        (&serde_json::json!("And another?"), &serde_json::json!(true))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_questions_get_a_clear_4xx_and_store_nothing() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    set_mode(&env, "open").await;
    let form = Some("application/x-www-form-urlencoded");
    let json = Some("application/json");
    let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(281));
    let cases: Vec<(&str, Option<&str>, &[u8], u16)> = vec![
        ("/questions", form, b"text=", 400),
        ("/questions", form, b"text=%0A%0A", 400),
        ("/questions", form, b"text=two%0Alines", 400),
        ("/api/questions", json, br#"{"text":"bell\u0007"}"#, 400),
        ("/questions", form, b"text=%FF%FE", 400),
        ("/questions", json, b"text=x", 415),
        ("/api/questions", json, b"{", 400),
        ("/api/questions", json, br#"{"name":"Ada"}"#, 400),
        ("/api/questions", json, long.as_bytes(), 400),
        ("/api/questions", json, br#"{"text":"ok","name":7}"#, 400),
        ("/api/questions", form, b"text=x", 415),
    ];
    for (path, content_type, payload, status) in cases {
        let response = Visitor::new(&env.app)
            .send("POST", path, content_type, payload)
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            status,
            "{path} {}: {}",
            String::from_utf8_lossy(payload),
            body(&response)
        );
        assert!(!body(&response).is_empty());
    }
    let cross_site = App::request("POST", "/api/questions")
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Bytes::from_static(br#"{"text":"Hi?"}"#))
        .unwrap();
    assert_eq!(env.app.send(cross_site).await.unwrap().status(), 403);
    let queued: usize = env
        .redis()
        .await
        .unwrap()
        .llen(QUESTIONS_KEY)
        .await
        .unwrap();
    assert_eq!(queued, 0, "nothing stored");
    let refused = Visitor::new(&env.app)
        .post_form("/questions", "text=two%0Alines&name=Ada")
        .await
        .unwrap();
    assert!(
        body(&refused).contains(">two\nlines</textarea>"),
        "what was typed is kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voter_asks_at_most_three_questions_a_minute() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    set_mode(&env, "open").await;
    let mut phone = Visitor::new(&env.app);
    for n in 0..3 {
        assert_eq!(
            ask(&mut phone, &format!("Question {n}?")).await.status(),
            202
        );
    }
    let fourth = ask(&mut phone, "A fourth?").await;
    assert_eq!(fourth.status(), 429);
    let wait: i64 = fourth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    assert!(body(&fourth).contains("three questions this minute"));
    // The page's form gets the reason, and what was typed back to send later.
    let form = phone
        .post_form("/questions", "text=A+fifth+%3Cone%3E%3F&name=Ada")
        .await
        .unwrap();
    assert_eq!(form.status(), 429);
    let page = body(&form);
    assert!(page.contains("three questions this minute"), "{page}");
    assert!(page.contains(">A fifth &lt;one&gt;?</textarea>"), "{page}");
    assert!(page.contains(r#"value="Ada""#), "{page}");
    assert_eq!(
        ask(&mut Visitor::new(&env.app), "Someone else?")
            .await
            .status(),
        202
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_question_asked_while_postgresql_is_down_appears_when_the_list_is_read() {
    for deployment in Deployment::BOTH {
        let mut env = TestEnv::with_console(deployment).await.unwrap();
        let _triggers = match deployment {
            Deployment::RedisTrigger => Some(env.app.start_redis_triggers().await.unwrap()),
            Deployment::HttpOnly => None,
        };
        set_mode(&env, "open").await;
        env.postgres.stop().unwrap();
        let asked = ask(&mut Visitor::new(&env.app), "Is it down?").await;
        assert_eq!(
            asked.status(),
            202,
            "{deployment:?}: accepted while PostgreSQL is down"
        );
        env.postgres.restart().await.unwrap();
        // Nothing else happens but phones reading the list.
        let shown = poll_until("the question on the list", || async {
            // A read may find the list being rebuilt (503): read again.
            let response = env.app.get("/api/questions").await.unwrap();
            let list: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
            let questions = list["questions"].as_array()?.clone();
            (response.status() == 200 && questions.len() == 1).then_some(questions)
        })
        .await
        .unwrap();
        assert_eq!(shown[0]["text"], "Is it down?", "{deployment:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_failing_mid_batch_loses_no_question_and_dead_letters_poison() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    set_mode(&env, "open").await;
    let fails = Arc::new(Mutex::new(1));
    let left = fails.clone();
    env.app
        .on_host_call(Arc::new(move |call: &HostCall| match call {
            HostCall::PostgresStatement(sql) if sql.contains("record_questions") => {
                let mut left = left.lock().unwrap();
                (*left > 0).then(|| {
                    *left -= 1;
                    "injected: the worker dies writing questions".to_owned()
                })
            }
            _ => None,
        }));
    let asked = ask(&mut Visitor::new(&env.app), "Still here?").await;
    assert_eq!(asked.status(), 202);
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.rpush(QUESTIONS_KEY, "not json").await.unwrap();
    assert!(env.drain().await.is_err(), "the first run dies");
    env.drain().await.unwrap();
    env.app.clear_host_call_hook();
    assert_eq!(listed(&env).await[0]["text"], "Still here?");
    let dead: Vec<String> = redis.lrange(QUESTIONS_DEAD_KEY, 0, -1).await.unwrap();
    assert_eq!(dead, ["not json"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_the_list_costs_one_redis_read_and_a_lost_list_is_rebuilt_once() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    set_mode(&env, "open").await;
    ask(&mut Visitor::new(&env.app), "Cheap?").await;
    env.drain().await.unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    env.app.on_host_call(Arc::new(move |call: &HostCall| {
        let kind = match call {
            HostCall::RedisExecute { command, .. } => format!("redis {command}"),
            HostCall::PostgresStatement(sql) if sql == QA_SNAPSHOT => "postgres snapshot".into(),
            HostCall::PostgresStatement(_) => "postgres statement".into(),
            HostCall::RedisOpen | HostCall::PostgresOpen | HostCall::HttpSend(_) => return None,
        };
        recorded.lock().unwrap().push(kind);
        None
    }));
    for _ in 0..20 {
        assert_eq!(listed(&env).await.len(), 1);
    }
    assert_eq!(
        calls.lock().unwrap().clone(),
        vec!["redis EVAL".to_owned(); 20]
    );
    calls.lock().unwrap().clear();
    let _: () = env.redis().await.unwrap().del(QA_KEY).await.unwrap();
    let phones = (0..20).map(|_| {
        let app = env.app.clone();
        tokio::spawn(async move { app.get("/api/questions").await.unwrap().status() })
    });
    for phone in phones {
        let status = phone.await.unwrap();
        assert!(status == 200 || status == 503, "{status}");
    }
    env.app.clear_host_call_hook();
    let snapshots = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|call| *call == "postgres snapshot")
        .count();
    assert_eq!(snapshots, 1, "one reader rebuilt the list");
    assert_eq!(listed(&env).await[0]["text"], "Cheap?");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_list_with_postgresql_down_says_postgresql_is_the_problem() {
    let mut env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    env.postgres.stop().unwrap();
    let _: () = env.redis().await.unwrap().del(QA_KEY).await.unwrap();
    let response = env.app.get("/api/questions").await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(
        body(&response).contains("PostgreSQL"),
        "{}",
        body(&response)
    );
    assert!(!body(&response).contains("Redis"), "{}", body(&response));
}

/// The page's upvote button says what a press asks for: a double press, or the form resent,
/// upvotes once, and the button then takes the upvote back.
#[tokio::test(flavor = "multi_thread")]
async fn a_double_press_of_the_upvote_button_upvotes_once() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    set_mode(&env, "open").await;
    let id = id_of(&ask(&mut Visitor::new(&env.app), "Twice?").await);
    env.drain().await.unwrap();
    let mut phone = Visitor::new(&env.app);
    let page = body(&phone.send("GET", "/questions", None, b"").await.unwrap());
    assert!(
        page.contains(r#"name="up" value="1" aria-pressed="false""#),
        "{page}"
    );
    let path = format!("/questions/{id}/upvote");
    for _ in 0..2 {
        let pressed = phone.post_form(&path, "sort=top&up=1").await.unwrap();
        assert_eq!(pressed.status(), 303, "{}", body(&pressed));
    }
    env.drain().await.unwrap();
    assert_eq!(
        listed(&env).await[0]["upvotes"],
        1,
        "pressed twice, upvoted once"
    );
    let page = body(&phone.send("GET", "/questions", None, b"").await.unwrap());
    assert!(
        page.contains(r#"name="up" value="0" aria-pressed="true""#),
        "{page}"
    );
    for _ in 0..2 {
        phone.post_form(&path, "sort=top&up=0").await.unwrap();
    }
    env.drain().await.unwrap();
    assert_eq!(listed(&env).await[0]["upvotes"], 0, "taken back once");
}
