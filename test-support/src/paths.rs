//! Where things are: the repository root, the `codexd` binary under test and the scratch
//! directories, found from the running test or benchmark executable.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The repository root (the `codexd` package's manifest directory).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The Cargo profile directory the running executable was built into (`target/debug` for
/// `target/debug/deps/integration-…`, `target/release` for `target/release/codexd-bench`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    let dir = exe.parent().expect("executable directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The `codexd` binary under test: `CODEXD_BIN` when set, else the one Cargo built next to
/// the running test executable (Cargo builds the package's binaries for its integration
/// tests).
pub fn codexd_bin() -> PathBuf {
    match std::env::var_os("CODEXD_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => profile_dir().join("codexd"),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh scratch directory under `target/tmp`, unique per call.
pub fn scratch_dir(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let root = profile_dir()
        .parent()
        .map_or_else(std::env::temp_dir, |t| t.join("tmp"));
    let dir = root.join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}
