//! spin.toml: valid for real Spin, and honoured by the test host (routes, variables,
//! allowed outbound hosts).

use std::collections::HashMap;

use redis::AsyncCommands;
use spin_test_host::{App, TestEnv, repository_root};

#[test]
fn spin_toml_is_valid_against_spins_manifest_schema() {
    let root = repository_root();
    let schema_path = root.join("../shared/spin-manifest.schema.json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&schema_path).unwrap_or_else(|error| {
            panic!(
                "{}: {error} (the product contract's shared/ folder belongs beside the repository)",
                schema_path.display()
            )
        }),
    )
    .unwrap();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("spin.toml")).unwrap()).unwrap();
    let manifest = serde_json::to_value(manifest).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "spin.toml does not match Spin's schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn every_component_has_a_build_command_and_the_app_its_name() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(repository_root().join("spin.toml")).unwrap())
            .unwrap();
    assert_eq!(manifest["application"]["name"].as_str(), Some("voting-app"));
    let components = manifest["component"].as_table().unwrap();
    let mut ids: Vec<&str> = components.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["counter", "result", "vote", "worker"]);
    for (id, component) in components {
        let command = component["build"]["command"].as_str().unwrap();
        assert!(command.contains(&format!("-p {id}")), "{id}: {command}");
    }
}

#[test]
fn variables_resolve_to_their_defaults() {
    let app = App::load(&repository_root(), &HashMap::new()).unwrap();
    let expected = [
        ("option_a", "Cats"),
        ("option_b", "Dogs"),
        ("redis_host", "127.0.0.1:6379"),
        ("postgres_host", "127.0.0.1:5432"),
        ("postgres_user", "postgres"),
        ("postgres_password", "postgres"),
        ("postgres_database", "postgres"),
        ("votes_channel", "votes"),
        ("postgres_sslmode", "prefer"),
        ("cookie_secret", ""),
    ];
    for (name, value) in expected {
        assert_eq!(app.variable(name), Some(value), "{name}");
    }
}

#[test]
fn spin_variable_environment_overrides_defaults() {
    let environment = HashMap::from([
        ("SPIN_VARIABLE_OPTION_A".to_owned(), "Tabs".to_owned()),
        (
            "SPIN_VARIABLE_VOTES_CHANNEL".to_owned(),
            "ballots".to_owned(),
        ),
    ]);
    let app = App::load(&repository_root(), &environment).unwrap();
    assert_eq!(app.variable("option_a"), Some("Tabs"));
    assert_eq!(app.variable("votes_channel"), Some("ballots"));
    assert_eq!(app.variable("option_b"), Some("Dogs"));
}

#[tokio::test]
async fn components_see_overridden_variables() {
    // The counter reaches the test Redis only through SPIN_VARIABLE_REDIS_HOST.
    let env = TestEnv::start().await.unwrap();
    assert_ne!(env.redis.host(), "127.0.0.1:6379");
    assert_eq!(env.app.get("/counter").await.unwrap().status(), 200);
}

#[tokio::test]
async fn paths_without_a_route_get_spins_empty_404() {
    let env = TestEnv::start().await.unwrap();
    for path in [
        "/nope",
        "/counterx",
        "/resultx",
        "/api",
        "/api/vote/extra",
        "/counter/deeper",
    ] {
        let response = env.app.get(path).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.body().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn a_component_cannot_reach_a_host_missing_from_its_allowed_outbound_hosts() {
    let env = TestEnv::start().await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(repository_root().join("spin.toml")).unwrap();
    let counter_section = "[component.counter]\nsource = \"target/";
    assert!(manifest.contains(counter_section));
    let restricted = manifest
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", repository_root().display()),
        )
        .replacen(
            "allowed_outbound_hosts = [\"redis://{{ redis_host }}\"]",
            "allowed_outbound_hosts = [\"redis://redis.example.com:6379\"]",
            1,
        );
    assert_ne!(restricted, manifest);
    std::fs::write(root.path().join("spin.toml"), restricted).unwrap();
    let environment = spin_test_host::services::spin_variables(&env.redis, &env.postgres);
    let app = App::load(root.path(), &environment).unwrap();

    let response = app.get("/counter").await.unwrap();
    assert_eq!(response.status(), 503);
    let hits: Option<String> = env.redis().await.unwrap().get("hits").await.unwrap();
    assert_eq!(hits, None, "the counter must not have reached Redis");
    assert_eq!(
        env.app.get("/counter").await.unwrap().status(),
        200,
        "the real manifest allows it"
    );
}
