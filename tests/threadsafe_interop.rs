//! Thread-safe sockets against libzmq 4.3.4 built with its draft API
//! (`interop/libzmq-curve-peer`, a program of its own; see
//! tests/curve_interop.rs for why): CLIENT/SERVER and SCATTER/GATHER over
//! tcp, libzmq on either side, binding or connecting.

#[path = "support/curve_peer.rs"]
mod curve_peer;

use curve_peer::{hex, unhex, Peer};
use std::process::Command;
use std::sync::Arc;
use zeroring::{Context, RoutingId};
/// Our sockets' timeouts: never reached unless something hangs.
const PATIENCE_MS: i32 = 30_000;

/// The peer with the NULL mechanism.
fn start(kind: &str, bind: bool, endpoint: &str) -> Peer {
    Peer::start(kind, bind, endpoint, &["none"])
}

impl Peer {
    fn send(&mut self, data: &[u8]) {
        assert_eq!(self.cmd(&format!("send {}", hex(data))), "sent");
    }

    fn recv(&mut self) -> Vec<u8> {
        let answer = self.cmd("recv 20000");
        unhex(
            answer
                .strip_prefix("recv ")
                .unwrap_or_else(|| panic!("the peer said {answer:?}")),
        )
    }

    /// A SERVER's receive: the routing id and the frame.
    fn recv_id(&mut self) -> (u32, Vec<u8>) {
        let answer = self.cmd("recvid 20000");
        let rest = answer
            .strip_prefix("recv ")
            .unwrap_or_else(|| panic!("the peer said {answer:?}"));
        let (id, data) = rest.split_once(' ').unwrap_or((rest, ""));
        (id.parse().unwrap(), unhex(data))
    }

    fn send_to(&mut self, id: u32, data: &[u8]) {
        assert_eq!(self.cmd(&format!("sendto {id} {}", hex(data))), "sent");
    }
}

#[test]
fn the_peer_has_the_draft_api() {
    let program = curve_peer::curve_peer().unwrap_or_else(|why| panic!("{why}"));
    let out = Command::new(program).arg("has-draft").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "yes");
}

/// A zeroring CLIENT shared by threads, a libzmq SERVER: libzmq sees one
/// routing id for it, every message, and its replies by routing id come
/// back. Both binding sides.
#[test]
fn zeroring_client_libzmq_server() {
    for libzmq_binds in [true, false] {
        let ctx = Context::new();
        let client = Arc::new(ctx.client().unwrap());
        client.set_rcvtimeo(PATIENCE_MS).unwrap();
        client.set_sndtimeo(PATIENCE_MS).unwrap();
        let mut peer = if libzmq_binds {
            let peer = start("SERVER", true, "tcp://127.0.0.1:0");
            client.connect(&peer.endpoint).unwrap();
            peer
        } else {
            client.bind("tcp://127.0.0.1:0").unwrap();
            start("SERVER", false, &client.get_last_endpoint().unwrap())
        };
        const THREADS: u8 = 4;
        const EACH: u8 = 50;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let client = &client;
                s.spawn(move || {
                    for i in 0..EACH {
                        client.send([t, i], 0).unwrap();
                    }
                });
            }
        });
        let mut next = [0u8; THREADS as usize];
        let mut id = None;
        for _ in 0..THREADS as u32 * EACH as u32 {
            let (from, m) = peer.recv_id();
            assert_ne!(from, 0);
            assert_eq!(*id.get_or_insert(from), from);
            assert_eq!(m[1], next[m[0] as usize], "thread {}'s order", m[0]);
            next[m[0] as usize] += 1;
        }
        peer.send_to(id.unwrap(), b"reply");
        assert_eq!(client.recv_bytes(0).unwrap(), b"reply");
    }
}

/// A libzmq CLIENT, a zeroring SERVER: the routing id zeroring gives
/// takes the reply back. Both binding sides.
#[test]
fn libzmq_client_zeroring_server() {
    for libzmq_binds in [true, false] {
        let ctx = Context::new();
        let server = ctx.server().unwrap();
        server.set_rcvtimeo(PATIENCE_MS).unwrap();
        let mut peer = if libzmq_binds {
            let peer = start("CLIENT", true, "tcp://127.0.0.1:0");
            server.connect(&peer.endpoint).unwrap();
            peer
        } else {
            server.bind("tcp://127.0.0.1:0").unwrap();
            start("CLIENT", false, &server.get_last_endpoint().unwrap())
        };
        for i in 0..20u8 {
            peer.send(&[i; 3]);
            let (id, m): (RoutingId, _) = server.recv_from(0).unwrap();
            assert_eq!(m, [i; 3]);
            server.send_to(id, [i, 0xee], 0).unwrap();
            assert_eq!(peer.recv(), [i, 0xee]);
        }
    }
}

/// SCATTER/GATHER both ways between zeroring and libzmq.
#[test]
fn scatter_gather_with_libzmq() {
    let ctx = Context::new();
    // libzmq GATHER, zeroring SCATTER.
    let mut gather = start("GATHER", true, "tcp://127.0.0.1:0");
    let scatter = ctx.scatter().unwrap();
    scatter.set_sndtimeo(PATIENCE_MS).unwrap();
    scatter.connect(&gather.endpoint).unwrap();
    for i in 0..10u8 {
        scatter.send([i], 0).unwrap();
    }
    for i in 0..10u8 {
        assert_eq!(gather.recv(), [i]);
    }
    // libzmq SCATTER, zeroring GATHER.
    let ours = ctx.gather().unwrap();
    ours.set_rcvtimeo(PATIENCE_MS).unwrap();
    ours.bind("tcp://127.0.0.1:0").unwrap();
    let mut theirs = start("SCATTER", false, &ours.get_last_endpoint().unwrap());
    for i in 0..10u8 {
        theirs.send(&[i, i]);
    }
    for i in 0..10u8 {
        assert_eq!(ours.recv_bytes(0).unwrap(), [i, i]);
    }
}

/// A libzmq RADIO to a zeroring DISH, either side binding: libzmq sends
/// a group only to the peers whose JOIN it has (so our JOIN is right),
/// and its group frame and body arrive as `(group, body)`. (The peer
/// program sends with the empty group only: it has no command to set one,
/// nor to join as a DISH, so a zeroring RADIO to a libzmq DISH is not
/// tested here.)
#[test]
fn libzmq_radio_to_zeroring_dish() {
    for libzmq_binds in [true, false] {
        let ctx = Context::new();
        let dish = ctx.dish().unwrap();
        dish.join("tv").unwrap();
        let mut radio = if libzmq_binds {
            let radio = start("RADIO", true, "tcp://127.0.0.1:0");
            dish.connect(&radio.endpoint).unwrap();
            radio
        } else {
            dish.bind("tcp://127.0.0.1:0").unwrap();
            start("RADIO", false, &dish.get_last_endpoint().unwrap())
        };
        // Not joined: libzmq sends it to nobody.
        radio.send(b"before");
        dish.join("").unwrap();
        let mut heard = None;
        for _ in 0..600 {
            radio.send(b"after");
            dish.set_rcvtimeo(50).unwrap();
            match dish.recv_group(0) {
                Ok(got) => {
                    heard = Some(got);
                    break;
                }
                Err(zeroring::Error::TimedOut) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let (group, body) = heard.expect("libzmq never sent the joined group");
        assert_eq!((&group[..], &body[..]), (&b""[..], &b"after"[..]));
    }
}
