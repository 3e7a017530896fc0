//! The integration tests: every test drives the real `codexd` binary over real sockets.

mod support;

mod cli_config;
mod logs;
mod shutdown;
mod supervision;
