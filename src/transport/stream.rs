//! A connection's byte stream and a listener, over tcp or a unix socket.
//!
//! The ZMTP engine drives both alike. Only a unix stream carries file
//! descriptors (the ipc transport's shared-memory segments), so it always
//! reads with `recvmsg`: a plain `read` that reached bytes sent with
//! SCM_RIGHTS would make the kernel discard the descriptors.

use super::ipc::IpcAddr;
use super::tcp::ConnectAddress;
use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The most descriptors one read takes: SCM_MAX_FD, so the kernel never
/// truncates what a peer sends (it would close what did not fit, but the
/// part that did would be lost to us).
const MAX_FDS: usize = 253;
/// A peer that sends more descriptors than this over one connection is
/// misbehaving: the ipc handshake passes at most two.
pub(crate) const FD_QUEUE_LIMIT: usize = 8;

/// Where a connecter connects to.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// Resolved (and connected from its source address) by the engine.
    Tcp(ConnectAddress),
    Ipc(IpcAddr),
}

/// Starts a non-blocking connect to a unix socket.
pub(crate) fn connect_unix(addr: &IpcAddr) -> io::Result<Stream> {
    UnixStream::connect_addr(&addr.to_std()?).map(|s| Stream::Unix(UnixConn::new(s)))
}

/// A unix stream and the descriptors its peer has sent, in arrival order.
pub(crate) struct UnixConn {
    stream: UnixStream,
    fds: Vec<OwnedFd>,
    cmsg: Vec<u8>,
}

impl UnixConn {
    fn new(stream: UnixStream) -> Self {
        UnixConn {
            stream,
            fds: Vec::new(),
            cmsg: nix::cmsg_space!([RawFd; MAX_FDS]),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.stream.as_raw_fd();
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<UnixAddr>(
            fd,
            &mut iov,
            Some(&mut self.cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        let n = msg.bytes;
        // Truncated control data (impossible with room for SCM_MAX_FD) is a
        // broken connection: the descriptors it held are lost to us.
        let cmsgs = msg
            .cmsgs()
            .map_err(|_| io::Error::from_raw_os_error(libc::EPROTO))?;
        for c in cmsgs {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for fd in fds {
                    // SAFETY: the kernel just installed `fd` in our table for
                    // this message; nothing else knows it, so we own it.
                    self.fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        Ok(n)
    }
}

/// A connection's stream.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixConn),
}

impl Stream {
    /// Whether the peer is a process of our effective user (a unix stream
    /// only): the only peers we let map our memory.
    pub fn peer_is_same_user(&self) -> bool {
        matches!(self, Stream::Unix(u) if same_user(&u.stream))
    }

    /// The peer's address as libzmq's `get_peer_address` gives it, for
    /// ZAP requests and the "Peer-Address" of messages: the IP address for
    /// tcp; for a unix stream what glibc's getnameinfo says of one
    /// ("localhost") then `:uid:gid:pid` (SO_PEERCRED). Empty when the
    /// kernel does not say.
    pub fn peer_address(&self) -> String {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
            Stream::Unix(u) => getsockopt(&u.stream, PeerCredentials)
                .map(|c| format!("localhost:{}:{}:{}", c.uid(), c.gid(), c.pid()))
                .unwrap_or_default(),
        }
    }

    /// The socket's pending error (a refused connect).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Stream::Tcp(s) => s.take_error(),
            Stream::Unix(u) => u.stream.take_error(),
        }
    }

    /// Ok once a non-blocking connect has completed.
    pub fn peer_connected(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(drop),
            Stream::Unix(u) => u.stream.peer_addr().map(drop),
        }
    }

    /// The descriptors received so far, oldest first (unix streams only).
    pub fn received_fds(&mut self) -> Option<&mut Vec<OwnedFd>> {
        match self {
            Stream::Unix(u) => Some(&mut u.fds),
            Stream::Tcp(_) => None,
        }
    }

    /// Sends `bytes` with `fds` attached (SCM_RIGHTS); how many bytes went.
    /// The descriptors travel with the first byte sent.
    pub fn send_with_fds(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        let Stream::Unix(u) = self else {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        };
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&raw)];
        sendmsg::<UnixAddr>(
            u.stream.as_raw_fd(),
            &[IoSlice::new(bytes)],
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(io::Error::from)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(u) => u.recv(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(u) => u.stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(u) => u.stream.flush(),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(u) => u.stream.as_raw_fd(),
        }
    }
}

impl Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(u) => u.stream.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(u) => u.stream.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(u) => u.stream.deregister(r),
        }
    }
}

/// A listening socket. A tcp one may admit only peers of the networks its
/// accept filters name (none: any), a unix one only peers of our user.
pub(crate) enum Listener {
    Tcp(TcpListener, Vec<crate::transport::tcp::AcceptFilter>),
    Unix(UnixListener, PeerFilter),
}

/// Which processes a unix listener admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerFilter {
    /// Any: a socket file's mode keeps others out.
    Any,
    /// Those running as our effective user (checked with SO_PEERCRED): an
    /// abstract name has no file mode, and its peers map our doorbell.
    SameUser,
    /// Those the socket's ipc filters name.
    Listed(IpcFilters),
}

/// libzmq's `ZMQ_IPC_FILTER_UID`, `_GID` and `_PID`: an ipc listener with
/// any of them set admits a process only if its user, one of its user's
/// groups, or the process itself is listed (SO_PEERCRED), as libzmq does.
/// With none set a listener on a path admits anyone the socket file's mode
/// lets in, and one on an abstract name only our own user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IpcFilters {
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
    pub pids: Vec<i32>,
}

impl IpcFilters {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.uids.is_empty() && self.gids.is_empty() && self.pids.is_empty()
    }

    /// Whether the process at the other end of `s` is admitted. Unknown
    /// credentials admit nobody.
    fn admit(&self, s: &UnixStream) -> bool {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        use nix::unistd::{Gid, Group, Uid, User};
        let Ok(c) = getsockopt(s, PeerCredentials) else {
            return false;
        };
        if self.uids.contains(&c.uid())
            || self.gids.contains(&c.gid())
            || self.pids.contains(&c.pid())
        {
            return true;
        }
        // A group the peer's user belongs to, not as its primary group.
        let Ok(Some(user)) = User::from_uid(Uid::from_raw(c.uid())) else {
            return false;
        };
        self.gids.iter().any(|&g| {
            Group::from_gid(Gid::from_raw(g))
                .ok()
                .flatten()
                .is_some_and(|group| group.mem.contains(&user.name))
        })
    }
}

impl Listener {
    /// The next pending connection, and its peer's address (tcp). A peer
    /// the filter refuses is disconnected at once and reported as
    /// `PermissionDenied`; the next call goes on with the queue.
    pub fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(l, filters) => {
                let (s, peer) = l.accept()?;
                if !filters.is_empty() && !filters.iter().any(|f| f.admits(peer.ip())) {
                    return Err(io::ErrorKind::PermissionDenied.into());
                }
                Ok((Stream::Tcp(s), Some(peer)))
            }
            Listener::Unix(l, filter) => {
                let (s, _) = l.accept()?;
                let admitted = match filter {
                    PeerFilter::Any => true,
                    PeerFilter::SameUser => same_user(&s),
                    PeerFilter::Listed(f) => f.admit(&s),
                };
                if !admitted {
                    return Err(io::ErrorKind::PermissionDenied.into());
                }
                Ok((Stream::Unix(UnixConn::new(s)), None))
            }
        }
    }
}

/// Whether the process at the other end of `s` connected as our effective
/// user. Unknown credentials count as another user's.
fn same_user(s: &UnixStream) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let ours = nix::unistd::geteuid().as_raw();
    getsockopt(s, PeerCredentials).is_ok_and(|c| c.uid() == ours)
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l, _) => l.register(r, t, i),
            Listener::Unix(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l, _) => l.reregister(r, t, i),
            Listener::Unix(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l, _) => l.deregister(r),
            Listener::Unix(l, _) => l.deregister(r),
        }
    }
}
