//! `poll`: wait until any of several sockets can receive or send, or plain
//! file descriptors are ready, as `zmq_poll` does.
//!
//! It checks every item; if none is ready it arms each socket's readiness
//! descriptor (the doorbell handshake in notify mode, with a want-room
//! request for `POLLOUT`), re-checks, and sleeps in one `poll(2)` over those
//! eventfds and the plain descriptors, so a long wait costs no CPU. Any
//! peer that publishes, releases room or closes wakes it.

use crate::error::{Error, Result};
use crate::pipe::doorbell;
use crate::Socket;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Poll for readability: a message can be received (`ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// Poll for writability: a message can be sent (`ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;
/// An error condition on a plain descriptor (`ZMQ_POLLERR`): reported in
/// `revents` whatever `events` asked, never for a socket.
pub const POLLERR: i16 = 4;

#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Socket(&'a Socket),
    Fd(RawFd),
}

/// A socket or a plain file descriptor, and the events to wait for;
/// [`poll`] fills in what happened.
#[derive(Debug)]
pub struct PollItem<'a> {
    target: Target<'a>,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Waits for `events` ([`POLLIN`], [`POLLOUT`], or both) on `socket`.
    pub fn new(socket: &'a Socket, events: i16) -> Self {
        Self {
            target: Target::Socket(socket),
            events,
            revents: 0,
        }
    }
    /// Waits for `events` on a plain file descriptor (a pipe, a TCP
    /// stream, a timerfd ...), as `zmq_poll`'s `fd` items:
    /// [`POLLIN`]/[`POLLOUT`] mean readable/writable as `poll(2)` says, and
    /// [`POLLERR`] is reported for an error or hang-up. A descriptor that
    /// is not open is reported with [`POLLERR`], not as a failure.
    pub fn from_fd(fd: RawFd, events: i16) -> PollItem<'static> {
        PollItem {
            target: Target::Fd(fd),
            events,
            revents: 0,
        }
    }
    /// The events that happened in the last [`poll`].
    pub fn get_revents(&self) -> i16 {
        self.revents
    }
    /// Whether the last [`poll`] found the item readable.
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }
    /// Whether the last [`poll`] found the item writable.
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }
    /// Whether the last [`poll`] found an error on the descriptor.
    pub fn is_error(&self) -> bool {
        self.revents & POLLERR != 0
    }
}

impl Socket {
    /// A [`PollItem`] for this socket (the `zmq` crate's `as_poll_item`).
    pub fn as_poll_item(&self, events: i16) -> PollItem<'_> {
        PollItem::new(self, events)
    }

    /// The events ready now: [`POLLIN`] and/or [`POLLOUT`] (`ZMQ_EVENTS`).
    pub fn get_events(&self) -> Result<i16> {
        let mut events = 0;
        if self.readable()? {
            events |= POLLIN;
        }
        if self.writable()? {
            events |= POLLOUT;
        }
        Ok(events)
    }
}

/// `poll(2)` interest for an item's events.
fn sys_events(events: i16) -> i16 {
    let mut sys = 0;
    if events & POLLIN != 0 {
        sys |= libc::POLLIN;
    }
    if events & POLLOUT != 0 {
        sys |= libc::POLLOUT;
    }
    sys
}

/// An item's events from what `poll(2)` reported, as libzmq maps them.
fn from_sys(revents: i16) -> i16 {
    let mut ev = 0;
    if revents & libc::POLLIN != 0 {
        ev |= POLLIN;
    }
    if revents & libc::POLLOUT != 0 {
        ev |= POLLOUT;
    }
    if revents & !(libc::POLLIN | libc::POLLOUT | libc::POLLPRI) != 0 {
        ev |= POLLERR;
    }
    ev
}

/// `poll(2)` over `fds`, at most `timeout` (`None`: no limit). A signal
/// handler that ran makes it [`Error::Interrupted`], as `zmq_poll`'s EINTR.
fn sys_poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<()> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a live slice of pollfds of the given length and
    // `ts_ptr` null or `&ts`, both outliving the call; no signal mask.
    let rc = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            return Err(Error::Interrupted);
        }
        return Err(Error::Io(err));
    }
    Ok(())
}

/// The plain descriptors' pollfds, in item order.
fn fd_set(items: &[PollItem<'_>]) -> Vec<libc::pollfd> {
    items
        .iter()
        .filter_map(|i| match i.target {
            Target::Fd(fd) => Some(libc::pollfd {
                fd,
                events: sys_events(i.events),
                revents: 0,
            }),
            Target::Socket(_) => None,
        })
        .collect()
}

/// Fills in each item's events (sockets asked now, descriptors from
/// `fds` as the last `poll(2)` left them) and returns how many have any.
fn collect(items: &mut [PollItem<'_>], fds: &[libc::pollfd]) -> Result<i32> {
    let mut ready = 0;
    let mut fds = fds.iter();
    for item in items.iter_mut() {
        item.revents = match item.target {
            Target::Socket(s) => s.events_now(item.events & (POLLIN | POLLOUT))?,
            Target::Fd(_) => fds
                .next()
                .map_or(0, |p| from_sys(p.revents) & (item.events | POLLERR)),
        };
        if item.revents != 0 {
            ready += 1;
        }
    }
    Ok(ready)
}

/// Looks at every item without waiting.
fn check(items: &mut [PollItem<'_>], fds: &mut [libc::pollfd]) -> Result<i32> {
    if !fds.is_empty() {
        sys_poll(fds, Some(Duration::ZERO))?;
    }
    collect(items, fds)
}

/// Waits until at least one item is ready, or `timeout_ms` passes (-1: no
/// limit, 0: don't wait). Returns the number of items with events, which are
/// in each item's `revents`, like `zmq::poll`.
///
/// ```
/// use zeroring::{poll, Context, PollItem, SocketType, POLLIN};
/// let ctx = Context::new();
/// let a = ctx.socket(SocketType::Pull).unwrap();
/// let b = ctx.socket(SocketType::Pull).unwrap();
/// a.bind("inproc://doc-poll-a").unwrap();
/// b.bind("inproc://doc-poll-b").unwrap();
/// let push = ctx.socket(SocketType::Push).unwrap();
/// push.connect("inproc://doc-poll-b").unwrap();
/// push.send("hi", 0).unwrap();
/// let mut items = [a.as_poll_item(POLLIN), b.as_poll_item(POLLIN)];
/// assert_eq!(poll(&mut items, 1000).unwrap(), 1);
/// assert!(items[1].is_readable() && !items[0].is_readable());
///
/// // Plain descriptors too: here, standard input (maybe readable).
/// let mut items = [a.as_poll_item(POLLIN), PollItem::from_fd(0, POLLIN)];
/// poll(&mut items, 0).unwrap();
/// assert!(!items[0].is_readable());
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<i32> {
    let mut fds = fd_set(items);
    let ready = check(items, &mut fds)?;
    if ready > 0 || timeout_ms == 0 {
        return Ok(ready);
    }
    let start = Instant::now();
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| start + Duration::from_millis(ms));
    if fds.is_empty() {
        // A short spin catches a peer that is about to answer, without a
        // sleep (or a system call).
        while start.elapsed() < Duration::from_micros(10) {
            std::hint::spin_loop();
            let ready = collect(items, &fds)?;
            if ready > 0 {
                return Ok(ready);
            }
        }
    }
    let mut symmetric = true;
    loop {
        let sockets = || {
            items.iter().filter_map(|i| match i.target {
                Target::Socket(s) => Some((s, i.events)),
                Target::Fd(_) => None,
            })
        };
        if let Some(stopped) = sockets().find_map(|(s, _)| s.context_stopped()) {
            return Err(stopped);
        }
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return check(items, &mut fds),
            },
            None => None,
        };
        // The handshake, for every socket at once: arm, one barrier, look.
        let mut wait: Vec<libc::pollfd> = Vec::with_capacity(items.len());
        let mut all_strong = true;
        for (s, events) in sockets() {
            let (fd, strong) = s.fd_arm(events & POLLOUT != 0)?;
            all_strong &= strong;
            wait.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        doorbell::barrier_before_check(symmetric && all_strong);
        let mut weak_came = false;
        for (s, events) in sockets() {
            weak_came |= s.fd_settle(events & POLLIN != 0)?.1;
        }
        if symmetric && all_strong && weak_came {
            // A weak writer came in during the check: arm again, with
            // the full barrier.
            symmetric = false;
            continue;
        }
        let ready = check(items, &mut fds)?;
        if ready > 0 {
            return Ok(ready);
        }
        wait.extend_from_slice(&fds);
        sys_poll(&mut wait, left)?;
        let n_sockets = wait.len() - fds.len();
        fds.copy_from_slice(&wait[n_sockets..]);
        let ready = collect(items, &fds)?;
        if ready > 0 {
            return Ok(ready);
        }
    }
}
