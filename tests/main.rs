//! The integration tests: every test drives the real `codexd` binary over real sockets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;

mod cli_config;
mod logs;
mod real_codex;
mod shutdown;
mod supervision;
mod tracing;
mod api_errors;
mod api_admission;
mod trace_cmd;
