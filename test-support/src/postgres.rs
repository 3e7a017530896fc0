//! A real PostgreSQL server for tests: a fresh cluster (`initdb`, trust auth) in a temporary
//! directory, `postgres` listening on a free loopback port (retried when the port was taken
//! meanwhile), run as the unprivileged `nobody` when the tests run as root, and stopped and
//! removed when dropped. Binaries come from `CODEXD_PG_BIN` (set by `make test`), else
//! Debian's `/usr/lib/postgresql/*/bin`; a missing binary fails the test naming it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);
/// `nobody`'s uid and gid on Debian.
const NOBODY: u32 = 65534;

/// The directory holding `initdb` and `postgres`.
pub fn bin_dir() -> PathBuf {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("CODEXD_PG_BIN").map(PathBuf::from) {
        assert!(
            has(&d),
            "CODEXD_PG_BIN={} has no initdb/postgres: run `make test` (scripts/test-deps.sh installs postgresql)",
            d.display()
        );
        return d;
    }
    let mut found: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has(d))
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL's initdb and postgres are missing (CODEXD_PG_BIN is not set and /usr/lib/postgresql/*/bin has none): run `make test` (scripts/test-deps.sh installs Debian's postgresql)")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn as_server_user(cmd: &mut Command, root: bool) -> &mut Command {
    if root {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running PostgreSQL server.
pub struct Postgres {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Postgres {
    /// Creates a cluster and starts the server; panics with the server's log on failure.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "codexd-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let data = dir.join("data");
        let out = as_server_user(&mut Command::new(bin.join("initdb")), root)
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.join("initdb").display()));
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for attempt in 0..5 {
            let port = free_port();
            let log = dir.join(format!("postgres-{attempt}.log"));
            let log_file = fs::File::create(&log).unwrap();
            fs::set_permissions(&log, fs::Permissions::from_mode(0o666)).unwrap();
            let child = as_server_user(&mut Command::new(bin.join("postgres")), root)
                .arg("-D")
                .arg(&data)
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
                .arg(&dir)
                .args(["-c", "fsync=off", "-c", "logging_collector=off"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("run {}: {e}", bin.join("postgres").display()));
            let mut pg = Postgres {
                child,
                dir: dir.clone(),
                port,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let text = fs::read_to_string(&log).unwrap_or_default();
                if text.contains("ready to accept connections") {
                    return pg;
                }
                if let Ok(Some(_)) = pg.child.try_wait() {
                    if text.contains("could not bind") || text.contains("in use") {
                        break; // the port was taken meanwhile: try another
                    }
                    panic!("postgres exited: {text}");
                }
                if Instant::now() >= deadline {
                    panic!("postgres did not start in 30 s: {text}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // Forget this attempt's child (already exited) without removing the cluster.
            pg.dir = PathBuf::new();
        }
        panic!("postgres could not bind a free loopback port in 5 attempts");
    }

    /// A URL for the `postgres` database (trust auth: no password).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
