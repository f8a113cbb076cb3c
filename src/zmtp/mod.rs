//! ZMTP 3.x as a sans-IO protocol library: bytes in, events and bytes out.
//!
//! Nothing here opens a socket, starts a thread or reads a clock: a
//! transport (tcp, ipc) owns the connection, feeds what it reads into a
//! [`Handshake`] and then a [`Session`], writes what they hand out, and
//! passes the time in. That keeps the protocol testable and fuzzable without
//! a network (in the style of quinn-proto and rustls).
//!
//! The pieces, one job each:
//!
//! - [`greeting`]: the 64-octet greeting, decoded incrementally.
//! - [`frame`]: frame encoding and a chunk-fed decoder with a size limit.
//! - [`command`]: command bodies and metadata properties.
//! - [`socket_type`]: Socket-Type names and RFC 37's legal pairs.
//! - [`mechanism`], `null`, `plain`, [`curve`]: the NULL, PLAIN and CURVE
//!   security handshakes (CURVE also encrypts the session's frames).
//! - [`handshake`]: greeting and mechanism for one connection.
//! - [`session`]: traffic after READY: messages, subscriptions, heartbeats.
//! - [`heartbeat`]: PING/PONG timers.
//! - [`zap`]: authentication requests and answers, and ZAP's (RFC 27)
//!   frames for them.
//!
//! References: rfc.zeromq.org 23 (ZMTP 3.0), 37 (ZMTP 3.1), 24 (PLAIN), 26
//! (CURVE), 27 (ZAP), and
//! libzmq 4.3's behaviour where the RFCs leave room.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod command;
pub mod curve;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod handshake;
pub mod heartbeat;
pub mod mechanism;
mod null;
mod plain;
pub mod session;
pub mod socket_type;
pub mod zap;

pub use command::{Command, Metadata};
pub use curve::{CurveCredentials, CurveSecretKey};
pub use error::ZmtpError;
pub use frame::{Frame, FrameDecoder, FrameKind};
pub use greeting::{Greeting, GreetingDecoder, MechanismName};
pub use handshake::{Handshake, HandshakeConfig, HandshakeEvent};
pub use heartbeat::HeartbeatConfig;
pub use mechanism::{Authenticator, CurveAuthenticator, MechanismConfig, PlainCredentials};
pub use session::{Incoming, Session, SessionEvent};
pub use zap::{AuthAnswer, AuthReply, AuthRequest, ZapError, ZapReplyReader};
