//! One direction of a connection between two thread-safe sockets (or from
//! one to the engine of its tcp or ipc connection): a multi-producer ring
//! that any thread of the writing socket publishes into, read by the other
//! socket alone (or by the engine, on the I/O thread, whose doorbell is
//! then the reader's).
//!
//! Invariants (besides the ring's own, in [`mpsc`]):
//! - Messages in flight (published and not yet released by the reader)
//!   never exceed the high-water mark: a writer publishes only with a
//!   credit; it adds its whole batch to `sent` before it looks at
//!   `received`, so two writers never take the same room; and `received`
//!   counts only messages the reader has released. So `sent - received`
//!   is at least what is in flight plus the credits writers hold.
//! - A writer waiting in a [`Room`] without a deadline (or a poll call
//!   watching it) is woken by any signal that follows room it can use (a
//!   release, credits given back, a close): no lost wake-up (see [`Room`]
//!   for the handshake).
//!
//! Both are model-checked by `loom-tests/tests/threadsafe.rs`: `room_*`
//! (one and two writers waiting, a poller waiting; the reader's barrier
//! left out, or the writer's epoch check, is caught as a deadlock) and `credits_*` (two writers and a reader at marks 1
//! and 16, a writer refused at the mark admitted by a release or by
//! credits given back; a writer that reads `sent` before it adds is
//! caught putting two messages over a mark of one). Deadlines are not
//! modelled (loom has no clock).
//!
//! The ring's bytes bound what a pipe holds, and so does its high-water
//! mark, counted in messages: a sending thread takes credits from `sent`
//! in batches (one atomic add per batch, not per message: that add would
//! wait for the thread's stores into the ring to drain, and contend with
//! the other threads), and the reader publishes how many it has taken in
//! `received` when it releases records. A batch is at most an eighth of
//! the mark (16 at most), and credits a thread holds but has not used
//! yet count as sent, so with several sending threads a pipe may refuse
//! up to `batch - 1` messages per other thread below its mark; one thread
//! alone sees the mark exactly. A writer that finds the pipe full (either
//! limit) waits on its socket's [`Room`], which the reader signals after
//! each release.
//!
//! Frames larger than the ring's inline limit travel as a descriptor of a
//! heap box (in-process readers only, an engine included: the pointer
//! means nothing elsewhere).
//!
//! Every such box is freed exactly once, whatever the order in which the
//! reader goes, the writers go and the last writers publish:
//! - The reader frees the box of each descriptor it reads, and at its drop
//!   those of the records published in order behind its head (it stops at
//!   a claim still being written, which a writer that passed the `closed`
//!   check before the close may yet publish, and so may writers after it).
//!   It then parks its [`Consumer`] in the pipe's [`Link`].
//! - The [`Link`]'s drop drains the parked consumer the same way. The link
//!   is dropped by its last owner (the reader, or the [`Pipe`] the writers
//!   share), after every writer's `&Pipe` has gone: no
//!   [`Claim`](mpsc::Claim) exists then (a claim borrows the pipe's
//!   producer, which only the pipe holds, and is published, as a record or
//!   as padding, before that borrow ends), and the release of each other
//!   `Arc` orders its publishes before the drop. So the drain finds every
//!   record published and none being written: nothing is left unread.
//! - Each record is advanced past once, by one consumer, so no box is
//!   freed twice.
//!
//! # Across processes (ipc)
//!
//! A pipe whose reader is a thread-safe socket in another process has its
//! ring and its [`PipeWords`] (`received`, `closed`) in a segment both
//! map (`transport::ipc::mpsc_segment`); each side holds a [`Link`] of its
//! own over them. `sent` stays with the writers, who are all in one
//! process. The differences:
//! - Frames above `CHUNK_MIN` (or the ring's largest record, if smaller)
//!   go into chunks of the writing socket's pool, which the reader maps
//!   read-only; a descriptor record names the chunk (see
//!   `threadsafe::chunks`: how chunks go back, what a full pool
//!   does). A descriptor that names no valid chunk (a heap pointer, one
//!   out of the pool's layout or of another generation) is a forgery
//!   that ends the pipe; nothing outside the mapping is read. Without a
//!   pool (the system refused one) larger frames are refused
//!   ([`Refused::TooLarge`]).
//! - The reader tells the writers of room by ringing their socket's
//!   doorbell ([`Wake::Bell`], mapped from the segment the writers' socket
//!   passed), which that socket passes on to its [`Room`]; the handshake
//!   is the doorbell's (the writer announces its sleep on its bell before
//!   its re-check, the reader rings after storing `received`), with the
//!   same light/heavy barrier pair across processes as the doorbell's
//!   (both sides agreed on membarrier in their offers). Modelled in
//!   process by `loom-tests/tests/threadsafe.rs` (`room_relayed_*`; an
//!   unarmed doorbell is caught as a deadlock); the futex-to-bridge leg
//!   across processes is the doorbell's, argued there.
//! - A peer may write the words and the ring at will: every value is
//!   validated by the ring, `received` only moves the liar's own
//!   backpressure, and any nonzero `closed` is a close.
//! - The writers' process may die mid-claim: once the reader's side has
//!   proof of that (the connection ended) it declares the [`Death`] and
//!   closes the pipe, and the reader skips the dead process's abandoned
//!   claims (by its owner id) to read what was published behind them.
//!   The reading process may die too: the same declaration, on the
//!   writers' side, gives back every chunk the pipe's reader held.

use super::wakers::Wakers;
use crate::pipe::breaks;
use crate::pipe::mpsc::{self, ClaimError, Consumer, Producer, DESCRIPTOR};
use crate::pipe::{ring, Doorbell, SlipBackoff};
use crate::sync::{
    barrier, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering,
};
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

/// Frames above this many bytes go by descriptor: a record of a quarter of
/// the ring would make the other writers wait for the reader.
const INLINE_MAX: usize = 16 << 10;
/// Bytes read after which a reader that has caught up releases them.
const RELEASE_AFTER_BURST: usize = 1024;
/// Looks in vain in a row after which a reader is not in a stream: one
/// right behind a stream finds its next message at the look after its
/// first in vain, one that waits for each message (a server for requests)
/// looks twice or more before it comes (in a ping-pong, 99.8 % of the
/// waits did).
const IDLE_LOOKS: u8 = 2;

/// Why a pipe took no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// At its high-water mark or out of ring bytes: try again later.
    Full,
    /// The reader is gone (or the ring is broken): never again.
    Closed,
    /// Larger than the pipe carries (`max` bytes: the reader is in another
    /// process, where a heap descriptor means nothing, and the writing
    /// socket has no pool of chunks, or not one that large).
    TooLarge {
        /// The largest message the pipe takes.
        max: usize,
    },
}

/// Where writers of a socket wait for room in any of its pipes (and for a
/// first peer). A reader that releases records loads `waiters` after a
/// light barrier (a compiler fence where membarrier(2) works); a writer
/// adds itself and then issues the heavy barrier (membarrier) before its
/// re-check, so one of the two sees the other (Dekker, as the doorbell's
/// sleepers and writers): the cost is on the writer that waits. A signal
/// bumps `epoch` under the mutex, and a writer sleeps only if the epoch it
/// saw before its re-check is still there, so no signal falls between its
/// re-check and its sleep. The re-check runs outside the mutex: it may
/// itself signal (credits given back).
///
/// A signal makes the wake-up call (a futex system call) only if a writer
/// sleeps that no signal has woken yet: a woken writer stays counted in
/// `waiters` until it runs, which on a busy core may take a whole time
/// slice, and a reader releasing every few dozen messages meanwhile would
/// otherwise make the call each time (in a run of `client_thr 32 10000000
/// 4` on two cores: 51,307–152,793 calls that way, 2,130–2,622 counting
/// the sleepers).
///
/// A poll call (or an async task) waits for room as a writer does, counted
/// in `waiters` the same way ([`watch`](Room::watch)), but sleeps on its
/// own descriptor (or returns to its executor): every signal wakes it
/// through its waker too.
#[derive(Default)]
pub struct Room {
    waiters: AtomicUsize,
    epoch: Mutex<Epoch>,
    cv: Condvar,
    pollers: Wakers,
}

/// What [`Room`]'s mutex guards.
#[derive(Default)]
struct Epoch {
    /// Signals so far.
    n: u64,
    /// Writers gone to sleep on the condvar since the last signal woke
    /// them all. It may count one that has left (a timeout, a spurious
    /// wake-up): that costs one needless wake-up call, never a lost one.
    sleepers: u32,
}

impl Room {
    /// Wakes every waiting writer if there is one. Call after making room
    /// visible (a release, a new pipe, a close).
    #[inline]
    pub fn signal(&self) {
        if !breaks::on(breaks::SIGNAL_NO_BARRIER) {
            barrier::light();
        }
        if self.waiters.load(Ordering::Relaxed) != 0 {
            self.wake_all();
        }
    }

    /// Wakes every waiting writer, whether or not one has said it waits.
    #[cold]
    pub fn wake_all(&self) {
        let mut epoch = self.lock();
        epoch.n += 1;
        if epoch.sleepers != 0 {
            epoch.sleepers = 0;
            self.cv.notify_all();
        }
        drop(epoch);
        self.pollers.wake_all();
    }

    /// Counts in a poll call that waits for room elsewhere, to be woken
    /// through `waker` by every signal until [`unwatch`](Self::unwatch).
    /// The caller then runs the heavy barrier before each re-check, as
    /// [`wait`](Self::wait) does: the same handshake. The waker goes in
    /// before the count: a signal that sees the count finds it.
    pub fn watch(&self, waker: &Waker) {
        self.pollers.add(waker);
        self.waiters.fetch_add(1, Ordering::SeqCst);
    }

    /// Undoes one [`watch`](Self::watch).
    pub fn unwatch(&self, waker: &Waker) {
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        self.pollers.remove(waker);
    }

    /// The watchers counted in and their registrations (the tests' leak
    /// check).
    #[cfg(all(test, not(loom)))]
    pub fn watchers(&self) -> (usize, usize) {
        (
            self.waiters.load(Ordering::SeqCst),
            self.pollers.registered(),
        )
    }

    fn lock(&self) -> MutexGuard<'_, Epoch> {
        self.epoch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `attempt` until it gives `Some`, waiting for a signal between
    /// tries; `None` once `deadline` has passed.
    pub fn wait<T>(
        &self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let found = loop {
            let seen = self.lock().n;
            barrier::heavy();
            if let Some(found) = attempt() {
                break Some(found);
            }
            let mut guard = self.lock();
            if guard.n != seen && !breaks::on(breaks::EPOCH_UNCHECKED) {
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break None;
            }
            guard.sleepers = guard.sleepers.saturating_add(1);
            match deadline {
                None => drop(self.cv.wait(guard)),
                Some(d) => drop(self.cv.wait_timeout(guard, d - now)),
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        found
    }
}

/// The words a pipe's writers and its reader share: in the heap, or (a
/// peer in another process) in the segment both map. Zero-filled memory is
/// a fresh pipe, and any bit pattern is valid: a peer may write them.
#[repr(C)]
pub struct PipeWords {
    /// Messages the reader has taken and released.
    received: CachePadded<AtomicU64>,
    /// Nonzero once either side has gone.
    closed: CachePadded<AtomicU64>,
}

impl Default for PipeWords {
    fn default() -> Self {
        Self {
            received: CachePadded::new(AtomicU64::new(0)),
            closed: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

/// Where a pipe's [`PipeWords`] are, kept alive (or mapped) while used.
pub struct Words {
    words: NonNull<PipeWords>,
    _mem: Arc<dyn Send + Sync>,
}

// SAFETY: the words are atomics only, and `_mem` keeps them alive.
unsafe impl Send for Words {}
// SAFETY: as above: every access is atomic.
unsafe impl Sync for Words {}

impl Words {
    /// Fresh words in the heap.
    pub fn heap() -> Self {
        let mem = Arc::new(PipeWords::default());
        Self {
            words: NonNull::from(&*mem),
            _mem: mem,
        }
    }

    /// The words at `words`, inside a mapping `mem` keeps.
    ///
    /// # Safety
    /// `words` is aligned for [`PipeWords`], and its bytes stay mapped,
    /// readable and writable while `mem` lives; they are only ever
    /// accessed atomically (by anyone, in any process).
    #[cfg(not(loom))]
    pub(crate) unsafe fn in_mapping(words: NonNull<PipeWords>, mem: Arc<dyn Send + Sync>) -> Self {
        Self { words, _mem: mem }
    }
}

impl std::ops::Deref for Words {
    type Target = PipeWords;

    #[inline(always)]
    fn deref(&self) -> &PipeWords {
        // SAFETY: `words` points at a PipeWords that `_mem` keeps alive (a
        // heap box, or a mapping per `in_mapping`'s contract); all its
        // fields are atomics, valid in every bit pattern.
        unsafe { self.words.as_ref() }
    }
}

/// Who a reader tells of room it made.
#[cfg_attr(loom, allow(dead_code))] // `Bell`: shared pipes only.
pub enum Wake {
    /// The writing socket's room, in this process.
    Room(Arc<Room>),
    /// The writing socket's doorbell, rung from another process: that
    /// socket passes the wake-up on to its room (see `Core::send_loop`).
    Bell(Arc<Doorbell>),
}

impl Wake {
    #[inline]
    fn signal(&self) {
        match self {
            Wake::Room(room) => room.signal(),
            Wake::Bell(bell) => bell.ring(),
        }
    }
}

/// What a pipe's writers and its reader both hold.
pub struct Link {
    words: Words,
    /// Most messages in flight; 0 for no limit.
    hwm: u64,
    /// The reading socket's doorbell: rung after each publish.
    reader: Arc<Doorbell>,
    /// Told after each release.
    writers: Wake,
    /// Large frames travel as heap descriptors (the reader is in this
    /// process); otherwise a descriptor record is a peer's forgery.
    boxes: bool,
    /// The reader's consumer, once the reader has gone: the last owner of
    /// the link frees the boxes of what was published after.
    parked: Mutex<Option<Consumer>>,
}

impl Link {
    /// The link of a pipe whose two ends are in different processes:
    /// `words` in the segment they share, `reader` the reading socket's
    /// doorbell, `writers` who the reader tells of room (on each side, its
    /// own or the peer's).
    #[cfg(not(loom))]
    pub(crate) fn shared(
        words: Words,
        hwm: u64,
        reader: Arc<Doorbell>,
        writers: Wake,
    ) -> Arc<Link> {
        Arc::new(Link {
            words,
            hwm,
            reader,
            writers,
            boxes: false,
            parked: Mutex::new(None),
        })
    }

    /// Marks the pipe closed and wakes both sides.
    pub fn close(&self) {
        self.words.closed.store(1, Ordering::Release);
        self.reader.ring_from(true);
        self.writers.signal();
    }

    /// Whether either side has gone.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.words.closed.load(Ordering::Acquire) != 0
    }
}

impl Drop for Link {
    /// Frees the boxes of what was published after the reader went.
    fn drop(&mut self) {
        let parked = self.parked.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(mut rx), true) = (parked, self.boxes) {
            drain(&mut rx);
        }
    }
}

/// The writers' side of a pipe.
pub struct Pipe {
    tx: Producer,
    /// Messages writers counted in (and not taken back). Only writers
    /// read it, and they are all in one process.
    sent: CachePadded<AtomicU64>,
    /// Frames up to this size go in the ring; larger ones by descriptor
    /// (of a heap box if `link.boxes`, else of a chunk) or not at all.
    inline_max: usize,
    link: Arc<Link>,
    /// The writing socket's pool, for a reader in another process.
    #[cfg(not(loom))]
    chunks: Option<super::chunks::Chunks>,
}

impl Pipe {
    /// A pipe and its reading end.
    pub fn new(
        capacity: usize,
        hwm: u64,
        reader: Arc<Doorbell>,
        writer_room: Arc<Room>,
    ) -> (Arc<Pipe>, Consumer) {
        barrier::init();
        let (tx, rx) = mpsc::mpsc(capacity);
        let link = Arc::new(Link {
            words: Words::heap(),
            hwm,
            reader,
            writers: Wake::Room(writer_room),
            boxes: true,
            parked: Mutex::new(None),
        });
        let inline_max = INLINE_MAX.min(tx.max_payload());
        let pipe = Arc::new(Pipe {
            tx,
            sent: CachePadded::new(AtomicU64::new(0)),
            inline_max,
            link,
            #[cfg(not(loom))]
            chunks: None,
        });
        (pipe, rx)
    }

    /// The writers' side of a pipe whose reader is in another process:
    /// `tx` publishes into the ring both map. Frames above
    /// [`CHUNK_MIN`](crate::transport::ipc::pool::CHUNK_MIN) go into
    /// chunks of `pool` (the writing socket's, which the reader mapped),
    /// all handed back once `gone` is declared (the connection ended);
    /// without a pool, frames beyond the ring's largest record are refused
    /// ([`Refused::TooLarge`]).
    #[cfg(not(loom))]
    pub(crate) fn shared(
        tx: Producer,
        link: Arc<Link>,
        pool: Option<Arc<crate::transport::ipc::pool::ChunkPool>>,
        gone: Arc<Death>,
    ) -> Arc<Pipe> {
        barrier::init();
        let chunks = pool.map(|pool| super::chunks::Chunks::register(pool, &tx, gone));
        let inline_max = match chunks {
            Some(_) => crate::transport::ipc::pool::CHUNK_MIN.min(tx.max_payload()),
            None => tx.max_payload(),
        };
        Arc::new(Pipe {
            tx,
            sent: CachePadded::new(AtomicU64::new(0)),
            inline_max,
            link,
            chunks,
        })
    }

    /// Takes a batch of credits toward the mark into `credit`; false if
    /// the pipe is at its mark.
    #[cold]
    fn take_credits(&self, credit: &Cell<u64>) -> bool {
        let batch = (self.link.hwm / 8).clamp(1, 16);
        #[cfg(loom)]
        if breaks::on(breaks::CREDITS_LOAD_THEN_ADD) {
            return self.take_credits_late(batch, credit);
        }
        let n = self.sent.fetch_add(batch, Ordering::Relaxed);
        // `received` may count messages whose credits were taken after ours.
        let in_flight = n.saturating_sub(self.link.words.received.load(Ordering::Acquire));
        let got = self.link.hwm.saturating_sub(in_flight).min(batch);
        if got < batch {
            self.sent.fetch_sub(batch - got, Ordering::Relaxed);
        }
        credit.set(got);
        got != 0
    }

    /// The credits race `take_credits` is written against, for the loom
    /// model to catch: two writers that read `sent` before either adds see
    /// the same room and both take it.
    #[cfg(loom)]
    fn take_credits_late(&self, batch: u64, credit: &Cell<u64>) -> bool {
        let n = self.sent.load(Ordering::Relaxed);
        let in_flight = n.saturating_sub(self.link.words.received.load(Ordering::Acquire));
        let got = self.link.hwm.saturating_sub(in_flight).min(batch);
        self.sent.fetch_add(got, Ordering::Relaxed);
        credit.set(got);
        got != 0
    }

    /// Whether a message would be taken now as far as the mark goes
    /// (`credit`: the calling thread's), as libzmq's `check_write`: the
    /// ring's bytes may still refuse one, briefly.
    pub fn has_room(&self, credit: &Cell<u64>) -> bool {
        if self.is_closed() {
            return false;
        }
        let hwm = self.link.hwm;
        hwm == 0
            || credit.get() != 0
            || self
                .sent
                .load(Ordering::Relaxed)
                .saturating_sub(self.link.words.received.load(Ordering::Acquire))
                < hwm
    }

    /// Gives back credits a thread will not use.
    pub fn return_credits(&self, n: u64) {
        if n != 0 {
            self.sent.fetch_sub(n, Ordering::Relaxed);
            self.link.writers.signal();
        }
    }

    /// [`try_send`](Self::try_send) with a credit of its own, whatever is
    /// left of it given back at once: for a message outside any sending
    /// thread's credits (a DISH's join, a connecter's engine ring).
    ///
    /// # Errors
    ///
    /// As [`try_send`](Self::try_send).
    pub fn send_once(&self, prefix: &[u8], data: &[u8]) -> Result<(), Refused> {
        let credit = Cell::new(0);
        let sent = self.try_send(prefix, data, &credit);
        self.return_credits(credit.get());
        sent
    }

    /// Publishes `prefix` then `data` as one message, from any thread;
    /// `credit`: the calling thread's credits toward this pipe's mark.
    ///
    /// # Errors
    ///
    /// [`Refused::Full`] at the mark or out of ring bytes (the credit, if
    /// one was taken, stays with the thread), [`Refused::Closed`] once
    /// either side has gone.
    #[inline(always)]
    pub fn try_send(&self, prefix: &[u8], data: &[u8], credit: &Cell<u64>) -> Result<(), Refused> {
        if self.link.is_closed() {
            return Err(Refused::Closed);
        }
        if self.link.hwm != 0 && credit.get() == 0 && !self.take_credits(credit) {
            return Err(Refused::Full);
        }
        let len = prefix.len() + data.len();
        let published = if len <= self.inline_max {
            self.tx.claim(len).map_err(refused).map(|claim| {
                // SAFETY: the claim is `prefix.len() + data.len()` bytes.
                unsafe { claim.commit_parts(prefix, data) }
            })
        } else {
            self.push_large(prefix, data)
        };
        match published {
            Ok(()) => {
                if self.link.hwm != 0 {
                    credit.set(credit.get() - 1);
                }
                self.link.reader.ring();
                Ok(())
            }
            // The credit stays with the thread, for its next try.
            Err(e) => Err(e),
        }
    }

    /// Publishes a descriptor of a heap copy of `data` if the reader is in
    /// this process, of a chunk of the socket's pool if it is in another;
    /// for one in another without a pool, the frame is too large.
    #[cold]
    fn push_large(&self, prefix: &[u8], data: &[u8]) -> Result<(), Refused> {
        #[cfg(not(loom))]
        if let Some(chunks) = &self.chunks {
            return chunks.push(&self.tx, prefix, data);
        }
        if !self.link.boxes {
            return Err(Refused::TooLarge {
                max: self.inline_max,
            });
        }
        fill_boxed(self.tx.claim(16).map_err(refused)?, prefix, data);
        Ok(())
    }

    /// Marks the pipe closed and wakes both sides.
    pub fn close(&self) {
        self.link.close();
    }

    /// Whether every message published has been read and released.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn drained(&self) -> bool {
        self.tx.drained()
    }

    /// What the pipe's writers share with its reader.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// Whether either side has gone.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }
}

/// What a refused claim means for a send.
pub(super) fn refused(e: ClaimError) -> Refused {
    match e {
        ClaimError::Full => Refused::Full,
        // TooLarge cannot happen (records are at most the ring's largest,
        // descriptors 24 bytes at most); Corrupt means a peer broke the
        // shared ring (never in the heap): both end the pipe.
        ClaimError::TooLarge | ClaimError::Corrupt => Refused::Closed,
    }
}

/// Moves past every record published in order at `rx`'s head, freeing the
/// boxes of descriptors.
fn drain(rx: &mut Consumer) {
    while let Ok(Some(rec)) = rx.peek() {
        if rec.flags() & DESCRIPTOR != 0 {
            drop(unbox(rx, &rec));
        }
        rx.advance(rec);
    }
}

/// Takes the heap box a descriptor record names.
fn unbox(rx: &Consumer, rec: &mpsc::Record) -> Box<[u8]> {
    #[cfg(all(test, not(loom)))]
    tests::BOXES.with(|n| n.set(n.get() - 1));
    let p = rx.payload(rec);
    let ptr = u64::from_ne_bytes(p[..8].try_into().expect("8 bytes")) as usize as *mut u8;
    let len = u64::from_ne_bytes(p[8..16].try_into().expect("8 bytes")) as usize;
    // SAFETY: a DESCRIPTOR record of an in-process pipe is written only
    // by `fill_boxed`, from `Box::into_raw` of a `[u8]` of `len` bytes,
    // and read once: each consumer advances past it right after, and only
    // one consumer reads a ring (the reader, then the pipe's drop).
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) }
}

/// The bytes of the heap box a descriptor record names, left in place.
fn boxed<'a>(rx: &'a Consumer, rec: &mpsc::Record) -> &'a [u8] {
    let p = rx.payload(rec);
    let ptr = u64::from_ne_bytes(p[..8].try_into().expect("8 bytes")) as usize as *const u8;
    let len = u64::from_ne_bytes(p[8..16].try_into().expect("8 bytes")) as usize;
    // SAFETY: as in `unbox`, the record names a live box of `len` bytes
    // made by `fill_boxed`; it is freed only by the consumer that advances
    // past the record, which cannot happen while `rx` is borrowed here.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Publishes in `claim` (16 bytes) a descriptor of a heap copy of `prefix`
/// then `data`.
fn fill_boxed(mut claim: mpsc::Claim<'_>, prefix: &[u8], data: &[u8]) {
    let boxed: Box<[u8]> = [prefix, data].concat().into();
    #[cfg(all(test, not(loom)))]
    tests::BOXES.with(|n| n.set(n.get() + 1));
    let len = boxed.len() as u64;
    let ptr = Box::into_raw(boxed) as *mut u8 as u64;
    let p = claim.payload();
    p[..8].copy_from_slice(&ptr.to_ne_bytes());
    p[8..].copy_from_slice(&len.to_ne_bytes());
    claim.commit(DESCRIPTOR);
}

/// A writing process's death, as the reading process learns it (the end
/// of their connection, which only the reader's side can declare): the
/// reader may then skip the claims the dead process's threads left
/// unpublished (see [`mpsc`], invariant 7).
///
/// The same end of the connection means the peer's reader is gone: a
/// pipe that writes chunks to it takes them all back once it is declared
/// (see `threadsafe::chunks`).
pub struct Death {
    /// The owner id in the dead process's claims.
    owner: u16,
    dead: AtomicBool,
}

#[cfg_attr(loom, allow(dead_code))] // Shared pipes only.
impl Death {
    /// For a writing process whose claims carry `owner`.
    pub fn new(owner: u16) -> Arc<Death> {
        Arc::new(Death {
            owner,
            dead: AtomicBool::new(false),
        })
    }

    /// The writing process is gone: it will never write again. Call only
    /// on proof of that (its connection ended); then close the pipe.
    pub fn declare(&self) {
        self.dead.store(true, Ordering::Release);
    }

    /// Whether the process (the connection) is gone.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }
}

/// The reading socket's end of a pipe.
pub struct InPipe {
    /// What the reader shares with the writers.
    link: Arc<Link>,
    /// Parked in the link at drop.
    rx: ManuallyDrop<Consumer>,
    /// The routing id the reading socket knows the writer by.
    pub id: u32,
    taken: u64,
    /// `taken` as last published to the writers.
    released: u64,
    /// Release after this many messages (a quarter of the mark), so that a
    /// writer at its mark sees room while the reader is still busy.
    release_msgs: u64,
    /// Messages taken since the reader last looked in vain `IDLE_LOOKS`
    /// times in a row, and the looks in vain since the last message (see
    /// [`slip_if_due`](Self::slip_if_due)).
    streak: u64,
    empty_looks: u8,
    /// The reader caught up in a stream: its next blocking read trails the
    /// writers first.
    slip_due: bool,
    #[cfg_attr(loom, allow(dead_code))]
    slip_backoff: SlipBackoff,
    /// The writers' process, if it is another and may die mid-claim.
    death: Option<Arc<Death>>,
    /// The writers' socket's pool, mapped read-only, if they passed one.
    #[cfg(not(loom))]
    peer: Option<crate::transport::ipc::pool::PeerPool>,
}

/// What [`InPipe::take`] found.
pub enum Taken<R> {
    /// A message, and what the reader's function made of it.
    Message(R),
    /// Nothing published yet.
    Empty,
    /// Closed and drained, or broken: drop the pipe.
    Done,
}

/// What a reader that found nothing at its head does next.
enum AtHead {
    Empty,
    Done,
    /// Something is published there now: look again.
    Again,
}

impl InPipe {
    /// The reading end of `pipe`, reading `rx`, that knows its writer as
    /// `id`.
    pub fn new(pipe: Arc<Pipe>, rx: Consumer, id: u32) -> Self {
        Self::with_link(pipe.link.clone(), rx, id, None)
    }

    /// The reading end of a pipe whose writers are in another process:
    /// `rx` reads the ring both map, `death` says when that process is
    /// gone, `peer` is the writers' socket's pool their large frames are
    /// in (if they passed one).
    #[cfg(not(loom))]
    pub(crate) fn shared(
        link: Arc<Link>,
        rx: Consumer,
        id: u32,
        death: Arc<Death>,
        peer: Option<crate::transport::ipc::pool::PeerPool>,
    ) -> Self {
        let mut inp = Self::with_link(link, rx, id, Some(death));
        inp.peer = peer;
        inp
    }

    fn with_link(link: Arc<Link>, rx: Consumer, id: u32, death: Option<Arc<Death>>) -> Self {
        let release_msgs = match link.hwm {
            0 => u64::MAX,
            hwm => (hwm / 4).max(1),
        };
        Self {
            link,
            rx: ManuallyDrop::new(rx),
            id,
            taken: 0,
            released: 0,
            release_msgs,
            streak: 0,
            empty_looks: 0,
            slip_due: false,
            slip_backoff: SlipBackoff::default(),
            death,
            #[cfg(not(loom))]
            peer: None,
        }
    }

    /// Reads the next message through `f`, if one is published.
    #[inline(always)]
    pub fn take<R>(&mut self, f: impl FnOnce(u32, &[u8]) -> R) -> Taken<R> {
        let rec = loop {
            match self.rx.peek() {
                Ok(Some(rec)) => break rec,
                Ok(None) => match self.at_head() {
                    AtHead::Empty => return Taken::Empty,
                    AtHead::Done => return Taken::Done,
                    AtHead::Again => {}
                },
                Err(mpsc::Corrupt) => return Taken::Done,
            }
        };
        let descriptor = rec.flags() & DESCRIPTOR != 0;
        let r = if !descriptor {
            f(self.id, self.rx.payload(&rec))
        } else if self.link.boxes {
            let boxed = unbox(&self.rx, &rec);
            f(self.id, &boxed)
        } else {
            // A chunk of the writers' pool; a descriptor that names none
            // (a heap pointer, a chunk out of bounds or of another
            // generation) is a forgery that ends the pipe.
            match self.chunk(&rec) {
                Some(bytes) => f(self.id, bytes),
                None => return Taken::Done,
            }
        };
        self.rx.advance(rec);
        self.taken += 1;
        self.streak += 1;
        self.empty_looks = 0;
        let unreleased = self.rx.unreleased();
        // A chunk goes back to its writer once released past: at once.
        if (descriptor && !self.link.boxes)
            || (unreleased >= RELEASE_AFTER_BURST && self.rx.caught_up())
            || unreleased >= self.rx.capacity() / 4
            || self.taken - self.released >= self.release_msgs
        {
            self.release();
        }
        Taken::Message(r)
    }

    /// Nothing was published at the head: give the writers back what was
    /// read, and tell whether the pipe is done.
    fn at_head(&mut self) -> AtHead {
        // Caught up: the writers get back all that was read.
        if self.taken != self.released {
            self.release();
        }
        // The first look in vain after messages: caught up in a stream if
        // they kept coming. Looking in vain again shows a reader that
        // waits for its messages, which a slip would only hold up.
        if self.empty_looks == 0 {
            self.slip_due = self.streak >= ring::SLIP_AFTER_MSGS;
        }
        self.empty_looks = self.empty_looks.saturating_add(1);
        if self.empty_looks >= IDLE_LOOKS {
            self.streak = 0;
            self.slip_due = false;
        }
        if !self.link.is_closed() {
            return AtHead::Empty;
        }
        // Whatever was published before the close is visible now. Behind a
        // claim a dead process abandoned, what its other threads (and the
        // claim's owner before) published is read too.
        loop {
            match self.rx.peek() {
                Ok(Some(_)) => return AtHead::Again,
                Ok(None) => {}
                Err(mpsc::Corrupt) => return AtHead::Done,
            }
            let Some(death) = self.death.as_ref().filter(|d| d.is_dead()) else {
                return AtHead::Done;
            };
            // SAFETY: `death` is declared only once the writers' process
            // has gone (its connection ended): none of its threads will
            // write to this claim again.
            match unsafe { self.rx.skip_abandoned(death.owner) } {
                Ok(true) => {}
                // A zero header with claims beyond it has no owner to
                // blame (mpsc invariant 7): the rest is lost.
                Ok(false) | Err(mpsc::Corrupt) => return AtHead::Done,
            }
        }
    }

    /// Before a read: after catching up in a stream (messages kept coming
    /// without the reader looking in vain `IDLE_LOOKS` times in a row),
    /// and if the read may wait (`blocking`), waits for the writers to get
    /// ahead ([`mpsc::Consumer::slip`]), as [`SlipBackoff`] allows; as
    /// `PipeEnd::slip_if_due` does for the one-writer ring. The streak
    /// starts again after each slip due.
    #[inline(always)]
    pub fn slip_if_due(&mut self, blocking: bool) {
        if self.slip_due {
            self.slip_now(blocking);
        }
    }

    #[cold]
    #[cfg_attr(loom, allow(unused_variables))]
    fn slip_now(&mut self, blocking: bool) {
        self.slip_due = false;
        self.streak = 0;
        #[cfg(not(loom))]
        if blocking {
            self.slip_backoff.run(|| self.rx.slip());
        }
    }

    /// Looks at the next message through `f`, leaving it in place.
    pub fn peek<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let rec = self.rx.peek().ok()??;
        if rec.flags() & DESCRIPTOR == 0 {
            Some(f(self.rx.payload(&rec)))
        } else if self.link.boxes {
            Some(f(boxed(&self.rx, &rec)))
        } else {
            // A forgery: taking it ends the pipe (see `take`).
            self.chunk(&rec).map(f)
        }
    }

    /// The message in a chunk of the writers' pool that descriptor record
    /// `rec` names, if it names one.
    fn chunk(&self, rec: &mpsc::Record) -> Option<&[u8]> {
        #[cfg(not(loom))]
        return super::chunks::resolve(self.peer.as_ref()?, self.rx.payload(rec));
        #[cfg(loom)]
        {
            let _ = rec;
            None
        }
    }

    /// What the pipe's reader shares with its writers.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// Whether a message is published (the I/O thread's re-check before
    /// it sleeps).
    pub fn readable(&mut self) -> bool {
        matches!(self.rx.peek(), Ok(Some(_)))
    }

    /// Gives the writers back what was read since the last release (an
    /// engine's, after each batch it takes: it may not look again until
    /// its stream drains).
    pub fn release_taken(&mut self) {
        if self.taken != self.released {
            self.release();
        }
    }

    #[inline(never)]
    fn release(&mut self) {
        self.rx.release();
        self.released = self.taken;
        self.link
            .words
            .received
            .store(self.taken, Ordering::Release);
        self.link.writers.signal();
    }
}

impl Drop for InPipe {
    /// Closes the pipe, frees the boxes of messages never read, and leaves
    /// the rest (those still being published) to the link's last owner.
    fn drop(&mut self) {
        self.link.close();
        // SAFETY: `rx` is taken once, here, and not used after.
        let mut rx = unsafe { ManuallyDrop::take(&mut self.rx) };
        if self.link.boxes {
            drain(&mut rx);
            *self.link.parked.lock().unwrap_or_else(|e| e.into_inner()) = Some(rx);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    thread_local! {
        /// Boxes this thread has made less those it has taken back.
        pub(super) static BOXES: Cell<i64> = const { Cell::new(0) };
    }

    fn boxes() -> i64 {
        BOXES.with(Cell::get)
    }

    fn new_pipe() -> (Arc<Pipe>, InPipe) {
        let (pipe, rx) = Pipe::new(
            4096,
            0,
            Arc::new(Doorbell::new()),
            Arc::new(Room::default()),
        );
        let inp = InPipe::new(pipe.clone(), rx, 1);
        (pipe, inp)
    }

    /// A reader that catches up after messages came one after another (a
    /// stream) slips before its next blocking read; one that looks in vain
    /// twice between messages (a reader waiting for each, as a server for
    /// requests) never does, however many come; a non-blocking read only
    /// clears the slip due.
    #[test]
    fn a_reader_caught_up_in_a_stream_slips_one_that_waits_does_not() {
        let (pipe, mut inp) = new_pipe();
        let credit = Cell::new(0);
        let send = || pipe.try_send(b"", b"m", &credit).unwrap();
        let take = |inp: &mut InPipe| matches!(inp.take(|_, d| d.len()), Taken::Message(1));
        let stream = |inp: &mut InPipe, n: u64| {
            for _ in 0..n {
                send();
                assert!(take(inp));
            }
            assert!(!take(inp), "caught up");
        };

        stream(&mut inp, ring::SLIP_AFTER_MSGS);
        assert!(inp.slip_due, "caught up in a stream");
        // (A ring this small is never waited on: the logic, not the wait.)
        inp.slip_if_due(true);
        assert!(!inp.slip_due);
        assert_eq!(inp.streak, 0, "the next slip takes another stream");

        for _ in 0..2 * ring::SLIP_AFTER_MSGS {
            send();
            assert!(take(&mut inp));
            assert!(!take(&mut inp));
            assert!(!take(&mut inp));
        }
        assert!(!inp.slip_due, "a reader that waits for each message");

        stream(&mut inp, ring::SLIP_AFTER_MSGS - 1);
        assert!(!inp.slip_due, "too short a stream");
        assert!(!take(&mut inp));

        stream(&mut inp, ring::SLIP_AFTER_MSGS);
        assert!(inp.slip_due);
        inp.slip_if_due(false);
        assert!(!inp.slip_due, "cleared by a non-blocking read");
        assert_eq!(inp.slip_backoff, SlipBackoff::default(), "without a slip");
    }

    fn send_large(pipe: &Pipe) {
        let credit = Cell::new(0);
        pipe.try_send(b"", &[7; INLINE_MAX + 1], &credit).unwrap();
    }

    /// A reader dropped with large messages queued frees their boxes,
    /// while its writers still hold the pipe or after they went.
    #[test]
    fn a_dropped_reader_frees_the_boxes_queued() {
        let (pipe, inp) = new_pipe();
        send_large(&pipe);
        send_large(&pipe);
        assert_eq!(boxes(), 2);
        drop(inp);
        assert_eq!(boxes(), 0);
        drop(pipe);

        let (pipe, inp) = new_pipe();
        send_large(&pipe);
        drop(pipe);
        drop(inp);
        assert_eq!(boxes(), 0);
    }

    /// A writer that passed the `closed` check publishes after the reader
    /// went, and another writer published behind its claim: the pipe's
    /// last owner frees both boxes.
    #[test]
    fn boxes_published_after_the_reader_went_are_freed_by_the_last_owner() {
        let (pipe, inp) = new_pipe();
        send_large(&pipe);
        let late = pipe.tx.claim(16).unwrap();
        send_large(&pipe);
        assert_eq!(boxes(), 2);
        drop(inp);
        // The first freed; the second waits behind the claim being written.
        assert_eq!(boxes(), 1);
        fill_boxed(late, b"", &[7; INLINE_MAX + 1]);
        assert_eq!(boxes(), 2);
        drop(pipe);
        assert_eq!(boxes(), 0);
    }
}

/// Pipes whose ends are in different processes, played here by two
/// mappings of one segment (each side's rings and words reached through
/// its own mapping, its peer's doorbell through a mapping of the peer's
/// doorbell segment).
#[cfg(all(test, not(loom)))]
mod shared_tests {
    use super::*;
    use crate::transport::ipc::mpsc_segment::MpscSegment;
    use crate::transport::ipc::pool::{ChunkPool, PeerPool, CHUNK_MIN};
    use crate::transport::ipc::shm::{peer_bell, socket_bell};
    use std::time::Duration;

    struct Ends {
        /// The connecter's writers' side of direction 0.
        pipe: Arc<Pipe>,
        /// The binder's reading end of it.
        inp: InPipe,
        /// The connecter's own doorbell (what the binder's releases ring).
        writer_bell: Doorbell,
        death: Arc<Death>,
        /// The writers' socket's pool, if they passed one.
        pool: Option<Arc<ChunkPool>>,
    }

    fn ends(capacity: usize, hwm: u64) -> Ends {
        ends_with(capacity, hwm, false)
    }

    /// As `ends`, the writers passing a pool of chunks if `chunks`.
    fn ends_with(capacity: usize, hwm: u64, chunks: bool) -> Ends {
        let (a, fd) = MpscSegment::create(capacity).unwrap();
        let b = MpscSegment::open(fd, capacity).unwrap();
        let (a, b) = (a.side(0), b.side(1));
        let (writer_bell, writer_fd) = socket_bell().unwrap();
        let (reader_bell, reader_fd) = socket_bell().unwrap();
        let w_link = Link::shared(
            a.tx_words,
            hwm,
            Arc::new(peer_bell(reader_fd).unwrap()),
            Wake::Room(Arc::new(Room::default())),
        );
        let death = Death::new(b.peer_owner);
        let pool = chunks.then(|| Arc::new(ChunkPool::create().unwrap()));
        let peer = pool
            .as_ref()
            .map(|p| PeerPool::open(p.fd().try_clone_to_owned().unwrap()).unwrap());
        let pipe = Pipe::shared(a.tx, w_link, pool.clone(), death.clone());
        let r_link = Link::shared(
            b.rx_words,
            hwm,
            Arc::new(reader_bell),
            Wake::Bell(Arc::new(peer_bell(writer_fd).unwrap())),
        );
        let inp = InPipe::shared(r_link, b.rx, 1, death.clone(), peer);
        Ends {
            pipe,
            inp,
            writer_bell,
            death,
            pool,
        }
    }

    fn take(inp: &mut InPipe) -> Taken<Vec<u8>> {
        inp.take(|_, m| m.to_vec())
    }

    fn next(inp: &mut InPipe) -> Vec<u8> {
        match take(inp) {
            Taken::Message(m) => m,
            Taken::Empty => panic!("nothing published"),
            Taken::Done => panic!("the pipe ended"),
        }
    }

    /// The mark counts messages across the two mappings: the writers'
    /// count of what they sent is theirs, what the reader released comes
    /// through the shared word.
    #[test]
    fn the_mark_holds_across_processes() {
        let mut e = ends(4096, 4);
        let credit = Cell::new(0);
        for i in 0..4u8 {
            e.pipe.try_send(b"", &[i], &credit).unwrap();
        }
        assert_eq!(e.pipe.try_send(b"", &[9], &credit), Err(Refused::Full));
        assert!(!e.pipe.has_room(&credit));
        assert_eq!(next(&mut e.inp), [0]);
        assert!(e.pipe.has_room(&credit), "a release makes room");
        e.pipe.try_send(b"", &[4], &credit).unwrap();
        for i in 1..5u8 {
            assert_eq!(next(&mut e.inp), [i]);
        }
        assert!(matches!(take(&mut e.inp), Taken::Empty));
    }

    /// A writer asleep on its socket's doorbell for room is woken by the
    /// reader's release in the other mapping.
    #[test]
    fn a_release_rings_the_writers_doorbell() {
        let e = ends(4096, 1);
        let credit = Cell::new(0);
        e.pipe.try_send(b"", b"first", &credit).unwrap();
        let Ends {
            pipe,
            mut inp,
            writer_bell,
            ..
        } = e;
        // The reader stays: its drop would close the pipe.
        let _inp = std::thread::scope(|s| {
            let reader = s.spawn(move || {
                assert_eq!(next(&mut inp), b"first");
                inp
            });
            let deadline = Instant::now() + Duration::from_secs(30);
            while writer_bell
                .sleep_until(Some(Duration::from_secs(1)), || {
                    pipe.has_room(&credit).then_some(())
                })
                .is_none()
            {
                assert!(Instant::now() < deadline, "the release never rang");
            }
            reader.join().unwrap()
        });
        pipe.try_send(b"", b"second", &credit).unwrap();
    }

    /// Without a pool, frames beyond the ring's largest record are refused
    /// with the size it takes: a heap descriptor would mean nothing to the
    /// reader.
    #[test]
    fn frames_too_large_for_the_ring_are_refused() {
        let mut e = ends(4096, 0);
        let credit = Cell::new(0);
        let max = mpsc::max_payload(4096);
        e.pipe.try_send(b"g", &vec![1; max - 1], &credit).unwrap();
        assert_eq!(
            e.pipe.try_send(b"", &vec![1; max + 1], &credit),
            Err(Refused::TooLarge { max })
        );
        assert_eq!(next(&mut e.inp).len(), max);
    }

    /// A peer that publishes a descriptor record (a heap pointer of its
    /// process) ends the pipe: nothing is dereferenced, now or at drop.
    #[test]
    fn a_forged_descriptor_ends_the_pipe() {
        let mut e = ends(4096, 0);
        let mut claim = e.pipe.tx.claim(16).unwrap();
        claim.payload().copy_from_slice(&[0x41; 16]);
        claim.commit(DESCRIPTOR);
        assert_eq!(e.inp.peek(<[u8]>::to_vec), None);
        assert!(matches!(take(&mut e.inp), Taken::Done));
        drop(e.inp);
    }

    /// A writer process killed mid-claim: once its death is declared and
    /// the pipe closed, the reader skips the abandoned claim and reads what
    /// was published behind it, then ends; closed without a death, it ends
    /// at the claim (a live writer may still be writing it).
    #[test]
    fn a_dead_writers_claim_is_skipped_once_declared() {
        let mut e = ends(4096, 0);
        let credit = Cell::new(0);
        e.pipe.try_send(b"", b"before", &credit).unwrap();
        // A thread of the dead process, stopped between claim and publish.
        std::mem::forget(e.pipe.tx.claim(8).unwrap());
        e.pipe.try_send(b"", b"behind", &credit).unwrap();
        assert_eq!(next(&mut e.inp), b"before");
        assert!(
            matches!(take(&mut e.inp), Taken::Empty),
            "waits for the claim"
        );
        e.death.declare();
        assert!(matches!(take(&mut e.inp), Taken::Empty), "not closed yet");
        e.pipe.close();
        assert_eq!(next(&mut e.inp), b"behind");
        assert!(matches!(take(&mut e.inp), Taken::Done));

        let mut e = ends(4096, 0);
        std::mem::forget(e.pipe.tx.claim(8).unwrap());
        e.pipe.try_send(b"", b"behind", &credit).unwrap();
        e.pipe.close();
        assert!(matches!(take(&mut e.inp), Taken::Done));
    }

    /// A message of `len` bytes, numbered `seq` in each of its words.
    fn body(len: usize, seq: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_add(seq)).collect()
    }

    /// Frames above CHUNK_MIN go into chunks of the writers' pool, whatever
    /// the ring's size, and each goes back once the reader released it;
    /// small ones stay in the ring.
    #[test]
    fn large_frames_travel_in_chunks_and_go_back() {
        let mut e = ends_with(4096, 0, true);
        let pool = e.pool.clone().unwrap();
        let credit = Cell::new(0);
        let sizes = [CHUNK_MIN + 1, 5, 1 << 20, mpsc::max_payload(4096) + 1];
        for (i, &len) in sizes.iter().enumerate() {
            e.pipe.try_send(b"p", &body(len, i as u8), &credit).unwrap();
        }
        assert_eq!(pool.held(), 3, "one chunk per large frame");
        for (i, &len) in sizes.iter().enumerate() {
            let mut want = b"p".to_vec();
            want.extend(body(len, i as u8));
            assert_eq!(next(&mut e.inp), want, "message {i}");
        }
        assert_eq!(pool.held(), 0, "every chunk back once read");
    }

    /// A pool with no free chunk of the size is a full pipe, never a drop:
    /// the reader's release hands chunks back, and the writer goes on.
    #[test]
    fn an_exhausted_pool_is_full_until_the_reader_reads() {
        let mut e = ends_with(1 << 16, 0, true);
        let pool = e.pool.clone().unwrap();
        let credit = Cell::new(0);
        let big = body(16 << 20, 1);
        let mut sent = 0;
        while e.pipe.try_send(b"", &big, &credit).is_ok() {
            sent += 1;
            assert!(sent <= 8, "more 16 MiB chunks than the pool has");
        }
        assert_eq!(e.pipe.try_send(b"", &big, &credit), Err(Refused::Full));
        assert_eq!(next(&mut e.inp), big);
        e.pipe.try_send(b"", &big, &credit).unwrap();
        for _ in 0..sent {
            assert_eq!(next(&mut e.inp).len(), big.len());
        }
        assert_eq!(pool.held(), 0);
    }

    /// The connection's end gives back every chunk the reader held, read
    /// or not.
    #[test]
    fn the_connections_end_gives_the_chunks_back() {
        let e = ends_with(4096, 0, true);
        let pool = e.pool.clone().unwrap();
        let credit = Cell::new(0);
        for i in 0..3 {
            e.pipe.try_send(b"", &body(1 << 20, i), &credit).unwrap();
        }
        assert_eq!(pool.held(), 3, "held while the reader may read them");
        e.death.declare();
        assert_eq!(pool.held(), 0);
        e.pipe.close();
    }

    /// Descriptors that name no chunk of the writers' pool (out of its
    /// layout, of another generation, or from writers that passed none)
    /// end the pipe, with nothing read outside the mapping.
    #[test]
    fn forged_chunk_descriptors_end_the_pipe() {
        use crate::transport::ipc::pool::{Descriptor, DESC_LEN};
        let forged = [
            Descriptor {
                class: 99,
                index: 0,
                generation: 1,
                len: 8,
            },
            Descriptor {
                class: 0,
                index: 0,
                generation: 7,
                len: 8,
            },
            Descriptor {
                class: 0,
                index: 0,
                generation: 0,
                len: 1 << 30,
            },
        ];
        for (chunks, d) in [true, true, true, false]
            .into_iter()
            .zip(forged.iter().cycle())
        {
            let mut e = ends_with(4096, 0, chunks);
            let mut claim = e.pipe.tx.claim(DESC_LEN).unwrap();
            d.encode(claim.payload());
            claim.commit(DESCRIPTOR);
            assert_eq!(e.inp.peek(<[u8]>::to_vec), None, "{d:?}");
            assert!(matches!(take(&mut e.inp), Taken::Done), "{d:?}");
        }
    }

    /// Either side's close reaches the other through the shared word.
    #[test]
    fn closes_cross_the_mappings() {
        let e = ends(4096, 0);
        let credit = Cell::new(0);
        drop(e.inp);
        assert!(e.pipe.is_closed());
        assert_eq!(e.pipe.try_send(b"", b"x", &credit), Err(Refused::Closed));
        let mut e = ends(4096, 0);
        e.pipe.try_send(b"", b"last", &credit).unwrap();
        e.pipe.close();
        assert_eq!(next(&mut e.inp), b"last");
        assert!(matches!(take(&mut e.inp), Taken::Done));
    }
}
