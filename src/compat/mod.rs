//! The `zmq` crate's (0.10) names, beside zeroring's own, so that a program
//! written for it builds with `use zeroring as zmq;`.
//!
//! Where both APIs name the same thing (`Error`, `poll`, `PollItem`,
//! `proxy`, `Socket::send`, `recv_bytes` ...), the one item serves both;
//! what could not is listed in README's porting section.

mod curve;
mod errno;
mod message;
mod socket;
mod unsupported;

pub(crate) use socket::StoredOptions;
mod z85;

pub use curve::{curve_keypair, curve_public, CurveKeyPair};
pub use message::Message;
pub use z85::{z85_decode, z85_encode, DecodeError, EncodeError};

use crate::SocketType;

/// The `zmq` crate's uppercase socket-type names, from one list: as
/// associated constants (`zmq::SocketType::PUSH`) and as the constants of
/// [`socket_types`] (`zmq::PUSH`, re-exported at the root).
macro_rules! socket_type_names {
    ($($name:ident = $variant:ident),* $(,)?) => {
        #[allow(missing_docs)]
        impl SocketType {
            $(pub const $name: SocketType = SocketType::$variant;)*
        }

        /// The `zmq` crate's socket-type constants, for `zmq::PUSH` and the like.
        pub mod socket_types {
            #![allow(missing_docs)]
            use crate::SocketType;
            $(pub const $name: SocketType = SocketType::$variant;)*
        }
    };
}

socket_type_names! {
    PAIR = Pair,
    PUB = Pub,
    SUB = Sub,
    REQ = Req,
    REP = Rep,
    DEALER = Dealer,
    ROUTER = Router,
    PULL = Pull,
    PUSH = Push,
    XPUB = XPub,
    XSUB = XSub,
    STREAM = Stream,
}

/// The security mechanism of a socket, with the `zmq` crate's names.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// No security (`ZMQ_NULL`).
    ZMQ_NULL,
    /// User name and password (`ZMQ_PLAIN`).
    ZMQ_PLAIN,
    /// CurveZMQ (`ZMQ_CURVE`).
    ZMQ_CURVE,
    /// Kerberos (`ZMQ_GSSAPI`); zeroring does not provide it.
    ZMQ_GSSAPI,
}

/// A monitor event's id, with the `zmq` crate's names (the rich form is
/// [`MonitorEvent`](crate::MonitorEvent)).
#[allow(non_camel_case_types, missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEvent {
    CONNECTED = 0x0001,
    CONNECT_DELAYED = 0x0002,
    CONNECT_RETRIED = 0x0004,
    LISTENING = 0x0008,
    BIND_FAILED = 0x0010,
    ACCEPTED = 0x0020,
    ACCEPT_FAILED = 0x0040,
    CLOSED = 0x0080,
    CLOSE_FAILED = 0x0100,
    DISCONNECTED = 0x0200,
    MONITOR_STOPPED = 0x0400,
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800,
    HANDSHAKE_SUCCEEDED = 0x1000,
    HANDSHAKE_FAILED_PROTOCOL = 0x2000,
    HANDSHAKE_FAILED_AUTH = 0x4000,
    ALL = 0xFFFF,
}

impl SocketEvent {
    /// The event's id, as the monitor's first frame carries it.
    pub fn to_raw(self) -> u16 {
        self as u16
    }

    /// The event of id `raw`. The `zmq` crate panics on an unknown id; this
    /// gives [`SocketEvent::ALL`] for one instead (never a panic on a
    /// peer's bytes).
    pub fn from_raw(raw: u16) -> SocketEvent {
        use SocketEvent::*;
        [
            CONNECTED,
            CONNECT_DELAYED,
            CONNECT_RETRIED,
            LISTENING,
            BIND_FAILED,
            ACCEPTED,
            ACCEPT_FAILED,
            CLOSED,
            CLOSE_FAILED,
            DISCONNECTED,
            MONITOR_STOPPED,
            HANDSHAKE_FAILED_NO_DETAIL,
            HANDSHAKE_SUCCEEDED,
            HANDSHAKE_FAILED_PROTOCOL,
            HANDSHAKE_FAILED_AUTH,
        ]
        .into_iter()
        .find(|e| e.to_raw() == raw)
        .unwrap_or(ALL)
    }
}

impl crate::Context {
    /// Shuts the context down, as the `zmq` crate's `destroy`
    /// (`zmq_ctx_term`): see [`shutdown`](Self::shutdown).
    ///
    /// # Errors
    ///
    /// None; a `Result` as in the `zmq` crate.
    pub fn destroy(&mut self) -> crate::Result<()> {
        self.shutdown();
        Ok(())
    }
}

/// The libzmq version whose semantics zeroring follows, as
/// `(major, minor, patch)`: programs check it before using 4.x features.
pub fn version() -> (i32, i32, i32) {
    (4, 3, 4)
}

/// Whether zeroring provides `capability`, as `zmq_has` names them
/// (`ipc`, `curve`, `gssapi`, `pgm`, `tipc`, `norm`, `draft`): `ipc` and
/// `curve`. Always `Some`, as in the `zmq` crate.
pub fn has(capability: &str) -> Option<bool> {
    Some(matches!(capability, "ipc" | "curve"))
}
