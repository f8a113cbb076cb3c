//! [`Error`] as the `zmq` crate's: errno-named cases, `to_raw`,
//! `from_raw`, `message`, equality by errno.
//!
//! Equality compares errnos, so a timeout (`TimedOut`, EAGAIN as libzmq
//! reports it) equals `Error::EAGAIN`, and `e == zmq::Error::EAGAIN` catches
//! both as it does with libzmq; `matches!(e, Error::TimedOut)` still tells
//! them apart. The cases are associated constants, not enum variants, so
//! they compare with `==` but cannot be patterns (`Err(zmq::Error::EAGAIN)
//! =>` does not compile; `Err(e) if e == zmq::Error::EAGAIN =>` does).

use crate::error::Error;

/// libzmq's own errnos, above `ZMQ_HAUSNUMERO`.
const HAUSNUMERO: i32 = 156_384_712;
const EFSM: i32 = HAUSNUMERO + 51;
const ENOCOMPATPROTO: i32 = HAUSNUMERO + 52;
const ETERM: i32 = HAUSNUMERO + 53;
const EMTHREAD: i32 = HAUSNUMERO + 54;

/// The `zmq` crate's error names, each as the zeroring case that carries
/// its errno.
#[allow(missing_docs)]
impl Error {
    pub const EACCES: Error = Error::Errno(libc::EACCES);
    pub const EADDRINUSE: Error = Error::AddrInUse(String::new());
    pub const EAGAIN: Error = Error::WouldBlock;
    pub const EBUSY: Error = Error::Errno(libc::EBUSY);
    pub const ECONNREFUSED: Error = Error::Errno(libc::ECONNREFUSED);
    pub const EFAULT: Error = Error::Errno(libc::EFAULT);
    pub const EINTR: Error = Error::Interrupted;
    pub const EHOSTUNREACH: Error = Error::HostUnreachable;
    pub const EINPROGRESS: Error = Error::Errno(libc::EINPROGRESS);
    pub const EINVAL: Error = Error::InvalidArgument("invalid argument");
    pub const EMFILE: Error = Error::Errno(libc::EMFILE);
    pub const EMSGSIZE: Error = Error::MessageTooLarge { size: 0, max: 0 };
    pub const ENAMETOOLONG: Error = Error::Errno(libc::ENAMETOOLONG);
    pub const ENODEV: Error = Error::Errno(libc::ENODEV);
    pub const ENOENT: Error = Error::EndpointNotFound(String::new());
    pub const ENOMEM: Error = Error::Errno(libc::ENOMEM);
    pub const ENOTCONN: Error = Error::Errno(libc::ENOTCONN);
    pub const ENOTSOCK: Error = Error::Errno(libc::ENOTSOCK);
    pub const EPROTO: Error = Error::Errno(libc::EPROTO);
    pub const EPROTONOSUPPORT: Error = Error::TransportNotSupported(String::new());
    pub const ENOTSUP: Error = Error::NotSupported;
    pub const ENOBUFS: Error = Error::Errno(libc::ENOBUFS);
    pub const ENETDOWN: Error = Error::Errno(libc::ENETDOWN);
    pub const EADDRNOTAVAIL: Error = Error::Errno(libc::EADDRNOTAVAIL);
    pub const EFSM: Error = Error::WrongState;
    pub const ENOCOMPATPROTO: Error = Error::IncompatibleSocketType {
        local: "",
        peer: "",
    };
    pub const ETERM: Error = Error::Terminated;
    pub const EMTHREAD: Error = Error::Errno(EMTHREAD);

    /// The errno libzmq reports for this error (`zmq_errno()`).
    pub fn to_raw(&self) -> i32 {
        match self {
            Error::WouldBlock | Error::TimedOut => libc::EAGAIN,
            Error::Interrupted => libc::EINTR,
            Error::Terminated | Error::IoThreadDied => ETERM,
            Error::InvalidEndpoint { .. } | Error::InvalidArgument(_) => libc::EINVAL,
            Error::TransportNotSupported(_) => libc::EPROTONOSUPPORT,
            Error::AddrInUse(_) => libc::EADDRINUSE,
            Error::EndpointNotFound(_) => libc::ENOENT,
            Error::IncompatibleSocketType { .. } => ENOCOMPATPROTO,
            Error::WrongState => EFSM,
            Error::HostUnreachable => libc::EHOSTUNREACH,
            Error::NotSupported => libc::ENOTSUP,
            Error::MessageTooLarge { .. } => libc::EMSGSIZE,
            Error::TooManySockets { .. } => libc::EMFILE,
            Error::NoIoThread { .. } => EMTHREAD,
            Error::Io(e) => e.raw_os_error().unwrap_or(libc::EIO),
            Error::Errno(n) => *n,
        }
    }

    /// The error for errno `raw`, in zeroring's case for it where it has
    /// one. Unlike the `zmq` crate it never panics: an errno it does not
    /// know stays as it is.
    pub fn from_raw(raw: i32) -> Error {
        match raw {
            libc::EAGAIN => Error::EAGAIN,
            libc::EINTR => Error::EINTR,
            ETERM => Error::ETERM,
            libc::EINVAL => Error::EINVAL,
            libc::EPROTONOSUPPORT => Error::EPROTONOSUPPORT,
            libc::EADDRINUSE => Error::EADDRINUSE,
            libc::ENOENT => Error::ENOENT,
            ENOCOMPATPROTO => Error::ENOCOMPATPROTO,
            EFSM => Error::EFSM,
            libc::EHOSTUNREACH => Error::EHOSTUNREACH,
            libc::ENOTSUP => Error::ENOTSUP,
            libc::EMSGSIZE => Error::EMSGSIZE,
            n => Error::Errno(n),
        }
    }

    /// What libzmq's `zmq_strerror` says of this error's errno.
    pub fn message(&self) -> &'static str {
        match self.to_raw() {
            EFSM => "Operation cannot be accomplished in current state",
            ENOCOMPATPROTO => "The protocol is not compatible with the socket type",
            ETERM => "Context was terminated",
            EMTHREAD => "No thread available",
            libc::EACCES => "Permission denied",
            libc::EADDRINUSE => "Address already in use",
            libc::EAGAIN => "Resource temporarily unavailable",
            libc::EBUSY => "Device or resource busy",
            libc::ECONNREFUSED => "Connection refused",
            libc::EFAULT => "Bad address",
            libc::EINTR => "Interrupted system call",
            libc::EHOSTUNREACH => "Host unreachable",
            libc::EINPROGRESS => "Operation now in progress",
            libc::EINVAL => "Invalid argument",
            libc::EMFILE => "Too many open files",
            libc::EMSGSIZE => "Message too long",
            libc::ENAMETOOLONG => "File name too long",
            libc::ENODEV => "No such device",
            libc::ENOENT => "No such file or directory",
            libc::ENOMEM => "Cannot allocate memory",
            libc::ENOTCONN => "Transport endpoint is not connected",
            libc::ENOTSOCK => "Socket operation on non-socket",
            libc::EPROTO => "Protocol error",
            libc::EPROTONOSUPPORT => "Protocol not supported",
            libc::ENOTSUP => "Operation not supported",
            libc::ENOBUFS => "No buffer space available",
            libc::ENETDOWN => "Network is down",
            libc::EADDRNOTAVAIL => "Cannot assign requested address",
            _ => "Unknown error",
        }
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.to_raw() == other.to_raw()
    }
}

impl Eq for Error {}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> Self {
        use std::io::ErrorKind;
        let kind = match error.to_raw() {
            libc::ENOENT => ErrorKind::NotFound,
            libc::EACCES => ErrorKind::PermissionDenied,
            libc::ECONNREFUSED => ErrorKind::ConnectionRefused,
            libc::ENOTCONN => ErrorKind::NotConnected,
            libc::EADDRINUSE => ErrorKind::AddrInUse,
            libc::EADDRNOTAVAIL => ErrorKind::AddrNotAvailable,
            libc::EAGAIN => ErrorKind::WouldBlock,
            libc::EINVAL => ErrorKind::InvalidInput,
            libc::EINTR => ErrorKind::Interrupted,
            _ => ErrorKind::Other,
        };
        match error {
            Error::Io(e) => e,
            error => std::io::Error::new(kind, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_round_trip_and_compare() {
        for n in [
            libc::EAGAIN,
            libc::EINTR,
            libc::ENOENT,
            EFSM,
            ETERM,
            libc::EMSGSIZE,
            12345,
        ] {
            assert_eq!(Error::from_raw(n).to_raw(), n);
        }
        assert_eq!(Error::TimedOut, Error::EAGAIN);
        assert_ne!(Error::Terminated, Error::EAGAIN);
        let io: std::io::Error = Error::ENOENT.into();
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(
            Error::EFSM.message(),
            "Operation cannot be accomplished in current state"
        );
    }
}
