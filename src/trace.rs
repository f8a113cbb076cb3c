//! Diagnostics as [`tracing`](https://docs.rs/tracing) events, under the
//! `tracing` cargo feature. Two places produce them:
//!
//! - every socket monitor event (connected, accepted, disconnected,
//!   handshake failed ...), whether or not a monitor is running, from
//!   [`MonitorSlot::emit_because`](crate::monitor::MonitorSlot::emit_because):
//!   target `zeroring::connection`;
//! - [`dropped!`]: a message dropped where libzmq drops it too, without
//!   telling the sender (a PUB at a subscriber's high-water mark, a ROUTER's
//!   unroutable message ...): target `zeroring::drop`.
//!
//! Without the feature [`dropped!`] expands to nothing (its arguments are
//! not even evaluated) and [`connection`] is an empty inline function.

/// A message dropped without an error to the sender: a `DEBUG` event on
/// target `zeroring::drop`, with the fields given (`endpoint`, `reason`,
/// ...), in `tracing::event!`'s syntax.
#[cfg(feature = "tracing")]
macro_rules! dropped {
    ($($field:tt)*) => {
        ::tracing::event!(
            target: "zeroring::drop",
            ::tracing::Level::DEBUG,
            $($field)*,
            "message dropped"
        )
    };
}

/// Without the `tracing` feature: nothing at all.
#[cfg(not(feature = "tracing"))]
macro_rules! dropped {
    ($($field:tt)*) => {};
}

pub(crate) use dropped;

/// Why a monitor event happened, beyond its value: for its `tracing` event.
// Without the feature nothing reads it: the engine's code stays the same.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
#[derive(Clone, Copy)]
pub(crate) enum Why<'a> {
    /// Nothing to add.
    Nothing,
    /// An errno: an I/O error, or EPIPE, the peer closed (0: none known).
    Errno(i32),
    /// The peer broke the protocol, or a limit of ours (a malformed or
    /// oversized frame, a failed handshake, a silent peer): a warning.
    Fault(&'a dyn std::fmt::Display),
}

#[cfg(feature = "tracing")]
mod on {
    use super::Why;
    use crate::monitor::*;
    use std::fmt;

    /// libzmq's name of a monitor event (`ZMQ_EVENT_` left off).
    fn name(id: i32) -> &'static str {
        match id {
            EVENT_CONNECTED => "CONNECTED",
            EVENT_CONNECT_DELAYED => "CONNECT_DELAYED",
            EVENT_CONNECT_RETRIED => "CONNECT_RETRIED",
            EVENT_LISTENING => "LISTENING",
            EVENT_BIND_FAILED => "BIND_FAILED",
            EVENT_ACCEPTED => "ACCEPTED",
            EVENT_ACCEPT_FAILED => "ACCEPT_FAILED",
            EVENT_CLOSED => "CLOSED",
            EVENT_CLOSE_FAILED => "CLOSE_FAILED",
            EVENT_DISCONNECTED => "DISCONNECTED",
            EVENT_MONITOR_STOPPED => "MONITOR_STOPPED",
            EVENT_HANDSHAKE_FAILED_NO_DETAIL => "HANDSHAKE_FAILED_NO_DETAIL",
            EVENT_HANDSHAKE_SUCCEEDED => "HANDSHAKE_SUCCEEDED",
            EVENT_HANDSHAKE_FAILED_PROTOCOL => "HANDSHAKE_FAILED_PROTOCOL",
            EVENT_HANDSHAKE_FAILED_AUTH => "HANDSHAKE_FAILED_AUTH",
            _ => "UNKNOWN",
        }
    }

    /// The reason an event's value carries, where it carries one.
    struct FromValue(i32, u32);

    impl fmt::Display for FromValue {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match (self.0, self.1) {
                (EVENT_HANDSHAKE_FAILED_PROTOCOL, code) => {
                    write!(f, "protocol error {:?}", ProtocolError::from_code(code))
                }
                (EVENT_HANDSHAKE_FAILED_AUTH, status) => {
                    write!(f, "authentication failed with status {status}")
                }
                (
                    EVENT_HANDSHAKE_FAILED_NO_DETAIL | EVENT_BIND_FAILED | EVENT_ACCEPT_FAILED,
                    errno,
                ) => errno_text(f, errno as i32),
                _ => Ok(()),
            }
        }
    }

    fn errno_text(f: &mut fmt::Formatter<'_>, errno: i32) -> fmt::Result {
        match errno {
            0 | libc::EPIPE => f.write_str("the peer closed the connection"),
            e => write!(f, "{}", std::io::Error::from_raw_os_error(e)),
        }
    }

    struct Reason<'a>(i32, u32, Why<'a>);

    impl fmt::Display for Reason<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.2 {
                Why::Fault(why) => why.fmt(f),
                Why::Errno(errno) => errno_text(f, errno),
                Why::Nothing => FromValue(self.0, self.1).fmt(f),
            }
        }
    }

    /// The `tracing` event of a monitor event: a warning for failures and
    /// faults, else `DEBUG`.
    pub(crate) fn connection(id: i32, value: u32, endpoint: &str, why: Why<'_>) {
        let event = name(id);
        let failed = matches!(
            id,
            EVENT_HANDSHAKE_FAILED_NO_DETAIL
                | EVENT_HANDSHAKE_FAILED_PROTOCOL
                | EVENT_HANDSHAKE_FAILED_AUTH
                | EVENT_BIND_FAILED
                | EVENT_ACCEPT_FAILED
        );
        let reason = Reason(id, value, why);
        const TARGET: &str = "zeroring::connection";
        if failed || matches!(why, Why::Fault(_)) {
            tracing::warn!(target: TARGET, event, endpoint, value, %reason, "{event}");
        } else if matches!(why, Why::Nothing) {
            tracing::debug!(target: TARGET, event, endpoint, value, "{event}");
        } else {
            tracing::debug!(target: TARGET, event, endpoint, value, %reason, "{event}");
        }
    }
}

#[cfg(feature = "tracing")]
pub(crate) use on::connection;

/// Without the `tracing` feature: nothing at all.
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub(crate) fn connection(_id: i32, _value: u32, _endpoint: &str, _why: Why<'_>) {}
