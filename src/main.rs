//! codexd: an OpenAI-compatible daemon over a pool of supervised Codex app-server workers.
//! This file only dispatches to the command-line front end.

mod cli;
mod config;
mod demo_worker;
mod http;
mod logging;
mod runtime;
mod shutdown;
mod wiring;

fn main() {
    std::process::exit(cli::run(std::env::args().skip(1).collect()));
}
