//! `ZMQ_USE_FD`: a listener the application made, taken for a `bind`.
//!
//! zeroring listens on a duplicate of the descriptor, so the application
//! keeps its own to close whenever it likes and no descriptor is ever
//! closed twice.

use socket2::{Domain, Socket, Type};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Which kind of listener a `bind` wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// tcp: an IPv4 or IPv6 stream socket.
    Ip,
    /// ipc: a unix stream socket.
    Unix,
}

/// A non-blocking duplicate of `fd`, once it is seen to be a listening
/// stream socket of `family`.
///
/// # Errors
///
/// EBADF for a descriptor not open, ENOTSOCK for one not a socket, EINVAL
/// for a socket not listening or not of `family` and type stream.
pub(crate) fn adopt(fd: RawFd, family: Family) -> io::Result<Socket> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) reads no memory of ours; a number that
    // is not an open descriptor gives EBADF, and the new one is ours alone.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` was just made by the fcntl above and nothing else
    // knows it.
    let socket = Socket::from(unsafe { OwnedFd::from_raw_fd(dup) });
    let domain = socket.domain()?;
    let fits = match family {
        Family::Ip => domain == Domain::IPV4 || domain == Domain::IPV6,
        Family::Unix => domain == Domain::UNIX,
    };
    if !fits || socket.r#type()? != Type::STREAM || !socket.is_listener()? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "USE_FD is not a listening stream socket of the endpoint's transport",
        ));
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn takes_listeners_of_the_family_only() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = adopt(l.as_raw_fd(), Family::Ip).unwrap();
        assert_ne!(std::os::fd::AsRawFd::as_raw_fd(&s), l.as_raw_fd());
        assert!(adopt(l.as_raw_fd(), Family::Unix).is_err());
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert!(adopt(c.as_raw_fd(), Family::Ip).is_err(), "not a listener");
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        assert!(adopt(f.as_raw_fd(), Family::Ip).is_err(), "not a socket");
        assert!(adopt(-1, Family::Ip).is_err());
    }
}
