//! How a doorbell wakes a reader that does not sleep on its futex: an async
//! task (its [`Waker`]) or an event loop watching the socket's readiness
//! file descriptor (an eventfd).
//!
//! Only the writers of this process reach it (they hold the socket's own
//! [`Doorbell`](super::Doorbell)); a writer in another process can only
//! bump the futex word, and the bridge (`crate::bridge`) carries that here.

use crate::sync::Mutex;
use std::task::Waker;

/// The process-local half of a socket's doorbell: who to wake when a
/// writer finds the reader waiting in notify mode.
pub(crate) struct Notify {
    /// The task that last waited (kept, not taken, by a wake: a writer that
    /// finds the slot empty could otherwise miss a task that re-armed).
    waker: Mutex<Option<Waker>>,
    /// The readiness descriptor, created on first use.
    #[cfg(not(loom))]
    fd: std::sync::OnceLock<std::os::fd::OwnedFd>,
}

impl Notify {
    pub fn new() -> Self {
        Self {
            waker: Mutex::new(None),
            #[cfg(not(loom))]
            fd: std::sync::OnceLock::new(),
        }
    }

    /// Makes `waker` the one to wake; cheap when it is the same task again.
    pub fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Wakes whoever waits: the task, and the descriptor's event loop.
    pub fn wake(&self) {
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(w) = waker {
            w.wake();
        }
        #[cfg(not(loom))]
        if let Some(fd) = self.fd.get() {
            eventfd::signal(fd);
        }
    }
}

#[cfg(not(loom))]
impl Notify {
    /// The readiness descriptor, created now if it does not exist yet.
    pub fn fd(&self) -> std::io::Result<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        if let Some(fd) = self.fd.get() {
            return Ok(fd.as_fd());
        }
        let created = eventfd::create()?;
        // Only the socket's own thread creates it, so `set` cannot lose a
        // race; if it somehow did, the loser's descriptor is closed here.
        let _ = self.fd.set(created);
        Ok(self.fd.get().expect("just set").as_fd())
    }

    /// Makes the descriptor readable.
    pub fn signal_fd(&self) {
        if let Some(fd) = self.fd.get() {
            eventfd::signal(fd);
        }
    }

    /// Makes the descriptor unreadable (until the next signal).
    pub fn drain_fd(&self) {
        if let Some(fd) = self.fd.get() {
            eventfd::drain(fd);
        }
    }
}

/// The three eventfd calls, each one system call.
#[cfg(not(loom))]
pub(crate) mod eventfd {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// A non-blocking, close-on-exec eventfd with a zero counter.
    pub fn create() -> std::io::Result<OwnedFd> {
        // SAFETY: eventfd takes two integers and returns a new descriptor
        // (or -1), which we then own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Adds one to the counter: readable from now on. It fails only when
    /// the counter is at its maximum, i.e. readable anyway.
    pub fn signal(fd: &impl AsRawFd) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one`, which outlives the call.
        unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the counter to zero: unreadable until the next signal. A
    /// zero counter fails with EAGAIN (non-blocking), which is the goal.
    pub fn drain(fd: &impl AsRawFd) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into `count`, which outlives the call.
        unsafe { libc::read(fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }
}
