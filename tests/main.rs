//! The integration tests: every test drives the real `codexd` binary over real sockets.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test, reported by panicking with context"
)]

mod support;

mod accounts_quota;
mod api_admission;
mod api_errors;
mod api_features;
mod api_reasoning;
mod api_reasoning_encrypted;
mod api_sdk;
mod api_sdk_parse;
mod api_stream_faults;
mod api_streaming;
mod api_tools;
mod auth_keys;
mod canary;
mod canary_features;
mod canary_reasoning;
mod canary_tools;
mod chaos;
mod cli_config;
mod codex_tool_schema;
mod docs;
mod docs_api;
mod docs_metrics;
mod http_body;
mod http_framing;
mod http_listener;
mod limits_keys;
mod limits_redis;
mod logs;
mod metrics;
mod metrics_access;
mod metrics_cardinality;
mod metrics_latency;
mod metrics_scrape;
mod ops_dashboard;
mod ops_log_schema;
mod ops_log_workload;
mod ops_manifests;
mod ops_pii;
mod ops_rules;
mod ops_runbooks;
mod pool_retry;
mod queue_hangup;
mod real_codex;
mod real_codex_accounts;
mod real_codex_features;
mod real_codex_reasoning;
mod real_codex_tools;
#[path = "prometheus.rs"]
mod real_prometheus;
mod shutdown;
mod supervision;
mod thread_release;
mod trace_cmd;
mod tracing;
mod tracing_features;
mod usage_crash;
mod usage_ledger;
mod usage_postgres;
