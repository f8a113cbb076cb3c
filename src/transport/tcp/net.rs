//! Opening tcp sockets the way libzmq opens them: listeners, connects from
//! a chosen source address, and the socket options it sets on every
//! connection (through `socket2`, which knows each platform's spelling).

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

/// Pending connections a listener queues (std's choice too).
const BACKLOG: i32 = 128;

/// TCP keepalive settings: libzmq's `ZMQ_TCP_KEEPALIVE`,
/// `_KEEPALIVE_IDLE`, `_KEEPALIVE_CNT` and `_KEEPALIVE_INTVL`. -1 leaves the
/// operating system's default; the last three apply only when `on` is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keepalive {
    /// -1 (default), 0 (off) or 1 (on).
    pub on: i32,
    /// Seconds of silence before the first probe.
    pub idle: i32,
    /// Unanswered probes before the connection is dropped.
    pub cnt: i32,
    /// Seconds between probes.
    pub intvl: i32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            on: -1,
            idle: -1,
            cnt: -1,
            intvl: -1,
        }
    }
}

/// A non-blocking listener on `addr`. An IPv6 listener also takes IPv4
/// peers (dual stack), as libzmq's do with `ZMQ_IPV6`.
pub(crate) fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    // So a restarted binder gets its port back while old connections linger
    // in TIME_WAIT (std's listeners and libzmq's do the same).
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Starts a non-blocking connect to `dest`, from `source` when given.
pub(crate) fn connect(
    dest: SocketAddr,
    source: Option<SocketAddr>,
) -> io::Result<mio::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(dest), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if dest.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    if let Some(source) = source {
        // Lets several connecters share one source port, as libzmq does.
        socket.set_reuse_address(true)?;
        socket.bind(&source.into())?;
    }
    match socket.connect(&dest.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}

/// Sets what libzmq sets on every tcp connection: no Nagle delay, and the
/// keepalive settings asked for. Failures leave the OS defaults, as a
/// connection works without them.
pub(crate) fn tune(stream: &impl AsFd, keepalive: &Keepalive) {
    let socket = SockRef::from(stream);
    let _ = socket.set_tcp_nodelay(true);
    if keepalive.on != -1 {
        let _ = socket.set_keepalive(keepalive.on == 1);
    }
    if keepalive.on == 1 {
        let secs = |v: i32| u64::try_from(v).ok().map(Duration::from_secs);
        let mut params = TcpKeepalive::new();
        if let Some(idle) = secs(keepalive.idle) {
            params = params.with_time(idle);
        }
        if let Some(intvl) = secs(keepalive.intvl) {
            params = params.with_interval(intvl);
        }
        if let Ok(cnt) = u32::try_from(keepalive.cnt) {
            params = params.with_retries(cnt);
        }
        let _ = socket.set_tcp_keepalive(&params);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected_pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    #[test]
    fn keepalive_settings_reach_the_socket() {
        let (a, _b) = connected_pair();
        let before = SockRef::from(&a).tcp_keepalive_time().unwrap();
        tune(&a, &Keepalive::default());
        let s = SockRef::from(&a);
        assert!(!s.keepalive().unwrap(), "-1 leaves the OS default (off)");
        assert!(s.tcp_nodelay().unwrap());
        assert_eq!(s.tcp_keepalive_time().unwrap(), before);

        tune(
            &a,
            &Keepalive {
                on: 1,
                idle: 7,
                cnt: 3,
                intvl: 2,
            },
        );
        assert!(s.keepalive().unwrap());
        assert_eq!(s.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
        assert_eq!(s.tcp_keepalive_retries().unwrap(), 3);
        assert_eq!(s.tcp_keepalive_interval().unwrap(), Duration::from_secs(2));

        tune(
            &a,
            &Keepalive {
                on: 0,
                ..Keepalive::default()
            },
        );
        assert!(!s.keepalive().unwrap());
    }

    #[test]
    fn keepalive_on_with_defaults_changes_only_the_switch() {
        let (a, _b) = connected_pair();
        let s = SockRef::from(&a);
        let (time, retries) = (
            s.tcp_keepalive_time().unwrap(),
            s.tcp_keepalive_retries().unwrap(),
        );
        tune(
            &a,
            &Keepalive {
                on: 1,
                ..Keepalive::default()
            },
        );
        assert!(s.keepalive().unwrap());
        assert_eq!(s.tcp_keepalive_time().unwrap(), time);
        assert_eq!(s.tcp_keepalive_retries().unwrap(), retries);
    }

    #[test]
    fn connect_binds_the_source_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let src_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let source: SocketAddr = format!("127.0.0.1:{src_port}").parse().unwrap();
        let _c = connect(l.local_addr().unwrap(), Some(source)).unwrap();
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(peer, source);
    }

    #[test]
    fn ipv4_wildcard_listener_is_ipv4_only() {
        let l = listen("0.0.0.0:0".parse().unwrap()).unwrap();
        assert!(l.local_addr().unwrap().is_ipv4());
    }
}
