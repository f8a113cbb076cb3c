//! libzmq.so.5 over zeroring: libzmq 4.3's stable C API with its ABI
//! (`include/zmq.h`), so that C programs and the bindings of other
//! languages (pyzmq, czmq ...) run on zeroring unchanged.
//!
//! Every exported function that can panic catches panics ([`guard`]): a
//! panic becomes a failed call (errno `ENOTRECOVERABLE`), never an unwind
//! into C. The calls a program makes per message (`zmq_msg_init_size`,
//! `zmq_msg_size`, `zmq_msg_close` ...) take a fast path that cannot panic
//! outside `guard` and fail through [`fail`]: a function that may unwind
//! saves registers for its landing pad, which every message would pay. Handles
//! carry libzmq's tags and are checked on every call: a null, closed or
//! foreign socket handle is `ENOTSOCK`, a context one `EFAULT`, as in
//! libzmq (see [`handle`]).

#![warn(missing_docs)]

mod ctx;
mod errno;
mod handle;
mod msg;
mod options;
mod poll;
mod socket;
mod util;

use std::panic::{catch_unwind, AssertUnwindSafe};

/// What an entry point's body returns: its value, or the errno to fail with.
pub(crate) type CResult<T> = Result<T, i32>;

/// Runs an entry point's body: its value, or on error `failed` with errno
/// set; a panic is caught and fails the call the same way
/// (`ENOTRECOVERABLE`), so no unwind ever crosses into C.
#[inline(always)]
pub(crate) fn guard<T>(failed: T, body: impl FnOnce() -> CResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(errno)) => {
            errno::set(errno);
            failed
        }
        Err(_) => {
            errno::set(libc::ENOTRECOVERABLE);
            failed
        }
    }
}

/// Fails a call whose body cannot panic: errno set to `errno`, `failed`
/// returned. Out of line, so that the caller's fast path keeps no register
/// for it.
#[cold]
#[inline(never)]
pub(crate) fn fail<T>(errno: i32, failed: T) -> T {
    errno::set(errno);
    failed
}

/// A C string argument as UTF-8: EINVAL for a null pointer or bytes that
/// are not UTF-8 (no endpoint or option zeroring takes is otherwise).
///
/// # Safety
///
/// `s` is null or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str<'a>(s: *const libc::c_char) -> CResult<&'a str> {
    if s.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: non-null, and NUL-terminated and live for 'a by the
    // caller's contract.
    let s = unsafe { std::ffi::CStr::from_ptr(s) };
    s.to_str().map_err(|_| libc::EINVAL)
}

/// A zeroring error as the errno libzmq sets for it.
pub(crate) fn err(e: zeroring::Error) -> i32 {
    e.to_raw()
}
