//! `tcp://`: ZMTP 3.1 over TCP, on an I/O thread that owns the far end of
//! each connection's pipe.
//!
//! The caller's thread binds the listener (so `AddrInUse` is reported at
//! once) and checks connect addresses ([`address`]); everything after —
//! resolving host names, accepting, connecting, reconnecting, the handshake
//! and moving frames between pipes and streams — happens off the caller's
//! thread: on the context's I/O thread ([`io_thread`]), one [`engine`] per
//! connection, driving the sans-IO [`crate::zmtp`] state machines.
//!
//! A connecter's pipe exists from `connect` on and survives reconnects, as in
//! libzmq (messages wait in it meanwhile); a binder gets a new pipe for each
//! accepted connection once its handshake succeeds.

mod accept_filter;
mod address;
mod engine;
mod fault;
mod io_thread;
mod net;
pub(crate) mod sched;
mod socks;

pub(crate) use accept_filter::AcceptFilter;
pub(crate) use address::{bind_address, connect_address, ConnectAddress};
pub(crate) use io_thread::IoThread;
pub(crate) use net::{Keepalive, NetOptions};
pub(crate) use socks::SocksDest;

use crate::transport::stream::{Listener, Target};

use crate::error::{Error, Result};
use crate::monitor;
use crate::pipe::PipeEnd;
use crate::socket::SocketShared;
use crate::zmtp::MechanismConfig;
use crate::SocketType;
use std::net::SocketAddr;
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
    /// Security mechanism and role (NULL, or PLAIN client or server).
    pub mechanism: MechanismConfig,
    /// `ZMQ_ZAP_DOMAIN` (empty: none).
    pub zap_domain: String,
    /// `ZMQ_ZAP_ENFORCE_DOMAIN`.
    pub zap_enforce_domain: bool,
    /// The socket's context, where its engines find the ZAP handler.
    pub context: std::sync::Weak<crate::context::ContextInner>,
    /// CONNECT_TIMEOUT: give up a connect attempt after this; `None` waits
    /// as long as the OS does.
    pub connect_timeout: Option<Duration>,
    /// HANDSHAKE_IVL: drop a connection whose handshake takes longer;
    /// `None` never does.
    pub handshake_ivl: Option<Duration>,
    pub keepalive: Keepalive,
    /// SNDBUF, RCVBUF, TOS, BACKLOG, TCP_MAXRT, BINDTODEVICE.
    pub net: NetOptions,
    /// ZMQ_METADATA: `X-` properties for our READY.
    pub metadata: Vec<(String, Vec<u8>)>,
    /// STREAM_NOTIFY: a STREAM socket's connections say when they come up
    /// and go, with an empty message.
    pub stream_notify: bool,
    /// No ZMTP: bytes in, bytes out (STREAM, ROUTER_RAW).
    pub raw: bool,
    /// A thread-safe socket's: where its writers wait for room in the
    /// rings its connections' engines send from (each engine makes its
    /// connection's ring, unless the socket did: see `threadsafe::remote`).
    pub room: Option<Arc<crate::threadsafe::pipe::Room>>,
}

/// Binds a listener for `desc`'s socket; returns the address bound (the
/// port chosen, for an ephemeral one) and the listener's descriptor.
/// Reports LISTENING or BIND_FAILED to the socket's monitor.
///
/// With `use_fd` (ZMQ_USE_FD) it listens on a duplicate of that
/// descriptor, and `addr` is not used.
pub(crate) fn bind(
    io: &IoThread,
    endpoint: &str,
    addr: SocketAddr,
    desc: SocketDesc,
    use_fd: Option<RawFd>,
    filters: Vec<AcceptFilter>,
) -> Result<(SocketAddr, RawFd)> {
    let listening = match use_fd {
        Some(fd) => crate::transport::use_fd::adopt(fd, crate::transport::use_fd::Family::Ip)
            .map(std::net::TcpListener::from),
        None => net::listen(addr, &desc.net),
    };
    let listener = listening.map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(0) as u32;
        desc.shared
            .monitor
            .emit(monitor::EVENT_BIND_FAILED, errno, endpoint);
        match e.kind() {
            std::io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_owned()),
            _ => Error::Io(e),
        }
    })?;
    let local = listener.local_addr()?;
    let fd = listener.as_raw_fd();
    desc.shared.monitor.emit(
        monitor::EVENT_LISTENING,
        fd as u32,
        &format!("tcp://{local}"),
    );
    io.listen(
        Listener::Tcp(mio::net::TcpListener::from_std(listener), filters),
        format!("tcp://{local}"),
        desc,
    );
    Ok((local, fd))
}

/// Starts connecting `desc`'s socket to `addr`; the engine keeps `end`
/// (and `outbound`, a thread-safe socket's ring it sends from).
pub(crate) fn connect(
    io: &IoThread,
    addr: ConnectAddress,
    end: PipeEnd,
    outbound: Option<crate::threadsafe::Outbound>,
    desc: SocketDesc,
    endpoint: String,
) {
    io.connect(Target::Tcp(addr), Some(end), outbound, desc, endpoint);
}
