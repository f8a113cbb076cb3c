//! The one place that switches between std and loom primitives.
//!
//! Everything lock-free in zeroring takes its atomics and fences from here, so
//! building with `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions
//! without touching the algorithms.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Busy-wait hint: loom must be told to schedule another thread instead.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}
