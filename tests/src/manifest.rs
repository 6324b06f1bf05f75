//! Reading `spin.toml` the way Spin does: components, HTTP routes, Redis triggers,
//! application variables and the `{{ variable }}` templates that refer to them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

use crate::outbound::AllowedHost;
use crate::routes::Route;

/// The parts of a Spin manifest (version 2) that running the app depends on.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, Component>,
}

#[derive(Debug, Deserialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub trigger: ApplicationTriggers,
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplicationTriggers {
    pub redis: Option<RedisDefaults>,
}

#[derive(Debug, Deserialize)]
pub struct RedisDefaults {
    pub address: String,
}

#[derive(Debug, Deserialize)]
pub struct Variable {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub redis: Vec<RedisTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: HttpRoute,
    pub component: String,
}

/// A route pattern, or `{ private = true }`: reachable only by local service chaining.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum HttpRoute {
    Pattern(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
pub struct RedisTrigger {
    pub address: Option<String>,
    pub channel: String,
    pub component: String,
}

#[derive(Debug, Deserialize)]
pub struct Component {
    pub source: PathBuf,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

impl Manifest {
    pub fn from_file(path: &Path) -> anyhow::Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(
            manifest.spin_manifest_version == 2,
            "{}: only spin_manifest_version = 2 is supported",
            path.display()
        );
        for trigger in &manifest.trigger.http {
            ensure!(
                manifest.component.contains_key(&trigger.component),
                "an HTTP trigger names unknown component {:?}",
                trigger.component
            );
            if let HttpRoute::Private { private: false } = trigger.route {
                bail!(
                    "route must be a string pattern or '{{ private = true }}': '{}' has {{ private = false }}",
                    trigger.component
                );
            }
        }
        for trigger in &manifest.trigger.redis {
            ensure!(
                manifest.component.contains_key(&trigger.component),
                "Redis trigger names unknown component {:?}",
                trigger.component
            );
        }
        Ok(manifest)
    }

    /// The public HTTP routes, as (component id, route).
    pub fn http_routes(&self) -> anyhow::Result<Vec<(String, Route)>> {
        self.trigger
            .http
            .iter()
            .filter_map(|trigger| match &trigger.route {
                HttpRoute::Pattern(route) => Some((trigger.component.clone(), route)),
                HttpRoute::Private { .. } => None,
            })
            .map(|(id, route)| Ok((id, Route::parse(route)?)))
            .collect()
    }

    /// Every component an HTTP trigger names, public or private.
    pub fn http_components(&self) -> impl Iterator<Item = &str> {
        self.trigger
            .http
            .iter()
            .map(|trigger| trigger.component.as_str())
    }
}

/// Application variable values: defaults from the manifest, overridden by
/// `SPIN_VARIABLE_<NAME>` entries of the environment Spin runs in.
#[derive(Debug, Clone)]
pub struct Variables {
    values: HashMap<String, String>,
}

impl Variables {
    pub fn resolve(
        manifest: &Manifest,
        environment: &HashMap<String, String>,
    ) -> anyhow::Result<Variables> {
        let mut values = HashMap::new();
        for (name, variable) in &manifest.variables {
            ensure!(
                is_variable_name(name),
                "variable {name:?}: names must be lower_snake_case"
            );
            let env_name = format!("SPIN_VARIABLE_{}", name.to_uppercase());
            let value = match (environment.get(&env_name), &variable.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) if !variable.required => default.clone(),
                _ => bail!("variable {name} is required: set {env_name}"),
            };
            values.insert(name.clone(), value);
        }
        Ok(Variables { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands every `{{ name }}` in `template`.
    pub fn expand(&self, template: &str) -> anyhow::Result<String> {
        let mut expanded = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            expanded.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .with_context(|| format!("unclosed {{{{ in template {template:?}"))?;
            let name = after[..end].trim();
            let value = self.get(name).with_context(|| {
                format!("template {template:?} refers to unknown variable {name:?}")
            })?;
            expanded.push_str(value);
            rest = &after[end + 2..];
        }
        expanded.push_str(rest);
        Ok(expanded)
    }
}

/// Spin's rule (`crates/expressions/src/lib.rs`, `Key::validate`): lower-case letters, digits
/// and single underscores, starting with a letter and not ending with an underscore.
pub(crate) fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The environment Spin's variables provider reads (`crates/variables-env/src/lib.rs`): the
/// process environment first, then the entries of a `.env` file in the directory `spin up`
/// runs in, when there is one.
pub fn with_dotenv(
    environment: &HashMap<String, String>,
    dotenv: &Path,
) -> anyhow::Result<HashMap<String, String>> {
    let mut merged = environment.clone();
    if dotenv.exists() {
        for entry in dotenvy::from_path_iter(dotenv)
            .with_context(|| format!("reading {}", dotenv.display()))?
        {
            let (name, value) = entry.with_context(|| format!("parsing {}", dotenv.display()))?;
            merged.entry(name).or_insert(value);
        }
    }
    Ok(merged)
}

/// A component with every template in its configuration expanded.
#[derive(Debug, Clone)]
pub struct ResolvedComponent {
    pub id: String,
    pub source: PathBuf,
    pub allowed_outbound_hosts: Vec<AllowedHost>,
    pub variables: HashMap<String, String>,
}

impl ResolvedComponent {
    pub fn resolve(
        root: &Path,
        id: &str,
        component: &Component,
        variables: &Variables,
    ) -> anyhow::Result<ResolvedComponent> {
        // As in Spin, an entry whose variables expand to nothing is skipped (an optional
        // endpoint); any other entry must parse.
        let allowed_outbound_hosts = component
            .allowed_outbound_hosts
            .iter()
            .map(|entry| variables.expand(entry))
            .filter(|expanded| !matches!(expanded.as_deref(), Ok("" | "http://" | "https://")))
            .map(|expanded| AllowedHost::parse(&expanded?))
            .collect::<anyhow::Result<_>>()
            .with_context(|| format!("component {id}: allowed_outbound_hosts"))?;
        let component_variables = component
            .variables
            .iter()
            .map(|(name, template)| {
                ensure!(
                    is_variable_name(name),
                    "component {id}: variable {name:?} must be lower_snake_case"
                );
                Ok((name.clone(), variables.expand(template)?))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(ResolvedComponent {
            id: id.to_owned(),
            source: root.join(&component.source),
            allowed_outbound_hosts,
            variables: component_variables,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Manifest {
        toml::from_str(text).unwrap()
    }

    const APP: &str = r#"
        spin_manifest_version = 2
        [application]
        name = "app"
        [variables]
        host = { default = "127.0.0.1:6379" }
        token = { required = true, secret = true }
    "#;

    #[test]
    fn environment_overrides_defaults_and_fills_required_variables() {
        let environment = HashMap::from([
            ("SPIN_VARIABLE_HOST".to_owned(), "10.0.0.1:7000".to_owned()),
            ("SPIN_VARIABLE_TOKEN".to_owned(), "s3cret".to_owned()),
        ]);
        let variables = Variables::resolve(&manifest(APP), &environment).unwrap();
        assert_eq!(variables.get("host"), Some("10.0.0.1:7000"));
        assert_eq!(variables.get("token"), Some("s3cret"));
    }

    #[test]
    fn a_missing_required_variable_names_the_environment_variable() {
        let error = Variables::resolve(&manifest(APP), &HashMap::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "variable token is required: set SPIN_VARIABLE_TOKEN"
        );
    }

    #[test]
    fn variable_names_follow_spins_rules() {
        for name in ["a", "host", "option_a", "v2", "a_b_c"] {
            assert!(is_variable_name(name), "{name}");
        }
        for name in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"] {
            assert!(!is_variable_name(name), "{name}");
        }
    }

    #[test]
    fn a_dotenv_file_fills_what_the_environment_does_not_set() {
        let dir = tempfile::tempdir().unwrap();
        let dotenv = dir.path().join(".env");
        std::fs::write(
            &dotenv,
            "# local settings\nSPIN_VARIABLE_TOKEN=\"from file\"\nSPIN_VARIABLE_HOST=ignored:1\n",
        )
        .unwrap();
        let environment = HashMap::from([("SPIN_VARIABLE_HOST".to_owned(), "env:2".to_owned())]);
        let merged = with_dotenv(&environment, &dotenv).unwrap();
        let variables = Variables::resolve(&manifest(APP), &merged).unwrap();
        assert_eq!(variables.get("token"), Some("from file"));
        assert_eq!(variables.get("host"), Some("env:2"));
        let absent = with_dotenv(&environment, &dir.path().join("none")).unwrap();
        assert_eq!(absent, environment);
    }

    #[test]
    fn templates_expand_known_variables_and_reject_unknown_ones() {
        let environment = HashMap::from([("SPIN_VARIABLE_TOKEN".to_owned(), "t".to_owned())]);
        let variables = Variables::resolve(&manifest(APP), &environment).unwrap();
        assert_eq!(
            variables.expand("redis://{{ host }}/{{token}}").unwrap(),
            "redis://127.0.0.1:6379/t"
        );
        assert!(variables.expand("{{ nope }}").is_err());
        assert!(variables.expand("{{ host").is_err());
    }
}
