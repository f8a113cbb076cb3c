//! A single-producer single-consumer ring of variable-length frames.
//!
//! # Invariants
//!
//! The ring is a [`RingHeader`] and a power-of-two byte region of `capacity`
//! bytes. Both hold only offsets and counters, never pointers, so the same ring
//! works in the heap or in a mapping shared by processes at different addresses.
//!
//! 1. `head` (the consumer's released cursor) and `tail` (the producer's
//!    published cursor) are byte counts that only grow; a position's slot in
//!    the region is `pos & (capacity - 1)`.
//! 2. `head <= tail <= head + capacity`, and every position is a multiple of 8.
//! 3. Bytes in `[head, tail)` belong to the consumer, which only reads them;
//!    bytes in `[tail, head + capacity)` belong to the producer.
//! 4. A record is an 8-byte header (payload length `u32`, flags `u32`) and the
//!    payload padded to 8. A record never crosses the end of the region: where
//!    it would, the producer fills the rest with a [`PADDING`] record and
//!    starts again at offset 0, so every payload is one contiguous slice.
//! 5. The producer writes records, then publishes them with a `Release` store
//!    of `tail`; the consumer `Acquire`-loads `tail` before reading them. The
//!    consumer finishes reading, then `Release`-stores `head`; the producer
//!    `Acquire`-loads `head` before it overwrites anything.
//!
//! Each side keeps a private copy of the other side's cursor and only reloads
//! it when that copy says the ring is full (producer) or empty (consumer), so
//! while there is room and data the hot path touches no line the other side
//! writes. Committing a record and publishing it are separate steps: several
//! frames of one message are committed, then published with one store, which
//! is how a reader sees all frames of a message or none.
//!
//! The consumer counts whole messages it has released (`msgs`), so a producer
//! can enforce a high-water mark in messages over a ring sized in bytes.
//!
//! Everything read back from the shared header or records is validated, so a
//! corrupt or hostile peer in another process yields [`Corrupt`], never an
//! out-of-bounds access.

use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::Arc;

/// The frame continues: more frames of the same message follow.
pub const MORE: u32 = 1;
/// A filler record at the end of the region; the consumer skips it.
pub const PADDING: u32 = 2;
/// The payload is a descriptor of data held elsewhere, not the data.
pub const DESCRIPTOR: u32 = 4;

const HEADER: u64 = 8;
const ALIGN: u64 = 8;
/// Smallest region: room for a header and one word of payload, twice.
pub const MIN_CAPACITY: usize = 64;

/// The part of a ring both sides write, each on its own cache line.
#[repr(C)]
pub struct RingHeader {
    /// Written by the producer only: published tail position.
    tail: CachePadded<AtomicU64>,
    /// Written by the consumer only.
    consumer: CachePadded<ConsumerCursor>,
}

#[repr(C)]
struct ConsumerCursor {
    /// Released head position.
    head: AtomicU64,
    /// Whole messages released.
    msgs: AtomicU64,
}

impl RingHeader {
    fn new() -> Self {
        Self {
            tail: CachePadded::new(AtomicU64::new(0)),
            consumer: CachePadded::new(ConsumerCursor {
                head: AtomicU64::new(0),
                msgs: AtomicU64::new(0),
            }),
        }
    }
}

/// Whether the CPU has PREFETCHW (CPUID leaf 0x8000_0001, ECX bit 8), which
/// `std::arch` does not detect.
fn has_prefetchw() -> bool {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        use std::arch::x86_64::__cpuid;
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        // `__cpuid` became safe in Rust 1.87; this crate builds from 1.80.
        #[allow(unused_unsafe)]
        // SAFETY: every x86_64 CPU has CPUID, and leaf 0x8000_0001 is
        // asked for only when the highest extended leaf reaches it.
        *HAS.get_or_init(|| unsafe {
            __cpuid(0x8000_0000).eax >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0
        })
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    false
}

/// Why a record cannot be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimError {
    /// No room now; the consumer will make some.
    Full,
    /// The record can never fit: larger than half the ring, or it would not
    /// fit beside the unpublished frames of the message being written.
    TooLarge,
    /// The consumer's cursor is impossible; the ring cannot be trusted.
    Corrupt,
}

/// The shared header or a record holds a value no honest peer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// A record the consumer has peeked: how long, which flags. It is always the
/// one at the consumer's head, so it needs no position (and stays small
/// enough to travel in registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    len: u32,
    flags: u32,
}

impl Record {
    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The record's flags ([`MORE`], [`DESCRIPTOR`]).
    pub fn flags(&self) -> u32 {
        self.flags
    }
    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags & MORE != 0
    }
}

#[inline]
fn record_size(len: u64) -> u64 {
    HEADER + ((len + ALIGN - 1) & !(ALIGN - 1))
}

/// Where a ring lives; shared by its two handles.
#[derive(Clone)]
struct RingRef {
    header: NonNull<RingHeader>,
    data: NonNull<u8>,
    cap: u64,
    mask: u64,
    /// Keeps the memory behind `header` and `data` alive.
    _mem: Arc<dyn Send + Sync>,
    /// loom cannot see plain memory, so each 8-byte word of the region gets a
    /// tracked cell that is touched wherever the word is written or read.
    #[cfg(loom)]
    shadow: Arc<[loom::cell::UnsafeCell<()>]>,
}

impl RingRef {
    #[inline]
    fn header(&self) -> &RingHeader {
        // SAFETY: `header` points at an initialised RingHeader that `_mem`
        // keeps alive for as long as this RingRef exists.
        unsafe { self.header.as_ref() }
    }

    #[inline]
    fn mask(&self) -> u64 {
        self.mask
    }

    /// Pointer to the byte at slot `off`, or one past the region's end when
    /// `off == cap` (the payload of an empty record in the last 8 bytes).
    ///
    /// # Safety
    /// `off <= cap`; at `off == cap` the pointer is only for empty slices.
    #[inline]
    unsafe fn at(&self, off: u64) -> *mut u8 {
        debug_assert!(off <= self.cap);
        // SAFETY: the caller guarantees `off <= cap`, so the result is within
        // the region or one past its end, which `add` permits.
        unsafe { self.data.as_ptr().add(off as usize) }
    }

    #[inline]
    fn track_write(&self, _pos: u64, _size: u64) {
        #[cfg(loom)]
        for w in 0.._size / ALIGN {
            let word = ((_pos & self.mask()) / ALIGN + w) as usize;
            self.shadow[word].with_mut(|_| ());
        }
    }

    #[inline]
    fn track_read(&self, _pos: u64, _size: u64) {
        #[cfg(loom)]
        for w in 0.._size / ALIGN {
            let word = ((_pos & self.mask()) / ALIGN + w) as usize;
            self.shadow[word].with(|_| ());
        }
    }
}

/// A ring in the heap: header and region in one zeroed allocation.
struct HeapRing {
    base: NonNull<u8>,
    layout: Layout,
}

// SAFETY: HeapRing only owns memory; all shared access to it goes through the
// atomics in RingHeader and the ownership rules in the module invariants.
unsafe impl Send for HeapRing {}
// SAFETY: as above.
unsafe impl Sync for HeapRing {}

impl Drop for HeapRing {
    fn drop(&mut self) {
        // SAFETY: `base` came from `alloc_zeroed(self.layout)` with a header
        // written at its start in `ring`; both handles are gone (they held the
        // Arc to us), so nothing else uses the memory.
        unsafe {
            std::ptr::drop_in_place(self.base.as_ptr().cast::<RingHeader>());
            alloc::dealloc(self.base.as_ptr(), self.layout);
        }
    }
}

const fn header_span() -> usize {
    let s = std::mem::size_of::<RingHeader>();
    (s + 127) & !127
}

/// The largest payload one record of a ring of `capacity` bytes may carry:
/// half the region less a header, so a record always fits once the reader
/// catches up, wherever the writer stands.
pub fn max_payload(capacity: usize) -> usize {
    capacity / 2 - HEADER as usize
}

/// Creates a ring in the heap with a region of `capacity` bytes (a power of
/// two, at least [`MIN_CAPACITY`]) and returns its two ends.
///
/// ```
/// use zeroring::ring;
/// let (mut tx, mut rx) = ring::ring(1024);
/// tx.claim(5).unwrap().copy_from_slice(b"hello");
/// tx.commit(5, 0);
/// tx.publish();
/// let rec = rx.peek().unwrap().unwrap();
/// assert_eq!(rx.payload(&rec), b"hello");
/// rx.advance(rec);
/// rx.release();
/// ```
///
/// # Panics
/// If `capacity` is not a power of two or is below [`MIN_CAPACITY`].
pub fn ring(capacity: usize) -> (Producer, Consumer) {
    assert!(
        capacity.is_power_of_two() && capacity >= MIN_CAPACITY,
        "ring capacity must be a power of two >= {MIN_CAPACITY}, got {capacity}"
    );
    let layout = Layout::from_size_align(header_span() + capacity, 128).expect("ring layout");
    // SAFETY: the layout has a non-zero size.
    let base = unsafe { alloc::alloc_zeroed(layout) };
    let Some(base) = NonNull::new(base) else {
        alloc::handle_alloc_error(layout)
    };
    // SAFETY: `base` is freshly allocated, 128-aligned and large enough for a
    // RingHeader followed by `capacity` bytes; nothing else refers to it yet.
    let (header, data) = unsafe {
        base.as_ptr().cast::<RingHeader>().write(RingHeader::new());
        (
            base.cast::<RingHeader>(),
            NonNull::new_unchecked(base.as_ptr().add(header_span())),
        )
    };
    let r = RingRef {
        header,
        data,
        cap: capacity as u64,
        mask: capacity as u64 - 1,
        _mem: Arc::new(HeapRing { base, layout }),
        #[cfg(loom)]
        shadow: (0..capacity / ALIGN as usize)
            .map(|_| loom::cell::UnsafeCell::new(()))
            .collect(),
    };
    (Producer::new(r.clone()), Consumer::new(r))
}

/// Bytes a ring of `capacity` takes in a shared mapping: its header, then
/// the region. A multiple of 128, so rings can be laid end to end.
#[cfg(not(loom))]
pub(crate) const fn span(capacity: usize) -> usize {
    header_span() + capacity
}

/// A ring over `span(capacity)` bytes at `base`, which `mem` keeps mapped.
///
/// # Safety
/// `base` is 128-aligned and the `span(capacity)` bytes after it stay mapped,
/// readable and writable while `mem` lives; `capacity` is a power of two of
/// at least [`MIN_CAPACITY`]. Within this process, at most one producer and
/// one consumer are made over the ring. What another process writes there
/// needs no trust: every cursor and record header read is validated, so a
/// hostile peer can only garble the payloads it exchanges with us.
#[cfg(not(loom))]
unsafe fn mapped(base: NonNull<u8>, capacity: usize, mem: Arc<dyn Send + Sync>) -> RingRef {
    debug_assert!(capacity.is_power_of_two() && capacity >= MIN_CAPACITY);
    RingRef {
        header: base.cast::<RingHeader>(),
        // SAFETY: the caller maps `header_span() + capacity` bytes at `base`.
        data: unsafe { NonNull::new_unchecked(base.as_ptr().add(header_span())) },
        cap: capacity as u64,
        mask: capacity as u64 - 1,
        _mem: mem,
    }
}

/// The writing end of a ring that lies in a shared mapping; a fresh
/// (zero-filled) ring is empty. The consumer may be in another process.
///
/// # Safety
/// As for [`mapped`]: `base` is 128-aligned, `span(capacity)` bytes stay
/// mapped while `mem` lives, and no other producer of this ring is made.
#[cfg(not(loom))]
pub(crate) unsafe fn producer_in(
    base: NonNull<u8>,
    capacity: usize,
    mem: Arc<dyn Send + Sync>,
) -> Producer {
    // SAFETY: forwarded from the caller.
    Producer::new(unsafe { mapped(base, capacity, mem) })
}

/// The reading end of a ring that lies in a shared mapping.
///
/// # Safety
/// As for [`producer_in`], for the consumer.
#[cfg(not(loom))]
pub(crate) unsafe fn consumer_in(
    base: NonNull<u8>,
    capacity: usize,
    mem: Arc<dyn Send + Sync>,
) -> Consumer {
    // SAFETY: forwarded from the caller.
    Consumer::new(unsafe { mapped(base, capacity, mem) })
}

/// The writing end of a ring.
pub struct Producer {
    ring: RingRef,
    /// Where the next record goes: committed, maybe not yet published.
    tail: u64,
    /// Last value stored to the shared tail.
    published: u64,
    /// Last head loaded from the consumer.
    cached_head: u64,
    /// Whole messages committed, and published.
    msgs: u64,
    msgs_published: u64,
    /// Last count of released messages loaded from the consumer.
    cached_done: u64,
    /// Position and length of the record handed out by `claim`.
    claimed: Option<(u64, u32)>,
    /// The CPU has PREFETCHW (see [`prefetch_own`](Self::prefetch_own)).
    prefetch_w: bool,
}

// SAFETY: the producer is the only writer of `[tail, head + capacity)` and of
// the shared tail; moving it to another thread moves that exclusive role.
unsafe impl Send for Producer {}

impl Producer {
    fn new(ring: RingRef) -> Self {
        Self {
            ring,
            tail: 0,
            published: 0,
            cached_head: 0,
            msgs: 0,
            msgs_published: 0,
            cached_done: 0,
            claimed: None,
            prefetch_w: has_prefetchw(),
        }
    }

    /// Size of the ring's region in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.cap as usize
    }

    /// The largest payload one record may carry.
    pub fn max_payload(&self) -> usize {
        max_payload(self.ring.cap as usize)
    }

    /// Reserves a record of `len` payload bytes and returns its payload to be
    /// written in place. Nothing is visible to the consumer until
    /// [`commit`](Self::commit) and [`publish`](Self::publish). A second claim
    /// abandons the first.
    #[inline]
    pub fn claim(&mut self, len: usize) -> Result<&mut [u8], ClaimError> {
        let start = self.make_room(len)?;
        self.claimed = Some((start, len as u32));
        // SAFETY: `make_room` made `[start, start + record)` producer-owned
        // and contiguous, so the payload after the header is in bounds and
        // nobody else touches it until it is published.
        unsafe {
            Ok(std::slice::from_raw_parts_mut(
                self.ring.at((start & self.ring.mask()) + HEADER),
                len,
            ))
        }
    }

    /// Writes `data` as a whole one-frame message and publishes it: claim,
    /// copy, commit and publish in one step, for small messages (a fan-out
    /// writes each into several rings). Nothing may be committed and
    /// unpublished; an outstanding claim is abandoned.
    #[inline]
    pub fn push(&mut self, data: &[u8]) -> Result<(), ClaimError> {
        debug_assert_eq!(self.tail, self.published, "push inside a message");
        let len = data.len();
        let start = self.make_room(len)?;
        self.claimed = None;
        let off = start & self.ring.mask();
        // SAFETY: `make_room` made `[start, start + record)` producer-owned
        // and contiguous, 8-aligned; nobody reads it until the publish below.
        unsafe {
            self.ring.at(off).cast::<u64>().write((len as u64).to_le());
            crate::copy::copy(
                std::slice::from_raw_parts_mut(self.ring.at(off + HEADER), len),
                data,
            );
        }
        self.tail = start + record_size(len as u64);
        self.msgs += 1;
        self.publish();
        Ok(())
    }

    /// Room at the tail for a record of `len` payload bytes, after padding
    /// to the region's start where it would not fit before the end: the
    /// record's position.
    #[inline(always)]
    fn make_room(&mut self, len: usize) -> Result<u64, ClaimError> {
        if len > self.max_payload() {
            return Err(ClaimError::TooLarge);
        }
        let need = record_size(len as u64);
        let pad = self.place(need)?;
        if pad > 0 {
            self.pad(pad);
        }
        let start = self.tail;
        self.ring.track_write(start, need);
        self.prefetch_own(start);
        Ok(start)
    }

    /// Fills the `pad` bytes left before the region's end with a padding
    /// record, so that the next record starts at offset 0.
    fn pad(&mut self, pad: u64) {
        let off = self.tail & self.ring.mask();
        self.ring.track_write(self.tail, pad);
        let word = (pad - HEADER) | ((PADDING as u64) << 32);
        // SAFETY: `off < cap` and `pad >= 8`, so the header lies inside the
        // region, in bytes the producer owns (checked against head by
        // `place`), 8-aligned because every position is.
        unsafe { self.ring.at(off).cast::<u64>().write(word.to_le()) };
        self.tail += pad;
    }

    /// Asks for the line a few records on in exclusive state, if it is
    /// ours already (released by the consumer): its last reader is the
    /// consumer on another core, and a store that waits for the line holds
    /// up every store behind it.
    #[inline(always)]
    fn prefetch_own(&self, at: u64) {
        let ahead = at + PREFETCH_AHEAD;
        if self.prefetch_w && ahead < self.cached_head + self.ring.cap {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has the instruction; a prefetch is only a
            // hint, it cannot fault; the address is inside the region
            // (offset masked).
            unsafe {
                std::arch::asm!(
                    "prefetchw [{0}]",
                    in(reg) self.ring.at(ahead & self.ring.mask()),
                    options(nostack, preserves_flags, readonly)
                );
            }
        }
    }

    /// Whether a record of `len` payload bytes could be claimed now.
    #[inline]
    pub fn has_room(&mut self, len: usize) -> bool {
        len <= self.max_payload() && self.place(record_size(len as u64)).is_ok()
    }

    /// The padding a record of `need` bytes (header included) must follow
    /// at `tail` (records never wrap), if it fits now.
    #[inline]
    fn place(&mut self, need: u64) -> Result<u64, ClaimError> {
        let cap = self.ring.cap;
        let off = self.tail & self.ring.mask();
        let pad = if need <= cap - off { 0 } else { cap - off };
        let end = self.tail + pad + need;
        if end - self.cached_head > cap {
            self.cached_head = self.ring.header().consumer.head.load(Ordering::Acquire);
            if self.cached_head > self.published || self.published - self.cached_head > cap {
                return Err(ClaimError::Corrupt);
            }
            if end - self.cached_head > cap {
                // Published records drain; our unpublished ones never do.
                return Err(if (self.tail - self.published) + pad + need > cap {
                    ClaimError::TooLarge
                } else {
                    ClaimError::Full
                });
            }
        }
        Ok(pad)
    }

    /// The payload of the record claimed last, if it is still claimed.
    #[inline]
    pub fn claimed_mut(&mut self) -> Option<&mut [u8]> {
        let (start, len) = self.claimed?;
        // SAFETY: `claim` validated `[start, start + record)` as producer-owned
        // and contiguous, and nothing has been committed or published since
        // (`commit` and `rollback` clear `claimed`), so it still is.
        unsafe {
            Some(std::slice::from_raw_parts_mut(
                self.ring.at((start & self.ring.mask()) + HEADER),
                len as usize,
            ))
        }
    }

    /// Commits the claimed record with its first `len` bytes (at most what was
    /// claimed) and `flags`; a record without [`MORE`] ends a message.
    ///
    /// # Panics
    /// If nothing is claimed, or `len` exceeds the claim.
    #[inline]
    pub fn commit(&mut self, len: usize, flags: u32) {
        let (start, claimed) = self.claimed.take().expect("commit without claim");
        assert!(
            len <= claimed as usize,
            "commit of {len} bytes exceeds claim of {claimed}"
        );
        let word = (len as u64) | ((flags as u64) << 32);
        self.ring.track_write(start, HEADER);
        // SAFETY: `start` was validated by `claim` as producer-owned and
        // 8-aligned, with room for the header.
        unsafe {
            self.ring
                .at(start & self.ring.mask())
                .cast::<u64>()
                .write(word.to_le())
        };
        self.tail = start + record_size(len as u64);
        if flags & MORE == 0 {
            self.msgs += 1;
        }
    }

    /// Makes every committed record visible to the consumer.
    #[inline]
    pub fn publish(&mut self) {
        if self.tail != self.published {
            self.ring.header().tail.store(self.tail, Ordering::Release);
            self.published = self.tail;
            self.msgs_published = self.msgs;
        }
    }

    /// Drops everything committed since the last publish.
    pub fn rollback(&mut self) {
        self.claimed = None;
        self.tail = self.published;
        self.msgs = self.msgs_published;
    }

    /// The ring position after the last committed record (where the next
    /// one starts, unless it pads to the region's start).
    pub fn position(&self) -> u64 {
        self.tail
    }

    /// The ring position up to which records are published.
    pub fn published_position(&self) -> u64 {
        self.published
    }

    /// The consumer's released position, loaded with `Acquire`: every read
    /// the consumer made of records before it happened before this returns
    /// (see [`ledger`](super::ledger)). Unvalidated: a broken consumer may
    /// store anything.
    pub fn released_head(&self) -> u64 {
        self.ring.header().consumer.head.load(Ordering::Acquire)
    }

    /// A handle that reads [`released_head`](Self::released_head) from
    /// elsewhere (the chunk pool), keeping the ring mapped.
    #[cfg(not(loom))]
    pub(crate) fn head_watch(&self) -> HeadWatch {
        HeadWatch(self.ring.clone())
    }

    /// Bytes committed but not yet published.
    pub fn unpublished(&self) -> usize {
        (self.tail - self.published) as usize
    }

    /// Published messages the consumer has not yet released.
    #[inline]
    pub fn queued_msgs(&mut self) -> u64 {
        self.cached_done = self.ring.header().consumer.msgs.load(Ordering::Acquire);
        self.msgs_published.saturating_sub(self.cached_done)
    }

    /// Whether fewer than `limit` published messages are unreleased; reads
    /// the consumer's count only when the cached one says no.
    #[inline]
    pub fn below(&mut self, limit: u64) -> bool {
        self.msgs_published.saturating_sub(self.cached_done) < limit || self.queued_msgs() < limit
    }
}

/// A ring over `capacity` bytes of heap memory laid out as a shared
/// mapping would be (header, then region), filled from `bytes`, whose
/// consumer then reads what a hostile writer left there; the returned
/// closure stores a new published tail, as such a writer could at any time.
#[cfg(fuzzing)]
pub(crate) fn hostile(
    capacity: usize,
    bytes: &[u8],
) -> (Consumer, impl Fn(u64), impl Fn(usize, u64)) {
    let (tx, rx) = ring(capacity);
    let r = tx.ring.clone();
    let n = bytes.len().min(capacity);
    // SAFETY: the region is `capacity` bytes and nobody reads it yet.
    unsafe { r.at(0).copy_from_nonoverlapping(bytes.as_ptr(), n) };
    let w = r.clone();
    let set_tail = move |t: u64| r.header().tail.store(t, Ordering::Release);
    let set_word = move |off: usize, v: u64| {
        let off = (off as u64 & w.mask()) & !(ALIGN - 1);
        // SAFETY: `off` is an 8-aligned slot inside the region. The fuzz
        // target is single-threaded: this stands in for a writer in
        // another process rewriting published bytes, which the consumer
        // must survive.
        unsafe { w.at(off).cast::<u64>().write(v) }
    };
    (rx, set_tail, set_word)
}

/// Reads a ring's released position from outside its producer.
#[cfg(not(loom))]
pub(crate) struct HeadWatch(RingRef);

// SAFETY: it only loads an atomic in memory its RingRef keeps alive.
#[cfg(not(loom))]
unsafe impl Send for HeadWatch {}

#[cfg(not(loom))]
impl HeadWatch {
    /// As [`Producer::released_head`].
    pub fn load(&self) -> u64 {
        self.0.header().consumer.head.load(Ordering::Acquire)
    }
}

/// How far ahead of its head a consumer prefetches: four cache lines.
const PREFETCH_AHEAD: u64 = 256;

/// The reading end of a ring.
pub struct Consumer {
    ring: RingRef,
    /// Next record to read: advanced past, maybe not yet released.
    head: u64,
    /// Last value stored to the shared head.
    released: u64,
    /// Last tail loaded from the producer.
    cached_tail: u64,
    /// Whole messages advanced past, and released.
    msgs: u64,
    msgs_released: u64,
}

// SAFETY: the consumer is the only reader of `[head, tail)` and only writer of
// the shared head; moving it to another thread moves that exclusive role.
unsafe impl Send for Consumer {}

impl Consumer {
    fn new(ring: RingRef) -> Self {
        Self {
            ring,
            head: 0,
            released: 0,
            cached_tail: 0,
            msgs: 0,
            msgs_released: 0,
        }
    }

    /// The next record, skipping padding; `None` when nothing is published.
    #[inline]
    pub fn peek(&mut self) -> Result<Option<Record>, Corrupt> {
        loop {
            if self.head == self.cached_tail {
                let tail = self.ring.header().tail.load(Ordering::Acquire);
                if tail < self.head || tail - self.released > self.ring.cap || tail % ALIGN != 0 {
                    return Err(Corrupt);
                }
                self.cached_tail = tail;
                if self.head == tail {
                    return Ok(None);
                }
            }
            let off = self.head & self.ring.mask();
            self.prefetch_ahead();
            self.ring.track_read(self.head, HEADER);
            // SAFETY: `head < cached_tail`, so (invariant 3) the 8-aligned header
            // at `off <= cap - 8` is published and the producer no longer writes it.
            let word = u64::from_le(unsafe { self.ring.at(off).cast::<u64>().read() });
            let (len, flags) = (word as u32, (word >> 32) as u32);
            let size = record_size(len as u64);
            if size > self.ring.cap - off || self.head + size > self.cached_tail {
                return Err(Corrupt);
            }
            if flags & PADDING != 0 {
                self.head += size;
                continue;
            }
            return Ok(Some(Record { len, flags }));
        }
    }

    /// Asks the cache for a line a few records on, if it is published: a
    /// reader that walks several rings in turn (a SUB per publisher, or one
    /// thread draining several sockets) otherwise meets each line's miss
    /// when it gets there. Unpublished lines are left alone, or the producer
    /// would have to take them back to write them.
    #[inline(always)]
    fn prefetch_ahead(&self) {
        let ahead = self.head + PREFETCH_AHEAD;
        if ahead < self.cached_tail {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a prefetch is only a hint, it cannot fault; the
            // address is inside the region (offset masked).
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(self.ring.at(ahead & self.ring.mask()).cast());
            }
        }
    }

    /// The payload of a record returned by [`peek`](Self::peek).
    #[inline]
    pub fn payload(&self, rec: &Record) -> &[u8] {
        debug_assert!(
            self.head < self.cached_tail,
            "payload of a record not peeked"
        );
        self.ring.track_read(self.head, record_size(rec.len as u64));
        // SAFETY: `peek` checked that the record at `head` is published, not
        // released and inside the region; `head` moves only in `advance`
        // (`&mut self`), so while `&self` is borrowed the bytes stay unchanged.
        unsafe {
            std::slice::from_raw_parts(
                self.ring.at((self.head & self.ring.mask()) + HEADER),
                rec.len as usize,
            )
        }
    }

    /// Moves past `rec` (the last record peeked). Its bytes stay untouched
    /// until [`release`](Self::release).
    #[inline]
    pub fn advance(&mut self, rec: Record) {
        debug_assert!(
            self.head < self.cached_tail,
            "advance past a record not peeked"
        );
        self.head += record_size(rec.len as u64);
        if rec.flags & MORE == 0 {
            self.msgs += 1;
        }
    }

    /// Hands every record advanced past back to the producer.
    #[inline]
    pub fn release(&mut self) {
        if self.head != self.released {
            let h = self.ring.header();
            h.consumer.msgs.store(self.msgs, Ordering::Relaxed);
            h.consumer.head.store(self.head, Ordering::Release);
            self.released = self.head;
            self.msgs_released = self.msgs;
        }
    }

    /// Whether every record seen published has been advanced past (checked
    /// against the cached tail only: no shared load).
    #[inline]
    pub fn caught_up(&self) -> bool {
        self.head == self.cached_tail
    }

    /// Bytes advanced past but not yet released.
    #[inline]
    pub fn unreleased(&self) -> usize {
        (self.head - self.released) as usize
    }

    /// Messages advanced past but not yet released.
    #[inline]
    pub fn unreleased_msgs(&self) -> u64 {
        self.msgs - self.msgs_released
    }

    /// Size of the ring's region in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.cap as usize
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn put(tx: &mut Producer, data: &[u8], flags: u32) -> Result<(), ClaimError> {
        tx.claim(data.len())?.copy_from_slice(data);
        tx.commit(data.len(), flags);
        Ok(())
    }

    fn take(rx: &mut Consumer) -> Option<(Vec<u8>, u32)> {
        let rec = rx.peek().unwrap()?;
        let out = (rx.payload(&rec).to_vec(), rec.flags());
        rx.advance(rec);
        Some(out)
    }

    #[test]
    fn nothing_visible_before_publish() {
        let (mut tx, mut rx) = ring(256);
        put(&mut tx, b"abc", 0).unwrap();
        assert_eq!(rx.peek().unwrap(), None);
        tx.publish();
        assert_eq!(take(&mut rx), Some((b"abc".to_vec(), 0)));
        assert_eq!(take(&mut rx), None);
    }

    #[test]
    fn wraps_with_padding_and_keeps_payload_contiguous() {
        let (mut tx, mut rx) = ring(128);
        for round in 0..100u8 {
            let len = 1 + (round as usize * 7) % 40;
            let data = vec![round; len];
            put(&mut tx, &data, 0).unwrap();
            tx.publish();
            assert_eq!(take(&mut rx).unwrap().0, data);
            rx.release();
        }
    }

    #[test]
    fn full_until_released() {
        let (mut tx, mut rx) = ring(64);
        put(&mut tx, &[1; 24], 0).unwrap();
        put(&mut tx, &[2; 24], 0).unwrap();
        tx.publish();
        assert_eq!(tx.claim(1).unwrap_err(), ClaimError::Full);
        assert_eq!(tx.queued_msgs(), 2);
        take(&mut rx).unwrap();
        assert_eq!(
            tx.claim(1).unwrap_err(),
            ClaimError::Full,
            "advance alone frees nothing"
        );
        rx.release();
        assert_eq!(tx.queued_msgs(), 1);
        put(&mut tx, &[3; 24], 0).unwrap();
    }

    #[test]
    fn oversized_records_are_refused() {
        let (mut tx, _rx) = ring(64);
        assert_eq!(tx.max_payload(), 24);
        assert_eq!(tx.claim(25).unwrap_err(), ClaimError::TooLarge);
        // Unpublished frames of one message never drain: too large, not full.
        put(&mut tx, &[0; 24], MORE).unwrap();
        put(&mut tx, &[0; 24], MORE).unwrap();
        assert_eq!(tx.claim(1).unwrap_err(), ClaimError::TooLarge);
        tx.rollback();
        assert_eq!(tx.unpublished(), 0);
        put(&mut tx, &[0; 24], 0).unwrap();
    }

    #[test]
    fn empty_record_in_the_last_word() {
        // Found by the fuzzer: a header-only record at `cap - 8` has its
        // (empty) payload one past the region's end.
        let (mut tx, mut rx) = ring(64);
        for _ in 0..8 {
            put(&mut tx, &[], 0).unwrap();
        }
        tx.publish();
        for _ in 0..8 {
            assert_eq!(take(&mut rx), Some((vec![], 0)));
        }
    }

    #[test]
    fn push_publishes_whole_messages_and_pads_at_the_end() {
        let (mut tx, mut rx) = ring(64);
        // A claim left standing is abandoned by the push.
        tx.claim(8).unwrap();
        tx.push(&[1; 16]).unwrap(); // 24 bytes at 0
        assert!(tx.claimed_mut().is_none());
        tx.push(&[2; 16]).unwrap(); // 24 bytes at 24
                                    // 16 bytes are left before the end, too few: padding, then 24 at
                                    // 64, which needs the first record released.
        assert_eq!(tx.push(&[3; 16]).unwrap_err(), ClaimError::Full);
        assert_eq!(tx.push(&[0; 25]).unwrap_err(), ClaimError::TooLarge);
        assert_eq!(take(&mut rx), Some((vec![1; 16], 0)));
        rx.release();
        tx.push(&[3; 16]).unwrap();
        assert_eq!(tx.position(), 64 + 24);
        assert_eq!(take(&mut rx), Some((vec![2; 16], 0)));
        assert_eq!(take(&mut rx), Some((vec![3; 16], 0)));
        assert_eq!(take(&mut rx), None);
        rx.release();
        assert_eq!(tx.queued_msgs(), 0);
    }

    #[test]
    fn corrupt_tail_is_reported() {
        let (tx, mut rx) = ring(64);
        tx.ring.header().tail.store(1000, Ordering::Release);
        assert_eq!(rx.peek(), Err(Corrupt));
    }
}
