//! Codex accounts and what codexd does with their quota: the optional `[[accounts]]` list
//! (a config without it is one implicit account, `default`, with `workers.count` workers on
//! `workers.codex_home`), `[quota]` (cool-downs, the readiness policy, `CODEX_HOME`
//! sampling) and `[workers.recycle]`. The account name is the only account identity codexd
//! ever records.

use super::{Config, ConfigError};
use codexd_actors::accounts::{AccountPolicy, AccountSpec, DEFAULT_ACCOUNT};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One `[[accounts]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// The account's name in metrics, logs and `/healthz` (`[a-z0-9_-]`, 1–32 characters).
    pub name: String,
    /// The `CODEX_HOME` its workers share (its login lives there).
    pub codex_home: String,
    /// How many worker slots it gets.
    #[serde(default = "one")]
    pub workers: u32,
    /// Variables set for its workers, over `[workers.env]`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// `[quota]`: how usage windows and login state steer routing and readiness.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quota {
    /// `true`: a replica whose every account is out of quota goes unready
    /// (`quota_exhausted`); `false` (default): it stays ready and answers 429.
    pub unready_when_exhausted: bool,
    /// Cool-down after a usage-limit error when Codex gave no reset time.
    pub usage_limit_cooldown_ms: u64,
    /// How long an account whose provider answered unauthorized is left out before it is
    /// tried again.
    pub unauthorized_retry_ms: u64,
    /// How often the bytes under each `CODEX_HOME` are counted (0 turns it off).
    pub codex_home_sample_ms: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            unready_when_exhausted: false,
            usage_limit_cooldown_ms: 300_000,
            unauthorized_retry_ms: 60_000,
            codex_home_sample_ms: 60_000,
        }
    }
}

/// `[workers.recycle]`: when a worker is drained and restarted (0 turns a limit off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recycle {
    pub max_turns: u64,
    pub max_age_ms: u64,
    pub max_rss_bytes: u64,
    /// How often age and memory are checked (the RSS gauge's period too).
    pub check_interval_ms: u64,
}

impl Default for Recycle {
    fn default() -> Self {
        Self {
            max_turns: 0,
            max_age_ms: 0,
            max_rss_bytes: 0,
            check_interval_ms: 5_000,
        }
    }
}

/// One account as the pool sees it: name, home, slot count, extra environment.
#[derive(Debug, Clone)]
pub struct PoolAccount {
    pub name: Arc<str>,
    pub codex_home: String,
    pub workers: u32,
    pub env: BTreeMap<String, String>,
}

impl Config {
    /// The pool's accounts in slot order: `[[accounts]]`, or the implicit `default`.
    pub fn pool_accounts(&self) -> Vec<PoolAccount> {
        if self.accounts.is_empty() {
            return vec![PoolAccount {
                name: DEFAULT_ACCOUNT.into(),
                codex_home: self.workers.codex_home.clone(),
                workers: self.workers.count,
                env: BTreeMap::new(),
            }];
        }
        self.accounts
            .iter()
            .map(|a| PoolAccount {
                name: a.name.as_str().into(),
                codex_home: a.codex_home.clone(),
                workers: a.workers,
                env: a.env.clone(),
            })
            .collect()
    }

    /// Worker slots over every account.
    pub fn pool_size(&self) -> usize {
        self.pool_accounts()
            .iter()
            .map(|a| a.workers as usize)
            .sum()
    }

    pub fn account_specs(&self) -> Vec<AccountSpec> {
        self.pool_accounts()
            .into_iter()
            .map(|a| AccountSpec {
                name: a.name,
                workers: a.workers as usize,
            })
            .collect()
    }

    pub fn account_policy(&self) -> AccountPolicy {
        AccountPolicy {
            usage_limit_fallback: Duration::from_millis(self.quota.usage_limit_cooldown_ms),
            unauthorized_retry: Duration::from_millis(self.quota.unauthorized_retry_ms),
        }
    }
}

fn valid_name(n: &str) -> bool {
    (1..=32).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks `[[accounts]]`, `[quota]` and `[workers.recycle]`.
pub fn validate(c: &Config) -> Result<(), ConfigError> {
    let mut names = HashSet::new();
    for (i, a) in c.accounts.iter().enumerate() {
        let key = |k: &str| format!("accounts[{i}].{k}");
        if !valid_name(&a.name) {
            return Err(ConfigError::new(
                key("name"),
                "must be 1 to 32 characters of a-z, 0-9, _ and -",
            ));
        }
        if !names.insert(a.name.as_str()) {
            return Err(ConfigError::new(key("name"), "is used by another account"));
        }
        if a.codex_home.trim().is_empty() {
            return Err(ConfigError::new(key("codex_home"), "must not be empty"));
        }
        if !(1..=64).contains(&a.workers) {
            return Err(ConfigError::new(key("workers"), "must be between 1 and 64"));
        }
    }
    if !c.accounts.is_empty() && !c.workers.codex_home.is_empty() {
        return Err(ConfigError::new(
            "workers.codex_home",
            "must be empty when [[accounts]] is set (each account has its own codex_home)",
        ));
    }
    if c.pool_size() > 64 {
        return Err(ConfigError::new("accounts", "more than 64 workers in all"));
    }
    let r = &c.workers.recycle;
    if (r.max_age_ms > 0 || r.max_rss_bytes > 0) && r.check_interval_ms == 0 {
        return Err(ConfigError::new(
            "workers.recycle.check_interval_ms",
            "must be greater than 0 when max_age_ms or max_rss_bytes is set",
        ));
    }
    Ok(())
}
