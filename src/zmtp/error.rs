//! The one error type of the ZMTP codec and state machines.

use crate::SocketType;

/// Why a ZMTP connection failed. Every case is fatal for the connection:
/// the caller flushes what [`poll_transmit`](super::Handshake::poll_transmit)
/// still holds (it may carry an `ERROR` command for the peer) and closes.
///
/// The cases are the ones a socket monitor reports (libzmq's
/// `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL` / `_AUTH`, `EMSGSIZE`, heartbeat
/// expiry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZmtpError {
    /// The peer's greeting does not have the ZMTP 3.x layout (wrong
    /// signature octets, an as-server octet other than 0 or 1).
    #[error("bad ZMTP greeting: {0}")]
    BadGreeting(&'static str),
    /// The peer speaks a ZMTP major version below 3 (1.0 or 2.0), which
    /// zeroring does not speak.
    #[error("unsupported ZMTP version {major}.x: zeroring speaks ZMTP 3.x only")]
    UnsupportedVersion {
        /// The major version octet the peer sent.
        major: u8,
    },
    /// The peer announced another security mechanism than ours.
    #[error("security mechanism mismatch: we use {local}, the peer {peer}")]
    MechanismMismatch {
        /// Our mechanism name.
        local: String,
        /// The peer's mechanism name (non-printable octets escaped).
        peer: String,
    },
    /// Both peers' greetings claim the server role (two PLAIN servers).
    #[error("security role conflict: {0}")]
    RoleConflict(&'static str),
    /// A frame's flags octet has one of the reserved bits 3-7 set.
    #[error("malformed frame: reserved flag bits set in {0:#04x}")]
    ReservedFlags(u8),
    /// A frame is malformed in another way (MORE on a command, a size
    /// above 2^63-1).
    #[error("malformed frame: {0}")]
    MalformedFrame(&'static str),
    /// A frame's size field is above the configured maximum (MAXMSGSIZE).
    #[error("frame of {size} octets exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The size the frame header announced.
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// A handshake command is larger than a handshake needs: refused from
    /// its size alone, before any of it is kept (the peer is not
    /// authenticated yet).
    #[error("handshake command of {size} octets exceeds the handshake's limit of {max}")]
    HandshakeCommandTooLarge {
        /// The size the frame header announced.
        size: u64,
        /// The limit (see [`HANDSHAKE_COMMAND_MAX`](super::handshake::HANDSHAKE_COMMAND_MAX)).
        max: u64,
    },
    /// A command body does not follow its grammar.
    #[error("malformed command: {0}")]
    MalformedCommand(&'static str),
    /// A metadata property (in READY or INITIATE) does not follow its
    /// grammar, or a known property has an invalid value.
    #[error("malformed metadata property: {0}")]
    MalformedProperty(&'static str),
    /// The peer sent a command (or a message) that is not valid at this
    /// point of the handshake.
    #[error("unexpected {got} during the handshake, expected {expected}")]
    UnexpectedCommand {
        /// What the handshake was waiting for.
        expected: &'static str,
        /// What arrived (the command name, or "message frame").
        got: String,
    },
    /// The peer's metadata has no Socket-Type property.
    #[error("the peer did not announce its socket type")]
    MissingSocketType,
    /// The peer's socket type cannot talk to ours (RFC 37's table).
    #[error("socket type {local} cannot talk to a {peer} peer")]
    IncompatibleSocketType {
        /// Our socket type.
        local: SocketType,
        /// The peer's Socket-Type value, as sent.
        peer: String,
    },
    /// Our authenticator or ZAP handler rejected the peer's credentials
    /// (status 400; we sent it ERROR "400").
    #[error("authentication failed: the client's credentials were rejected")]
    AuthenticationFailed,
    /// Our authenticator panicked on the client's credentials: the
    /// client is refused as by a ZAP handler's internal error (we sent it
    /// ERROR "500"), and nothing else is disturbed.
    #[error("authentication failed: the authenticator panicked")]
    AuthenticatorPanicked,
    /// Authentication was required and there was nobody to ask: a PLAIN
    /// server with neither an authenticator nor a ZAP handler, or a socket
    /// with `ZMQ_ZAP_ENFORCE_DOMAIN` and no handler. The peer's connection
    /// is closed without an ERROR, as libzmq closes it.
    #[error("authentication required, but no authenticator or ZAP handler to ask")]
    NoAuthenticator,
    /// A CURVE box did not open, or what it held is not what it must be
    /// (a wrong server key, a forged or corrupted command or MESSAGE), or
    /// the operating system gave no random octets for our keys and nonces.
    /// libzmq's monitor reports `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
    #[error("CURVE: {0}")]
    Cryptographic(&'static str),
    /// A CURVE MESSAGE's short nonce is not above the last one the peer
    /// used: a replayed or reordered MESSAGE
    /// (`ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`).
    #[error("CURVE: a MESSAGE nonce is not above the previous one (replayed or reordered)")]
    InvalidNonce,
    /// A CURVE client's vouch opened but names another transient key or
    /// server than this connection's (`ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`).
    #[error("CURVE key exchange: {0}")]
    KeyExchange(&'static str),
    /// A CURVE command (HELLO, WELCOME, INITIATE, READY, MESSAGE) does not
    /// have its size or version (`ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_*`
    /// for that command).
    #[error("malformed CURVE {command}: {reason}")]
    MalformedCurveCommand {
        /// The command's name.
        command: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The ZAP handler answered 300, a temporary failure: the connection is
    /// closed without an ERROR (the client may try again).
    #[error("authentication failed: the ZAP handler answered 300 (temporary failure)")]
    AuthTemporaryFailure,
    /// The ZAP handler answered 500, an internal error (we sent the peer
    /// ERROR "500").
    #[error("authentication failed: the ZAP handler answered 500 (internal error)")]
    AuthInternalError,
    /// The ZAP handler's reply broke RFC 27; the connection is closed
    /// without an ERROR, as libzmq closes it.
    #[error("invalid ZAP reply: {0}")]
    ZapProtocol(#[from] super::zap::ZapError),
    /// The peer sent an ERROR command; the reason is its text.
    #[error("the peer sent ERROR: {0}")]
    PeerError(String),
    /// Nothing arrived from the peer within the heartbeat timeout (after our
    /// PING) or the TTL the peer's PING asked for.
    #[error("heartbeat timeout: the peer went silent")]
    HeartbeatTimeout,
    /// The local configuration cannot be encoded (identity or credential
    /// longer than 255 octets, bad property name).
    #[error("invalid ZMTP configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Shows `bytes` as text, escaping what is not printable ASCII, for error
/// messages built from peer data.
pub(crate) fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
