//! The `zmq` crate's API on zeroring (`use zeroring as zmq;`): what its
//! programs rely on beyond what compiles, checked against zeroring's own.

mod common;
use common::*;
use zeroring as zmq;

#[test]
fn an_expired_timeout_is_eagain_to_zmq_code_and_timed_out_to_ours() {
    let ctx = zmq::Context::new();
    let (pull, _push) = pair_of(&ctx, zmq::PULL, zmq::PUSH, "inproc://zmq-api-timeo");
    pull.set_rcvtimeo(10).unwrap();
    let e = pull.recv_bytes(0).unwrap_err();
    // How zmq-crate programs catch it ...
    assert_eq!(e, zmq::Error::EAGAIN);
    assert_eq!(e.to_raw(), libc::EAGAIN);
    assert_eq!(
        std::io::Error::from(e).kind(),
        std::io::ErrorKind::WouldBlock
    );
    // ... and zeroring's own API still tells a timeout from DONTWAIT.
    let e = pull.recv_bytes(0).unwrap_err();
    assert!(matches!(e, zmq::Error::TimedOut), "{e}");
    assert!(matches!(
        pull.recv_bytes(zmq::DONTWAIT),
        Err(zmq::Error::WouldBlock)
    ));
    assert_ne!(e, zmq::Error::ETERM);
}

#[test]
fn messages_carry_their_more_flag_and_text() {
    let ctx = zmq::Context::new();
    let (a, b) = pair_of(&ctx, zmq::PAIR, zmq::PAIR, "inproc://zmq-api-msg");
    b.send(zmq::Message::from("key"), zmq::SNDMORE).unwrap();
    b.send_msg(zmq::Message::from(vec![0xff, 0xfe]), 0).unwrap();
    let mut msg = zmq::Message::new();
    a.recv(&mut msg, 0).unwrap();
    assert!(msg.get_more());
    assert_eq!(msg.as_str(), Some("key"));
    assert_eq!(&msg[..], b"key");
    // Not UTF-8: the bytes come back whole.
    assert_eq!(a.recv_string(0).unwrap(), Err(vec![0xff, 0xfe]));
    assert!(!a.get_rcvmore().unwrap());
}

#[test]
fn set_identity_names_a_peer_to_a_router_and_proxy_takes_two_sockets() {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    router.bind("inproc://zmq-api-front").unwrap();
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.bind("inproc://zmq-api-back").unwrap();
    let proxy_ctx = ctx.clone();
    let proxy = std::thread::spawn(move || zmq::proxy(&router, &dealer));

    let worker = socket(&proxy_ctx, zmq::REP);
    worker.connect("inproc://zmq-api-back").unwrap();
    let client = socket(&ctx, zmq::REQ);
    client.set_identity(b"client-1").unwrap();
    assert_eq!(client.get_identity().unwrap(), b"client-1");
    client.connect("inproc://zmq-api-front").unwrap();
    client.send("ping", 0).unwrap();

    let (worker, request) = bounded(move || {
        assert_eq!(worker.poll(zmq::POLLIN, -1).unwrap(), 1);
        let request = worker.recv_string(0).unwrap().unwrap();
        worker.send("pong", 0).unwrap();
        (worker, request)
    });
    assert_eq!(request, "ping");
    assert_eq!(client.recv_string(0).unwrap().unwrap(), "pong");
    drop((worker, client));
    ctx.shutdown();
    assert_eq!(
        bounded(move || proxy.join().unwrap()).unwrap_err(),
        zmq::Error::ETERM
    );
}

#[test]
fn monitor_events_read_as_the_zmq_crates_socket_events() {
    let ctx = zmq::Context::new();
    let server = socket(&ctx, zmq::REP);
    server
        .monitor("inproc://zmq-api-mon", zmq::SocketEvent::ALL as i32)
        .unwrap();
    let events = socket(&ctx, zmq::PAIR);
    events.connect("inproc://zmq-api-mon").unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let msg = events.recv_msg(0).unwrap();
    let id = u16::from_ne_bytes([msg[0], msg[1]]);
    assert_eq!(zmq::SocketEvent::from_raw(id), zmq::SocketEvent::LISTENING);
    assert_eq!(
        events.recv_string(0).unwrap(),
        server.get_last_endpoint().unwrap()
    );
}

#[test]
fn errnos_and_versions_as_the_zmq_crate_reports_them() {
    assert_eq!(zmq::Error::from_raw(libc::EINTR), zmq::Error::EINTR);
    assert_eq!(zmq::Error::from_raw(12345).to_raw(), 12345);
    assert_eq!(
        zmq::Error::EFSM.message(),
        "Operation cannot be accomplished in current state"
    );
    assert_eq!(zmq::version().0, 4);
    assert_eq!(zmq::has("ipc"), Some(true));
    assert_eq!(zmq::has("curve"), Some(true));
    assert_eq!(zmq::Error::Interrupted.to_raw(), libc::EINTR);
    let ctx = zmq::Context::new();
    let stream = ctx.socket(zmq::STREAM).unwrap();
    assert_eq!(stream.get_socket_type().unwrap(), zmq::STREAM);
}
