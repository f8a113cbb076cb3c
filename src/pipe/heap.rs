//! A heap ring's memory: its header, then its region, in one zeroed block.
//!
//! Outside loom the block is an anonymous mapping of its own, so that pages
//! cost memory only once written (an idle pipe holds a page or two of its
//! rings) and all of it goes back to the system when the ring goes; the
//! allocator would hand out (and zero) dirty heap pages, and keep them
//! after. Under loom it comes from the allocator.

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// `len` zeroed bytes, 128-aligned, that start with an `H`, dropped with
/// the block.
pub(crate) struct HeapMem<H> {
    base: NonNull<u8>,
    #[cfg(not(loom))]
    _map: memmap2::MmapMut,
    #[cfg(loom)]
    layout: Layout,
    _header: PhantomData<H>,
}

// SAFETY: HeapMem only owns memory and the `H` at its start; all shared
// access to them goes through the atomics in `H` and the ownership rules
// of the ring that uses it.
unsafe impl<H: Send + Sync> Send for HeapMem<H> {}
// SAFETY: as above.
unsafe impl<H: Send + Sync> Sync for HeapMem<H> {}

impl<H> HeapMem<H> {
    /// `len` zeroed bytes with `header` written at their start.
    ///
    /// # Panics
    /// If `len` cannot hold an `H`, or `H` needs more than 128-alignment.
    pub fn new(header: H, len: usize) -> HeapMem<H> {
        assert!(len >= std::mem::size_of::<H>() && std::mem::align_of::<H>() <= 128);
        #[cfg(not(loom))]
        let mem = {
            let mut map = memmap2::MmapMut::map_anon(len)
                .unwrap_or_else(|_| alloc::handle_alloc_error(Layout::new::<H>()));
            // A mapping is page-aligned, so 128-aligned.
            let base = NonNull::new(map.as_mut_ptr()).expect("a mapping is never null");
            HeapMem {
                base,
                _map: map,
                _header: PhantomData,
            }
        };
        #[cfg(loom)]
        let mem = {
            let layout = Layout::from_size_align(len, 128).expect("ring layout");
            // SAFETY: the layout has a non-zero size (it holds an H).
            let base = unsafe { alloc::alloc_zeroed(layout) };
            let Some(base) = NonNull::new(base) else {
                alloc::handle_alloc_error(layout)
            };
            HeapMem {
                base,
                layout,
                _header: PhantomData,
            }
        };
        // SAFETY: `base` is ours alone, 128-aligned (at least H's
        // alignment) and holds `len >= size_of::<H>()` bytes.
        unsafe { mem.base.as_ptr().cast::<H>().write(header) };
        mem
    }

    /// The block's start, where the header is.
    pub fn base(&self) -> NonNull<u8> {
        self.base
    }
}

impl<H> Drop for HeapMem<H> {
    fn drop(&mut self) {
        // SAFETY: `new` wrote an H at `base`, and we are its only owner.
        unsafe { std::ptr::drop_in_place(self.base.as_ptr().cast::<H>()) };
        #[cfg(loom)]
        // SAFETY: under loom `base` came from `alloc_zeroed(self.layout)`.
        unsafe {
            alloc::dealloc(self.base.as_ptr(), self.layout)
        };
    }
}
