//! The socket's readiness descriptor: an eventfd that event loops (epoll,
//! mio, tokio's `AsyncFd`, [`poll`](crate::poll)) watch like any other.

use super::core::FdState;
use super::Socket;
use crate::error::{Error, Result};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

impl Socket {
    /// The socket's readiness descriptor, created on first call (a socket
    /// that never asks pays nothing for it). It is **level-triggered**: it
    /// polls readable (`POLLIN`/`EPOLLIN`) exactly while a message can be
    /// received, on every transport, and stays so until the message is
    /// taken; it also turns readable when the context is shut down. Unlike
    /// libzmq's `ZMQ_FD`, which is edge-triggered (it fires when a message
    /// reaches a socket last found empty, inproc as over any transport), it
    /// needs no `ZMQ_EVENTS` call after each wake-up.
    ///
    /// Only watch it: never read or write it. It can turn readable once
    /// for another reason (a peer made room the socket waited for, a peer
    /// connected); the next call on the socket (e.g.
    /// [`get_events`](Self::get_events)) sets it right again. For
    /// writability, ask [`get_events`](Self::get_events) or [`poll`](crate::poll).
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use zeroring::{Context, SocketType};
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull).unwrap();
    /// pull.bind("inproc://doc-fd").unwrap();
    /// let push = ctx.socket(SocketType::Push).unwrap();
    /// push.connect("inproc://doc-fd").unwrap();
    /// let fd = pull.readiness_fd().unwrap().as_raw_fd();
    /// let readable = |fd| {
    ///     let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    ///     // SAFETY: one pollfd, which outlives the call.
    ///     unsafe { libc::poll(&mut p, 1, 0) == 1 }
    /// };
    /// assert!(!readable(fd));
    /// push.send("hi", 0).unwrap();
    /// assert!(readable(fd));
    /// pull.recv_bytes(0).unwrap();
    /// assert!(!readable(fd));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](super::Frame) or
    /// [`Loan`](super::Loan) of the socket is alive; [`Error::Io`] if the
    /// descriptor (an eventfd) cannot be made.
    pub fn readiness_fd(&self) -> Result<BorrowedFd<'_>> {
        let mut c = self.core()?;
        let notify = self.shared.bell.notify().ok_or(Error::NotSupported)?;
        let fd = notify.fd()?;
        if c.fd == FdState::Off {
            c.fd = FdState::Armed;
            c.refresh_fd_now();
        }
        Ok(fd)
    }
}

/// The [readiness descriptor](Socket::readiness_fd).
///
/// # Panics
///
/// If the descriptor cannot be created (the process is out of
/// descriptors) or a [`Frame`](super::Frame) or [`Loan`](super::Loan) of the
/// socket is alive; [`Socket::readiness_fd`] reports those as errors.
impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self.readiness_fd() {
            Ok(fd) => fd,
            Err(e) => panic!("zeroring: no readiness descriptor: {e}"),
        }
    }
}

/// The [readiness descriptor](Socket::readiness_fd) (`ZMQ_FD`, but
/// level-triggered); panics as [`AsFd`] does.
impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// What [`poll`](crate::poll) needs: arm many sockets' descriptors, one
/// barrier, then settle each.
impl Socket {
    /// Clears and arms the descriptor (creating it if need be); `room`:
    /// wake on room to send as well. Returns the descriptor and whether
    /// every writer of the socket is strong (the barrier may be symmetric).
    pub(crate) fn fd_arm(&self, room: bool) -> Result<(RawFd, bool)> {
        let fd = self.readiness_fd()?.as_raw_fd();
        let symmetric = self.core()?.fd_arm(room);
        Ok((fd, symmetric))
    }

    /// After the barrier: whether the socket turned out readable (its
    /// descriptor is then signalled; `level` false: not looked at, the
    /// waiter wants only room), and whether a weak writer came in
    /// since [`fd_arm`](Self::fd_arm) (arm again with the full barrier).
    pub(crate) fn fd_settle(&self, level: bool) -> Result<(bool, bool)> {
        let mut c = self.core()?;
        let readable = c.fd_settle(level);
        Ok((readable, !c.io.all_peers_strong()))
    }
}

impl Socket {
    /// Which of `wanted` ([`POLLIN`](crate::POLLIN), [`POLLOUT`](crate::POLLOUT))
    /// hold now. Unlike the public calls it leaves the descriptor as it is:
    /// [`poll`](crate::poll) has it armed, and draining it here could eat
    /// the ring of a peer that just made room.
    pub(crate) fn events_now(&self, wanted: i16) -> Result<i16> {
        let mut c = self.live_core()?;
        let mut events = 0;
        if wanted & crate::POLLIN.bits() != 0 && c.readable() {
            events |= crate::POLLIN.bits();
        }
        if wanted & crate::POLLOUT.bits() != 0 && c.writable() {
            events |= crate::POLLOUT.bits();
        }
        Ok(events)
    }
}
