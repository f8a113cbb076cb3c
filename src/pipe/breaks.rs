//! Deliberate bugs for the loom models to catch: `loom-tests/tests/ring.rs`
//! and `mpsc.rs` set one per model and expect the model to fail, proof that
//! the models see what each ordering and each zeroing in the rings
//! ([`ring`](super::ring), [`mpsc`](super::mpsc)) is there for. Outside
//! loom no bug can be turned on.

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

#[cfg(loom)]
thread_local!(static ON: Cell<u8> = const { Cell::new(0) });

/// Turns the given bugs on for the model (loom runs its threads on one OS
/// thread, so they all see the setting).
#[cfg(loom)]
pub fn set(bugs: u8) {
    ON.with(|b| b.set(bugs));
}

#[cfg(loom)]
pub(crate) fn on(bug: u8) -> bool {
    ON.with(|b| b.get() & bug != 0)
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
