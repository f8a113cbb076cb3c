//! The rest of libzmq's API: version and capabilities, Z85, CURVE key
//! pairs, atomic counters, stopwatches, `zmq_sleep`,
//! threads and timers.

use crate::{c_str, guard, CResult};
use std::ffi::{c_char, c_int, c_long, c_ulong, c_void};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The libzmq version this library stands in for.
///
/// # Safety
///
/// Each pointer is null or valid for writing an `int`.
#[no_mangle]
pub unsafe extern "C" fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    let (a, b, c) = zeroring::version();
    for (p, v) in [(major, a), (minor, b), (patch, c)] {
        if !p.is_null() {
            // SAFETY: non-null and writable per the contract.
            unsafe { *p = v };
        }
    }
}

/// 1 if the library has `capability` ("ipc", "curve"), else 0 ("gssapi",
/// "pgm", "tipc", "norm", "draft" ...).
///
/// # Safety
///
/// `capability` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn zmq_has(capability: *const c_char) -> c_int {
    guard(0, || {
        // SAFETY: per this function's contract.
        let name = unsafe { c_str(capability) }?;
        Ok(zeroring::has(name).unwrap_or(false) as c_int)
    })
}

/// Z85-encodes `size` bytes (a multiple of 4) into `dest` (room for
/// `size * 5 / 4 + 1`), NUL-terminated; returns `dest`, or null (EINVAL).
///
/// # Safety
///
/// `data` valid for `size` bytes, `dest` for `size * 5 / 4 + 1`.
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_encode(
    dest: *mut c_char,
    data: *const u8,
    size: usize,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        if size % 4 != 0 || dest.is_null() || (data.is_null() && size > 0) {
            return Err(libc::EINVAL);
        }
        let bytes = if size == 0 {
            &[][..]
        } else {
            // SAFETY: per this function's contract.
            unsafe { std::slice::from_raw_parts(data, size) }
        };
        let text = zeroring::z85_encode(bytes).map_err(|_| libc::EINVAL)?;
        // SAFETY: `dest` has room for the text and its NUL.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), dest.cast::<u8>(), text.len());
            *dest.add(text.len()) = 0;
        }
        Ok(dest)
    })
}

/// Decodes a Z85 string (length a multiple of 5) into `dest` (room for
/// `len * 4 / 5` bytes); returns `dest`, or null (EINVAL).
///
/// # Safety
///
/// `string` is a C string, `dest` valid for its decoded size.
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
    guard(std::ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let text = unsafe { c_str(string) }?;
        if dest.is_null() || text.len() < 5 || text.len() % 5 != 0 {
            return Err(libc::EINVAL);
        }
        let bytes = zeroring::z85_decode(text).map_err(|_| libc::EINVAL)?;
        // SAFETY: `dest` has room for the decoded bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dest, bytes.len()) };
        Ok(dest)
    })
}

/// Writes `key` Z85-encoded (40 characters and a NUL) at `dest`.
///
/// # Safety
///
/// `dest` is valid for 41 bytes.
unsafe fn put_z85_key(dest: *mut c_char, key: &[u8; 32]) -> CResult<()> {
    let text = zeroring::z85_encode(key).map_err(|_| libc::EINVAL)?;
    // SAFETY: 40 characters and a NUL fit the 41 bytes `dest` has.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), dest.cast::<u8>(), text.len());
        *dest.add(text.len()) = 0;
    }
    Ok(())
}

/// A new CURVE key pair, each key Z85-encoded (41 bytes with its NUL);
/// 0, or -1 with errno.
///
/// # Safety
///
/// `public` and `secret` are each valid for writing 41 bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_keypair(public: *mut c_char, secret: *mut c_char) -> c_int {
    guard(-1, || {
        if public.is_null() || secret.is_null() {
            return Err(libc::EINVAL);
        }
        let pair = zeroring::curve_keypair().map_err(|e| e.to_raw())?;
        // SAFETY: both have room for a Z85 key, per the contract.
        unsafe {
            put_z85_key(public, &pair.public_key)?;
            put_z85_key(secret, &pair.secret_key)?;
        }
        Ok(0)
    })
}

/// The CURVE public key of a Z85-encoded secret key (40 characters), into
/// `public` (41 bytes with its NUL); 0, or -1 with errno (EINVAL for a
/// key that is not Z85).
///
/// # Safety
///
/// `secret` is a C string; `public` is valid for writing 41 bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_public(public: *mut c_char, secret: *const c_char) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let text = unsafe { c_str(secret) }?;
        if public.is_null() || text.len() != 40 {
            return Err(libc::EINVAL);
        }
        let key = zeroring::curve_public(text.as_bytes()).map_err(|_| libc::EINVAL)?;
        // SAFETY: `public` has room for a Z85 key, per the contract.
        unsafe { put_z85_key(public, &key) }?;
        Ok(0)
    })
}

/// A new atomic counter, at 0.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_new() -> *mut c_void {
    Box::into_raw(Box::new(AtomicI32::new(0))).cast()
}

/// The counter behind `counter`.
///
/// # Safety
///
/// `counter` is null or from `zmq_atomic_counter_new`, not destroyed.
unsafe fn counter<'a>(counter: *mut c_void) -> Option<&'a AtomicI32> {
    // SAFETY: per the contract.
    unsafe { counter.cast::<AtomicI32>().as_ref() }
}

/// Sets the counter.
///
/// # Safety
///
/// `c` is null or a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_set(c: *mut c_void, value: c_int) {
    // SAFETY: per this function's contract.
    if let Some(c) = unsafe { counter(c) } {
        c.store(value, Ordering::SeqCst);
    }
}

/// Adds one; returns the value before.
///
/// # Safety
///
/// `c` is null or a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_inc(c: *mut c_void) -> c_int {
    // SAFETY: per this function's contract.
    unsafe { counter(c) }.map_or(0, |c| c.fetch_add(1, Ordering::SeqCst))
}

/// Subtracts one; returns 1 if the counter is still above zero, else 0.
///
/// # Safety
///
/// `c` is null or a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_dec(c: *mut c_void) -> c_int {
    // SAFETY: per this function's contract.
    unsafe { counter(c) }.map_or(0, |c| (c.fetch_sub(1, Ordering::SeqCst) - 1 > 0) as c_int)
}

/// The counter's value.
///
/// # Safety
///
/// `c` is null or a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_value(c: *mut c_void) -> c_int {
    // SAFETY: per this function's contract.
    unsafe { counter(c) }.map_or(0, |c| c.load(Ordering::SeqCst))
}

/// Frees the counter `*c` and sets `*c` to null.
///
/// # Safety
///
/// `c` is null or points to null or a live counter.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_destroy(c: *mut *mut c_void) {
    if c.is_null() {
        return;
    }
    // SAFETY: per this function's contract.
    let p = unsafe { std::ptr::replace(c, std::ptr::null_mut()) };
    if !p.is_null() {
        // SAFETY: from Box::into_raw in zmq_atomic_counter_new, freed once.
        drop(unsafe { Box::from_raw(p.cast::<AtomicI32>()) });
    }
}

/// A stopwatch, started now.
#[no_mangle]
pub extern "C" fn zmq_stopwatch_start() -> *mut c_void {
    Box::into_raw(Box::new(Instant::now())).cast()
}

/// Microseconds since the stopwatch started.
///
/// # Safety
///
/// `watch` is null or a running stopwatch.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
    // SAFETY: per this function's contract.
    unsafe { watch.cast::<Instant>().as_ref() }.map_or(0, |w| w.elapsed().as_micros() as c_ulong)
}

/// Microseconds since the stopwatch started; frees it.
///
/// # Safety
///
/// `watch` is null or a running stopwatch, not used again.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
    // SAFETY: per this function's contract.
    let elapsed = unsafe { zmq_stopwatch_intermediate(watch) };
    if !watch.is_null() {
        // SAFETY: from Box::into_raw in zmq_stopwatch_start, freed once.
        drop(unsafe { Box::from_raw(watch.cast::<Instant>()) });
    }
    elapsed
}

/// Sleeps `seconds` seconds.
#[no_mangle]
pub extern "C" fn zmq_sleep(seconds: c_int) {
    std::thread::sleep(Duration::from_secs(seconds.max(0) as u64));
}

/// A thread's function (`zmq_thread_fn`).
type ThreadFn = unsafe extern "C" fn(arg: *mut c_void);

/// The argument, sent to the new thread.
struct SendPtr(*mut c_void);
// SAFETY: the application hands `arg` to the thread it starts, as with
// libzmq; what it points to is the application's to synchronise.
unsafe impl Send for SendPtr {}

/// Runs `func(arg)` on a new thread; `zmq_threadclose` joins it. Null
/// (EINVAL) for a null `func`, (EAGAIN) if the thread cannot start.
#[no_mangle]
pub extern "C" fn zmq_threadstart(func: Option<ThreadFn>, arg: *mut c_void) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let func = func.ok_or(libc::EINVAL)?;
        let arg = SendPtr(arg);
        let handle = std::thread::Builder::new()
            .spawn(move || {
                let arg = arg;
                // SAFETY: the application's thread function and its
                // argument, as zmq_threadstart promises to call them.
                unsafe { func(arg.0) }
            })
            .map_err(|_| libc::EAGAIN)?;
        Ok(Box::into_raw(Box::new(handle)).cast())
    })
}

/// Waits for a thread from `zmq_threadstart` to end, and frees it.
///
/// # Safety
///
/// `thread` is null or from `zmq_threadstart`, not closed yet.
#[no_mangle]
pub unsafe extern "C" fn zmq_threadclose(thread: *mut c_void) {
    if thread.is_null() {
        return;
    }
    // SAFETY: from Box::into_raw in zmq_threadstart, freed once.
    let handle = unsafe { Box::from_raw(thread.cast::<std::thread::JoinHandle<()>>()) };
    let _ = handle.join();
}

/// A timer's handler (`zmq_timer_fn`).
type TimerFn = unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void);

/// libzmq's timers tag.
const TIMERS_TAG: u32 = 0xcafe_dada;

/// A set of timers (`zmq_timers_*`).
#[repr(C)]
struct Timers {
    tag: u32,
    state: Mutex<TimerState>,
}

#[derive(Default)]
struct TimerState {
    next_id: c_int,
    timers: Vec<Timer>,
}

struct Timer {
    id: c_int,
    interval: Duration,
    handler: TimerFn,
    arg: *mut c_void,
    when: Instant,
}

impl TimerState {
    fn find(&mut self, id: c_int) -> Option<&mut Timer> {
        self.timers.iter_mut().find(|t| t.id == id)
    }
}

/// The timers behind `timers`, or EFAULT.
///
/// # Safety
///
/// `timers` is null or from `zmq_timers_new` (live).
unsafe fn timers<'a>(timers: *mut c_void) -> Result<&'a Timers, c_int> {
    // SAFETY: per the contract.
    match unsafe { timers.cast::<Timers>().as_ref() } {
        Some(t) if t.tag == TIMERS_TAG => Ok(t),
        _ => Err(libc::EFAULT),
    }
}

impl Timers {
    fn lock(&self) -> std::sync::MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A new, empty set of timers.
#[no_mangle]
pub extern "C" fn zmq_timers_new() -> *mut c_void {
    Box::into_raw(Box::new(Timers {
        tag: TIMERS_TAG,
        state: Mutex::default(),
    }))
    .cast()
}

/// Frees the timers `*timers_p` and sets it to null.
///
/// # Safety
///
/// `timers_p` is null or points to null or to live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_destroy(timers_p: *mut *mut c_void) -> c_int {
    guard(-1, || {
        if timers_p.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: per this function's contract.
        let p = unsafe { *timers_p };
        // SAFETY: as above.
        unsafe { timers(p) }?;
        // SAFETY: live timers from Box::into_raw, freed once; the tag is
        // cleared first for a stray later call to see.
        unsafe {
            (*p.cast::<Timers>()).tag = 0xdead_beef;
            drop(Box::from_raw(p.cast::<Timers>()));
            *timers_p = std::ptr::null_mut();
        }
        Ok(0)
    })
}

/// Adds a timer calling `handler(id, arg)` every `interval` ms (from the
/// `zmq_timers_execute` calls); returns its id.
///
/// # Safety
///
/// `t` is null or live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_add(
    t: *mut c_void,
    interval: usize,
    handler: Option<TimerFn>,
    arg: *mut c_void,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let t = unsafe { timers(t) }?;
        let handler = handler.ok_or(libc::EFAULT)?;
        let mut state = t.lock();
        state.next_id += 1;
        let id = state.next_id;
        let interval = Duration::from_millis(interval as u64);
        state.timers.push(Timer {
            id,
            interval,
            handler,
            arg,
            when: Instant::now() + interval,
        });
        Ok(id)
    })
}

/// Cancels a timer (EINVAL if there is none of that id).
///
/// # Safety
///
/// `t` is null or live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_cancel(t: *mut c_void, timer_id: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let t = unsafe { timers(t) }?;
        let mut state = t.lock();
        let i = state
            .timers
            .iter()
            .position(|x| x.id == timer_id)
            .ok_or(libc::EINVAL)?;
        state.timers.remove(i);
        Ok(0)
    })
}

/// Changes a timer's interval; it next fires `interval` ms from now.
///
/// # Safety
///
/// `t` is null or live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_set_interval(
    t: *mut c_void,
    timer_id: c_int,
    interval: usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let t = unsafe { timers(t) }?;
        let mut state = t.lock();
        let timer = state.find(timer_id).ok_or(libc::EINVAL)?;
        timer.interval = Duration::from_millis(interval as u64);
        timer.when = Instant::now() + timer.interval;
        Ok(0)
    })
}

/// Restarts a timer: it next fires its interval from now.
///
/// # Safety
///
/// `t` is null or live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_reset(t: *mut c_void, timer_id: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let t = unsafe { timers(t) }?;
        let mut state = t.lock();
        let timer = state.find(timer_id).ok_or(libc::EINVAL)?;
        timer.when = Instant::now() + timer.interval;
        Ok(0)
    })
}

/// Milliseconds until the next timer fires (0 if one is due), -1 if none.
///
/// # Safety
///
/// `t` is null or live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_timeout(t: *mut c_void) -> c_long {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let t = unsafe { timers(t) }?;
        let state = t.lock();
        let now = Instant::now();
        Ok(state
            .timers
            .iter()
            .map(|x| x.when.saturating_duration_since(now).as_millis() as c_long)
            .min()
            .unwrap_or(-1))
    })
}

/// Calls the handlers of the timers that are due (earliest first), each
/// then due again its interval from now.
///
/// # Safety
///
/// `t` is null or live timers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_execute(t: *mut c_void) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let t = unsafe { timers(t) }?;
        let now = Instant::now();
        let mut due: Vec<(Instant, c_int)> = {
            let state = t.lock();
            state
                .timers
                .iter()
                .filter(|x| x.when <= now)
                .map(|x| (x.when, x.id))
                .collect()
        };
        due.sort();
        for (_, id) in due {
            // A handler may have cancelled a later timer meanwhile.
            let call = {
                let mut state = t.lock();
                state.find(id).map(|x| {
                    x.when = now + x.interval;
                    (x.handler, x.arg)
                })
            };
            if let Some((handler, arg)) = call {
                // SAFETY: the application's handler and argument, as
                // zmq_timers_add promised to call them.
                unsafe { handler(id, arg) };
            }
        }
        Ok(0)
    })
}
