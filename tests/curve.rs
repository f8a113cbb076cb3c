//! CURVE between zeroring sockets over tcp and ipc: the right keys pass
//! messages both ways (REQ/REP, PUB/SUB, DEALER/ROUTER), a wrong server key
//! fails the handshake with libzmq's monitor event and passes nothing, the
//! authenticator closure or a ZAP handler sees the client's key and can
//! refuse it (the User-Id of the admitted one's messages), and an ipc
//! connection still moves to shared memory after its CURVE handshake.

mod common;

use common::{expect_event, monitor, next_event, socket, BOUND};
use std::sync::mpsc;
use zeroring::monitor::{Event, ProtocolError};
use zeroring::{Context, CurveKeyPair, Socket, SocketType, DONTWAIT};

struct Keys {
    server: CurveKeyPair,
    client: CurveKeyPair,
}

fn keys() -> Keys {
    Keys {
        server: CurveKeyPair::new().unwrap(),
        client: CurveKeyPair::new().unwrap(),
    }
}

fn curve_server(s: &Socket, k: &Keys) {
    s.set_curve_server(true).unwrap();
    s.set_curve_secretkey(&k.server.secret_key).unwrap();
}

fn curve_client(s: &Socket, k: &Keys, server_key: &[u8]) {
    s.set_curve_serverkey(server_key).unwrap();
    s.set_curve_publickey(&k.client.public_key).unwrap();
    s.set_curve_secretkey(&k.client.secret_key).unwrap();
}

fn ipc_endpoint(name: &str) -> (tempdir::Dir, String) {
    let dir = tempdir::Dir::new(name);
    let ep = format!("ipc://{}", dir.0.join("sock").display());
    (dir, ep)
}

/// A directory removed when dropped (for ipc socket files).
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "zeroring-curve-{name}-{}-{:?}",
                std::process::id(),
                std::time::Instant::now()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Binds `s` on tcp (an ephemeral port) or ipc and returns the endpoint.
fn bind(s: &Socket, ipc: Option<&str>) -> String {
    match ipc {
        Some(ep) => {
            s.bind(ep).unwrap();
            ep.to_owned()
        }
        None => {
            s.bind("tcp://127.0.0.1:0").unwrap();
            s.get_last_endpoint().unwrap().unwrap()
        }
    }
}

/// For each transport and each binding side, runs `f(server, client,
/// bound_endpoint_is_servers)` with a connected CURVE pair of the types.
fn each_setup(
    server_type: SocketType,
    client_type: SocketType,
    f: impl Fn(&Socket, &Socket, &Keys),
) {
    for transport in ["tcp", "ipc"] {
        for server_binds in [true, false] {
            let ctx = Context::new();
            let k = keys();
            let server = socket(&ctx, server_type);
            let client = socket(&ctx, client_type);
            curve_server(&server, &k);
            curve_client(&client, &k, &k.server.public_key);
            let (_dir, ipc) = ipc_endpoint(transport);
            let ipc = (transport == "ipc").then_some(ipc.as_str());
            let (binder, connecter) = if server_binds {
                (&server, &client)
            } else {
                (&client, &server)
            };
            let ep = bind(binder, ipc);
            connecter.connect(&ep).unwrap();
            f(&server, &client, &k);
        }
    }
}

#[test]
fn req_rep_with_the_right_keys() {
    each_setup(SocketType::Rep, SocketType::Req, |rep, req, _| {
        for i in 0..3 {
            req.send(format!("ping {i}").as_str(), 0).unwrap();
            assert_eq!(rep.recv_bytes(0).unwrap(), format!("ping {i}").as_bytes());
            rep.send(vec![i as u8; 100_000], 0).unwrap();
            assert_eq!(req.recv_bytes(0).unwrap(), vec![i as u8; 100_000]);
        }
    });
}

#[test]
fn dealer_router_with_the_right_keys() {
    each_setup(
        SocketType::Router,
        SocketType::Dealer,
        |router, dealer, _| {
            dealer
                .send_multipart([&b"a"[..], b"", b"multi"], 0)
                .unwrap();
            let m = router.recv_multipart(0).unwrap();
            assert_eq!(&m[1..], &[b"a".to_vec(), Vec::new(), b"multi".to_vec()]);
            router
                .send_multipart([m[0].clone(), b"back".to_vec()], 0)
                .unwrap();
            assert_eq!(dealer.recv_bytes(0).unwrap(), b"back");
        },
    );
}

#[test]
fn pub_sub_with_the_right_keys_both_roles() {
    // The publisher as the CURVE server, then the subscriber.
    each_setup(SocketType::Pub, SocketType::Sub, |publisher, sub, _| {
        sub.set_subscribe(b"t").unwrap();
        pub_until_received(publisher, sub);
    });
    each_setup(SocketType::Sub, SocketType::Pub, |sub, publisher, _| {
        sub.set_subscribe(b"t").unwrap();
        pub_until_received(publisher, sub);
    });
}

/// Publishes until the subscription has reached the publisher (a slow
/// joiner's first messages are lost, as in libzmq), bounded.
fn pub_until_received(publisher: &Socket, sub: &Socket) {
    let deadline = std::time::Instant::now() + BOUND;
    loop {
        publisher.send("other", 0).unwrap();
        publisher.send("topic", 0).unwrap();
        if sub.poll(zeroring::POLLIN, 20).unwrap() > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message reached the SUB"
        );
    }
    // Only the subscribed topic arrives: the publisher filters on the
    // subscription it decrypted.
    assert_eq!(sub.recv_bytes(0).unwrap(), b"topic");
    sub.set_rcvtimeo(200).unwrap();
    while let Ok(m) = sub.recv_bytes(0) {
        assert_eq!(m, b"topic");
    }
}

#[test]
fn a_wrong_server_key_fails_with_the_libzmq_event_and_passes_nothing() {
    for transport in ["tcp", "ipc"] {
        let ctx = Context::new();
        let k = keys();
        let rep = socket(&ctx, SocketType::Rep);
        curve_server(&rep, &k);
        let server_events = monitor(&ctx, &rep, &format!("wrong-srv-{transport}"));
        let (_dir, ipc) = ipc_endpoint(transport);
        let ep = bind(&rep, (transport == "ipc").then_some(ipc.as_str()));
        let req = socket(&ctx, SocketType::Req);
        let wrong = CurveKeyPair::new().unwrap().public_key;
        curve_client(&req, &k, &wrong);
        // Its request never leaves: do not linger on it at the end.
        req.set_linger(0).unwrap();
        req.connect(&ep).unwrap();
        req.send("secret", DONTWAIT).unwrap();
        let deadline = std::time::Instant::now() + BOUND;
        loop {
            assert!(std::time::Instant::now() < deadline, "no handshake failure");
            let ev = next_event(&server_events);
            match ev.event {
                Event::HandshakeFailedProtocol(p) => {
                    assert_eq!(p, ProtocolError::ZmtpCryptographic);
                    break;
                }
                Event::HandshakeSucceeded => panic!("a wrong server key was let in"),
                _ => {}
            }
        }
        rep.set_rcvtimeo(100).unwrap();
        assert!(rep.recv_bytes(0).is_err(), "no message may pass");
    }
}

#[test]
fn the_authenticator_sees_the_client_key_and_refusal_is_auth_400() {
    for transport in ["tcp", "ipc"] {
        let ctx = Context::new();
        let k = keys();
        let pull = socket(&ctx, SocketType::Pull);
        curve_server(&pull, &k);
        pull.set_zap_domain("curve-domain").unwrap();
        let (tx, rx) = mpsc::channel();
        let allowed = k.client.public_key;
        pull.set_curve_authenticator(move |c| {
            let _ = tx.send((*c.public_key, c.public_key_z85(), c.zap_domain.to_owned()));
            *c.public_key == allowed
        })
        .unwrap();
        let (_dir, ipc) = ipc_endpoint(transport);
        let ep = bind(&pull, (transport == "ipc").then_some(ipc.as_str()));

        let good = socket(&ctx, SocketType::Push);
        curve_client(&good, &k, &k.server.public_key);
        good.connect(&ep).unwrap();
        good.send("welcome", 0).unwrap();
        let mut msg = pull.recv_msg(0).unwrap();
        assert_eq!(&msg[..], b"welcome");
        // The User-Id of an admitted CURVE client: its key in Z85.
        let z85_key = zeroring::z85_encode(&k.client.public_key).unwrap();
        assert_eq!(msg.gets("User-Id"), Some(z85_key.as_str()));
        let (key, z85, domain) = rx.recv_timeout(BOUND).unwrap();
        assert_eq!(key, k.client.public_key);
        assert_eq!(z85, zeroring::z85_encode(&k.client.public_key).unwrap());
        assert_eq!(domain, "curve-domain");

        let other = keys().client;
        let bad = socket(&ctx, SocketType::Push);
        bad.set_curve_serverkey(&k.server.public_key).unwrap();
        bad.set_curve_publickey(&other.public_key).unwrap();
        bad.set_curve_secretkey(&other.secret_key).unwrap();
        bad.set_linger(0).unwrap();
        let bad_events = monitor(&ctx, &bad, &format!("bad-{transport}"));
        bad.connect(&ep).unwrap();
        bad.send("intruder", DONTWAIT).unwrap();
        let deadline = std::time::Instant::now() + BOUND;
        loop {
            assert!(std::time::Instant::now() < deadline, "no auth failure");
            match next_event(&bad_events).event {
                Event::HandshakeFailedAuth(code) => {
                    assert_eq!(code, 400);
                    break;
                }
                Event::HandshakeSucceeded => panic!("refused client let in"),
                _ => {}
            }
        }
        assert_eq!(rx.recv_timeout(BOUND).unwrap().0, other.public_key);
        pull.set_rcvtimeo(100).unwrap();
        assert!(
            pull.recv_bytes(0).is_err(),
            "the refused client's message passed"
        );
    }
}

/// After CURVE an ipc connection between zeroring sockets moves to shared
/// memory (the metadata that offers it travelled inside CURVE's boxes).
#[test]
fn ipc_moves_to_shared_memory_after_curve() {
    let ctx = Context::new();
    let k = keys();
    let pull = socket(&ctx, SocketType::Pull);
    curve_server(&pull, &k);
    let events = monitor(&ctx, &pull, "ipc-shm");
    let (_dir, ep) = ipc_endpoint("shm");
    pull.bind(&ep).unwrap();
    let push = socket(&ctx, SocketType::Push);
    curve_client(&push, &k, &k.server.public_key);
    push.connect(&ep).unwrap();
    push.send("over curve", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"over curve");
    expect_event(&events, Event::Listening);
    expect_event(&events, Event::Accepted);
    expect_event(&events, Event::HandshakeSucceeded);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.contains("zeroring-pipe"),
        "no shared pipe segment after the CURVE handshake"
    );
    for i in 0..100 {
        push.send(format!("{i}").as_str(), 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("{i}").as_bytes());
    }
}

#[test]
fn options_follow_libzmq() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    assert_eq!(s.get_mechanism().unwrap(), zeroring::Mechanism::ZMQ_NULL);
    let pair = CurveKeyPair::new().unwrap();
    let z = zeroring::z85_encode(&pair.public_key).unwrap();
    s.set_curve_publickey(z.as_bytes()).unwrap();
    assert_eq!(s.get_mechanism().unwrap(), zeroring::Mechanism::ZMQ_CURVE);
    assert_eq!(s.get_curve_publickey().unwrap(), pair.public_key);
    s.set_curve_secretkey(&pair.secret_key).unwrap();
    assert_eq!(s.get_curve_secretkey().unwrap(), pair.secret_key);
    assert!(!s.is_curve_server().unwrap());
    s.set_curve_server(true).unwrap();
    assert!(s.is_curve_server().unwrap());
    // A server key makes it a client again; false goes back to NULL.
    s.set_curve_serverkey(&pair.public_key).unwrap();
    assert!(!s.is_curve_server().unwrap());
    assert_eq!(s.get_curve_serverkey().unwrap(), pair.public_key);
    s.set_curve_server(false).unwrap();
    assert_eq!(s.get_mechanism().unwrap(), zeroring::Mechanism::ZMQ_NULL);
    for bad in [&b"short"[..], &[b'~'; 40], &[0; 33]] {
        assert!(matches!(
            s.set_curve_secretkey(bad),
            Err(zeroring::Error::InvalidArgument(_))
        ));
    }
    assert_eq!(zeroring::has("curve"), Some(true));
    assert_eq!(
        zeroring::curve_public(&pair.secret_key).unwrap(),
        pair.public_key
    );
    assert!(!format!("{pair:?}").contains(&format!("{:?}", pair.secret_key)));
}

/// Without a closure, a CURVE server asks the context's ZAP handler (RFC
/// 27), with the client's 32-byte public key as the credential; the reply's
/// User-Id comes with the client's messages, and a 400 refuses it.
#[test]
fn a_zap_handler_gets_the_client_key_and_decides() {
    for transport in ["tcp", "ipc"] {
        let ctx = Context::new();
        let k = keys();
        let allowed = k.client.public_key;
        let zap = ctx.socket(SocketType::Router).unwrap();
        zap.bind("inproc://zeromq.zap.01").unwrap();
        zap.set_rcvtimeo(common::TIMEO_MS).unwrap();
        let (tx, requests) = mpsc::channel();
        let handler = std::thread::spawn(move || {
            // One request per client: the allowed one, then the other.
            for _ in 0..2 {
                let frames = zap.recv_multipart(0).expect("a ZAP request");
                // routing id, delimiter, version, request id, domain,
                // address, identity, mechanism, credentials.
                let req = frames[2..].to_vec();
                let ok = req[6].as_slice() == allowed.as_slice();
                let (code, user) = if ok { ("200", "trusted") } else { ("400", "") };
                let reply = vec![
                    frames[0].clone(),
                    Vec::new(),
                    b"1.0".to_vec(),
                    req[1].clone(),
                    code.as_bytes().to_vec(),
                    b"".to_vec(),
                    user.as_bytes().to_vec(),
                    Vec::new(),
                ];
                zap.send_multipart(reply, 0).unwrap();
                let _ = tx.send(req);
            }
        });
        let pull = socket(&ctx, SocketType::Pull);
        curve_server(&pull, &k);
        pull.set_zap_domain("curve-zap").unwrap();
        let (_dir, ipc) = ipc_endpoint(transport);
        let ep = bind(&pull, (transport == "ipc").then_some(ipc.as_str()));

        let good = socket(&ctx, SocketType::Push);
        curve_client(&good, &k, &k.server.public_key);
        good.connect(&ep).unwrap();
        good.send("hello", 0).unwrap();
        let mut msg = pull.recv_msg(0).unwrap();
        assert_eq!(&msg[..], b"hello");
        assert_eq!(msg.gets("User-Id"), Some("trusted"));
        let req = requests.recv_timeout(BOUND).unwrap();
        assert_eq!(req[0], b"1.0");
        assert_eq!(req[2], b"curve-zap");
        assert_eq!(req[5], b"CURVE");
        assert_eq!(req[6], k.client.public_key);

        let other = keys().client;
        let bad = socket(&ctx, SocketType::Push);
        bad.set_linger(0).unwrap();
        bad.set_curve_serverkey(&k.server.public_key).unwrap();
        bad.set_curve_publickey(&other.public_key).unwrap();
        bad.set_curve_secretkey(&other.secret_key).unwrap();
        let bad_events = monitor(&ctx, &bad, &format!("zap-bad-{transport}"));
        bad.connect(&ep).unwrap();
        bad.send("intruder", DONTWAIT).unwrap();
        let deadline = std::time::Instant::now() + BOUND;
        loop {
            assert!(std::time::Instant::now() < deadline, "no auth failure");
            match next_event(&bad_events).event {
                Event::HandshakeFailedAuth(code) => {
                    assert_eq!(code, 400);
                    break;
                }
                Event::HandshakeSucceeded => panic!("refused client let in"),
                _ => {}
            }
        }
        assert_eq!(requests.recv_timeout(BOUND).unwrap()[6], other.public_key);
        handler.join().unwrap();
        pull.set_rcvtimeo(100).unwrap();
        assert!(
            pull.recv_bytes(0).is_err(),
            "the refused client's message passed"
        );
    }
}
