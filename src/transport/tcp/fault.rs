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

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Zmtp(e) => e.fmt(f),
            Fault::Other(why) => f.write_str(why),
        }
    }
}
