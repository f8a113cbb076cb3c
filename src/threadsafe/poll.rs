//! Thread-safe sockets in [`poll`](crate::poll()): what each type reports
//! ready, and how a poll call waits for it beside classic sockets and
//! plain descriptors.
//!
//! # Readiness (libzmq 4.3's `xhas_in` and `xhas_out`)
//!
//! | type    | `POLLIN`                       | `POLLOUT`                          |
//! |---------|--------------------------------|------------------------------------|
//! | CLIENT  | a message in                   | a peer below its high-water mark   |
//! | SERVER  | a message in                   | always (a send's fate is its peer's) |
//! | SCATTER | never                          | a peer below its high-water mark   |
//! | GATHER  | a message in                   | never                              |
//! | RADIO   | never                          | always (it drops, never blocks)    |
//! | DISH    | a message of a joined group in | always (joins never block)         |
//!
//! # Waiting
//!
//! Any number of threads may poll one socket at once, so each poll call
//! sleeps on an eventfd of its own (one per thread, behind a [`Waker`]),
//! which only its thread drains. For the whole call the waker is
//! registered in each polled socket's `pollers` (woken by a message in,
//! and at the context's shutdown) and counted into its room as a waiting
//! writer (for `POLLOUT`, CLIENT and SCATTER).
//! Then each round:
//!
//! 1. the poller drains its eventfd;
//! 2. for `POLLIN`, it announces its wait on the socket's doorbell in
//!    notify mode, with the socket's waker (`Core::poll_waker`), which
//!    passes a wake-up on to every registered poller;
//! 3. the heavy barrier (the sockets' writers fence lightly);
//! 4. it re-checks every item, and sleeps in `poll(2)` only if none is
//!    ready.
//!
//! A writer publishes, runs its light barrier and loads the doorbell's
//! bits: finding NOTIFY, it takes the bits and wakes the socket's waker,
//! which signals every registered eventfd. A reader that releases room
//! does the same with the room's waiter count. Either the writer sees the
//! announcement of step 2 (or the count) or the re-check of step 4 sees
//! its change (Dekker). A signal drained at step 1 was written after the
//! writer's change, and the eventfd's counter orders the two, so step 4
//! sees that change too. A waker is registered before the announcement,
//! and a writer looks for it only after seeing that, under the list's
//! mutex: it finds it. Pollers share the NOTIFY bit, and the socket's one
//! blocking receiver sets FUTEX beside it: each sets and withdraws only
//! its own bit.

use super::core::{receives, Core};
use crate::error::Result;
use crate::pipe::notify::eventfd;
use crate::{SocketType, POLLIN, POLLOUT};
use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::task::{Wake, Waker};

const IN: i16 = POLLIN.bits();
const OUT: i16 = POLLOUT.bits();

impl Core {
    /// Which of `wanted` (`POLLIN`, `POLLOUT` bits) hold now.
    ///
    /// # Errors
    ///
    /// [`Error::Terminated`](crate::Error::Terminated) once the context is
    /// shut down.
    pub(crate) fn poll_events(&self, wanted: i16) -> Result<i16> {
        if let Some(fail) = self.stopped() {
            return Err(fail.into_error(0));
        }
        let mut events = 0;
        if wanted & IN != 0 && receives(self.kind) && self.has_in(|m| self.wanted(m)) {
            events |= IN;
        }
        if wanted & OUT != 0 && self.has_out_now() {
            events |= OUT;
        }
        Ok(events)
    }

    /// Whether a receive takes `message` (a DISH's must be of a group it
    /// has joined: the group travels first, behind its length).
    fn wanted(&self, message: &[u8]) -> bool {
        if self.kind != SocketType::Dish {
            return true;
        }
        let group = message
            .first()
            .and_then(|&len| message.get(1..=len as usize));
        group.is_some_and(|g| self.groups.load().contains(g))
    }

    fn has_out_now(&self) -> bool {
        use SocketType::*;
        match self.kind {
            Client | Scatter => self.has_out(),
            Server | Radio | Dish => true,
            _ => false,
        }
    }

    /// Whether `POLLOUT` on this socket can change: only CLIENT's and
    /// SCATTER's waits for room.
    fn out_waits(&self) -> bool {
        matches!(self.kind, SocketType::Client | SocketType::Scatter)
    }
}

/// A thread's poll wake-up: an eventfd.
struct FdWake(OwnedFd);

impl Wake for FdWake {
    fn wake(self: Arc<Self>) {
        eventfd::signal(&self.0);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        eventfd::signal(&self.0);
    }
}

thread_local! {
    /// Made on the thread's first poll of a thread-safe socket that waits.
    static WAKE: RefCell<Option<Arc<FdWake>>> = const { RefCell::new(None) };
}

fn thread_wake() -> Result<Arc<FdWake>> {
    WAKE.with(|w| {
        let mut w = w.borrow_mut();
        if let Some(wake) = &*w {
            return Ok(wake.clone());
        }
        let wake = Arc::new(FdWake(eventfd::create()?));
        *w = Some(wake.clone());
        Ok(wake)
    })
}

/// A poll call's registrations on thread-safe sockets (see the module
/// docs), undone on drop.
pub(crate) struct Watching<'a> {
    wake: Arc<FdWake>,
    waker: Waker,
    /// Each socket and the events polled on it.
    cores: Vec<(&'a Core, i16)>,
}

impl<'a> Watching<'a> {
    /// Registers this thread's waker on each of `cores` for its events.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the thread's eventfd cannot be
    /// made.
    pub fn new(cores: impl Iterator<Item = (&'a Core, i16)>) -> Result<Self> {
        let wake = thread_wake()?;
        let waker = Waker::from(wake.clone());
        let cores: Vec<_> = cores.collect();
        for &(core, events) in &cores {
            core.pollers.add(&waker);
            if events & OUT != 0 && core.out_waits() {
                core.room.watch(&waker);
            }
        }
        Ok(Self { wake, waker, cores })
    }

    /// Steps 1 and 2 of a round: drain, announce. The descriptor to sleep
    /// on follows; the caller runs the heavy barrier, then re-checks.
    pub fn arm(&self) -> RawFd {
        eventfd::drain(&self.wake.0);
        for &(core, events) in &self.cores {
            // Room a reader in another process makes rings the doorbell
            // (see `shared`), as its messages do.
            let room_over_shm = events & OUT != 0 && core.out_waits() && core.relays_room();
            if (events & IN != 0 && receives(core.kind)) || room_over_shm {
                core.arm_notify();
            }
        }
        self.wake.0.as_raw_fd()
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        for &(core, events) in &self.cores {
            core.pollers.remove(&self.waker);
            if events & OUT != 0 && core.out_waits() {
                core.room.unwatch(&self.waker);
            }
        }
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
