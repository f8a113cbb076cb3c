//! `tcp://`: ZMTP 3.1 over TCP, on an I/O thread that owns the far end of
//! each connection's pipe.
//!
//! The caller's thread binds the listener (so `AddrInUse` is reported at
//! once) and resolves addresses; everything after — accepting, connecting,
//! reconnecting, the handshake and moving frames between pipes and streams —
//! happens on the context's I/O thread ([`io_thread`]), one [`engine`] per
//! connection, driving the sans-IO [`crate::zmtp`] state machines.
//!
//! A connecter's pipe exists from `connect` on and survives reconnects, as in
//! libzmq (messages wait in it meanwhile); a binder gets a new pipe for each
//! accepted connection once its handshake succeeds.

mod engine;
mod io_thread;

pub(crate) use io_thread::IoThread;

use crate::transport::stream::{Listener, Target};

use crate::error::{Error, Result};
use crate::monitor;
use crate::pipe::PipeEnd;
use crate::socket::SocketShared;
use crate::SocketType;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

/// What an engine needs to know of its socket.
#[derive(Clone)]
pub(crate) struct SocketDesc {
    pub socket_id: u64,
    pub shared: Arc<SocketShared>,
    pub kind: SocketType,
    pub routing_id: Vec<u8>,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub ring_capacity: usize,
    pub reconnect_ivl: Option<Duration>,
    /// LINGER: how long unsent messages may delay closing; `None` forever.
    pub linger: Option<Duration>,
    pub reconnect_ivl_max: Option<Duration>,
    pub max_msg_size: Option<u64>,
    pub heartbeat: crate::zmtp::HeartbeatConfig,
}

/// Resolves the address part of `tcp://host:port` (`*` for any interface,
/// port `0` or `*` for an ephemeral one).
pub(crate) fn resolve(endpoint: &str, address: &str) -> Result<SocketAddr> {
    let invalid = |reason| Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| invalid("expected host:port"))?;
    let port: u16 = match port {
        "*" => 0,
        p => p.parse().map_err(|_| invalid("the port is not a number"))?,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host == "*" { "0.0.0.0" } else { host };
    (host, port)
        .to_socket_addrs()
        .map_err(|_| invalid("the host cannot be resolved"))?
        .next()
        .ok_or_else(|| invalid("the host has no address"))
}

/// Binds a listener for `desc`'s socket; returns the address bound (the
/// port chosen, for an ephemeral one) and the listener's descriptor.
/// Reports LISTENING or BIND_FAILED to the socket's monitor.
pub(crate) fn bind(
    io: &IoThread,
    endpoint: &str,
    addr: SocketAddr,
    desc: SocketDesc,
) -> Result<(SocketAddr, RawFd)> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(0) as u32;
        desc.shared
            .monitor
            .emit(monitor::EVENT_BIND_FAILED, errno, endpoint);
        match e.kind() {
            std::io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_owned()),
            _ => Error::Io(e),
        }
    })?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let fd = listener.as_raw_fd();
    desc.shared.monitor.emit(
        monitor::EVENT_LISTENING,
        fd as u32,
        &format!("tcp://{local}"),
    );
    io.listen(
        Listener::Tcp(mio::net::TcpListener::from_std(listener)),
        format!("tcp://{local}"),
        desc,
    );
    Ok((local, fd))
}

/// Starts connecting `desc`'s socket to `addr`; the engine keeps `end`.
pub(crate) fn connect(
    io: &IoThread,
    addr: SocketAddr,
    end: PipeEnd,
    desc: SocketDesc,
    endpoint: String,
) {
    io.connect(Target::Tcp(addr), Some(end), desc, endpoint);
}
