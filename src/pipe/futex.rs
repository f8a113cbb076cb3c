//! The raw futex calls the doorbell sleeps on.
//!
//! Deliberately *without* `FUTEX_PRIVATE_FLAG`: a shared futex keys on the
//! physical page, so a word in a memory mapping shared between processes wakes
//! across them even when it is mapped at different addresses (futex(2)).
//! Under loom the kernel is modelled with a mutex and a condition variable,
//! which gives the same guarantee the kernel does: the comparison and the
//! sleep are atomic with respect to a wake.

use crate::sync::AtomicU32;
use std::time::Duration;

#[cfg(not(loom))]
mod imp {
    use super::*;

    /// Sleeps while `*word == expected`, at most `timeout`. Returns on a wake,
    /// a mismatch, a signal or the timeout: callers re-check their condition.
    /// True if a signal handler ran (EINTR): a blocking call of libzmq's
    /// returns then, so that the program sees what its handler did.
    pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
        let ts;
        let ts_ptr = match timeout {
            Some(d) => {
                ts = libc::timespec {
                    tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: d.subsec_nanos() as libc::c_long,
                };
                &ts as *const libc::timespec
            }
            None => std::ptr::null(),
        };
        // SAFETY: `word` is a live aligned AtomicU32 and `ts_ptr` null or `&ts`,
        // both outliving the call; the kernel only reads them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                expected,
                ts_ptr,
            )
        };
        // Woken, EAGAIN and ETIMEDOUT all mean "re-check"; only EINTR (a
        // handler ran: a stop and continue, or a spurious wake-up, is not
        // one) tells the caller more.
        rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    }

    /// One entry of `futex_waitv(2)`.
    #[repr(C)]
    struct FutexWaitv {
        val: u64,
        uaddr: u64,
        flags: u32,
        reserved: u32,
    }

    /// 32-bit futex, shared (no FUTEX_PRIVATE_FLAG): see the module docs.
    const FUTEX2_SIZE_U32: u32 = 0x02;

    /// Sleeps until any of `words` differs from its expected value, or a
    /// wake, or `timeout`. Returns false if the kernel lacks `futex_waitv`
    /// (before Linux 5.16); the caller then has to wait another way.
    pub(crate) fn wait_many(words: &[(&AtomicU32, u32)], timeout: Option<Duration>) -> bool {
        let waiters: Vec<FutexWaitv> = words
            .iter()
            .map(|(w, expected)| FutexWaitv {
                val: *expected as u64,
                uaddr: w.as_ptr() as u64,
                flags: FUTEX2_SIZE_U32,
                reserved: 0,
            })
            .collect();
        let mut deadline = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let deadline_ptr = match timeout {
            Some(d) => {
                // SAFETY: clock_gettime writes one timespec into `deadline`.
                unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut deadline) };
                let nanos = deadline.tv_nsec as u64 + d.subsec_nanos() as u64;
                deadline.tv_sec = deadline
                    .tv_sec
                    .saturating_add(d.as_secs().min(i64::MAX as u64 / 2) as libc::time_t)
                    .saturating_add((nanos / 1_000_000_000) as libc::time_t);
                deadline.tv_nsec = (nanos % 1_000_000_000) as libc::c_long;
                &deadline as *const libc::timespec
            }
            None => std::ptr::null(),
        };
        // SAFETY: `waiters` has `words.len()` entries addressing AtomicU32s
        // borrowed for the call; the deadline pointer is null or `&deadline`,
        // which outlives it. The kernel only reads them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                waiters.as_ptr(),
                waiters.len() as libc::c_uint,
                0 as libc::c_uint,
                deadline_ptr,
                libc::CLOCK_MONOTONIC,
            )
        };
        !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
    }

    /// Wakes every thread sleeping on `word`, in any process that maps it.
    pub(crate) fn wake_all(word: &AtomicU32) {
        // SAFETY: `word` is a live AtomicU32; FUTEX_WAKE only uses its address
        // as a key and never dereferences memory we do not own.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
        }
    }
}

#[cfg(loom)]
mod imp {
    use super::*;
    use crate::sync::{Condvar, Mutex, Ordering};

    /// loom stand-in for the kernel's futex hash bucket.
    pub(crate) struct Bucket {
        lock: Mutex<()>,
        cv: Condvar,
    }

    impl Bucket {
        pub(crate) fn new() -> Self {
            Self {
                lock: Mutex::new(()),
                cv: Condvar::new(),
            }
        }

        pub(crate) fn wait(&self, word: &AtomicU32, expected: u32, _timeout: Option<Duration>) {
            let guard = self.lock.lock().unwrap();
            if word.load(Ordering::SeqCst) == expected {
                drop(self.cv.wait(guard).unwrap());
            }
        }

        pub(crate) fn wake_all(&self, _word: &AtomicU32) {
            let _guard = self.lock.lock().unwrap();
            self.cv.notify_all();
        }
    }
}

pub(crate) use imp::*;
