//! Named API keys (`[[auth.keys]]`): the entries as written, and their resolution at load
//! time into [`ApiKey`]s (the secret read from its variable or file, or a SHA-256 digest).
//! The legacy `auth.api_key` / `auth.api_keys` resolve to keys with the id `default`.

use super::{Config, ConfigError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;

/// The id the legacy `auth.api_key` / `auth.api_keys` are known by.
pub const LEGACY_KEY_ID: &str = "default";

/// One `[[auth.keys]]` entry as written in the config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub id: String,
    /// The name of an environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// A file whose content (trimmed) is the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// The lowercase or uppercase hex SHA-256 digest of the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<NonZeroU32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<NonZeroU32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<NonZeroU32>,
    /// May read `/v1/usage`.
    #[serde(default)]
    pub admin: bool,
}

/// A key's own limits (each optional; the `[limits]` defaults apply where unset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub requests_per_minute: Option<NonZeroU32>,
    pub tokens_per_minute: Option<NonZeroU32>,
    pub max_concurrent: Option<NonZeroU32>,
}

/// How a key's secret is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The secret itself (from a variable, a file, or a legacy key).
    Plain(Vec<u8>),
    /// The SHA-256 digest of the secret.
    Sha256([u8; 32]),
}

/// Never prints the secret.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Plain(_) => f.write_str("Plain(<redacted>)"),
            Secret::Sha256(_) => f.write_str("Sha256(<redacted>)"),
        }
    }
}

/// One accepted API key, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Arc<str>,
    pub secret: Secret,
    pub limits: KeyLimits,
    pub admin: bool,
}

/// A key id: 1-64 characters of `[A-Za-z0-9._-]` (a log field and a metric label value).
pub fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn resolve_entry(
    i: usize,
    k: &KeyEntry,
    env: &BTreeMap<String, String>,
) -> Result<ApiKey, ConfigError> {
    let path = |field: &str| format!("auth.keys[{i}].{field}");
    let sources = [
        k.secret_env.is_some(),
        k.secret_file.is_some(),
        k.secret_sha256.is_some(),
    ];
    let count = sources.iter().filter(|s| **s).count();
    if count != 1 {
        return Err(ConfigError::new(
            path("secret_env"),
            "exactly one of secret_env, secret_file, secret_sha256 is required",
        ));
    }
    let secret = if let Some(var) = &k.secret_env {
        match env.get(var).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => Secret::Plain(v.as_bytes().to_vec()),
            Some(_) => {
                return Err(ConfigError::new(
                    path("secret_env"),
                    format!("environment variable {var} is empty"),
                ))
            }
            None => {
                return Err(ConfigError::new(
                    path("secret_env"),
                    format!("environment variable {var} is not set"),
                ))
            }
        }
    } else if let Some(file) = &k.secret_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            ConfigError::new(path("secret_file"), format!("cannot read {file}: {e}"))
        })?;
        let v = text.trim();
        if v.is_empty() {
            return Err(ConfigError::new(
                path("secret_file"),
                format!("{file} is empty"),
            ));
        }
        Secret::Plain(v.as_bytes().to_vec())
    } else {
        let hex = k.secret_sha256.as_deref().unwrap_or_default();
        Secret::Sha256(parse_sha256(hex).ok_or_else(|| {
            ConfigError::new(
                path("secret_sha256"),
                "must be 64 hex digits (the SHA-256 digest of the secret)",
            )
        })?)
    };
    Ok(ApiKey {
        id: Arc::from(k.id.as_str()),
        secret,
        limits: KeyLimits {
            requests_per_minute: k.requests_per_minute,
            tokens_per_minute: k.tokens_per_minute,
            max_concurrent: k.max_concurrent,
        },
        admin: k.admin,
    })
}

/// Resolves every accepted key: the legacy keys (id `default`) then `[[auth.keys]]` in
/// order. Errors name the key path (`auth.keys[1].secret_env`).
pub fn resolve(c: &Config, env: &BTreeMap<String, String>) -> Result<Vec<ApiKey>, ConfigError> {
    let mut keys: Vec<ApiKey> = c
        .legacy_api_keys()
        .into_iter()
        .map(|s| ApiKey {
            id: Arc::from(LEGACY_KEY_ID),
            secret: Secret::Plain(s.into_bytes()),
            limits: KeyLimits::default(),
            admin: false,
        })
        .collect();
    let mut seen = HashSet::new();
    if !keys.is_empty() {
        seen.insert(LEGACY_KEY_ID.to_owned());
    }
    for (i, k) in c.auth.keys.iter().enumerate() {
        if !valid_key_id(&k.id) {
            return Err(ConfigError::new(
                format!("auth.keys[{i}].id"),
                "must be 1-64 characters of [A-Za-z0-9._-]",
            ));
        }
        if !seen.insert(k.id.clone()) {
            let why = if k.id == LEGACY_KEY_ID {
                "the id `default` is taken by auth.api_key / auth.api_keys"
            } else {
                "duplicate key id"
            };
            return Err(ConfigError::new(format!("auth.keys[{i}].id"), why));
        }
        keys.push(resolve_entry(i, k, env)?);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> KeyEntry {
        KeyEntry {
            id: id.into(),
            ..KeyEntry::default()
        }
    }

    fn cfg(keys: Vec<KeyEntry>) -> Config {
        let mut c = Config::default();
        c.auth.keys = keys;
        c
    }

    #[test]
    fn each_source_resolves_and_errors_name_the_path() {
        let dir = std::env::temp_dir().join(format!("codexd-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "sk-file\n").unwrap();
        let env = BTreeMap::from([("K_A".to_string(), "sk-env".to_string())]);
        let digest = "ab".repeat(32);
        let c = cfg(vec![
            KeyEntry {
                secret_env: Some("K_A".into()),
                admin: true,
                ..entry("a")
            },
            KeyEntry {
                secret_file: Some(file.display().to_string()),
                ..entry("b")
            },
            KeyEntry {
                secret_sha256: Some(digest.to_uppercase()),
                ..entry("c")
            },
        ]);
        let keys = resolve(&c, &env).unwrap();
        assert_eq!(keys[0].secret, Secret::Plain(b"sk-env".to_vec()));
        assert!(keys[0].admin);
        assert_eq!(keys[1].secret, Secret::Plain(b"sk-file".to_vec()));
        assert_eq!(keys[2].secret, Secret::Sha256([0xab; 32]));
        assert!(!format!("{keys:?}").contains("sk-env"));

        let ok = KeyEntry {
            secret_env: Some("K_A".into()),
            ..entry("ok")
        };
        let bad = |k: KeyEntry| resolve(&cfg(vec![ok.clone(), k]), &env).unwrap_err().key;
        assert_eq!(bad(entry("x")), "auth.keys[1].secret_env");
        let two = KeyEntry {
            secret_env: Some("K_A".into()),
            secret_sha256: Some(digest.clone()),
            ..entry("x")
        };
        assert_eq!(bad(two), "auth.keys[1].secret_env");
        let unset = KeyEntry {
            secret_env: Some("NOPE".into()),
            ..entry("x")
        };
        assert_eq!(bad(unset), "auth.keys[1].secret_env");
        let missing = KeyEntry {
            secret_file: Some("/nonexistent/x".into()),
            ..entry("x")
        };
        assert_eq!(bad(missing), "auth.keys[1].secret_file");
        let short = KeyEntry {
            secret_sha256: Some("abc".into()),
            ..entry("x")
        };
        assert_eq!(bad(short), "auth.keys[1].secret_sha256");
        let e = resolve(
            &cfg(vec![
                KeyEntry {
                    secret_sha256: Some(digest.clone()),
                    ..entry("a")
                },
                KeyEntry {
                    secret_sha256: Some(digest.clone()),
                    ..entry("a")
                },
            ]),
            &env,
        )
        .unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.reason.as_str()),
            ("auth.keys[1].id", "duplicate key id")
        );
        let e = resolve(&cfg(vec![entry("bad id")]), &env).unwrap_err();
        assert_eq!(e.key, "auth.keys[0].id");
    }

    #[test]
    fn legacy_keys_are_the_default_id() {
        let mut c = cfg(vec![KeyEntry {
            secret_sha256: Some("00".repeat(32)),
            ..entry(LEGACY_KEY_ID)
        }]);
        c.auth.api_key = "sk-legacy".into();
        let e = resolve(&c, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.key, "auth.keys[0].id");
        c.auth.keys.clear();
        let keys = resolve(&c, &BTreeMap::new()).unwrap();
        assert_eq!(&*keys[0].id, LEGACY_KEY_ID);
    }
}
