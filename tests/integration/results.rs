//! The result component's answers: ETags and 304s, the health check, escaped labels, where
//! to vote (the address and its QR code).

use spin_test_host::App;
use voting_tests::{TestEnv, Visitor};

#[tokio::test]
async fn the_results_api_answers_304_until_the_tally_changes() {
    let env = TestEnv::start().await.unwrap();
    let first = env.app.get("/result/api").await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=1");
    assert!(
        first.headers().get("vary").is_none(),
        "the same for every viewer"
    );
    let mut tally: serde_json::Value = serde_json::from_slice(first.body()).unwrap();
    let now = tally["now"].take();
    assert!(
        now.as_i64().is_some_and(|now| now > 1_700_000_000_000),
        "{now}"
    );
    assert_eq!(
        tally,
        serde_json::json!({
            "a": 0, "b": 0, "total": 0, "option_a": "Cats", "option_b": "Dogs",
            "question": "Cats or Dogs?",
            "options": [
                {"choice": "a", "label": "Cats", "count": 0},
                {"choice": "b", "label": "Dogs", "count": 0},
            ],
            "round": 1, "open": true, "results": "live", "hidden": false,
            "closes_at": null, "seconds_left": null, "now": null, "stale": false,
        })
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with("W/\""),
        "weak: `now` changes, the ETag need not: {etag}"
    );
    let conditional = |etag: String| {
        App::request("GET", "/result/api")
            .header("if-none-match", etag)
            .body(bytes::Bytes::new())
            .unwrap()
    };
    let unchanged = env.app.send(conditional(etag.clone())).await.unwrap();
    assert_eq!(unchanged.status(), 304);
    assert!(unchanged.body().is_empty());
    assert_eq!(unchanged.headers()["etag"].to_str().unwrap(), etag);

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

/// The results page as a browser sent to `host` asks for it, through a TLS proxy when `proto`.
async fn results_page(env: &TestEnv, host: &str, proto: Option<&str>) -> String {
    let mut request = http::Request::builder().uri("/result").header("host", host);
    if let Some(proto) = proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let response = env
        .app
        .send(request.body(bytes::Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    String::from_utf8(response.body().to_vec()).unwrap()
}

#[tokio::test]
async fn the_results_page_shows_where_to_vote_with_a_qr_code() {
    let env = TestEnv::start().await.unwrap();
    let page = results_page(&env, "10.1.2.3:3000", None).await;
    assert!(
        page.contains(r#"Vote at <a id="vote-url" href="http://10.1.2.3:3000/">"#),
        "{page}"
    );
    assert!(page.contains(r#"<div class="qr"><svg "#), "{page}");
    let proxied = results_page(&env, "poll.example.net", Some("https")).await;
    assert!(
        proxied.contains(r#"href="https://poll.example.net/""#),
        "{proxied}"
    );

    let public = TestEnv::setup()
        .env(
            "SPIN_VARIABLE_PUBLIC_URL",
            "https://poll.example.org/room-1",
        )
        .start()
        .await
        .unwrap();
    let page = results_page(&public, "10.1.2.3:3000", None).await;
    assert!(
        page.contains(r#"href="https://poll.example.org/room-1/""#),
        "{page}"
    );

    let mistaken = TestEnv::setup()
        .env("SPIN_VARIABLE_PUBLIC_URL", "poll.example.org")
        .start()
        .await
        .unwrap();
    let page = results_page(&mistaken, "10.1.2.3:3000", None).await;
    assert!(page.contains(r#"href="http://10.1.2.3:3000/""#), "{page}");
    assert!(
        mistaken
            .app
            .logs()
            .contains("the variable public_url is not an http:// or https:// address"),
        "{}",
        mistaken.app.logs()
    );
}
