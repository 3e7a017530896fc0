//! codexd as a library: the CLI, configuration, HTTP front end, OpenAI wire types, logging and
//! runtime wiring. The `codexd` binary is a thin shell over [`cli::run`]; benchmarks link the
//! same code.

pub mod cli;
pub mod config;
#[cfg(feature = "demo-worker")]
pub use codexd_demo_worker as demo_worker;
pub mod http;
pub use codexd_actors::json_text;
pub mod limits;
pub mod listen;
pub mod log_lines;
pub mod logging;
pub mod memory;
pub mod nofile;
pub mod pool_launch;
pub mod runtime;
pub mod shutdown;
pub mod startup;
pub mod stdout_buffer;
pub mod telemetry;
pub mod trace_cmd;
pub mod usage;
pub mod wiring;
