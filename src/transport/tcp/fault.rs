//! Why a connection was dropped on our side, beyond an errno: the reason its
//! monitor events carry to `tracing` (see [`crate::trace`]).

use crate::zmtp::ZmtpError;
use std::fmt;

/// The peer broke the protocol, or one of our limits.
#[derive(Debug, Clone)]
pub(super) enum Fault {
    /// A ZMTP failure: a malformed or oversized frame, a failed handshake,
    /// a silent peer.
    Zmtp(ZmtpError),
    /// Something else the peer did, or did not do in time.
    Other(&'static str),
}

impl Fault {
    /// A ZMTP protocol error, as libzmq 4.3 counts them (a malformed or
    /// oversized frame, a failed handshake, an ERROR from the peer): a
    /// connecter whose connection ends on one does not reconnect, since
    /// the same peer would only fail it again (libzmq's session terminates
    /// on `protocol_error`, and reconnects after `connection_error` and
    /// `timeout_error` only: a silent peer, HANDSHAKE_IVL). What only
    /// zeroring's shared memory can break stays a lost connection.
    pub fn ends_connecter(&self) -> bool {
        matches!(self, Fault::Zmtp(e) if !matches!(e, ZmtpError::HeartbeatTimeout))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Zmtp(e) => e.fmt(f),
            Fault::Other(why) => f.write_str(why),
        }
    }
}
