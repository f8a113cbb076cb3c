//! errno as libzmq reports it: the C library's thread-local `errno`,
//! read back by `zmq_errno`, and `zmq_strerror`'s texts.

use std::ffi::{c_char, c_int, CStr};

/// libzmq's own error numbers, above `ZMQ_HAUSNUMERO`.
pub(crate) const HAUSNUMERO: c_int = 156_384_712;
pub(crate) const EFSM: c_int = HAUSNUMERO + 51;
pub(crate) const ENOCOMPATPROTO: c_int = HAUSNUMERO + 52;
pub(crate) const ETERM: c_int = HAUSNUMERO + 53;
pub(crate) const EMTHREAD: c_int = HAUSNUMERO + 54;

/// Sets the calling thread's errno.
pub(crate) fn set(errno: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno, valid
    // for the thread's life.
    unsafe { *libc::__errno_location() = errno };
}

/// The calling thread's errno.
fn get() -> c_int {
    // SAFETY: as in `set`.
    unsafe { *libc::__errno_location() }
}

/// The calling thread's errno: the error of its last failed call.
#[no_mangle]
pub extern "C" fn zmq_errno() -> c_int {
    get()
}

/// A description of `errnum`: libzmq's texts for its own errors, the C
/// library's for the rest. The string is static.
#[no_mangle]
pub extern "C" fn zmq_strerror(errnum: c_int) -> *const c_char {
    let own: Option<&'static CStr> = match errnum {
        EFSM => Some(c"Operation cannot be accomplished in current state"),
        ENOCOMPATPROTO => Some(c"The protocol is not compatible with the socket type"),
        ETERM => Some(c"Context was terminated"),
        EMTHREAD => Some(c"No thread available"),
        _ => None,
    };
    match own {
        Some(text) => text.as_ptr(),
        // SAFETY: strerror returns a string that stays valid until the
        // next strerror call of this thread; glibc's are static for every
        // known errno and libzmq returns the same.
        None => unsafe { libc::strerror(errnum) },
    }
}
