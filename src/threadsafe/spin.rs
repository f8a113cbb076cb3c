//! The lock a socket's receivers take turns on.
//!
//! Invariants: at most one [`Guard`] exists at a time (only the thread whose
//! compare-exchange turned `busy` from false to true makes one, and only its
//! drop turns `busy` back); everything a holder did to the value happens
//! before the next holder's access (released with `Release`, acquired with
//! `Acquire`). Model-checked by `loom-tests/tests/threadsafe.rs`
//! (`spin_lock_*`): two threads add to a counter that loom tracks, twice
//! each under the lock, and see no race and the whole sum; with either
//! ordering `Relaxed` ([`breaks`](crate::pipe::breaks)) loom reports the
//! race. (With a third thread loom can keep two waiters yielding to each
//! other while the holder never runs, and gives up.)
//!
//! Held for one message's copy, and almost never contended (libzmq too
//! serialises receives on a thread-safe socket): a waiter spins, then
//! yields. Unlocking is a plain release store, where a std `Mutex` swaps
//! (to find sleepers to wake): a locked instruction that would wait for
//! the reader's own stores (releasing ring space) to drain, on every
//! message.

use crate::pipe::breaks::{self, unless_broken};
use crate::sync::{spin_hint, yield_now, AtomicBool, Ordering};
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

/// A value behind a lock that waiters spin, then yield, on.
#[derive(Default)]
pub struct SpinLock<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a Guard, and `busy` lets one
// Guard exist at a time (acquired with Acquire, released with Release), so
// the value moves between threads as under a mutex: T: Send suffices.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// The lock, held: the value, until dropped.
pub struct Guard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    /// Takes the lock, waiting for the holder to give it back.
    #[inline]
    pub fn lock(&self) -> Guard<'_, T> {
        let mut i = 0u32;
        while self
            .busy
            .compare_exchange_weak(
                false,
                true,
                unless_broken(breaks::LOCK_RELAXED, Ordering::Acquire),
                Ordering::Relaxed,
            )
            .is_err()
        {
            while self.busy.load(Ordering::Relaxed) {
                i = i.saturating_add(1);
                if i < 64 {
                    spin_hint();
                } else {
                    yield_now();
                }
            }
        }
        Guard { lock: self }
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this Guard holds the lock (see the Sync impl).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this Guard holds the lock, and `&mut self` makes the
        // reference unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.busy.store(
            false,
            unless_broken(breaks::UNLOCK_RELAXED, Ordering::Release),
        );
    }
}
