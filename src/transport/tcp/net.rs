//! Opening tcp sockets the way libzmq opens them: listeners, connects from
//! a chosen source address, and the socket options it sets on every
//! connection (through `socket2`, which knows each platform's spelling).

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

pub(crate) use crate::socket::NetOptions;

impl NetOptions {
    /// What libzmq's `tcp_open_socket` sets on a new socket, listener or
    /// connecter, before it binds or connects: the type of service, the
    /// device (whose failure fails the socket, as in libzmq) and the buffer
    /// sizes (Linux doubles what it is given, and accepted connections
    /// inherit a listener's).
    fn prepare(&self, socket: &Socket, ipv6: bool) -> io::Result<()> {
        set_tos(socket, self.tos, ipv6);
        if !self.device.is_empty() {
            socket.bind_device(Some(self.device.as_bytes()))?;
        }
        // libzmq asserts these succeed; a value the kernel clamps still
        // succeeds, so failures here leave the OS's size.
        if let Ok(n) = usize::try_from(self.sndbuf) {
            let _ = socket.set_send_buffer_size(n);
        }
        if let Ok(n) = usize::try_from(self.rcvbuf) {
            let _ = socket.set_recv_buffer_size(n);
        }
        Ok(())
    }
}

/// Sets the type of service: IP_TOS, and IPV6_TCLASS on an IPv6 socket
/// (which may carry IPv4 too), as libzmq's `set_ip_type_of_service`.
/// 0 leaves the OS's. Failures leave it too: traffic flows without it.
fn set_tos(socket: &Socket, tos: i32, ipv6: bool) {
    let Ok(tos) = u32::try_from(tos) else { return };
    if tos == 0 {
        return;
    }
    let _ = socket.set_tos_v4(tos);
    if ipv6 {
        let _ = socket.set_tclass_v6(tos);
    }
}

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
pub(crate) fn listen(addr: SocketAddr, opts: &NetOptions) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    opts.prepare(&socket, addr.is_ipv6())?;
    // So a restarted binder gets its port back while old connections linger
    // in TIME_WAIT (std's listeners and libzmq's do the same).
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(opts.backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Starts a non-blocking connect to `dest`, from `source` when given.
pub(crate) fn connect(
    dest: SocketAddr,
    source: Option<SocketAddr>,
    opts: &NetOptions,
) -> io::Result<mio::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(dest), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if dest.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    opts.prepare(&socket, dest.is_ipv6())?;
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

/// Sets what libzmq sets on every tcp connection: no Nagle delay, the
/// keepalive settings asked for, TCP_MAXRT (TCP_USER_TIMEOUT), and on an
/// accepted one the type of service (a listener's does not carry over).
/// Failures leave the OS defaults, as a connection works without them.
pub(crate) fn tune(stream: &impl AsFd, keepalive: &Keepalive, opts: &NetOptions, accepted: bool) {
    let socket = SockRef::from(stream);
    let _ = socket.set_tcp_nodelay(true);
    if accepted {
        let ipv6 = socket.local_addr().is_ok_and(|a| a.is_ipv6());
        set_tos(&socket, opts.tos, ipv6);
    }
    if let Ok(ms @ 1..) = u32::try_from(opts.maxrt) {
        let _ = socket.set_tcp_user_timeout(Some(Duration::from_millis(ms.into())));
    }
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
        tune(&a, &Keepalive::default(), &NetOptions::default(), false);
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
            &NetOptions::default(),
            false,
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
            &NetOptions::default(),
            false,
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
            &NetOptions::default(),
            false,
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
        let _c = connect(
            l.local_addr().unwrap(),
            Some(source),
            &NetOptions::default(),
        )
        .unwrap();
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(peer, source);
    }

    #[test]
    fn ipv4_wildcard_listener_is_ipv4_only() {
        let l = listen("0.0.0.0:0".parse().unwrap(), &NetOptions::default()).unwrap();
        assert!(l.local_addr().unwrap().is_ipv4());
    }
}
