//! Thread-safe sockets against libzmq 4.3.4 built with its draft API
//! (`interop/libzmq-curve-peer`, a program of its own; see
//! tests/curve_interop.rs for why): CLIENT/SERVER, SCATTER/GATHER and
//! RADIO/DISH over tcp, libzmq on either side, binding or connecting.

#[path = "support/curve_peer.rs"]
mod curve_peer;

use curve_peer::{hex, unhex, Peer};
use std::process::Command;
use std::sync::Arc;
use zeroring::{Context, Error, RoutingId, GROUP_MAX_LENGTH};
/// Our sockets' timeouts: never reached unless something hangs.
const PATIENCE_MS: i32 = 30_000;
/// The peer's: an answer within `curve_peer::ANSWER_BOUND`.
const PEER_PATIENCE_MS: i32 = 20_000;

/// A DISH's message: its group and its body.
type Grouped = (Vec<u8>, Vec<u8>);

/// The peer with the NULL mechanism.
fn start(kind: &str, bind: bool, endpoint: &str) -> Peer {
    Peer::start(kind, bind, endpoint, &["none"])
}

impl Peer {
    fn send(&mut self, data: &[u8]) {
        assert_eq!(self.cmd(&format!("send {}", hex(data))), "sent");
    }

    fn recv(&mut self) -> Vec<u8> {
        let answer = self.cmd(&format!("recv {PEER_PATIENCE_MS}"));
        unhex(
            answer
                .strip_prefix("recv ")
                .unwrap_or_else(|| panic!("the peer said {answer:?}")),
        )
    }

    /// A SERVER's receive: the routing id and the frame.
    fn recv_id(&mut self) -> (u32, Vec<u8>) {
        let answer = self.cmd(&format!("recvid {PEER_PATIENCE_MS}"));
        let rest = answer
            .strip_prefix("recv ")
            .unwrap_or_else(|| panic!("the peer said {answer:?}"));
        let (id, data) = rest.split_once(' ').unwrap_or((rest, ""));
        (id.parse().unwrap(), unhex(data))
    }

    fn send_to(&mut self, id: u32, data: &[u8]) {
        assert_eq!(self.cmd(&format!("sendto {id} {}", hex(data))), "sent");
    }

    /// A DISH's join or leave: `ok` or `error TEXT`.
    fn group_cmd(&mut self, cmd: &str, group: &[u8]) -> String {
        self.cmd(&format!("{cmd} {}", hex(group)))
    }

    /// A RADIO's send to `group`.
    fn send_group(&mut self, group: &[u8], data: &[u8]) {
        let answer = self.cmd(&format!("sendgroup {} {}", hex(group), hex(data)));
        assert_eq!(answer, "sent");
    }

    /// A DISH's receive within `ms` (at most [`PEER_PATIENCE_MS`]): the
    /// group and the body, or `None`.
    fn recv_group(&mut self, ms: i32) -> Option<Grouped> {
        let answer = self.cmd(&format!("recvgroup {}", ms.min(PEER_PATIENCE_MS)));
        if answer == "timeout" {
            return None;
        }
        let rest = answer
            .strip_prefix("recv ")
            .unwrap_or_else(|| panic!("the peer said {answer:?}"));
        let (group, data) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((unhex(group), unhex(data)))
    }
}

/// A zeroring DISH's receive within `ms`, or `None`.
fn next(dish: &zeroring::Dish, ms: i32) -> Option<Grouped> {
    dish.set_rcvtimeo(ms).unwrap();
    match dish.recv_group(0) {
        Ok(got) => Some(got),
        Err(Error::TimedOut) => None,
        Err(e) => panic!("{e}"),
    }
}

/// Sends `body` to `group` until the DISH hears it (a JOIN travels to the
/// RADIO on its own time, and a RADIO sends a group to nobody before it),
/// each try waiting a little; then takes the copies sent before the
/// first was heard, up to the mark `(group, "mark")` sent after them, so
/// that what the DISH hears next was sent after this returns.
fn until_heard(
    mut send: impl FnMut(&[u8], &[u8]),
    mut hear: impl FnMut(i32) -> Option<Grouped>,
    group: &[u8],
    body: &[u8],
) {
    for _ in 0..600 {
        send(group, body);
        let Some(got) = hear(50) else { continue };
        assert_eq!(got, (group.to_vec(), body.to_vec()));
        send(group, b"mark");
        loop {
            let got = hear(PATIENCE_MS).expect("the mark never came");
            if got.1 == b"mark" {
                assert_eq!(got.0, group);
                return;
            }
            assert_eq!(got, (group.to_vec(), body.to_vec()));
        }
    }
    panic!("{} never reached the DISH", String::from_utf8_lossy(group));
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
/// and its group frame and body arrive as `(group, body)`: only the
/// groups joined (the empty one and the longest too), none after a leave.
#[test]
fn libzmq_radio_to_zeroring_dish() {
    let long = [b'g'; GROUP_MAX_LENGTH];
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
        let mut send = |g: &[u8], m: &[u8]| radio.send_group(g, m);
        let mut hear = |ms| next(&dish, ms);
        until_heard(&mut send, &mut hear, b"tv", b"first");
        // Not joined: libzmq sends them to nobody (or we drop them).
        send(b"", b"empty");
        send(b"t", b"a prefix of tv");
        send(&long, b"long");
        send(b"tv", b"second");
        assert_eq!(
            hear(PATIENCE_MS),
            Some((b"tv".to_vec(), b"second".to_vec()))
        );
        dish.join("").unwrap();
        dish.join(long).unwrap();
        until_heard(&mut send, &mut hear, b"", b"empty");
        until_heard(&mut send, &mut hear, &long, b"long");
        dish.leave("tv").unwrap();
        send(b"tv", b"gone");
        send(b"", b"last");
        assert_eq!(hear(PATIENCE_MS), Some((b"".to_vec(), b"last".to_vec())));
    }
}

/// A zeroring RADIO to a libzmq DISH, either side binding: libzmq's JOIN
/// commands reach our RADIO (it filters at the sender: nothing would
/// arrive without them), its group frame and body arrive as libzmq's
/// group and data, only the groups joined (the longest libzmq 4.3.4 allows
/// too), and nothing of a group left (libzmq's DISH filters too, so this
/// is what its user sees; tests/threadsafe_tcp.rs shows that our RADIO
/// stops sending a group at the LEAVE).
#[test]
fn zeroring_radio_to_libzmq_dish() {
    let long = [b'g'; GROUP_MAX_LENGTH];
    for libzmq_binds in [true, false] {
        let ctx = Context::new();
        let radio = ctx.radio().unwrap();
        let mut dish = if libzmq_binds {
            let dish = start("DISH", true, "tcp://127.0.0.1:0");
            radio.connect(&dish.endpoint).unwrap();
            dish
        } else {
            radio.bind("tcp://127.0.0.1:0").unwrap();
            start("DISH", false, &radio.get_last_endpoint().unwrap())
        };
        assert_eq!(dish.group_cmd("join", b"tv"), "ok");
        let send = |g: &[u8], m: &[u8]| radio.send(g, m, 0).unwrap();
        until_heard(send, |ms| dish.recv_group(ms), b"tv", b"first");
        send(b"radio", b"not joined");
        send(b"t", b"a prefix of tv");
        send(b"", b"the empty group");
        send(&long, b"long");
        send(b"tv", b"second");
        assert_eq!(
            dish.recv_group(PATIENCE_MS),
            Some((b"tv".to_vec(), b"second".to_vec()))
        );
        assert_eq!(dish.group_cmd("join", &long), "ok");
        until_heard(send, |ms| dish.recv_group(ms), &long, b"long");
        assert_eq!(dish.group_cmd("leave", b"tv"), "ok");
        send(b"tv", b"gone");
        send(&long, b"last");
        assert_eq!(
            dish.recv_group(PATIENCE_MS),
            Some((long.to_vec(), b"last".to_vec()))
        );
    }
}

/// libzmq 4.3.4's limits on groups are ours: 255 bytes at most, each joined
/// once, only a joined one left.
#[test]
fn group_rules_are_libzmqs() {
    let mut dish = start("DISH", true, "tcp://127.0.0.1:0");
    let ctx = Context::new();
    let ours = ctx.dish().unwrap();
    let radio = ctx.radio().unwrap();
    let einval = "error Invalid argument";
    let too_long = [b'g'; GROUP_MAX_LENGTH + 1];
    assert_eq!(dish.group_cmd("join", &too_long), einval);
    assert!(matches!(
        ours.join(too_long),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        radio.send(too_long, "m", 0),
        Err(Error::InvalidArgument(_))
    ));
    let longest = [b'g'; GROUP_MAX_LENGTH];
    assert_eq!(dish.group_cmd("join", &longest), "ok");
    ours.join(longest).unwrap();
    assert_eq!(dish.group_cmd("join", &longest), einval);
    assert!(matches!(ours.join(longest), Err(Error::InvalidArgument(_))));
    assert_eq!(dish.group_cmd("leave", b"never"), einval);
    assert!(matches!(
        ours.leave("never"),
        Err(Error::InvalidArgument(_))
    ));
    radio.send(longest, "m", 0).unwrap();
}
