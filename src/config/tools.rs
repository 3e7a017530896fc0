//! The `[tools]` section: client tools — how long a parked turn waits for its outputs, how
//! many may wait per worker, what to do with hosted tool types codexd cannot serve, and the
//! bounded in-memory store that resolves `previous_response_id`.

use serde::{Deserialize, Serialize};

/// What to do with a hosted tool type (`web_search`, `file_search`, `mcp`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostedTools {
    /// 400 naming the type.
    Reject,
    /// Drop the entry, count it (`codexd_hosted_tools_ignored_total`), serve the rest.
    Ignore,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tools {
    /// A parked turn not continued within this time is interrupted and discarded.
    pub parked_ttl_ms: u64,
    /// Parked turns per worker; beyond it a turn's calls still reach the client, but its
    /// follow-up is replayed.
    pub max_parked_per_worker: u32,
    pub hosted_tools: HostedTools,
    /// Responses kept in memory for `previous_response_id` (0 disables the store).
    pub response_store_size: u32,
    /// How long a stored response can be referred to.
    pub response_store_ttl_ms: u64,
}

impl Default for Tools {
    fn default() -> Self {
        Self {
            parked_ttl_ms: 300_000,
            max_parked_per_worker: 16,
            hosted_tools: HostedTools::Reject,
            response_store_size: 1000,
            response_store_ttl_ms: 3_600_000,
        }
    }
}
