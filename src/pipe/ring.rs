//! A single-producer single-consumer ring of variable-length frames.
//!
//! # Invariants
//!
//! The ring is a [`RingHeader`] and a power-of-two byte region of `capacity`
//! bytes. Both hold only offsets and counters, never pointers, so the same ring
//! works in the heap or in a mapping shared by processes at different addresses.
//!
//! 1. `head` (the consumer's position) and `tail` (the producer's) are byte
//!    counts that only grow; a position's slot in the region is
//!    `pos & (capacity - 1)`. Every position is a multiple of 8.
//! 2. A record is an 8-byte header word (payload length in the low 32 bits,
//!    flags in the high 32, `LIVE` always among them, so a header is never
//!    zero) and the payload padded to 8. A record never crosses the end of
//!    the region: where it would, the producer fills the rest with a
//!    [`PADDING`] record and starts again at offset 0, so every payload is
//!    one contiguous slice.
//! 3. A message is its records up to the first without [`MORE`]. A message
//!    starts on a [`LINE`] boundary: after a message's last record both
//!    sides round their position up to the next line, unless that record
//!    is marked `PACKED` (the producer packs messages while the consumer
//!    is far behind, when capacity matters more than who holds which line;
//!    it then zeroes the word where the next message starts, in the line
//!    it is writing, before it publishes).
//! 4. **Publication is in the record** (as in Aeron's log buffers and
//!    FastForward): there is no shared tail. The producer writes a batch of
//!    whole messages, every header but the batch's first one plain, and
//!    publishes the batch by storing that first header last, with
//!    `Release`. The consumer `Acquire`-loads the header word at its head:
//!    zero means nothing is published there yet.
//! 5. **Free lines start with zero.** In the producer's free space, `[tail,
//!    released head + capacity)`, the first word of every line is zero, so
//!    the consumer never takes stale bytes for a header. The region starts
//!    zeroed; the consumer zeroes the first word of every line it has moved
//!    past (records, padding) when it releases them, just before; the
//!    producer re-zeroes those it wrote beyond what it publishes (an
//!    abandoned claim, a rollback) before its next publication.
//!    A consumer a whole ring ahead of its released head reads nothing
//!    more before it releases.
//! 6. The consumer `Release`-stores its head (and the count of messages it
//!    moved past) in batches; the producer `Acquire`-loads them only when its
//!    cached copy says the ring is full, before it overwrites anything.
//!
//! So a message costs the transfer of its own lines from producer to
//! consumer and nothing else: no cursor line bounces per message, and since
//! messages never share a line, the consumer never reads a line the
//! producer will write again before the next lap (when a consumer keeps up,
//! a shared line would travel back and forth once per message in it).
//!
//! A consumer in a stream reads best some way behind the producer: right
//! behind it, each line it pulls is one the producer is writing next to,
//! and the two cores take turns on every line (on cores far apart, a
//! message then costs a whole hand-off). So a consumer that has read a
//! stream's worth since its last release waits, before its next blocking
//! read, until the producer is `SLIP` bytes ahead (FastForward's slip; see
//! [`Consumer::slip`]); a request and its reply never get there.
//!
//! The consumer counts whole messages it has released (`msgs`), so a producer
//! can enforce a high-water mark in messages over a ring sized in bytes.
//!
//! Everything read back from the shared header or records is validated, so a
//! corrupt or hostile peer in another process yields [`Corrupt`], never an
//! out-of-bounds access or an endless loop.

use super::heap::HeapMem;
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use std::ptr::NonNull;
use std::sync::Arc;

/// The frame continues: more frames of the same message follow.
pub const MORE: u32 = 1;
/// A filler record at the end of the region; the consumer skips it.
pub const PADDING: u32 = 2;
/// The payload is a descriptor of data held elsewhere, not the data.
pub const DESCRIPTOR: u32 = 4;
/// Set in every header, so that a published header is never zero.
const LIVE: u32 = 1 << 31;
/// On a message's last record: the next message starts right after it,
/// not on the next line (the ring is backlogged: see [`Producer::pack`]).
const PACKED: u32 = 8;
/// A record of its own whose payload is the descriptor of a segment: the
/// messages that follow it are there, until that chain of segments ends
/// (a shared-memory pipe beyond its ring: see `pipe::chain`). Not counted
/// as a message by either side.
pub const LINK: u32 = 16;
/// The flags a header may carry.
const KNOWN: u32 = LIVE | MORE | PADDING | DESCRIPTOR | PACKED | LINK;

const HEADER: u64 = 8;
const ALIGN: u64 = 8;
/// Messages start on boundaries of this many bytes: a cache line (a
/// smaller one under loom, so that its small rings hold several messages).
pub const LINE: u64 = if cfg!(loom) { 16 } else { 64 };
/// Smallest region: room for a header and one word of payload, twice.
pub const MIN_CAPACITY: usize = 64;
/// Changes whenever the bytes two ends of a shared ring exchange change:
/// part of the ipc upgrade's offer, so that different layouts never meet.
pub const LAYOUT_VERSION: u8 = 3;

#[doc(hidden)]
pub use super::breaks;
use super::breaks::unless_broken;

/// The part of a ring both sides write outside the records: the consumer's
/// cursor, on a cache line of its own.
#[repr(C)]
pub struct RingHeader {
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
///
/// One word, as in the ring's header (length low, flags high), so that
/// where it goes through the stack it is stored and loaded whole: two
/// 32-bit fields get stored apart and loaded as one word (the C API's
/// receive did), a load no store can forward, which waits for every older
/// store to reach the cache, the frame's writes into the ring included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    word: u64,
}

impl Record {
    /// A record of a frame kept outside the ring (a pipe's spilled frame),
    /// with [`MORE`] and [`DESCRIPTOR`] among `flags` as they apply.
    #[cfg(not(loom))]
    pub(crate) fn outside(len: usize, flags: u32) -> Record {
        Record::new(len as u32, flags & (MORE | DESCRIPTOR))
    }

    #[inline(always)]
    fn new(len: u32, flags: u32) -> Record {
        Record {
            word: u64::from(len) | u64::from(flags) << 32,
        }
    }

    #[inline(always)]
    fn raw_len(&self) -> u32 {
        self.word as u32
    }

    #[inline(always)]
    fn raw_flags(&self) -> u32 {
        (self.word >> 32) as u32
    }

    /// Payload length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.raw_len() as usize
    }
    /// Whether the payload is empty.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.raw_len() == 0
    }
    /// The record's flags ([`MORE`], [`DESCRIPTOR`], [`LINK`]).
    #[inline(always)]
    pub fn flags(&self) -> u32 {
        self.raw_flags() & (MORE | DESCRIPTOR | LINK)
    }
    /// Whether more frames of the same message follow.
    #[inline(always)]
    pub fn more(&self) -> bool {
        self.raw_flags() & MORE != 0
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
    /// tracked cell that is touched wherever the word is written or read as
    /// payload, and an atomic that stands for the word wherever it is read
    /// or written as a header (payload writes are mirrored into it, so a
    /// stale word taken for a header shows there as it would in memory).
    #[cfg(loom)]
    shadow: Arc<[loom::cell::UnsafeCell<()>]>,
    #[cfg(loom)]
    words: Arc<[AtomicU64]>,
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

    /// The word at position `pos` (8-aligned), as the atomic its header
    /// accesses go through.
    #[inline(always)]
    fn word(&self, pos: u64) -> &AtomicU64 {
        let off = pos & self.mask;
        #[cfg(loom)]
        return &self.words[(off / ALIGN) as usize];
        #[cfg(not(loom))]
        // SAFETY: `off < cap` and 8-aligned (every position is), so the
        // word lies inside the region, aligned for an AtomicU64; `_mem`
        // keeps it alive. Header words are only ever accessed atomically
        // while the other side may access them (invariants 4 to 6).
        unsafe {
            &*self.at(off).cast::<AtomicU64>()
        }
    }

    /// Zeroes the first word of every line that starts in `[from, to)`
    /// (invariant 5). Both sides call it only on bytes they own.
    #[inline(always)]
    fn zero_lines(&self, from: u64, to: u64) {
        let mut line = (from + LINE - 1) & !(LINE - 1);
        while line < to {
            self.track_write(line, ALIGN);
            self.word(line).store(0, Ordering::Relaxed);
            line += LINE;
        }
    }

    /// loom: copies the plain bytes of `[pos, pos + size)` into the words'
    /// atomics, as a payload write changes what a later header read of the
    /// same word would find. Nothing outside loom.
    #[inline(always)]
    fn mirror(&self, _pos: u64, _size: u64) {
        #[cfg(loom)]
        for w in 0.._size / ALIGN {
            let off = (_pos + w * ALIGN) & self.mask();
            // SAFETY: `off` is an 8-aligned slot inside the region, owned
            // by the producer that calls this.
            let v = unsafe { self.at(off).cast::<u64>().read() };
            self.words[(off / ALIGN) as usize].store(v, Ordering::Relaxed);
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
    let mem = HeapMem::new(RingHeader::new(), header_span() + capacity);
    let base = mem.base();
    // SAFETY: `base` starts with a RingHeader and holds `capacity` more bytes
    // after `header_span()`, inside the block `mem` owns.
    let (header, data) = unsafe {
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
        _mem: Arc::new(mem),
        #[cfg(loom)]
        shadow: (0..capacity / ALIGN as usize)
            .map(|_| loom::cell::UnsafeCell::new(()))
            .collect(),
        #[cfg(loom)]
        words: (0..capacity / ALIGN as usize)
            .map(|_| AtomicU64::new(0))
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
    /// Where the first unpublished record goes (where a message starts: a
    /// line boundary, or inside a line after a packed message), and the end
    /// of what is published.
    published: u64,
    /// The header of the record at `published`, held back until the
    /// publish that stores it (0: none committed yet).
    first: u64,
    /// Where the message after the last whole one committed starts.
    msg_end: u64,
    /// Position and header word of the first record of the message being
    /// written, when it lies past `msg_end` (0: none).
    msg_first: (u64, u64),
    /// Everything the producer may have written lies below this position.
    dirty: u64,
    /// Last head loaded from the consumer.
    cached_head: u64,
    /// Whole messages committed, and published.
    msgs: u64,
    msgs_published: u64,
    /// Last count of released messages loaded from the consumer.
    cached_done: u64,
    /// Position and length of the record handed out by `claim`.
    claimed: Option<(u64, u32)>,
    /// Bytes every claim but a [`LINK`]'s leaves free (see
    /// [`keep_room_for_link`](Self::keep_room_for_link)).
    keep: u64,
    /// The CPU has PREFETCHW (see [`prefetch_own`](Self::prefetch_own)).
    prefetch_w: bool,
}

// SAFETY: the producer is the only writer of `[tail, head + capacity)`;
// moving it to another thread moves that exclusive role.
unsafe impl Send for Producer {}

#[inline(always)]
fn line_up(pos: u64) -> u64 {
    (pos + LINE - 1) & !(LINE - 1)
}

impl Producer {
    fn new(ring: RingRef) -> Self {
        Self {
            ring,
            tail: 0,
            published: 0,
            first: 0,
            msg_end: 0,
            msg_first: (0, 0),
            dirty: 0,
            cached_head: 0,
            msgs: 0,
            msgs_published: 0,
            cached_done: 0,
            claimed: None,
            keep: 0,
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
    ///
    /// # Errors
    ///
    /// [`ClaimError::Full`]: no room until the consumer releases some;
    /// [`ClaimError::TooLarge`]: a record of `len` bytes can never fit (over
    /// [`max_payload`](Self::max_payload), or beside the message's unpublished
    /// frames); [`ClaimError::Corrupt`]: the consumer's cursor is impossible
    /// (a hostile peer).
    #[inline]
    pub fn claim(&mut self, len: usize) -> Result<&mut [u8], ClaimError> {
        self.reserve(len)?;
        Ok(self.reserved())
    }

    /// [`claim`](Self::claim) without the borrow: the record is claimed,
    /// and [`reserved`](Self::reserved) hands out its payload.
    ///
    /// # Errors
    ///
    /// As [`claim`](Self::claim).
    #[inline(always)]
    pub fn reserve(&mut self, len: usize) -> Result<(), ClaimError> {
        let start = self.make_room(len, 0)?;
        self.abandon_claim();
        self.claimed = Some((start, len as u32));
        self.dirty = self.dirty.max(start + record_size(len as u64));
        Ok(())
    }

    /// The payload of the record [`reserve`](Self::reserve) claimed.
    ///
    /// # Panics
    /// If nothing is claimed.
    #[inline(always)]
    pub fn reserved(&mut self) -> &mut [u8] {
        self.claimed_mut().expect("reserved without a claim")
    }

    /// Drops the claim handed out last (loom: mirrors what it may have
    /// had written).
    #[inline(always)]
    fn abandon_claim(&mut self) {
        self.mirror_claim();
        // A load where a store would do: a sender's stores queue behind
        // its stores into the ring's lines, and there is rarely a claim.
        if self.claimed.is_some() {
            self.claimed = None;
        }
    }

    /// Writes `data` as a whole one-frame message and publishes it: claim,
    /// copy, commit and publish in one step, for small messages (a fan-out
    /// writes each into several rings). Nothing may be committed and
    /// unpublished; an outstanding claim is abandoned.
    ///
    /// # Errors
    ///
    /// As [`claim`](Self::claim) of `data.len()` bytes.
    #[inline(always)]
    pub fn push(&mut self, data: &[u8]) -> Result<(), ClaimError> {
        self.push_message(0, data)
    }

    /// Writes the two-frame message of an empty frame then `data` (the
    /// delimiter and body of a REQ's request, or of a reply to one) and
    /// publishes it, as [`push`](Self::push) does a one-frame message: both
    /// records in one room, published by one store.
    ///
    /// # Errors
    ///
    /// As [`claim`](Self::claim) of the two records' bytes:
    /// [`ClaimError::TooLarge`] already for `data` of
    /// [`max_payload`](Self::max_payload), which the two records of a
    /// [`claim`](Self::claim) each may still carry.
    #[inline(always)]
    pub fn push_delimited(&mut self, data: &[u8]) -> Result<(), ClaimError> {
        self.push_message(HEADER, data)
    }

    /// [`push`](Self::push) of `data` after `lead` bytes of records with no
    /// payload: none, or one empty frame's header.
    #[inline(always)]
    fn push_message(&mut self, lead: u64, data: &[u8]) -> Result<(), ClaimError> {
        debug_assert_eq!(self.tail, self.published, "push inside a message");
        let len = data.len();
        let body = self.make_room(len, lead)? + lead;
        self.abandon_claim();
        let end = body + record_size(len as u64);
        // SAFETY: `make_room` made `[body - lead, end)` producer-owned and
        // contiguous, 8-aligned; nobody reads it before the first header's
        // store below.
        unsafe {
            crate::copy::copy(
                std::slice::from_raw_parts_mut(
                    self.ring.at((body & self.ring.mask()) + HEADER),
                    len,
                ),
                data,
            );
        }
        self.ring.mirror(body + HEADER, end - body - HEADER);
        self.dirty = self.dirty.max(end);
        let flags = self.end_message(end);
        let mut word = len as u64 | (((flags | LIVE) as u64) << 32);
        if lead != 0 {
            // The body's header is not the batch's first: the delimiter's
            // store below publishes both.
            self.ring.word(body).store(word, Ordering::Relaxed);
            word = ((MORE | LIVE) as u64) << 32;
        }
        let start = body - lead;
        if start != self.published {
            // A padding record went first: it is the batch's first header.
            self.put_header(start, word);
            self.publish();
            return Ok(());
        }
        // The record is the whole batch: `publish` with nothing held back.
        debug_assert_eq!(self.first, 0, "a header held back before a push");
        let end = self.msg_end;
        if self.dirty > end {
            self.clean_beyond(end);
        }
        self.ring.word(start).store(
            word,
            unless_broken(breaks::PUBLISH_RELAXED, Ordering::Release),
        );
        self.published = end;
        self.msgs_published = self.msgs;
        Ok(())
    }

    /// Room at the tail for a record of `len` payload bytes, after padding
    /// to the region's start where it would not fit before the end: the
    /// record's position. `lead` bytes of payload-less records (an empty
    /// frame's header) go first, in the same room.
    #[inline(always)]
    fn make_room(&mut self, len: usize, lead: u64) -> Result<u64, ClaimError> {
        if len + lead as usize > self.max_payload() {
            return Err(ClaimError::TooLarge);
        }
        let need = record_size(len as u64);
        let pad = self.place(lead + need)?;
        if pad > 0 {
            self.pad(pad);
        }
        let start = self.tail;
        self.ring.track_write(start + lead + HEADER, need - HEADER);
        self.prefetch_own(start);
        Ok(start)
    }

    /// Fills the `pad` bytes left before the region's end with a padding
    /// record, so that the next record starts at offset 0.
    fn pad(&mut self, pad: u64) {
        let at = self.tail;
        if self.msg_end == at {
            self.msg_first = (at, 0);
        }
        self.put_header(at, (pad - HEADER) | (((PADDING | LIVE) as u64) << 32));
        self.dirty = self.dirty.max(at + HEADER);
        self.tail += pad;
    }

    /// Writes the header of the record at `pos`; the first one of the
    /// unpublished batch is held back for [`publish`](Self::publish).
    #[inline(always)]
    fn put_header(&mut self, pos: u64, word: u64) {
        if pos == self.published {
            self.first = word;
        } else {
            if self.msg_first == (pos, 0) {
                self.msg_first.1 = word;
            }
            self.ring.word(pos).store(word, Ordering::Relaxed);
        }
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
    #[inline(always)]
    fn place(&mut self, need: u64) -> Result<u64, ClaimError> {
        let cap = self.ring.cap;
        let off = self.tail & self.ring.mask();
        let pad = if need <= cap - off { 0 } else { cap - off };
        let end = self.tail + pad + need + self.keep;
        if end - self.cached_head > cap {
            let head = self
                .ring
                .header()
                .consumer
                .head
                .load(unless_broken(breaks::HEAD_RELAXED, Ordering::Acquire));
            // The end of the last message rounds up to a line, so an honest
            // consumer may be up to a line less eight behind a full ring.
            // A hostile one's head is never kept: every use of the cached
            // copy assumes it is at most `published`.
            if head > self.published || self.published - head > cap + LINE - ALIGN {
                return Err(ClaimError::Corrupt);
            }
            self.cached_head = head;
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
        self.mirror_claim();
        let (start, claimed) = self.claimed.take().expect("commit without claim");
        assert!(
            len <= claimed as usize,
            "commit of {len} bytes exceeds claim of {claimed}"
        );
        if self.msg_end == start {
            self.msg_first = (start, 0);
        }
        let end = start + record_size(len as u64);
        let flags = if flags & MORE == 0 {
            self.end_message(end) | flags & (DESCRIPTOR | LINK)
        } else {
            self.tail = end;
            flags & (MORE | DESCRIPTOR)
        };
        self.put_header(start, len as u64 | (((flags | LIVE) as u64) << 32));
    }

    /// A message's last record ends at `end`: where the next message
    /// starts, and the flag that tells the consumer.
    #[inline(always)]
    fn end_message(&mut self, end: u64) -> u32 {
        self.msgs += 1;
        let flags = if end % LINE != 0 && self.pack(end) {
            // Where the next message starts may hold an old lap's bytes:
            // unlike a line's first word, nobody zeroed it.
            self.ring.word(end).store(0, Ordering::Relaxed);
            self.tail = end;
            PACKED
        } else {
            self.tail = line_up(end);
            0
        };
        self.msg_end = self.tail;
        flags
    }

    /// Whether the message ending at `end` should be followed in the same
    /// line: when more than a quarter of the ring waits for the consumer,
    /// it reads lines the producer has long left, and packing makes room
    /// for up to four times as many small messages. The word at `end` must
    /// be ours. The cached head only ever overstates the backlog, so the
    /// real one is loaded only when the cached one says to pack: about once
    /// per quarter ring while the consumer keeps up.
    #[inline(always)]
    fn pack(&mut self, end: u64) -> bool {
        let quarter = self.ring.cap / 4;
        if end - self.cached_head <= quarter {
            return false;
        }
        self.refresh_head();
        end - self.cached_head > quarter && end + HEADER - self.cached_head <= self.ring.cap
    }

    /// From now on every claim leaves room for one [`LINK`] record (a
    /// line, and the padding before it at the region's end), so that a
    /// writer that finds the ring full can always still link a segment.
    #[cfg(not(loom))]
    pub(crate) fn keep_room_for_link(&mut self) {
        self.keep = LINE;
    }

    /// Writes and publishes a [`LINK`] record carrying `desc` (a segment's
    /// descriptor) in the room kept for it. Nothing may be unpublished.
    /// Like the segment's messages, which the pipe counts itself, it is not
    /// counted as a message.
    #[cfg(not(loom))]
    pub(crate) fn push_link(&mut self, desc: &[u8]) -> Result<(), ClaimError> {
        debug_assert_eq!(self.tail, self.published, "a link inside a message");
        let keep = std::mem::take(&mut self.keep);
        let reserved = self.reserve(desc.len());
        self.keep = keep;
        reserved?;
        self.reserved().copy_from_slice(desc);
        self.commit(desc.len(), LINK);
        self.msgs -= 1;
        self.publish();
        Ok(())
    }

    /// `n` whole messages were published outside the ring (in a chain of
    /// segments): they count toward the high-water mark as ring messages
    /// do, until the consumer counts them read. Nothing may be unpublished.
    #[cfg(not(loom))]
    pub(crate) fn count_outside(&mut self, n: u64) {
        debug_assert_eq!(self.msgs, self.msgs_published);
        self.msgs += n;
        self.msgs_published += n;
    }

    /// Loads the consumer's head into the cache, if it is one an honest
    /// consumer could have stored.
    #[inline(never)]
    fn refresh_head(&mut self) {
        let head = self.ring.header().consumer.head.load(Ordering::Acquire);
        if head >= self.cached_head && head <= self.published {
            self.cached_head = head;
        }
    }

    /// loom: mirrors the claimed payload, which the caller may have
    /// written, into the words' atomics. Nothing outside loom.
    #[inline(always)]
    fn mirror_claim(&self) {
        #[cfg(loom)]
        if let Some((start, len)) = self.claimed {
            self.ring
                .mirror(start + HEADER, record_size(len as u64) - HEADER);
        }
    }

    /// Makes every whole message committed visible to the consumer; the
    /// frames of a message still being written stay unpublished.
    #[inline(always)]
    pub fn publish(&mut self) {
        let end = self.msg_end;
        if end == self.published {
            return;
        }
        // Invariant 5 beyond the batch: the next message starts at `end`.
        if self.dirty > end {
            self.clean_beyond(end);
        }
        let next_first = if self.tail != end {
            // The message being written starts at `end`: its first header,
            // already stored, becomes the next batch's held-back one.
            let (pos, word) = self.msg_first;
            debug_assert_eq!(pos, end);
            self.ring.word(pos).store(0, Ordering::Relaxed);
            word
        } else {
            0
        };
        self.ring.word(self.published).store(
            self.first,
            unless_broken(breaks::PUBLISH_RELAXED, Ordering::Release),
        );
        self.first = next_first;
        self.published = end;
        self.msgs_published = self.msgs;
    }

    /// Zeroes the lines the producer wrote past `end` that no published
    /// record will cover (an abandoned claim, a shortened commit).
    #[cold]
    fn clean_beyond(&mut self, end: u64) {
        #[cfg(loom)]
        self.ring.mirror(end, self.dirty - end);
        // The next batch's first header, which the consumer will poll: an
        // earlier claim may have written there. (A message being written
        // has its first header there: `publish` zeroes that one.)
        if self.tail == end {
            self.ring.word(end).store(0, Ordering::Relaxed);
        }
        // What is committed past `end` (a message being written) and what
        // is claimed stay: they will be published.
        let claimed = self
            .claimed
            .map_or(0, |(at, len)| at + record_size(len as u64));
        let keep = self.tail.max(end).max(claimed);
        self.ring.zero_lines(keep, self.dirty);
        self.dirty = keep;
    }

    /// Drops everything committed since the last publish.
    pub fn rollback(&mut self) {
        self.abandon_claim();
        #[cfg(loom)]
        self.ring
            .mirror(self.published, self.dirty.saturating_sub(self.published));
        if self.dirty > self.published {
            self.ring.zero_lines(self.published + 1, self.dirty);
        }
        self.dirty = self.published;
        self.tail = self.published;
        self.msg_end = self.published;
        self.first = 0;
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
    // For the loom model of the chunk hand-back (`unstable-internals`).
    #[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
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

    /// Hands each record committed but not yet published (the frames of
    /// the message being written), oldest first, to `each` with its flags
    /// ([`MORE`], [`DESCRIPTOR`]); padding is skipped. For a pipe whose
    /// message outgrows the ring: its frames so far move beyond it.
    #[cfg(not(loom))]
    pub(crate) fn for_each_unpublished(&self, mut each: impl FnMut(&[u8], u32)) {
        let mut pos = self.published;
        while pos < self.tail {
            // The batch's first header is held back; the others are ours,
            // stored plain (nobody else writes unpublished records).
            let word = if pos == self.published {
                self.first
            } else {
                self.ring.word(pos).load(Ordering::Relaxed)
            };
            let (len, flags) = (word as u32 as u64, (word >> 32) as u32);
            if flags & PADDING == 0 {
                // SAFETY: `[pos, tail)` holds the records this producer
                // committed, unwrapped (invariant 2), inside the region,
                // and nobody reads or writes them before they are
                // published; `&self` keeps them from changing meanwhile.
                let payload = unsafe {
                    std::slice::from_raw_parts(
                        self.ring.at((pos & self.ring.mask()) + HEADER),
                        len as usize,
                    )
                };
                each(payload, flags & (MORE | DESCRIPTOR));
            }
            pos += record_size(len);
        }
    }

    /// Published messages the consumer has not yet released, released
    /// ones counting only in whole batches of `batch` (libzmq's reader
    /// tells its writer of its reads once per low-water mark).
    #[inline]
    pub fn queued_msgs(&mut self, batch: u64) -> u64 {
        let done = self.ring.header().consumer.msgs.load(Ordering::Acquire);
        self.cached_done = done - done % batch.max(1);
        self.msgs_published.saturating_sub(self.cached_done)
    }

    /// Whether fewer than `limit` published messages are unreleased,
    /// counted as [`queued_msgs`](Self::queued_msgs) counts them; reads
    /// the consumer's count only when the cached one says no.
    #[inline]
    pub fn below(&mut self, limit: u64, batch: u64) -> bool {
        self.below_cached(limit) || self.queued_msgs(batch) < limit
    }

    /// Whether fewer than `limit` published messages are unreleased by the
    /// last count [`queued_msgs`](Self::queued_msgs) made: it only ever
    /// overstates them, so a yes is final and a no means count again.
    #[inline(always)]
    pub fn below_cached(&self, limit: u64) -> bool {
        self.msgs_published.saturating_sub(self.cached_done) < limit
    }
}

/// A ring over `capacity` bytes of heap memory laid out as a shared
/// mapping would be (header, then region), filled from `bytes`, whose
/// consumer then reads what a hostile writer left there; the returned
/// closure rewrites a word of the region, as such a writer could at any
/// time.
#[cfg(fuzzing)]
pub(crate) fn hostile(capacity: usize, bytes: &[u8]) -> (Consumer, impl Fn(usize, u64)) {
    let (tx, rx) = ring(capacity);
    let r = tx.ring.clone();
    let n = bytes.len().min(capacity);
    // SAFETY: the region is `capacity` bytes and nobody reads it yet.
    unsafe { r.at(0).copy_from_nonoverlapping(bytes.as_ptr(), n) };
    let set_word = move |off: usize, v: u64| {
        let off = (off as u64 & r.mask()) & !(ALIGN - 1);
        // The fuzz target is single-threaded: this stands in for a writer
        // in another process rewriting published bytes, which the
        // consumer must survive.
        r.word(off).store(v, Ordering::Release);
    };
    (rx, set_word)
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

/// How far a streaming consumer lets the producer get ahead (see
/// [`Consumer::slip`]): a few microseconds of a fast stream.
pub(crate) const SLIP: u64 = 16 << 10;
/// The longest [`Consumer::slip`] waits for that lead.
#[cfg(not(loom))]
const SLIP_WAIT: std::time::Duration = std::time::Duration::from_micros(10);
/// How long [`Consumer::slip`] waits for a producer that has published
/// nothing more at all: the stream may have ended, and the message just
/// read is held until the wait ends.
#[cfg(not(loom))]
pub(crate) const SLIP_IDLE: std::time::Duration = std::time::Duration::from_micros(1);
/// Bytes read without catching up after which a consumer slips: twice
/// the lead, so that a writer held back by a small high-water mark (that
/// could never get `SLIP` ahead) is not waited for.
pub(crate) const SLIP_AFTER: usize = 2 * SLIP as usize;
/// Messages read since its last release after which a consumer that has
/// caught up slips: a burst, where a request and its reply are one.
pub(crate) const SLIP_AFTER_MSGS: u64 = 16;

/// How far ahead of its tail the producer asks for its next lines.
const PREFETCH_AHEAD: u64 = 256;

/// The wait of a [`Consumer::slip`], for any ring whose free space reads
/// zero (this one, and the [`mpsc`](super::mpsc) ring): until `word` reads
/// nonzero at `SLIP` past `head` (rounded down to `align`), at most
/// `SLIP_WAIT`, or, from `SLIP_IDLE` on, until `idle` (given the time
/// waited) says the producer has stopped. False when the wait ran out
/// before the producer passed the first quarter mark it had yet to reach.
#[cfg(not(loom))]
pub(crate) fn slip_wait(
    head: u64,
    align: u64,
    word: impl Fn(u64) -> u64,
    mut idle: impl FnMut(std::time::Duration) -> bool,
) -> bool {
    let target = (head + SLIP) & !(align - 1);
    // The first quarter mark on the way the producer has yet to reach:
    // reaching it during the wait shows it running on a core of its own.
    let mark = (1..4)
        .map(|q| (head + q * SLIP / 4) & !(align - 1))
        .find(|&at| word(at) == 0)
        .unwrap_or(target);
    let start = std::time::Instant::now();
    loop {
        for _ in 0..16 {
            if word(target) != 0 {
                return true;
            }
            std::hint::spin_loop();
        }
        let waited = start.elapsed();
        // Idle first: a wait the scheduler stretched is no miss.
        if waited >= SLIP_IDLE && idle(waited) {
            return true;
        }
        if waited >= SLIP_WAIT {
            return word(mark) != 0;
        }
    }
}

/// The reading end of a ring.
pub struct Consumer {
    ring: RingRef,
    /// Next record to read: advanced past, maybe not yet released.
    head: u64,
    /// Last value stored to the shared head.
    released: u64,
    /// Whole messages advanced past, and released.
    msgs: u64,
    msgs_released: u64,
}

// SAFETY: the consumer is the only reader of the records it has been
// published and only writer of the shared head; moving it to another
// thread moves that exclusive role.
unsafe impl Send for Consumer {}

impl Consumer {
    fn new(ring: RingRef) -> Self {
        Self {
            ring,
            head: 0,
            released: 0,
            msgs: 0,
            msgs_released: 0,
        }
    }

    /// The record at the head goes on past its first line: ask for the
    /// next one now, so that it travels while the caller looks at the
    /// header, not when the copy gets there (a 64-byte message and its
    /// header take 72 bytes).
    #[inline(always)]
    fn prefetch_next_line(&self) {
        #[cfg(all(target_arch = "x86_64", not(loom)))]
        // SAFETY: a prefetch is only a hint, it cannot fault; the address
        // is inside the region (offset masked).
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let next = (self.head & !(LINE - 1)) + LINE;
            _mm_prefetch::<_MM_HINT_T0>(self.ring.at(next & self.ring.mask()).cast());
        }
    }

    /// The next record, skipping padding; `None` when nothing is published.
    ///
    /// # Errors
    ///
    /// [`Corrupt`] when the ring holds what no honest producer writes: a
    /// header with unknown flags or without its live bit, a record that
    /// runs past the region, padding that does not end at the region's end,
    /// or padding after padding.
    #[inline(always)]
    pub fn peek(&mut self) -> Result<Option<Record>, Corrupt> {
        if self.full() {
            return Ok(None);
        }
        // An honest ring has at most one padding record in a row; a
        // hostile writer that keeps adding them gets `Corrupt`, not a
        // reader that never returns.
        for _ in 0..2 {
            let word = self.ring.word(self.head).load(Ordering::Acquire);
            if word == 0 {
                return Ok(None);
            }
            let (len, flags) = (word as u32, (word >> 32) as u32);
            let off = self.head & self.ring.mask();
            let size = record_size(len as u64);
            if flags & LIVE == 0 || flags & !KNOWN != 0 || size > self.ring.cap - off {
                return Err(Corrupt);
            }
            if flags & PADDING == 0 {
                if off % LINE + size > LINE {
                    self.prefetch_next_line();
                }
                return Ok(Some(Record::new(len, flags & !LIVE)));
            }
            if off + size != self.ring.cap {
                return Err(Corrupt);
            }
            self.head += size;
        }
        Err(Corrupt)
    }

    /// The payload of a record returned by [`peek`](Self::peek).
    #[inline]
    pub fn payload(&self, rec: &Record) -> &[u8] {
        self.ring.track_read(
            self.head + HEADER,
            record_size(rec.raw_len() as u64) - HEADER,
        );
        // SAFETY: `peek` checked that the record at `head` is published
        // (its header was acquired), not released and inside the region;
        // `head` moves only in `advance` (`&mut self`), so while `&self` is
        // borrowed the bytes stay unchanged.
        unsafe {
            std::slice::from_raw_parts(
                self.ring.at((self.head & self.ring.mask()) + HEADER),
                rec.len(),
            )
        }
    }

    /// Moves past `rec` (the last record peeked). Its bytes stay untouched
    /// until [`release`](Self::release).
    #[inline(always)]
    pub fn advance(&mut self, rec: Record) {
        let end = self.head + record_size(rec.raw_len() as u64);
        self.head = end;
        if rec.raw_flags() & MORE == 0 {
            self.msgs += 1;
            if rec.raw_flags() & PACKED == 0 {
                self.head = line_up(end);
            }
        }
    }

    /// Hands every record advanced past back to the producer, first
    /// zeroing the first word of each of their lines (invariant 5). Those
    /// stores wait for lines the producer wrote last, and stores leave a
    /// core in order: a reader that is about to send (a reply) should
    /// release after it, or when it next finds nothing to read.
    #[inline]
    pub fn release(&mut self) {
        if self.head != self.released || self.msgs != self.msgs_released {
            #[cfg(loom)]
            let zero = !breaks::on(breaks::NO_ZEROING);
            #[cfg(not(loom))]
            let zero = true;
            if zero {
                self.ring.zero_lines(self.released, self.head);
            }
            let h = self.ring.header();
            h.consumer.msgs.store(self.msgs, Ordering::Relaxed);
            h.consumer.head.store(self.head, Ordering::Release);
            self.released = self.head;
            self.msgs_released = self.msgs;
        }
    }

    /// Whether nothing is published beyond what was advanced past: the
    /// word at the head is still zero (one load of the line the next peek
    /// reads anyway).
    #[inline]
    pub fn caught_up(&self) -> bool {
        self.full() || self.ring.word(self.head).load(Ordering::Relaxed) == 0
    }

    /// Whether everything up to a whole ring ahead of the released head
    /// has been read: nothing more can be published before a release, and
    /// the word at the head is one read a lap ago, not yet zeroed.
    #[inline(always)]
    fn full(&self) -> bool {
        self.head - self.released >= self.ring.cap
    }

    /// Lets the producer get `SLIP` bytes ahead of the head, waiting at
    /// most `SLIP_WAIT` (FastForward's slip). For a consumer that has
    /// released in the middle of a stream, before its next blocking read
    /// (see `PipeEnd::slip_if_due`): one that reads right
    /// behind the producer pulls each line while the producer is still
    /// writing next to it, a cross-core round trip per line, where one
    /// that trails streams lines the producer has finished with. It looks
    /// at the first word of the line `SLIP` ahead, zero until the producer
    /// writes there (invariant 5); only a hint, read as no header. A
    /// producer that publishes nothing more for `SLIP_IDLE` (a burst
    /// that ended) ends the wait early. Returns false when it waited all of
    /// `SLIP_WAIT` in vain: a producer that did not even pass the next
    /// quarter mark (`SLIP / 4` apart) meanwhile, maybe one that shares
    /// this core. One that did runs on its own core, only slower than
    /// `SLIP` in `SLIP_WAIT` (a C program's sender on cores far apart):
    /// counting that a miss would stop the slips, and leave the consumer
    /// reading right behind it.
    #[cfg(not(loom))]
    pub fn slip(&self) -> bool {
        if SLIP * 4 > self.ring.cap {
            return true;
        }
        let word = |at| self.ring.word(at).load(Ordering::Relaxed);
        // Nothing published at the head: the stream ended.
        slip_wait(self.head, LINE, word, |_| word(self.head) == 0)
    }

    /// Moves past a [`LINK`] record (peeked last), whose chain has been
    /// read: not a message of its own.
    #[cfg(not(loom))]
    pub(crate) fn advance_link(&mut self, rec: Record) {
        self.advance(rec);
        self.msgs -= 1;
    }

    /// `n` whole messages were read outside the ring (see
    /// [`Producer::count_outside`]); the next release reports them.
    #[cfg(not(loom))]
    pub(crate) fn count_outside(&mut self, n: u64) {
        self.msgs += n;
    }

    /// Bytes advanced past but not yet released.
    #[inline]
    pub fn unreleased(&self) -> usize {
        (self.head - self.released) as usize
    }

    /// Messages released so far.
    #[inline]
    pub fn released_msgs(&self) -> u64 {
        self.msgs_released
    }

    /// Messages advanced past but not yet released.
    #[inline]
    pub fn unreleased_msgs(&self) -> u64 {
        self.msgs - self.msgs_released
    }

    /// Size of the ring's region in bytes.
    // For the ring bench and the fuzz model (`unstable-internals`).
    #[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
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
        assert_eq!(tx.queued_msgs(1), 2);
        take(&mut rx).unwrap();
        assert_eq!(
            tx.claim(1).unwrap_err(),
            ClaimError::Full,
            "advance alone frees nothing"
        );
        rx.release();
        assert_eq!(tx.queued_msgs(1), 1);
        put(&mut tx, &[3; 24], 0).unwrap();
    }

    #[test]
    fn frames_of_a_message_share_lines_messages_do_not() {
        let (mut tx, mut rx) = ring(256);
        put(&mut tx, &[1; 8], MORE).unwrap();
        assert_eq!(tx.position(), 16);
        put(&mut tx, &[2; 8], 0).unwrap();
        assert_eq!(tx.position(), 64, "the next message starts a line");
        tx.publish();
        assert_eq!(take(&mut rx), Some((vec![1; 8], MORE)));
        assert_eq!(take(&mut rx), Some((vec![2; 8], 0)));
        assert_eq!(take(&mut rx), None);
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
        for _ in 0..7 {
            put(&mut tx, &[], MORE).unwrap();
        }
        put(&mut tx, &[], 0).unwrap();
        tx.publish();
        for _ in 0..7 {
            assert_eq!(take(&mut rx), Some((vec![], MORE)));
        }
        assert_eq!(take(&mut rx), Some((vec![], 0)));
    }

    #[test]
    fn push_publishes_whole_messages_and_pads_at_the_end() {
        let (mut tx, mut rx) = ring(256);
        // A claim left standing is abandoned by the push.
        tx.claim(8).unwrap();
        tx.push(&[1; 40]).unwrap(); // [0, 48)
        assert!(tx.claimed_mut().is_none());
        assert_eq!(tx.position(), 64, "a line of its own: the reader keeps up");
        // More than a quarter of the ring waits: packed.
        tx.push(&[2; 40]).unwrap(); // [64, 112)
        assert_eq!(tx.position(), 112);
        tx.push(&[3; 40]).unwrap(); // [112, 160)
        tx.push(&[4; 80]).unwrap(); // [160, 248)
        assert_eq!(tx.position(), 248);
        // 8 bytes are left before the end: padding, then the record at
        // 256, which needs the first line released.
        assert_eq!(tx.push(&[5; 16]).unwrap_err(), ClaimError::Full);
        assert_eq!(tx.push(&[0; 121]).unwrap_err(), ClaimError::TooLarge);
        assert_eq!(take(&mut rx), Some((vec![1; 40], 0)));
        rx.release();
        tx.push(&[5; 16]).unwrap();
        assert_eq!(tx.position(), 256 + 24);
        assert_eq!(take(&mut rx), Some((vec![2; 40], 0)));
        assert_eq!(take(&mut rx), Some((vec![3; 40], 0)));
        assert_eq!(take(&mut rx), Some((vec![4; 80], 0)));
        assert_eq!(take(&mut rx), Some((vec![5; 16], 0)));
        assert_eq!(take(&mut rx), None);
        rx.release();
        assert_eq!(tx.queued_msgs(1), 0);
    }

    #[test]
    fn push_delimited_publishes_an_empty_frame_and_the_body_at_once() {
        let (mut tx, mut rx) = ring(256);
        tx.push_delimited(&[1; 40]).unwrap(); // [0, 8) and [8, 56)
        assert_eq!(tx.queued_msgs(1), 1, "one message of two frames");
        assert_eq!(tx.position(), 64, "a line of its own: the reader keeps up");
        // More than a quarter of the ring waits: packed.
        tx.push_delimited(&[2; 40]).unwrap(); // [64, 120)
        tx.push_delimited(&[3; 64]).unwrap(); // [120, 200)
        assert_eq!(tx.position(), 200);
        // 56 bytes are left before the end, the two records need 80:
        // padding first, then both at 256, which needs a line released.
        assert_eq!(tx.push_delimited(&[4; 64]).unwrap_err(), ClaimError::Full);
        // A body of the most one record carries does not fit beside the
        // delimiter (the records one by one may).
        assert_eq!(
            tx.push_delimited(&vec![0; tx.max_payload()]).unwrap_err(),
            ClaimError::TooLarge
        );
        for body in [vec![1; 40], vec![2; 40], vec![3; 64]] {
            assert_eq!(take(&mut rx), Some((vec![], MORE)));
            assert_eq!(take(&mut rx), Some((body, 0)));
        }
        assert_eq!(take(&mut rx), None);
        rx.release();
        tx.push_delimited(&[4; 64]).unwrap();
        assert_eq!(tx.position(), 256 + 80, "after the padding");
        assert_eq!(take(&mut rx), Some((vec![], MORE)));
        assert_eq!(take(&mut rx), Some((vec![4; 64], 0)));
        assert_eq!(take(&mut rx), None);
        rx.release();
        assert_eq!(tx.queued_msgs(1), 0);
    }

    #[test]
    fn a_backlogged_ring_holds_small_messages_packed() {
        // 32-byte messages, nobody reading: a line each would hold 64.
        let (mut tx, mut rx) = ring(4096);
        let mut n = 0u32;
        while tx.push(&[n as u8 | 1; 32]).is_ok() {
            n += 1;
        }
        assert!(n >= 90, "{n} messages of 32 B in 4 KiB");
        for i in 0..n {
            assert_eq!(take(&mut rx), Some((vec![i as u8 | 1; 32], 0)));
        }
        assert_eq!(take(&mut rx), None);
    }

    #[test]
    fn publish_leaves_a_message_being_written_unpublished() {
        let (mut tx, mut rx) = ring(256);
        put(&mut tx, b"one", 0).unwrap();
        put(&mut tx, b"two-a", MORE).unwrap();
        tx.publish();
        assert_eq!(tx.unpublished(), 16);
        assert_eq!(take(&mut rx), Some((b"one".to_vec(), 0)));
        assert_eq!(take(&mut rx), None, "half a message is never seen");
        put(&mut tx, b"two-b", 0).unwrap();
        tx.publish();
        assert_eq!(take(&mut rx), Some((b"two-a".to_vec(), MORE)));
        assert_eq!(take(&mut rx), Some((b"two-b".to_vec(), 0)));
        assert_eq!(take(&mut rx), None);
    }

    #[test]
    fn abandoned_bytes_are_never_taken_for_a_header() {
        // A long claim written and abandoned, then a short message: the
        // lines the long one dirtied lie where later messages start.
        let (mut tx, mut rx) = ring(1024);
        let buf = tx.claim(300).unwrap();
        buf.fill(0xff);
        put(&mut tx, b"x", 0).unwrap();
        tx.publish();
        assert_eq!(take(&mut rx), Some((b"x".to_vec(), 0)));
        assert_eq!(take(&mut rx), None);
        // Found by the fuzzer: a long claim abandoned for a short message,
        // then a claim standing at the next message's start while the
        // short one is published.
        tx.claim(450).unwrap().fill(0xdd);
        put(&mut tx, &[5; 100], 0).unwrap();
        tx.claim(300).unwrap();
        tx.publish();
        assert_eq!(take(&mut rx), Some((vec![5; 100], 0)));
        assert_eq!(take(&mut rx), None);
        // And a rollback's.
        tx.claim(300).unwrap().fill(0xee);
        tx.commit(300, MORE);
        tx.rollback();
        put(&mut tx, b"y", 0).unwrap();
        tx.publish();
        assert_eq!(take(&mut rx), Some((b"y".to_vec(), 0)));
        assert_eq!(take(&mut rx), None);
        rx.release();
        // Around the region many times: what was read is zeroed again.
        for round in 0..200u32 {
            let data = vec![(round % 251) as u8 | 1; 1 + (round as usize * 37) % 200];
            put(&mut tx, &data, 0).unwrap();
            tx.publish();
            assert_eq!(take(&mut rx).unwrap().0, data);
            assert_eq!(take(&mut rx), None);
            rx.release();
        }
    }

    #[test]
    fn a_reader_a_whole_ring_ahead_reads_nothing_until_it_releases() {
        // Found by the fuzzer: the reader has read a full ring and
        // released nothing, so the word at its head is the first record's
        // header, a lap old, not yet zeroed.
        let (mut tx, mut rx) = ring(256);
        let mut n = 0u8;
        while tx.push(&[n + 1; 56]).is_ok() {
            n += 1;
        }
        for i in 0..n {
            assert_eq!(take(&mut rx), Some((vec![i + 1; 56], 0)));
        }
        assert_eq!(rx.unreleased(), 256);
        assert!(rx.caught_up());
        assert_eq!(take(&mut rx), None);
        rx.release();
        tx.push(&[99; 8]).unwrap();
        assert_eq!(take(&mut rx), Some((vec![99; 8], 0)));
        assert_eq!(take(&mut rx), None);
    }

    #[test]
    fn hostile_headers_are_corrupt() {
        let (tx, mut rx) = ring(64);
        // A header without LIVE, one with unknown flags, one too long.
        for word in [
            5u64,
            5 | (0x4000_0000u64 << 32),
            100 | ((LIVE as u64) << 32),
        ] {
            tx.ring.word(0).store(word, Ordering::Release);
            assert_eq!(rx.peek(), Err(Corrupt), "{word:#x}");
        }
        // Padding that does not end at the region's end.
        tx.ring
            .word(0)
            .store(8 | (((PADDING | LIVE) as u64) << 32), Ordering::Release);
        assert_eq!(rx.peek(), Err(Corrupt));
    }

    /// A consumer head past what was published is corrupt, every time it
    /// is looked at: the writer never keeps it (the fuzz target shm_offer
    /// found the next claim subtracting it from the tail and overflowing).
    #[test]
    fn hostile_head_is_corrupt_and_not_kept() {
        let (mut tx, _rx) = ring(64);
        while put(&mut tx, &[1; 8], 0).is_ok() {}
        tx.publish();
        tx.ring
            .header()
            .consumer
            .head
            .store(u64::MAX / 2, Ordering::Release);
        for _ in 0..2 {
            assert_eq!(put(&mut tx, &[2; 8], 0), Err(ClaimError::Corrupt));
        }
    }
}
#[cfg(all(test, not(loom)))]
mod threads {
    use super::*;

    /// Two threads, a small ring, sizes from 0 to almost half the ring:
    /// every wrap, pad, packing and rounding a full ring meets. (It found
    /// a ring whose last message, rounded up to its line, ends past the
    /// reader's head plus the capacity taken for corrupt.)
    #[test]
    fn two_threads_mixed_sizes_in_a_small_ring() {
        let (mut tx, mut rx) = ring(4096);
        let n = 50_000u32;
        let t = std::thread::spawn(move || {
            let mut seed = 7u32;
            for i in 0..n {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let len = (seed >> 16) as usize % 2000;
                let start = std::time::Instant::now();
                loop {
                    match tx.claim(len) {
                        Ok(b) => {
                            for (k, x) in b.iter_mut().enumerate() {
                                *x = (i as usize + k) as u8;
                            }
                            break;
                        }
                        Err(ClaimError::Full) => {
                            assert!(start.elapsed().as_secs() < 5, "stuck at {i} len {len}: tail {} published {} cached {} released {}", tx.tail, tx.published, tx.cached_head, tx.released_head());
                            std::hint::spin_loop()
                        }
                        Err(e) => panic!("{e:?} at {i} len {len}: tail {} published {} cached {} released {} msg_end {}", tx.tail, tx.published, tx.cached_head, tx.released_head(), tx.msg_end),
                    }
                }
                tx.commit(len, 0);
                tx.publish();
            }
        });
        let mut seed = 7u32;
        for i in 0..n {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = (seed >> 16) as usize % 2000;
            let start = std::time::Instant::now();
            let rec = loop {
                if let Some(r) = rx.peek().unwrap() {
                    break r;
                }
                assert!(
                    start.elapsed().as_secs() < 5,
                    "reader stuck at {i}: head {} released {}",
                    rx.head,
                    rx.released
                );
            };
            assert_eq!(rec.len(), len);
            assert!(rx
                .payload(&rec)
                .iter()
                .enumerate()
                .all(|(k, &b)| b == (i as usize + k) as u8));
            rx.advance(rec);
            if rx.caught_up() || rx.unreleased() >= 1024 {
                rx.release();
            }
        }
        t.join().unwrap();
    }
}
