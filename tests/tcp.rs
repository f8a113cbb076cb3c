//! tcp:// over ZMTP 3.1: zeroring to zeroring, and against real libzmq 4.3.4
//! (the `zmq` crate) in both roles.

mod common;
use common::*;
use zeroring::{Context, SocketType::*, DONTWAIT};

const ZMQ_TIMEO: i32 = 20_000;

fn zmq_socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(ZMQ_TIMEO).unwrap();
    s.set_sndtimeo(ZMQ_TIMEO).unwrap();
    s.set_linger(0).unwrap();
    s
}

#[test]
fn ephemeral_port_is_reported_by_last_endpoint() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    assert!(
        ep.starts_with("tcp://127.0.0.1:") && !ep.ends_with(":0"),
        "{ep}"
    );
    let other = socket(&ctx, Pull);
    assert!(matches!(
        other.bind(&ep),
        Err(zeroring::Error::AddrInUse(_))
    ));
}

#[test]
fn zeroring_push_pull_and_req_rep_over_tcp() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = socket(&ctx, Push);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    for i in 0..1000u32 {
        push.send_multipart([&i.to_le_bytes()[..], b"second frame"], 0)
            .unwrap();
    }
    for i in 0..1000u32 {
        assert_eq!(
            pull.recv_multipart(0).unwrap(),
            vec![i.to_le_bytes().to_vec(), b"second frame".to_vec()]
        );
    }

    let rep = socket(&ctx, Rep);
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let req = socket(&ctx, Req);
    req.connect(&rep.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    for i in 0..10u8 {
        req.send([i], 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), [i]);
        rep.send([i, i], 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), [i, i]);
    }
}

#[test]
fn connect_before_bind_over_tcp_is_retried() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = format!("tcp://127.0.0.1:{port}");
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_reconnect_ivl(10).unwrap();
    push.connect(&ep).unwrap();
    push.send("early", 0).unwrap();
    let pull = socket(&ctx, Pull);
    pull.bind(&ep).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"early");
}

#[test]
fn libzmq_push_to_zeroring_pull_and_back() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    // libzmq connects, zeroring binds.
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let zpush = zmq_socket(&zctx, zmq::PUSH);
    zpush
        .connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    zpush.send_multipart(["from", "libzmq"], 0).unwrap();
    assert_eq!(
        pull.recv_multipart(0).unwrap(),
        vec![b"from".to_vec(), b"libzmq".to_vec()]
    );
    // zeroring connects, libzmq binds.
    let zpull = zmq_socket(&zctx, zmq::PULL);
    zpull.bind("tcp://127.0.0.1:*").unwrap();
    let push = socket(&ctx, Push);
    push.connect(&zpull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    push.send_multipart(["from", "zeroring"], 0).unwrap();
    assert_eq!(
        zpull.recv_multipart(0).unwrap(),
        vec![b"from".to_vec(), b"zeroring".to_vec()]
    );
}

#[test]
fn req_rep_with_libzmq_in_both_roles() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let rep = socket(&ctx, Rep);
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let zreq = zmq_socket(&zctx, zmq::REQ);
    zreq.connect(&rep.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    zreq.send("hello", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"hello");
    rep.send("world", 0).unwrap();
    assert_eq!(zreq.recv_bytes(0).unwrap(), b"world");

    let zrep = zmq_socket(&zctx, zmq::REP);
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let req = socket(&ctx, Req);
    req.connect(&zrep.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    req.send("ping", 0).unwrap();
    assert_eq!(zrep.recv_bytes(0).unwrap(), b"ping");
    zrep.send("pong", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"pong");
}

#[test]
fn router_sees_libzmq_dealer_identity() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let router = socket(&ctx, Router);
    router.bind("tcp://127.0.0.1:0").unwrap();
    let zdealer = zmq_socket(&zctx, zmq::DEALER);
    zdealer.set_identity(b"libzmq-dealer").unwrap();
    zdealer
        .connect(&router.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    zdealer.send("hi", 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        vec![b"libzmq-dealer".to_vec(), b"hi".to_vec()]
    );
    router.send_multipart(["libzmq-dealer", "back"], 0).unwrap();
    assert_eq!(zdealer.recv_bytes(0).unwrap(), b"back");
}

#[test]
fn pub_sub_with_libzmq_subscriptions_both_ways() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    // zeroring XPUB sees a libzmq SUB's subscription, then filters for it.
    let xpub = socket(&ctx, XPub);
    xpub.bind("tcp://127.0.0.1:0").unwrap();
    let zsub = zmq_socket(&zctx, zmq::SUB);
    zsub.connect(&xpub.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    zsub.set_subscribe(b"A").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    xpub.send("B-not", 0).unwrap();
    xpub.send("A-yes", 0).unwrap();
    assert_eq!(zsub.recv_bytes(0).unwrap(), b"A-yes");
    zsub.set_unsubscribe(b"A").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00A");

    // A zeroring SUB's subscription reaches a libzmq XPUB.
    let zxpub = zmq_socket(&zctx, zmq::XPUB);
    zxpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = socket(&ctx, Sub);
    sub.set_subscribe(b"T").unwrap();
    sub.connect(&zxpub.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01T");
    zxpub.send("T1", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"T1");
}

/// A sender that sends and then goes away: everything it sent arrives (the
/// receiving engine delivers what it read before the peer's close; the
/// sending context flushes its queue within LINGER).
#[test]
fn everything_sent_before_a_close_arrives() {
    const N: u32 = 100_000;
    for zeroring_sender in [false, true] {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let ep = pull.get_last_endpoint().unwrap().unwrap();
        let sender = std::thread::spawn(move || {
            if zeroring_sender {
                let sctx = Context::new();
                let push = socket(&sctx, Push);
                push.connect(&ep).unwrap();
                for i in 0..N {
                    push.send(i.to_le_bytes(), 0).unwrap();
                }
            } else {
                let zctx = zmq::Context::new();
                let push = zctx.socket(zmq::PUSH).unwrap();
                push.connect(&ep).unwrap();
                for i in 0..N {
                    push.send(&i.to_le_bytes()[..], 0).unwrap();
                }
            } // dropped here: the context flushes, then closes the connection
        });
        let sum = bounded(move || {
            let mut sum = 0u64;
            for i in 0..N {
                let m = pull.recv_bytes(0).unwrap();
                assert_eq!(m, i.to_le_bytes(), "in order, none missing");
                sum += u32::from_le_bytes(m.try_into().unwrap()) as u64;
            }
            sum
        });
        sender.join().unwrap();
        assert_eq!(sum, N as u64 * (N as u64 - 1) / 2);
    }
}

/// A connect refused because nobody listens yet is retried until someone
/// does (the refused attempt reports only an error to the poll).
#[test]
fn refused_connect_is_retried_until_the_peer_binds() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = format!("tcp://127.0.0.1:{port}");
    let ctx = Context::new();
    let req = socket(&ctx, Req);
    req.set_reconnect_ivl(5).unwrap();
    req.connect(&ep).unwrap();
    req.send("anyone?", 0).unwrap();
    let server_ctx = zmq::Context::new();
    let rep = zmq_socket(&server_ctx, zmq::REP);
    rep.bind(&ep).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"anyone?");
    rep.send("yes", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"yes");
}

/// A socket dropped before its connection is up still has what it sent
/// delivered (LINGER -1, the default), as with libzmq: the engine keeps
/// connecting for it, even to a peer that binds only later.
#[test]
fn messages_of_a_socket_dropped_before_connecting_are_delivered() {
    let ctx = Context::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = format!("tcp://127.0.0.1:{port}");
    let early = socket(&ctx, Push);
    early.set_reconnect_ivl(10).unwrap();
    early.connect(&ep).unwrap();
    early.send("sent before the bind", 0).unwrap();
    drop(early);

    let pull = socket(&ctx, Pull);
    pull.bind(&ep).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"sent before the bind");
    for i in 0..20u8 {
        let push = socket(&ctx, Push);
        push.connect(&ep).unwrap();
        push.send([i], 0).unwrap();
        drop(push);
        assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
    }
}

/// Frames of 32 KiB and more that arrive in pieces are read straight into
/// the pipe: contents, boundaries and multipart structure survive, from
/// zeroring and from libzmq senders.
#[test]
fn large_frames_arrive_whole_and_intact() {
    bounded(|| {
        let ctx = Context::new();
        let pull = ctx.socket(Pull).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = pull.get_last_endpoint().unwrap().unwrap();
        let frame = |seed: u8, len: usize| -> Vec<u8> {
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31) ^ seed)
                .collect()
        };
        let push = ctx.socket(Push).unwrap();
        push.connect(&endpoint).unwrap();
        let zctx = zmq::Context::new();
        let zpush = zmq_socket(&zctx, zmq::PUSH);
        zpush.connect(&endpoint).unwrap();
        for i in 0..20u8 {
            let msg = vec![
                frame(i, 3),
                frame(i, 100_000 + usize::from(i)),
                frame(i, 40_000),
            ];
            push.send_multipart(&msg, 0).unwrap();
            assert_eq!(pull.recv_multipart(0).unwrap(), msg, "zeroring message {i}");
            zpush.send_multipart(&msg, 0).unwrap();
            assert_eq!(pull.recv_multipart(0).unwrap(), msg, "libzmq message {i}");
        }
    });
}

/// LINGER is read when the socket closes, as libzmq reads it: a value set
/// after the connection was made applies to it. A connecter to a peer that
/// never comes, with a message queued and LINGER -1 when it connected, set
/// to 0 before closing: dropping the context returns at once (it waited
/// for ever, as the old LINGER said).
#[test]
fn linger_set_after_connect_applies_at_close() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ctx = Context::new();
        let push = ctx.socket(Push).unwrap();
        // A port nobody listens on: the message stays queued.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        push.send("stays queued", zeroring::DONTWAIT).unwrap();
        push.set_linger(0).unwrap();
        drop(push);
        drop(ctx);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("dropping the context waited on a LINGER changed to 0");
}

/// A port nobody listens on (as far as one can tell: bound, then let go).
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn immediate_sends_wait_for_a_connection_then_go_only_to_it() {
    // libzmq's test_immediate_2: with IMMEDIATE a blocking send waits
    // until a connection is up (and is woken when it is: no SNDTIMEO here,
    // `bounded` catches a send never woken), and a connecter that never
    // connects takes none of the messages.
    bounded(|| {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let push = ctx.socket(Push).unwrap();
        push.set_immediate(true).unwrap();
        push.set_linger(0).unwrap();
        push.connect(&format!("tcp://127.0.0.1:{}", dead_port()))
            .unwrap();
        push.connect(&pull.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        for i in 0..10u8 {
            push.send([i], 0).unwrap();
        }
        for i in 0..10u8 {
            assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
        }
    });
}

#[test]
fn immediate_sends_nothing_to_a_connecter_between_connections() {
    // libzmq's test_immediate_3: a connecter whose connection broke is no
    // peer for IMMEDIATE until it connects again.
    use zeroring::monitor::Event;
    bounded(|| {
        let ctx = Context::new();
        let backend = socket(&ctx, Dealer);
        backend.set_linger(0).unwrap();
        backend.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = backend.get_last_endpoint().unwrap().unwrap();
        let frontend = socket(&ctx, Dealer);
        frontend.set_linger(0).unwrap();
        frontend.set_immediate(true).unwrap();
        let mon = monitor(&ctx, &frontend, "immediate-away");
        frontend.connect(&endpoint).unwrap();
        backend.send("ping", 0).unwrap();
        assert_eq!(frontend.recv_bytes(0).unwrap(), b"ping");
        frontend.send("up", DONTWAIT).unwrap();

        drop(backend);
        while next_event(&mon).event != Event::Disconnected {}
        assert!(matches!(
            frontend.send("down", DONTWAIT),
            Err(zeroring::Error::WouldBlock)
        ));

        let backend = socket(&ctx, Dealer);
        backend.bind(&endpoint).unwrap();
        backend.send("ping", 0).unwrap();
        assert_eq!(frontend.recv_bytes(0).unwrap(), b"ping");
        frontend.send("up again", DONTWAIT).unwrap();
        // ("up" may have stayed queued for this connection.)
        let mut got = backend.recv_bytes(0).unwrap();
        if got == b"up" {
            got = backend.recv_bytes(0).unwrap();
        }
        assert_eq!(got, b"up again");
    });
}

#[test]
fn a_connecter_without_reconnect_lets_its_pipe_go_with_its_connection() {
    // libzmq's test_reconnect_ivl: with RECONNECT_IVL -1 a connection that
    // ends ends its endpoint (libzmq's session terminates it), so a PAIR
    // is free to connect again, and the new connection carries messages.
    use zeroring::monitor::Event;
    let ipc = format!("ipc://@zr-no-reconnect-{}", std::process::id());
    for endpoint in ["tcp://127.0.0.1:0", ipc.as_str()] {
        let ctx = Context::new();
        let sb = socket(&ctx, Pair);
        sb.bind(endpoint).unwrap();
        let ep = sb.get_last_endpoint().unwrap().unwrap();
        let sc = socket(&ctx, Pair);
        sc.set_reconnect_ivl(-1).unwrap();
        sc.set_sndhwm(0).unwrap();
        let mon = monitor(&ctx, &sc, &format!("no-reconnect-{}", &endpoint[..3]));
        sc.connect(&ep).unwrap();
        sc.send("one", 0).unwrap();
        assert_eq!(sb.recv_bytes(0).unwrap(), b"one");

        sb.unbind(&ep).unwrap();
        while next_event(&mon).event != Event::Disconnected {}
        // The pipe goes: nothing takes a message (SNDHWM 0: a live pipe
        // would).
        let started = std::time::Instant::now();
        while sc.send("lost", DONTWAIT).is_ok() {
            assert!(started.elapsed() < BOUND, "{endpoint}: the pipe stayed");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }

        sb.bind(&ep).unwrap();
        sc.connect(&ep).unwrap();
        sc.send("two", 0).unwrap();
        assert_eq!(sb.recv_bytes(0).unwrap(), b"two", "{endpoint}");
        sb.send("back", 0).unwrap();
        assert_eq!(sc.recv_bytes(0).unwrap(), b"back", "{endpoint}");
    }
}

#[test]
fn closing_a_binder_that_never_looked_at_its_connections_closes_them() {
    // libzmq's test_reconnect_options: a PUB that only bound, closed, must
    // close its accepted connections, so the SUB sees DISCONNECTED (and
    // retries). Its pipes were still in its mailbox, unread.
    use zeroring::monitor::Event;
    let ctx = Context::new();
    for linger in [0, -1] {
        let publ = socket(&ctx, Pub);
        publ.set_linger(linger).unwrap();
        publ.bind("tcp://127.0.0.1:0").unwrap();
        let ep = publ.get_last_endpoint().unwrap().unwrap();
        let sub = socket(&ctx, Sub);
        sub.set_reconnect_ivl(60_000).unwrap();
        let mon = monitor(&ctx, &sub, &format!("never-looked-{linger}"));
        sub.connect(&ep).unwrap();
        while next_event(&mon).event != Event::HandshakeSucceeded {}
        drop(publ);
        assert_eq!(next_event(&mon).event, Event::Disconnected);
        assert_eq!(next_event(&mon).event, Event::ConnectRetried);
    }
}

/// The intervals of a connecter's CONNECT_RETRIED events to a port nobody
/// listens on, `n` of them.
fn retry_intervals(ivl: i32, ivl_max: i32, n: usize) -> Vec<u32> {
    use zeroring::monitor::Event;
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_linger(0).unwrap();
    push.set_reconnect_ivl(ivl).unwrap();
    push.set_reconnect_ivl_max(ivl_max).unwrap();
    let mon = monitor(&ctx, &push, &format!("retries-{ivl}-{ivl_max}"));
    push.connect(&format!("tcp://127.0.0.1:{}", dead_port()))
        .unwrap();
    let mut got = Vec::new();
    while got.len() < n {
        let ev = next_event(&mon);
        if ev.event == Event::ConnectRetried {
            got.push(ev.value);
        }
    }
    got
}

#[test]
fn reconnects_are_spread_by_a_jitter_below_reconnect_ivl() {
    // libzmq's connecter waits the current interval plus a random part
    // of RECONNECT_IVL, so peers cut off together do not all return in
    // the same millisecond.
    bounded(|| {
        let got = retry_intervals(20, 0, 8);
        assert!(got.iter().all(|v| (20..40).contains(v)), "{got:?}");
        assert!(got.iter().any(|&v| v != got[0]), "no jitter: {got:?}");
    });
}

#[test]
fn reconnect_ivl_max_doubles_the_interval_only_when_above_reconnect_ivl() {
    bounded(|| {
        // 10, 20, 40, 80, 80 ms, each plus a jitter below 10.
        let got = retry_intervals(10, 80, 6);
        for (v, base) in got.iter().zip([10, 20, 40, 80, 80, 80]) {
            assert!((base..base + 10).contains(v), "{got:?}");
        }
        // A maximum below the interval leaves it alone (libzmq), rather
        // than shrinking it.
        let got = retry_intervals(20, 5, 4);
        assert!(got.iter().all(|v| (20..40).contains(v)), "{got:?}");
    });
}

#[test]
fn reconnect_ivl_zero_tries_once_and_never_again() {
    // libzmq arms no reconnect timer at RECONNECT_IVL 0: the connecter
    // stays (its queue too) and does not try again, rather than reconnect
    // in a busy loop.
    use zeroring::monitor::Event;
    bounded(|| {
        let ctx = Context::new();
        let push = socket(&ctx, Push);
        push.set_linger(0).unwrap();
        push.set_reconnect_ivl(0).unwrap();
        let mon = monitor(&ctx, &push, "retries-zero");
        let port = dead_port();
        push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        assert_eq!(next_event(&mon).event, Event::ConnectDelayed);
        assert_eq!(next_event(&mon).event, Event::Closed);
        // Absence can only be watched for a while: a retry loop would
        // have reported hundreds of events in this time.
        mon.set_rcvtimeo(300).unwrap();
        match zeroring::MonitorEvent::recv(&mon, 0) {
            Err(zeroring::Error::WouldBlock | zeroring::Error::TimedOut) => {}
            other => panic!("a connecter at RECONNECT_IVL 0 went on: {other:?}"),
        }
        // Its queue is still there: a message waits for a connection.
        push.send("queued", DONTWAIT).unwrap();
    });
}

#[test]
fn an_unbound_port_and_path_are_free_at_once() {
    // On return from unbind the listener is closed: the same address
    // binds again straight away, every time.
    bounded(|| {
        let ctx = Context::new();
        let dir = std::env::temp_dir().join(format!("zr-rebind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let pull = socket(&ctx, Pull);
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let tcp = pull.get_last_endpoint().unwrap().unwrap();
        let ipc = format!("ipc://{}/s", dir.display());
        pull.bind(&ipc).unwrap();
        for i in 0..200 {
            for ep in [&tcp, &ipc] {
                pull.unbind(ep).unwrap();
                pull.bind(ep)
                    .unwrap_or_else(|e| panic!("rebind {i} of {ep}: {e}"));
            }
        }
        let push = socket(&ctx, Push);
        push.connect(&tcp).unwrap();
        push.send("still listening", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"still listening");
        let _ = std::fs::remove_dir_all(&dir);
    });
}
