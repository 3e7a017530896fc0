//! How the pool's slots are started: one `SpawnSpec` per slot, each with its account's
//! `CODEX_HOME` and environment (`[[accounts]]`, or the implicit `default` account), and the
//! recycling and sampling settings the supervisor gets.

use crate::config::Config;
use codexd_actors::worker::process::{Launch, SpawnSpec, Spawned};
use codexd_actors::worker::recycle::RecyclePolicy;
use codexd_actors::worker::supervisor::PoolSettings;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Starts each slot with its account's spec.
#[derive(Debug, Clone)]
pub struct PoolLaunch {
    slots: Vec<SpawnSpec>,
}

fn non_empty(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

impl PoolLaunch {
    pub fn new(c: &Config, program: &Path) -> Self {
        let w = &c.workers;
        let slots = c
            .pool_accounts()
            .into_iter()
            .flat_map(|a| {
                let mut env = w.env.clone();
                env.extend(a.env.clone());
                let spec = SpawnSpec {
                    program: program.to_path_buf(),
                    args: w.args.clone(),
                    env_allowlist: w.env_allowlist.clone(),
                    env,
                    codex_home: non_empty(&a.codex_home),
                    cwd: non_empty(&w.cwd),
                };
                std::iter::repeat_n(spec, a.workers as usize)
            })
            .collect();
        Self { slots }
    }
}

impl Launch for PoolLaunch {
    fn launch(&self) -> std::io::Result<Spawned> {
        self.launch_slot(0)
    }

    fn launch_slot(&self, slot: usize) -> std::io::Result<Spawned> {
        match self.slots.get(slot) {
            Some(spec) => spec.launch(),
            None => Err(std::io::Error::other("no such worker slot")),
        }
    }
}

/// Where Codex keeps its home without `CODEX_HOME`: `$HOME/.codex`.
fn default_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex"))
}

/// `[workers.recycle]` and `[quota] codex_home_sample_ms` for the supervisor.
pub fn pool_settings(c: &Config) -> PoolSettings {
    let r = &c.workers.recycle;
    let some = |v: u64| (v > 0).then_some(v);
    let ms = Duration::from_millis;
    PoolSettings {
        recycle: RecyclePolicy {
            max_turns: some(r.max_turns),
            max_age: some(r.max_age_ms).map(ms),
            max_rss_bytes: some(r.max_rss_bytes),
            check_interval: some(r.check_interval_ms).map(ms),
        },
        codex_homes: c
            .pool_accounts()
            .into_iter()
            .map(|a| (a.name, non_empty(&a.codex_home).or_else(default_home)))
            .collect(),
        home_sample: some(c.quota.codex_home_sample_ms).map(ms),
    }
}
