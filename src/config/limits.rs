//! The `[limits]` section: the per-key limits backend (`local` or `redis`), the Redis outage
//! policy, and the default limits of every key that sets none of its own.

use super::ConfigError;
use crate::limits::KeyLimits;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsBackend {
    /// Windows in this process: limits hold per replica.
    #[default]
    Local,
    /// Counters shared by every replica through `limits.redis_url`.
    Redis,
}

impl LimitsBackend {
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitsBackend::Local => "local",
            LimitsBackend::Redis => "redis",
        }
    }
}

/// What a check does while Redis cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisFailure {
    /// Admit the request unlimited.
    #[default]
    Open,
    /// Refuse it with 503 `limits_unavailable`.
    Closed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub backend: LimitsBackend,
    pub redis_url: String,
    pub redis_failure: RedisFailure,
    pub redis_timeout_ms: u64,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    pub max_concurrent: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            backend: LimitsBackend::Local,
            redis_url: String::new(),
            redis_failure: RedisFailure::Open,
            redis_timeout_ms: 250,
            requests_per_minute: None,
            tokens_per_minute: None,
            max_concurrent: None,
        }
    }
}

impl Limits {
    /// The limits of a key that sets none of its own.
    pub fn defaults(&self) -> KeyLimits {
        KeyLimits {
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            max_concurrent: self.max_concurrent,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("limits.requests_per_minute", self.requests_per_minute),
            ("limits.tokens_per_minute", self.tokens_per_minute),
            ("limits.max_concurrent", self.max_concurrent),
        ] {
            if v == Some(0) {
                return Err(ConfigError::new(key, "must be greater than 0 when set"));
            }
        }
        if self.backend == LimitsBackend::Redis {
            if self.redis_url.is_empty() {
                return Err(ConfigError::new(
                    "limits.redis_url",
                    "must be set when limits.backend is \"redis\"",
                ));
            }
            if let Err(e) = redis::Client::open(self.redis_url.as_str()) {
                return Err(ConfigError::new(
                    "limits.redis_url",
                    format!("is not a Redis URL ({:?})", e.kind()),
                ));
            }
        }
        if !(1..=10_000).contains(&self.redis_timeout_ms) {
            return Err(ConfigError::new(
                "limits.redis_timeout_ms",
                "must be between 1 and 10000",
            ));
        }
        Ok(())
    }
}

/// A Redis URL with its password (userinfo) hidden, for `check-config`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://<redacted>@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://:hunter2@10.0.0.1:6379/0"),
            "redis://<redacted>@10.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
