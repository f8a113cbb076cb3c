//! `zmq_msg_t`: 64 bytes, pointer-aligned, as libzmq's. Frames of up to
//! 48 bytes live inside it; larger ones in a reference-counted buffer it
//! points to, which `zmq_msg_copy` shares and whose free function
//! (`zmq_msg_init_data`) runs once, when the last message holding it lets
//! go. A received message also holds its connection's properties, for
//! `zmq_msg_gets`.

use crate::{c_str, fail, fail_not_message, guard, CResult};
use std::ffi::{c_char, c_int, c_void};
use std::mem::ManuallyDrop;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use zeroring::Properties;

/// The most bytes a message holds inside itself.
pub(crate) const INLINE_MAX: usize = 48;

/// A `zmq_msg_t` whose bytes are here (the `kind` byte).
const KIND_INLINE: u8 = 0x5a;
/// A `zmq_msg_t` pointing to a [`Content`].
const KIND_SHARED: u8 = 0xa5;

/// The MORE flag (`ZMQ_MORE`: more frames of the message follow).
const FLAG_MORE: u8 = 1;

/// libzmq's `zmq_msg_get` properties.
const ZMQ_MORE: c_int = 1;
const ZMQ_SRCFD: c_int = 2;
const ZMQ_SHARED: c_int = 3;

/// The C library's free function type (`zmq_free_fn`).
pub(crate) type FreeFn = unsafe extern "C" fn(data: *mut c_void, hint: *mut c_void);

/// What a `zmq_msg_t` is, inside its 64 bytes.
#[repr(C, align(8))]
pub(crate) struct ZmqMsg {
    frame: Frame,
    /// The properties of the connection it came on.
    props: ManuallyDrop<Option<Properties>>,
}

/// A message's bytes and flags: all of it but the properties, so that a
/// receive can fill it while the socket updates those (see
/// [`ZmqMsg::recv_slots`]). A message reads as its frame (`Deref`).
#[repr(C)]
pub(crate) struct Frame {
    body: Body,
    /// [`KIND_INLINE`] or [`KIND_SHARED`]; anything else is not a message
    /// (never initialised, or closed): EFAULT, as libzmq.
    kind: u8,
    flags: u8,
    /// The length of an inline message.
    len: u8,
    _pad: [u8; 5],
}

impl std::ops::Deref for ZmqMsg {
    type Target = Frame;
    #[inline(always)]
    fn deref(&self) -> &Frame {
        &self.frame
    }
}

impl std::ops::DerefMut for ZmqMsg {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Frame {
        &mut self.frame
    }
}

const _: () = assert!(std::mem::size_of::<ZmqMsg>() == 64);
const _: () = assert!(std::mem::align_of::<ZmqMsg>() <= 8);

#[repr(C)]
union Body {
    inline: [u8; INLINE_MAX],
    shared: SharedRef,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SharedRef {
    data: *mut u8,
    size: usize,
    content: *mut Content,
}

/// A buffer shared by the messages that hold it.
struct Content {
    refs: AtomicUsize,
    /// The bytes, if ours (else the application's, freed by `free`).
    owned: Option<Box<[u8]>>,
    free: Option<(FreeFn, *mut c_void, *mut c_void)>,
    /// The application's data, never freed (`zmq_msg_init_data` without
    /// a free function).
    constant: bool,
}

impl Drop for Content {
    fn drop(&mut self) {
        if let Some((ffn, data, hint)) = self.free.take() {
            // SAFETY: the application's free function for the data it
            // gave `zmq_msg_init_data`, called once: the last holder has
            // let go.
            unsafe { ffn(data, hint) };
        }
    }
}

impl ZmqMsg {
    /// An empty message, written over whatever `msg` held. Only the
    /// fields that say what it holds are written, as libzmq's `init` does:
    /// a sender initialises a message per frame, and every store it makes
    /// queues behind the frame's stores into the ring's lines.
    #[inline(always)]
    fn init(msg: *mut ZmqMsg) {
        // SAFETY: callers pass a non-null, aligned pointer to 64 writable
        // bytes (a zmq_msg_t); its old contents are not read. The body is
        // read only up to `len` (0 here) until written.
        unsafe {
            std::ptr::addr_of_mut!((*msg).props).write(ManuallyDrop::new(None));
            std::ptr::addr_of_mut!((*msg).frame.kind).write(KIND_INLINE);
            std::ptr::addr_of_mut!((*msg).frame.flags).write(0);
            std::ptr::addr_of_mut!((*msg).frame.len).write(0);
        }
    }

    /// Lets go of the bytes and properties; the message is then invalid
    /// until initialised again.
    fn release(&mut self) {
        if self.kind == KIND_SHARED {
            self.release_shared();
        }
        if self.props.is_some() {
            // SAFETY: `props` holds a value while the message is valid, and
            // is not read again until `init` writes it anew.
            unsafe { ManuallyDrop::drop(&mut self.props) };
        }
        self.kind = 0;
    }

    /// Whether closing the message only marks it closed: inline bytes and
    /// no properties (a sender's every message), nothing to let go of.
    #[inline(always)]
    fn holds_nothing(&self) -> bool {
        self.kind == KIND_INLINE && self.props.is_none()
    }

    /// After a send: the message is empty again, as libzmq leaves it.
    /// Properties and flags are written only when set: a sender empties a
    /// message per frame, and each store queues behind the frame's stores
    /// into the ring (see [`init`](Self::init)).
    #[inline(always)]
    pub(crate) fn reset(&mut self) {
        // Kind and flags side by side, compared at once.
        let plain = u16::from_ne_bytes([KIND_INLINE, 0]);
        if u16::from_ne_bytes([self.kind, self.flags]) != plain || self.props.is_some() {
            self.reset_held();
        }
        self.len = 0;
    }

    /// [`reset`](Self::reset) of a message that holds something to let
    /// go of, or has flags set.
    #[cold]
    #[inline(never)]
    fn reset_held(&mut self) {
        self.release_bytes();
        if self.props.is_some() {
            *self.props = None;
        }
        self.flags = 0;
    }

    /// The message's properties and its frame, apart: a receive fills the
    /// one and writes the other at once, with no move of the properties
    /// (and their reference count) out and back.
    #[inline(always)]
    pub(crate) fn recv_slots(&mut self) -> (&mut Option<Properties>, &mut Frame) {
        (&mut self.props, &mut self.frame)
    }
}

impl Frame {
    /// Puts a copy of `data` in this message, which holds nothing shared.
    #[inline(always)]
    fn store(&mut self, data: &[u8]) {
        if data.len() <= INLINE_MAX {
            // SAFETY: writing the inline bytes of a union of plain data.
            zeroring::copy_frame(unsafe { &mut self.body.inline[..data.len()] }, data);
            self.kind = KIND_INLINE;
            self.len = data.len() as u8;
        } else {
            self.store_large(data);
        }
    }

    /// [`store`](Self::store) of a frame that does not fit in the message,
    /// out of small frames' way (see [`release_shared`](Self::release_shared)).
    #[cold]
    #[inline(never)]
    fn store_large(&mut self, data: &[u8]) {
        self.set_content(data.into(), None);
    }

    /// Makes this message hold `owned` (ours) or the application's data
    /// with its free function.
    #[allow(clippy::type_complexity)]
    fn set_content(
        &mut self,
        owned: Box<[u8]>,
        free: Option<(Option<FreeFn>, *mut c_void, usize, *mut c_void)>,
    ) {
        let (content, data, size) = match free {
            None => {
                let mut content = Box::new(Content {
                    refs: AtomicUsize::new(1),
                    owned: Some(owned),
                    free: None,
                    constant: false,
                });
                let buf = content.owned.as_mut().expect("just set");
                let (data, size) = (buf.as_mut_ptr(), buf.len());
                (content, data, size)
            }
            Some((ffn, data, size, hint)) => (
                Box::new(Content {
                    refs: AtomicUsize::new(1),
                    owned: None,
                    free: ffn.map(|ffn| (ffn, data, hint)),
                    constant: ffn.is_none(),
                }),
                data.cast::<u8>(),
                size,
            ),
        };
        self.body = Body {
            shared: SharedRef {
                data,
                size,
                content: Box::into_raw(content),
            },
        };
        self.kind = KIND_SHARED;
        self.len = 0;
    }

    /// Lets go of the bytes only: the message is left empty.
    #[inline(always)]
    fn release_bytes(&mut self) {
        if self.kind == KIND_SHARED {
            self.release_shared();
            self.kind = KIND_INLINE;
        }
        self.len = 0;
    }

    /// Out of the way of small messages: a function that may call others
    /// saves registers on the stack, stores a sender's every message would
    /// pay for.
    #[cold]
    #[inline(never)]
    fn release_shared(&mut self) {
        // SAFETY: a shared message's body is a SharedRef whose content is
        // live while this message holds one of its references.
        let content = unsafe { self.body.shared.content };
        // SAFETY: as above.
        if unsafe { &*content }.refs.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            // SAFETY: the last reference: no other message points to it;
            // it came from Box::into_raw.
            drop(unsafe { Box::from_raw(content) });
        }
    }

    fn is_valid(&self) -> bool {
        self.kind == KIND_INLINE || self.kind == KIND_SHARED
    }

    /// The message's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        if self.kind == KIND_SHARED {
            // SAFETY: a shared message's body is a SharedRef to `size`
            // live bytes, live while this message holds its reference.
            unsafe {
                let r = self.body.shared;
                if r.size == 0 {
                    return &[];
                }
                std::slice::from_raw_parts(r.data, r.size)
            }
        } else {
            // SAFETY: an inline message's first `len` body bytes are its own.
            unsafe { &self.body.inline[..self.len as usize] }
        }
    }

    /// The message's size in bytes (as `bytes().len()`, without a bounds
    /// check that could panic).
    #[inline(always)]
    pub(crate) fn size(&self) -> usize {
        if self.kind == KIND_SHARED {
            // SAFETY: a shared message's body is a SharedRef.
            unsafe { self.body.shared.size }
        } else {
            self.len as usize
        }
    }

    fn data_ptr(&mut self) -> *mut u8 {
        if self.kind == KIND_SHARED {
            // SAFETY: as in `bytes`.
            unsafe { self.body.shared.data }
        } else {
            // SAFETY: taking the address of the inline bytes.
            unsafe { self.body.inline.as_mut_ptr() }
        }
    }

    fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    /// Replaces the message's bytes with a received frame's (its flags
    /// and properties are set apart).
    #[inline(always)]
    pub(crate) fn set_received(&mut self, data: &[u8]) {
        self.release_bytes();
        self.store(data);
    }

    /// Sets whether more frames of the message follow.
    pub(crate) fn set_more(&mut self, more: bool) {
        self.flags = if more { FLAG_MORE } else { 0 };
    }
}

/// The message behind `msg`, or EFAULT for a null or invalid one.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t` (64 pointer-aligned bytes)
/// no one else uses meanwhile.
#[inline(always)]
pub(crate) unsafe fn msg_mut<'a>(msg: *mut c_void) -> CResult<&'a mut ZmqMsg> {
    let msg = msg.cast::<ZmqMsg>();
    debug_assert!(msg.is_aligned(), "zmq.h aligns a zmq_msg_t");
    if msg.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: per the contract, 64 readable and writable bytes; ZmqMsg is
    // plain data whose kind byte says whether the rest is valid.
    let m = unsafe { &mut *msg };
    if m.is_valid() {
        Ok(m)
    } else {
        Err(libc::EFAULT)
    }
}

/// Opaque to C: the 64 bytes of `zmq_msg_t`.
#[repr(C, align(8))]
pub struct zmq_msg_t {
    _bytes: [u8; 64],
}

/// Initialises an empty message.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int {
    // No guard: nothing here can panic (see the crate's doc).
    let msg = msg.cast::<ZmqMsg>();
    debug_assert!(msg.is_aligned(), "zmq.h aligns a zmq_msg_t");
    if msg.is_null() {
        return fail(libc::EFAULT, -1);
    }
    ZmqMsg::init(msg);
    0
}

/// Initialises a message of `size` bytes (zeroed) for the caller to fill.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int {
    // No guard on the inline path: nothing there can panic.
    let raw = msg.cast::<ZmqMsg>();
    debug_assert!(raw.is_aligned(), "zmq.h aligns a zmq_msg_t");
    if raw.is_null() {
        return fail_not_message();
    }
    if size > INLINE_MAX {
        return init_large(raw, size);
    }
    ZmqMsg::init(raw);
    // SAFETY: just initialised (zero bytes, inline).
    unsafe { &mut *raw }.len = size as u8;
    0
}

/// [`zmq_msg_init_size`] of a frame that does not fit in the message: out
/// of small messages' way (see [`ZmqMsg::release_shared`]). `extern "C"`
/// says it never unwinds (`guard` catches), so the caller jumps to it
/// instead of calling it, and the small messages' path needs no stack.
#[cold]
#[inline(never)]
extern "C" fn init_large(raw: *mut ZmqMsg, size: usize) -> c_int {
    guard(-1, || {
        ZmqMsg::init(raw);
        let mut owned = Vec::new();
        owned.try_reserve_exact(size).map_err(|_| libc::ENOMEM)?;
        owned.resize(size, 0);
        // SAFETY: just initialised; `raw` is a checked zmq_msg_t.
        unsafe { &mut *raw }.set_content(owned.into_boxed_slice(), None);
        Ok(0)
    })
}

/// Initialises a message holding the application's `data` without a copy;
/// `ffn(data, hint)` runs once, when no message holds it any more. A null
/// `ffn` makes it constant data, never freed.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`; `data` is valid for `size`
/// bytes until `ffn` runs (or, without `ffn`, while messages hold it).
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_data(
    msg: *mut zmq_msg_t,
    data: *mut c_void,
    size: usize,
    ffn: Option<FreeFn>,
    hint: *mut c_void,
) -> c_int {
    guard(-1, || {
        let raw = msg.cast::<ZmqMsg>();
        debug_assert!(raw.is_aligned(), "zmq.h aligns a zmq_msg_t");
        if raw.is_null() || (data.is_null() && size != 0) {
            return Err(libc::EFAULT);
        }
        ZmqMsg::init(raw);
        // SAFETY: just initialised.
        let m = unsafe { &mut *raw };
        match ffn {
            Some(ffn) => m.set_content(Box::default(), Some((Some(ffn), data, size, hint))),
            // Constant data (libzmq's "cmsg"): shared, never freed.
            None => m.set_content(Box::default(), Some((None, data, size, hint))),
        }
        Ok(0)
    })
}

/// Closes a message: lets go of its bytes (running a free function if it
/// held the last reference).
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int {
    // SAFETY: per this function's contract.
    match unsafe { msg_mut(msg.cast()) } {
        // No guard: marking it closed cannot panic.
        Ok(m) if m.holds_nothing() => {
            m.kind = 0;
            0
        }
        Ok(m) => close_holding(m),
        Err(_) => fail_not_message(),
    }
}

/// [`zmq_msg_close`] of a message holding a shared buffer or properties,
/// whose release may run the application's free function or drop the
/// last reference to the properties. `extern "C"`: as [`init_large`].
#[cold]
#[inline(never)]
extern "C" fn close_holding(m: &mut ZmqMsg) -> c_int {
    guard(-1, || {
        m.release();
        Ok(0)
    })
}

/// Moves `src` into `dest` (whose old content is released); `src` is left
/// empty.
///
/// # Safety
///
/// Both are null or point to `zmq_msg_t`s.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_move(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        unsafe { msg_mut(src.cast()) }?;
        if std::ptr::eq(dest, src) {
            return Ok(0);
        }
        // SAFETY: as above; a distinct message.
        let d = unsafe { msg_mut(dest.cast()) }?;
        d.release();
        // SAFETY: both are 64-byte messages; `src`'s references move to
        // `dest` and `src` is made empty without releasing them.
        unsafe { std::ptr::copy_nonoverlapping(src.cast::<ZmqMsg>(), dest.cast::<ZmqMsg>(), 1) };
        ZmqMsg::init(src.cast());
        Ok(0)
    })
}

/// Makes `dest` a copy of `src` sharing its bytes (no copy of a large
/// frame).
///
/// # Safety
///
/// Both are null or point to `zmq_msg_t`s.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_copy(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let s = unsafe { msg_mut(src.cast()) }?;
        if std::ptr::eq(dest, src) {
            return Ok(0);
        }
        // SAFETY: as above; a distinct message.
        let d = unsafe { msg_mut(dest.cast()) }?;
        d.release();
        if s.kind == KIND_SHARED {
            // SAFETY: a shared message's content is live while it holds a
            // reference; this adds one for `dest`.
            unsafe { &*s.body.shared.content }
                .refs
                .fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: plain bytes, then the properties cloned (a reference
        // count) rather than duplicated.
        unsafe {
            std::ptr::copy_nonoverlapping(src.cast::<ZmqMsg>(), dest.cast::<ZmqMsg>(), 1);
            let d = &mut *dest.cast::<ZmqMsg>();
            d.props = ManuallyDrop::new((*s.props).clone());
        }
        Ok(0)
    })
}

/// The message's bytes (null for an invalid message).
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void {
    // No guard: nothing here can panic.
    // SAFETY: per this function's contract.
    match unsafe { msg_mut(msg.cast()) } {
        Ok(m) => m.data_ptr().cast(),
        Err(errno) => fail(errno, std::ptr::null_mut()),
    }
}

/// The message's size in bytes (0 for an invalid message).
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_size(msg: *const zmq_msg_t) -> usize {
    // No guard: nothing here can panic.
    // SAFETY: per this function's contract; only read.
    match unsafe { msg_mut(msg.cast_mut().cast()) } {
        Ok(m) => m.size(),
        Err(errno) => fail(errno, 0),
    }
}

/// 1 if more frames of the message follow, else 0.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int {
    // No guard: nothing here can panic.
    // SAFETY: per this function's contract; only read.
    match unsafe { msg_mut(msg.cast_mut().cast()) } {
        Ok(m) => m.more() as c_int,
        Err(errno) => fail(errno, 0),
    }
}

/// A message property: ZMQ_MORE, ZMQ_SRCFD (the connection's descriptor;
/// -1 for inproc),
/// ZMQ_SHARED; EINVAL for others.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_get(msg: *const zmq_msg_t, property: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract; only read.
        let m = unsafe { msg_mut(msg.cast_mut().cast()) }?;
        match property {
            ZMQ_MORE => Ok(m.more() as c_int),
            ZMQ_SRCFD => Ok(m.props.as_ref().and_then(|p| p.src_fd()).unwrap_or(-1)),
            ZMQ_SHARED => {
                let shared = m.kind == KIND_SHARED && {
                    // SAFETY: as in `release`.
                    let content = unsafe { &*m.body.shared.content };
                    content.refs.load(Ordering::Relaxed) > 1 || content.constant
                };
                Ok(shared as c_int)
            }
            _ => Err(libc::EINVAL),
        }
    })
}

/// No property can be set (EINVAL), as in libzmq.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_set(
    msg: *mut zmq_msg_t,
    _property: c_int,
    _value: c_int,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        unsafe { msg_mut(msg.cast()) }?;
        Err(libc::EINVAL)
    })
}

/// A property of the connection the message came on ("Socket-Type",
/// "Identity", "Peer-Address", "User-Id", the peer's "X-" properties), valid
/// while the message is; null with EINVAL if it has none.
///
/// # Safety
///
/// `msg` is null or points to a `zmq_msg_t`; `property` is null or a C
/// string.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_gets(
    msg: *const zmq_msg_t,
    property: *const c_char,
) -> *const c_char {
    guard(std::ptr::null(), || {
        // SAFETY: per this function's contract; only read.
        let m = unsafe { msg_mut(msg.cast_mut().cast()) }?;
        // SAFETY: per this function's contract.
        let name = unsafe { c_str(property) }?;
        let value = (*m.props).as_ref().and_then(|p| p.get_c(name));
        value.map(|v| v.as_ptr()).ok_or(libc::EINVAL)
    })
}
