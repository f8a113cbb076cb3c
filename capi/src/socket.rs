//! Sockets: making and closing them, endpoints, sending and receiving,
//! monitors, proxies.
//!
//! A socket handle is used as libzmq allows: by one thread at a time (a
//! socket may move between threads with a full memory barrier between
//! their uses, as zeroring's `Socket` is `Send`).

use crate::ctx::{CtxCore, CONTEXTS};
use crate::handle::{Shells, SOCKET_TAG};
use crate::msg::{msg_mut, zmq_msg_t};
use crate::{
    c_str, err, fail_not_message, fail_not_socket, fail_with, guard, per_message, CResult,
};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use zeroring::{Socket, SocketType};

/// The sockets C holds.
pub(crate) static SOCKETS: Shells<SocketBody> = Shells::new(SOCKET_TAG);

/// A socket and its context's count of open sockets.
pub(crate) struct SocketBody {
    pub(crate) socket: Socket,
    ctx: Arc<CtxCore>,
}

/// The socket behind `handle`, or ENOTSOCK.
///
/// # Safety
///
/// `handle` is null or a handle of this library (see [`Shells::get`]),
/// used by one thread at a time.
#[inline]
pub(crate) unsafe fn socket<'a>(handle: *mut c_void) -> CResult<&'a Socket> {
    // SAFETY: per the caller's contract.
    match unsafe { SOCKETS.get(handle) } {
        Some(body) => Ok(&body.socket),
        None => Err(libc::ENOTSOCK),
    }
}

/// libzmq's socket type numbers.
fn socket_type(n: c_int) -> Option<SocketType> {
    Some(match n {
        0 => SocketType::Pair,
        1 => SocketType::Pub,
        2 => SocketType::Sub,
        3 => SocketType::Req,
        4 => SocketType::Rep,
        5 => SocketType::Dealer,
        6 => SocketType::Router,
        7 => SocketType::Pull,
        8 => SocketType::Push,
        9 => SocketType::XPub,
        10 => SocketType::XSub,
        11 => SocketType::Stream,
        _ => return None,
    })
}

/// The libzmq number of a socket type.
pub(crate) fn socket_type_number(kind: SocketType) -> c_int {
    (0..=11)
        .find(|&n| socket_type(n) == Some(kind))
        .unwrap_or(-1)
}

/// A new socket of `type_` in `context`: null with EFAULT for a bad
/// context, EINVAL for an unknown type, ETERM once the context is ending,
/// EMFILE at its MAX_SOCKETS.
///
/// # Safety
///
/// `context` is null or a handle from `zmq_ctx_new`.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket(context: *mut c_void, type_: c_int) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let core = unsafe { CONTEXTS.get(context) }.ok_or(libc::EFAULT)?;
        let kind = socket_type(type_).ok_or(libc::EINVAL)?;
        let socket = core.open_socket(|ctx| ctx.socket(kind))?;
        Ok(SOCKETS.make(SocketBody {
            socket,
            ctx: core.clone(),
        }))
    })
}

/// Closes a socket; what it sent still leaves within its LINGER.
///
/// # Safety
///
/// `s` is null or a socket handle no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn zmq_close(s: *mut c_void) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let body = unsafe { SOCKETS.take(s) }.ok_or(libc::ENOTSOCK)?;
        let ctx = body.ctx.clone();
        drop(body);
        ctx.socket_closed();
        Ok(0)
    })
}

/// Runs `op` on the socket and the endpoint string.
///
/// # Safety
///
/// `s` as for [`socket`]; `addr` null or a C string.
unsafe fn with_endpoint(
    s: *mut c_void,
    addr: *const c_char,
    op: impl FnOnce(&Socket, &str) -> zeroring::Result<()>,
) -> c_int {
    guard(-1, || {
        // SAFETY: per the caller's contract.
        let socket = unsafe { socket(s) }?;
        // SAFETY: per the caller's contract.
        let addr = unsafe { c_str(addr) }?;
        op(socket, addr).map_err(|e| match e {
            // libzmq: a transport it does not know is EPROTONOSUPPORT.
            zeroring::Error::InvalidEndpoint {
                reason: "unknown transport",
                ..
            } => libc::EPROTONOSUPPORT,
            // ... and an ipc path longer than sockaddr_un holds,
            // ENAMETOOLONG.
            e if e.to_raw() == libc::EINVAL
                && addr.strip_prefix("ipc://").is_some_and(|p| p.len() >= 108) =>
            {
                libc::ENAMETOOLONG
            }
            e => err(e),
        })?;
        Ok(0)
    })
}

/// Accepts connections on `addr`.
///
/// # Safety
///
/// `s` is null or a socket handle; `addr` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_bind(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the same contract.
    unsafe {
        with_endpoint(s, addr, |socket, addr| match addr {
            "ipc://*" => socket.bind(&ipc_wildcard()?),
            addr => socket.bind(addr),
        })
    }
}

/// libzmq's `ipc://*`: a socket file in a new private directory under
/// `$TMPDIR` (or /tmp), `.../tmpXXXXXX/socket`.
fn ipc_wildcard() -> zeroring::Result<String> {
    let base = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
    let template = std::ffi::CString::new(format!("{base}/tmpXXXXXX"))
        .map_err(|_| zeroring::Error::InvalidArgument("TMPDIR holds a NUL"))?;
    let mut template = template.into_bytes_with_nul();
    // SAFETY: a NUL-terminated template ending in XXXXXX, which mkdtemp
    // rewrites in place.
    let dir = unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) };
    if dir.is_null() {
        return Err(std::io::Error::last_os_error().into());
    }
    template.pop();
    let dir = String::from_utf8(template)
        .map_err(|_| zeroring::Error::InvalidArgument("TMPDIR is not UTF-8"))?;
    Ok(format!("ipc://{dir}/socket"))
}

/// Connects to `addr`.
///
/// # Safety
///
/// `s` is null or a socket handle; `addr` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_connect(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the same contract.
    unsafe { with_endpoint(s, addr, Socket::connect) }
}

/// Stops accepting connections on `addr` (ENOENT if not bound there).
///
/// # Safety
///
/// `s` is null or a socket handle; `addr` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_unbind(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the same contract.
    unsafe {
        with_endpoint(s, addr, |s, a| {
            unbound_wildcard(a).map_or_else(|| s.unbind(a), Err)
        })
    }
}

/// libzmq: a wildcard endpoint (`tcp://host:*`, `ipc://*`) names no bound
/// or connected endpoint (the last endpoint says which one was made).
fn unbound_wildcard(addr: &str) -> Option<zeroring::Error> {
    (addr == "ipc://*" || (addr.starts_with("tcp://") && addr.ends_with(":*")))
        .then(|| zeroring::Error::EndpointNotFound(addr.to_owned()))
}

/// Disconnects from `addr` (ENOENT if not connected there).
///
/// # Safety
///
/// `s` is null or a socket handle; `addr` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_disconnect(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the same contract.
    unsafe {
        with_endpoint(s, addr, |s, a| {
            unbound_wildcard(a).map_or_else(|| s.disconnect(a), Err)
        })
    }
}

/// `len` bytes at `buf` as a slice (a null `buf` only with `len` 0).
///
/// # Safety
///
/// `buf` is valid for `len` bytes, or null with `len` 0.
unsafe fn bytes<'a>(buf: *const c_void, len: usize) -> CResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if buf.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(buf.cast(), len) })
}

/// A size as the `int` libzmq returns.
fn c_len(n: usize) -> c_int {
    n.min(c_int::MAX as usize) as c_int
}

/// Sends `len` bytes at `buf` as one frame; returns `len`.
///
/// # Safety
///
/// `s` is null or a socket handle; `buf` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_send(
    s: *mut c_void,
    buf: *const c_void,
    len: usize,
    flags: c_int,
) -> c_int {
    per_message(
        #[inline(always)]
        move || {
            // SAFETY: per this function's contract.
            let Ok(socket) = (unsafe { socket(s) }) else {
                return fail_not_socket();
            };
            // SAFETY: per this function's contract.
            let Ok(data) = (unsafe { bytes(buf, len) }) else {
                return fail_not_message();
            };
            match socket.send(data, flags) {
                Ok(()) => c_len(len),
                Err(e) => fail_with(e),
            }
        },
    )
}

/// As `zmq_send` (zeroring copies the bytes either way).
///
/// # Safety
///
/// As `zmq_send`.
#[no_mangle]
pub unsafe extern "C" fn zmq_send_const(
    s: *mut c_void,
    buf: *const c_void,
    len: usize,
    flags: c_int,
) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_send(s, buf, len, flags) }
}

/// Receives one frame into `buf` (truncated to `len`); returns the frame's
/// full size.
///
/// # Safety
///
/// `s` is null or a socket handle; `buf` is valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_recv(
    s: *mut c_void,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
) -> c_int {
    per_message(
        #[inline(always)]
        move || {
            // SAFETY: per this function's contract.
            let Ok(socket) = (unsafe { socket(s) }) else {
                return fail_not_socket();
            };
            let out: &mut [u8] = if len == 0 {
                &mut []
            } else if buf.is_null() {
                return fail_not_message();
            } else {
                // SAFETY: per this function's contract.
                unsafe { std::slice::from_raw_parts_mut(buf.cast(), len) }
            };
            match socket.recv_into(out, flags) {
                Ok(n) => c_len(n),
                Err(e) => fail_with(e),
            }
        },
    )
}

/// The socket and the message of a per-message call, or the call returns
/// its failure (ENOTSOCK, EFAULT). A macro, not a function: each failure
/// stays a cold call of its own that the caller jumps to, with nothing
/// loaded for it beforehand. The caller's contract makes `$s` null or a
/// socket handle and `$msg` null or a `zmq_msg_t`.
macro_rules! socket_and_msg {
    ($s:expr, $msg:expr) => {{
        // SAFETY: per the calling function's contract.
        let Ok(socket) = (unsafe { socket($s) }) else {
            return fail_not_socket();
        };
        // SAFETY: per the calling function's contract.
        let Ok(m) = (unsafe { msg_mut($msg.cast()) }) else {
            return fail_not_message();
        };
        (socket, m)
    }};
}

/// Sends the message as one frame; on success the message is left empty
/// (its bytes released) and its size returned.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`; `s` is null or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_send(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    per_message(
        #[inline(always)]
        move || {
            let (socket, m) = socket_and_msg!(s, msg);
            let len = m.size();
            if let Err(e) = socket.send(m.bytes(), flags) {
                return fail_with(e);
            }
            m.reset();
            c_len(len)
        },
    )
}

/// Receives one frame into the message (releasing what it held); returns
/// its size.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`; `s` is null or a socket handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_recv(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    per_message(
        #[inline(always)]
        move || {
            let (socket, m) = socket_and_msg!(s, msg);
            // The socket leaves the properties (and their reference count)
            // alone when the frame came on the connection they are of.
            let (props, frame) = m.recv_slots();
            let got = socket.recv_with_properties(
                flags,
                props,
                #[inline(always)]
                |data| {
                    frame.set_received(data);
                    data.len()
                },
            );
            match got {
                Ok((len, more)) => {
                    m.set_more(more);
                    c_len(len)
                }
                Err(e) => fail_with(e),
            }
        },
    )
}

/// As `zmq_msg_send`, arguments swapped (the older name).
///
/// # Safety
///
/// As `zmq_msg_send`.
#[no_mangle]
pub unsafe extern "C" fn zmq_sendmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_msg_send(msg, s, flags) }
}

/// As `zmq_msg_recv`, arguments swapped (the older name).
///
/// # Safety
///
/// As `zmq_msg_recv`.
#[no_mangle]
pub unsafe extern "C" fn zmq_recvmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_msg_recv(msg, s, flags) }
}

/// Sends `count` buffers as the frames of one message.
///
/// # Safety
///
/// `s` is null or a socket handle; `iov` is null or points to `count`
/// iovecs, each valid for its length.
#[no_mangle]
pub unsafe extern "C" fn zmq_sendiov(
    s: *mut c_void,
    iov: *mut libc::iovec,
    count: usize,
    flags: c_int,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let socket = unsafe { socket(s) }?;
        if count == 0 || iov.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: per this function's contract.
        let parts = unsafe { std::slice::from_raw_parts(iov, count) };
        let mut sent = 0;
        for (i, part) in parts.iter().enumerate() {
            let last = i == count - 1;
            let f = if last {
                flags & !zeroring::SNDMORE
            } else {
                flags
            };
            // SAFETY: per this function's contract.
            let data = unsafe { bytes(part.iov_base, part.iov_len) }?;
            socket.send(data, f).map_err(err)?;
            sent = c_len(data.len());
        }
        Ok(sent)
    })
}

/// Receives up to `*count` frames of a message into buffers it allocates
/// with `malloc` (the caller frees them); sets `*count` to how many, and
/// returns that.
///
/// # Safety
///
/// `s` is null or a socket handle; `count` null or valid; `iov` null or
/// room for `*count` iovecs.
#[no_mangle]
pub unsafe extern "C" fn zmq_recviov(
    s: *mut c_void,
    iov: *mut libc::iovec,
    count: *mut usize,
    flags: c_int,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let socket = unsafe { socket(s) }?;
        // SAFETY: per this function's contract (checked for null).
        let room = match unsafe { count.as_mut() } {
            Some(n) if *n > 0 && !iov.is_null() => n,
            _ => return Err(libc::EINVAL),
        };
        let max = std::mem::replace(room, 0);
        // SAFETY: per this function's contract.
        let parts = unsafe { std::slice::from_raw_parts_mut(iov, max) };
        let mut got = 0;
        for part in parts {
            let frame = socket.recv_frame(flags).map_err(err)?;
            // SAFETY: malloc of the frame's size (at least 1, so a valid
            // pointer for an empty frame), checked for null.
            let buf = unsafe { libc::malloc(frame.len().max(1)) };
            if buf.is_null() {
                return Err(libc::ENOMEM);
            }
            // SAFETY: `buf` has room for the frame's bytes.
            unsafe { std::ptr::copy_nonoverlapping(frame.as_ptr(), buf.cast(), frame.len()) };
            part.iov_base = buf;
            part.iov_len = frame.len();
            *room += 1;
            got += 1;
            if !frame.more() {
                break;
            }
        }
        Ok(got)
    })
}

/// Starts (or, with a null `addr`, stops) the socket's monitor: a PAIR
/// bound at `addr` (inproc only) sends libzmq's two-frame events.
///
/// # Safety
///
/// `s` is null or a socket handle; `addr` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket_monitor(
    s: *mut c_void,
    addr: *const c_char,
    events: c_int,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let socket = unsafe { socket(s) }?;
        if addr.is_null() {
            socket.monitor_stop().map_err(err)?;
        } else {
            // SAFETY: per this function's contract.
            let addr = unsafe { c_str(addr) }?;
            socket.monitor(addr, events).map_err(err)?;
        }
        Ok(0)
    })
}

/// Runs a proxy; -1 with ETERM when the context ends, 0 when a control
/// socket said TERMINATE.
///
/// # Safety
///
/// Each handle is null (capture, control) or a socket handle.
unsafe fn run_proxy(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> c_int {
    guard(-1, || {
        if frontend.is_null() || backend.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: per the caller's contract.
        let (f, b) = unsafe { (socket(frontend)?, socket(backend)?) };
        // SAFETY: per the caller's contract.
        let opt = |h: *mut c_void| -> CResult<Option<&Socket>> {
            if h.is_null() {
                Ok(None)
            } else {
                // SAFETY: as above.
                unsafe { socket(h) }.map(Some)
            }
        };
        let (capture, control) = (opt(capture)?, opt(control)?);
        let ran = match (capture, control) {
            (None, None) => zeroring::proxy(f, b),
            (Some(cap), None) => zeroring::proxy_with_capture(f, b, cap),
            (None, Some(ctl)) => zeroring::proxy_steerable(f, b, ctl),
            (Some(cap), Some(ctl)) => zeroring::proxy_steerable_with_capture(f, b, cap, ctl),
        };
        ran.map_err(err)?;
        Ok(0)
    })
}

/// Passes messages between `frontend` and `backend` (copying them to
/// `capture` if not null) until the context ends.
///
/// # Safety
///
/// Each handle is null or a socket handle, used by this thread alone
/// while the proxy runs.
#[no_mangle]
pub unsafe extern "C" fn zmq_proxy(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
) -> c_int {
    // SAFETY: the same contract.
    unsafe { run_proxy(frontend, backend, capture, std::ptr::null_mut()) }
}

/// As `zmq_proxy`, steered by `control` (PAUSE, RESUME, TERMINATE,
/// STATISTICS).
///
/// # Safety
///
/// As `zmq_proxy`.
#[no_mangle]
pub unsafe extern "C" fn zmq_proxy_steerable(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> c_int {
    // SAFETY: the same contract.
    unsafe { run_proxy(frontend, backend, capture, control) }
}

/// The older device API: a proxy between the two sockets (`type_` is not
/// looked at, as in libzmq).
///
/// # Safety
///
/// As `zmq_proxy`.
#[no_mangle]
pub unsafe extern "C" fn zmq_device(
    _type: c_int,
    frontend: *mut c_void,
    backend: *mut c_void,
) -> c_int {
    // SAFETY: the same contract.
    unsafe {
        run_proxy(
            frontend,
            backend,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}
