//! Hostile ZMTP peers that try to make a zeroring socket hold memory or a
//! connection without bound: raw bytes over a plain TcpStream (the driver
//! in `support/raw_zmtp.rs`), a monitor to see what the socket did, and a
//! well-behaved peer beside that must keep being served.

mod common;
#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;

use common::*;
use raw_zmtp::{command, greeting, Peer};
use std::net::TcpStream;
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
    let endpoint = server.get_last_endpoint().unwrap();
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
