//! The integration tests' view of the shared harness (`codexd-test-support`): the same module
//! paths the tests have always used, plus the path of the binary Cargo built for them.

pub use codexd_test_support::{
    codex_env, eventually, http, mock_provider, otlp, process_alive, prometheus, redis, signal,
};

pub mod sdk;

/// Starting the real daemon with a generated config, reading its log lines, and stopping it.
pub mod daemon {
    pub use codexd_test_support::config::{Config, KEY};
    pub use codexd_test_support::daemon::{serve_to_exit, Daemon};
    pub use codexd_test_support::paths::scratch_dir;

    /// The `codexd` binary Cargo built for these tests (the launcher finds the same one).
    pub const BIN: &str = env!("CARGO_BIN_EXE_codexd");
}
