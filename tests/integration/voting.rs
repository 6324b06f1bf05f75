//! The vote component: voter identity (only ids it issued), the JSON API, bad input (a clear
//! 4xx, nothing queued), Redis down (503, the page still renders), the limit on new voter ids
//! per address, and guarantee 5: no input makes any component trap.

use redis::AsyncCommands;
use spin_test_host::App;
use voting_shared::client::{LIMIT_WINDOW_SECONDS, new_voters_key};
use voting_shared::queue::{NEW_VOTER_LIMIT_KEY, VOTES_KEY};
use voting_tests::{TestEnv, Visitor};

#[tokio::test]
async fn an_invented_voter_cookie_is_replaced_and_never_stored() {
    let env = TestEnv::start().await.unwrap();
    let mut forger = Visitor::new(&env.app);
    forger.set_cookie("voter_id", "forged-voter.0123");
    let response = forger.vote_json(br#"{"vote":"a"}"#).await.unwrap();
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
async fn with_redis_down_voting_answers_503_and_the_page_says_so() {
    let mut env = TestEnv::start().await.unwrap();
    env.redis.stop().unwrap();
    let response = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(String::from_utf8_lossy(response.body()).contains("Redis is not answering"));
    let api = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"a"}"#)
        .await
        .unwrap();
    assert_eq!(api.status(), 503);
    let error: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert!(error["error"].as_str().unwrap().contains("Redis"));
    let page = env.app.get("/").await.unwrap();
    assert_eq!(page.status(), 503);
    let page = String::from_utf8_lossy(page.body()).into_owned();
    assert!(page.contains("Redis is not answering"), "{page}");
    assert!(page.contains(r#"<button id="a""#), "the page still renders");

    env.redis.restart().await.unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
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

/// A JSON vote from `client`, with `cookie` when the voter has one and `forged` sent first as
/// the client's own `spin-client-addr`.
async fn vote_from(
    env: &TestEnv,
    client: &str,
    cookie: Option<&str>,
    forged: Option<&str>,
) -> spin_test_host::Response {
    let mut request = App::request("POST", "/api/vote").header("content-type", "application/json");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(forged) = forged {
        request = request.header("spin-client-addr", forged);
    }
    let request = request
        .body(bytes::Bytes::from_static(br#"{"vote":"b"}"#))
        .unwrap();
    env.app
        .send_from(client.parse().unwrap(), request)
        .await
        .unwrap()
}

#[tokio::test]
async fn new_voter_ids_per_address_are_limited_only_when_the_operator_sets_a_limit() {
    let env = TestEnv::start().await.unwrap();
    for _ in 0..5 {
        let response = vote_from(&env, "192.0.2.7:5000", None, None).await;
        assert_eq!(response.status(), 202, "no limit by default");
    }
    let mut redis = env.redis().await.unwrap();
    let _: () = redis.set(NEW_VOTER_LIMIT_KEY, 2).await.unwrap();
    // The address's window, opened for an hour rather than the minute a first vote opens: it
    // cannot close between the votes below, and the wait the app answers is this window's.
    let window = new_voters_key("192.0.2.7".parse().unwrap());
    let _: () = redis.set_ex(&window, 0, 3600).await.unwrap();
    let queued_before = env.queue_length().await.unwrap();

    let first = vote_from(&env, "192.0.2.7:5001", None, None).await;
    assert_eq!(first.status(), 202);
    let cookie = first.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(
        vote_from(&env, "192.0.2.7:5002", None, None).await.status(),
        202
    );
    let refused = vote_from(&env, "192.0.2.7:5003", None, None).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (LIMIT_WINDOW_SECONDS as u64 + 1..=3600).contains(&wait),
        "the window's time to live: {wait}"
    );
    let body = std::str::from_utf8(refused.body()).unwrap();
    let message = format!("too many new voters from your network: try again in {wait} seconds");
    assert!(body.contains(&message), "{body}");
    assert!(
        refused.headers().get("set-cookie").is_none(),
        "no id issued"
    );
    let forged = vote_from(&env, "192.0.2.7:5004", None, Some("203.0.113.1:1")).await;
    assert_eq!(
        forged.status(),
        429,
        "a client's own spin-client-addr comes first"
    );
    assert_eq!(
        env.queue_length().await.unwrap(),
        queued_before + 2,
        "refused votes queue nothing"
    );

    let known = vote_from(&env, "192.0.2.7:5005", Some(&cookie), None).await;
    assert_eq!(known.status(), 202, "a voter with an id changes their vote");
    for other in ["192.0.2.8:5000", "[2001:db8::1]:443"] {
        assert_eq!(
            vote_from(&env, other, None, None).await.status(),
            202,
            "{other}"
        );
    }
    let opened: i64 = redis
        .ttl(new_voters_key("192.0.2.8".parse().unwrap()))
        .await
        .unwrap();
    assert!(
        (1..=LIMIT_WINDOW_SECONDS).contains(&opened),
        "a first new voter opens its address's window: {opened}"
    );
    let page = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "App::send's client, 127.0.0.1, has its own count"
    );
    assert_eq!(env.queue_length().await.unwrap(), queued_before + 6);
}
