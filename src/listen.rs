//! Binding the listening sockets with the configured listen(2) backlog (`server.backlog`).
//! The standard library's `TcpListener::bind` always asks for 128, and actix-web's own
//! backlog setting applies only to the sockets it binds itself, so codexd binds here and
//! hands the socket over. The kernel caps the backlog at `net.core.somaxconn`.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{SocketAddr, TcpListener};

/// A non-blocking listener on `addr` (SO_REUSEADDR, like std's) with `backlog`.
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn binds_port_zero_on_loopback() {
        let l = super::bind(([127, 0, 0, 1], 0).into(), 64);
        assert!(l.is_ok_and(|l| l.local_addr().is_ok_and(|a| a.port() != 0)));
    }
}
