//! Socket options and their libzmq defaults.

use super::security::Security;
use std::time::Duration;

/// How a blocked socket waits for its peers.
///
/// ```
/// use zeroring::{Context, SocketType, WaitStrategy};
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull).unwrap();
/// // Pinned-core users trade a core for the lowest latency:
/// pull.set_wait_strategy(WaitStrategy::BusySpin).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Spin on the rings without ever sleeping: lowest latency, one core busy.
    BusySpin,
    /// Spin for `spin`, yield the core for as long again, then sleep on the
    /// doorbell until a peer rings it. A socket whose peers are all remote
    /// over tcp sleeps at once: its messages come from an I/O thread after a
    /// network round trip, and that thread may need the core a spin holds.
    SpinThenPark {
        /// How long to spin before yielding.
        spin: Duration,
    },
    /// Sleep on the doorbell at once: no CPU while waiting, a system call per wake-up.
    Park,
}

impl Default for WaitStrategy {
    /// Spin 10 µs, yield 10 µs, then park: a ping-pong stays in the spin phase.
    fn default() -> Self {
        WaitStrategy::SpinThenPark {
            spin: Duration::from_micros(10),
        }
    }
}

/// Default bytes in each of a pipe's two rings.
pub const DEFAULT_RING_CAPACITY: usize = 256 * 1024;

/// The kernel-level options libzmq sets on its tcp sockets, as the socket
/// had them at `bind`/`connect`: ZMQ_SNDBUF, RCVBUF, TOS, BACKLOG,
/// TCP_MAXRT and BINDTODEVICE (libzmq's defaults: -1, -1, 0, 100, 0, none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetOptions {
    /// SO_SNDBUF in bytes; -1 leaves the OS's.
    pub sndbuf: i32,
    /// SO_RCVBUF in bytes; -1 leaves the OS's.
    pub rcvbuf: i32,
    /// IP_TOS (and IPV6_TCLASS on IPv6 sockets); 0 leaves the OS's.
    pub tos: i32,
    /// listen(2)'s backlog, for tcp and ipc listeners.
    pub backlog: i32,
    /// TCP_USER_TIMEOUT in milliseconds; 0 leaves the OS's.
    pub maxrt: i32,
    /// SO_BINDTODEVICE's interface; empty for none.
    pub device: String,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            sndbuf: -1,
            rcvbuf: -1,
            tos: 0,
            backlog: 100,
            maxrt: 0,
            device: String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub sndhwm: i32,
    pub rcvhwm: i32,
    pub sndtimeo: i32,
    pub rcvtimeo: i32,
    pub linger: i32,
    pub wait: WaitStrategy,
    pub ring_capacity: usize,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub heartbeat_ivl: i32,
    pub heartbeat_timeout: i32,
    pub heartbeat_ttl: i32,
    pub maxmsgsize: i64,
    pub ipv6: bool,
    pub connect_timeout: i32,
    pub handshake_ivl: i32,
    pub tcp_keepalive: i32,
    pub tcp_keepalive_idle: i32,
    pub tcp_keepalive_cnt: i32,
    pub tcp_keepalive_intvl: i32,
    pub security: Security,
    /// `ZMQ_IPC_FILTER_UID`/`GID`/`PID`: who an ipc listener bound from now
    /// on admits (empty: see [`IpcFilters`]).
    #[cfg(not(loom))]
    pub ipc_filters: crate::transport::stream::IpcFilters,
    /// `ZMQ_TCP_ACCEPT_FILTER`: the networks a tcp listener bound from now
    /// on admits peers from (empty: any).
    #[cfg(not(loom))]
    pub tcp_accept_filters: Vec<crate::transport::tcp::AcceptFilter>,
    /// `ZMQ_STREAM_NOTIFY` (STREAM): empty messages at connect and disconnect.
    pub stream_notify: bool,
    /// `ZMQ_ROUTER_RAW`: a ROUTER whose peers are raw byte streams.
    pub router_raw: bool,
    /// What is set on the kernel's sockets (tcp; the backlog for ipc too).
    pub net: NetOptions,
    /// `ZMQ_AFFINITY`: which I/O threads (bit i: thread i; 0: any) the
    /// socket's first tcp or ipc endpoint may pick.
    #[cfg_attr(loom, allow(dead_code))]
    pub affinity: u64,
    /// `ZMQ_USE_FD`: `bind` listens on this descriptor of the
    /// application's (a copy of it) instead of making one; -1 for none.
    #[cfg_attr(loom, allow(dead_code))]
    pub use_fd: i32,
    /// `ZMQ_METADATA`: the `X-` properties our READY carries.
    #[cfg_attr(loom, allow(dead_code))]
    pub metadata: Vec<(String, Vec<u8>)>,
    /// `ZMQ_SOCKS_PROXY`: set, tcp connects are refused (no SOCKS client).
    #[cfg_attr(loom, allow(dead_code))]
    pub socks_proxy: String,
    /// Options a `zmq`-crate program sets that zeroring only keeps.
    pub stored: crate::compat::StoredOptions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sndhwm: 1000,
            rcvhwm: 1000,
            sndtimeo: -1,
            rcvtimeo: -1,
            linger: -1,
            wait: WaitStrategy::default(),
            ring_capacity: DEFAULT_RING_CAPACITY,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            heartbeat_ivl: 0,
            heartbeat_timeout: -1,
            heartbeat_ttl: 0,
            maxmsgsize: -1,
            ipv6: false,
            connect_timeout: 0,
            handshake_ivl: 30_000,
            tcp_keepalive: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_intvl: -1,
            security: Security::default(),
            #[cfg(not(loom))]
            ipc_filters: Default::default(),
            #[cfg(not(loom))]
            tcp_accept_filters: Vec::new(),
            stream_notify: true,
            router_raw: false,
            net: NetOptions::default(),
            affinity: 0,
            use_fd: -1,
            metadata: Vec::new(),
            socks_proxy: String::new(),
            stored: Default::default(),
        }
    }
}
