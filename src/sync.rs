//! The one place that switches between std and loom primitives.
//!
//! Everything lock-free in zeroring takes its atomics and fences from here, so
//! building with `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions
//! without touching the algorithms.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Busy-wait hint: loom must be told to schedule another thread instead.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

/// Gives the CPU to another thread: under loom, to another modelled thread.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}

/// The two halves of the doorbell's Dekker handshake.
///
/// Writers (every publish, on the hot path) run [`light`]; a reader about to
/// sleep (the slow path) runs [`heavy`]. Where the kernel offers expedited
/// `membarrier` (Linux 4.16+), `light` is only a compiler barrier and `heavy`
/// makes every CPU running a registered process execute a full barrier, which
/// together order store-then-load on both sides exactly as two `SeqCst`
/// fences would (membarrier(2): "replace memory barriers on the fast path with
/// compiler barriers"). The global variant reaches writers in other processes
/// too, since every zeroring process registers. Without it, both halves are
/// `SeqCst` fences. Under loom they always are, so loom checks the protocol.
pub(crate) mod barrier {
    #[cfg(not(loom))]
    mod imp {
        use std::sync::atomic::{compiler_fence, fence, AtomicBool, Ordering};
        use std::sync::Once;

        const CMD_GLOBAL_EXPEDITED: libc::c_long = 1 << 1;
        const CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_long = 1 << 2;

        static ASYMMETRIC: AtomicBool = AtomicBool::new(false);
        static INIT: Once = Once::new();

        fn membarrier(cmd: libc::c_long) -> bool {
            // SAFETY: membarrier takes two integers and touches no memory of ours.
            unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long) == 0 }
        }

        /// Chooses the mode, once per process, before any doorbell exists.
        pub(crate) fn init() {
            INIT.call_once(|| {
                let ok =
                    membarrier(CMD_REGISTER_GLOBAL_EXPEDITED) && membarrier(CMD_GLOBAL_EXPEDITED);
                ASYMMETRIC.store(ok, Ordering::Release);
            });
        }

        /// Whether writers' fences are compiler fences (membarrier mode).
        pub(crate) fn asymmetric() -> bool {
            init();
            ASYMMETRIC.load(Ordering::Relaxed)
        }

        #[inline]
        pub(crate) fn light() {
            if ASYMMETRIC.load(Ordering::Relaxed) {
                compiler_fence(Ordering::SeqCst);
            } else {
                fence(Ordering::SeqCst);
            }
        }

        pub(crate) fn heavy() {
            fence(Ordering::SeqCst);
            if ASYMMETRIC.load(Ordering::Relaxed) {
                // Registration succeeded, so this cannot fail (membarrier(2)).
                membarrier(CMD_GLOBAL_EXPEDITED);
            }
        }
    }

    #[cfg(loom)]
    mod imp {
        use crate::sync::{fence, Ordering};
        pub(crate) fn init() {}
        pub(crate) fn light() {
            fence(Ordering::SeqCst);
        }
        pub(crate) fn heavy() {
            fence(Ordering::SeqCst);
        }
    }

    pub(crate) use imp::*;
}
