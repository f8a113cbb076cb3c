//! The reader's doorbell: sleep until a writer has something, never missing it.
//!
//! # Protocol
//!
//! One reader (a socket) sleeps on the doorbell; any number of writers (its
//! peers, in this or other processes) ring it.
//!
//! - Reader: load `seq`, set `sleeping`, full barrier, re-check every condition
//!   it waits for, and only if none holds, `futex_wait(seq, seen)`.
//! - Writer: make the change visible (e.g. publish a ring's tail), full barrier,
//!   and if `sleeping` is set, clear it, bump `seq` and `futex_wake`.
//!
//! The two barriers order each side's store before its load, so either the
//! writer sees `sleeping` or the reader's re-check sees the change (Dekker).
//! The writer's barrier is nearly free and the sleeper's expensive (see
//! `sync::barrier`): writers run on every message, sleepers rarely. The
//! exception is the I/O thread's bell (one with a waker): that thread sleeps
//! after nearly every batch, so both sides use plain full fences there; and
//! a socket whose writers all fence fully ("strong" writers: the I/O thread)
//! sleeps behind a plain fence too ([`Doorbell::sleep_until_with`]).
//! A bump that lands between the reader's load of `seq` and its `futex_wait`
//! makes the wait return at once, because the kernel compares the word with
//! `seen` atomically with going to sleep. Clearing `sleeping` with a swap
//! means only the first of many writers pays for the system call.
//!
//! # Notify mode
//!
//! A reader that cannot block its thread (an async task, an event loop
//! watching the socket's readiness descriptor) announces its sleep with the
//! `NOTIFY` bit instead of `FUTEX` ([`Doorbell::poll_until`]): the handshake
//! is the same, but a writer of this process that clears the bit wakes the
//! task's `Waker` and writes the eventfd instead of the futex. A writer in
//! another process (ipc) sees only the shared words, so it wakes the futex
//! as always, and a bridge thread that waits there for such readers passes
//! the wake on.
//!
//! The two kinds may wait at once (a thread-safe socket's one blocking
//! receiver on the futex, and pollers in notify mode): each reader sets and
//! withdraws only its own bit, with an RMW, and a writer's swap takes both
//! and wakes each. Any number of notify-mode readers share the bit; the
//! socket's [`Waker`] then passes the wake-up on to each of them.
//!
//! The two words both sides touch ([`BellWords`]) are `#[repr(C)]` plain
//! memory, kept apart from the doorbell's process-local parts, so they can
//! live in a shared mapping and the futex (not process-private) wakes
//! sleepers in other processes (ipc).

use super::futex;
use super::notify::Notify;
use crate::sync::{barrier, AtomicBool, AtomicU32, Ordering};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The longest a reader sleeps on a doorbell that peers in other processes
/// can write (see [`Doorbell::expose`]) before it looks again: such a peer
/// may clear `sleeping` so that writers skip the wake-up, and this bound
/// makes that cost latency, never liveness.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) const EXPOSED_WAIT: Duration = Duration::from_millis(5);

/// A signal handler ran while the reader slept (EINTR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interrupted;

/// `sleeping` bit: the reader sleeps on the futex.
const FUTEX_SLEEPER: u32 = 1;
/// `sleeping` bit: the reader waits to be notified (a task, an fd).
const NOTIFY_SLEEPER: u32 = 2;

/// A futex word and a sleeping flag: what a doorbell's reader and writers
/// share. No pointers, any bit pattern valid, so it may lie in memory a
/// peer process maps and writes. Aligned to its own pair of cache lines:
/// writers load it on every publish, so nothing the reader writes often may
/// share its line.
#[repr(C, align(128))]
pub(crate) struct BellWords {
    seq: AtomicU32,
    sleeping: AtomicU32,
    /// Something arrived that the socket reads only when told (a
    /// publisher's upstream subscriptions): set after publishing it.
    poked: AtomicU32,
}

impl BellWords {
    fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            sleeping: AtomicU32::new(0),
            poked: AtomicU32::new(0),
        }
    }
}

/// Where one reader waits for many writers: the shared words, and how to
/// wake a reader that sleeps elsewhere than on the futex.
#[repr(C, align(128))]
pub struct Doorbell {
    words: NonNull<BellWords>,
    /// `None`: `words` is our own heap allocation, freed on drop. `Some`: it
    /// lies in this shared mapping, which lives at least as long.
    #[cfg(not(loom))]
    mapping: Option<std::sync::Arc<dyn Send + Sync>>,
    #[cfg(loom)]
    bucket: futex::Bucket,
    /// For a reader that sleeps in epoll rather than on the futex (an I/O
    /// thread): a ring wakes it through this instead. Heap doorbells only.
    #[cfg(not(loom))]
    waker: Option<std::sync::Arc<mio::Waker>>,
    /// The reader's own wake-ups in notify mode. `None` in a handle to a
    /// peer's doorbell (ipc), whose reader is in another process.
    notify: Option<Box<Notify>>,
    /// Whether a peer process has been given the words' mapping: from then
    /// on (it may keep the mapping after it leaves) no sleep on them is
    /// unbounded.
    #[cfg(not(loom))]
    exposed: std::sync::atomic::AtomicBool,
}

/// The barrier of a sleeper that re-checks several app sockets' doorbells
/// (poll), between arming them (see [`Doorbell::arm_notify`]) and looking
/// again: a plain fence if every writer of every socket is strong.
#[cfg(not(loom))]
pub(crate) fn barrier_before_check(symmetric: bool) {
    if symmetric {
        std::sync::atomic::fence(Ordering::SeqCst);
    } else {
        barrier::heavy();
    }
}

impl Default for Doorbell {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Doorbell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorbell")
            .field("seq", &self.words().seq.load(Ordering::Relaxed))
            .field("sleeping", &self.words().sleeping.load(Ordering::Relaxed))
            .finish()
    }
}

// SAFETY: the words are atomics, and the mapping (if any) is Send + Sync;
// nothing in a Doorbell is tied to a thread.
unsafe impl Send for Doorbell {}
// SAFETY: as above: every shared access goes through the atomics.
unsafe impl Sync for Doorbell {}

impl Drop for Doorbell {
    fn drop(&mut self) {
        #[cfg(not(loom))]
        if self.mapping.is_some() {
            return;
        }
        // SAFETY: without a mapping, `words` came from `Box::into_raw` in
        // `new` and only this doorbell refers to it.
        drop(unsafe { Box::from_raw(self.words.as_ptr()) });
    }
}

impl Doorbell {
    /// A doorbell nobody sleeps on.
    pub fn new() -> Self {
        barrier::init();
        let words = Box::into_raw(Box::new(BellWords::new()));
        Self {
            // SAFETY: Box::into_raw never returns null.
            words: unsafe { NonNull::new_unchecked(words) },
            #[cfg(not(loom))]
            mapping: None,
            #[cfg(loom)]
            bucket: futex::Bucket::new(),
            #[cfg(not(loom))]
            waker: None,
            notify: Some(Box::new(Notify::new())),
            #[cfg(not(loom))]
            exposed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A doorbell whose words lie at the start of `mapping` (`len` bytes),
    /// shared with other processes. With `init`, the words are reset (our
    /// own doorbell); without, they are used as found (a peer's, which we
    /// only ring). Fails if the mapping is too small or misaligned.
    #[cfg(not(loom))]
    pub(crate) fn in_mapping(
        base: NonNull<u8>,
        len: usize,
        mapping: std::sync::Arc<dyn Send + Sync>,
        init: bool,
    ) -> Option<Self> {
        if len < std::mem::size_of::<BellWords>()
            || base.as_ptr() as usize % std::mem::align_of::<BellWords>() != 0
        {
            return None;
        }
        barrier::init();
        let words = base.cast::<BellWords>();
        if init {
            // SAFETY: `words` is aligned and in bounds (checked above), and
            // `mapping` keeps it mapped; two atomics of any bit pattern are
            // valid, so writing them over whatever was there is sound.
            unsafe { words.as_ptr().write(BellWords::new()) };
        }
        Some(Self {
            words,
            mapping: Some(mapping),
            waker: None,
            // Our own doorbell (`init`) is read here; a peer's elsewhere.
            notify: init.then(|| Box::new(Notify::new())),
            exposed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Marks the words as reachable by another process (their segment is
    /// being sent to a peer). Such a peer can write `sleeping` and `seq` at
    /// will, so every later blocking sleep on this doorbell is bounded by
    /// [`EXPOSED_WAIT`] and followed by a fresh look (the bridge watches
    /// notify-mode readers likewise).
    #[cfg(not(loom))]
    pub(crate) fn expose(&self) {
        self.exposed.store(true, Ordering::Relaxed);
    }

    /// Whether [`expose`](Self::expose) was called.
    #[cfg(not(loom))]
    pub(crate) fn exposed(&self) -> bool {
        self.exposed.load(Ordering::Relaxed)
    }

    #[inline]
    fn words(&self) -> &BellWords {
        // SAFETY: `words` points at a BellWords that lives as long as we do
        // (our heap box, or a mapping we hold); a peer may write it at any
        // time, but it holds only atomics, valid in every bit pattern.
        unsafe { self.words.as_ref() }
    }

    /// A doorbell whose reader sleeps in `mio::Poll` (an I/O thread): it
    /// arms the doorbell, re-checks, then polls; a ring wakes the poll.
    #[cfg(not(loom))]
    pub(crate) fn with_waker(waker: std::sync::Arc<mio::Waker>) -> Self {
        let mut bell = Self::new();
        bell.waker = Some(waker);
        bell.notify = None;
        bell
    }

    /// Writer side: call after making a change visible. Cheap (a barrier
    /// that is usually only a compiler fence, and one load) unless the reader
    /// sleeps.
    #[inline]
    pub fn ring(&self) {
        self.ring_from(false);
    }

    /// [`ring`](Self::ring) by a `strong` writer: one that fences fully
    /// (the I/O thread, and rare events such as a new pipe or shutdown), so
    /// that a sleeper all of whose writers are strong can skip `membarrier`
    /// (see [`sleep_until_with`](Self::sleep_until_with)).
    #[inline]
    pub fn ring_from(&self, strong: bool) {
        self.writer_barrier(strong);
        self.wake_sleeper();
    }

    /// Rings only if `wanted` is set, clearing it. A reader releasing room
    /// uses it with the writer's want-room flag: the writer sets the flag
    /// before it sleeps (before the barrier of [`sleep_until`](Self::sleep_until)),
    /// so the pair is the same Dekker handshake as the one on `sleeping`, and
    /// a writer that is not waiting costs the reader no wake-up.
    #[inline]
    pub fn ring_if_wanted(&self, wanted: &AtomicBool, strong: bool) {
        self.writer_barrier(strong);
        if wanted.load(Ordering::Relaxed) && wanted.swap(false, Ordering::Relaxed) {
            self.wake_sleeper();
        }
    }

    /// Tells the socket that a pipe holds something it looks for only when
    /// poked. Call after publishing it; wakes no one.
    #[inline]
    pub fn poke(&self) {
        self.words().poked.store(1, Ordering::Release);
    }

    /// Whether the socket was poked since the last call. What was published
    /// before the poke is visible after it returns true.
    #[inline]
    pub fn take_poke(&self) -> bool {
        let poked = &self.words().poked;
        poked.load(Ordering::Relaxed) != 0 && poked.swap(0, Ordering::Acquire) != 0
    }

    /// Whether a writer that rings this bell, `strong` or not, needs a full
    /// fence, or the light barrier is a compiler fence: the choice
    /// [`writer_barrier`](Self::writer_barrier) makes on every ring, which a
    /// writer may make once (see [`ring_fenced`](Self::ring_fenced)).
    pub fn needs_full_fence(&self, strong: bool) -> bool {
        #[cfg(not(loom))]
        return self.fences_fully(strong) || !barrier::asymmetric();
        #[cfg(loom)]
        {
            let _ = strong;
            true
        }
    }

    /// [`ring_from`](Self::ring_from) with its barrier chosen beforehand
    /// by [`needs_full_fence`](Self::needs_full_fence).
    #[inline(always)]
    pub fn ring_fenced(&self, full_fence: bool) {
        #[cfg(not(loom))]
        if full_fence {
            std::sync::atomic::fence(Ordering::SeqCst);
        } else {
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        }
        #[cfg(loom)]
        {
            let _ = full_fence;
            crate::sync::fence(Ordering::SeqCst);
        }
        self.wake_sleeper();
    }

    /// Whether a writer ringing this bell fences fully in every barrier
    /// mode: a `strong` one, or any at the I/O thread's bell (its sleeper
    /// does not membarrier).
    #[cfg(not(loom))]
    #[inline(always)]
    fn fences_fully(&self, strong: bool) -> bool {
        strong || self.waker.is_some()
    }

    /// A writer's half of the handshake: its change before our loads.
    #[inline]
    fn writer_barrier(&self, strong: bool) {
        #[cfg(not(loom))]
        if self.fences_fully(strong) {
            std::sync::atomic::fence(Ordering::SeqCst);
        } else {
            barrier::light();
        }
        #[cfg(loom)]
        {
            let _ = strong;
            barrier::light();
        }
    }

    #[inline(always)]
    fn wake_sleeper(&self) {
        if self.words().sleeping.load(Ordering::Relaxed) != 0 {
            self.wake_sleeper_now();
        }
    }

    /// [`wake_sleeper`](Self::wake_sleeper) once someone sleeps: out of the
    /// hot path, which then saves no registers for it.
    #[cold]
    #[inline(never)]
    fn wake_sleeper_now(&self) {
        let w = self.words();
        // Acquire: pairs with the Release of `arm_notify`, so the task
        // registered before the bit is the one `Notify::wake` finds.
        let was = w.sleeping.swap(0, Ordering::AcqRel);
        if was == 0 {
            return;
        }
        w.seq.fetch_add(1, Ordering::Release);
        #[cfg(not(loom))]
        if let Some(w) = &self.waker {
            // mio's waker is an eventfd: a write fails only when its
            // counter is already non-zero, i.e. the poller is woken anyway.
            drop(w.wake());
            return;
        }
        let futex = match &self.notify {
            Some(notify) => {
                if was & NOTIFY_SLEEPER != 0 {
                    notify.wake();
                }
                was & FUTEX_SLEEPER != 0
            }
            // A peer's doorbell: whichever way its reader waits, the futex
            // reaches it (a notify-mode reader through its bridge).
            None => true,
        };
        if futex {
            #[cfg(not(loom))]
            futex::wake_all(&w.seq);
            #[cfg(loom)]
            self.bucket.wake_all(&w.seq);
        }
    }

    /// Wakes the notify-mode reader as a writer would (the bridge's call,
    /// for writers in other processes).
    #[cfg(not(loom))]
    pub(crate) fn wake_notify(&self) {
        if let Some(notify) = &self.notify {
            notify.wake();
        }
    }

    /// The reader's notify-mode wake-ups (`None` for a peer's doorbell).
    #[cfg(not(loom))]
    pub(crate) fn notify(&self) -> Option<&Notify> {
        self.notify.as_deref()
    }

    /// Reader side, notify mode: register `waker` (if any) as the one to
    /// wake, then announce the sleep; returns the futex word's value first
    /// seen (what a bridge waits on). Then [`sleeper_barrier`](Self::sleeper_barrier)
    /// and re-check. The announcement stays until a writer clears it, also
    /// through a futex sleep of the socket's meanwhile: a reader that found
    /// something need not withdraw it (at worst one spurious wake-up).
    pub(crate) fn arm_notify(&self, waker: Option<&Waker>) -> u32 {
        if let (Some(notify), Some(waker)) = (&self.notify, waker) {
            notify.register(waker);
        }
        let seen = self.words().seq.load(Ordering::Acquire);
        self.announce(NOTIFY_SLEEPER, Ordering::Release);
        seen
    }

    /// Whether the reader's notify-mode announcement still stands: no
    /// writer has woken it since [`arm_notify`](Self::arm_notify).
    #[cfg(not(loom))]
    pub(crate) fn notify_armed(&self) -> bool {
        self.words().sleeping.load(Ordering::Relaxed) & NOTIFY_SLEEPER != 0
    }

    /// Reader side, for a task: what `check` finds, or `Pending` with the
    /// task registered to be woken when a writer rings. The async twin of
    /// [`sleep_until_with`](Self::sleep_until_with); see it for `symmetric`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::task::Context;
    /// let bell = zeroring::Doorbell::new();
    /// let flag = AtomicBool::new(false);
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// let check = || flag.load(Ordering::Acquire).then_some(());
    /// assert!(bell.poll_until(&mut cx, false, check).is_pending());
    /// flag.store(true, Ordering::Release);
    /// bell.ring(); // would wake the task
    /// assert!(bell.poll_until(&mut cx, false, check).is_ready());
    /// ```
    // Used by the loom models (`unstable-internals`) and the tests.
    #[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
    pub fn poll_until<T>(
        &self,
        cx: &mut Context<'_>,
        symmetric: bool,
        mut check: impl FnMut() -> Option<T>,
    ) -> Poll<T> {
        if let Some(found) = check() {
            return Poll::Ready(found);
        }
        self.arm_notify(Some(cx.waker()));
        self.sleeper_barrier(symmetric);
        match check() {
            Some(found) => Poll::Ready(found),
            None => Poll::Pending,
        }
    }

    /// Reader side: announces a sleep of kind `bit` (FUTEX or NOTIFY)
    /// beside the other kind's, which may stand at the same time: a
    /// thread-safe socket has one receiver on the futex and any number of
    /// pollers in notify mode. Readers only set and withdraw their own bit;
    /// writers clear both with one swap and wake each kind found.
    ///
    /// RMWs, never plain stores: a store would erase the other kind's bit
    /// (and its wake-up), and loom 0.7 misplaces plain stores against a
    /// concurrent RMW anyway (tokio-rs/loom#254, #389: it let a writer's
    /// load return the 0 of another writer's swap although the reader's
    /// newer store was visible to it through the barriers).
    #[inline]
    fn announce(&self, bit: u32, order: Ordering) {
        let _ = self.words().sleeping.fetch_or(bit, order);
    }

    /// Reader side: withdraws its own announcement (a sleep that ended),
    /// leaving the other kind's.
    #[inline]
    fn withdraw(&self, bit: u32) {
        let _ = self.words().sleeping.fetch_and(!bit, Ordering::Relaxed);
    }

    /// Reader side, for a waiter that sleeps on several doorbells at once
    /// (poll): announce the sleep and return the word's value to wait on.
    /// After arming every doorbell, run [`barrier_before_check`], re-check
    /// every condition, then sleep on all words with `futex::wait_many`, and
    /// [`disarm`](Self::disarm) each after.
    #[cfg(not(loom))]
    pub(crate) fn arm(&self) -> u32 {
        let seen = self.words().seq.load(Ordering::Acquire);
        self.announce(FUTEX_SLEEPER, Ordering::Relaxed);
        seen
    }

    /// Ends a sleep begun with [`arm`](Self::arm).
    #[cfg(not(loom))]
    pub(crate) fn disarm(&self) {
        self.withdraw(FUTEX_SLEEPER);
    }

    /// The futex word sleepers wait on.
    #[cfg(not(loom))]
    pub(crate) fn word(&self) -> &AtomicU32 {
        &self.words().seq
    }

    /// The sleeper's half of the handshake, between announcing that it
    /// sleeps and its re-check: a plain fence when every writer is strong
    /// (`symmetric`), else the expensive barrier that covers writers'
    /// compiler-only fences. The I/O thread's bell (one with a waker) is
    /// always symmetric: that thread sleeps after nearly every batch, and a
    /// `membarrier` each time would interrupt every core.
    pub(crate) fn sleeper_barrier(&self, symmetric: bool) {
        #[cfg(not(loom))]
        if symmetric || self.waker.is_some() {
            std::sync::atomic::fence(Ordering::SeqCst);
            return;
        }
        #[cfg(loom)]
        let _ = symmetric;
        barrier::heavy();
    }

    /// Reader side: returns what `check` finds, sleeping while it finds
    /// nothing. Gives up with `None` once `timeout` (if any) has passed
    /// without `check` succeeding; the caller tracks the deadline and passes
    /// what is left of it. `None` may also come early (a signal, or a
    /// doorbell other processes can write, whose sleeps are bounded): the
    /// caller loops until its own deadline.
    // Used by the loom models (`unstable-internals`) and the tests.
    #[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
    pub fn sleep_until<T>(
        &self,
        timeout: Option<Duration>,
        check: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        self.sleep_until_with(timeout, false, check)
    }

    /// [`sleep_until`](Self::sleep_until) for a reader that knows whether
    /// every writer that may ring it is strong (`symmetric`, see
    /// [`ring_from`](Self::ring_from)). A writer it did not know of must
    /// reach it through something ordered (a mutex, a strong ring); `check`
    /// notices such a writer and makes the caller sleep again without
    /// `symmetric`.
    // Used by the loom models (`unstable-internals`) and the tests.
    #[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
    pub fn sleep_until_with<T>(
        &self,
        timeout: Option<Duration>,
        symmetric: bool,
        check: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        self.sleep_or_signal(timeout, symmetric, check)
            .ok()
            .flatten()
    }

    /// [`sleep_until_with`](Self::sleep_until_with) that tells a signal
    /// apart: `Err(Interrupted)` when a signal handler ran during the sleep
    /// and `check` still finds nothing (libzmq's EINTR).
    pub(crate) fn sleep_or_signal<T>(
        &self,
        timeout: Option<Duration>,
        symmetric: bool,
        mut check: impl FnMut() -> Option<T>,
    ) -> Result<Option<T>, Interrupted> {
        let seen = self.words().seq.load(Ordering::Acquire);
        self.announce(FUTEX_SLEEPER, Ordering::Relaxed);
        self.sleeper_barrier(symmetric);
        if let Some(found) = check() {
            self.withdraw(FUTEX_SLEEPER);
            return Ok(Some(found));
        }
        #[cfg(not(loom))]
        let signalled = {
            let timeout = if self.exposed() {
                Some(timeout.map_or(EXPOSED_WAIT, |t| t.min(EXPOSED_WAIT)))
            } else {
                timeout
            };
            futex::wait(&self.words().seq, seen, timeout)
        };
        #[cfg(loom)]
        let signalled = {
            self.bucket.wait(&self.words().seq, seen, timeout);
            false
        };
        self.withdraw(FUTEX_SLEEPER);
        match check() {
            None if signalled => Err(Interrupted),
            found => Ok(found),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn times_out_when_nothing_happens() {
        let bell = Doorbell::new();
        let start = Instant::now();
        assert_eq!(
            bell.sleep_until(Some(Duration::from_millis(20)), || None::<()>),
            None
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_wake_up_that_brings_nothing_is_not_a_signal() {
        let bell = Arc::new(Doorbell::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (bell.clone(), stop.clone());
        let ringer = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                b.ring();
                std::thread::yield_now();
            }
        });
        let got = bell.sleep_or_signal(Some(Duration::from_secs(10)), false, || None::<()>);
        stop.store(true, Ordering::Relaxed);
        ringer.join().unwrap();
        assert_eq!(got, Ok(None));
    }

    #[test]
    fn wakes_on_ring_from_another_thread() {
        let bell = Arc::new(Doorbell::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (b, f) = (bell.clone(), flag.clone());
        let writer = std::thread::spawn(move || {
            f.store(true, Ordering::Release);
            b.ring();
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while bell
            .sleep_until(Some(Duration::from_secs(1)), || {
                flag.load(Ordering::Acquire).then_some(())
            })
            .is_none()
        {
            assert!(Instant::now() < deadline, "the ring never woke the sleeper");
        }
        writer.join().unwrap();
    }
}
