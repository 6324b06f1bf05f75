//! What Spin's HTTP trigger does before and after a component runs, as the test host models
//! it: refused requests, Spin's own routes, the router's handling of odd paths, `HEAD`.

use bytes::Bytes;
use spin_test_host::{App, TestEnv};

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
