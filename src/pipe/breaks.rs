//! Deliberate bugs for the loom models to catch: `loom-tests/tests/ring.rs`,
//! `mpsc.rs` and `threadsafe.rs` set one per model and expect the model to
//! fail, proof that the models see what each ordering, zeroing, barrier and
//! check is there for: in the rings ([`ring`](super::ring),
//! [`mpsc`](super::mpsc)) and in the thread-safe sockets' receive lock,
//! room to wait in and high-water-mark credits. Outside loom no bug can be
//! turned on, and asking costs nothing.

use crate::sync::Ordering;
#[cfg(loom)]
use std::cell::Cell;

/// The publishing header store is `Relaxed`, not `Release`.
pub const PUBLISH_RELAXED: u8 = 1;
/// The consumer leaves what it read as it is (no zeroing before release).
// Set by the loom models only (through `unstable-internals`).
#[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
pub const NO_ZEROING: u8 = 2;
/// The producer loads the released head `Relaxed`, not `Acquire`.
pub const HEAD_RELAXED: u8 = 4;
/// The thread-safe sockets' receive lock is taken `Relaxed`, not `Acquire`.
pub const LOCK_RELAXED: u8 = 8;
/// The thread-safe sockets' receive lock is given back `Relaxed`, not
/// `Release`.
pub const UNLOCK_RELAXED: u8 = 16;
/// A reader signalling a thread-safe socket's room skips its barrier
/// before it looks for waiting writers.
pub const SIGNAL_NO_BARRIER: u8 = 32;
/// A writer taking credits toward a thread-safe pipe's mark reads `sent`,
/// then adds what it took, instead of adding its batch first.
#[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
pub const CREDITS_LOAD_THEN_ADD: u8 = 64;
/// A writer about to sleep in a thread-safe socket's room does not check
/// that no signal came since it last looked.
pub const EPOCH_UNCHECKED: u8 = 128;

#[cfg(loom)]
thread_local!(static ON: Cell<u8> = const { Cell::new(0) });

/// Turns the given bugs on for the model (loom runs its threads on one OS
/// thread, so they all see the setting).
#[cfg(loom)]
pub fn set(bugs: u8) {
    ON.with(|b| b.set(bugs));
}

/// Whether the loom model asked for `bug`.
#[cfg(loom)]
pub(crate) fn on(bug: u8) -> bool {
    ON.with(|b| b.get() & bug != 0)
}

/// Never, outside loom.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) const fn on(_bug: u8) -> bool {
    false
}

/// `ordering`, unless the loom model asked for `bug` (then `Relaxed`).
#[inline(always)]
pub(crate) fn unless_broken(_bug: u8, ordering: Ordering) -> Ordering {
    #[cfg(loom)]
    if on(_bug) {
        return Ordering::Relaxed;
    }
    ordering
}
