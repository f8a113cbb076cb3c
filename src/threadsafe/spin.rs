//! The lock a socket's receivers take turns on.
//!
//! Held for one message's copy, and almost never contended (libzmq too
//! serialises receives on a thread-safe socket): a waiter spins, then
//! yields. Unlocking is a plain release store, where a std `Mutex` swaps
//! (to find sleepers to wake): a locked instruction that would wait for
//! the reader's own stores (releasing ring space) to drain, on every
//! message.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Default)]
pub(crate) struct SpinLock<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a Guard, and `busy` lets one
// Guard exist at a time (acquired with Acquire, released with Release), so
// the value moves between threads as under a mutex: T: Send suffices.
unsafe impl<T: Send> Sync for SpinLock<T> {}

pub(crate) struct Guard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    #[inline]
    pub fn lock(&self) -> Guard<'_, T> {
        let mut i = 0u32;
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.busy.load(Ordering::Relaxed) {
                i = i.saturating_add(1);
                if i < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
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
        self.lock.busy.store(false, Ordering::Release);
    }
}
