//! Bad peers on the wire: a test speaks ZMTP bytes over a plain TcpStream
//! to a zeroring socket with a monitor, and checks that each misbehaviour
//! closes that connection with the right event, while a well-behaved peer
//! connected alongside keeps being served.

mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use zeroring::monitor::{Event, ProtocolError};
use zeroring::zmtp::{Command, Frame, FrameDecoder, Greeting, MechanismName, Metadata};
use zeroring::{Context, Socket, SocketType, DONTWAIT};

/// A hand-driven ZMTP peer.
struct Raw {
    stream: TcpStream,
    decoder: FrameDecoder,
    /// Octets read past the last frame handed out.
    pending: Vec<u8>,
    /// The other side's greeting, once read.
    greeting: Option<[u8; 64]>,
}

impl Raw {
    fn connect(endpoint: &str) -> Raw {
        let addr = endpoint.strip_prefix("tcp://").unwrap();
        let stream = TcpStream::connect(addr).unwrap();
        // A read that hangs fails the test instead.
        stream.set_read_timeout(Some(BOUND)).unwrap();
        Raw {
            stream,
            decoder: FrameDecoder::new(None),
            pending: Vec::new(),
            greeting: None,
        }
    }

    /// Sends octets in one write. A peer that already closed on us may
    /// refuse them; that is its right, and what the test looks at is how
    /// it closed.
    fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// ZMTP 3.`minor` greeting with `mechanism`, and for NULL a READY
    /// announcing `socket_type`.
    fn handshake(&mut self, minor: u8, socket_type: &str) {
        let mut out = greeting(minor, "NULL").to_vec();
        out.extend(ready(socket_type));
        self.send(&out);
    }

    /// The other side's greeting.
    fn read_greeting(&mut self) -> [u8; 64] {
        while self.greeting.is_none() {
            assert!(self.fill(), "closed before its greeting");
        }
        self.greeting.unwrap()
    }

    /// Reads what comes (the greeting first); false once the other side closed.
    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        let n = match self.stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("reading from the socket under test: {e}"),
        };
        self.pending.extend_from_slice(&buf[..n]);
        if self.greeting.is_none() && self.pending.len() >= 64 {
            let g: Vec<u8> = self.pending.drain(..64).collect();
            self.greeting = g.try_into().ok();
        }
        n > 0
    }

    /// The next frame after the greeting, or `None` once the other side
    /// closed.
    fn frame(&mut self) -> Option<Frame> {
        loop {
            if self.greeting.is_some() {
                let (n, frame) = self.decoder.decode(&self.pending).unwrap();
                self.pending.drain(..n);
                if frame.is_some() {
                    return frame;
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads until the other side closes; the frames that came first.
    fn until_closed(&mut self) -> Vec<Frame> {
        std::iter::from_fn(|| self.frame()).collect()
    }
}

fn greeting(minor: u8, mechanism: &str) -> [u8; 64] {
    Greeting {
        major: 3,
        minor,
        mechanism: MechanismName::new(mechanism).unwrap(),
        as_server: false,
    }
    .encode()
}

fn ready(socket_type: &str) -> Vec<u8> {
    let mut md = Metadata::new();
    md.push("Socket-Type", socket_type);
    let mut out = Vec::new();
    Command::Ready(md).encode_frame(&mut out);
    out
}

/// A message frame with any flags octet (short size).
fn raw_frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![flags, body.len() as u8];
    out.extend_from_slice(body);
    out
}

/// A socket of `kind` bound on an ephemeral port, its monitor (LISTENING
/// seen), and a well-behaved zeroring peer of `peer_kind` whose handshake
/// the monitor has reported.
struct Rig {
    server: Socket,
    mon: Socket,
    endpoint: String,
    good: Socket,
}

fn rig(kind: SocketType, peer_kind: SocketType, maxmsgsize: i64) -> Rig {
    let ctx = Context::new();
    let server = socket(&ctx, kind);
    server.set_maxmsgsize(maxmsgsize).unwrap();
    let mon = monitor(&ctx, &server, "raw-mon");
    server.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    assert_eq!(expect_event(&mon, Event::Listening).endpoint, endpoint);
    let good = socket(&ctx, peer_kind);
    good.connect(&endpoint).unwrap();
    expect_event(&mon, Event::Accepted);
    expect_event(&mon, Event::HandshakeSucceeded);
    Rig {
        server,
        mon,
        endpoint,
        good,
    }
}

impl Rig {
    /// The raw peer's connection is accepted; its descriptor.
    fn accepted(&self) -> u32 {
        let ev = expect_event(&self.mon, Event::Accepted);
        assert_eq!(ev.endpoint, self.endpoint);
        ev.value
    }

    /// The connection with descriptor `fd` ended.
    fn disconnected(&self, fd: u32) {
        let ev = expect_event(&self.mon, Event::Disconnected);
        assert_eq!(
            (ev.value, ev.endpoint.as_str()),
            (fd, self.endpoint.as_str())
        );
    }

    /// The well-behaved PUSH peer still gets through to the PULL server,
    /// and nothing else is waiting there.
    fn good_peer_still_served(&self) {
        self.good.send("from the good peer", 0).unwrap();
        assert_eq!(self.server.recv_bytes(0).unwrap(), b"from the good peer");
        assert!(matches!(
            self.server.recv_bytes(DONTWAIT),
            Err(zeroring::Error::WouldBlock)
        ));
    }
}

/// (a) A ZMTP 3.0 peer is served: its handshake succeeds and its 3.0-style
/// subscription messages (`0x01`/`0x00` + topic) work, next to a 3.1 peer.
#[test]
fn zmtp_3_0_subscriber_is_served() {
    bounded(|| {
        let Rig {
            server: xpub,
            mon,
            endpoint,
            good: sub,
        } = rig(SocketType::XPub, SocketType::Sub, -1);
        // Every subscription and cancel reaches the application, duplicates too.
        xpub.set_xpub_verboser(true).unwrap();
        sub.set_subscribe(b"topic").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01topic");

        let mut raw = Raw::connect(&endpoint);
        let fd = expect_event(&mon, Event::Accepted).value;
        raw.handshake(0, "SUB");
        let g = raw.read_greeting();
        assert_eq!((g[0], g[9], g[10]), (0xFF, 0x7F, 3));
        expect_event(&mon, Event::HandshakeSucceeded);
        let Some(Frame { body, .. }) = raw.frame() else {
            panic!("no READY")
        };
        assert!(matches!(Command::decode(&body).unwrap(), Command::Ready(_)));

        raw.send(&raw_frame(0, b"\x01topic"));
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01topic");
        xpub.send("other: filtered out", 0).unwrap();
        xpub.send("topic: one", 0).unwrap();
        let f = raw.frame().unwrap();
        assert_eq!((f.body.as_slice(), f.more()), (&b"topic: one"[..], false));
        assert_eq!(sub.recv_bytes(0).unwrap(), b"topic: one");

        raw.send(&raw_frame(0, b"\x00topic"));
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00topic");
        drop(raw);
        let ev = expect_event(&mon, Event::Disconnected);
        assert_eq!(ev.value, fd);
        xpub.send("topic: two", 0).unwrap();
        assert_eq!(sub.recv_bytes(0).unwrap(), b"topic: two");
    });
}

/// (b) Something that is not ZMTP (an HTTP request) is dropped with a
/// protocol failure.
#[test]
fn bad_greeting_is_dropped() {
    bounded(|| {
        let rig = rig(SocketType::Pull, SocketType::Push, -1);
        let mut raw = Raw::connect(&rig.endpoint);
        let fd = rig.accepted();
        raw.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(
            expect_event(
                &rig.mon,
                Event::HandshakeFailedProtocol(ProtocolError::ZmtpUnspecified)
            )
            .endpoint,
            rig.endpoint
        );
        rig.disconnected(fd);
        assert!(raw.until_closed().is_empty());
        rig.good_peer_still_served();
    });
}

/// (c) Another security mechanism than ours: MECHANISM_MISMATCH, as libzmq.
#[test]
fn wrong_mechanism_is_dropped() {
    bounded(|| {
        let rig = rig(SocketType::Pull, SocketType::Push, -1);
        for mechanism in ["CURVE", "BOGUS"] {
            let mut raw = Raw::connect(&rig.endpoint);
            let fd = rig.accepted();
            raw.send(&greeting(1, mechanism));
            expect_event(
                &rig.mon,
                Event::HandshakeFailedProtocol(ProtocolError::ZmtpMechanismMismatch),
            );
            rig.disconnected(fd);
            raw.until_closed();
        }
        rig.good_peer_still_served();
    });
}

/// (c') libzmq reports a wrong mechanism with the same events.
#[test]
fn wrong_mechanism_events_match_libzmq() {
    bounded(|| {
        let zctx = zmq::Context::new();
        let zpull = zctx.socket(zmq::PULL).unwrap();
        zpull.set_linger(0).unwrap();
        zpull
            .monitor("inproc://zmon", zmq::SocketEvent::ALL.to_raw().into())
            .unwrap();
        let zmon = zctx.socket(zmq::PAIR).unwrap();
        zmon.set_rcvtimeo(TIMEO_MS).unwrap();
        zmon.connect("inproc://zmon").unwrap();
        zpull.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = zpull.get_last_endpoint().unwrap().unwrap();
        let mut raw = Raw::connect(&endpoint);
        raw.send(&greeting(1, "CURVE"));
        raw.until_closed();
        let events: Vec<Event> = std::iter::from_fn(|| {
            let frames = zmon.recv_multipart(0).expect("libzmq monitor event");
            Some(zeroring::MonitorEvent::parse(&frames).unwrap().event)
        })
        .take(4)
        .collect();
        assert_eq!(
            events,
            [
                Event::Listening,
                Event::Accepted,
                Event::HandshakeFailedProtocol(ProtocolError::ZmtpMechanismMismatch),
                Event::Disconnected,
            ]
        );
    });
}

/// (d) A frame with reserved flag bits after the handshake: what came
/// before it is delivered, then the connection is closed.
#[test]
fn reserved_flag_bits_close_the_connection() {
    bounded(|| {
        let rig = rig(SocketType::Pull, SocketType::Push, -1);
        let mut raw = Raw::connect(&rig.endpoint);
        let fd = rig.accepted();
        raw.handshake(1, "PUSH");
        expect_event(&rig.mon, Event::HandshakeSucceeded);
        let mut bytes = raw_frame(0, b"fine");
        bytes.extend(raw_frame(0x08, b"reserved bit 3"));
        raw.send(&bytes);
        assert_eq!(rig.server.recv_bytes(0).unwrap(), b"fine");
        rig.disconnected(fd);
        raw.read_greeting();
        raw.until_closed();
        rig.good_peer_still_served();
    });
}

/// The octets of a frame header announcing `size` body octets (long form).
fn long_header(size: u64) -> Vec<u8> {
    let mut out = vec![0x02];
    out.extend_from_slice(&size.to_be_bytes());
    out
}

/// (e) A frame above MAXMSGSIZE closes the connection at its header,
/// whatever size it claims; libzmq closes it too.
#[test]
fn frame_over_maxmsgsize_closes_the_connection() {
    bounded(|| {
        let rig = rig(SocketType::Pull, SocketType::Push, 64);
        for header in [raw_frame(0, &[7; 65])[..2].to_vec(), long_header(1 << 40)] {
            let mut raw = Raw::connect(&rig.endpoint);
            let fd = rig.accepted();
            raw.handshake(1, "PUSH");
            expect_event(&rig.mon, Event::HandshakeSucceeded);
            let mut bytes = raw_frame(0, &[1; 64]);
            bytes.extend(&header);
            raw.send(&bytes);
            assert_eq!(rig.server.recv_bytes(0).unwrap(), [1; 64]);
            rig.disconnected(fd);
            raw.until_closed();
        }
        rig.good_peer_still_served();

        let zctx = zmq::Context::new();
        let zpull = zctx.socket(zmq::PULL).unwrap();
        zpull.set_linger(0).unwrap();
        zpull.set_maxmsgsize(64).unwrap();
        zpull.set_rcvtimeo(TIMEO_MS).unwrap();
        zpull.bind("tcp://127.0.0.1:*").unwrap();
        let mut raw = Raw::connect(&zpull.get_last_endpoint().unwrap().unwrap());
        raw.handshake(1, "PUSH");
        // libzmq takes frames that arrive before its READY left for
        // handshake commands, so wait for that READY.
        raw.frame().expect("libzmq's READY");
        let mut bytes = raw_frame(0, &[1; 64]);
        bytes.extend(long_header(1 << 40));
        raw.send(&bytes);
        assert_eq!(zpull.recv_bytes(0).unwrap(), [1; 64]);
        raw.until_closed();
    });
}

/// (f) A peer that sends a message's first frame and half of the second,
/// then goes: the socket receives nothing of that message.
#[test]
fn message_cut_short_is_never_delivered() {
    bounded(|| {
        let rig = rig(SocketType::Pull, SocketType::Push, -1);
        let mut raw = Raw::connect(&rig.endpoint);
        let fd = rig.accepted();
        raw.handshake(1, "PUSH");
        expect_event(&rig.mon, Event::HandshakeSucceeded);
        let mut bytes = raw_frame(0x01, b"first frame, MORE");
        bytes.extend(&raw_frame(0, b"0123456789")[..7]);
        raw.send(&bytes);
        raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
        rig.disconnected(fd);
        raw.read_greeting();
        raw.until_closed();
        rig.good_peer_still_served();
    });
}

/// (g) A peer whose socket type cannot talk to ours gets an ERROR and is
/// closed; the monitor says INVALID_METADATA.
#[test]
fn wrong_socket_type_gets_error_and_is_closed() {
    bounded(|| {
        let rig = rig(SocketType::Push, SocketType::Pull, -1);
        let mut raw = Raw::connect(&rig.endpoint);
        let fd = rig.accepted();
        raw.handshake(1, "PUSH");
        expect_event(
            &rig.mon,
            Event::HandshakeFailedProtocol(ProtocolError::ZmtpInvalidMetadata),
        );
        rig.disconnected(fd);
        raw.read_greeting();
        let commands: Vec<Command> = raw
            .until_closed()
            .iter()
            .map(|f| Command::decode(&f.body).unwrap())
            .collect();
        assert!(
            matches!(
                commands.as_slice(),
                [Command::Ready(_), Command::Error { .. }]
            ),
            "{commands:?}"
        );
        // The PUSH server's messages all go to the good peer.
        for i in 0..3u8 {
            rig.server.send([i], 0).unwrap();
        }
        for i in 0..3u8 {
            assert_eq!(rig.good.recv_bytes(0).unwrap(), [i]);
        }
    });
}

/// A peer that connects and leaves without a word: the handshake fails
/// with no detail (EPIPE), and the socket goes on.
#[test]
fn silent_peer_that_leaves_fails_the_handshake() {
    bounded(|| {
        let rig = rig(SocketType::Pull, SocketType::Push, -1);
        let raw = Raw::connect(&rig.endpoint);
        let fd = rig.accepted();
        raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
        let ev = expect_event(&rig.mon, Event::HandshakeFailedNoDetail);
        assert_eq!(ev.value, libc::EPIPE as u32);
        rig.disconnected(fd);
        rig.good_peer_still_served();
    });
}
