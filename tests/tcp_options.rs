//! tcp endpoint forms and connection options, each observed from outside
//! zeroring: IPv6 and dual stack, source addresses, host names resolved off
//! the caller's thread, CONNECT_TIMEOUT, HANDSHAKE_IVL and TCP keepalive
//! (read back from the kernel's socket table).

mod common;
#[path = "support/libzmq.rs"]
mod libzmq;
#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;

use common::*;
use libzmq::*;
use raw_zmtp::Peer;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};
use zeroring::{Context, SocketType::*};

/// Whether this machine has an IPv6 loopback to test with.
fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

fn addr_of(endpoint: &str) -> SocketAddr {
    endpoint.trim_start_matches("tcp://").parse().unwrap()
}

#[test]
fn ipv6_needs_the_option_and_star_is_dual_stack_with_it() {
    let ctx = Context::new();
    // Without IPV6: no IPv6 addresses, and `*` is IPv4 only.
    let pull = socket(&ctx, Pull);
    assert!(matches!(
        pull.bind("tcp://[::1]:0"),
        Err(zeroring::Error::InvalidEndpoint { .. })
    ));
    // Connect takes it, as libzmq's does, and each attempt fails before
    // it reaches the network (libzmq's resolver refuses it the same way).
    let push = socket(&ctx, Push);
    let mon = monitor(&ctx, &push, "ipv6-without-the-option");
    push.connect("tcp://[::1]:5555").unwrap();
    attempts_fail_before_connecting(&mon);
    pull.bind("tcp://*:0").unwrap();
    let v4 = addr_of(&pull.get_last_endpoint().unwrap().unwrap());
    assert_eq!(v4.ip(), IpAddr::from([0, 0, 0, 0]));
    let push = socket(&ctx, Push);
    push.connect(&format!("tcp://127.0.0.1:{}", v4.port()))
        .unwrap();
    push.send("over IPv4", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"over IPv4");
    if !has_ipv6_loopback() {
        eprintln!("no IPv6 loopback here: the IPv6 half is skipped");
        return;
    }
    assert!(
        TcpStream::connect(("::1", v4.port())).is_err(),
        "an IPv4-only bind took an IPv6 connection"
    );

    // With IPV6: `*` takes both families, and [::1] works both ways.
    let pull6 = socket(&ctx, Pull);
    pull6.set_ipv6(true).unwrap();
    pull6.bind("tcp://*:0").unwrap();
    let any6 = addr_of(&pull6.get_last_endpoint().unwrap().unwrap());
    assert!(any6.is_ipv6(), "{any6}");
    for (host, msg) in [("127.0.0.1", "via IPv4"), ("[::1]", "via IPv6")] {
        let push = socket(&ctx, Push);
        push.set_ipv6(true).unwrap();
        push.connect(&format!("tcp://{host}:{}", any6.port()))
            .unwrap();
        push.send(msg, 0).unwrap();
        assert_eq!(pull6.recv_bytes(0).unwrap(), msg.as_bytes());
    }

    // IPv6 with libzmq, each side binding [::1].
    let zctx = zmq::Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ipv6(true).unwrap();
    pull.bind("tcp://[::1]:0").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    assert!(ep.starts_with("tcp://[::1]:"), "{ep}");
    let zpush = zmq_socket(&zctx, zmq::PUSH);
    zpush.set_ipv6(true).unwrap();
    zpush.connect(&ep).unwrap();
    zpush.send("libzmq over IPv6", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"libzmq over IPv6");
    let zpull = zmq_socket(&zctx, zmq::PULL);
    zpull.set_ipv6(true).unwrap();
    zpull.bind("tcp://[::1]:*").unwrap();
    let push = socket(&ctx, Push);
    push.set_ipv6(true).unwrap();
    push.connect(&zpull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    push.send("zeroring over IPv6", 0).unwrap();
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"zeroring over IPv6");
}

#[test]
fn connect_from_a_source_address() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = listener.local_addr().unwrap();
    // An IP with any port: the whole 127/8 is loopback on Linux.
    let push = socket(&ctx, Push);
    push.connect(&format!("tcp://127.0.0.2:0;127.0.0.1:{}", dest.port()))
        .unwrap();
    let (_conn, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), IpAddr::from([127, 0, 0, 2]));
    // A fixed port (found free a moment ago).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let push = socket(&ctx, Push);
    push.connect(&format!("tcp://127.0.0.1:{port};127.0.0.1:{}", dest.port()))
        .unwrap();
    let (_conn, peer) = listener.accept().unwrap();
    assert_eq!(peer, SocketAddr::from(([127, 0, 0, 1], port)));
    // An interface's name: its first IPv4 address (lo: 127.0.0.1).
    let push = socket(&ctx, Push);
    push.connect(&format!("tcp://lo:*;127.0.0.1:{}", dest.port()))
        .unwrap();
    let (_conn, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), IpAddr::from([127, 0, 0, 1]));
    // What is neither (a DNS name: libzmq looks none up for a source), or
    // has no port, passes connect, as in libzmq, and fails each attempt
    // before any connection is made.
    for (i, source) in ["localhost:0", "eth0"].into_iter().enumerate() {
        let push = socket(&ctx, Push);
        let mon = monitor(&ctx, &push, &format!("bad-source-{i}"));
        push.connect(&format!("tcp://{source};127.0.0.1:{}", dest.port()))
            .unwrap();
        attempts_fail_before_connecting(&mon);
    }
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "a bad source connected");
}

/// A connecter's attempts fail before a connection is tried: retried (a
/// few times, RECONNECT_IVL apart), never connecting.
fn attempts_fail_before_connecting(mon: &zeroring::Socket) {
    use zeroring::monitor::Event;
    for _ in 0..3 {
        assert_eq!(next_event(mon).event, Event::ConnectRetried);
    }
}

#[test]
fn host_names_are_resolved_by_the_connecter() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let port = addr_of(&pull.get_last_endpoint().unwrap().unwrap()).port();
    let push = socket(&ctx, Push);
    push.connect(&format!("tcp://localhost:{port}")).unwrap();
    push.send("by name", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"by name");

    // A name that never resolves is no error for connect (as in libzmq):
    // resolving happens later, off the caller's thread. (A 64-octet label
    // is refused by the resolver itself, so no query leaves the machine.)
    let nowhere = socket(&ctx, Push);
    nowhere.set_reconnect_ivl(-1).unwrap();
    let name = format!("{}.invalid", "a".repeat(64));
    nowhere.connect(&format!("tcp://{name}:{port}")).unwrap();
    // Only the address's form is checked at once.
    assert!(matches!(
        nowhere.connect(&format!("tcp://bad_name!:{port}")),
        Err(zeroring::Error::InvalidEndpoint { .. })
    ));
}

/// One line of the kernel's tcp socket table (`/proc/net/tcp{,6}`).
#[derive(Debug)]
struct KernelSocket {
    local: SocketAddr,
    remote: SocketAddr,
    state: u8,
    /// The active timer: 0 none, 1 retransmit, 2 keepalive, ...
    timer: u8,
    /// Clock ticks (1/100 s) until it fires.
    ticks: u64,
    /// Unique to the socket, unlike its ports.
    inode: u64,
}

fn kernel_sockets() -> Vec<KernelSocket> {
    fn addr(field: &str) -> SocketAddr {
        let (ip, port) = field.split_once(':').unwrap();
        let port = u16::from_str_radix(port, 16).unwrap();
        // Each 32-bit word is printed in host order.
        let bytes: Vec<u8> = (0..ip.len() / 8)
            .flat_map(|i| {
                u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16)
                    .unwrap()
                    .to_ne_bytes()
            })
            .collect();
        let ip: IpAddr = match bytes.len() {
            4 => <[u8; 4]>::try_from(bytes).unwrap().into(),
            _ => <[u8; 16]>::try_from(bytes).unwrap().into(),
        };
        SocketAddr::new(ip, port)
    }
    let mut all = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (timer, ticks) = f[5].split_once(':').unwrap();
            all.push(KernelSocket {
                local: addr(f[1]),
                remote: addr(f[2]),
                state: u8::from_str_radix(f[3], 16).unwrap(),
                timer: u8::from_str_radix(timer, 16).unwrap(),
                ticks: u64::from_str_radix(ticks, 16).unwrap(),
                inode: f[9].parse().unwrap(),
            });
        }
    }
    all
}

/// Waits (at most [`BOUND`]) until the kernel's socket table shows what
/// `found` looks for. The table is the only place this is visible, so it is
/// read again every few milliseconds.
fn wait_for_kernel<T>(what: &str, mut found: impl FnMut(&[KernelSocket]) -> Option<T>) -> T {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(v) = found(&kernel_sockets()) {
            return v;
        }
        assert!(Instant::now() < deadline, "never saw {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// CONNECT_TIMEOUT gives up a connect the peer never answers and tries
/// again: a listener whose accept queue is full drops new SYNs, so without
/// the timeout one attempt would sit in SYN_SENT for minutes.
#[test]
fn connect_timeout_gives_up_and_retries() {
    use socket2::{Domain, Socket, Type};
    const SYN_SENT: u8 = 2;
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let dest = listener.local_addr().unwrap().as_socket().unwrap();
    // Fills the accept queue (it is never accepted).
    let _filler = TcpStream::connect(dest).unwrap();

    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_connect_timeout(100).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&format!("tcp://{dest}")).unwrap();
    let mut attempts = BTreeSet::new();
    wait_for_kernel("a second connect attempt", |all| {
        attempts.extend(
            all.iter()
                .filter(|s| s.remote == dest && s.state == SYN_SENT)
                .map(|s| s.inode),
        );
        (attempts.len() >= 2).then_some(())
    });
}

/// HANDSHAKE_IVL closes a connection whose peer never completes the
/// handshake; a connecter then tries again.
#[test]
fn handshake_ivl_drops_a_peer_that_never_finishes() {
    let ctx = Context::new();
    // zeroring binds; the raw peer connects and says nothing.
    let pull = socket(&ctx, Pull);
    pull.set_handshake_ivl(200).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    let mut peer = Peer::new(TcpStream::connect(addr_of(&ep)).unwrap(), BOUND);
    let start = Instant::now();
    let got = peer.read_to_eof().expect("zeroring never closed it");
    // Only the signature: the rest of the greeting waits for the peer's,
    // as libzmq's does.
    assert_eq!(got.len(), 10, "only zeroring's signature");
    assert!(start.elapsed() >= Duration::from_millis(150));

    // zeroring connects; the raw peer accepts, sends half a greeting.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let push = socket(&ctx, Push);
    push.set_handshake_ivl(200).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
        .unwrap();
    let mut peer = Peer::new(listener.accept().unwrap().0, BOUND);
    peer.send(&raw_zmtp::greeting()[..20]);
    peer.read_to_eof().expect("zeroring never closed it");
    // ...and it tries again.
    let _again = listener.accept().unwrap();
}

/// TCP_KEEPALIVE and TCP_KEEPALIVE_IDLE reach both connected and accepted
/// sockets: the kernel runs a keepalive timer due within the idle time
/// (CNT and INTVL, which the table does not show, are read back by a unit
/// test of the code that sets all four).
#[test]
fn tcp_keepalive_options_reach_the_kernel() {
    const RETRANSMIT_TIMER: u8 = 1;
    const KEEPALIVE_TIMER: u8 = 2;
    let ctx = Context::new();
    // Once what was sent is acknowledged: until then the retransmit timer
    // shows instead.
    let keepalive_of = |local: SocketAddr, remote: SocketAddr| {
        wait_for_kernel("the keepalive timer", |all| {
            all.iter()
                .find(|s| s.local == local && s.remote == remote && s.timer == KEEPALIVE_TIMER)
                .map(|s| s.ticks)
        })
    };
    let timer_of = |local: SocketAddr, remote: SocketAddr| {
        wait_for_kernel("the connection at rest", |all| {
            all.iter()
                .find(|s| s.local == local && s.remote == remote && s.timer != RETRANSMIT_TIMER)
                .map(|s| (s.timer, s.ticks))
        })
    };

    // Connecter, with keepalive and without.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = listener.local_addr().unwrap();
    let push = socket(&ctx, Push);
    push.set_tcp_keepalive(1).unwrap();
    push.set_tcp_keepalive_idle(7).unwrap();
    push.set_tcp_keepalive_cnt(3).unwrap();
    push.set_tcp_keepalive_intvl(2).unwrap();
    push.connect(&format!("tcp://{dest}")).unwrap();
    let (_a, zeroring_end) = listener.accept().unwrap();
    // On a loaded machine the table can show the connection with no timer
    // for a moment; with keepalive on, its timer must come (bounded wait).
    let ticks = keepalive_of(zeroring_end, dest);
    assert!(ticks <= 700, "idle 7 s, the timer is due in {ticks} ticks");

    let plain = socket(&ctx, Push);
    plain.connect(&format!("tcp://{dest}")).unwrap();
    let (_b, zeroring_end) = listener.accept().unwrap();
    assert_eq!(
        timer_of(zeroring_end, dest).0,
        0,
        "keepalive off by default"
    );

    // Binder: the accepted socket gets them too.
    let pull = socket(&ctx, Pull);
    pull.set_tcp_keepalive(1).unwrap();
    pull.set_tcp_keepalive_idle(9).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let bound = addr_of(&pull.get_last_endpoint().unwrap().unwrap());
    let client = TcpStream::connect(bound).unwrap();
    let (timer, ticks) = wait_for_kernel("the accepted socket's keepalive", |all| {
        all.iter()
            .find(|s| {
                s.local == bound
                    && s.remote == client.local_addr().unwrap()
                    && s.timer == KEEPALIVE_TIMER
            })
            .map(|s| (s.timer, s.ticks))
    });
    assert_eq!(timer, KEEPALIVE_TIMER);
    assert!(ticks <= 900, "idle 9 s, the timer is due in {ticks} ticks");
}

/// With a SOCKS proxy set, a tcp connect goes through it (RFC 1928, no
/// authentication, CONNECT), asking for the destination as the endpoint
/// names it: a host name is the proxy's to resolve. A mock proxy here
/// checks the exchange, then relays both ways.
#[test]
fn connects_through_a_socks5_proxy() {
    use std::io::{Read, Write};
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let port = addr_of(&pull.get_last_endpoint().unwrap().unwrap()).port();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let (asked_tx, asked) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut client, _) = proxy.accept().unwrap();
        let mut greeting = [0; 3];
        client.read_exact(&mut greeting).unwrap();
        assert_eq!(greeting, [5, 1, 0], "SOCKS5, one method: none");
        client.write_all(&[5, 0]).unwrap();
        let mut head = [0; 5];
        client.read_exact(&mut head).unwrap();
        assert_eq!(head[..4], [5, 1, 0, 3], "CONNECT to a domain name");
        let mut name = vec![0; usize::from(head[4])];
        client.read_exact(&mut name).unwrap();
        let mut port = [0; 2];
        client.read_exact(&mut port).unwrap();
        asked_tx
            .send((String::from_utf8(name).unwrap(), u16::from_be_bytes(port)))
            .unwrap();
        let remote = TcpStream::connect(("127.0.0.1", u16::from_be_bytes(port))).unwrap();
        let mut reply = vec![5, 0, 0, 1, 127, 0, 0, 1];
        reply.extend_from_slice(&remote.local_addr().unwrap().port().to_be_bytes());
        client.write_all(&reply).unwrap();
        let (mut c2, mut r2) = (client.try_clone().unwrap(), remote.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut r2, &mut c2));
        let (mut c, mut r) = (client, remote);
        let _ = std::io::copy(&mut c, &mut r);
    });
    let push = socket(&ctx, Push);
    push.set_linger(0).unwrap();
    push.set_socks_proxy(Some(&proxy_addr.to_string())).unwrap();
    push.connect(&format!("tcp://localhost:{port}")).unwrap();
    push.send("through the proxy", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"through the proxy");
    assert_eq!(
        asked.recv_timeout(BOUND).unwrap(),
        ("localhost".to_owned(), port)
    );
}

/// ZMQ_TCP_ACCEPT_FILTER (libzmq's test_tcp_accept_filter): a listener
/// admits only peers of the networks named when it was bound; others are
/// disconnected at once (ACCEPT_FAILED, EACCES); clearing admits all again.
#[test]
fn tcp_accept_filters_admit_only_their_networks() {
    use zeroring::monitor::Event;
    let ctx = Context::new();
    let probe = socket(&ctx, Pair);
    for bad in [
        "foo",
        "0.0.0.0foo",
        "0.0.0.0/foo",
        "0.0.0.0/",
        "0.0.0.0/-1",
        "0.0.0.0/33",
        "::1",
    ] {
        assert!(probe.add_tcp_accept_filter(bad).is_err(), "{bad}");
    }

    let refusing = socket(&ctx, Pair);
    refusing.add_tcp_accept_filter("127.0.0.255/32").unwrap();
    let events = monitor(&ctx, &refusing, "accept-filter");
    refusing.bind("tcp://127.0.0.1:0").unwrap();
    expect_event(&events, Event::Listening);
    let ep = refusing.get_last_endpoint().unwrap().unwrap();
    let peer = socket(&ctx, Pair);
    peer.set_linger(0).unwrap();
    peer.connect(&ep).unwrap();
    let ev = expect_event(&events, Event::AcceptFailed);
    assert_eq!(ev.value, libc::EACCES as u32);

    for (filters, name) in [
        (&["127.0.0.255/32", "127.0.0.0/8"][..], "matching"),
        (&[][..], "none"),
    ] {
        let admitting = socket(&ctx, Pair);
        admitting.add_tcp_accept_filter("10.0.0.1").unwrap();
        admitting.clear_tcp_accept_filters().unwrap();
        for f in filters {
            admitting.add_tcp_accept_filter(f).unwrap();
        }
        admitting.bind("tcp://127.0.0.1:0").unwrap();
        let peer = socket(&ctx, Pair);
        peer.connect(&admitting.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        peer.send("hi", 0).unwrap();
        assert_eq!(admitting.recv_bytes(0).unwrap(), b"hi", "{name}");
    }
}
