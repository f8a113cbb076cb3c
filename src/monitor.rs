//! The socket monitor: libzmq's `zmq_socket_monitor`, event format version 1.
//!
//! [`Socket::monitor`](crate::Socket::monitor) binds an internal PAIR socket
//! on an `inproc://` endpoint; the application connects its own PAIR there
//! and receives one two-frame message per event, byte for byte as libzmq 4.x
//! sends them:
//!
//! - frame 1, 6 octets: the event id (`u16`) then its value (`u32`), both
//!   in the machine's native byte order;
//! - frame 2: the endpoint the event concerns (the address a listener is
//!   bound to, or the endpoint given to `connect`).
//!
//! [`MonitorEvent`] decodes such a message, so Rust code need not touch the
//! bytes. Connection events (accepted, connected, handshake outcome,
//! disconnected, retries) come from the context's I/O thread; listening,
//! bind failures and closing of listeners from the thread that binds.
//!
//! Events are sent without blocking: the I/O thread never waits for a slow
//! monitor reader. An event that finds the monitor pipe full (its HWM) or
//! nobody connected to the monitor endpoint yet is dropped, so connect the
//! reading PAIR before the events it wants to see happen.
//!
//! ```
//! use zeroring::monitor::{Event, MonitorEvent, EVENT_ALL};
//! use zeroring::{Context, SocketType};
//!
//! let ctx = Context::new();
//! let server = ctx.socket(SocketType::Pull)?;
//! server.monitor("inproc://doc-monitor", EVENT_ALL)?;
//! let events = ctx.socket(SocketType::Pair)?;
//! events.connect("inproc://doc-monitor")?;
//!
//! server.bind("tcp://127.0.0.1:0")?;
//! let ev = MonitorEvent::recv(&events, 0)?;
//! assert_eq!(ev.event, Event::Listening);
//! assert_eq!(Ok(ev.endpoint), server.get_last_endpoint()?);
//!
//! server.monitor_stop()?;
//! assert_eq!(MonitorEvent::recv(&events, 0)?.event, Event::MonitorStopped);
//! # Ok::<(), zeroring::Error>(())
//! ```

use crate::error::{Error, Result};
pub(crate) use crate::trace::Why;
use crate::zmtp::ZmtpError;
use crate::{Socket, DONTWAIT};
use std::sync::Mutex;

/// The socket connected to a remote peer (`ZMQ_EVENT_CONNECTED`); value:
/// the connection's file descriptor.
pub const EVENT_CONNECTED: i32 = 0x0001;
/// A connect is in progress (`ZMQ_EVENT_CONNECT_DELAYED`); value: the
/// errno of the non-blocking connect (`EINPROGRESS`).
pub const EVENT_CONNECT_DELAYED: i32 = 0x0002;
/// A connect failed or a connection was lost, and another attempt is
/// scheduled (`ZMQ_EVENT_CONNECT_RETRIED`); value: the delay in milliseconds.
pub const EVENT_CONNECT_RETRIED: i32 = 0x0004;
/// The socket is bound and accepting (`ZMQ_EVENT_LISTENING`); value: the
/// listener's file descriptor.
pub const EVENT_LISTENING: i32 = 0x0008;
/// A bind failed (`ZMQ_EVENT_BIND_FAILED`); value: the errno.
pub const EVENT_BIND_FAILED: i32 = 0x0010;
/// A listener accepted a connection (`ZMQ_EVENT_ACCEPTED`); value: the
/// connection's file descriptor.
pub const EVENT_ACCEPTED: i32 = 0x0020;
/// A listener failed to accept (`ZMQ_EVENT_ACCEPT_FAILED`); value: the errno.
pub const EVENT_ACCEPT_FAILED: i32 = 0x0040;
/// A listener, or a connect attempt that never came up, was closed
/// (`ZMQ_EVENT_CLOSED`); value: its (now closed) file descriptor.
pub const EVENT_CLOSED: i32 = 0x0080;
/// Closing failed (`ZMQ_EVENT_CLOSE_FAILED`; libzmq reports it for ipc
/// only, zeroring never).
pub const EVENT_CLOSE_FAILED: i32 = 0x0100;
/// An established connection ended (`ZMQ_EVENT_DISCONNECTED`): the peer
/// left, or broke the protocol; value: the connection's file descriptor.
pub const EVENT_DISCONNECTED: i32 = 0x0200;
/// The monitor stopped (`ZMQ_EVENT_MONITOR_STOPPED`): the last event it sends.
pub const EVENT_MONITOR_STOPPED: i32 = 0x0400;
/// Every event (`ZMQ_EVENT_ALL`).
pub const EVENT_ALL: i32 = 0xFFFF;
/// The handshake failed without a protocol reason: the connection broke
/// (`ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL`); value: the errno.
pub const EVENT_HANDSHAKE_FAILED_NO_DETAIL: i32 = 0x0800;
/// The ZMTP handshake succeeded (`ZMQ_EVENT_HANDSHAKE_SUCCEEDED`); value: 0.
pub const EVENT_HANDSHAKE_SUCCEEDED: i32 = 0x1000;
/// The handshake failed on a protocol error
/// (`ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`); value: one of the
/// `PROTOCOL_ERROR_*` codes.
pub const EVENT_HANDSHAKE_FAILED_PROTOCOL: i32 = 0x2000;
/// The handshake failed on authentication
/// (`ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`); value: the status code (300, 400, 500).
pub const EVENT_HANDSHAKE_FAILED_AUTH: i32 = 0x4000;

/// A ZMTP error without a more precise code.
pub const PROTOCOL_ERROR_ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
/// A command that is not valid at that point of the handshake.
pub const PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// A command out of sequence (CURVE nonces).
pub const PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE: u32 = 0x1000_0002;
/// A CURVE key exchange failure.
pub const PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: u32 = 0x1000_0003;
/// A command body that does not follow its grammar.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
/// A malformed MESSAGE command (CURVE).
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE: u32 = 0x1000_0012;
/// A malformed HELLO command.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO: u32 = 0x1000_0013;
/// A malformed INITIATE command.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE: u32 = 0x1000_0014;
/// A malformed ERROR command.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
/// A malformed READY command.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
/// A malformed WELCOME command.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME: u32 = 0x1000_0017;
/// Metadata that is malformed or unacceptable: a bad property, no
/// Socket-Type, or a socket type ours cannot talk to.
pub const PROTOCOL_ERROR_ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
/// A cryptographic failure (CURVE).
pub const PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
/// The peer uses another security mechanism.
pub const PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
/// A ZAP handler error without a more precise code.
pub const PROTOCOL_ERROR_ZAP_UNSPECIFIED: u32 = 0x2000_0000;
/// A malformed ZAP reply.
pub const PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: u32 = 0x2000_0001;
/// A ZAP reply with the wrong request id.
pub const PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: u32 = 0x2000_0002;
/// A ZAP reply with the wrong version.
pub const PROTOCOL_ERROR_ZAP_BAD_VERSION: u32 = 0x2000_0003;
/// A ZAP reply with an invalid status code.
pub const PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: u32 = 0x2000_0004;
/// A ZAP reply with invalid metadata.
pub const PROTOCOL_ERROR_ZAP_INVALID_METADATA: u32 = 0x2000_0005;
/// A WebSocket transport error.
pub const PROTOCOL_ERROR_WS_UNSPECIFIED: u32 = 0x3000_0000;

/// Why a handshake failed on the protocol: the value of an
/// [`EVENT_HANDSHAKE_FAILED_PROTOCOL`] event, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// [`PROTOCOL_ERROR_ZMTP_UNSPECIFIED`]
    ZmtpUnspecified,
    /// [`PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`]
    ZmtpUnexpectedCommand,
    /// [`PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`]
    ZmtpInvalidSequence,
    /// [`PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`]
    ZmtpKeyExchange,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`]
    ZmtpMalformedCommandUnspecified,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`]
    ZmtpMalformedCommandMessage,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`]
    ZmtpMalformedCommandHello,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`]
    ZmtpMalformedCommandInitiate,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`]
    ZmtpMalformedCommandError,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`]
    ZmtpMalformedCommandReady,
    /// [`PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`]
    ZmtpMalformedCommandWelcome,
    /// [`PROTOCOL_ERROR_ZMTP_INVALID_METADATA`]
    ZmtpInvalidMetadata,
    /// [`PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`]
    ZmtpCryptographic,
    /// [`PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`]
    ZmtpMechanismMismatch,
    /// [`PROTOCOL_ERROR_ZAP_UNSPECIFIED`]
    ZapUnspecified,
    /// [`PROTOCOL_ERROR_ZAP_MALFORMED_REPLY`]
    ZapMalformedReply,
    /// [`PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID`]
    ZapBadRequestId,
    /// [`PROTOCOL_ERROR_ZAP_BAD_VERSION`]
    ZapBadVersion,
    /// [`PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE`]
    ZapInvalidStatusCode,
    /// [`PROTOCOL_ERROR_ZAP_INVALID_METADATA`]
    ZapInvalidMetadata,
    /// [`PROTOCOL_ERROR_WS_UNSPECIFIED`]
    WsUnspecified,
    /// A code this version does not know (a later libzmq's).
    Other(u32),
}

const PROTOCOL_ERRORS: [(ProtocolError, u32); 21] = [
    (
        ProtocolError::ZmtpUnspecified,
        PROTOCOL_ERROR_ZMTP_UNSPECIFIED,
    ),
    (
        ProtocolError::ZmtpUnexpectedCommand,
        PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
    ),
    (
        ProtocolError::ZmtpInvalidSequence,
        PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE,
    ),
    (
        ProtocolError::ZmtpKeyExchange,
        PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE,
    ),
    (
        ProtocolError::ZmtpMalformedCommandUnspecified,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
    ),
    (
        ProtocolError::ZmtpMalformedCommandMessage,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE,
    ),
    (
        ProtocolError::ZmtpMalformedCommandHello,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO,
    ),
    (
        ProtocolError::ZmtpMalformedCommandInitiate,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE,
    ),
    (
        ProtocolError::ZmtpMalformedCommandError,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR,
    ),
    (
        ProtocolError::ZmtpMalformedCommandReady,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY,
    ),
    (
        ProtocolError::ZmtpMalformedCommandWelcome,
        PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME,
    ),
    (
        ProtocolError::ZmtpInvalidMetadata,
        PROTOCOL_ERROR_ZMTP_INVALID_METADATA,
    ),
    (
        ProtocolError::ZmtpCryptographic,
        PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
    ),
    (
        ProtocolError::ZmtpMechanismMismatch,
        PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
    ),
    (
        ProtocolError::ZapUnspecified,
        PROTOCOL_ERROR_ZAP_UNSPECIFIED,
    ),
    (
        ProtocolError::ZapMalformedReply,
        PROTOCOL_ERROR_ZAP_MALFORMED_REPLY,
    ),
    (
        ProtocolError::ZapBadRequestId,
        PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID,
    ),
    (ProtocolError::ZapBadVersion, PROTOCOL_ERROR_ZAP_BAD_VERSION),
    (
        ProtocolError::ZapInvalidStatusCode,
        PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE,
    ),
    (
        ProtocolError::ZapInvalidMetadata,
        PROTOCOL_ERROR_ZAP_INVALID_METADATA,
    ),
    (ProtocolError::WsUnspecified, PROTOCOL_ERROR_WS_UNSPECIFIED),
];

impl ProtocolError {
    /// The `PROTOCOL_ERROR_*` code.
    pub fn code(self) -> u32 {
        match self {
            ProtocolError::Other(code) => code,
            known => PROTOCOL_ERRORS
                .iter()
                .find(|(e, _)| *e == known)
                .map_or(PROTOCOL_ERROR_ZMTP_UNSPECIFIED, |&(_, c)| c),
        }
    }

    /// The error a `PROTOCOL_ERROR_*` code stands for.
    pub fn from_code(code: u32) -> ProtocolError {
        PROTOCOL_ERRORS
            .iter()
            .find(|&&(_, c)| c == code)
            .map_or(ProtocolError::Other(code), |&(e, _)| e)
    }
}

/// What happened: the event id of a monitor message, typed, with the
/// failure reason where the value carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// [`EVENT_CONNECTED`]
    Connected,
    /// [`EVENT_CONNECT_DELAYED`]
    ConnectDelayed,
    /// [`EVENT_CONNECT_RETRIED`]
    ConnectRetried,
    /// [`EVENT_LISTENING`]
    Listening,
    /// [`EVENT_BIND_FAILED`]
    BindFailed,
    /// [`EVENT_ACCEPTED`]
    Accepted,
    /// [`EVENT_ACCEPT_FAILED`]
    AcceptFailed,
    /// [`EVENT_CLOSED`]
    Closed,
    /// [`EVENT_CLOSE_FAILED`]
    CloseFailed,
    /// [`EVENT_DISCONNECTED`]
    Disconnected,
    /// [`EVENT_MONITOR_STOPPED`]
    MonitorStopped,
    /// [`EVENT_HANDSHAKE_FAILED_NO_DETAIL`]
    HandshakeFailedNoDetail,
    /// [`EVENT_HANDSHAKE_SUCCEEDED`]
    HandshakeSucceeded,
    /// [`EVENT_HANDSHAKE_FAILED_PROTOCOL`], with its reason.
    HandshakeFailedProtocol(ProtocolError),
    /// [`EVENT_HANDSHAKE_FAILED_AUTH`], with its status code (300, 400, 500).
    HandshakeFailedAuth(u32),
}

const EVENTS: [(Event, i32); 13] = [
    (Event::Connected, EVENT_CONNECTED),
    (Event::ConnectDelayed, EVENT_CONNECT_DELAYED),
    (Event::ConnectRetried, EVENT_CONNECT_RETRIED),
    (Event::Listening, EVENT_LISTENING),
    (Event::BindFailed, EVENT_BIND_FAILED),
    (Event::Accepted, EVENT_ACCEPTED),
    (Event::AcceptFailed, EVENT_ACCEPT_FAILED),
    (Event::Closed, EVENT_CLOSED),
    (Event::CloseFailed, EVENT_CLOSE_FAILED),
    (Event::Disconnected, EVENT_DISCONNECTED),
    (Event::MonitorStopped, EVENT_MONITOR_STOPPED),
    (
        Event::HandshakeFailedNoDetail,
        EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    ),
    (Event::HandshakeSucceeded, EVENT_HANDSHAKE_SUCCEEDED),
];

impl Event {
    /// The `EVENT_*` id.
    pub fn id(self) -> i32 {
        match self {
            Event::HandshakeFailedProtocol(_) => EVENT_HANDSHAKE_FAILED_PROTOCOL,
            Event::HandshakeFailedAuth(_) => EVENT_HANDSHAKE_FAILED_AUTH,
            plain => EVENTS
                .iter()
                .find(|(e, _)| *e == plain)
                .map_or(0, |&(_, id)| id),
        }
    }

    /// The event for an id and its value; `None` for an unknown id.
    pub fn from_id(id: i32, value: u32) -> Option<Event> {
        match id {
            EVENT_HANDSHAKE_FAILED_PROTOCOL => Some(Event::HandshakeFailedProtocol(
                ProtocolError::from_code(value),
            )),
            EVENT_HANDSHAKE_FAILED_AUTH => Some(Event::HandshakeFailedAuth(value)),
            _ => EVENTS.iter().find(|&&(_, i)| i == id).map(|&(e, _)| e),
        }
    }
}

/// One monitor message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub event: Event,
    /// The raw 32-bit value: a file descriptor, an errno, a delay, a code.
    pub value: u32,
    /// The endpoint concerned (empty for [`Event::MonitorStopped`]).
    pub endpoint: String,
}

impl MonitorEvent {
    /// Decodes the frames of one monitor message (libzmq's format, so
    /// libzmq's own monitor messages decode too).
    ///
    /// ```
    /// use zeroring::monitor::{Event, MonitorEvent, ProtocolError, EVENT_HANDSHAKE_FAILED_PROTOCOL,
    ///     PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH};
    /// let mut head = (EVENT_HANDSHAKE_FAILED_PROTOCOL as u16).to_ne_bytes().to_vec();
    /// head.extend_from_slice(&PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH.to_ne_bytes());
    /// let ev = MonitorEvent::parse(&[head, b"tcp://127.0.0.1:5555".to_vec()])?;
    /// assert_eq!(ev.event, Event::HandshakeFailedProtocol(ProtocolError::ZmtpMechanismMismatch));
    /// assert_eq!(ev.endpoint, "tcp://127.0.0.1:5555");
    /// # Ok::<(), zeroring::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] unless there are two frames, the first of
    /// 6 octets with a known event id.
    pub fn parse<F: AsRef<[u8]>>(frames: &[F]) -> Result<MonitorEvent> {
        let [head, endpoint] = frames else {
            return Err(Error::InvalidArgument(
                "a monitor event is two frames: id and value, then the endpoint",
            ));
        };
        let head: &[u8; 6] = head
            .as_ref()
            .try_into()
            .map_err(|_| Error::InvalidArgument("a monitor event's first frame is 6 octets"))?;
        let id = u16::from_ne_bytes([head[0], head[1]]);
        let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
        let event = Event::from_id(i32::from(id), value)
            .ok_or(Error::InvalidArgument("unknown monitor event id"))?;
        Ok(MonitorEvent {
            event,
            value,
            endpoint: String::from_utf8_lossy(endpoint.as_ref()).into_owned(),
        })
    }

    /// Receives one message from the PAIR socket connected to a monitor
    /// endpoint and decodes it. `flags` as for [`Socket::recv_multipart`].
    ///
    /// # Errors
    ///
    /// Those of [`Socket::recv_multipart`] ([`Error::WouldBlock`] with
    /// [`DONTWAIT`] and nothing there, ...), then those of
    /// [`parse`](Self::parse) for a message that is not a monitor event.
    pub fn recv(monitor: &Socket, flags: i32) -> Result<MonitorEvent> {
        MonitorEvent::parse(&monitor.recv_multipart(flags)?)
    }

    /// The two frames libzmq would send for this event.
    pub fn to_frames(&self) -> [Vec<u8>; 2] {
        frames(self.event.id(), self.value, &self.endpoint)
    }
}

fn frames(id: i32, value: u32, endpoint: &str) -> [Vec<u8>; 2] {
    // Ids are 16-bit in event format version 1; every id above fits.
    let mut head = (id as u16).to_ne_bytes().to_vec();
    head.extend_from_slice(&value.to_ne_bytes());
    [head, endpoint.as_bytes().to_vec()]
}

/// Checks `monitor`'s arguments as libzmq does: an inproc endpoint, and
/// events of format version 1 (16 bits).
pub(crate) fn check_args(endpoint: &str, events: i32) -> Result<()> {
    if !(0..=EVENT_ALL).contains(&events) {
        return Err(Error::InvalidArgument(
            "monitor events are a 16-bit mask of EVENT_* values",
        ));
    }
    match crate::transport::parse(endpoint)? {
        crate::transport::Endpoint::Inproc(_) => Ok(()),
        _ => Err(Error::TransportNotSupported(endpoint.to_owned())),
    }
}

struct Active {
    socket: Socket,
    events: i32,
}

/// A socket's monitor, if it has one, shared by the socket's thread and
/// the I/O thread. The lock is held only to send one event without
/// blocking, so neither thread ever waits on the monitor's reader.
#[derive(Default)]
pub(crate) struct MonitorSlot {
    active: Mutex<Option<Active>>,
}

impl MonitorSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Active>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends an event if it is one the monitor asked for; drops it if the
    /// monitor's pipe is full or nobody reads the monitor endpoint.
    // Only tcp reports events, and the loom build has no tcp.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn emit(&self, id: i32, value: u32, endpoint: &str) {
        self.emit_because(id, value, endpoint, Why::Nothing);
    }

    /// [`emit`](Self::emit), with why it happened. Every monitor event
    /// passes here, so this is also where each becomes a `tracing` event
    /// (feature `tracing`), monitor or not.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn emit_because(&self, id: i32, value: u32, endpoint: &str, why: Why<'_>) {
        crate::trace::connection(id, value, endpoint, why);
        let guard = self.lock();
        if let Some(m) = guard.as_ref().filter(|m| m.events & id != 0) {
            let _ = m
                .socket
                .send_multipart(frames(id, value, endpoint), DONTWAIT);
        }
    }

    /// Starts monitoring through `socket` (bound already).
    pub fn start(&self, socket: Socket, events: i32) {
        let old = self.lock().replace(Active { socket, events });
        drop(old);
    }

    /// Stops monitoring, with a MONITOR_STOPPED event; whether there was a
    /// monitor. The monitor socket is dropped here, on the caller's thread,
    /// never on the I/O thread: it holds the context, and the I/O thread
    /// must not be the one to drop the context's last handle.
    pub fn stop(&self) -> bool {
        let Some(m) = self.lock().take() else {
            return false;
        };
        if m.events & EVENT_MONITOR_STOPPED != 0 {
            let _ = m
                .socket
                .send_multipart(frames(EVENT_MONITOR_STOPPED, 0, ""), DONTWAIT);
        }
        true
    }
}

/// The event a failed handshake reports, and its value, as libzmq 4.3
/// reports the same failure where it has one.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn handshake_failure(e: &ZmtpError) -> (i32, u32) {
    use ZmtpError::*;
    let protocol = |code| (EVENT_HANDSHAKE_FAILED_PROTOCOL, code);
    match e {
        // libzmq would fall back to ZMTP 1.0/2.0 here; zeroring speaks 3.x only.
        BadGreeting(_) | UnsupportedVersion { .. } | ReservedFlags(_) | MalformedFrame(_) => {
            protocol(PROTOCOL_ERROR_ZMTP_UNSPECIFIED)
        }
        MechanismMismatch { .. } => protocol(PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
        // Two PLAIN clients: libzmq's client sees the other's HELLO as unexpected.
        RoleConflict(_) | UnexpectedCommand { .. } => {
            protocol(PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND)
        }
        MalformedCommand(_) | HandshakeCommandTooLarge { .. } => {
            protocol(PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
        }
        MalformedProperty(_) | MissingSocketType | IncompatibleSocketType { .. } => {
            protocol(PROTOCOL_ERROR_ZMTP_INVALID_METADATA)
        }
        Cryptographic(_) => protocol(PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
        InvalidNonce => protocol(PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE),
        KeyExchange(_) => protocol(PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE),
        MalformedCurveCommand { command, .. } => protocol(match *command {
            "HELLO" => PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO,
            "WELCOME" => PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME,
            "INITIATE" => PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE,
            "READY" => PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY,
            "MESSAGE" => PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE,
            _ => PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        }),
        AuthenticationFailed => (EVENT_HANDSHAKE_FAILED_AUTH, 400),
        AuthenticatorPanicked | AuthInternalError => (EVENT_HANDSHAKE_FAILED_AUTH, 500),
        AuthTemporaryFailure => (EVENT_HANDSHAKE_FAILED_AUTH, 300),
        // libzmq's zap_client_t reports a bad reply as a protocol error.
        ZapProtocol(z) => protocol(z.code()),
        // A ZAP status code in an ERROR is an authentication failure
        // (libzmq's mechanism_base_t::handle_error_reason).
        PeerError(reason) => match reason.as_bytes() {
            [d @ b'3'..=b'5', b'0', b'0'] => {
                (EVENT_HANDSHAKE_FAILED_AUTH, u32::from(d - b'0') * 100)
            }
            _ => protocol(PROTOCOL_ERROR_ZMTP_UNSPECIFIED),
        },
        FrameTooLarge { .. } => (EVENT_HANDSHAKE_FAILED_NO_DETAIL, libc::EMSGSIZE as u32),
        HeartbeatTimeout => (EVENT_HANDSHAKE_FAILED_NO_DETAIL, libc::ETIMEDOUT as u32),
        InvalidConfig(_) => (EVENT_HANDSHAKE_FAILED_NO_DETAIL, libc::EINVAL as u32),
        // libzmq's PLAIN server without a ZAP handler (zap_connect fails).
        NoAuthenticator => (EVENT_HANDSHAKE_FAILED_NO_DETAIL, libc::EFAULT as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocketType;

    #[test]
    fn ids_and_codes_round_trip() {
        for &(e, id) in &EVENTS {
            assert_eq!(e.id(), id);
            assert_eq!(Event::from_id(id, 7), Some(e));
        }
        for &(e, code) in &PROTOCOL_ERRORS {
            assert_eq!(e.code(), code);
            assert_eq!(ProtocolError::from_code(code), e);
        }
        assert_eq!(
            ProtocolError::from_code(0x1234),
            ProtocolError::Other(0x1234)
        );
        assert_eq!(ProtocolError::Other(0x1234).code(), 0x1234);
        assert_eq!(Event::from_id(0x8000, 0), None);
    }

    #[test]
    fn frames_are_libzmqs_layout() {
        let ev = MonitorEvent {
            event: Event::HandshakeFailedAuth(400),
            value: 400,
            endpoint: "tcp://1.2.3.4:5".into(),
        };
        let [head, ep] = ev.to_frames();
        let mut want = 0x4000u16.to_ne_bytes().to_vec();
        want.extend_from_slice(&400u32.to_ne_bytes());
        assert_eq!(head, want);
        assert_eq!(ep, b"tcp://1.2.3.4:5");
        assert_eq!(MonitorEvent::parse(&[head, ep]).unwrap(), ev);
    }

    #[test]
    fn bad_messages_are_errors_not_panics() {
        let ok = frames(EVENT_CONNECTED, 3, "x");
        assert!(MonitorEvent::parse::<Vec<u8>>(&[]).is_err());
        assert!(MonitorEvent::parse(&ok[..1]).is_err());
        assert!(MonitorEvent::parse(&[ok[0].clone(), ok[1].clone(), vec![]]).is_err());
        assert!(MonitorEvent::parse(&[vec![1, 0, 0], ok[1].clone()]).is_err());
        assert!(MonitorEvent::parse(&[frames(0x8000, 0, "")[0].clone(), vec![]]).is_err());
        // Not UTF-8: decoded lossily.
        let ev = MonitorEvent::parse(&[ok[0].clone(), vec![0xFF]]).unwrap();
        assert_eq!(ev.endpoint, "\u{FFFD}");
    }

    #[test]
    fn handshake_failures_map_to_libzmq_events() {
        use crate::zmtp::ZmtpError::*;
        let cases: [(ZmtpError, i32, u32); 16] = [
            (
                Cryptographic("x"),
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
            ),
            (
                InvalidNonce,
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE,
            ),
            (
                KeyExchange("x"),
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE,
            ),
            (
                MalformedCurveCommand {
                    command: "HELLO",
                    reason: "x",
                },
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO,
            ),
            (AuthTemporaryFailure, EVENT_HANDSHAKE_FAILED_AUTH, 300),
            (AuthInternalError, EVENT_HANDSHAKE_FAILED_AUTH, 500),
            (
                ZapProtocol(crate::zmtp::zap::ZapError::BadVersion),
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZAP_BAD_VERSION,
            ),
            (
                BadGreeting("x"),
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_UNSPECIFIED,
            ),
            (
                MechanismMismatch {
                    local: "NULL".into(),
                    peer: "CURVE".into(),
                },
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
            ),
            (
                UnexpectedCommand {
                    expected: "READY",
                    got: "PING".into(),
                },
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
            ),
            (
                IncompatibleSocketType {
                    local: SocketType::Push,
                    peer: "PUSH".into(),
                },
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_INVALID_METADATA,
            ),
            (AuthenticationFailed, EVENT_HANDSHAKE_FAILED_AUTH, 400),
            (AuthenticatorPanicked, EVENT_HANDSHAKE_FAILED_AUTH, 500),
            (PeerError("300".into()), EVENT_HANDSHAKE_FAILED_AUTH, 300),
            (
                PeerError("bad things".into()),
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_UNSPECIFIED,
            ),
            (
                FrameTooLarge { size: 9, max: 8 },
                EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                libc::EMSGSIZE as u32,
            ),
        ];
        for (e, id, value) in cases {
            assert_eq!(handshake_failure(&e), (id, value), "{e}");
        }
    }

    #[test]
    fn arguments_are_checked_as_libzmq_does() {
        assert!(check_args("inproc://m", EVENT_ALL).is_ok());
        assert!(matches!(
            check_args("tcp://127.0.0.1:9999", EVENT_ALL),
            Err(Error::TransportNotSupported(_))
        ));
        assert!(matches!(
            check_args("inproc://m", 0x10000),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            check_args("nonsense", 1),
            Err(Error::InvalidEndpoint { .. })
        ));
    }
}
