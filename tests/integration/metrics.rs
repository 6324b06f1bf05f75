//! `GET /metrics`, read with an independent parser of Prometheus's text format: votes per
//! option (labels as configured, escaped), the queue, dead letters, the age of the last batch,
//! which dependency answered, the build's version; a scrape costs one Redis script and one
//! PostgreSQL query, and still answers while either is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::AsyncCommands;
use spin_test_host::{App, HostCall};
use voting_tests::{TestEnv, Visitor, repository_root};

/// One scrape: every sample as (metric, labels) → value.
struct Scrape {
    samples: HashMap<(String, Vec<(String, String)>), f64>,
    documented: Vec<String>,
}

impl Scrape {
    fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        labels.sort();
        self.samples.get(&(metric.to_owned(), labels)).copied()
    }

    fn has(&self, metric: &str) -> bool {
        self.samples.keys().any(|(name, _)| name == metric)
    }
}

async fn scrape(env: &TestEnv) -> Scrape {
    let response = env.app.get("/metrics").await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    let parsed = prom_text_format_parser::Scrape::parse(&text)
        .unwrap_or_else(|error| panic!("not the text format: {error:?}\n{text}"));
    let mut samples = HashMap::new();
    let mut documented = Vec::new();
    for metric in parsed.metrics {
        assert_eq!(
            metric.kind,
            prom_text_format_parser::Type::Gauge,
            "{}",
            metric.name
        );
        if metric.help_desc.is_some() {
            documented.push(metric.name.clone());
        }
        for sample in metric.samples {
            let mut labels: Vec<(String, String)> = sample
                .labels
                .iter()
                .map(|label| (label.key.clone(), unescape(&label.value)))
                .collect();
            labels.sort();
            samples.insert((metric.name.clone(), labels), sample.value.value.as_f64());
        }
    }
    Scrape {
        samples,
        documented,
    }
}

/// A label value as the text format escapes it (`\\`, `\"`, `\n`), read back. The parser
/// checks the escapes and leaves them in.
fn unescape(value: &str) -> String {
    let mut text = String::new();
    let mut characters = value.chars();
    while let Some(character) = characters.next() {
        text.push(match (character, character == '\\') {
            (_, true) => match characters.next() {
                Some('n') => '\n',
                Some(escaped) => escaped,
                None => panic!("a trailing backslash in {value:?}"),
            },
            (character, false) => character,
        });
    }
    text
}

fn result_version() -> String {
    let manifest =
        std::fs::read_to_string(repository_root().join("components/result/Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&manifest).unwrap();
    manifest["package"]["version"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn metrics_follow_the_votes_the_queue_and_the_worker() {
    let label_a = "Tabs \"or\" \\spaces\\";
    let env = TestEnv::setup()
        .envs(&[("SPIN_VARIABLE_OPTION_A", label_a)])
        .start()
        .await
        .unwrap();
    let before = scrape(&env).await;
    assert_eq!(before.value("voting_queue_length", &[]), Some(0.0));
    assert_eq!(before.value("voting_dead_letters", &[]), Some(0.0));
    assert_eq!(
        before.value("voting_seconds_since_last_batch", &[]),
        Some(f64::INFINITY),
        "no batch yet"
    );
    let version = result_version();
    assert_eq!(
        before.value("voting_build_info", &[("version", &version)]),
        Some(1.0)
    );
    for dependency in ["redis", "postgres"] {
        let up = before.value("voting_dependency_up", &[("dependency", dependency)]);
        assert_eq!(up, Some(1.0), "{dependency}");
    }
    for metric in [
        "voting_votes",
        "voting_queue_length",
        "voting_dead_letters",
        "voting_seconds_since_last_batch",
        "voting_dependency_up",
        "voting_build_info",
    ] {
        assert!(
            before.documented.iter().any(|name| name == metric),
            "# HELP {metric}"
        );
    }

    for choice in ["a", "a", "b"] {
        assert_eq!(
            Visitor::new(&env.app).vote(choice).await.unwrap().status(),
            200
        );
    }
    let _: () = env
        .redis()
        .await
        .unwrap()
        .rpush("votes", "not json")
        .await
        .unwrap();
    let queued = scrape(&env).await;
    assert_eq!(queued.value("voting_queue_length", &[]), Some(4.0));

    env.drain().await.unwrap();
    let drained = scrape(&env).await;
    let votes = |choice: &str, label: &str| {
        drained.value("voting_votes", &[("choice", choice), ("label", label)])
    };
    assert_eq!(
        votes("a", label_a),
        Some(2.0),
        "the label as configured, escaped and read back"
    );
    assert_eq!(votes("b", "Dogs"), Some(1.0));
    assert_eq!(drained.value("voting_queue_length", &[]), Some(0.0));
    assert_eq!(drained.value("voting_dead_letters", &[]), Some(1.0));
    let age = drained
        .value("voting_seconds_since_last_batch", &[])
        .unwrap();
    assert!(age.is_finite() && age >= 0.0, "{age}");
}

#[tokio::test]
async fn metrics_answer_while_a_dependency_is_down_with_what_the_other_one_knows() {
    let mut env = TestEnv::start().await.unwrap();
    env.postgres.stop().unwrap();
    Visitor::new(&env.app).vote("a").await.unwrap();
    let without_postgres = scrape(&env).await;
    let postgres_up = without_postgres.value("voting_dependency_up", &[("dependency", "postgres")]);
    assert_eq!(postgres_up, Some(0.0));
    assert!(!without_postgres.has("voting_votes"));
    assert_eq!(
        without_postgres.value("voting_queue_length", &[]),
        Some(1.0),
        "the queue grows"
    );

    env.postgres.restart().await.unwrap();
    env.drain().await.unwrap();
    env.redis.stop().unwrap();
    let without_redis = scrape(&env).await;
    let redis_up = without_redis.value("voting_dependency_up", &[("dependency", "redis")]);
    assert_eq!(redis_up, Some(0.0));
    assert!(!without_redis.has("voting_queue_length"));
    let counted = without_redis.value("voting_votes", &[("choice", "a"), ("label", "Cats")]);
    assert_eq!(counted, Some(1.0));
}

#[tokio::test]
async fn a_scrape_costs_one_redis_script_and_one_postgresql_query() {
    let env = TestEnv::start().await.unwrap();
    Visitor::new(&env.app).vote("b").await.unwrap();
    env.drain().await.unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    env.app.on_host_call(Arc::new(move |call: &HostCall| {
        let name = match call {
            HostCall::RedisOpen => "redis open".to_owned(),
            HostCall::RedisExecute { command, .. } => format!("redis {command}"),
            HostCall::PostgresOpen => "postgres open".to_owned(),
            HostCall::PostgresStatement(_) => "postgres statement".to_owned(),
            HostCall::HttpSend(authority) => format!("http {authority}"),
        };
        recorded.lock().unwrap().push(name);
        None
    }));
    scrape(&env).await;
    env.app.clear_host_call_hook();
    let mut calls = calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(
        calls,
        [
            "postgres open",
            "postgres statement",
            "redis EVAL",
            "redis open"
        ]
    );
}

/// Once the console is on, rounds can hide their counts, and `/metrics` has them all: it answers
/// only a Bearer token, the admin token or the scraper's own `metrics_token`.
#[tokio::test]
async fn with_the_console_on_metrics_answer_only_a_token() {
    let metrics_token = "scraper-token-of-the-metrics-only";
    let env = TestEnv::setup()
        .console()
        .env("SPIN_VARIABLE_METRICS_TOKEN", metrics_token)
        .start()
        .await
        .unwrap();
    let scrape_with = |token: Option<&str>| {
        let mut request = App::request("GET", "/metrics");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let app = env.app.clone();
        let request = request.body(bytes::Bytes::new()).unwrap();
        async move { app.send(request).await.unwrap() }
    };
    for refused in [None, Some("a-guess"), Some("")] {
        let response = scrape_with(refused).await;
        assert_eq!(response.status(), 401, "{refused:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let text = String::from_utf8_lossy(response.body()).into_owned();
        assert!(!text.contains("voting_votes"), "{text}");
        assert!(text.contains("metrics_token"), "says what to send: {text}");
    }
    for token in [voting_tests::ADMIN_TOKEN, metrics_token] {
        let response = scrape_with(Some(token)).await;
        assert_eq!(response.status(), 200);
        assert!(String::from_utf8_lossy(response.body()).contains("voting_votes"));
    }
}
