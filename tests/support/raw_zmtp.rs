//! A ZMTP 3.1 peer written byte by byte over a `std::net::TcpStream`, for
//! tests that need a peer misbehaving in ways no library allows (silent
//! after the handshake, never finishing it). Built from RFC 23/37 only, not
//! from zeroring's codec, so a codec bug cannot hide itself.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A NULL-mechanism ZMTP 3.1 greeting.
pub fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A command frame: flags 0x04 (short) or 0x06 (long), size, name length,
/// name, data.
pub fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    frame(0x04, &body)
}

/// A message frame, with MORE when `more`.
pub fn message(body: &[u8], more: bool) -> Vec<u8> {
    frame(u8::from(more), body)
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    if body.len() < 256 {
        out.push(flags);
        out.push(body.len() as u8);
    } else {
        out.push(flags | 0x02);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// READY with just a Socket-Type property.
pub fn ready(socket_type: &str) -> Vec<u8> {
    let mut props = vec![11u8];
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    props.extend_from_slice(socket_type.as_bytes());
    command("READY", &props)
}

/// One frame as read from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A command: its name and data.
    Command(String, Vec<u8>),
    /// A message frame and its MORE flag.
    Message(Vec<u8>, bool),
}

/// The raw peer.
pub struct Peer {
    pub stream: TcpStream,
}

impl Peer {
    /// Wraps a connected stream; reads give up after `read_timeout`.
    pub fn new(stream: TcpStream, read_timeout: Duration) -> Peer {
        stream.set_read_timeout(Some(read_timeout)).unwrap();
        stream.set_nodelay(true).unwrap();
        Peer { stream }
    }

    /// Greeting and READY both ways, as a `socket_type` socket; panics if
    /// the other side does not answer with a greeting and READY.
    pub fn handshake(&mut self, socket_type: &str) {
        self.stream.write_all(&greeting()).unwrap();
        self.stream.write_all(&ready(socket_type)).unwrap();
        let mut theirs = [0u8; 64];
        self.stream.read_exact(&mut theirs).unwrap();
        assert_eq!((theirs[0], theirs[9], theirs[10]), (0xFF, 0x7F, 3));
        match self.read_frame().unwrap() {
            Some(Frame::Command(name, _)) if name == "READY" => {}
            other => panic!("expected READY, got {other:?}"),
        }
    }

    /// The next frame; `None` when the other side closed the connection
    /// (a reset counts: it closed with our bytes unread). A read timeout is
    /// an error.
    pub fn read_frame(&mut self) -> io::Result<Option<Frame>> {
        let mut flags = [0u8; 1];
        match self.stream.read(&mut flags) {
            Ok(0) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
            r => r?,
        };
        let size = if flags[0] & 0x02 != 0 {
            let mut s = [0u8; 8];
            self.stream.read_exact(&mut s)?;
            u64::from_be_bytes(s) as usize
        } else {
            let mut s = [0u8; 1];
            self.stream.read_exact(&mut s)?;
            s[0] as usize
        };
        let mut body = vec![0u8; size];
        self.stream.read_exact(&mut body)?;
        if flags[0] & 0x04 != 0 {
            let n = body[0] as usize;
            let name = String::from_utf8_lossy(&body[1..1 + n]).into_owned();
            Ok(Some(Frame::Command(name, body[1 + n..].to_vec())))
        } else {
            Ok(Some(Frame::Message(body, flags[0] & 0x01 != 0)))
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads until the other side closes (or resets) the connection,
    /// returning what arrived before; a read timeout is an error.
    pub fn read_to_eof(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(all),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(all),
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
