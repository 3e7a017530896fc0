//! The `codexd-demo-worker` binary: the demo worker on stdio, settings from `CODEXD_DEMO_*`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = codexd_demo_worker::run_stdio();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
