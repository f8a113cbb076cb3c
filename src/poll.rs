//! `poll`: wait until any of several sockets can receive or send, or plain
//! file descriptors are ready, as `zmq_poll` does.
//!
//! It checks every item; if none is ready it arms each socket's readiness
//! descriptor (the doorbell handshake in notify mode, with a want-room
//! request for `POLLOUT`), re-checks, and sleeps in one `poll(2)` over those
//! eventfds and the plain descriptors, so a long wait costs no CPU. Any
//! peer that publishes, releases room or closes wakes it. Thread-safe
//! sockets join the same `poll(2)` through one eventfd of the calling
//! thread (see `threadsafe::poll`).

use crate::error::{Error, Result};
use crate::pipe::doorbell;
use crate::threadsafe::{Core, Watching};
use crate::Socket;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

// The raw bits, as `zmq_pollitem_t` carries them.
const IN: i16 = 1;
const OUT: i16 = 2;
const ERR: i16 = 4;

/// A set of poll events, as the `zmq` crate's `PollEvents` (`ZMQ_POLLIN`,
/// `ZMQ_POLLOUT`, `ZMQ_POLLERR`, combined with `|`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollEvents(i16);

impl PollEvents {
    /// A message can be received (`ZMQ_POLLIN`).
    pub const POLLIN: PollEvents = PollEvents(IN);
    /// A message can be sent (`ZMQ_POLLOUT`).
    pub const POLLOUT: PollEvents = PollEvents(OUT);
    /// An error condition on a plain descriptor (`ZMQ_POLLERR`).
    pub const POLLERR: PollEvents = PollEvents(ERR);

    /// No event.
    pub const fn empty() -> Self {
        PollEvents(0)
    }
    /// The raw `zmq_pollitem_t` bits.
    pub const fn bits(self) -> i16 {
        self.0
    }
    /// The events among `bits`; unknown bits are dropped.
    pub const fn from_bits_truncate(bits: i16) -> Self {
        PollEvents(bits & (IN | OUT | ERR))
    }
    /// Whether every event of `other` is in `self`.
    pub const fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether any event of `other` is in `self`.
    pub const fn intersects(self, other: PollEvents) -> bool {
        self.0 & other.0 != 0
    }
    /// Whether there is no event.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Debug for PollEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [(IN, "POLLIN"), (OUT, "POLLOUT"), (ERR, "POLLERR")];
        let set: Vec<_> = names
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect();
        write!(
            f,
            "PollEvents({})",
            if set.is_empty() {
                "empty".to_owned()
            } else {
                set.join(" | ")
            }
        )
    }
}

impl std::ops::BitOr for PollEvents {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        PollEvents(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for PollEvents {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for PollEvents {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        PollEvents(self.0 & rhs.0)
    }
}

/// Poll for readability: a message can be received (`ZMQ_POLLIN`).
pub const POLLIN: PollEvents = PollEvents::POLLIN;
/// Poll for writability: a message can be sent (`ZMQ_POLLOUT`).
pub const POLLOUT: PollEvents = PollEvents::POLLOUT;
/// An error condition on a plain descriptor (`ZMQ_POLLERR`): reported in
/// `revents` whatever `events` asked, never for a socket.
pub const POLLERR: PollEvents = PollEvents::POLLERR;

#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Socket(&'a Socket),
    /// A thread-safe socket ([`Server`](crate::Server) ...).
    Safe(&'a Core),
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
    pub fn new(socket: &'a Socket, events: PollEvents) -> Self {
        Self {
            target: Target::Socket(socket),
            events: events.0,
            revents: 0,
        }
    }
    /// Waits for `events` on a plain file descriptor (a pipe, a TCP
    /// stream, a timerfd ...), as `zmq_poll`'s `fd` items:
    /// [`POLLIN`]/[`POLLOUT`] mean readable/writable as `poll(2)` says, and
    /// [`POLLERR`] is reported for an error or hang-up. A descriptor that
    /// is not open is reported with [`POLLERR`], not as a failure.
    pub fn from_fd(fd: RawFd, events: PollEvents) -> PollItem<'static> {
        PollItem {
            target: Target::Fd(fd),
            events: events.0,
            revents: 0,
        }
    }
    /// Waits for `events` on a thread-safe socket.
    pub(crate) fn threadsafe(core: &'a Core, events: PollEvents) -> Self {
        Self {
            target: Target::Safe(core),
            events: events.0,
            revents: 0,
        }
    }
    /// The events that happened in the last [`poll`].
    pub fn get_revents(&self) -> PollEvents {
        PollEvents(self.revents)
    }
    /// Changes the events to wait for.
    pub fn set_events(&mut self, events: PollEvents) {
        self.events = events.0;
    }
    /// Whether the item is `socket`.
    pub fn has_socket(&self, socket: &Socket) -> bool {
        matches!(self.target, Target::Socket(s) if std::ptr::eq(s, socket))
    }
    /// Whether the item is the thread-safe socket of `core`.
    pub(crate) fn has_core(&self, core: &Core) -> bool {
        matches!(self.target, Target::Safe(c) if std::ptr::eq(c, core))
    }
    /// Whether the item is the plain descriptor `fd`.
    pub fn has_fd(&self, fd: RawFd) -> bool {
        matches!(self.target, Target::Fd(f) if f == fd)
    }
    /// Whether the last [`poll`] found the item readable.
    pub fn is_readable(&self) -> bool {
        self.revents & IN != 0
    }
    /// Whether the last [`poll`] found the item writable.
    pub fn is_writable(&self) -> bool {
        self.revents & OUT != 0
    }
    /// Whether the last [`poll`] found an error on the descriptor.
    pub fn is_error(&self) -> bool {
        self.revents & ERR != 0
    }
}

impl Socket {
    /// A [`PollItem`] for this socket (the `zmq` crate's `as_poll_item`).
    pub fn as_poll_item(&self, events: PollEvents) -> PollItem<'_> {
        PollItem::new(self, events)
    }

    /// The events ready now: [`POLLIN`] and/or [`POLLOUT`] (`ZMQ_EVENTS`).
    ///
    /// # Errors
    ///
    /// [`Error::Terminated`] once the context is shut down, or
    /// [`Error::IoThreadDied`] once its I/O thread died.
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_events(&self) -> Result<PollEvents> {
        let mut events = PollEvents::empty();
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
    if events & IN != 0 {
        sys |= libc::POLLIN;
    }
    if events & OUT != 0 {
        sys |= libc::POLLOUT;
    }
    sys
}

/// An item's events from what `poll(2)` reported, as libzmq maps them.
fn from_sys(revents: i16) -> i16 {
    let mut ev = 0;
    if revents & libc::POLLIN != 0 {
        ev |= IN;
    }
    if revents & libc::POLLOUT != 0 {
        ev |= OUT;
    }
    if revents & !(libc::POLLIN | libc::POLLOUT | libc::POLLPRI) != 0 {
        ev |= ERR;
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
            Target::Socket(_) | Target::Safe(_) => None,
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
            Target::Socket(s) => s.events_now(item.events & (IN | OUT))?,
            Target::Safe(c) => c.poll_events(item.events & (IN | OUT))?,
            Target::Fd(_) => fds
                .next()
                .map_or(0, |p| from_sys(p.revents) & (item.events | ERR)),
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
///
/// # Errors
///
/// - [`Error::Terminated`] or [`Error::IoThreadDied`]: the context of a
///   polled socket is shut down or its I/O thread died.
/// - [`Error::WrongState`]: a [`Frame`](crate::Frame) or
///   [`Loan`](crate::Loan) of a polled socket is alive.
/// - [`Error::Interrupted`]: a signal handler ran while `poll` waited.
/// - [`Error::Io`]: `ppoll(2)` failed, or a socket's readiness descriptor
///   could not be made.
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
    // Thread-safe sockets: registered once, for the whole call.
    let mut watching: Option<Watching<'_>> = None;
    loop {
        let sockets = || {
            items.iter().filter_map(|i| match i.target {
                Target::Socket(s) => Some((s, i.events)),
                Target::Safe(_) | Target::Fd(_) => None,
            })
        };
        let safe = || {
            items.iter().filter_map(|i| match i.target {
                Target::Safe(c) => Some((c, i.events)),
                Target::Socket(_) | Target::Fd(_) => None,
            })
        };
        if let Some(stopped) = sockets().find_map(|(s, _)| s.context_stopped()) {
            return Err(stopped);
        }
        if let Some(stopped) = safe().find_map(|(c, _)| c.stopped()) {
            return Err(stopped.into_error(0));
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
            let (fd, strong) = s.fd_arm(events & OUT != 0)?;
            all_strong &= strong;
            wait.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if watching.is_none() && safe().next().is_some() {
            watching = Some(Watching::new(safe())?);
        }
        if let Some(w) = &watching {
            wait.push(libc::pollfd {
                fd: w.arm(),
                events: libc::POLLIN,
                revents: 0,
            });
            // Their writers fence lightly.
            all_strong = false;
        }
        doorbell::barrier_before_check(symmetric && all_strong);
        let mut weak_came = false;
        for (s, events) in sockets() {
            weak_came |= s.fd_settle(events & IN != 0)?.1;
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
