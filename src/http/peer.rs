//! Noticing a client that hung up while its request waits on the worker. actix-web neither
//! cancels a handler nor tells it when the peer closes the connection, so the handler probes
//! a duplicate of the connection's socket (`recv` with `MSG_PEEK`, never consuming a byte).

use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::time::Duration;

/// How often a waiting handler looks at its socket.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// A duplicate of the connection's socket, stored as connection data by `on_connect`.
pub struct PeerSocket(std::net::TcpStream);

impl PeerSocket {
    /// Duplicates the accepted socket; `None` when the descriptor cannot be duplicated.
    pub fn new(tcp: &actix_web::rt::net::TcpStream) -> Option<Self> {
        let fd = tcp.as_fd().try_clone_to_owned().ok()?;
        let dup = std::net::TcpStream::from(fd);
        // The accepted socket is non-blocking already (the flag is shared by duplicates).
        dup.set_nonblocking(true).ok()?;
        Some(Self(dup))
    }

    /// True once the peer has closed its side or the connection failed. A client that
    /// half-closes while waiting for its answer counts as gone: HTTP clients do not do that.
    pub fn hung_up(&self) -> bool {
        let mut b = [0u8; 1];
        match self.0.peek(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
        }
    }
}

impl PeerSocket {
    /// Data bytes this end has sent on the connection so far (TCP_INFO `tcpi_bytes_sent`,
    /// Linux 4.19 and later; `None` when the kernel does not say).
    #[expect(
        unsafe_code,
        reason = "getsockopt(2) TCP_INFO is only reachable through libc"
    )]
    pub fn bytes_sent(&self) -> Option<u64> {
        use std::os::fd::AsRawFd;
        // SAFETY: tcp_info is plain old data; all-zero is a valid value.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `info` and `len` are valid and writable for the call; the kernel writes at
        // most `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                self.0.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                std::ptr::addr_of_mut!(info).cast(),
                &mut len,
            )
        };
        let end = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_sent) + 8;
        (rc == 0 && len as usize >= end).then_some(info.tcpi_bytes_sent)
    }
}

/// The probe's schedule: every `PROBE_EVERY`, the first one after a period, not at once: a
/// request answered within it costs no probe (`recv` syscall) at all.
pub fn probe() -> tokio::time::Interval {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + PROBE_EVERY, PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Resolves once the peer has hung up; never resolves without a socket to probe.
pub async fn hang_up(peer: Option<&PeerSocket>) {
    let Some(peer) = peer else {
        return std::future::pending().await;
    };
    let mut tick = probe();
    loop {
        tick.tick().await;
        if peer.hung_up() {
            return;
        }
    }
}
