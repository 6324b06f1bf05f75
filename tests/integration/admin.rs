//! The presenter's console and its API (guarantee 7): no admin route without `admin_token`,
//! and none with a weak one; the API only with the token as a Bearer header; sign-in, its
//! session cookie and its refusals (a wrong token, too many of them — never the right one —, a
//! forged, expired or signed-out session, a cross-site POST); every console action, each
//! answered with a redirect; downloads; bad input that changes nothing; the token never in a
//! log.

use std::net::SocketAddr;

use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::{App, Response};
use voting_shared::{client, session};
use voting_tests::{ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, body};

const TOKEN: &str = ADMIN_TOKEN;

async fn round_and_open(env: &TestEnv) -> (i64, bool) {
    let tally: serde_json::Value =
        serde_json::from_slice(env.app.get("/result/api").await.unwrap().body()).unwrap();
    (
        tally["round"].as_i64().unwrap(),
        tally["open"].as_bool().unwrap(),
    )
}

#[tokio::test]
async fn without_an_admin_token_no_admin_route_exists() {
    let env = TestEnv::start().await.unwrap();
    let presenter = Presenter::new(&env.app, "");
    for (method, path) in [
        ("GET", "/admin"),
        ("GET", "/admin/"),
        ("POST", "/admin/sign-in"),
        ("GET", "/admin/api/rounds"),
        ("POST", "/admin/api/close"),
        ("GET", "/admin/api/rounds/1/results.csv"),
    ] {
        let response = presenter.api(method, path, "{}").await.unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert!(
            response.body().is_empty(),
            "{method} {path}: Spin's empty 404"
        );
    }
    assert_eq!(round_and_open(&env).await, (1, true));
}

/// `GET /admin/api/rounds` with `token` as a Bearer token, from `client`.
async fn rounds_from(env: &TestEnv, client: &str, token: &str) -> Response {
    let request = App::request("GET", "/admin/api/rounds")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap();
    let client: SocketAddr = client.parse().unwrap();
    env.app.send_from(client, request).await.unwrap()
}

#[tokio::test]
async fn the_api_refuses_wrong_tokens_then_limits_them_but_never_the_right_one() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    env.open_sign_in_window("127.0.0.1").await.unwrap();
    let wrong = Presenter::new(&env.app, "not-the-token");
    let closing = wrong.api("POST", "/admin/api/close", "").await.unwrap();
    assert_eq!(closing.status(), 401);
    assert_eq!(closing.headers()["www-authenticate"], "Bearer");
    let without = App::request("POST", "/admin/api/rounds")
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"options":["x","y"]}"#))
        .unwrap();
    assert_eq!(env.app.send(without).await.unwrap().status(), 401);
    assert_eq!(round_and_open(&env).await, (1, true), "nothing changed");

    // The right token takes no attempt away: three more wrong ones are still judged, the
    // fifth among them.
    let presenter = Presenter::new(&env.app, TOKEN);
    for _ in 0..2 {
        let rounds = presenter.api("GET", "/admin/api/rounds", "").await.unwrap();
        assert_eq!(rounds.status(), 200);
    }
    for _ in 0..3 {
        assert_eq!(
            wrong
                .api("GET", "/admin/api/rounds", "")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    // Five failures from this address: wrong tokens are refused from it for a while…
    let limited = wrong.api("GET", "/admin/api/rounds", "").await.unwrap();
    assert_eq!(limited.status(), 429);
    let wait: i64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (client::LIMIT_WINDOW_SECONDS + 1..=3600).contains(&wait),
        "the rest of the window: {wait}"
    );
    assert!(
        body(&limited).contains(&format!("try again in {wait} seconds")),
        "{}",
        body(&limited)
    );
    // …but the presenter, who may share the address with the whole room, is not locked out.
    let rounds = presenter.api("GET", "/admin/api/rounds", "").await.unwrap();
    assert_eq!(rounds.status(), 200);

    let logs = env.app.logs();
    assert_eq!(
        logs.matches("admin: a wrong or missing admin token from 127.0.0.1")
            .count(),
        5,
        "{logs}"
    );
    assert!(logs.contains("(attempt 5 of 5 allowed in 60 s)"), "{logs}");
    assert!(
        !logs.contains("not-the-token") && !logs.contains(TOKEN),
        "{logs}"
    );
}

/// Guesses sent at once are counted one after another, so an address gets five judged as
/// wrong a window however many it sends together; and the room's guesses never lock out the
/// presenter behind the same address (guarantee 7).
#[tokio::test(flavor = "multi_thread")]
async fn fifty_wrong_guesses_at_once_are_limited_and_the_right_token_still_signs_in() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let guesser = "198.51.100.9:40000";
    env.open_sign_in_window("198.51.100.9").await.unwrap();
    let guesses = (0..50).map(|guess| {
        let env = &env;
        async move {
            rounds_from(env, guesser, &format!("guess-{guess}"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let judged = statuses.iter().filter(|status| **status == 401).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((judged, refused), (5, 45), "{statuses:?}");
    assert_eq!(rounds_from(&env, guesser, TOKEN).await.status(), 200);
    let sign_in = App::request("POST", "/admin/sign-in")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(format!("token={TOKEN}")))
        .unwrap();
    let signed_in = env
        .app
        .send_from(guesser.parse().unwrap(), sign_in)
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert!(
        signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("admin_session="),
        "the console's session, from the address that guessed"
    );
    assert_eq!(round_and_open(&env).await, (1, true), "nothing changed");
}

#[tokio::test]
async fn an_admin_token_shorter_than_128_bits_keeps_the_console_off_and_says_how_to_make_one() {
    let env = TestEnv::setup()
        .env("SPIN_VARIABLE_ADMIN_TOKEN", "letmein")
        .start()
        .await
        .unwrap();
    for path in ["/admin", "/admin/api/rounds"] {
        let response = Presenter::new(&env.app, "letmein")
            .api("GET", path, "")
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{path}");
        let text = body(&response);
        assert!(text.contains("at least 32"), "{text}");
        assert!(text.contains("openssl rand -hex 16"), "{text}");
        assert!(!text.contains("letmein"), "{text}");
    }
    let close = Presenter::new(&env.app, "letmein")
        .api("POST", "/admin/api/close", "")
        .await
        .unwrap();
    assert_eq!(close.status(), 503);
    assert_eq!(round_and_open(&env).await, (1, true), "nothing changed");
    assert!(env.app.logs().contains("admin: the console is off"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_runs_every_action_and_refuses_bad_input_changing_nothing() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    for (body, message) in [
        (
            r#"{"options":["Only one"]}"#,
            "a poll has 2 to 8 options, not 1",
        ),
        (
            r#"{"options":["a","b","c","d","e","f","g","h","i"]}"#,
            "not 9",
        ),
        (r#"{"options":["Tea","tea"]}"#, "given twice"),
        ("not json", "send {\"question\""),
    ] {
        let refused = presenter
            .api_error("POST", "/admin/api/rounds", body, 400)
            .await
            .unwrap();
        assert!(refused.contains(message), "{refused}");
    }
    let refused = presenter
        .api_error("POST", "/admin/api/limit", r#"{"new_voter_limit":-1}"#, 400)
        .await
        .unwrap();
    assert!(refused.contains("from 0 (no limit)"), "{refused}");
    assert_eq!(round_and_open(&env).await, (1, true), "nothing changed");
    let wrong_method = presenter.api("GET", "/admin/api/close", "").await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "POST");

    let started = presenter
        .api_json(
            "POST",
            "/admin/api/rounds",
            r#"{"question":"Tabs or spaces?","options":["Tabs","Spaces"]}"#,
            201,
        )
        .await
        .unwrap();
    assert_eq!(started["round"], 2);
    assert_eq!(started["options"][1]["label"], "Spaces");
    assert_eq!(
        Visitor::new(&env.app).vote("b").await.unwrap().status(),
        200
    );
    env.drain().await.unwrap();
    let closed = presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    assert_eq!(closed["open"], false);
    let opened = presenter
        .api_json("POST", "/admin/api/open", "", 200)
        .await
        .unwrap();
    assert_eq!(opened["open"], true);

    let csv = presenter
        .api("GET", "/admin/api/rounds/2/results.csv", "")
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = body(&csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "round,question,choice,label,count,opened_at,closed_at"
    );
    assert!(
        lines[2].starts_with(r#"2,"Tabs or spaces?",b,"Spaces",1,20"#),
        "{csv}"
    );
    let json = presenter
        .api_json("GET", "/admin/api/rounds/1/results.json", "", 200)
        .await
        .unwrap();
    assert_eq!((&json["round"], &json["total"]), (&1.into(), &0.into()));
    assert!(
        json["closed_at"].is_string(),
        "round 1 ended when round 2 began"
    );
    let missing = presenter
        .api("GET", "/admin/api/rounds/9/results.csv", "")
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // The limit set from the API applies to the next new voters from one address.
    presenter
        .api_json("POST", "/admin/api/limit", r#"{"new_voter_limit":1}"#, 200)
        .await
        .unwrap();
    let from = |port: u16| -> SocketAddr { format!("198.51.100.9:{port}").parse().unwrap() };
    let vote = || {
        App::request("POST", "/api/vote")
            .header("content-type", "application/json")
            .body(Bytes::from_static(br#"{"vote":"a"}"#))
            .unwrap()
    };
    assert_eq!(
        env.app.send_from(from(1), vote()).await.unwrap().status(),
        202
    );
    assert_eq!(
        env.app.send_from(from(2), vote()).await.unwrap().status(),
        429
    );
    presenter
        .api_json("POST", "/admin/api/limit", r#"{"new_voter_limit":0}"#, 200)
        .await
        .unwrap();
    assert_eq!(
        env.app.send_from(from(3), vote()).await.unwrap().status(),
        202
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_gives_a_strict_session_for_every_console_action() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    let page = env.app.get("/admin").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        body(&page).contains(r#"type="password""#),
        "the sign-in form"
    );
    let wrong = presenter
        .console_post("/admin/sign-in", "token=nope", None)
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        303,
        "no page at the POST's address to reload"
    );
    let told = presenter.follow(&wrong, "").await.unwrap();
    assert!(body(&told).contains("That is not the admin token."));
    assert!(
        told.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("admin_notice=;"),
        "the notice is shown once"
    );

    let signed_in = presenter
        .console_post("/admin/sign-in", &format!("token={TOKEN}"), None)
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let set_cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.ends_with("; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=28800"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let console = presenter.console_get("/admin", &cookie).await.unwrap();
    assert_eq!(console.status(), 200);
    assert_eq!(console.headers()["cache-control"], "no-store");
    let console = body(&console);
    assert!(console.contains("Round 1: Cats or Dogs?") && console.contains("Voting is open"));

    let act = |path: &'static str, form: &'static str| {
        let (presenter, cookie) = (&presenter, cookie.clone());
        async move {
            let response = presenter
                .console_post(path, form, Some(&cookie))
                .await
                .unwrap();
            assert_eq!(response.status(), 303, "{path}: {}", body(&response));
            assert_eq!(response.headers()["location"], "/admin");
        }
    };
    act("/admin/close", "").await;
    assert_eq!(round_and_open(&env).await, (1, false));
    act("/admin/open", "").await;
    assert_eq!(round_and_open(&env).await, (1, true));
    act(
        "/admin/rounds",
        "question=Lunch%3F&options=Pizza%0D%0ASoup%0D%0ASalad",
    )
    .await;
    assert_eq!(round_and_open(&env).await, (2, true));
    let tally: serde_json::Value =
        serde_json::from_slice(env.app.get("/result/api").await.unwrap().body()).unwrap();
    assert_eq!(
        (&tally["question"], &tally["options"][2]["label"]),
        (&"Lunch?".into(), &"Salad".into())
    );
    act("/admin/reset", "").await;
    assert_eq!(round_and_open(&env).await, (3, true));
    let tally: serde_json::Value =
        serde_json::from_slice(env.app.get("/result/api").await.unwrap().body()).unwrap();
    assert_eq!(tally["question"], "Lunch?", "the same options again");
    act("/admin/limit", "limit=25").await;
    let limit: String = env
        .redis()
        .await
        .unwrap()
        .get("voting:new-voter-limit")
        .await
        .unwrap();
    assert_eq!(limit, "25");

    let bad = presenter
        .console_post("/admin/rounds", "options=Alone", Some(&cookie))
        .await
        .unwrap();
    assert_eq!(bad.status(), 303, "a refusal returns to the console too");
    assert_eq!(bad.headers()["location"], "/admin");
    let told = presenter.follow(&bad, &cookie).await.unwrap();
    assert_eq!(told.status(), 200);
    assert!(body(&told).contains("No new round: a poll has 2 to 8 options, not 1"));
    let again = presenter.console_get("/admin", &cookie).await.unwrap();
    assert!(
        !body(&again).contains("No new round"),
        "a reload shows it no more"
    );
    assert_eq!(round_and_open(&env).await, (3, true), "nothing changed");

    let csv = presenter
        .console_get("/admin/rounds/2/results.csv", &cookie)
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(body(&csv).contains(r#"2,"Lunch?",c,"Salad",0,"#));
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"round-2.csv\""
    );
}

#[tokio::test]
async fn behind_a_tls_proxy_the_session_cookie_is_secure() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let request = App::request("POST", "/admin/sign-in")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(Bytes::from(format!("token={TOKEN}")))
        .unwrap();
    let response = env.app.send(request).await.unwrap();
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_expired_or_signed_out_session_changes_nothing() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    let refused = |cookie: String| {
        let presenter = &presenter;
        async move {
            let response = presenter
                .console_post("/admin/close", "", Some(&cookie))
                .await
                .unwrap();
            assert_eq!(response.status(), 303, "{cookie}");
            assert_eq!(
                response.headers()["location"],
                "/admin",
                "back to the sign-in"
            );
            let page = presenter.console_get("/admin", &cookie).await.unwrap();
            assert!(
                body(&page).contains(r#"type="password""#),
                "{cookie}: the sign-in form"
            );
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Signed with another token, or altered.
    refused(format!(
        "admin_session={}",
        session::issue("guess", "0a1b", now + 600)
    ))
    .await;
    let genuine = presenter.sign_in().await.unwrap();
    refused(genuine.replacen(".", "0.", 1)).await;
    // Validly signed and known, but expired.
    let mut redis = env.redis().await.unwrap();
    let _: () = redis
        .set_ex("voting:admin-session:0a1b", "1", 600)
        .await
        .unwrap();
    refused(format!(
        "admin_session={}",
        session::issue(TOKEN, "0a1b", now - 1)
    ))
    .await;
    assert_eq!(round_and_open(&env).await, (1, true));

    // Signed out: a copy of the cookie replayed later is refused.
    let signed_out = presenter
        .console_post("/admin/sign-out", "", Some(&genuine))
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    assert!(
        signed_out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    refused(genuine).await;
    assert_eq!(round_and_open(&env).await, (1, true), "nothing changed");
}

#[tokio::test]
async fn a_console_post_from_another_site_is_refused() {
    let env = TestEnv::with_console(Deployment::RedisTrigger)
        .await
        .unwrap();
    let presenter = Presenter::new(&env.app, TOKEN);
    let cookie = presenter.sign_in().await.unwrap();
    let request = App::request("POST", "/admin/close")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("cookie", cookie)
        .body(Bytes::new())
        .unwrap();
    let response = env.app.send(request).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(round_and_open(&env).await, (1, true));
}
