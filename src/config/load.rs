//! Loading: a TOML file (or the built-in defaults), then `CODEXD__SECTION__KEY` environment
//! overrides, then typed deserialization that names the offending key path.

use super::{validate, Config};
use std::path::Path;

/// A configuration problem, naming the key path (`workers.backoff.max_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

const ENV_PREFIX: &str = "CODEXD__";

/// Loads, merges and validates the configuration, and resolves every API key's secret.
pub fn load(
    path: Option<&Path>,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    load_with(path, env, true)
}

/// Loads and validates the configuration without reading any API key secret (for tools
/// such as `codexd usage` that never authenticate a request).
pub fn load_without_secrets(
    path: Option<&Path>,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    load_with(path, env, false)
}

fn load_with(
    path: Option<&Path>,
    env: impl Iterator<Item = (String, String)>,
    resolve_keys: bool,
) -> Result<Config, ConfigError> {
    let mut table = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                ConfigError::new("--config", format!("cannot read {}: {e}", p.display()))
            })?;
            text.parse::<toml::Table>().map_err(|e| {
                ConfigError::new(
                    p.display().to_string(),
                    format!("invalid TOML: {}", e.message()),
                )
            })?
        }
        None => toml::Table::new(),
    };
    let env: std::collections::BTreeMap<String, String> = env.collect();
    for (name, value) in &env {
        if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
            apply_override(&mut table, rest, value)?;
        }
    }
    let mut config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let reason = e.inner().message().to_owned();
            ConfigError::new(if key == "." { "config".into() } else { key }, reason)
        })?;
    validate::validate(&config)?;
    if resolve_keys {
        config.resolved_keys = std::sync::Arc::new(super::keys::resolve(&config, &env)?);
    }
    Ok(config)
}

/// Sets `a.b.c` from `CODEXD__A__B__C`. A value that parses as a TOML value (number, bool,
/// array, quoted string) is typed; anything else is a string.
fn apply_override(table: &mut toml::Table, path: &str, raw: &str) -> Result<(), ConfigError> {
    // Key names are case-insensitive, except the variable names under `workers.env`.
    let keys: Vec<String> = path
        .split("__")
        .enumerate()
        .map(|(i, k)| {
            let under_env = i >= 2 && path.to_ascii_lowercase().starts_with("workers__env__");
            if under_env {
                k.to_owned()
            } else {
                k.to_ascii_lowercase()
            }
        })
        .collect();
    let dotted = keys.join(".");
    if keys.iter().any(String::is_empty) {
        return Err(ConfigError::new(
            format!("{ENV_PREFIX}{path}"),
            "empty key segment",
        ));
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let Some((last, parents)) = keys.split_last() else {
        return Err(ConfigError::new(dotted, "empty key"));
    };
    let mut cursor = table;
    for k in parents {
        let entry = cursor
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cursor = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::new(dotted.clone(), format!("`{k}` is not a section")))?;
    }
    cursor.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn defaults_are_valid() {
        let c = load(None, env(&[])).unwrap();
        assert_eq!(c.server.listen.port(), 11435);
    }

    #[test]
    fn env_overrides_are_typed_and_nested() {
        let c = load(
            None,
            env(&[
                ("CODEXD__WORKERS__COUNT", "4"),
                ("CODEXD__SERVER__LISTEN", "127.0.0.1:18080"),
                ("CODEXD__AUTH__API_KEY", "sk-x"),
                ("CODEXD__WORKERS__BACKOFF__MAX_MS", "9000"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.workers.count, 4);
        assert_eq!(c.server.listen.port(), 18080);
        assert_eq!(c.auth.api_key, "sk-x");
        assert_eq!(c.workers.backoff.max_ms, 9000);
    }

    #[test]
    fn worker_env_names_keep_their_case() {
        let c = load(None, env(&[("CODEXD__WORKERS__ENV__MOCK_API_KEY", "k1")])).unwrap();
        assert_eq!(
            c.workers.env.get("MOCK_API_KEY").map(String::as_str),
            Some("k1")
        );
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let e = load(None, env(&[("CODEXD__WORKERS__BACKOFF__MAXIMUM", "3")])).unwrap_err();
        assert_eq!(e.key, "workers.backoff.maximum");
        assert!(e.reason.contains("maximum"), "{e}");
        let e = load(None, env(&[("CODEXD__NOPE__X", "3")])).unwrap_err();
        assert!(e.reason.contains("nope"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = load(None, env(&[("CODEXD__WORKERS__COUNT", "many")])).unwrap_err();
        assert_eq!(e.key, "workers.count");
    }

    #[test]
    fn cross_field_rules_name_the_key() {
        let e = load(
            None,
            env(&[
                ("CODEXD__WORKERS__BACKOFF__INITIAL_MS", "5000"),
                ("CODEXD__WORKERS__BACKOFF__MAX_MS", "100"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.key, "workers.backoff.max_ms");
        let e = load(None, env(&[("CODEXD__HEALTH__MIN_READY_WORKERS", "3")])).unwrap_err();
        assert_eq!(e.key, "health.min_ready_workers");
    }

    #[test]
    fn exposure_without_keys_is_refused() {
        let e = load(None, env(&[("CODEXD__SERVER__LISTEN", "0.0.0.0:8080")])).unwrap_err();
        assert_eq!(e.key, "auth.api_key");
        let e = load(
            None,
            env(&[
                ("CODEXD__SERVER__LISTEN", "0.0.0.0:8080"),
                ("CODEXD__AUTH__API_KEY", "k"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.key, "metrics.token");
        let e = load(None, env(&[("CODEXD__METRICS__LISTEN", "0.0.0.0:9464")])).unwrap_err();
        assert_eq!(e.key, "metrics.token");
        load(
            None,
            env(&[
                ("CODEXD__METRICS__LISTEN", "0.0.0.0:9464"),
                ("CODEXD__METRICS__TOKEN", "t"),
            ]),
        )
        .unwrap();
    }

    #[test]
    fn content_capture_refuses_a_public_listener() {
        let e = load(
            None,
            env(&[
                ("CODEXD__SERVER__LISTEN", "0.0.0.0:8080"),
                ("CODEXD__AUTH__API_KEY", "k"),
                ("CODEXD__METRICS__TOKEN", "t"),
                ("CODEXD__LOG__CAPTURE_CONTENT", "true"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.key, "log.capture_content");
    }
}
