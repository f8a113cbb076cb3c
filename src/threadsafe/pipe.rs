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
//!   It then parks its [`Consumer`] in the [`Pipe`].
//! - The [`Pipe`]'s drop drains the parked consumer the same way. The pipe
//!   is dropped by its last owner, after every writer's `&Pipe` has gone:
//!   no [`Claim`](mpsc::Claim) exists then (a claim borrows the pipe's
//!   producer, which only the pipe holds, and is published, as a record or
//!   as padding, before that borrow ends), and the release of each other
//!   `Arc` orders its publishes before the drop. So the drain finds every
//!   record published and none being written: nothing is left unread.
//! - Each record is advanced past once, by one consumer, so no box is
//!   freed twice.

use super::wakers::Wakers;
use crate::pipe::breaks;
use crate::pipe::mpsc::{self, ClaimError, Consumer, Producer, DESCRIPTOR};
use crate::pipe::Doorbell;
use crate::sync::{
    barrier, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering,
};
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

/// Frames above this many bytes go by descriptor: a record of a quarter of
/// the ring would make the other writers wait for the reader.
const INLINE_MAX: usize = 16 << 10;
/// Bytes read after which a reader that has caught up releases them.
const RELEASE_AFTER_BURST: usize = 1024;

/// Why a pipe took no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// At its high-water mark or out of ring bytes: try again later.
    Full,
    /// The reader is gone (or the ring is broken): never again.
    Closed,
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
/// A poll call (or an async task) waits for room as a writer does, counted
/// in `waiters` the same way ([`watch`](Room::watch)), but sleeps on its
/// own descriptor (or returns to its executor): every signal wakes it
/// through its waker too.
#[derive(Default)]
pub struct Room {
    waiters: AtomicUsize,
    epoch: Mutex<u64>,
    cv: Condvar,
    pollers: Wakers,
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
        *self.lock() += 1;
        self.cv.notify_all();
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

    fn lock(&self) -> MutexGuard<'_, u64> {
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
            let seen = *self.lock();
            barrier::heavy();
            if let Some(found) = attempt() {
                break Some(found);
            }
            let guard = self.lock();
            if *guard != seen && !breaks::on(breaks::EPOCH_UNCHECKED) {
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break None;
            }
            match deadline {
                None => drop(self.cv.wait(guard)),
                Some(d) => drop(self.cv.wait_timeout(guard, d - now)),
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        found
    }
}

/// The part of a pipe both sockets hold.
pub struct Pipe {
    tx: Producer,
    /// Messages writers counted in (and not taken back).
    sent: CachePadded<AtomicU64>,
    /// Messages the reader has taken and released.
    received: CachePadded<AtomicU64>,
    /// Most messages in flight; 0 for no limit.
    hwm: u64,
    /// The reading socket's doorbell: rung after each publish.
    reader: Arc<Doorbell>,
    /// The writing socket's room: signalled after each release.
    writer_room: Arc<Room>,
    /// Either socket has gone.
    closed: AtomicBool,
    /// The reader's consumer, once the reader has gone: the last owner of
    /// the pipe frees the boxes of what was published after.
    parked: Mutex<Option<Consumer>>,
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
        let pipe = Arc::new(Pipe {
            tx,
            sent: CachePadded::new(AtomicU64::new(0)),
            received: CachePadded::new(AtomicU64::new(0)),
            hwm,
            reader,
            writer_room,
            closed: AtomicBool::new(false),
            parked: Mutex::new(None),
        });
        (pipe, rx)
    }

    /// Takes a batch of credits toward the mark into `credit`; false if
    /// the pipe is at its mark.
    #[cold]
    fn take_credits(&self, credit: &Cell<u64>) -> bool {
        let batch = (self.hwm / 8).clamp(1, 16);
        #[cfg(loom)]
        if breaks::on(breaks::CREDITS_LOAD_THEN_ADD) {
            return self.take_credits_late(batch, credit);
        }
        let n = self.sent.fetch_add(batch, Ordering::Relaxed);
        // `received` may count messages whose credits were taken after ours.
        let in_flight = n.saturating_sub(self.received.load(Ordering::Acquire));
        let got = self.hwm.saturating_sub(in_flight).min(batch);
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
        let in_flight = n.saturating_sub(self.received.load(Ordering::Acquire));
        let got = self.hwm.saturating_sub(in_flight).min(batch);
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
        self.hwm == 0
            || credit.get() != 0
            || self
                .sent
                .load(Ordering::Relaxed)
                .saturating_sub(self.received.load(Ordering::Acquire))
                < self.hwm
    }

    /// Gives back credits a thread will not use.
    pub fn return_credits(&self, n: u64) {
        if n != 0 {
            self.sent.fetch_sub(n, Ordering::Relaxed);
            self.writer_room.signal();
        }
    }

    /// Publishes `prefix` then `data` as one message, from any thread;
    /// `credit`: the calling thread's credits toward this pipe's mark.
    ///
    /// # Errors
    ///
    /// [`Refused::Full`] at the mark or out of ring bytes (the credit, if
    /// one was taken, stays with the thread), [`Refused::Closed`] once
    /// either side has gone.
    #[inline]
    pub fn try_send(&self, prefix: &[u8], data: &[u8], credit: &Cell<u64>) -> Result<(), Refused> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Refused::Closed);
        }
        if self.hwm != 0 && credit.get() == 0 && !self.take_credits(credit) {
            return Err(Refused::Full);
        }
        let len = prefix.len() + data.len();
        let published = if len <= INLINE_MAX.min(self.tx.max_payload()) {
            self.tx.claim(len).map(|mut claim| {
                let p = claim.payload();
                crate::copy::copy(&mut p[..prefix.len()], prefix);
                crate::copy::copy(&mut p[prefix.len()..], data);
                claim.commit(0);
            })
        } else {
            self.push_boxed(prefix, data)
        };
        match published {
            Ok(()) => {
                if self.hwm != 0 {
                    credit.set(credit.get() - 1);
                }
                self.reader.ring();
                Ok(())
            }
            Err(e) => {
                // The credit stays with the thread, for its next try.
                match e {
                    ClaimError::Full => Err(Refused::Full),
                    // TooLarge cannot happen (descriptors are 16 bytes);
                    // Corrupt cannot in the heap: treat both as the end.
                    ClaimError::TooLarge | ClaimError::Corrupt => Err(Refused::Closed),
                }
            }
        }
    }

    /// Publishes a descriptor of a heap copy of `data`.
    #[cold]
    fn push_boxed(&self, prefix: &[u8], data: &[u8]) -> Result<(), ClaimError> {
        fill_boxed(self.tx.claim(16)?, prefix, data);
        Ok(())
    }

    /// Marks the pipe closed and wakes both sides.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.reader.ring_from(true);
        self.writer_room.signal();
    }

    /// Whether either side has gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for Pipe {
    /// Frees the boxes of what was published after the reader went.
    fn drop(&mut self) {
        let parked = self.parked.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut rx) = parked {
            drain(&mut rx);
        }
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

/// The reading socket's end of a pipe.
pub struct InPipe {
    /// What the reader shares with the writers.
    pub pipe: Arc<Pipe>,
    /// Parked in the pipe at drop.
    rx: ManuallyDrop<Consumer>,
    /// The routing id the reading socket knows the writer by.
    pub id: u32,
    taken: u64,
    /// `taken` as last published to the writers.
    released: u64,
    /// Release after this many messages (a quarter of the mark), so that a
    /// writer at its mark sees room while the reader is still busy.
    release_msgs: u64,
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

impl InPipe {
    /// The reading end of `pipe`, reading `rx`, that knows its writer as
    /// `id`.
    pub fn new(pipe: Arc<Pipe>, rx: Consumer, id: u32) -> Self {
        let release_msgs = match pipe.hwm {
            0 => u64::MAX,
            hwm => (hwm / 4).max(1),
        };
        Self {
            pipe,
            rx: ManuallyDrop::new(rx),
            id,
            taken: 0,
            released: 0,
            release_msgs,
        }
    }

    /// Reads the next message through `f`, if one is published.
    #[inline]
    pub fn take<R>(&mut self, f: impl FnOnce(u32, &[u8]) -> R) -> Taken<R> {
        let rec = match self.rx.peek() {
            Ok(Some(rec)) => rec,
            Ok(None) => {
                // Caught up: the writers get back all that was read.
                if self.taken != self.released {
                    self.release();
                }
                // Whatever was published before the close is visible now.
                return if self.pipe.is_closed() && matches!(self.rx.peek(), Ok(None)) {
                    Taken::Done
                } else {
                    Taken::Empty
                };
            }
            Err(mpsc::Corrupt) => return Taken::Done,
        };
        let r = if rec.flags() & DESCRIPTOR != 0 {
            let boxed = unbox(&self.rx, &rec);
            f(self.id, &boxed)
        } else {
            f(self.id, self.rx.payload(&rec))
        };
        self.rx.advance(rec);
        self.taken += 1;
        let unreleased = self.rx.unreleased();
        if (unreleased >= RELEASE_AFTER_BURST && self.rx.caught_up())
            || unreleased >= self.rx.capacity() / 4
            || self.taken - self.released >= self.release_msgs
        {
            self.release();
        }
        Taken::Message(r)
    }

    /// Looks at the next message through `f`, leaving it in place.
    pub fn peek<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let rec = self.rx.peek().ok()??;
        if rec.flags() & DESCRIPTOR != 0 {
            Some(f(boxed(&self.rx, &rec)))
        } else {
            Some(f(self.rx.payload(&rec)))
        }
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
        self.pipe.received.store(self.taken, Ordering::Release);
        self.pipe.writer_room.signal();
    }
}

impl Drop for InPipe {
    /// Closes the pipe, frees the boxes of messages never read, and leaves
    /// the rest (those still being published) to the pipe's last owner.
    fn drop(&mut self) {
        self.pipe.close();
        // SAFETY: `rx` is taken once, here, and not used after.
        let mut rx = unsafe { ManuallyDrop::take(&mut self.rx) };
        drain(&mut rx);
        *self.pipe.parked.lock().unwrap_or_else(|e| e.into_inner()) = Some(rx);
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
