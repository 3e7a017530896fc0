//! The `codexd` binary: dispatches to the command-line front end and exits with its code.

/// mimalloc: its per-thread heaps free a block allocated on another thread without a lock.
/// With glibc, a request's blocks (built on an HTTP thread, dropped on the System arbiter and
/// back) contended for the arena locks: 6 futex calls per request at c=64.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    codexd::cli::exit(codexd::cli::run(std::env::args().skip(1).collect()));
}
