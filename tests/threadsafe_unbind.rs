//! `unbind` and `disconnect` of the thread-safe sockets over inproc, tcp
//! and ipc, as libzmq's `zmq_unbind` and `zmq_disconnect`: the endpoint's
//! connections close (messages from them not received yet are dropped),
//! a disconnected connecter does not come back, an unbound endpoint is
//! free for another socket at once, and an endpoint this socket did not
//! bind or connect is `EndpointNotFound` (ENOENT).

mod common;
use common::*;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use zeroring::{Client, Context, Error, RoutingId, Server, DONTWAIT};

#[derive(Clone, Copy, Debug)]
enum Transport {
    Inproc,
    Tcp,
    Ipc,
}

const TRANSPORTS: [Transport; 3] = [Transport::Inproc, Transport::Tcp, Transport::Ipc];

/// An endpoint to bind, fresh for each test and transport.
fn endpoint(t: Transport, name: &str) -> String {
    match t {
        Transport::Inproc => format!("inproc://unbind-{name}"),
        Transport::Tcp => "tcp://127.0.0.1:0".to_owned(),
        Transport::Ipc => format!("ipc://{}", ipc_path(name).display()),
    }
}

fn ipc_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("zr-unbind-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// What a peer connects to: for tcp, the port bound.
fn bound_endpoint(t: Transport, bound: &str, server: &Server) -> String {
    match t {
        Transport::Tcp => server.get_last_endpoint().unwrap(),
        _ => bound.to_owned(),
    }
}

fn server(ctx: &Context) -> Server {
    let s = ctx.server().unwrap();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s.set_sndtimeo(TIMEO_MS).unwrap();
    s
}

fn client(ctx: &Context) -> Client {
    let c = ctx.client().unwrap();
    c.set_rcvtimeo(TIMEO_MS).unwrap();
    c.set_sndtimeo(TIMEO_MS).unwrap();
    c
}

/// A round trip: the client's routing id at the server.
fn hello(client: &Client, server: &Server) -> RoutingId {
    hello_past(client, server, |_| false)
}

/// A round trip, past the messages still on their way to the server that
/// `earlier` accepts.
fn hello_past(client: &Client, server: &Server, earlier: impl Fn(&[u8]) -> bool) -> RoutingId {
    client.send("hello", 0).unwrap();
    let id = loop {
        let (id, m) = server.recv_from(0).unwrap();
        if m == b"hello" {
            break id;
        }
        assert!(earlier(&m), "unexpected {m:?}");
    };
    server.send_to(id, "hi", 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"hi");
    id
}

/// Waits (within [`BOUND`]) until the server finds no peer `id`: its
/// connection has closed.
fn wait_unreachable(server: &Server, id: RoutingId, what: &str) {
    let started = Instant::now();
    loop {
        match server.send_to(id, "anyone?", DONTWAIT) {
            Err(Error::HostUnreachable) => return,
            Ok(()) | Err(Error::WouldBlock) => {}
            Err(e) => panic!("{what}: {e}"),
        }
        assert!(started.elapsed() < BOUND, "{what}: peer {id} stayed");
        std::thread::yield_now();
    }
}

/// Libzmq's RECONNECT_IVL default, which the thread-safe sockets keep: a
/// connecter that came back would be seen well within a few of these.
const RECONNECT_IVL_MS: i32 = 100;

#[test]
fn disconnect_closes_the_connection_and_drops_what_it_had_queued() {
    for t in TRANSPORTS {
        let ctx = Context::new();
        let server = server(&ctx);
        let bound = endpoint(t, "disconnect");
        server.bind(&bound).unwrap();
        let ep = bound_endpoint(t, &bound, &server);
        let client = client(&ctx);
        client.connect(&ep).unwrap();
        let id = hello(&client, &server);

        // Queued for the client, not received (over inproc it is in the
        // ring at once; over tcp and ipc it may be on its way): dropped.
        server.send_to(id, "never read", 0).unwrap();
        client.disconnect(&ep).unwrap();
        assert!(
            matches!(client.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
            "{t:?}: a message from a disconnected peer"
        );
        // No peer to send to, and the server sees the peer go.
        assert!(
            matches!(client.send("x", DONTWAIT), Err(Error::WouldBlock)),
            "{t:?}: a peer after disconnect"
        );
        wait_unreachable(&server, id, &format!("{t:?}"));
        assert!(matches!(
            client.recv_bytes(DONTWAIT),
            Err(Error::WouldBlock)
        ));
        assert!(
            matches!(client.disconnect(&ep), Err(Error::EndpointNotFound(_))),
            "{t:?}: disconnected twice"
        );
        // A new connect is a new connection, with a new routing id.
        client.connect(&ep).unwrap();
        assert_ne!(hello(&client, &server), id, "{t:?}");
    }
}

/// tcp and ipc: the connection ends (the listener reads end of file),
/// and no new one comes within five reconnect intervals.
#[test]
fn a_disconnected_connecter_does_not_reconnect() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_ep = format!("tcp://{}", tcp.local_addr().unwrap());
    let path = ipc_path("no-reconnect");
    let ipc = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let ipc_ep = format!("ipc://{}", path.display());
    let accept_tcp = || OwnedFd::from(tcp.accept().unwrap().0);
    let accept_ipc = || OwnedFd::from(ipc.accept().unwrap().0);
    let listeners: [(&str, RawFd, &dyn Fn() -> OwnedFd); 2] = [
        (&tcp_ep, tcp.as_raw_fd(), &accept_tcp),
        (&ipc_ep, ipc.as_raw_fd(), &accept_ipc),
    ];
    let ctx = Context::new();
    for (ep, listener, accept) in listeners {
        let client = client(&ctx);
        client.connect(ep).unwrap();
        assert!(
            readable_within(listener, TIMEO_MS),
            "{ep}: no connection came"
        );
        let mut conn = std::fs::File::from(accept());
        client.disconnect(ep).unwrap();
        // Its greeting, then the end.
        let mut buf = [0u8; 256];
        loop {
            assert!(
                readable_within(conn.as_raw_fd(), TIMEO_MS),
                "{ep}: still open"
            );
            if std::io::Read::read(&mut conn, &mut buf).unwrap() == 0 {
                break;
            }
        }
        assert!(
            !readable_within(listener, 5 * RECONNECT_IVL_MS),
            "{ep}: the connecter came back"
        );
    }
    drop(ipc);
    let _ = std::fs::remove_file(&path);
}

/// tcp: a connecter still waiting for its peer (nothing queued) stops
/// trying: the listener that comes later sees nobody within five
/// reconnect intervals.
#[test]
fn a_disconnected_connecter_waiting_for_its_peer_stops_trying() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let ctx = Context::new();
    let client = client(&ctx);
    let ep = format!("tcp://{addr}");
    client.connect(&ep).unwrap();
    client.disconnect(&ep).unwrap();
    let late = std::net::TcpListener::bind(addr).unwrap();
    assert!(
        !readable_within(late.as_raw_fd(), 5 * RECONNECT_IVL_MS),
        "the connecter came"
    );
}

/// inproc: a connect still waiting for its bind is taken back, so the
/// bind that comes later finds nobody.
#[test]
fn disconnect_takes_back_a_connect_waiting_for_its_bind() {
    let ctx = Context::new();
    let client = client(&ctx);
    client.connect("inproc://unbind-parked").unwrap();
    client.send("early", DONTWAIT).unwrap_err();
    client.disconnect("inproc://unbind-parked").unwrap();
    let server = server(&ctx);
    server.bind("inproc://unbind-parked").unwrap();
    // The bind links its waiting connecters at once: there are none.
    assert!(matches!(client.send("x", DONTWAIT), Err(Error::WouldBlock)));
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn unbind_closes_the_endpoint_and_frees_it_for_another_socket() {
    for t in TRANSPORTS {
        let ctx = Context::new();
        let old = server(&ctx);
        let bound = endpoint(t, "unbind");
        old.bind(&bound).unwrap();
        let ep = bound_endpoint(t, &bound, &old);
        let first = client(&ctx);
        first.connect(&ep).unwrap();
        let id = hello(&first, &old);
        // Sent to the server, not received: dropped with the connection.
        first.send("never read", 0).unwrap();

        // tcp: by the port bound, as get_last_endpoint tells it.
        old.unbind(&ep).unwrap();
        assert!(
            matches!(old.unbind(&ep), Err(Error::EndpointNotFound(_))),
            "{t:?}: unbound twice"
        );
        // The connections it accepted are gone at once.
        assert!(
            matches!(old.send_to(id, "x", DONTWAIT), Err(Error::HostUnreachable)),
            "{t:?}"
        );
        assert!(matches!(old.recv_from(DONTWAIT), Err(Error::WouldBlock)));
        // Nothing listens any more (unbind returns once it is closed).
        match t {
            Transport::Inproc => {}
            Transport::Tcp => {
                let err = std::net::TcpStream::connect(&ep["tcp://".len()..]).unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
            }
            Transport::Ipc => {
                let path = &ep["ipc://".len()..];
                assert!(
                    !std::path::Path::new(path).exists(),
                    "the socket file stayed"
                );
                assert!(std::os::unix::net::UnixStream::connect(path).is_err());
            }
        }

        // A connect made now reaches the next binder of the endpoint, not
        // the old one.
        let second = client(&ctx);
        second.connect(&ep).unwrap();
        second
            .send("for the new one", DONTWAIT)
            .unwrap_or_else(|e| {
                // inproc: no pipe until the bind; sent after it.
                assert!(matches!((t, e), (Transport::Inproc, Error::WouldBlock)));
            });
        let new = server(&ctx);
        new.bind(&ep).unwrap();
        if let Transport::Inproc = t {
            second.send("for the new one", 0).unwrap();
        }
        // The first client, connected again to the new server over tcp
        // and ipc, may still have its last message to deliver.
        loop {
            let (_, m) = new.recv_from(0).unwrap();
            if m == b"for the new one" {
                break;
            }
            assert_eq!(m, b"never read", "{t:?}");
        }
        assert!(matches!(old.recv_from(DONTWAIT), Err(Error::WouldBlock)));
        // The old server still works with a new endpoint.
        let again = endpoint(t, "unbind-again");
        old.bind(&again).unwrap();
        let third = client(&ctx);
        third.connect(&bound_endpoint(t, &again, &old)).unwrap();
        hello(&third, &old);
    }
}

/// tcp: the endpoint as given to bind names it too (`tcp://host:0` or a
/// wildcard host), and unbinding one leaves the other.
#[test]
fn tcp_unbind_by_the_endpoint_as_bound() {
    let ctx = Context::new();
    let s = server(&ctx);
    s.bind("tcp://127.0.0.1:0").unwrap();
    let first = s.get_last_endpoint().unwrap();
    s.bind("tcp://*:0").unwrap();
    let second = s.get_last_endpoint().unwrap();
    s.unbind("tcp://*:0").unwrap();
    let port = |ep: &str| ep.rsplit(':').next().unwrap().to_owned();
    let refused = std::net::TcpStream::connect(format!("127.0.0.1:{}", port(&second)));
    assert!(refused.is_err(), "{second} still listens");
    let c = client(&ctx);
    c.connect(&first).unwrap();
    hello(&c, &s);
}

#[test]
fn an_endpoint_not_bound_or_connected_here_is_not_found() {
    let ctx = Context::new();
    let not_found = |r: zeroring::Result<()>| matches!(r, Err(Error::EndpointNotFound(_)));
    let other = server(&ctx);
    other.bind("inproc://unbind-others").unwrap();
    other.bind("tcp://127.0.0.1:0").unwrap();
    let others_tcp = other.get_last_endpoint().unwrap();
    let c = client(&ctx);
    c.connect("inproc://unbind-others").unwrap();
    for ep in [
        "inproc://unbind-nobody",
        "inproc://unbind-others",
        "tcp://127.0.0.1:5555",
        others_tcp.as_str(),
        "ipc:///tmp/zr-unbind-nobody",
    ] {
        assert!(not_found(other.disconnect(ep)), "{ep}");
        assert!(not_found(c.unbind(ep)), "{ep}");
    }
    assert!(not_found(other.unbind("inproc://unbind-nobody")));
    assert!(not_found(c.disconnect("inproc://unbind-nobody")));
    assert!(matches!(
        c.disconnect("nonsense"),
        Err(Error::InvalidEndpoint { .. })
    ));
    assert!(matches!(
        other.unbind("udp://127.0.0.1:5555"),
        Err(Error::TransportNotSupported(_))
    ));

    // Every type has both.
    let ep = "inproc://unbind-types";
    let gather = ctx.gather().unwrap();
    gather.bind(ep).unwrap();
    let scatter = ctx.scatter().unwrap();
    scatter.connect(ep).unwrap();
    scatter.disconnect(ep).unwrap();
    gather.unbind(ep).unwrap();
    let radio = ctx.radio().unwrap();
    radio.bind(ep).unwrap();
    let dish = ctx.dish().unwrap();
    dish.connect(ep).unwrap();
    dish.disconnect(ep).unwrap();
    radio.unbind(ep).unwrap();
    assert!(not_found(dish.unbind(ep)));
    assert!(not_found(radio.disconnect(ep)));

    ctx.shutdown();
    assert!(matches!(other.unbind(&others_tcp), Err(Error::Terminated)));
}

#[test]
fn server_keeps_serving_other_clients_after_one_disconnects() {
    for t in TRANSPORTS {
        let ctx = Context::new();
        let server = server(&ctx);
        let bound = endpoint(t, "serving");
        server.bind(&bound).unwrap();
        let ep = bound_endpoint(t, &bound, &server);
        let (a, b) = (client(&ctx), client(&ctx));
        a.connect(&ep).unwrap();
        b.connect(&ep).unwrap();
        let ida = hello(&a, &server);
        let idb = hello(&b, &server);
        a.disconnect(&ep).unwrap();
        wait_unreachable(&server, ida, &format!("{t:?}"));
        for i in 0..100u32 {
            b.send(i.to_le_bytes(), 0).unwrap();
            let (id, m) = server.recv_from(0).unwrap();
            assert_eq!((id, &m[..]), (idb, &i.to_le_bytes()[..]), "{t:?}");
            server.send_to(id, &m, 0).unwrap();
            assert_eq!(b.recv_bytes(0).unwrap(), i.to_le_bytes());
        }
    }
}

/// RADIO and DISH: a disconnected DISH gets no more of its groups, a
/// RADIO's unbind ends its DISHes' feed; both over tcp.
#[test]
fn radio_and_dish_over_tcp() {
    let ctx = Context::new();
    let radio = ctx.radio().unwrap();
    radio.bind("tcp://127.0.0.1:0").unwrap();
    let ep = radio.get_last_endpoint().unwrap();
    let dish = ctx.dish().unwrap();
    dish.set_rcvtimeo(TIMEO_MS).unwrap();
    dish.join("g").unwrap();
    dish.connect(&ep).unwrap();
    // The JOIN reaches the RADIO some time after the connection.
    let started = Instant::now();
    loop {
        radio.send("g", "on air", 0).unwrap();
        match dish.recv_group(DONTWAIT) {
            Ok((_, m)) => {
                assert_eq!(m, b"on air");
                break;
            }
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(started.elapsed() < BOUND, "the DISH never joined");
        std::thread::yield_now();
    }
    dish.disconnect(&ep).unwrap();
    radio.send("g", "after", 0).unwrap();
    assert!(matches!(dish.recv_group(DONTWAIT), Err(Error::WouldBlock)));
    radio.unbind(&ep).unwrap();
    assert!(std::net::TcpStream::connect(&ep["tcp://".len()..]).is_err());
}

/// One CLIENT's threads send while another disconnects and connects it
/// again, over inproc and tcp, and one SERVER's thread receives while
/// another unbinds and binds it: nothing hangs, nothing arrives torn, and
/// both work after.
#[test]
fn unbind_and_disconnect_while_other_threads_send_and_receive() {
    bounded(|| {
        let ctx = Context::new();
        let server = Arc::new(server(&ctx));
        server.bind("tcp://127.0.0.1:0").unwrap();
        let tcp = server.get_last_endpoint().unwrap();
        let churned = "inproc://unbind-churn";
        server.bind(churned).unwrap();
        let client = Arc::new(client(&ctx));
        // Senders blocked while the peers change look at `stop` now and
        // then.
        client.set_sndtimeo(50).unwrap();
        client.connect(&tcp).unwrap();
        client.connect(churned).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..3u8)
            .map(|t| {
                let (client, stop) = (client.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut sent = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let mut m = vec![t; 40];
                        m[1..5].copy_from_slice(&sent.to_le_bytes());
                        match client.send(&m, 0) {
                            Ok(()) => sent += 1,
                            Err(Error::TimedOut) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        let receiver = {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut got = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    match server.recv_from(DONTWAIT) {
                        Ok((_, m)) => {
                            assert!(from_senders(&m), "torn: {m:?}");
                            got += 1;
                        }
                        Err(Error::WouldBlock) => std::thread::yield_now(),
                        Err(e) => panic!("{e}"),
                    }
                }
                got
            })
        };
        for _ in 0..200 {
            client.disconnect(churned).unwrap();
            client.connect(churned).unwrap();
            server.unbind(churned).unwrap();
            server.bind(churned).unwrap();
            client.disconnect(churned).unwrap();
            client.connect(churned).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            s.join().unwrap();
        }
        assert!(receiver.join().unwrap() > 0);
        // Both endpoints still carry a round trip (past what the senders
        // sent last).
        client.set_sndtimeo(TIMEO_MS).unwrap();
        client.disconnect(&tcp).unwrap();
        let id = hello_past(&client, &server, from_senders);
        client.disconnect(churned).unwrap();
        client.connect(&tcp).unwrap();
        assert_ne!(hello_past(&client, &server, from_senders), id);
    });
}

/// Whether `m` is whole as the churn test's senders make them: 40 bytes of
/// the thread's number, a count in bytes 1 to 4.
fn from_senders(m: &[u8]) -> bool {
    m.len() == 40 && m[5..].iter().all(|&b| b == m[0])
}
