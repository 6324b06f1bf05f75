//! What Spin's HTTP trigger does before and after a component runs, as the test host models
//! it: refused requests, Spin's own routes, the router's handling of odd paths, `HEAD`.

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::{App, HostCall};
use voting_tests::TestEnv;

#[tokio::test]
async fn spin_answers_its_own_health_check_without_a_component() {
    let env = TestEnv::start().await.unwrap();
    let health = env.app.get("/.well-known/spin/health").await.unwrap();
    assert_eq!(
        (health.status().as_u16(), health.body().as_ref()),
        (200, &b"OK"[..])
    );
    let other = env.app.get("/.well-known/spin/nothing").await.unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn an_empty_path_segment_matches_no_route() {
    let env = TestEnv::start().await.unwrap();
    let request = App::request("POST", "/api//vote")
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"vote":"a"}"#))
        .unwrap();
    let response = env.app.send(request).await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.body().is_empty(), "Spin's own empty 404");
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test]
async fn requests_spin_refuses_never_reach_a_component() {
    let env = TestEnv::start().await.unwrap();
    let form = |request: http::request::Builder| {
        request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from_static(b"vote=a"))
            .unwrap()
    };
    let without_host = form(http::Request::post("/"));
    let not_utf8 = form(
        App::request("POST", "/")
            .header("x-note", http::HeaderValue::from_bytes(b"caf\xe9").unwrap()),
    );
    for request in [without_host, not_utf8] {
        let refused = env.app.send(request).await.unwrap_err();
        assert!(refused.to_string().contains("Spin refuses"), "{refused}");
    }
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

#[tokio::test]
async fn a_head_answer_has_the_headers_of_get_and_no_body() {
    let env = TestEnv::start().await.unwrap();
    for path in ["/", "/result", "/result/api"] {
        let head = App::request("HEAD", path).body(Bytes::new()).unwrap();
        let response = env.app.send(head).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.body().is_empty(), "{path}");
        assert!(response.headers().contains_key("content-type"), "{path}");
    }
}

#[tokio::test]
async fn a_trap_after_the_response_was_sent_leaves_the_response_whole() {
    let postgres = test_services::TestPostgres::start().await.unwrap();
    let env = TestEnv::setup()
        .deployment(voting_tests::Deployment::HttpOnly)
        .postgres(postgres)
        .start()
        .await
        .unwrap();
    // The HTTP-only result component rings the worker for queued votes after it has answered.
    let entry = voting_shared::queue::LegacyEntry {
        voter_id: "v",
        vote: "a",
    }
    .to_json();
    let _: () = env
        .redis()
        .await
        .unwrap()
        .rpush(voting_shared::queue::VOTES_KEY, entry)
        .await
        .unwrap();
    env.app
        .on_host_call(std::sync::Arc::new(|call: &HostCall| match call {
            HostCall::HttpSend(authority) if authority == "worker.spin.internal" => {
                Some("injected: trapped after answering".to_owned())
            }
            _ => None,
        }));
    let response = env.app.get("/result/api").await.unwrap();
    assert_eq!(response.status(), 200);
    let tally: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(tally["total"], 0, "the vote is still queued");
    voting_tests::poll_until("the trap in the log", || async {
        let logs = env.app.logs();
        logs.contains("injected: trapped after answering")
            .then_some(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_the_results_script_its_hash() {
    let env = TestEnv::start().await.unwrap();
    for path in ["/", "/result", "/result/api", "/counter"] {
        let response = env.app.get(path).await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
    }
    let page = env.app.get("/result").await.unwrap();
    let body = String::from_utf8_lossy(page.body()).into_owned();
    let script = body
        .split_once("<script>")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(script, _)| script)
        .unwrap();
    let [(_, expected), ..] = voting_shared::html::security_headers(script);
    assert_eq!(page.headers()["content-security-policy"], expected.as_str());
    assert_eq!(
        body.matches("<script").count(),
        1,
        "one inline script, the hashed one"
    );
}

#[tokio::test]
async fn a_cross_site_vote_is_refused_and_queues_nothing() {
    let env = TestEnv::start().await.unwrap();
    let vote = |headers: &[(&str, &str)]| {
        let mut request =
            App::request("POST", "/").header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Bytes::from_static(b"vote=a")).unwrap()
    };
    for refused in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        let response = env.app.send(vote(&refused)).await.unwrap();
        assert_eq!(response.status(), 403, "{refused:?}");
        assert!(String::from_utf8_lossy(response.body()).contains("other sites"));
    }
    assert_eq!(env.queue_length().await.unwrap(), 0);
    for allowed in [
        vec![],
        vec![
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ],
    ] {
        let response = env.app.send(vote(&allowed)).await.unwrap();
        assert_eq!(response.status(), 303, "{allowed:?}");
    }
    assert_eq!(env.queue_length().await.unwrap(), 2);
}
