//! The one error type of zeroring.

/// What went wrong; each case maps to the errno a libzmq user knows
/// ([`to_raw`](Error::to_raw)). The cases that are just an errno print
/// libzmq's text for it, and `Debug` prints what `Display` does, as the
/// `zmq` crate's `Error`.
///
/// ```
/// use zeroring::{Context, Error, SocketType, DONTWAIT};
/// let ctx = Context::new();
/// let push = ctx.socket(SocketType::Push).unwrap();
/// // No peer yet: a non-blocking send would block.
/// assert!(matches!(push.send("hi", DONTWAIT), Err(Error::WouldBlock)));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operation would block and `DONTWAIT` (or a zero timeout) was given (EAGAIN).
    #[error("Resource temporarily unavailable")]
    WouldBlock,
    /// `SNDTIMEO`/`RCVTIMEO` expired before the operation could complete.
    #[error("operation timed out")]
    TimedOut,
    /// A signal handler ran while the call blocked (EINTR), as libzmq
    /// returns then: the program can look at what its handler set (a
    /// Ctrl-C flag) and call again or stop. A signal that arrives while the
    /// call spins before it sleeps (a few microseconds; always, under
    /// `WaitStrategy::BusySpin`) is seen at the next.
    #[error("interrupted by a signal")]
    Interrupted,
    /// The context was shut down (ETERM).
    #[error("Context was terminated")]
    Terminated,
    /// An I/O thread of the context died (a bug in zeroring; its panic
    /// message says where), so the context no longer works: every call on
    /// it fails so, as after a shutdown. ETERM, as for a shutdown: what a
    /// libzmq program does on ETERM (close its sockets, end the context)
    /// is the way out; EFAULT would blame an argument.
    #[error("the context's I/O thread died; close its sockets and make a new context")]
    IoThreadDied,
    /// The endpoint string is malformed (EINVAL).
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The endpoint names a transport this build does not provide (EPROTONOSUPPORT).
    #[error("transport not supported: `{0}`")]
    TransportNotSupported(String),
    /// Another socket is already bound to the endpoint (EADDRINUSE).
    #[error("address already in use: `{0}`")]
    AddrInUse(String),
    /// unbind/disconnect of an endpoint this socket is not bound or connected to (ENOENT).
    #[error("endpoint not bound or connected by this socket: `{0}`")]
    EndpointNotFound(String),
    /// The socket types cannot talk to each other (ZMTP's socket-type check).
    #[error("socket type {local} cannot connect to {peer}")]
    IncompatibleSocketType {
        /// This socket's type.
        local: &'static str,
        /// The peer's type.
        peer: &'static str,
    },
    /// The operation is not valid in the socket's current state (EFSM).
    #[error("Operation cannot be accomplished in current state")]
    WrongState,
    /// A ROUTER with `ROUTER_MANDATORY` was asked to route to an unknown peer (EHOSTUNREACH).
    #[error("host unreachable: no peer with that routing id")]
    HostUnreachable,
    /// The socket type does not support the operation (ENOTSUP).
    #[error("Operation not supported")]
    NotSupported,
    /// An argument or option value is out of range (EINVAL).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A frame is larger than a socket sends (64 MiB) or than the pipe can
    /// carry (EMSGSIZE); `max` is that limit.
    #[error("message too large: {size} bytes, at most {max} fit")]
    MessageTooLarge {
        /// Size of what was sent.
        size: usize,
        /// The largest size accepted.
        max: usize,
    },
    /// The context has as many sockets as its MAX_SOCKETS allows
    /// ([`Context::set_max_sockets`](crate::Context::set_max_sockets),
    /// default 1023), as libzmq's `zmq_socket` refuses then (EMFILE).
    #[error("too many sockets: the context allows {max} (MAX_SOCKETS)")]
    TooManySockets {
        /// The context's MAX_SOCKETS.
        max: usize,
    },
    /// The socket's AFFINITY names none of the context's I/O threads
    /// (EMTHREAD, as libzmq).
    #[error("No thread available: AFFINITY {affinity:#x} names none of the {threads} I/O threads")]
    NoIoThread {
        /// The socket's AFFINITY bitmask.
        affinity: u64,
        /// How many I/O threads the context has.
        threads: usize,
    },
    /// An operating-system error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A libzmq errno zeroring has no case of its own for: the `zmq`
    /// crate's `Error::ENOMEM`, `Error::EINTR` and the like (see
    /// [`Error::from_raw`]).
    #[error("{}", self.message())]
    Errno(i32),
}

/// Shorthand for `Result<T, zeroring::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a non-blocking step of the socket machinery did not complete. Small
/// and `Copy`, so the hot path keeps it in registers; it becomes an [`Error`]
/// at the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    WouldBlock,
    TimedOut,
    Interrupted,
    Terminated,
    IoThreadDied,
    WrongState,
    NotSupported,
    HostUnreachable,
    /// The frame is larger than `max` bytes, the most a pipe carries.
    TooLarge {
        max: u32,
    },
}

impl Fail {
    /// The API error, for an operation on a frame of `size` bytes. Out of
    /// line: inlined, its match becomes a jump table that the success path
    /// goes through too.
    #[cold]
    #[inline(never)]
    pub(crate) fn into_error(self, size: usize) -> Error {
        match self {
            Fail::WouldBlock => Error::WouldBlock,
            Fail::TimedOut => Error::TimedOut,
            Fail::Interrupted => Error::Interrupted,
            Fail::Terminated => Error::Terminated,
            Fail::IoThreadDied => Error::IoThreadDied,
            Fail::WrongState => Error::WrongState,
            Fail::NotSupported => Error::NotSupported,
            Fail::HostUnreachable => Error::HostUnreachable,
            Fail::TooLarge { max } => Error::MessageTooLarge {
                size,
                max: max as usize,
            },
        }
    }
}
