//! A real `redis-server` for a test: on 127.0.0.1, a free port, no persistence, stopped (and
//! its process reaped) when dropped. The binary comes from `CODEXD_REDIS_SERVER` (written to
//! `.cache/test-env` by scripts/test-deps.sh) or `PATH`; a missing binary fails the test
//! saying so.

use crate::eventually;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RedisServer {
    child: Option<Child>,
    pub addr: SocketAddr,
}

fn binary() -> String {
    if let Ok(p) = std::env::var("CODEXD_REDIS_SERVER") {
        if !p.is_empty() {
            return p;
        }
    }
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file());
    match found {
        Some(p) => p.display().to_string(),
        None => panic!(
            "redis-server is missing: run scripts/test-deps.sh (make test installs Debian's \
             redis-server) or set CODEXD_REDIS_SERVER"
        ),
    }
}

fn ping(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").is_ok()
        && s.read(&mut buf)
            .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}

impl RedisServer {
    /// Starts a server and waits until it answers PING.
    pub fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bin = binary();
        let child = Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let server = RedisServer {
            child: Some(child),
            addr,
        };
        eventually(
            Duration::from_secs(10),
            "redis-server answering PING",
            || ping(addr).then_some(()),
        );
        server
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Kills the server and waits until its port refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
