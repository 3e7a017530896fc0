//! Start-up failures and exit codes: `StartupError` owns each failure's `error_code` (the one
//! `startup_failed` line) and its exit code (0 clean, 64 bad configuration or arguments, 1 any
//! other start-up failure). The command line and the runtime both read them from here.

use codexd_actors::events::{Event, RuntimeEvent};

/// A clean exit.
pub const EXIT_OK: i32 = 0;
/// Invalid configuration or arguments.
pub const EXIT_USAGE: i32 = 64;
/// Any other start-up failure, or a shutdown forced by a second signal.
pub const EXIT_FAILURE: i32 = 1;

/// A start-up failure's `error_code` (the `startup_failed` line) and exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartupCode {
    pub error_code: &'static str,
    pub exit: i32,
}

/// Why `serve` could not start; each carries the detail for the `error` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupError {
    /// The configuration failed to load or validate.
    InvalidConfig(String),
    WorkerBinaryMissing(String),
    MetricsInitFailed(String),
    BindFailed(String),
    TracingInitFailed(String),
    SignalSetupFailed(String),
    /// The usage ledger's store could not be opened.
    UsageLedgerFailed(String),
}

impl StartupError {
    /// The `error_code` of the `startup_failed` line and the exit code (docs/operations.md).
    pub const fn code(&self) -> StartupCode {
        let (error_code, exit) = match self {
            StartupError::InvalidConfig(_) => ("invalid_config", EXIT_USAGE),
            StartupError::WorkerBinaryMissing(_) => ("worker_binary_missing", EXIT_FAILURE),
            StartupError::MetricsInitFailed(_) => ("metrics_init_failed", EXIT_FAILURE),
            StartupError::BindFailed(_) => ("bind_failed", EXIT_FAILURE),
            StartupError::TracingInitFailed(_) => ("tracing_init_failed", EXIT_FAILURE),
            StartupError::SignalSetupFailed(_) => ("signal_setup_failed", EXIT_FAILURE),
            StartupError::UsageLedgerFailed(_) => ("usage_ledger_failed", EXIT_FAILURE),
        };
        StartupCode { error_code, exit }
    }

    fn detail(self) -> String {
        match self {
            StartupError::InvalidConfig(e)
            | StartupError::WorkerBinaryMissing(e)
            | StartupError::MetricsInitFailed(e)
            | StartupError::BindFailed(e)
            | StartupError::TracingInitFailed(e)
            | StartupError::SignalSetupFailed(e)
            | StartupError::UsageLedgerFailed(e) => e,
        }
    }

    /// Writes the one `startup_failed` line and returns the exit code.
    pub fn report(self, logger: &slog::Logger) -> i32 {
        let code = self.code();
        codexd_actors::bus::stamp(
            logger,
            Event::Runtime(RuntimeEvent::StartupFailed {
                error: self.detail(),
                error_code: code.error_code,
            }),
        );
        code.exit
    }
}

impl StartupError {
    /// One of each variant (with an empty detail), for docs and tests.
    pub fn every() -> [StartupError; 7] {
        [
            StartupError::InvalidConfig(String::new()),
            StartupError::WorkerBinaryMissing(String::new()),
            StartupError::MetricsInitFailed(String::new()),
            StartupError::BindFailed(String::new()),
            StartupError::TracingInitFailed(String::new()),
            StartupError::SignalSetupFailed(String::new()),
            StartupError::UsageLedgerFailed(String::new()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_invalid_config_exits_64() {
        let all = StartupError::every();
        let codes: std::collections::BTreeSet<_> =
            all.iter().map(|e| e.code().error_code).collect();
        assert_eq!(codes.len(), all.len());
        for e in &all {
            let want = if matches!(e, StartupError::InvalidConfig(_)) {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            };
            assert_eq!(e.code().exit, want, "{e:?}");
        }
    }
}
