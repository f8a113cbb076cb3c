//! libzmq.so.5 over zeroring: libzmq 4.3's stable C API with its ABI
//! (`include/zmq.h`), so that C programs and the bindings of other
//! languages (pyzmq, czmq ...) run on zeroring unchanged.
//!
//! No unwind ever crosses into C. Sending and receiving (`zmq_send`,
//! `zmq_recv`, `zmq_msg_send`, `zmq_msg_recv`) abort the process on a panic,
//! as a failed assertion inside libzmq does ([`per_message`]): catching it
//! would cost every message a call. Every other exported function that can
//! panic catches it ([`guard`]) and fails the call (errno
//! `ENOTRECOVERABLE`). The other calls a program makes per message
//! (`zmq_msg_init_size`, `zmq_msg_size`, `zmq_msg_close` ...) take a fast
//! path that cannot panic outside `guard` and fail through [`fail`]: a
//! function that may unwind saves registers for its landing pad, which
//! every message would pay. Handles
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

/// Runs the body of a per-message entry point (`zmq_send`, `zmq_recv`,
/// `zmq_msg_send`, `zmq_msg_recv`). A panic there (a bug in zeroring,
/// never bad input) aborts the process, as an assertion inside libzmq
/// does: catching it, as [`guard`] does, would put the body in a closure
/// of its own, called through `catch_unwind`, and every message would pay
/// that call. The body fails through [`fail`] and its kin itself, each
/// failure its own cold call: a shared exit would make every call load its
/// errno beforehand.
#[inline(always)]
pub(crate) fn per_message(body: impl FnOnce() -> libc::c_int) -> libc::c_int {
    /// Aborts if dropped: only an unwind out of `body` drops it.
    struct AbortOnUnwind;
    impl Drop for AbortOnUnwind {
        fn drop(&mut self) {
            std::process::abort();
        }
    }
    let bomb = AbortOnUnwind;
    let result = body();
    std::mem::forget(bomb);
    result
}

/// Fails a per-message call on a handle that is not a socket's (ENOTSOCK).
#[cold]
#[inline(never)]
pub(crate) fn fail_not_socket() -> libc::c_int {
    fail(libc::ENOTSOCK, -1)
}

/// Fails a per-message call on a message that is not one, or a null
/// buffer (EFAULT).
#[cold]
#[inline(never)]
pub(crate) fn fail_not_message() -> libc::c_int {
    fail(libc::EFAULT, -1)
}

/// Fails a per-message call with the socket's error.
#[cold]
#[inline(never)]
pub(crate) fn fail_with(e: zeroring::Error) -> libc::c_int {
    fail(err(e), -1)
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
