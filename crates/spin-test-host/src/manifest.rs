//! Reading `spin.toml` the way Spin does: components, HTTP routes, Redis triggers,
//! application variables and the `{{ variable }}` templates that refer to them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

use crate::allowed_hosts::AllowedHost;
use crate::http::routes::Route;
use crate::variables::{Variables, is_variable_name};

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

    /// Only `components` and the triggers that name them, as `spin up -c` keeps them
    /// (`crates/app/src/lib.rs` `retain_components`); none: the whole app. As Spin's
    /// `validate_service_chaining_for_components` does, a selected component whose
    /// `allowed_outbound_hosts` chain to an unselected one is refused (templated entries are
    /// not resolved yet, and are skipped).
    pub fn retain_components(mut self, components: &[String]) -> anyhow::Result<Manifest> {
        if components.is_empty() {
            return Ok(self);
        }
        for id in components {
            ensure!(
                self.component.contains_key(id),
                "Specified component \"{id}\" not found in application"
            );
        }
        for id in components {
            for host in &self.component[id].allowed_outbound_hosts {
                if host.contains("{{") {
                    continue;
                }
                let Some(target) = host
                    .split_once("://")
                    .and_then(|(_, rest)| rest.split([':', '/']).next())
                    .and_then(|host| host.strip_suffix(".spin.internal"))
                else {
                    continue;
                };
                if target == "*" {
                    bail!(
                        "Selected component '{id}' cannot use wildcard service chaining: \
                         allowed_outbound_hosts = [\"http://*.spin.internal\"]"
                    );
                }
                if !components.iter().any(|selected| selected == target) {
                    bail!(
                        "Selected component '{id}' cannot use service chaining to unselected \
                         component: allowed_outbound_hosts = [\"http://{target}.spin.internal\"]"
                    );
                }
            }
        }
        let selected = |id: &String| components.contains(id);
        self.trigger
            .http
            .retain(|trigger| selected(&trigger.component));
        self.trigger
            .redis
            .retain(|trigger| selected(&trigger.component));
        self.component.retain(|id, _| selected(id));
        Ok(self)
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
        [[trigger.http]]
        route = "/a"
        component = "a"
        [[trigger.http]]
        route = "/b"
        component = "b"
        [[trigger.redis]]
        channel = "c"
        component = "c"
        [component.a]
        source = "a.wasm"
        allowed_outbound_hosts = ["http://b.spin.internal", "http://{{ host }}.spin.internal"]
        [component.b]
        source = "b.wasm"
        [component.c]
        source = "c.wasm"
        allowed_outbound_hosts = ["http://*.spin.internal"]
    "#;

    #[test]
    fn selecting_components_keeps_only_them_and_their_triggers() {
        let selected = manifest(APP)
            .retain_components(&["a".to_owned(), "b".to_owned()])
            .unwrap();
        let ids: Vec<&String> = selected.component.keys().collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(selected.trigger.http.len(), 2);
        assert!(selected.trigger.redis.is_empty());
        let all = manifest(APP).retain_components(&[]).unwrap();
        assert_eq!(all.component.len(), 3, "no selection keeps everything");
    }

    #[test]
    fn selection_errors_are_spins() {
        let error = manifest(APP)
            .retain_components(&["nope".to_owned()])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Specified component \"nope\" not found in application"
        );
        let error = manifest(APP)
            .retain_components(&["a".to_owned()])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Selected component 'a' cannot use service chaining to unselected component: \
             allowed_outbound_hosts = [\"http://b.spin.internal\"]"
        );
        let error = manifest(APP)
            .retain_components(&["c".to_owned(), "b".to_owned()])
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cannot use wildcard service chaining"),
            "{error}"
        );
    }
}
