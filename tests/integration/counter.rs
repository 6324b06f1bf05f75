//! The visit counter, run from the real spin.toml against a real Redis.

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::App;
use voting_tests::TestEnv;

fn visits_in(body: &[u8]) -> u64 {
    let text = std::str::from_utf8(body).unwrap();
    let count = text
        .strip_prefix("Hello World! I have been seen ")
        .and_then(|rest| rest.strip_suffix(" times.\n"))
        .unwrap_or_else(|| panic!("unexpected counter page: {text:?}"));
    count.parse().unwrap()
}

#[tokio::test]
async fn counts_each_of_100_sequential_visits_once() {
    let env = TestEnv::start().await.unwrap();
    for expected in 1..=100 {
        let response = env.app.get("/counter").await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert_eq!(visits_in(response.body()), expected);
    }
    let hits: String = env.redis().await.unwrap().get("hits").await.unwrap();
    assert_eq!(hits, "100");
}

#[tokio::test]
async fn loses_no_increment_across_200_visits_from_8_concurrent_clients() {
    let env = TestEnv::start().await.unwrap();
    let clients = (0..8).map(|_| {
        let app = env.app.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..25 {
                let response = app.get("/counter").await.unwrap();
                assert_eq!(response.status(), 200);
                seen.push(visits_in(response.body()));
            }
            seen
        })
    });
    let mut seen: Vec<u64> = Vec::new();
    for client in clients {
        seen.extend(client.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=200).collect::<Vec<u64>>());
    let hits: String = env.redis().await.unwrap().get("hits").await.unwrap();
    assert_eq!(hits, "200");
}

#[tokio::test]
async fn state_lives_in_redis_so_fresh_instances_and_apps_continue_the_count() {
    let env = TestEnv::start().await.unwrap();
    let _: () = env.redis().await.unwrap().set("hits", 41).await.unwrap();
    assert_eq!(visits_in(env.app.get("/counter").await.unwrap().body()), 42);
    let second_app = env.another_app().unwrap();
    assert_eq!(
        visits_in(second_app.get("/counter/").await.unwrap().body()),
        43
    );
    assert_eq!(visits_in(env.app.get("/counter").await.unwrap().body()), 44);
}

#[tokio::test]
async fn answers_503_naming_redis_while_it_is_down_and_recovers_when_it_returns() {
    let mut env = TestEnv::start().await.unwrap();
    assert_eq!(visits_in(env.app.get("/counter").await.unwrap().body()), 1);

    env.redis.stop().unwrap();
    let response = env.app.get("/counter").await.unwrap();
    assert_eq!(response.status(), 503);
    let body = std::str::from_utf8(response.body()).unwrap();
    assert!(body.contains("Redis"), "{body:?}");
    assert!(
        env.app.logs().contains("counter: connecting to Redis at"),
        "{}",
        env.app.logs()
    );

    env.redis.restart().await.unwrap();
    let response = env.app.get("/counter").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        visits_in(response.body()),
        2,
        "the append-only file kept the count"
    );
}

#[tokio::test]
async fn other_methods_get_405_with_allow_and_count_nothing() {
    let env = TestEnv::start().await.unwrap();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let request = App::request(method, "/counter")
            .body(Bytes::from_static(b"x"))
            .unwrap();
        let response = env.app.send(request).await.unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "GET", "{method}");
    }
    let hits: Option<String> = env.redis().await.unwrap().get("hits").await.unwrap();
    assert_eq!(hits, None);
}
