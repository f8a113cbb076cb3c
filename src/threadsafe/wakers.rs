//! The poll calls and async tasks (`tasks`) waiting on one of a
//! thread-safe socket's events (a message in, room out), each woken
//! through its own [`Waker`].
//!
//! A socket's doorbell and its room each wake one party: the doorbell its
//! notify-mode reader's `Waker`, the room its condition variable. Any
//! number of threads may poll one thread-safe socket at once, and each
//! must hear every wake-up: a wake-up one of them took (drained) could
//! otherwise leave another asleep beside a ready socket. So every poll
//! call registers its own waker here and sleeps on its own descriptor,
//! and a wake-up reaches all of them.
//!
//! A poller registers before it announces its wait (the doorbell's bit, the
//! room's waiter count) and a waker looks here only after seeing that
//! announcement, through the list's mutex: it finds every poller whose
//! announcement it saw.

use crate::sync::{Mutex, MutexGuard};
use std::task::Waker;

/// The wakers of the poll calls and tasks waiting on one event.
#[derive(Default)]
pub struct Wakers {
    list: Mutex<Vec<Waker>>,
}

impl Wakers {
    fn lock(&self) -> MutexGuard<'_, Vec<Waker>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `waker`: woken at every [`wake_all`](Self::wake_all) until
    /// removed.
    pub fn add(&self, waker: &Waker) {
        self.lock().push(waker.clone());
    }

    /// Removes one registration of `waker`.
    pub fn remove(&self, waker: &Waker) {
        let mut list = self.lock();
        if let Some(i) = list.iter().position(|w| w.will_wake(waker)) {
            list.swap_remove(i);
        }
    }

    /// How many registrations there are (the tests' leak check).
    #[cfg(test)]
    pub fn registered(&self) -> usize {
        self.lock().len()
    }

    /// Wakes every waker registered.
    pub fn wake_all(&self) {
        for w in self.lock().iter() {
            w.wake_by_ref();
        }
    }
}

/// The doorbell's one notify-mode waker, passing each wake-up on to all.
#[cfg(not(loom))]
impl std::task::Wake for Wakers {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wake_all();
    }
}
