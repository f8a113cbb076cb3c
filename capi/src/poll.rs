//! `zmq_poll` over sockets and plain descriptors.

use crate::socket::socket;
use crate::{err, guard};
use std::ffi::{c_int, c_long, c_short, c_void};
use zeroring::{PollEvents, PollItem};

/// libzmq's `zmq_pollitem_t`: a socket (non-null) or a descriptor.
#[repr(C)]
pub struct zmq_pollitem_t {
    socket: *mut c_void,
    fd: c_int,
    events: c_short,
    revents: c_short,
}

/// Waits up to `timeout` milliseconds (-1: no limit) until an item is
/// ready; returns how many are, each item's `revents` filled in.
///
/// # Safety
///
/// `items` is null with `nitems` 0, or points to `nitems` poll items whose
/// sockets are null or socket handles this thread may use.
#[no_mangle]
pub unsafe extern "C" fn zmq_poll(
    items: *mut zmq_pollitem_t,
    nitems: c_int,
    timeout: c_long,
) -> c_int {
    guard(-1, || {
        if nitems < 0 {
            return Err(libc::EINVAL);
        }
        if nitems == 0 {
            // libzmq sleeps for the timeout then.
            if timeout > 0 {
                std::thread::sleep(std::time::Duration::from_millis(timeout as u64));
            } else if timeout < 0 {
                return Err(libc::EFAULT);
            }
            return Ok(0);
        }
        if items.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: per this function's contract.
        let items = unsafe { std::slice::from_raw_parts_mut(items, nitems as usize) };
        let mut polled = Vec::with_capacity(items.len());
        for item in items.iter() {
            let events = PollEvents::from_bits_truncate(item.events);
            polled.push(if item.socket.is_null() {
                PollItem::from_fd(item.fd, events)
            } else {
                // SAFETY: per this function's contract.
                PollItem::new(unsafe { socket(item.socket) }?, events)
            });
        }
        let ready = zeroring::poll(&mut polled, timeout).map_err(err)?;
        for (item, p) in items.iter_mut().zip(&polled) {
            item.revents = p.get_revents().bits();
        }
        Ok(ready)
    })
}
