//! The vote component: voter identity (only ids it issued), the JSON API, bad input (a clear
//! 4xx, nothing queued), Redis down (503, the page still renders), and guarantee 5: no input
//! makes any component trap.

use redis::AsyncCommands;
use spin_test_host::App;
use voting_shared::queue::VOTES_KEY;
use voting_tests::{TestEnv, Visitor};

#[tokio::test]
async fn an_invented_voter_cookie_is_replaced_and_never_stored() {
    let env = TestEnv::start().await.unwrap();
    let mut forger = Visitor::new(&env.app);
    forger.set_cookie("voter_id", "forged-voter.0123");
    let response = forger
        .send(
            "POST",
            "/api/vote",
            Some("application/json"),
            br#"{"vote":"a"}"#,
        )
        .await
        .unwrap();
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
async fn with_redis_down_voting_answers_503_while_the_page_still_renders() {
    let mut env = TestEnv::start().await.unwrap();
    env.redis.stop().unwrap();
    let response = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(String::from_utf8_lossy(response.body()).contains("Redis is not answering"));
    let api = Visitor::new(&env.app)
        .send(
            "POST",
            "/api/vote",
            Some("application/json"),
            br#"{"vote":"a"}"#,
        )
        .await
        .unwrap();
    assert_eq!(api.status(), 503);
    let error: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert!(error["error"].as_str().unwrap().contains("Redis"));
    assert_eq!(env.app.get("/").await.unwrap().status(), 200);

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
