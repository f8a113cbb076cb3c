//! What every thread-safe socket is made of: options, the inbox (its
//! reading ends, fair-queued, behind one lock), the peer table its writers
//! read without a lock, and the blocking loops.

use super::peers::{Out, Peer, PeerTable, Peers};
use super::pipe::{InPipe, Refused, Room, Taken};
use super::remote::{Remote, Sending};
use super::shared::{RoomRelay, Shared, SharedPeer};
use super::spin::{Guard, SpinLock};
use super::wakers::Wakers;
use crate::error::{Error, Fail, Result};
use crate::pipe::Doorbell;
use crate::socket::{NewPipe, SocketShared};
use crate::{Context, SocketType, DONTWAIT};
use arc_swap::ArcSwap;
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Tries of a blocked call before it sleeps: a peer a few microseconds
/// away is cheaper to wait for than a futex round trip.
const SPINS: u32 = 16;
const YIELDS: u32 = 16;

/// The groups a DISH has joined, read by its RADIO peers on every send.
pub(crate) type Groups = ArcSwap<HashSet<Box<[u8]>>>;

/// A reading end.
pub(crate) enum Inbound {
    /// An in-process peer's ring.
    Ring(InPipe),
    /// A peer over the I/O thread, known by this routing id.
    Remote(Arc<Remote>, u32),
}

impl Inbound {
    #[inline(always)]
    fn take<R>(&mut self, f: impl FnOnce(u32, &[u8]) -> R) -> Taken<R> {
        match self {
            Inbound::Ring(p) => p.take(f),
            Inbound::Remote(r, id) => r.take(*id, f),
        }
    }

    /// Looks at the next message through `f`, leaving it.
    fn peek<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match self {
            Inbound::Ring(p) => p.peek(f),
            Inbound::Remote(r, _) => r.peek(f),
        }
    }
}

impl Drop for Inbound {
    fn drop(&mut self) {
        if let Inbound::Remote(r, _) = self {
            r.close();
        }
    }
}

/// A reading end and the endpoint its peer came through.
struct Reading {
    endpoint: Arc<str>,
    end: Inbound,
}

/// The reading ends, taken in turn.
#[derive(Default)]
struct Inbox {
    pipes: Vec<Reading>,
    next: usize,
}

/// Whether sockets of type `t` send, and receive.
pub(crate) fn sends(t: SocketType) -> bool {
    use SocketType::*;
    matches!(t, Client | Server | Scatter | Radio)
}

pub(crate) fn receives(t: SocketType) -> bool {
    use SocketType::*;
    matches!(t, Client | Server | Gather | Dish)
}

/// Whether sockets of type `t` write to their tcp and ipc peers: those
/// that send, and a DISH (its joins and leaves). Only those get a ring to
/// send into per connection.
pub(crate) fn writes(t: SocketType) -> bool {
    sends(t) || t == SocketType::Dish
}

pub(crate) struct Options {
    pub sndhwm: AtomicI32,
    pub rcvhwm: AtomicI32,
    pub sndtimeo: AtomicI32,
    pub rcvtimeo: AtomicI32,
    pub ring_capacity: AtomicUsize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sndhwm: AtomicI32::new(1000),
            rcvhwm: AtomicI32::new(1000),
            sndtimeo: AtomicI32::new(-1),
            rcvtimeo: AtomicI32::new(-1),
            ring_capacity: AtomicUsize::new(crate::DEFAULT_RING_CAPACITY),
        }
    }
}

pub(crate) struct Core {
    pub ctx: Context,
    pub kind: SocketType,
    pub opts: Options,
    /// Rung by writers of every inbound pipe.
    pub bell: Arc<Doorbell>,
    /// The doorbell's home, and the mailbox the I/O thread hands its
    /// pipes over through (tcp).
    pub shared: Arc<SocketShared>,
    /// Where this socket's writers wait for room.
    pub room: Arc<Room>,
    /// The poll calls and async tasks watching this socket (see `poll`,
    /// `tasks`): woken when a message comes in, if they asked, and at
    /// shutdown.
    pub pollers: Arc<Wakers>,
    /// The doorbell's notify-mode waker: wakes all of `pollers`.
    pub poll_waker: Waker,
    inbox: SpinLock<Inbox>,
    /// Reading ends made by connects and binds, for the inbox to adopt.
    arrived: Mutex<Vec<Reading>>,
    /// The tcp and ipc endpoints bound, as the I/O thread names them:
    /// connections it hands over from others (accepted before an unbind,
    /// their handshake done after) are closed.
    listening: Mutex<Vec<Arc<str>>>,
    has_arrived: AtomicBool,
    /// One receiver at a time sleeps on the doorbell (its protocol has one
    /// sleeper); the others wait on `turn`.
    sleeper: AtomicBool,
    turn_lock: Mutex<()>,
    turn: Condvar,
    pub out: Peers,
    /// Where the next load-balanced send starts (racy on purpose: a hint).
    lb_next: AtomicUsize,
    next_id: AtomicU32,
    /// DISH: the groups joined (shared with the RADIO peers).
    pub groups: Arc<Groups>,
    /// DISH: serialises joins and leaves.
    pub groups_lock: Mutex<()>,
    /// Some peer is in another process over shared memory: writers waiting
    /// for room have its reader's releases relayed (see `send_loop`).
    has_shared: AtomicBool,
    /// The doorbell's wake-ups, passed on to `room` (see `RoomRelay`).
    relay: Waker,
    /// Peers adopted over shared memory, ever (the tests' proof).
    shared_peers: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn deadline(timeout_ms: i32, flags: i32) -> Option<Option<Instant>> {
    if flags & DONTWAIT != 0 || timeout_ms == 0 {
        return None;
    }
    Some((timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64)))
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

impl Core {
    pub fn new(ctx: Context, kind: SocketType) -> Self {
        let shared = Arc::new(SocketShared::new());
        let pollers = Arc::new(Wakers::default());
        let room = Arc::new(Room::default());
        Self {
            relay: Waker::from(Arc::new(RoomRelay(Arc::downgrade(&room)))),
            has_shared: AtomicBool::new(false),
            shared_peers: AtomicUsize::new(0),
            poll_waker: Waker::from(pollers.clone()),
            pollers,
            ctx,
            kind,
            opts: Options::default(),
            bell: shared.bell.clone(),
            shared,
            room,
            inbox: SpinLock::default(),
            arrived: Mutex::default(),
            listening: Mutex::default(),
            has_arrived: AtomicBool::new(false),
            sleeper: AtomicBool::new(false),
            turn_lock: Mutex::new(()),
            turn: Condvar::new(),
            out: Peers::default(),
            lb_next: AtomicUsize::new(0),
            next_id: AtomicU32::new(1),
            groups: Arc::default(),
            groups_lock: Mutex::new(()),
        }
    }

    /// A routing id for a new peer: never 0, never one in use.
    pub fn new_peer_id(&self) -> u32 {
        let out = self.out.current();
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 && out.get(id).is_none() {
                return id;
            }
        }
    }

    /// Adds a peer that came through `endpoint`: `out` to write to it,
    /// `inp` to read from it (each where the socket types send that way).
    pub fn attach(&self, endpoint: &Arc<str>, out: Option<Peer>, inp: Option<Inbound>) {
        if let Some(end) = inp {
            lock(&self.arrived).push(Reading {
                endpoint: endpoint.clone(),
                end,
            });
            self.has_arrived.store(true, Ordering::Release);
        }
        if let Some(out) = out {
            self.out.update(|t| {
                let mut peers = t.peers.clone();
                peers.push(out);
                Some(PeerTable::with(peers))
            });
        }
        self.bell.ring_from(true);
        self.room.wake_all();
    }

    /// Takes a peer over the I/O thread through `endpoint`: `end`, our end
    /// of its pipe, and `sending`, our half of the ring its engine sends
    /// from (if this socket [`writes`]). A RADIO sends the peer the groups its engine says it joined;
    /// a DISH writes to it only its joins and leaves (its groups so far, at
    /// once: libzmq's DISH sends them to each new peer too).
    pub fn attach_remote(
        &self,
        mut end: crate::pipe::PipeEnd,
        sending: Option<Sending>,
        endpoint: Arc<str>,
    ) {
        end.attach(self.bell.clone());
        end.set_pool_slot(self.shared.pool_slot());
        let remote = Arc::new(Remote::new(end, sending));
        let id = self.new_peer_id();
        let out = writes(self.kind).then(|| Peer {
            id,
            out: Out::Remote(remote.clone()),
            endpoint: endpoint.clone(),
            groups: (self.kind == SocketType::Radio).then(|| remote.groups.clone()),
        });
        let inp = receives(self.kind).then(|| Inbound::Remote(remote.clone(), id));
        if out.is_none() && inp.is_none() {
            remote.close();
        }
        self.attach_joined(&endpoint, out, inp, |group| remote.send_join(true, group));
    }

    /// [`attach`](Self::attach) of a peer over the I/O thread or shared
    /// memory; a DISH first has `join` send it each group joined so far,
    /// with the lock joins and leaves take, so that each group's change
    /// reaches the peer either here or there, once.
    fn attach_joined(
        &self,
        endpoint: &Arc<str>,
        out: Option<Peer>,
        inp: Option<Inbound>,
        join: impl Fn(&[u8]),
    ) {
        let _joins = (self.kind == SocketType::Dish).then(|| lock(&self.groups_lock));
        if _joins.is_some() {
            for group in self.groups.load().iter() {
                join(group);
            }
        }
        self.attach(endpoint, out, inp);
    }

    /// A DISH's join (or leave) of `group`, for its peers over the I/O
    /// thread (those in process read its groups). Under `groups_lock`, so
    /// not adopting new pipes here (that takes it): they get the groups
    /// as they are when adopted.
    pub fn send_join(&self, join: bool, group: &[u8]) {
        for p in self.out.current().peers.iter() {
            match &p.out {
                Out::Remote(r) => r.send_join(join, group),
                Out::Shared(s) => s.send_join(join, group),
                Out::Ring(_) => {}
            }
        }
    }

    /// Takes a peer whose connection came up in shared memory (see
    /// `shared`): a new one, or one carrying on for a connecter's
    /// [`Remote`] under its routing id. One accepted on an endpoint no
    /// longer bound, or carrying on for a peer disconnected since, is
    /// dropped (which closes it).
    fn attach_shared(&self, peer: SharedPeer, listening: &[Arc<str>]) {
        let SharedPeer {
            endpoint,
            accepted,
            mut out,
            inp,
            carries_on,
        } = peer;
        if accepted && !listening.contains(&endpoint) {
            return;
        }
        // A RADIO reads its peer's joins before each send, not in the inbox.
        let (mut joins, inp) = match self.kind {
            SocketType::Radio => (inp, None),
            _ => (None, inp),
        };
        let mut id = None;
        if let Some(link) = &carries_on {
            self.out.update(|t| {
                let i = t.peers.iter().position(|p| match &p.out {
                    Out::Remote(r) => r.sends_through(link),
                    Out::Shared(s) => s.fallback().is_some_and(|r| r.sends_through(link)),
                    Out::Ring(_) => false,
                })?;
                let remote = match &t.peers[i].out {
                    Out::Remote(r) => r.clone(),
                    Out::Shared(s) => s.fallback()?.clone(),
                    Out::Ring(_) => return None,
                };
                let mut peers = t.peers.clone();
                let shared = Shared::new(out.take()?, Some(remote), joins.take());
                peers[i].out = Out::Shared(Arc::new(shared));
                id = Some(peers[i].id);
                Some(PeerTable::with(peers))
            });
            if id.is_none() && out.is_some() {
                return;
            }
        }
        if !self.has_shared.swap(true, Ordering::AcqRel) {
            self.pollers.add(&self.relay);
        }
        self.shared_peers.fetch_add(1, Ordering::Relaxed);
        let id = id.unwrap_or_else(|| self.new_peer_id());
        let radio = self.kind == SocketType::Radio;
        let out = out.map(|pipe| Peer {
            id,
            out: Out::Shared(Arc::new(Shared::new(pipe, None, joins))),
            endpoint: endpoint.clone(),
            groups: radio.then(Arc::default),
        });
        let inp = inp.map(|mut inp| {
            inp.id = id;
            Inbound::Ring(inp)
        });
        let shared = match &out {
            Some(Peer {
                out: Out::Shared(s),
                ..
            }) => Some(s.clone()),
            _ => None,
        };
        self.attach_joined(&endpoint, out, inp, |group| {
            if let Some(s) = &shared {
                s.send_join(true, group);
            }
        });
    }

    /// How many peers came up over shared memory, ever.
    pub fn shared_peers(&self) -> usize {
        self.shared_peers.load(Ordering::Relaxed)
    }

    /// A writer about to re-check for room in a pipe to a peer in another
    /// process: announces its wait on the socket's doorbell in notify mode
    /// (the peer's release rings it; its waker reaches the room through
    /// `relay`), has the bridge watch for rings from other processes, then
    /// the sleeper's barrier before the caller's re-check.
    fn arm_relay(&self) {
        self.arm_notify();
        crate::sync::barrier::heavy();
    }

    /// Announces a wait in notify mode on the doorbell (the socket's
    /// waker passes the wake-up on to all of `pollers`, `relay` included).
    /// Once the doorbell is exposed to peers in other processes, whose
    /// rings wake only its futex, the bridge waits there too (from the
    /// first exposure: such a peer may ring before its pipe reaches us).
    /// The caller then runs the sleeper's barrier and looks again.
    pub fn arm_notify(&self) {
        let seen = self.bell.arm_notify(Some(&self.poll_waker));
        if self.bell.exposed() {
            crate::bridge::watch(&self.bell, seen);
        }
    }

    /// Whether writers waiting for room must [`arm_relay`](Self::arm_relay).
    pub fn relays_room(&self) -> bool {
        self.has_shared.load(Ordering::Acquire)
    }

    /// Takes the pipes the I/O thread has handed over (peers accepted on a
    /// tcp endpoint). One load when there are none.
    #[inline]
    fn adopt_mail(&self) {
        if self.shared.has_mail() {
            self.adopt_mail_slow();
        }
    }

    #[cold]
    fn adopt_mail_slow(&self) {
        let mail = self.shared.take_mail();
        // Held while attaching: an unbind that stops listening first then
        // closes the endpoint's pipes finds those attached here.
        let listening = lock(&self.listening);
        for NewPipe {
            end,
            endpoint,
            sending,
            ..
        } in mail
        {
            // Every pipe an engine of a thread-safe socket that writes
            // makes comes with its ring (one without would be dropped,
            // closing it).
            if listening.contains(&endpoint) && sending.is_some() == writes(self.kind) {
                self.attach_remote(end, sending.map(|s| *s), endpoint);
            }
        }
        for peer in self.shared.take_shared_mail() {
            self.attach_shared(peer, &listening);
        }
    }

    /// The endpoints whose accepted connections this socket takes, as the
    /// I/O thread names them (`tcp://` with the port bound). A bind names
    /// its endpoint before the first connection can be handed over: a tcp
    /// bind, whose name is known only once bound, holds the guard through
    /// it.
    pub fn listening(&self) -> MutexGuard<'_, Vec<Arc<str>>> {
        lock(&self.listening)
    }

    /// Closes the pipes of the peers that came through `endpoint` (unbind,
    /// disconnect). What they sent that was not
    /// received yet is dropped, as libzmq drops it; what this socket sent
    /// them still goes, as from a closed socket (inproc: the peer reads
    /// what its ring holds; tcp, ipc: the engine flushes it).
    pub fn close_endpoint(&self, endpoint: &str) {
        self.adopt_mail();
        let mut gone = Vec::new();
        self.out.update(|t| {
            let (going, staying) = t
                .peers
                .iter()
                .cloned()
                .partition::<Vec<_>, _>(|p| &*p.endpoint == endpoint);
            gone = going;
            (!gone.is_empty()).then(|| PeerTable::with(staying))
        });
        for p in &gone {
            p.out.close();
        }
        let ours = |r: &Reading| &*r.endpoint == endpoint;
        let mut dropped: Vec<Reading> = Vec::new();
        {
            let mut arrived = lock(&self.arrived);
            let (going, staying) = std::mem::take(&mut *arrived)
                .into_iter()
                .partition::<Vec<_>, _>(ours);
            *arrived = staying;
            dropped.extend(going);
        }
        {
            let mut inbox = self.inbox.lock();
            let (going, staying) = std::mem::take(&mut inbox.pipes)
                .into_iter()
                .partition::<Vec<_>, _>(ours);
            inbox.pipes = staying;
            dropped.extend(going);
        }
        // Dropped outside the locks: an in-process ring frees the large
        // messages it still holds.
        drop(dropped);
    }

    /// Drops the peers whose pipes are closed from the table.
    #[cold]
    fn prune(&self) {
        self.out.update(|t| {
            t.peers.iter().any(|p| p.out.is_closed()).then(|| {
                let peers = t.peers.iter().filter(|p| !p.out.is_closed()).cloned();
                PeerTable::with(peers.collect())
            })
        });
    }

    /// Closes every pipe (the socket is going).
    pub fn close_all(&self) {
        let table = self.out.current();
        self.out.update(|_| Some(PeerTable::default()));
        for p in table.peers.iter() {
            p.out.close();
        }
        lock(&self.arrived).clear();
        self.inbox.lock().pipes.clear();
    }

    /// Wakes every blocked call (context shutdown).
    pub fn wake_all(&self) {
        self.bell.ring_from(true);
        self.room.wake_all();
        self.pollers.wake_all();
        drop(lock(&self.turn_lock));
        self.turn.notify_all();
    }

    pub fn stopped(&self) -> Option<Fail> {
        self.ctx.is_terminated().then(|| self.ctx.stopped())
    }

    /// One load-balanced send over the peers: the first that takes it,
    /// starting after the last one used.
    #[inline(always)]
    pub fn try_send_lb(&self, data: &[u8]) -> Result<(), Fail> {
        self.adopt_mail();
        // The outcome comes back as one word: a tuple of flags would be
        // stored byte by byte and loaded whole, and such a load waits for
        // every older store to reach the cache, the message's stores into
        // the ring (lines the reader holds) among them.
        let outcome = self.out.with(
            #[inline(always)]
            |table, credits| self.lb_send(table, credits, data),
        );
        if outcome.closed() {
            self.prune();
        }
        match outcome.too_large() {
            _ if outcome.sent() => Ok(()),
            Some(max) => Err(too_large_fail(max)),
            None => Err(Fail::WouldBlock),
        }
    }

    /// [`try_send_lb`](Self::try_send_lb) over `table`, with this thread's
    /// `credits` toward its pipes.
    #[inline(always)]
    fn lb_send(&self, table: &PeerTable, credits: &[Cell<u64>], data: &[u8]) -> LbOutcome {
        let n = table.peers.len();
        if n == 1 {
            // No turn to keep.
            return LbOutcome::of(table.peers[0].out.try_send(&[], data, &credits[0]));
        }
        // The turn wraps by comparison: a division here would cost more
        // than the rest of the send.
        let mut i = match self.lb_next.load(Ordering::Relaxed) {
            next if next < n => next,
            _ => 0,
        };
        let mut closed = false;
        // Too large for every peer that could take a message now (those in
        // other processes): an error, not a wait.
        let (mut full, mut too_large) = (false, None);
        for _ in 0..n {
            match table.peers[i].out.try_send(&[], data, &credits[i]) {
                Ok(()) => {
                    self.lb_next.store(i + 1, Ordering::Relaxed);
                    return LbOutcome::SENT;
                }
                Err(Refused::Full) => full = true,
                Err(Refused::Closed) => closed = true,
                Err(Refused::TooLarge { max }) => too_large = Some(max),
            }
            i = if i + 1 < n { i + 1 } else { 0 };
        }
        LbOutcome::refused(closed, too_large.filter(|_| !full))
    }

    /// A send to the peer known as `id`.
    #[inline]
    pub fn try_send_to(&self, id: u32, data: &[u8]) -> Result<(), Fail> {
        self.adopt_mail();
        let sent = self.out.with(|table, credits| {
            table
                .index(id)
                .map(|i| table.peers[i].out.try_send(&[], data, &credits[i]))
        });
        match sent {
            Some(Ok(())) => Ok(()),
            Some(Err(Refused::Full)) => Err(Fail::WouldBlock),
            Some(Err(Refused::TooLarge { max })) => Err(too_large_fail(max)),
            None => Err(Fail::HostUnreachable),
            Some(Err(Refused::Closed)) => {
                self.prune();
                Err(Fail::HostUnreachable)
            }
        }
    }

    /// A RADIO's send: to every peer that joined `group`, except those at
    /// their high-water mark (dropped there, as libzmq's RADIO drops).
    /// `prefix` is the group as it travels: its length, then its bytes.
    pub fn send_radio(&self, group: &[u8], prefix: &[u8], data: &[u8]) {
        self.adopt_mail();
        let closed = self.out.with(|table, credits| {
            let mut closed = false;
            for (p, credit) in table.peers.iter().zip(credits) {
                if let (Out::Shared(s), Some(groups)) = (&p.out, &p.groups) {
                    s.apply_joins(groups);
                }
                let joined = p.groups.as_ref().is_some_and(|g| g.load().contains(group));
                if joined && p.out.try_send(prefix, data, credit) == Err(Refused::Closed) {
                    closed = true;
                }
            }
            closed
        });
        if closed {
            self.prune();
        }
    }

    /// Runs `attempt` until it stops saying would-block, as SNDTIMEO and
    /// `flags` allow.
    pub fn send_loop(
        &self,
        flags: i32,
        mut attempt: impl FnMut() -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        if let Some(f) = self.stopped() {
            return Err(f);
        }
        let first = attempt();
        if first != Err(Fail::WouldBlock) {
            return first;
        }
        let Some(deadline) = deadline(self.opts.sndtimeo.load(Ordering::Relaxed), flags) else {
            return first;
        };
        for i in 0..SPINS + YIELDS {
            if i < SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            let r = attempt();
            if r != Err(Fail::WouldBlock) {
                return r;
            }
        }
        // Every pipe's reader signals `room` when it releases (the I/O
        // thread's engines too), and so does a new peer.
        let r = self.room.wait(deadline, || {
            if self.relays_room() {
                self.arm_relay();
            }
            if let Some(f) = self.stopped() {
                return Some(Err(f));
            }
            let r = attempt();
            (r != Err(Fail::WouldBlock)).then_some(r)
        });
        r.unwrap_or(Err(Fail::TimedOut))
    }

    /// The inbox, locked, with the reading ends that arrived since.
    #[inline(always)]
    fn inbox(&self) -> Guard<'_, Inbox> {
        self.adopt_mail();
        let mut inbox = self.inbox.lock();
        if self.has_arrived.load(Ordering::Acquire) {
            self.take_arrived(&mut inbox);
        }
        inbox
    }

    #[cold]
    fn take_arrived(&self, inbox: &mut Inbox) {
        if self.has_arrived.swap(false, Ordering::Acquire) {
            let arrived = std::mem::take(&mut *lock(&self.arrived));
            inbox.pipes.extend(arrived);
        }
    }

    /// Whether a message can be received now (libzmq's `xhas_in`). Those
    /// `keep` refuses, ahead of the first it keeps, are dropped on the way
    /// (a DISH's of groups left), as a receive would drop them.
    pub fn has_in(&self, keep: impl Fn(&[u8]) -> bool) -> bool {
        let mut inbox = self.inbox();
        for p in inbox.pipes.iter_mut() {
            loop {
                match p.end.peek(&keep) {
                    Some(true) => return true,
                    Some(false) => drop(p.end.take(|_, _| ())),
                    None => break,
                }
            }
        }
        false
    }

    /// Whether a load-balanced send would go now: a peer is below its
    /// mark (libzmq's `lb_t::has_out`).
    pub fn has_out(&self) -> bool {
        self.adopt_mail();
        self.out.with(|table, credits| {
            table
                .peers
                .iter()
                .zip(credits)
                .any(|(p, credit)| p.out.has_room(credit))
        })
    }

    /// Takes one message through `f`, if any pipe has one. `blocking`: the
    /// read may wait, so the one pipe's reader may trail its writers first
    /// (`InPipe::slip_if_due`; a socket fair-queuing several pipes would
    /// wait on each in turn, as with `PipeEnd::set_slip`).
    #[inline(always)]
    pub(super) fn try_recv<R>(
        &self,
        f: &mut Option<impl FnOnce(u32, &[u8]) -> R>,
        blocking: bool,
    ) -> Option<R> {
        let mut inbox = self.inbox();
        let n = inbox.pipes.len();
        let mut take =
            |end: &mut Inbound| end.take(|id, data| (f.take().expect("taken once"))(id, data));
        if n == 1 {
            // One peer: no turn to keep.
            let end = &mut inbox.pipes[0].end;
            if let Inbound::Ring(p) = end {
                p.slip_if_due(blocking);
            }
            return match take(end) {
                Taken::Message(r) => Some(r),
                Taken::Empty => None,
                Taken::Done => {
                    self.drop_done(inbox, vec![0]);
                    None
                }
            };
        }
        let mut i = if inbox.next < n { inbox.next } else { 0 };
        let mut done = Vec::new();
        let mut found = None;
        for _ in 0..n {
            match take(&mut inbox.pipes[i].end) {
                Taken::Message(r) => {
                    // Fair-queue: the next receive starts at the next pipe.
                    inbox.next = i + 1;
                    found = Some(r);
                    break;
                }
                Taken::Empty => {}
                Taken::Done => done.push(i),
            }
            i = if i + 1 < n { i + 1 } else { 0 };
        }
        if !done.is_empty() {
            self.drop_done(inbox, done);
        }
        found
    }

    /// [`try_recv`](Self::try_recv) of a read that waits, out of line:
    /// only the first look is worth inlining.
    #[inline(never)]
    fn try_recv_again<R>(&self, f: &mut Option<impl FnOnce(u32, &[u8]) -> R>) -> Option<R> {
        self.try_recv(f, true)
    }

    /// Drops the pipes at `done` (their peers have gone, and what they sent
    /// is read), and the peers' pipes the other way.
    #[cold]
    fn drop_done(&self, mut inbox: Guard<'_, Inbox>, mut done: Vec<usize>) {
        // From the back, so the others stay valid (the turn may have
        // wrapped: sort first).
        done.sort_unstable();
        for i in done.into_iter().rev() {
            inbox.pipes.remove(i);
        }
        drop(inbox);
        // Now rather than at the next send to the peer.
        self.prune();
    }

    /// Receives one message through `f`, blocking as RCVTIMEO and `flags`
    /// allow.
    pub fn recv<R>(&self, flags: i32, f: impl FnOnce(u32, &[u8]) -> R) -> Result<R, Fail> {
        if let Some(fail) = self.stopped() {
            return Err(fail);
        }
        let mut f = Some(f);
        let timeout_ms = self.opts.rcvtimeo.load(Ordering::Relaxed);
        if let Some(r) = self.try_recv(&mut f, flags & DONTWAIT == 0 && timeout_ms != 0) {
            return Ok(r);
        }
        let Some(deadline) = deadline(timeout_ms, flags) else {
            return Err(Fail::WouldBlock);
        };
        for i in 0..SPINS + YIELDS {
            if i < SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            if let Some(r) = self.try_recv_again(&mut f) {
                return Ok(r);
            }
        }
        loop {
            let mut turn = lock(&self.turn_lock);
            if !self.sleeper.swap(true, Ordering::Acquire) {
                drop(turn);
                let got = self.bell.sleep_until(remaining(deadline), || {
                    if let Some(fail) = self.stopped() {
                        return Some(Err(fail));
                    }
                    self.try_recv_again(&mut f).map(Ok)
                });
                {
                    let _t = lock(&self.turn_lock);
                    self.sleeper.store(false, Ordering::Release);
                }
                // Another receiver may take the doorbell now.
                self.turn.notify_one();
                if let Some(r) = got {
                    return r;
                }
            } else {
                // Someone else sleeps on the doorbell; they hand the turn
                // on when they wake (every sleeper does, on every exit).
                turn = match remaining(deadline) {
                    None => self.turn.wait(turn).unwrap_or_else(|e| e.into_inner()),
                    Some(left) => {
                        self.turn
                            .wait_timeout(turn, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
                drop(turn);
                // Back to the top: take the doorbell if it is free (its
                // check looks for a message first).
            }
            let fail = match self.stopped() {
                Some(fail) => fail,
                None if deadline.is_some_and(|d| Instant::now() >= d) => Fail::TimedOut,
                None => continue,
            };
            // A hand-over this thread took may have been meant for a
            // receiver that stays: pass it on.
            self.turn.notify_one();
            return Err(fail);
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.close_all();
        if self.bell.exposed() {
            crate::bridge::forget(&self.bell);
        }
    }
}

/// What a load-balanced send did, in one word (see `Core::try_send_lb`):
/// bit 32 set once sent; else bit 33 for a closed pipe seen, bit 34 for a
/// message too large, its limit in the low half.
#[derive(Clone, Copy)]
struct LbOutcome(u64);

impl LbOutcome {
    const SENT: LbOutcome = LbOutcome(1 << 32);
    const CLOSED: u64 = 1 << 33;
    const TOO_LARGE: u64 = 1 << 34;

    /// What one peer's send did.
    #[inline(always)]
    fn of(sent: Result<(), Refused>) -> LbOutcome {
        match sent {
            Ok(()) => Self::SENT,
            Err(Refused::Full) => Self::refused(false, None),
            Err(Refused::Closed) => Self::refused(true, None),
            Err(Refused::TooLarge { max }) => Self::refused(false, Some(max)),
        }
    }

    fn refused(closed: bool, too_large: Option<usize>) -> LbOutcome {
        let closed = if closed { Self::CLOSED } else { 0 };
        let large = too_large.map_or(0, |max| Self::TOO_LARGE | max.min(u32::MAX as usize) as u64);
        LbOutcome(closed | large)
    }

    fn sent(self) -> bool {
        self.0 & Self::SENT.0 != 0
    }

    fn closed(self) -> bool {
        self.0 & Self::CLOSED != 0
    }

    fn too_large(self) -> Option<usize> {
        (self.0 & Self::TOO_LARGE != 0).then_some(self.0 as u32 as usize)
    }
}

/// A message larger than `max` bytes, the most a peer's pipe takes.
#[cold]
fn too_large_fail(max: usize) -> Fail {
    Fail::TooLarge {
        max: u32::try_from(max).unwrap_or(u32::MAX),
    }
}

/// The error for a frame sent with SNDMORE on a single-frame socket.
pub(crate) fn multipart_error() -> Error {
    Error::InvalidArgument("thread-safe sockets send single-frame messages only (no SNDMORE)")
}
