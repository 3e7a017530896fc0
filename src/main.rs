//! The `codexd` binary: dispatches to the command-line front end.

fn main() {
    std::process::exit(codexd::cli::run(std::env::args().skip(1).collect()));
}
