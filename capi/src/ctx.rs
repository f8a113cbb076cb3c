//! Contexts: `zmq_ctx_*` and the older `zmq_init`/`zmq_term`.
//!
//! As libzmq's, `zmq_ctx_term` ends the context: calls blocked on its
//! sockets (and every later call but `zmq_close`) fail with ETERM, and it
//! returns once every socket is closed and what they sent has had its
//! LINGER to leave.

use crate::handle::{Shells, CTX_TAG};
use crate::{err, guard, CResult};
use std::ffi::{c_int, c_void};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use zeroring::Context;

/// The contexts C holds.
pub(crate) static CONTEXTS: Shells<Arc<CtxCore>> = Shells::new(CTX_TAG);

/// libzmq's option numbers.
const IO_THREADS: c_int = 1;
const MAX_SOCKETS: c_int = 2;
const SOCKET_LIMIT: c_int = 3;
const THREAD_PRIORITY: c_int = 3;
const THREAD_SCHED_POLICY: c_int = 4;
const MAX_MSGSZ: c_int = 5;
const MSG_T_SIZE: c_int = 6;
const THREAD_AFFINITY_CPU_ADD: c_int = 7;
const THREAD_AFFINITY_CPU_REMOVE: c_int = 8;
const THREAD_NAME_PREFIX: c_int = 9;
const IPV6: c_int = 42;
const BLOCKY: c_int = 70;

/// A context and its count of open sockets.
pub(crate) struct CtxCore {
    state: Mutex<CtxState>,
    /// Signalled when a socket closes.
    closed: Condvar,
}

struct CtxState {
    /// `None` once terminated.
    ctx: Option<Context>,
    /// Sockets made and not yet closed.
    open: usize,
    /// ZMQ_IO_THREADS as set (libzmq takes 0; zeroring runs at least one).
    io_threads: c_int,
    /// ZMQ_MAX_MSGSZ as set (kept; zeroring's frames stop at 64 MiB).
    max_msgsz: c_int,
}

impl CtxCore {
    fn new() -> Self {
        Self {
            state: Mutex::new(CtxState {
                ctx: Some(Context::new()),
                open: 0,
                io_threads: 1,
                max_msgsz: c_int::MAX,
            }),
            closed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CtxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The context, to make a socket in; counts the socket as open if
    /// `make` succeeds.
    pub(crate) fn open_socket<T>(
        &self,
        make: impl FnOnce(&Context) -> zeroring::Result<T>,
    ) -> CResult<T> {
        let mut state = self.lock();
        let ctx = state.ctx.as_ref().ok_or(crate::errno::ETERM)?;
        let made = make(ctx).map_err(err)?;
        state.open += 1;
        Ok(made)
    }

    /// A socket of the context was closed.
    pub(crate) fn socket_closed(&self) {
        let mut state = self.lock();
        state.open -= 1;
        if state.open == 0 {
            self.closed.notify_all();
        }
    }

    /// The context, unless terminated.
    fn context(&self) -> CResult<Context> {
        self.lock().ctx.clone().ok_or(crate::errno::ETERM)
    }

    /// `zmq_ctx_term`: shut down if sockets are open, wait until they are
    /// closed, then let the context go (which waits for LINGER).
    fn terminate(&self) {
        let mut state = self.lock();
        if state.open > 0 {
            if let Some(ctx) = &state.ctx {
                ctx.shutdown();
            }
            while state.open > 0 {
                state = self.closed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
        let ctx = state.ctx.take();
        drop(state);
        drop(ctx);
    }
}

/// The context behind `handle`, or EFAULT.
///
/// # Safety
///
/// As [`Shells::get`].
unsafe fn core<'a>(handle: *mut c_void) -> CResult<&'a Arc<CtxCore>> {
    // SAFETY: per the caller's contract.
    unsafe { CONTEXTS.get(handle) }.ok_or(libc::EFAULT)
}

/// A new context.
#[no_mangle]
pub extern "C" fn zmq_ctx_new() -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        Ok(CONTEXTS.make(Arc::new(CtxCore::new())))
    })
}

/// A new context with `io_threads` I/O threads (the older API).
#[no_mangle]
pub extern "C" fn zmq_init(io_threads: c_int) -> *mut c_void {
    if io_threads < 0 {
        crate::errno::set(libc::EINVAL);
        return std::ptr::null_mut();
    }
    let ctx = zmq_ctx_new();
    if !ctx.is_null() {
        // SAFETY: a handle zmq_ctx_new just made.
        unsafe { zmq_ctx_set(ctx, IO_THREADS, io_threads) };
    }
    ctx
}

/// Ends the context: see the module's documentation.
///
/// # Safety
///
/// `context` is null or a handle from `zmq_ctx_new`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_term(context: *mut c_void) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let core = unsafe { core(context) }?.clone();
        core.terminate();
        // SAFETY: as above; the clone outlives the handle.
        unsafe { CONTEXTS.take(context) };
        Ok(0)
    })
}

/// As `zmq_ctx_term` (the older name).
///
/// # Safety
///
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_term(context: *mut c_void) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_ctx_term(context) }
}

/// As `zmq_ctx_term` (the older name).
///
/// # Safety
///
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_destroy(context: *mut c_void) -> c_int {
    // SAFETY: the same contract.
    unsafe { zmq_ctx_term(context) }
}

/// Shuts the context down: blocked and later calls on its sockets fail
/// with ETERM; the sockets are still to be closed.
///
/// # Safety
///
/// `context` is null or a handle from `zmq_ctx_new`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_shutdown(context: *mut c_void) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let core = unsafe { core(context) }?;
        if let Ok(ctx) = core.context() {
            ctx.shutdown();
        }
        Ok(0)
    })
}

/// Sets a context option.
///
/// # Safety
///
/// `context` is null or a handle from `zmq_ctx_new`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_set(context: *mut c_void, option: c_int, value: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let core = unsafe { core(context) }?;
        let ctx = core.context()?;
        let ok = |r: zeroring::Result<()>| r.map(|()| 0).map_err(err);
        match option {
            IO_THREADS if value >= 0 => {
                // zeroring starts at least one thread, and only before the
                // first tcp or ipc endpoint; libzmq keeps what is set.
                if value >= 1 {
                    let _ = ctx.set_io_threads(value);
                }
                core.lock().io_threads = value;
                Ok(0)
            }
            MAX_SOCKETS => ok(ctx.set_max_sockets(value)),
            IPV6 if value >= 0 => ok(ctx.set_ipv6(value != 0)),
            BLOCKY if value >= 0 => ok(ctx.set_blocky(value != 0)),
            MAX_MSGSZ if value >= 0 => {
                core.lock().max_msgsz = value;
                Ok(0)
            }
            THREAD_PRIORITY if value >= 0 => ok(ctx.set_thread_priority(value)),
            THREAD_SCHED_POLICY if value >= 0 => ok(ctx.set_thread_sched_policy(value)),
            THREAD_AFFINITY_CPU_ADD if value >= 0 => ok(ctx.add_thread_affinity_cpu(value)),
            THREAD_AFFINITY_CPU_REMOVE if value >= 0 => ok(ctx.remove_thread_affinity_cpu(value)),
            THREAD_NAME_PREFIX => ok(ctx.set_thread_name_prefix(&value.to_string())),
            _ => Err(libc::EINVAL),
        }
    })
}

/// A context option's value, or -1 (EINVAL for an unknown option).
///
/// # Safety
///
/// `context` is null or a handle from `zmq_ctx_new`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let core = unsafe { core(context) }?;
        let ctx = core.context()?;
        let int = |r: zeroring::Result<i32>| r.map_err(err);
        match option {
            IO_THREADS => Ok(core.lock().io_threads),
            MAX_SOCKETS => int(ctx.get_max_sockets()),
            SOCKET_LIMIT => int(ctx.get_socket_limit()),
            IPV6 => int(ctx.get_ipv6().map(i32::from)),
            BLOCKY => int(ctx.get_blocky().map(i32::from)),
            MAX_MSGSZ => Ok(core.lock().max_msgsz),
            MSG_T_SIZE => Ok(std::mem::size_of::<crate::msg::ZmqMsg>() as c_int),
            THREAD_SCHED_POLICY => int(ctx.get_thread_sched_policy()),
            THREAD_NAME_PREFIX => {
                let prefix = ctx.get_thread_name_prefix().map_err(err)?;
                Ok(prefix.parse().unwrap_or(0))
            }
            _ => Err(libc::EINVAL),
        }
    })
}
