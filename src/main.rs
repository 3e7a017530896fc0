//! The `codexd` binary: dispatches to the command-line front end and exits with its code.

fn main() {
    codexd::cli::exit(codexd::cli::run(std::env::args().skip(1).collect()));
}
