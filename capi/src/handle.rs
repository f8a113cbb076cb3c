//! The handles C code holds: a tag checked on every call, as libzmq's
//! (`0xabadcafe` for a context, `0xbaddecaf` for a socket), in front of
//! the object.
//!
//! A handle's memory (its shell) is never given back to the allocator: a
//! closed one goes on a free list and is reused for the next object of its
//! kind. So a call with a closed handle reads a dead tag (EFAULT or
//! ENOTSOCK, as libzmq) instead of freed memory, and the shells in use at
//! once bound the memory this keeps.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// libzmq's context tag.
pub(crate) const CTX_TAG: u32 = 0xabad_cafe;
/// libzmq's socket tag.
pub(crate) const SOCKET_TAG: u32 = 0xbadd_ecaf;
/// A closed handle's tag.
const DEAD_TAG: u32 = 0xdead_beef;

/// A handle: its tag first (at the address C holds), then the object.
#[repr(C)]
struct Shell<T> {
    tag: AtomicU32,
    body: UnsafeCell<Option<T>>,
}

/// The shells of one kind of handle, with their tag.
pub(crate) struct Shells<T> {
    tag: u32,
    /// Closed shells (addresses of `Shell<T>`), to reuse.
    free: Mutex<Vec<usize>>,
    _kind: PhantomData<fn() -> T>,
}

impl<T> Shells<T> {
    /// Shells tagged `tag`.
    pub(crate) const fn new(tag: u32) -> Self {
        Self {
            tag,
            free: Mutex::new(Vec::new()),
            _kind: PhantomData,
        }
    }

    /// A handle for `body`.
    pub(crate) fn make(&self, body: T) -> *mut c_void {
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let shell = match reused {
            Some(addr) => addr as *mut Shell<T>,
            None => Box::into_raw(Box::new(Shell {
                tag: AtomicU32::new(DEAD_TAG),
                body: UnsafeCell::new(None),
            })),
        };
        // SAFETY: `shell` is a live Shell<T> (shells are never freed) that
        // no one else holds: fresh, or taken off the free list under its
        // lock, with a dead tag so no call reaches its body.
        unsafe {
            *(*shell).body.get() = Some(body);
            (*shell).tag.store(self.tag, Ordering::Release);
        }
        shell.cast()
    }

    /// The object behind `handle`, if it is a live handle of this kind.
    ///
    /// # Safety
    ///
    /// `handle` is null, or points to readable memory of at least 4 bytes
    /// (a handle of this library, live or closed, qualifies; any other
    /// pointer is the caller's error, as it is with libzmq). The object may
    /// be used only as libzmq allows its C counterpart: a socket by one
    /// thread at a time, and not after it is closed.
    pub(crate) unsafe fn get<'a>(&self, handle: *mut c_void) -> Option<&'a T> {
        if handle.is_null() {
            return None;
        }
        let shell = handle.cast::<Shell<T>>();
        // SAFETY: non-null and readable per the contract; the tag is the
        // first field of a #[repr(C)] Shell.
        let tag = unsafe { &(*shell).tag };
        if tag.load(Ordering::Acquire) != self.tag {
            return None;
        }
        // SAFETY: the live tag of this kind says `shell` is a Shell<T>
        // whose body was set before the tag (Release/Acquire), and stays
        // until the handle is closed.
        unsafe { (*(*shell).body.get()).as_ref() }
    }

    /// Closes `handle`: its object, if it was a live handle of this kind.
    /// Of two threads closing one handle at once, one gets the object.
    ///
    /// # Safety
    ///
    /// As [`get`](Self::get); no reference from `get` may outlive this.
    pub(crate) unsafe fn take(&self, handle: *mut c_void) -> Option<T> {
        if handle.is_null() {
            return None;
        }
        let shell = handle.cast::<Shell<T>>();
        // SAFETY: as in `get`.
        let tag = unsafe { &(*shell).tag };
        tag.compare_exchange(self.tag, DEAD_TAG, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        // SAFETY: we turned the tag dead, so `shell` is a Shell<T> and no
        // new call reaches its body; the caller holds no reference to it.
        let body = unsafe { (*(*shell).body.get()).take() };
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(shell as usize);
        body
    }
}
