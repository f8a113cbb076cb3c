//! A multi-producer single-consumer ring of variable-length records, for
//! sockets that many threads (or processes) send on at once.
//!
//! Same memory shape as the SPSC [`ring`](super::ring): a [`MpscHeader`] and
//! a power-of-two byte region, offsets only, so the ring works in the heap
//! and in a mapping shared by processes at different addresses.
//!
//! # Invariants
//!
//! 1. `tail` (the next claim's position, shared by every producer) and
//!    `head` (the consumer's released position) are byte counts that only
//!    grow, except that a producer may move `tail` back over its own claim
//!    while nothing was claimed after it (the undo, rule 3). A position's
//!    slot is `pos & (capacity - 1)`; every position is a multiple of 8.
//! 2. A record is an 8-byte header word (payload length in the low 32
//!    bits, flags in the high 32) and the payload padded to 8. Records are
//!    back to back, in the order of their claims. A record never crosses
//!    the region's end; a [`PADDING`] record may (its body is never read).
//! 3. **Claim: one `fetch_add` on `tail`.** A producer checks that its
//!    record fits (`tail + size <= head + capacity`, with a cached head),
//!    then takes `[start, start + size)` by adding `size` to `tail`. Other
//!    producers may have claimed between its check and its add, so the
//!    claim can land beyond `head + capacity` (an *overshoot*): the
//!    producer has written nothing yet, and either takes its claim back
//!    with a CAS of `tail` from its end to its start (possible while
//!    nobody has claimed after it) and reports [`ClaimError::Full`], or
//!    finds, reloading `head`, that the consumer has made room meanwhile.
//!    It waits for one of the two; the first happens as soon as the
//!    producers that overshot after it have taken theirs back (a few
//!    instructions each), the second as the consumer reads. A claim that
//!    fits but would cross the region's end becomes a [`PADDING`] record
//!    and the producer claims again.
//! 4. **Mark, then publish, in the record.** Right after a claim that fits,
//!    the producer stores a `CLAIMED` header naming its owner id and the
//!    length (`Relaxed`: it carries no data). It writes the payload, then
//!    stores the `LIVE` header with `Release`. The consumer `Acquire`-loads
//!    the header at its head: zero means nothing is claimed there yet (or
//!    a claim not yet marked), `CLAIMED` means being written, `LIVE` means
//!    published. No shared cursor line moves per message on the consumer's
//!    side.
//! 5. **Free space is zero.** Every word of `[tail, head + capacity)` is
//!    zero. The region starts zeroed; the consumer zeroes every byte of the
//!    records it has moved past (padding included) before it releases them
//!    (as Agrona's `ManyToOneRingBuffer` does): records start at any
//!    8-aligned position, so any word may be a header next lap.
//! 6. The consumer `Release`-stores its head in batches; a producer
//!    `Acquire`-loads it before it writes in space it has not seen
//!    released. Producers of one process share a cached copy of the head
//!    (stored `Release`, loaded `Acquire`, so the chain of happens-before
//!    from the consumer's zeroing holds).
//! 7. **Abandoned claims.** A claim is never left unpublished by a live
//!    producer: dropping a [`Claim`] (a panic unwinding through the
//!    writer included) publishes it as padding. A producer that *dies*
//!    mid-write (a process killed over shared memory) leaves its `CLAIMED`
//!    mark at the consumer's head. The consumer learns of the death
//!    elsewhere (the connection closes, the pid is gone), sees the owner
//!    id in the mark ([`Consumer::claimant`]), and rewrites the mark as
//!    padding with a CAS from that very mark ([`Consumer::skip_abandoned`]),
//!    so a publish that landed first is read, never overwritten. Skipping
//!    by time alone would be unsound in one process: a slow writer's late
//!    payload bytes would race with the next lap's owner of that space.
//!    A producer that dies in the two instructions between its `fetch_add`
//!    and its mark leaves a zero header with claims beyond it
//!    ([`Consumer::claims_pending`]) and no owner to blame: the consumer
//!    cannot know the hole's length, so it treats the ring as broken once
//!    a death has been reported and the hole stays (an error for the
//!    socket to act on, never a wrong skip).
//!
//! Publication is a plain `Release` store, not a CAS: with rule 7 the only
//! writer that can find its mark skipped is a dead one (or a hostile peer,
//! who can write anything anyway), so a CAS (a locked instruction per
//! message) would buy nothing; the consumer's skip is the CAS.
//!
//! Messages are single records: the thread-safe socket types (CLIENT,
//! SERVER, RADIO, DISH, SCATTER, GATHER) send single-frame messages only,
//! and one claim is one message, so a message is atomic by construction.
//!
//! Everything read from the shared header or the records is validated, so
//! a corrupt or hostile peer in another process yields [`Corrupt`] or
//! [`ClaimError::Corrupt`], never an out-of-bounds access, a panic or an
//! endless loop. A shared ring trusts all its producers alike: any of them
//! can garble any record; one ring per trust domain.

// Without `unstable-internals` nothing uses the ring yet (the thread-safe
// sockets will).
#![cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]

use super::heap::HeapMem;
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use std::ptr::NonNull;
use std::sync::Arc;

/// A filler record the consumer skips: the rest of a claim that would have
/// crossed the region's end, a dropped claim, an abandoned one.
pub const PADDING: u32 = 2;
/// The payload is a descriptor of data held elsewhere, not the data.
pub const DESCRIPTOR: u32 = 4;
/// On padding the consumer wrote over an abandoned claim.
const SKIPPED: u32 = 8;
/// Set in every published header.
const LIVE: u32 = 1 << 31;
/// Set in the mark of a claim being written; the owner id is in bits
/// 8..24 of the flags.
const CLAIMED: u32 = 1 << 30;
const OWNER_SHIFT: u32 = 8;
const OWNER_MASK: u32 = 0xffff << OWNER_SHIFT;
/// Flags a published header may carry.
const KNOWN: u32 = LIVE | PADDING | DESCRIPTOR | SKIPPED;

const HEADER: u64 = 8;
const ALIGN: u64 = 8;
/// Smallest region: room for a header and one word of payload, four times.
pub const MIN_CAPACITY: usize = 64;
/// Changes whenever the bytes the ends of a shared ring exchange change.
pub const LAYOUT_VERSION: u8 = 1;

#[doc(hidden)]
pub use super::breaks;
use super::breaks::unless_broken;

/// The part of the ring outside the records: the producers' claim cursor
/// and the consumer's released head, each on a line of its own.
#[repr(C)]
pub struct MpscHeader {
    /// Next claim's position; every producer adds to it.
    tail: CachePadded<AtomicU64>,
    /// Released head; written by the consumer only.
    head: CachePadded<AtomicU64>,
}

impl MpscHeader {
    fn new() -> Self {
        Self {
            tail: CachePadded::new(AtomicU64::new(0)),
            head: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

const fn header_span() -> usize {
    let s = std::mem::size_of::<MpscHeader>();
    (s + 127) & !127
}

/// Bytes a ring of `capacity` takes in a shared mapping: its header, then
/// the region. A multiple of 128.
#[cfg(not(loom))]
pub(crate) const fn span(capacity: usize) -> usize {
    header_span() + capacity
}

/// Why a record cannot be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimError {
    /// No room now; the consumer will make some.
    Full,
    /// Larger than [`max_payload`]: can never fit.
    TooLarge,
    /// The shared cursors are impossible; the ring cannot be trusted.
    Corrupt,
}

/// The shared header or a record holds a value no honest peer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// A published record at the consumer's head: one word, length low and
/// flags high, as the SPSC ring's (see [`super::ring::Record`]: two
/// halves stored apart and loaded as one word cannot be forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    word: u64,
}

impl Record {
    /// Payload length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.word as u32 as usize
    }
    /// Whether the payload is empty.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The record's flags ([`DESCRIPTOR`]).
    #[inline(always)]
    pub fn flags(&self) -> u32 {
        (self.word >> 32) as u32 & DESCRIPTOR
    }
}

#[inline(always)]
fn record_size(len: u64) -> u64 {
    HEADER + ((len + ALIGN - 1) & !(ALIGN - 1))
}

#[inline(always)]
fn padding_word(size: u64) -> u64 {
    (size - HEADER) | (((PADDING | LIVE) as u64) << 32)
}

/// How far the producers must write in `SLIP_IDLE` for a slip to go on
/// waiting (see [`Consumer::slip`]): a stream of small messages at a few
/// million a second.
#[cfg(not(loom))]
const SLIP_STEP: u64 = 256;

/// The largest payload one record of a ring of `capacity` bytes may carry:
/// a quarter of the region less a header, so that several producers'
/// claims fit beside each other and an overshoot stays rare.
pub fn max_payload(capacity: usize) -> usize {
    capacity / 4 - HEADER as usize
}

/// Where a ring lives; shared by all its handles.
#[derive(Clone)]
struct RingRef {
    header: NonNull<MpscHeader>,
    data: NonNull<u8>,
    cap: u64,
    mask: u64,
    /// In memory other processes write: waits on them are bounded.
    shared: bool,
    /// Keeps the memory behind `header` and `data` alive.
    _mem: Arc<dyn Send + Sync>,
    /// loom: a tracked cell per word (payload accesses) and an atomic that
    /// stands for the word wherever it is accessed as a header (payload
    /// writes are mirrored into it before publication).
    #[cfg(loom)]
    shadow: Arc<[loom::cell::UnsafeCell<()>]>,
    #[cfg(loom)]
    words: Arc<[AtomicU64]>,
}

impl RingRef {
    #[inline(always)]
    fn header(&self) -> &MpscHeader {
        // SAFETY: `header` points at an initialised MpscHeader that `_mem`
        // keeps alive for as long as this RingRef exists.
        unsafe { self.header.as_ref() }
    }

    /// Pointer to slot `off`, or one past the region at `off == cap`.
    ///
    /// # Safety
    /// `off <= cap`; at `off == cap` the pointer is only for empty slices.
    #[inline(always)]
    unsafe fn at(&self, off: u64) -> *mut u8 {
        debug_assert!(off <= self.cap);
        // SAFETY: the caller guarantees `off <= cap`.
        unsafe { self.data.as_ptr().add(off as usize) }
    }

    /// The word at position `pos` (8-aligned), as the atomic its header
    /// accesses go through.
    #[inline(always)]
    fn word(&self, pos: u64) -> &AtomicU64 {
        // Honest positions are 8-aligned (invariant 1); one derived from a
        // peer's scribble may not be, and an atomic must be aligned.
        let off = pos & self.mask & !(ALIGN - 1);
        #[cfg(loom)]
        return &self.words[(off / ALIGN) as usize];
        #[cfg(not(loom))]
        // SAFETY: `off < cap` and 8-aligned (masked), so the word lies inside the
        // region, aligned for an AtomicU64; `_mem` keeps it alive. A word
        // that can be a header is accessed atomically whenever another
        // party may access it (invariants 4 to 6).
        unsafe {
            &*self.at(off).cast::<AtomicU64>()
        }
    }

    #[inline(always)]
    fn track_write(&self, _pos: u64, _size: u64) {
        #[cfg(loom)]
        for w in 0.._size / ALIGN {
            let word = (((_pos + w * ALIGN) & self.mask) / ALIGN) as usize;
            self.shadow[word].with_mut(|_| ());
        }
    }

    #[inline(always)]
    fn track_read(&self, _pos: u64, _size: u64) {
        #[cfg(loom)]
        for w in 0.._size / ALIGN {
            let word = (((_pos + w * ALIGN) & self.mask) / ALIGN) as usize;
            self.shadow[word].with(|_| ());
        }
    }

    /// loom: copies the plain bytes of `[pos, pos + size)` into the words'
    /// atomics. Nothing outside loom.
    #[inline(always)]
    fn mirror(&self, _pos: u64, _size: u64) {
        #[cfg(loom)]
        for w in 0.._size / ALIGN {
            let off = (_pos + w * ALIGN) & self.mask;
            // SAFETY: `off` is an 8-aligned slot inside the region, owned
            // by the producer that calls this.
            let v = unsafe { self.at(off).cast::<u64>().read() };
            self.words[(off / ALIGN) as usize].store(v, Ordering::Relaxed);
        }
    }

    /// Zeroes every byte of `[from, to)` (positions, `to - from <= cap`),
    /// which the caller owns (invariant 5).
    fn zero(&self, from: u64, to: u64) {
        debug_assert!(to - from <= self.cap);
        self.track_write(from, to - from);
        #[cfg(loom)]
        for w in 0..(to - from) / ALIGN {
            self.word(from + w * ALIGN).store(0, Ordering::Relaxed);
        }
        let mut pos = from;
        while pos < to {
            let off = pos & self.mask;
            let n = (to - pos).min(self.cap - off);
            // SAFETY: `[off, off + n)` lies inside the region (`n <= cap -
            // off`); the consumer owns these bytes until it releases them,
            // and nobody else accesses them meanwhile (invariant 6).
            unsafe { self.at(off).write_bytes(0, n as usize) };
            pos += n;
        }
    }
}

/// Creates a ring in the heap with a region of `capacity` bytes (a power
/// of two, at least [`MIN_CAPACITY`]): a producer (owner id 0; clone it or
/// make more with [`Producer::with_owner`]) and the consumer.
///
/// ```
/// use zeroring::mpsc;
/// let (tx, mut rx) = mpsc::mpsc(1024);
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.push(b"hello").unwrap()).join().unwrap();
/// let rec = rx.peek().unwrap().unwrap();
/// assert_eq!(rx.payload(&rec), b"hello");
/// rx.advance(rec);
/// rx.release();
/// ```
///
/// # Panics
/// If `capacity` is not a power of two or is below [`MIN_CAPACITY`].
pub fn mpsc(capacity: usize) -> (Producer, Consumer) {
    assert!(
        capacity.is_power_of_two() && (MIN_CAPACITY..=1 << 31).contains(&capacity),
        "ring capacity must be a power of two in [{MIN_CAPACITY}, 2^31], got {capacity}"
    );
    let mem = HeapMem::new(MpscHeader::new(), header_span() + capacity);
    let base = mem.base();
    // SAFETY: `base` starts with an MpscHeader and holds `capacity` more bytes
    // after `header_span()`, inside the block `mem` owns.
    let (header, data) = unsafe {
        (
            base.cast::<MpscHeader>(),
            NonNull::new_unchecked(base.as_ptr().add(header_span())),
        )
    };
    let r = RingRef {
        header,
        data,
        cap: capacity as u64,
        mask: capacity as u64 - 1,
        shared: false,
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
    (Producer::new(r.clone(), 0), Consumer::new(r))
}

/// A ring over `span(capacity)` bytes at `base`, which `mem` keeps mapped.
///
/// # Safety
/// `base` is 128-aligned and the `span(capacity)` bytes after it stay
/// mapped, readable and writable while `mem` lives; `capacity` is a power
/// of two in `[MIN_CAPACITY, 2^31]`. A fresh (zero-filled) mapping is an
/// empty ring. What other processes write there needs no trust.
#[cfg(not(loom))]
unsafe fn mapped(base: NonNull<u8>, capacity: usize, mem: Arc<dyn Send + Sync>) -> RingRef {
    debug_assert!(capacity.is_power_of_two() && capacity >= MIN_CAPACITY);
    RingRef {
        header: base.cast::<MpscHeader>(),
        // SAFETY: the caller maps `header_span() + capacity` bytes at `base`.
        data: unsafe { NonNull::new_unchecked(base.as_ptr().add(header_span())) },
        cap: capacity as u64,
        mask: capacity as u64 - 1,
        shared: true,
        _mem: mem,
    }
}

/// A producer of a ring in a shared mapping, with owner id `owner` (what
/// the consumer's process knows this process by, to skip its claims if it
/// dies).
///
/// # Safety
/// As for [`mapped`].
#[cfg(not(loom))]
pub(crate) unsafe fn producer_in(
    base: NonNull<u8>,
    capacity: usize,
    mem: Arc<dyn Send + Sync>,
    owner: u16,
) -> Producer {
    // SAFETY: forwarded from the caller.
    Producer::new(unsafe { mapped(base, capacity, mem) }, owner)
}

/// The consumer of a ring in a shared mapping; at most one per ring.
///
/// # Safety
/// As for [`mapped`], and no other consumer of the ring exists.
#[cfg(not(loom))]
pub(crate) unsafe fn consumer_in(
    base: NonNull<u8>,
    capacity: usize,
    mem: Arc<dyn Send + Sync>,
) -> Consumer {
    // SAFETY: forwarded from the caller.
    Consumer::new(unsafe { mapped(base, capacity, mem) })
}

/// A writing handle. `Clone`, `Send` and `Sync`: every method takes
/// `&self`, so one handle serves any number of threads (a thread-safe
/// socket's `send(&self)`); clones share the cached head.
#[derive(Clone)]
pub struct Producer {
    ring: RingRef,
    /// The consumer's head as last loaded by any handle of this process
    /// (stored `Release` after an `Acquire` load, so loading it `Acquire`
    /// inherits the happens-before of invariant 6). Local memory.
    cached_head: Arc<CachePadded<AtomicU64>>,
    owner: u16,
}

// SAFETY: a producer writes only inside claims it took with an atomic RMW
// (invariant 3), which no other handle or thread can take too; everything
// else it touches is atomic.
unsafe impl Send for Producer {}
// SAFETY: as above; `&self` methods take disjoint claims.
unsafe impl Sync for Producer {}

/// How many times an overshooting producer of a shared ring looks again
/// before it declares the ring broken (a hostile peer holding `tail`).
const OVERSHOOT_PATIENCE: u32 = 1 << 22;

/// How far the shared tail may lead the head before it is taken for a
/// peer's scribble: overshooting claims stack past a full ring, but no
/// honest crowd of producers stacks a terabyte of them.
const TAIL_LEAD: u64 = 1 << 40;

impl Producer {
    fn new(ring: RingRef, owner: u16) -> Self {
        Self {
            ring,
            cached_head: Arc::new(CachePadded::new(AtomicU64::new(0))),
            owner,
        }
    }

    /// Another handle to the same ring, whose claims carry `owner` (the
    /// cached head is shared).
    pub fn with_owner(&self, owner: u16) -> Producer {
        Producer {
            owner,
            ..self.clone()
        }
    }

    /// The owner id this handle's claims carry.
    pub fn owner(&self) -> u16 {
        self.owner
    }

    /// Size of the ring's region in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.cap as usize
    }

    /// The largest payload one record may carry.
    pub fn max_payload(&self) -> usize {
        max_payload(self.ring.cap as usize)
    }

    /// Reserves a record of `len` payload bytes, to be written in place and
    /// published by [`Claim::commit`]; dropping the claim publishes padding
    /// instead.
    ///
    /// # Errors
    ///
    /// [`ClaimError::Full`]: no room until the consumer releases some;
    /// [`ClaimError::TooLarge`]: over [`max_payload`](Self::max_payload);
    /// [`ClaimError::Corrupt`]: the shared cursors are impossible (a
    /// hostile peer).
    #[inline]
    pub fn claim(&self, len: usize) -> Result<Claim<'_>, ClaimError> {
        self.claim_with(len, || ())
    }

    /// [`claim`](Self::claim) with `between` run after the room check and
    /// before the `fetch_add`: lets tests and the fuzz model race other
    /// claims into that window deterministically.
    #[inline(always)]
    fn claim_with(&self, len: usize, between: impl FnOnce()) -> Result<Claim<'_>, ClaimError> {
        if len > self.max_payload() {
            return Err(ClaimError::TooLarge);
        }
        let need = record_size(len as u64);
        let start = self.reserve(need, &mut Some(between))?;
        if (start & self.ring.mask) + need <= self.ring.cap {
            return Ok(self.mark(start, len));
        }
        self.claim_past_end(start, len)
    }

    /// A claim at `start` that would cross the region's end: all of it
    /// becomes padding, and the next claim starts past the end (invariant
    /// 3). Out of line: the retry loop costs the common claim registers.
    #[cold]
    fn claim_past_end(&self, mut start: u64, len: usize) -> Result<Claim<'_>, ClaimError> {
        let need = record_size(len as u64);
        loop {
            self.ring
                .word(start)
                .store(padding_word(need), Ordering::Release);
            start = self.reserve(need, &mut None::<fn()>)?;
            if (start & self.ring.mask) + need <= self.ring.cap {
                return Ok(self.mark(start, len));
            }
        }
    }

    /// Marks the claim at `start` as being written (invariant 4).
    #[inline(always)]
    fn mark(&self, start: u64, len: usize) -> Claim<'_> {
        let mark = len as u64 | (((CLAIMED | (self.owner as u32) << OWNER_SHIFT) as u64) << 32);
        self.ring.word(start).store(mark, Ordering::Relaxed);
        self.ring
            .track_write(start + HEADER, record_size(len as u64) - HEADER);
        Claim {
            producer: self,
            start,
            len: len as u32,
        }
    }

    /// Takes `need` bytes at `tail` that lie within the consumer's head
    /// plus the capacity (invariant 3): the claim's position.
    #[inline(always)]
    fn reserve(&self, need: u64, between: &mut Option<impl FnOnce()>) -> Result<u64, ClaimError> {
        let cap = self.ring.cap;
        let h = self.ring.header();
        let mut head = self.cached_head.load(Ordering::Acquire);
        // Loaded after the head it is compared with: an honest tail is then
        // at least that head (the records below it were claimed first).
        let mut t = h.tail.load(Ordering::Relaxed);
        if t < head || t - head > TAIL_LEAD || t % ALIGN != 0 {
            return Err(ClaimError::Corrupt);
        }
        if t - head + need > cap {
            head = self.refresh_head()?;
            // The consumer may have read past `t` meanwhile: look again.
            t = h.tail.load(Ordering::Relaxed);
            if t < head || t - head > TAIL_LEAD || t % ALIGN != 0 {
                return Err(ClaimError::Corrupt);
            }
            if t - head + need > cap {
                return Err(ClaimError::Full);
            }
        }
        if let Some(f) = between.take() {
            f();
        }
        let start = h.tail.fetch_add(need, Ordering::Relaxed);
        if start < head || start > u64::MAX / 2 || start % ALIGN != 0 {
            return Err(ClaimError::Corrupt);
        }
        if start + need - head <= cap {
            return Ok(start);
        }
        self.overshoot(start, need)
    }

    /// The slow path of a claim that landed beyond the consumer's head plus
    /// the capacity: nothing was written in it. Take it back if nobody has
    /// claimed after it, or keep it once the consumer has made room.
    #[cold]
    fn overshoot(&self, start: u64, need: u64) -> Result<u64, ClaimError> {
        let end = start + need;
        let tail = &self.ring.header().tail;
        let mut i = 0u32;
        loop {
            let head = self.refresh_head()?;
            if head > start {
                return Err(ClaimError::Corrupt);
            }
            if end - head <= self.ring.cap {
                return Ok(start);
            }
            if tail
                .compare_exchange(end, start, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return Err(ClaimError::Full);
            }
            // Claims after ours: their owners are taking them back (or the
            // consumer is making room for all of us).
            i = i.wrapping_add(1);
            if self.ring.shared && i >= OVERSHOOT_PATIENCE {
                return Err(ClaimError::Corrupt);
            }
            backoff(i);
        }
    }

    /// Loads the consumer's head (`Acquire`) into the shared cache, if it
    /// is one an honest consumer could have stored: the newest head known.
    #[inline(never)]
    fn refresh_head(&self) -> Result<u64, ClaimError> {
        // The cache first: another handle may refresh it at any time, and
        // a head loaded after the cache is at least what the cache held.
        let cached = self.cached_head.load(Ordering::Acquire);
        let head = self
            .ring
            .header()
            .head
            .load(unless_broken(breaks::HEAD_RELAXED, Ordering::Acquire));
        if head < cached || head % ALIGN != 0 {
            // Heads only grow, by records: a peer rewrote it.
            return Err(ClaimError::Corrupt);
        }
        let prev = self.cached_head.fetch_max(head, Ordering::AcqRel);
        Ok(prev.max(head))
    }

    /// Writes `data` as one record and publishes it.
    ///
    /// # Errors
    ///
    /// As [`claim`](Self::claim) of `data.len()` bytes.
    #[inline]
    pub fn push(&self, data: &[u8]) -> Result<(), ClaimError> {
        let c = self.claim(data.len())?;
        // SAFETY: the claim is `data.len()` bytes.
        unsafe { c.commit_parts(&[], data) };
        Ok(())
    }

    /// Whether every record claimed so far has been read and released:
    /// then everything published before has reached the consumer.
    pub fn drained(&self) -> bool {
        let h = self.ring.header();
        // Head first: the tail only grows past it (bar an overshoot's
        // undo, which makes this say no), so equal means drained then.
        let head = h.head.load(Ordering::Acquire);
        h.tail.load(Ordering::Acquire) == head
    }

    /// The consumer's released head, loaded `Acquire`; unvalidated.
    pub fn released_head(&self) -> u64 {
        self.ring.header().head.load(Ordering::Acquire)
    }
}

#[inline]
fn backoff(i: u32) {
    #[cfg(not(loom))]
    if i >= 64 {
        std::thread::yield_now();
        return;
    }
    let _ = i;
    crate::sync::spin_hint();
}

/// A record being written: its payload is [`payload`](Self::payload);
/// [`commit`](Self::commit) publishes it; dropping it publishes padding
/// (nothing reaches the consumer, nothing blocks it).
#[must_use = "a dropped claim publishes padding"]
pub struct Claim<'a> {
    producer: &'a Producer,
    start: u64,
    len: u32,
}

impl std::fmt::Debug for Claim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("position", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

impl Claim<'_> {
    /// The payload, to be written in place (any bytes: the region is
    /// zeroed until written, but a claim's previous contents are not
    /// guaranteed).
    #[inline(always)]
    pub fn payload(&mut self) -> &mut [u8] {
        let r = &self.producer.ring;
        // SAFETY: `[start + 8, start + 8 + len)` is inside this claim, which
        // does not cross the region's end (checked in `claim_with`) and
        // belongs to this Claim alone until it is published (invariant 3);
        // `&mut self` keeps the slice unique.
        unsafe {
            std::slice::from_raw_parts_mut(r.at((self.start & r.mask) + HEADER), self.len as usize)
        }
    }

    /// Payload length claimed.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the claimed payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The claim's position in the ring (for tests and models).
    pub fn position(&self) -> u64 {
        self.start
    }

    /// Writes `prefix` then `data` as the payload and publishes it, as
    /// [`commit`](Self::commit) with no flags.
    ///
    /// # Safety
    /// `prefix.len() + data.len()` is the claimed length.
    #[inline(always)]
    pub unsafe fn commit_parts(mut self, prefix: &[u8], data: &[u8]) {
        debug_assert_eq!(prefix.len() + data.len(), self.len as usize);
        let p = self.payload().as_mut_ptr();
        // SAFETY: the payload is `prefix.len() + data.len()` bytes (the
        // caller's promise), this claim's alone (`payload`); the parts are
        // the caller's, never inside an unpublished claim.
        unsafe {
            crate::copy::copy_to(p, prefix);
            crate::copy::copy_to(p.add(prefix.len()), data);
        }
        self.commit(0);
    }

    /// Publishes the record with `flags` ([`DESCRIPTOR`] or 0). Follow a
    /// batch of commits with one ring of the consumer's doorbell.
    #[inline(always)]
    pub fn commit(self, flags: u32) {
        let len = self.len;
        self.commit_len(len as usize, flags);
    }

    /// Publishes the record with only its first `len` bytes (at most what
    /// was claimed); the rest of the claim becomes padding.
    ///
    /// # Panics
    /// If `len` exceeds the claimed length.
    #[inline(always)]
    pub fn commit_len(self, len: usize, flags: u32) {
        assert!(len <= self.len as usize, "commit beyond the claim");
        let this = std::mem::ManuallyDrop::new(self);
        let r = &this.producer.ring;
        let (short, full) = (record_size(len as u64), record_size(this.len as u64));
        if short < full {
            // Published with the record below (Release).
            r.word(this.start + short)
                .store(padding_word(full - short), Ordering::Relaxed);
        }
        r.mirror(this.start + HEADER, full - HEADER);
        let word = len as u64 | ((((flags & DESCRIPTOR) | LIVE) as u64) << 32);
        r.word(this.start).store(
            word,
            unless_broken(breaks::PUBLISH_RELAXED, Ordering::Release),
        );
    }
}

impl Drop for Claim<'_> {
    /// Publishes the claim as padding: a live producer never leaves a claim
    /// for the consumer to wait on (invariant 7), even when it unwinds.
    fn drop(&mut self) {
        let r = &self.producer.ring;
        let size = record_size(self.len as u64);
        r.mirror(self.start + HEADER, size - HEADER);
        r.word(self.start)
            .store(padding_word(size), Ordering::Release);
    }
}

/// The reading end of a ring; one per ring.
pub struct Consumer {
    ring: RingRef,
    /// Next record to read: advanced past, maybe not yet released.
    head: u64,
    /// Last value stored to the shared head.
    released: u64,
}

// SAFETY: the consumer is the only reader of published records and the only
// writer of the shared head; moving it moves that role.
unsafe impl Send for Consumer {}

impl Consumer {
    fn new(ring: RingRef) -> Self {
        Self {
            ring,
            head: 0,
            released: 0,
        }
    }

    /// The next published record, skipping padding; `None` when the record
    /// at the head is not published yet (or nothing is claimed there).
    ///
    /// # Errors
    ///
    /// [`Corrupt`] when the ring holds what no honest producer writes: a
    /// header with unknown flags, a record that runs past the region's end
    /// or past a whole ring ahead of the released head.
    #[inline]
    pub fn peek(&mut self) -> Result<Option<Record>, Corrupt> {
        // Each padding moves the head on by at least 8, and nothing is read
        // a whole ring beyond the released head: at most cap / 8 rounds.
        loop {
            let room = self.ring.cap - (self.head - self.released);
            if room == 0 {
                return Ok(None);
            }
            let word = self.ring.word(self.head).load(Ordering::Acquire);
            let (len, flags) = (word as u32, (word >> 32) as u32);
            if flags & LIVE == 0 {
                return if word == 0 || flags & !OWNER_MASK == CLAIMED {
                    Ok(None)
                } else {
                    Err(Corrupt)
                };
            }
            let size = record_size(len as u64);
            if flags & !KNOWN != 0 || size > room {
                return Err(Corrupt);
            }
            if flags & PADDING != 0 {
                self.head += size;
                continue;
            }
            if size > self.ring.cap - (self.head & self.ring.mask) {
                return Err(Corrupt);
            }
            return Ok(Some(Record {
                word: u64::from(len) | u64::from(flags) << 32,
            }));
        }
    }

    /// The payload of a record returned by [`peek`](Self::peek).
    #[inline]
    pub fn payload(&self, rec: &Record) -> &[u8] {
        self.ring
            .track_read(self.head + HEADER, record_size(rec.len() as u64) - HEADER);
        // SAFETY: `peek` checked that the record at `head` is published (its
        // header acquired) and lies inside the region; `head` moves only in
        // `&mut self` methods, and the bytes stay unreleased meanwhile.
        unsafe {
            std::slice::from_raw_parts(
                self.ring.at((self.head & self.ring.mask) + HEADER),
                rec.len(),
            )
        }
    }

    /// Moves past `rec` (the last record peeked). Its bytes stay untouched
    /// until [`release`](Self::release).
    #[inline]
    pub fn advance(&mut self, rec: Record) {
        self.head += record_size(rec.len() as u64);
    }

    /// Hands every record advanced past back to the producers, first
    /// zeroing all their bytes (invariant 5).
    #[inline]
    pub fn release(&mut self) {
        if self.head == self.released {
            return;
        }
        #[cfg(loom)]
        let zero = !breaks::on(breaks::NO_ZEROING);
        #[cfg(not(loom))]
        let zero = true;
        if zero {
            self.ring.zero(self.released, self.head);
        }
        self.ring.header().head.store(self.head, Ordering::Release);
        self.released = self.head;
    }

    /// Lets the producers get [`SLIP`](super::ring::SLIP) bytes ahead of
    /// the head, as [`ring::Consumer::slip`](super::ring::Consumer::slip)
    /// does (see there for when and why): records here share lines, so a
    /// consumer right behind a stream takes each line from the producer
    /// once per record in it. Free space reads zero (invariant 5), so a
    /// nonzero word shows a claim written that far; only a hint. The wait
    /// ends once the producers fall behind `SLIP_STEP` bytes every
    /// [`SLIP_IDLE`](super::ring::SLIP_IDLE): a burst that ended (its last
    /// records at the head, read after the wait), or nothing at all. One
    /// word is looked at each time, so that the wait itself takes few
    /// lines from the producers. False when the wait was in vain.
    #[cfg(not(loom))]
    pub fn slip(&self) -> bool {
        use super::ring::{SLIP, SLIP_IDLE};
        if SLIP * 4 > self.ring.cap {
            return true;
        }
        let word = |at| self.ring.word(at).load(Ordering::Relaxed);
        // The next word to see written, and when to look again.
        let (mut probe, mut next_look) = (self.head + SLIP_STEP, SLIP_IDLE);
        let idle = |waited| {
            if waited < next_look {
                return false;
            }
            next_look = waited + SLIP_IDLE;
            if word(probe) == 0 {
                return true;
            }
            probe += SLIP_STEP;
            false
        };
        super::ring::slip_wait(self.head, ALIGN, word, idle)
    }

    /// Whether nothing is published at the head (the next `peek` would
    /// find nothing, bar padding).
    #[inline]
    pub fn caught_up(&self) -> bool {
        self.head - self.released >= self.ring.cap
            || self.ring.word(self.head).load(Ordering::Relaxed) >> 32 & LIVE as u64 == 0
    }

    /// The owner id of the claim being written at the head (its `CLAIMED`
    /// mark), if that is what the head waits for.
    pub fn claimant(&self) -> Option<u16> {
        if self.head - self.released >= self.ring.cap {
            return None;
        }
        let word = self.ring.word(self.head).load(Ordering::Acquire);
        let flags = (word >> 32) as u32;
        (flags & (LIVE | CLAIMED) == CLAIMED)
            .then_some(((flags & OWNER_MASK) >> OWNER_SHIFT) as u16)
    }

    /// Whether claims were taken beyond the head (a hint: the shared tail
    /// is past it). With a zero header at the head and a dead producer,
    /// a hole that stays is one no owner can be found for (invariant 7).
    pub fn claims_pending(&self) -> bool {
        self.ring.header().tail.load(Ordering::Acquire) > self.head
    }

    /// Skips the claim at the head if it is marked by `owner`, turning its
    /// mark into padding with a CAS from that mark (a publish that landed
    /// first wins). Returns whether it skipped.
    ///
    /// # Errors
    ///
    /// [`Corrupt`] if the mark's length runs past the region's end or a
    /// whole ring beyond the released head.
    ///
    /// # Safety
    /// `owner` will never write to this claim again: it is a process that
    /// has died, or (in one process) every handle with that owner id that
    /// could hold the claim is gone or forgot it (`mem::forget`). Skipping
    /// a live writer's claim lets its payload writes race with the next
    /// lap's owner of those bytes.
    pub unsafe fn skip_abandoned(&mut self, owner: u16) -> Result<bool, Corrupt> {
        if self.head - self.released >= self.ring.cap {
            return Ok(false);
        }
        let w = self.ring.word(self.head);
        let word = w.load(Ordering::Acquire);
        let (len, flags) = (word as u32, (word >> 32) as u32);
        if flags & (LIVE | CLAIMED) != CLAIMED
            || (flags & OWNER_MASK) >> OWNER_SHIFT != owner as u32
        {
            return Ok(false);
        }
        let size = record_size(len as u64);
        if flags & !(CLAIMED | OWNER_MASK) != 0
            || size > self.ring.cap - (self.head & self.ring.mask)
            || size > self.ring.cap - (self.head - self.released)
        {
            return Err(Corrupt);
        }
        let skip = padding_word(size) | ((SKIPPED as u64) << 32);
        Ok(
            w.compare_exchange(word, skip, Ordering::Acquire, Ordering::Acquire)
                .is_ok(),
        )
    }

    /// Bytes advanced past but not yet released.
    #[inline]
    pub fn unreleased(&self) -> usize {
        (self.head - self.released) as usize
    }

    /// Size of the ring's region in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.cap as usize
    }

    /// The consumer's head position (advanced past, maybe unreleased).
    pub fn position(&self) -> u64 {
        self.head
    }
}

/// Test and fuzz hooks: the window inside a claim, and a hostile peer's
/// writes.
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod hooks {
    use super::*;

    /// [`Producer::claim`] with `between` run between the room check and
    /// the `fetch_add`, where other producers' claims can land.
    ///
    /// # Errors
    ///
    /// As [`Producer::claim`].
    pub fn claim_racing<'a>(
        p: &'a Producer,
        len: usize,
        between: impl FnOnce(),
    ) -> Result<Claim<'a>, ClaimError> {
        p.claim_with(len, between)
    }

    /// Stores `v` in the region's word at byte offset `off` (rounded down
    /// to 8 and masked), as a hostile peer in another process could at any
    /// time. Single-threaded test use only.
    #[cfg(not(loom))]
    pub fn hostile_word(c: &Consumer, off: usize, v: u64) {
        let off = (off as u64 & c.ring.mask) & !(ALIGN - 1);
        c.ring.word(off).store(v, Ordering::Release);
    }

    /// Stores `v` in the shared tail (`which == 0`) or head, as a hostile
    /// peer could.
    #[cfg(not(loom))]
    pub fn hostile_cursor(c: &Consumer, which: u8, v: u64) {
        let h = c.ring.header();
        if which == 0 {
            h.tail.store(v, Ordering::Release);
        } else {
            h.head.store(v, Ordering::Release);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
