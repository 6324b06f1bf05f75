//! Application variables as Spin resolves them: manifest defaults, overridden by
//! `SPIN_VARIABLE_<NAME>` from the environment (`crates/variables-env`), then from a `.env`
//! file; `{{ name }}` templates (`crates/expressions`); and the guest's
//! `fermyon:spin/variables@2.0.0`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail, ensure};

use crate::bindings::variables;
use crate::instance::InstanceState;
use crate::manifest::Manifest;

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

impl variables::Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        if !is_variable_name(&name) {
            return Ok(Err(variables::Error::InvalidName(format!(
                "{name:?}: variable names are lower_snake_case"
            ))));
        }
        Ok(self
            .component
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::variables::{Error, Host};
    use crate::instance::test_support::instance_allowing;

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

    #[tokio::test]
    async fn variables_get_returns_component_variables_and_names_errors() {
        let mut instance = instance_allowing(&[]);
        assert_eq!(
            instance.get("greeting".into()).await.unwrap().unwrap(),
            "hello"
        );
        assert!(matches!(
            instance.get("missing".into()).await.unwrap(),
            Err(Error::Undefined(_))
        ));
        assert!(matches!(
            instance.get("Greeting".into()).await.unwrap(),
            Err(Error::InvalidName(_))
        ));
    }
}
