//! The socket monitor: its events against real libzmq peers, parity with
//! libzmq's own monitor, its arguments, its mask, and a reader that does
//! not keep up.

mod common;
use common::*;
use zeroring::monitor::{self, Event};
use zeroring::{Context, Error, MonitorEvent, SocketType::*, DONTWAIT};

fn zmq_socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s.set_sndtimeo(TIMEO_MS).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// A monitor of every event on a libzmq socket, read by a libzmq PAIR.
fn zmq_monitor(ctx: &zmq::Context, s: &zmq::Socket, name: &str) -> zmq::Socket {
    let endpoint = format!("inproc://{name}");
    s.monitor(&endpoint, monitor::EVENT_ALL).unwrap();
    let m = zmq_socket(ctx, zmq::PAIR);
    m.connect(&endpoint).unwrap();
    m
}

fn zmq_next_event(m: &zmq::Socket) -> MonitorEvent {
    let frames = m
        .recv_multipart(0)
        .unwrap_or_else(|e| panic!("no libzmq monitor event within {TIMEO_MS} ms: {e}"));
    MonitorEvent::parse(&frames).unwrap()
}

/// A zeroring binder sees a libzmq connecter come, handshake and go.
#[test]
fn binder_events_with_a_libzmq_peer() {
    bounded(|| {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        let mon = common::monitor(&ctx, &pull, "mon");
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = pull.get_last_endpoint().unwrap().unwrap();
        let listening = expect_event(&mon, Event::Listening);
        assert_eq!(listening.endpoint, endpoint);

        let zctx = zmq::Context::new();
        let zpush = zmq_socket(&zctx, zmq::PUSH);
        zpush.connect(&endpoint).unwrap();
        zpush.send("hi", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"hi");
        let accepted = expect_event(&mon, Event::Accepted);
        assert_eq!(accepted.endpoint, endpoint);
        assert_ne!(accepted.value, listening.value);
        assert_eq!(
            expect_event(&mon, Event::HandshakeSucceeded),
            MonitorEvent {
                event: Event::HandshakeSucceeded,
                value: 0,
                endpoint: endpoint.clone()
            }
        );
        drop(zpush);
        let gone = expect_event(&mon, Event::Disconnected);
        assert_eq!((gone.value, &gone.endpoint), (accepted.value, &endpoint));

        pull.unbind(&endpoint).unwrap();
        let closed = expect_event(&mon, Event::Closed);
        assert_eq!(
            (closed.value, &closed.endpoint),
            (listening.value, &endpoint)
        );
        pull.monitor_stop().unwrap();
        let stopped = expect_event(&mon, Event::MonitorStopped);
        assert_eq!((stopped.value, stopped.endpoint.as_str()), (0, ""));
    });
}

/// A zeroring connecter sees its connection to libzmq come up, handshake,
/// break when libzmq goes, and a retry scheduled after RECONNECT_IVL (and
/// a jitter).
#[test]
fn connecter_events_with_a_libzmq_peer() {
    bounded(|| {
        let zctx = zmq::Context::new();
        let zpull = zmq_socket(&zctx, zmq::PULL);
        zpull.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = zpull.get_last_endpoint().unwrap().unwrap();

        let ctx = Context::new();
        let push = socket(&ctx, Push);
        push.set_reconnect_ivl(5_000).unwrap();
        let mon = common::monitor(&ctx, &push, "mon");
        push.connect(&endpoint).unwrap();
        let delayed = expect_event(&mon, Event::ConnectDelayed);
        assert_eq!(delayed.endpoint, endpoint);
        let connected = expect_event(&mon, Event::Connected);
        assert_eq!(connected.endpoint, endpoint);
        expect_event(&mon, Event::HandshakeSucceeded);
        push.send("hi", 0).unwrap();
        assert_eq!(zpull.recv_bytes(0).unwrap(), b"hi");

        drop(zpull);
        let gone = expect_event(&mon, Event::Disconnected);
        assert_eq!((gone.value, &gone.endpoint), (connected.value, &endpoint));
        let retry = expect_event(&mon, Event::ConnectRetried);
        assert_eq!(retry.endpoint, endpoint);
        // RECONNECT_IVL plus libzmq's jitter, below RECONNECT_IVL more.
        assert!((5_000..10_000).contains(&retry.value), "{retry:?}");
    });
}

/// For the same story, zeroring's monitor and libzmq's report the same
/// events in the same order (libzmq's CONNECT_DELAYED aside: it reports
/// it only when the connect does not complete at once).
#[test]
fn events_match_libzmqs_own_monitor() {
    bounded(|| {
        let ctx = Context::new();
        let zctx = zmq::Context::new();

        // Binders: a libzmq PULL and a zeroring PULL, each with a zeroring
        // PUSH that connects, sends, and goes.
        let zpull = zmq_socket(&zctx, zmq::PULL);
        let zmon = zmq_monitor(&zctx, &zpull, "zmon");
        zpull.bind("tcp://127.0.0.1:*").unwrap();
        let pull = socket(&ctx, Pull);
        let mon = common::monitor(&ctx, &pull, "mon");
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let pushes: Vec<_> = [
            zpull.get_last_endpoint().unwrap().unwrap(),
            pull.get_last_endpoint().unwrap().unwrap(),
        ]
        .iter()
        .map(|endpoint| {
            let push = socket(&ctx, Push);
            push.connect(endpoint).unwrap();
            push.send("x", 0).unwrap();
            push
        })
        .collect();
        assert_eq!(zpull.recv_bytes(0).unwrap(), b"x");
        assert_eq!(pull.recv_bytes(0).unwrap(), b"x");
        drop(pushes);
        let story = [
            Event::Listening,
            Event::Accepted,
            Event::HandshakeSucceeded,
            Event::Disconnected,
        ];
        let theirs: Vec<Event> = (0..4).map(|_| zmq_next_event(&zmon).event).collect();
        let ours: Vec<Event> = (0..4).map(|_| next_event(&mon).event).collect();
        assert_eq!(theirs, story);
        assert_eq!(ours, story);

        // Connecters: a libzmq PUSH and a zeroring PUSH, each connecting to
        // a zeroring PULL that then goes.
        let zpush = zmq_socket(&zctx, zmq::PUSH);
        let zmon = zmq_monitor(&zctx, &zpush, "zmon2");
        let push = socket(&ctx, Push);
        let mon = common::monitor(&ctx, &push, "mon2");
        let zserver = socket(&ctx, Pull);
        zserver.bind("tcp://127.0.0.1:0").unwrap();
        zpush
            .connect(&zserver.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        zpush.send("y", 0).unwrap();
        assert_eq!(zserver.recv_bytes(0).unwrap(), b"y");
        let server = socket(&ctx, Pull);
        server.bind("tcp://127.0.0.1:0").unwrap();
        push.connect(&server.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        push.send("y", 0).unwrap();
        assert_eq!(server.recv_bytes(0).unwrap(), b"y");
        drop((zserver, server));
        let story = [
            Event::Connected,
            Event::HandshakeSucceeded,
            Event::Disconnected,
            Event::ConnectRetried,
        ];
        let without_delay = |mut next: Box<dyn FnMut() -> Event>| -> Vec<Event> {
            std::iter::from_fn(|| Some(next()))
                .filter(|e| *e != Event::ConnectDelayed)
                .take(4)
                .collect()
        };
        assert_eq!(
            without_delay(Box::new(|| zmq_next_event(&zmon).event)),
            story
        );
        assert_eq!(without_delay(Box::new(|| next_event(&mon).event)), story);
    });
}

/// BIND_FAILED carries the errno; dropping a socket closes its listeners
/// (CLOSED) and then stops its monitor (MONITOR_STOPPED), as in libzmq.
#[test]
fn bind_failure_and_close_on_drop() {
    bounded(|| {
        let ctx = Context::new();
        let first = socket(&ctx, Pull);
        first.bind("tcp://127.0.0.1:0").unwrap();
        let taken = first.get_last_endpoint().unwrap().unwrap();

        let s = socket(&ctx, Pull);
        let mon = common::monitor(&ctx, &s, "mon");
        assert!(matches!(s.bind(&taken), Err(Error::AddrInUse(_))));
        let failed = expect_event(&mon, Event::BindFailed);
        assert_eq!(
            (failed.value, &failed.endpoint),
            (libc::EADDRINUSE as u32, &taken)
        );
        s.bind("tcp://127.0.0.1:0").unwrap();
        let listening = expect_event(&mon, Event::Listening);
        drop(s);
        let closed = expect_event(&mon, Event::Closed);
        assert_eq!(closed.value, listening.value);
        assert_eq!(closed.endpoint, listening.endpoint);
        expect_event(&mon, Event::MonitorStopped);
    });
}

/// Only the events in the mask are sent; a new monitor replaces the old,
/// which says MONITOR_STOPPED.
#[test]
fn mask_and_replacement() {
    bounded(|| {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.monitor(
            "inproc://first",
            monitor::EVENT_ACCEPTED | monitor::EVENT_DISCONNECTED,
        )
        .unwrap();
        let first = socket(&ctx, Pair);
        first.connect("inproc://first").unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let push = socket(&ctx, Push);
        push.connect(&pull.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        push.send("x", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"x");
        drop(push);
        // No LISTENING, no HANDSHAKE_SUCCEEDED: not asked for.
        expect_event(&first, Event::Accepted);
        expect_event(&first, Event::Disconnected);

        let second = common::monitor(&ctx, &pull, "second");
        // The first monitor was not asked for MONITOR_STOPPED either: its
        // socket is gone without a word.
        assert!(matches!(first.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
        pull.unbind(&pull.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        expect_event(&second, Event::Closed);
        pull.monitor("inproc://third", monitor::EVENT_ALL).unwrap();
        expect_event(&second, Event::MonitorStopped);
    });
}

#[test]
fn arguments_are_checked() {
    let ctx = Context::new();
    let s = socket(&ctx, Pull);
    assert!(matches!(
        s.monitor("tcp://127.0.0.1:5555", monitor::EVENT_ALL),
        Err(Error::TransportNotSupported(_))
    ));
    assert!(matches!(
        s.monitor("inproc://m", 0x1_0000),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.monitor("inproc://m", -1),
        Err(Error::InvalidArgument(_))
    ));
    let other = socket(&ctx, Pair);
    other.bind("inproc://taken").unwrap();
    assert!(matches!(
        s.monitor("inproc://taken", monitor::EVENT_ALL),
        Err(Error::AddrInUse(_))
    ));
    // Stopping without a monitor is fine.
    s.monitor_stop().unwrap();
}

/// Events never wait for the monitor's reader: with nobody reading (a
/// monitor pipe of 1001 messages, HWMs summed as for any inproc pair),
/// 1200 events from binds and unbinds and the I/O thread's events for a
/// new connection are dropped past the limit, and the socket carries on.
#[test]
fn a_reader_that_does_not_keep_up_never_blocks_the_socket() {
    bounded(|| {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.monitor("inproc://slow", monitor::EVENT_ALL).unwrap();
        let slow = socket(&ctx, Pair);
        slow.set_rcvhwm(1).unwrap();
        slow.connect("inproc://slow").unwrap();
        for _ in 0..600 {
            pull.bind("tcp://127.0.0.1:0").unwrap();
            pull.unbind(&pull.get_last_endpoint().unwrap().unwrap())
                .unwrap();
        }
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let push = socket(&ctx, Push);
        push.connect(&pull.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        push.send("still served", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"still served");

        let mut seen = 0;
        loop {
            match slow.recv_multipart(DONTWAIT) {
                Ok(frames) => {
                    let ev = MonitorEvent::parse(&frames).unwrap();
                    let want = if seen % 2 == 0 {
                        Event::Listening
                    } else {
                        Event::Closed
                    };
                    assert_eq!(ev.event, want, "event {seen} in order, whole");
                    seen += 1;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(seen, 1001);
    });
}
