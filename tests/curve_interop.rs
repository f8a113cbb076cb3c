//! CURVE against libzmq 4.3.4 built with CURVE (libsodium): REQ/REP,
//! PUB/SUB and DEALER/ROUTER, libzmq in either CURVE role, with either
//! socket type, binding or connecting. The right keys pass messages both
//! ways; a wrong server key fails with libzmq's event
//! (`HANDSHAKE_FAILED_PROTOCOL`, `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`) on
//! the server's side, whichever library it is, and no message passes.
//!
//! The `zmq` crate's libzmq has no CURVE, and a second static libzmq in
//! this binary would clash with it on every symbol, so libzmq runs as a
//! separate program: `interop/libzmq-curve-peer`, built here on first use
//! (or taken from `ZERORING_CURVE_PEER`, as CI builds it beforehand).

mod common;
#[path = "support/curve_peer.rs"]
mod curve_peer;

use curve_peer::{hex, unhex, Peer};

use common::{monitor, next_event, socket, BOUND};
use std::time::Instant;
use zeroring::monitor::{Event, ProtocolError};
use zeroring::{z85_encode, Context, CurveKeyPair, Socket, SocketType};

/// libzmq's `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`.
const EVENT_HANDSHAKE_FAILED_PROTOCOL: u32 = 0x2000;
/// libzmq's `ZMQ_EVENT_HANDSHAKE_SUCCEEDED`.
const EVENT_HANDSHAKE_SUCCEEDED: u32 = 0x1000;
/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
const ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;

impl Peer {
    fn send(&mut self, frames: &[&[u8]]) {
        let hex: Vec<String> = frames.iter().map(|f| hex(f)).collect();
        assert_eq!(self.cmd(&format!("send {}", hex.join(","))), "sent");
    }

    /// The next message within `ms`, if any.
    fn recv(&mut self, ms: u32) -> Option<Vec<Vec<u8>>> {
        let answer = self.cmd(&format!("recv {ms}"));
        if answer == "timeout" {
            return None;
        }
        let frames = answer
            .strip_prefix("recv ")
            .unwrap_or_else(|| panic!("the peer said {answer:?}"));
        Some(frames.split(',').map(unhex).collect())
    }

    /// Waits for a libzmq monitor event; its value.
    fn event(&mut self, id: u32) -> u32 {
        let answer = self.cmd(&format!("event {id}"));
        let rest = answer
            .strip_prefix(&format!("event {id} "))
            .unwrap_or_else(|| panic!("no libzmq event {id:#x}: {answer:?}"));
        rest.parse().unwrap()
    }
}

fn libzmq_name(t: SocketType) -> &'static str {
    t.name()
}

/// One setup: which socket type libzmq plays, whether it is the CURVE
/// server, whether it binds.
#[derive(Debug, Clone, Copy)]
struct Setup {
    libzmq: SocketType,
    ours: SocketType,
    libzmq_is_server: bool,
    libzmq_binds: bool,
}

fn setups() -> Vec<Setup> {
    let mut all = Vec::new();
    for (a, b) in [
        (SocketType::Req, SocketType::Rep),
        (SocketType::Pub, SocketType::Sub),
        (SocketType::Dealer, SocketType::Router),
    ] {
        for (libzmq, ours) in [(a, b), (b, a)] {
            for libzmq_is_server in [true, false] {
                for libzmq_binds in [true, false] {
                    all.push(Setup {
                        libzmq,
                        ours,
                        libzmq_is_server,
                        libzmq_binds,
                    });
                }
            }
        }
    }
    all
}

/// The two sides of a setup, connected; `server_key_for_client` is the key
/// the CURVE client is given (the right one or not).
fn connect(ctx: &Context, s: Setup, wrong_server_key: bool) -> (Socket, Peer, Socket) {
    let server = CurveKeyPair::new().unwrap();
    let client = CurveKeyPair::new().unwrap();
    let server_public = if wrong_server_key {
        CurveKeyPair::new().unwrap().public_key
    } else {
        server.public_key
    };
    let z = |k: &[u8; 32]| z85_encode(k).unwrap();
    let ours = socket(ctx, s.ours);
    ours.set_linger(0).unwrap();
    let events = monitor(ctx, &ours, &format!("curve-interop-{}", rand_name()));
    let role: Vec<String> = if s.libzmq_is_server {
        ours.set_curve_serverkey(&server_public).unwrap();
        ours.set_curve_publickey(&client.public_key).unwrap();
        ours.set_curve_secretkey(&client.secret_key).unwrap();
        vec!["server".into(), z(&server.secret_key)]
    } else {
        ours.set_curve_server(true).unwrap();
        ours.set_curve_secretkey(&server.secret_key).unwrap();
        vec!["client".into(), z(&client.secret_key), z(&server_public)]
    };
    let role: Vec<&str> = role.iter().map(String::as_str).collect();
    let peer = if s.libzmq_binds {
        let peer = Peer::start(libzmq_name(s.libzmq), true, "tcp://127.0.0.1:0", &role);
        ours.connect(&peer.endpoint).unwrap();
        peer
    } else {
        ours.bind("tcp://127.0.0.1:0").unwrap();
        let ep = ours.get_last_endpoint().unwrap().unwrap();
        Peer::start(libzmq_name(s.libzmq), false, &ep, &role)
    };
    (ours, peer, events)
}

fn rand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Sends one message each way (or, for PUB/SUB, publishes until the
/// subscriber has one) and checks what arrives.
fn exchange(s: Setup, ours: &Socket, peer: &mut Peer) {
    use SocketType::*;
    match (s.ours, s.libzmq) {
        (Req, Rep) => {
            ours.send("hello", 0).unwrap();
            assert_eq!(peer.recv(10_000), Some(vec![b"hello".to_vec()]));
            peer.send(&[b"world"]);
            assert_eq!(ours.recv_bytes(0).unwrap(), b"world");
        }
        (Rep, Req) => {
            peer.send(&[b"hello"]);
            assert_eq!(ours.recv_bytes(0).unwrap(), b"hello");
            ours.send("world", 0).unwrap();
            assert_eq!(peer.recv(10_000), Some(vec![b"world".to_vec()]));
        }
        (Dealer, Router) => {
            ours.send_multipart([&b""[..], b"hello"], 0).unwrap();
            let m = peer.recv(10_000).expect("the ROUTER gets it");
            assert_eq!(&m[1..], &[Vec::new(), b"hello".to_vec()]);
            peer.send(&[&m[0], b"", b"world"]);
            assert_eq!(
                ours.recv_multipart(0).unwrap(),
                vec![Vec::new(), b"world".to_vec()]
            );
        }
        (Router, Dealer) => {
            peer.send(&[b"", b"hello"]);
            let m = ours.recv_multipart(0).unwrap();
            assert_eq!(&m[1..], &[Vec::new(), b"hello".to_vec()]);
            ours.send_multipart([m[0].clone(), Vec::new(), b"world".to_vec()], 0)
                .unwrap();
            assert_eq!(peer.recv(10_000), Some(vec![Vec::new(), b"world".to_vec()]));
        }
        (Pub, Sub) => {
            assert_eq!(peer.cmd(&format!("sub {}", hex(b"t"))), "ok");
            let deadline = Instant::now() + BOUND;
            let got = loop {
                ours.send("other", 0).unwrap();
                ours.send("tick", 0).unwrap();
                if let Some(m) = peer.recv(50) {
                    break m;
                }
                assert!(Instant::now() < deadline, "nothing reached the libzmq SUB");
            };
            // Filtered by the subscription zeroring decrypted.
            assert_eq!(got, vec![b"tick".to_vec()]);
        }
        (Sub, Pub) => {
            ours.set_subscribe(b"t").unwrap();
            let deadline = Instant::now() + BOUND;
            loop {
                peer.send(&[b"other"]);
                peer.send(&[b"tick"]);
                if ours.poll(zeroring::POLLIN, 50).unwrap() > 0 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "nothing reached the zeroring SUB"
                );
            }
            assert_eq!(ours.recv_bytes(0).unwrap(), b"tick");
        }
        other => panic!("not a pattern: {other:?}"),
    }
}

#[test]
fn right_keys_work_in_every_role_and_binding_side() {
    for s in setups() {
        let ctx = Context::new();
        let (ours, mut peer, _events) = connect(&ctx, s, false);
        exchange(s, &ours, &mut peer);
        assert_eq!(peer.event(EVENT_HANDSHAKE_SUCCEEDED), 0, "{s:?}");
    }
}

#[test]
fn a_wrong_server_key_fails_with_libzmqs_event_and_passes_nothing() {
    for s in setups() {
        let ctx = Context::new();
        let (ours, mut peer, events) = connect(&ctx, s, true);
        // Whoever can send, sends (a SUB subscribes); nothing may arrive.
        match s.ours {
            SocketType::Req | SocketType::Dealer | SocketType::Pub => {
                let _ = ours.send("secret", zeroring::DONTWAIT);
            }
            SocketType::Sub => ours.set_subscribe(b"").unwrap(),
            _ => {}
        }
        if matches!(
            s.libzmq,
            SocketType::Req | SocketType::Dealer | SocketType::Pub
        ) {
            // libzmq queues it until a handshake succeeds, which none does.
            let _ = peer.cmd("trysend 736563726574");
        }
        if s.libzmq_is_server {
            // libzmq's server cannot open our HELLO.
            assert_eq!(
                peer.event(EVENT_HANDSHAKE_FAILED_PROTOCOL),
                ZMTP_CRYPTOGRAPHIC,
                "{s:?}"
            );
        } else {
            let deadline = Instant::now() + BOUND;
            loop {
                assert!(Instant::now() < deadline, "no failure reported: {s:?}");
                match next_event(&events).event {
                    Event::HandshakeFailedProtocol(p) => {
                        assert_eq!(p, ProtocolError::ZmtpCryptographic, "{s:?}");
                        break;
                    }
                    Event::HandshakeSucceeded => panic!("a wrong server key got in: {s:?}"),
                    _ => {}
                }
            }
        }
        assert_eq!(peer.recv(200), None, "a message reached libzmq: {s:?}");
        ours.set_rcvtimeo(200).unwrap();
        if !matches!(s.ours, SocketType::Pub) {
            assert!(
                ours.recv_bytes(0).is_err(),
                "a message reached zeroring: {s:?}"
            );
        }
    }
}
