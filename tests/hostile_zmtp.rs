//! Hostile ZMTP peers that try to make a zeroring socket hold memory or a
//! connection without bound: raw bytes over a plain TcpStream (the driver
//! in `support/raw_zmtp.rs`), a monitor to see what the socket did, and a
//! well-behaved peer beside that must keep being served.

mod common;
#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;

use common::proc::{self, tell};
use common::*;
use raw_zmtp::{command, greeting, Peer};
use std::net::TcpStream;
use std::time::Duration;
use zeroring::monitor::{Event, ProtocolError};
use zeroring::{Context, Socket, SocketType};

/// A PULL server on an ephemeral tcp port with its monitor (LISTENING
/// seen) and a PUSH peer whose handshake it reported.
struct Rig {
    _ctx: Context,
    server: Socket,
    mon: Socket,
    endpoint: String,
    good: Socket,
}

fn rig(configure: impl FnOnce(&Socket)) -> Rig {
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Pull);
    configure(&server);
    let mon = monitor(&ctx, &server, "hostile-mon");
    server.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    expect_event(&mon, Event::Listening);
    let good = socket(&ctx, SocketType::Push);
    good.connect(&endpoint).unwrap();
    expect_event(&mon, Event::Accepted);
    expect_event(&mon, Event::HandshakeSucceeded);
    Rig {
        _ctx: ctx,
        server,
        mon,
        endpoint,
        good,
    }
}

impl Rig {
    /// A raw peer connected to the server, and its descriptor there.
    fn raw(&self) -> (Peer, u32) {
        let addr = self.endpoint.strip_prefix("tcp://").unwrap();
        let peer = Peer::new(TcpStream::connect(addr).unwrap(), BOUND);
        let fd = expect_event(&self.mon, Event::Accepted).value;
        (peer, fd)
    }

    fn disconnected(&self, fd: u32) {
        let ev = expect_event(&self.mon, Event::Disconnected);
        assert_eq!(ev.value, fd);
    }

    fn good_peer_still_served(&self) {
        self.good.send("from the good peer", 0).unwrap();
        assert_eq!(self.server.recv_bytes(0).unwrap(), b"from the good peer");
    }
}

/// The long-form header of a command frame announcing `size` body octets.
fn command_header(size: u64) -> Vec<u8> {
    let mut out = vec![0x06];
    out.extend_from_slice(&size.to_be_bytes());
    out
}

/// A READY announcing PUSH with one application property of `len` octets.
fn ready_with_value(len: usize) -> Vec<u8> {
    let mut props = vec![11u8];
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&4u32.to_be_bytes());
    props.extend_from_slice(b"PUSH");
    props.push(5);
    props.extend_from_slice(b"X-Big");
    props.extend_from_slice(&(len as u32).to_be_bytes());
    props.resize(props.len() + len, b'v');
    command("READY", &props)
}

/// A command announcing 64 MiB before the handshake is done is refused at
/// its header (a protocol error), not buffered until HANDSHAKE_IVL runs out.
#[test]
fn a_huge_handshake_command_is_refused_at_its_header() {
    bounded(|| {
        let rig = rig(|_| {});
        let (mut raw, fd) = rig.raw();
        let mut bytes = greeting().to_vec();
        bytes.extend(command_header(64 << 20));
        bytes.extend_from_slice(b"\x05READY");
        raw.send(&bytes);
        expect_event(
            &rig.mon,
            Event::HandshakeFailedProtocol(ProtocolError::ZmtpMalformedCommandUnspecified),
        );
        rig.disconnected(fd);
        raw.read_to_eof().unwrap();
        rig.good_peer_still_served();
    });
}

/// A READY carrying a few KiB of properties still gets through.
#[test]
fn a_large_ish_ready_is_accepted() {
    bounded(|| {
        let rig = rig(|_| {});
        let (mut raw, _) = rig.raw();
        let mut bytes = greeting().to_vec();
        bytes.extend(ready_with_value(6000));
        bytes.extend(raw_zmtp::message(b"after a 6 KB READY", false));
        raw.send(&bytes);
        expect_event(&rig.mon, Event::HandshakeSucceeded);
        assert_eq!(rig.server.recv_bytes(0).unwrap(), b"after a 6 KB READY");
        rig.good_peer_still_served();
    });
}

/// After the handshake, a peer that stops in the middle of a frame (a
/// large one read straight into the pipe, or a small one in the read
/// buffer) is disconnected once HANDSHAKE_IVL passes without a further
/// octet of it, instead of being held for ever; idle peers between frames
/// are left alone.
#[test]
fn a_frame_stalled_midway_closes_the_connection() {
    bounded(|| {
        let rig = rig(|s| s.set_handshake_ivl(300).unwrap());
        let mut large = vec![0x02];
        large.extend_from_slice(&(1u64 << 20).to_be_bytes());
        large.resize(large.len() + 1000, 7);
        let small = [&[0x00, 200][..], &[7; 10]].concat();
        for stalled in [large, small] {
            let (mut raw, fd) = rig.raw();
            raw.handshake("PUSH");
            expect_event(&rig.mon, Event::HandshakeSucceeded);
            raw.send(&raw_zmtp::message(b"whole", false));
            assert_eq!(rig.server.recv_bytes(0).unwrap(), b"whole");
            raw.send(&stalled);
            // The first connection to end is this one: the good peer,
            // silent all along, stays.
            rig.disconnected(fd);
            raw.read_to_eof().unwrap();
        }
        rig.good_peer_still_served();
    });
}

/// A frame that trickles in (an octet every 50 ms, each within
/// HANDSHAKE_IVL of the last) must still be whole within HANDSHAKE_IVL
/// plus its size at 1 MiB/s: 2 MiB, 300 ms, so about 2.3 s.
#[test]
fn a_frame_that_trickles_in_closes_the_connection() {
    bounded(|| {
        let rig = rig(|s| s.set_handshake_ivl(300).unwrap());
        let (mut raw, fd) = rig.raw();
        raw.handshake("PUSH");
        expect_event(&rig.mon, Event::HandshakeSucceeded);
        let mut header = vec![0x02];
        header.extend_from_slice(&(2u64 << 20).to_be_bytes());
        raw.send(&header);
        let mut drip = raw.stream.try_clone().unwrap();
        let dripping = std::thread::spawn(move || {
            // An attacker's pace, not a wait for anything: it stops when
            // the server hangs up.
            while std::io::Write::write_all(&mut drip, &[7]).is_ok() {
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        rig.disconnected(fd);
        raw.read_to_eof().unwrap();
        dripping.join().unwrap();
        rig.good_peer_still_served();
    });
}

/// The children these tests start: a server whose memory the parent reads
/// from outside.
#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    let s = match role[0].as_str() {
        "pull-server" => {
            let pull = socket(&ctx, SocketType::Pull);
            pull.bind("tcp://127.0.0.1:0").unwrap();
            tell(&pull.get_last_endpoint().unwrap().unwrap());
            pull
        }
        "dealer-client" => {
            let dealer = socket(&ctx, SocketType::Dealer);
            dealer.connect(&role[1]).unwrap();
            dealer
        }
        other => panic!("unknown role {other}"),
    };
    s.set_rcvtimeo(-1).unwrap();
    loop {
        let msg = s.recv_bytes(0).unwrap();
        tell(&format!("got {}", String::from_utf8_lossy(&msg)));
    }
}

/// Resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Floods `child`'s socket, which tells what it receives, with 2 M PINGs
/// from `raw` (handshake done), which never reads the PONGs; asserts that
/// the child's memory stays put.
fn flood_pings(raw: &mut Peer, child: &proc::Proc) {
    const PINGS: usize = 2_000_000;
    raw.send(&raw_zmtp::message(b"warm", false));
    child.expect("got warm", BOUND);
    let before = rss(child.child.id());
    // PINGs with the largest context a PONG echoes (16 octets), sent in
    // batches of about 1 MiB.
    let ping = command("PING", b"\x00\x00sixteen octets..");
    let per_batch = (1 << 20) / ping.len();
    let batch = ping.repeat(per_batch);
    for _ in 0..PINGS / per_batch {
        raw.send(&batch);
    }
    // Everything before this message was read and handled.
    raw.send(&raw_zmtp::message(b"after the flood", false));
    child.expect("got after the flood", BOUND);
    let grown = rss(child.child.id()).saturating_sub(before);
    assert!(
        grown < 16 << 20,
        "the flooded process grew by {} KiB",
        grown >> 10
    );
}

/// A peer that floods PINGs and never reads what comes back: the server
/// owes it one PONG at a time, not one per PING, so its memory stays put
/// (before, each PING queued a PONG without bound: here ~45 MB of them),
/// it keeps reading, and it serves a well-behaved peer meanwhile.
#[test]
fn a_ping_flood_from_a_peer_that_never_reads_costs_no_memory() {
    let child = proc::spawn(&["pull-server"]);
    let endpoint = child.next(BOUND);
    let addr = endpoint.strip_prefix("tcp://").unwrap();
    let mut raw = Peer::new(TcpStream::connect(addr).unwrap(), BOUND);
    raw.handshake("PUSH");
    flood_pings(&mut raw, &child);

    // A well-behaved peer is served; so is the flooder's next message.
    let ctx = Context::new();
    let good = socket(&ctx, SocketType::Push);
    good.connect(&endpoint).unwrap();
    good.send("from the good peer", 0).unwrap();
    child.expect("got from the good peer", BOUND);
    raw.send(&raw_zmtp::message(b"still here", false));
    child.expect("got still here", Duration::from_secs(5));
}

/// The same from a hostile server: a zeroring client that connected to it
/// owes it one PONG at a time too.
#[test]
fn a_ping_flood_from_a_server_that_never_reads_costs_the_client_no_memory() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let child = proc::spawn(&["dealer-client", &endpoint]);
    let (stream, _) = listener.accept().unwrap();
    let mut raw = Peer::new(stream, BOUND);
    raw.handshake("DEALER");
    flood_pings(&mut raw, &child);
}

// --- CURVE -----------------------------------------------------------------
//
// The hostile clients below speak CURVE through zeroring's own sans-IO
// handshake (boxes cannot be made by hand) over a raw TcpStream, and break
// the exchange where they mean to: truncated and replayed commands, a vouch
// for a key they do not hold, a MESSAGE whose nonce was used before. Each
// time the server closes that connection only, reports libzmq's event, and
// goes on serving a well-behaved CURVE client.

use std::io::Read;
use std::time::Instant;
use zeroring::zmtp::{CurveSecretKey, Handshake, HandshakeConfig, MechanismConfig, Session};

struct CurveRig {
    rig: Rig,
    server_public: [u8; 32],
}

fn curve_rig() -> CurveRig {
    let ctx = Context::new();
    let server_key = zeroring::CurveKeyPair::new().unwrap();
    let client_key = zeroring::CurveKeyPair::new().unwrap();
    let server = socket(&ctx, SocketType::Pull);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_key.secret_key).unwrap();
    let mon = monitor(&ctx, &server, "hostile-curve-mon");
    server.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    expect_event(&mon, Event::Listening);
    let good = socket(&ctx, SocketType::Push);
    good.set_curve_serverkey(&server_key.public_key).unwrap();
    good.set_curve_publickey(&client_key.public_key).unwrap();
    good.set_curve_secretkey(&client_key.secret_key).unwrap();
    good.connect(&endpoint).unwrap();
    expect_event(&mon, Event::Accepted);
    expect_event(&mon, Event::HandshakeSucceeded);
    CurveRig {
        rig: Rig {
            _ctx: ctx,
            server,
            mon,
            endpoint,
            good,
        },
        server_public: server_key.public_key,
    }
}

/// A CURVE client driven by zeroring's handshake over a raw stream, each
/// command it sends kept so it can be cut, replayed or withheld.
struct Attacker {
    raw: Peer,
    fd: u32,
    hs: Handshake,
}

impl Attacker {
    /// Connected, greeting exchanged, HELLO made (not sent). `public` is
    /// the key it claims, `secret` the one it holds.
    fn new(rig: &CurveRig, public: [u8; 32], secret: CurveSecretKey) -> (Attacker, Vec<u8>) {
        let (mut raw, fd) = rig.rig.raw();
        let mut hs = Handshake::new(HandshakeConfig {
            mechanism: MechanismConfig::curve_client(public, secret, rig.server_public),
            ..HandshakeConfig::new(SocketType::Push)
        })
        .unwrap();
        // The greetings go step by step (signature, major version, rest),
        // as libzmq's: pass each part on as the handshake makes it.
        let mut sent = 0;
        let mut theirs = [0u8; 64];
        let mut got = 0;
        while hs.peer_greeting().is_none() {
            if let Some(out) = hs.poll_transmit() {
                sent += out.len();
                raw.send(&out);
            }
            let n = raw.stream.read(&mut theirs[got..]).unwrap();
            assert!(n > 0, "the server closed the connection");
            hs.feed(&theirs[got..got + n]).unwrap();
            got += n;
        }
        // The rest of our greeting goes now, the HELLO behind it is the
        // caller's.
        let mut out = hs.poll_transmit().unwrap();
        let hello = out.split_off(64 - sent);
        raw.send(&out);
        (Attacker { raw, fd, hs }, hello)
    }

    /// A genuine client (its own key pair).
    fn honest(rig: &CurveRig) -> (Attacker, Vec<u8>) {
        let secret = CurveSecretKey::generate().unwrap();
        Attacker::new(rig, secret.public_key(), secret)
    }

    /// Reads what the server sends until the handshake has something to
    /// send back (or is ready); bounded by the stream's read timeout.
    fn answer(&mut self) -> Option<Vec<u8>> {
        let deadline = Instant::now() + BOUND;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(out) = self.hs.poll_transmit() {
                return Some(out);
            }
            if self.hs.is_ready() {
                return None;
            }
            assert!(Instant::now() < deadline, "the server never answered");
            let n = self.raw.stream.read(&mut buf).unwrap();
            assert!(n > 0, "the server closed the connection");
            self.hs.feed(&buf[..n]).unwrap();
        }
    }

    /// The server's WELCOME answered: the INITIATE to send.
    fn initiate_after(&mut self, hello: &[u8]) -> Vec<u8> {
        self.raw.send(hello);
        self.answer().expect("an INITIATE")
    }

    /// Sends INITIATE and waits for READY: the encrypted session.
    fn complete(mut self, initiate: &[u8]) -> (Peer, Session) {
        self.raw.send(initiate);
        assert_eq!(self.answer(), None);
        let (session, rest) = self.hs.into_session(Instant::now()).unwrap();
        assert!(rest.is_empty());
        (self.raw, session)
    }

    /// The server closed this connection after reporting `event`.
    fn refused(mut self, rig: &CurveRig, event: Event) {
        expect_event(
            &rig.rig.mon,
            Event::HandshakeFailedProtocol(protocol(event)),
        );
        rig.rig.disconnected(self.fd);
        self.raw.read_to_eof().unwrap();
    }
}

fn protocol(e: Event) -> ProtocolError {
    match e {
        Event::HandshakeFailedProtocol(p) => p,
        other => panic!("{other:?}"),
    }
}

fn failed(p: ProtocolError) -> Event {
    Event::HandshakeFailedProtocol(p)
}

#[test]
fn curve_a_truncated_hello_closes_only_that_connection() {
    bounded(|| {
        let rig = curve_rig();
        let (mut a, hello) = Attacker::honest(&rig);
        // The frame says 199 octets and has them: a short HELLO.
        let mut short = hello.clone();
        short[1] -= 1;
        short.pop();
        a.raw.send(&short);
        a.refused(&rig, failed(ProtocolError::ZmtpMalformedCommandHello));
        rig.rig.good_peer_still_served();
        // Cut inside the frame, then gone: the server drops it and goes on.
        let (mut a, hello) = Attacker::honest(&rig);
        a.raw.send(&hello[..100]);
        let fd = a.fd;
        drop(a);
        expect_event(&rig.rig.mon, Event::HandshakeFailedNoDetail);
        rig.rig.disconnected(fd);
        rig.rig.good_peer_still_served();
    });
}

#[test]
fn curve_a_replayed_hello_or_initiate_closes_only_that_connection() {
    bounded(|| {
        let rig = curve_rig();
        // A genuine exchange, recorded.
        let (mut a, hello) = Attacker::honest(&rig);
        let initiate = a.initiate_after(&hello);
        let (_raw, _session) = a.complete(&initiate);
        expect_event(&rig.rig.mon, Event::HandshakeSucceeded);

        // HELLO twice on one connection: the second is out of order.
        let (mut b, hello_b) = Attacker::honest(&rig);
        let _ = b.initiate_after(&hello_b);
        b.raw.send(&hello_b);
        b.refused(&rig, failed(ProtocolError::ZmtpUnexpectedCommand));

        // The recorded HELLO and INITIATE replayed on a new connection: the
        // HELLO opens (it proves nothing), the INITIATE's cookie was made
        // with another connection's cookie key.
        let (mut raw, fd) = rig.rig.raw();
        let mut g = greeting();
        g[12..17].copy_from_slice(b"CURVE");
        g[17..20].fill(0);
        raw.send(&g);
        raw.send(&hello);
        let mut theirs = [0u8; 64];
        raw.stream.read_exact(&mut theirs).unwrap();
        match raw.read_frame().unwrap() {
            Some(raw_zmtp::Frame::Command(name, _)) => assert_eq!(name, "WELCOME"),
            other => panic!("expected WELCOME, got {other:?}"),
        }
        raw.send(&initiate);
        expect_event(&rig.rig.mon, failed(ProtocolError::ZmtpCryptographic));
        rig.rig.disconnected(fd);
        raw.read_to_eof().unwrap();
        rig.rig.good_peer_still_served();
    });
}

#[test]
fn curve_a_truncated_initiate_closes_only_that_connection() {
    bounded(|| {
        let rig = curve_rig();
        let (mut a, hello) = Attacker::honest(&rig);
        let initiate = a.initiate_after(&hello);
        // Its first 256 octets as a whole frame (INITIATE needs 257).
        assert_eq!(initiate[0], 0x06, "a long command frame");
        let mut short = command_header(256);
        short.extend_from_slice(&initiate[9..9 + 256]);
        a.raw.send(&short);
        a.refused(&rig, failed(ProtocolError::ZmtpMalformedCommandInitiate));
        rig.rig.good_peer_still_served();
    });
}

#[test]
fn curve_a_vouch_for_a_key_the_client_does_not_hold_is_refused() {
    bounded(|| {
        let rig = curve_rig();
        let claimed = zeroring::CurveKeyPair::new().unwrap().public_key;
        let (mut a, hello) = Attacker::new(&rig, claimed, CurveSecretKey::generate().unwrap());
        let initiate = a.initiate_after(&hello);
        a.raw.send(&initiate);
        a.refused(&rig, failed(ProtocolError::ZmtpCryptographic));
        rig.rig.good_peer_still_served();
    });
}

#[test]
fn curve_a_message_with_a_reused_nonce_closes_only_that_connection() {
    bounded(|| {
        let rig = curve_rig();
        let (mut a, hello) = Attacker::honest(&rig);
        let initiate = a.initiate_after(&hello);
        let fd = a.fd;
        let (mut raw, mut session) = a.complete(&initiate);
        expect_event(&rig.rig.mon, Event::HandshakeSucceeded);
        session.send_frame(b"once", false);
        let frame = session.poll_transmit().unwrap();
        raw.send(&frame);
        assert_eq!(rig.rig.server.recv_bytes(0).unwrap(), b"once");
        // The same MESSAGE again: its nonce is not above the last.
        raw.send(&frame);
        expect_event(&rig.rig.mon, failed(ProtocolError::ZmtpInvalidSequence));
        rig.rig.disconnected(fd);
        raw.read_to_eof().unwrap();
        rig.rig.server.set_rcvtimeo(100).unwrap();
        assert!(
            rig.rig.server.recv_bytes(0).is_err(),
            "the replay was delivered"
        );
        rig.rig.server.set_rcvtimeo(TIMEO_MS).unwrap();
        rig.rig.good_peer_still_served();

        // A forged MESSAGE (a flipped bit in its box) likewise.
        let (mut a, hello) = Attacker::honest(&rig);
        let initiate = a.initiate_after(&hello);
        let fd = a.fd;
        let (mut raw, mut session) = a.complete(&initiate);
        expect_event(&rig.rig.mon, Event::HandshakeSucceeded);
        session.send_frame(b"forged", false);
        let mut frame = session.poll_transmit().unwrap();
        *frame.last_mut().unwrap() ^= 1;
        raw.send(&frame);
        expect_event(&rig.rig.mon, failed(ProtocolError::ZmtpCryptographic));
        rig.rig.disconnected(fd);
        rig.rig.good_peer_still_served();
    });
}

/// Before authentication a CURVE server holds at most a handshake
/// command's worth per connection: a command announcing 64 MiB is refused
/// at its header.
#[test]
fn curve_memory_stays_bounded_before_authentication() {
    bounded(|| {
        let rig = curve_rig();
        let (mut raw, fd) = rig.rig.raw();
        let mut g = greeting();
        g[12..17].copy_from_slice(b"CURVE");
        g[17..20].fill(0);
        let mut bytes = g.to_vec();
        bytes.extend(command_header(64 << 20));
        bytes.extend_from_slice(b"\x05HELLO");
        raw.send(&bytes);
        expect_event(
            &rig.rig.mon,
            failed(ProtocolError::ZmtpMalformedCommandUnspecified),
        );
        rig.rig.disconnected(fd);
        raw.read_to_eof().unwrap();
        rig.rig.good_peer_still_served();
    });
}
