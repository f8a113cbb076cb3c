//! A thread-safe socket's peer in another process once their ipc
//! connection has moved to shared memory (see
//! `transport::ipc::mpsc_segment`): the socket's threads publish straight
//! into the peer's ring, and the socket reads the peer's ring as it reads
//! an in-process peer's.
//!
//! The connection's engine makes the [`SharedPeer`] and mails it to the
//! socket, which adopts it:
//! - A peer accepted on a bound endpoint is a new peer: a pipe out (an
//!   [`Out::Shared`](super::peers::Out) without fallback), a reading end in
//!   the inbox.
//! - A connecter's peer carries on for the [`Remote`] made at the connect,
//!   whose ring to the engine holds what the threads queued before the
//!   connection came up. It keeps the peer's routing id, and its threads
//!   keep each its own order: a thread writes the shared pipe only once
//!   the engine's ring is drained (everything any thread published there
//!   has moved into the shared pipe, before the thread's next claim), and
//!   the engine's ring again whenever the shared pipe is closed (the
//!   connection lost: the next one carries on).
//!
//! A RADIO reads its DISH peer's joins and leaves itself, from the peer's
//! ring, before each send (the engine saw them in ZMTP's JOIN and LEAVE);
//! a DISH's joins and leaves go through a connecter's engine, which
//! remembers them for the next connection, as it does for ZMTP.
//!
//! A writer waiting for room in a shared pipe is told of it by the peer's
//! reader ringing this socket's doorbell (its segment is the peer's to
//! map): the waiting writer announces itself on the doorbell in notify
//! mode before its re-check (and has the bridge watch the doorbell's word
//! for rings from other processes), and the doorbell's waker passes every
//! wake-up on to the room ([`RoomRelay`]). See `Core::send_loop`.

use super::core::Groups;
use super::pipe::{InPipe, Link, Pipe, Refused, Room, Taken};
use super::remote::{apply_join, Remote};
use std::cell::Cell;
use std::sync::{Arc, Mutex, Weak};
use std::task::Wake;

/// What an engine hands its socket when a connection moves to shared
/// memory.
pub(crate) struct SharedPeer {
    pub endpoint: Arc<str>,
    /// Accepted on a bound endpoint (taken only while it is bound).
    pub accepted: bool,
    /// The pipe to write to the peer (if the socket writes).
    pub out: Option<Arc<Pipe>>,
    /// The peer's ring, read by the socket (a RADIO: its DISH's joins).
    pub inp: Option<InPipe>,
    /// A connecter's: the link of the ring to the engine its [`Remote`]
    /// sends into, which this peer carries on for.
    pub carries_on: Option<Arc<Link>>,
}

/// A peer in another process over shared memory.
pub(crate) struct Shared {
    pipe: Arc<Pipe>,
    /// A connecter's way through its engine (see the module doc).
    fallback: Option<Arc<Remote>>,
    /// A RADIO's: the DISH peer's joins and leaves.
    joins: Option<Mutex<InPipe>>,
}

impl Shared {
    pub fn new(pipe: Arc<Pipe>, fallback: Option<Arc<Remote>>, joins: Option<InPipe>) -> Self {
        Self {
            pipe,
            fallback,
            joins: joins.map(Mutex::new),
        }
    }

    /// The [`Remote`] a connecter's peer carries on for.
    pub fn fallback(&self) -> Option<&Arc<Remote>> {
        self.fallback.as_ref()
    }

    /// Sends as [`Pipe::try_send`], through the engine while its ring
    /// holds a message or the shared pipe is gone (a connecter's).
    #[inline]
    pub fn try_send(&self, prefix: &[u8], data: &[u8], credit: &Cell<u64>) -> Result<(), Refused> {
        let Some(r) = &self.fallback else {
            return self.pipe.try_send(prefix, data, credit);
        };
        if r.drained() {
            match self.pipe.try_send(prefix, data, credit) {
                Err(Refused::Closed) => {}
                sent => return sent,
            }
        }
        // The thread's credits are toward the shared pipe: the engine's
        // ring gets a credit of its own.
        r.send_once(prefix, data)
    }

    /// Whether a message would be taken now, as far as the mark goes.
    pub fn has_room(&self, credit: &Cell<u64>) -> bool {
        match &self.fallback {
            Some(r) if !r.drained() || self.pipe.is_closed() => r.has_room(&Cell::new(0)),
            _ => self.pipe.has_room(credit),
        }
    }

    /// A connecter's peer stays closed only when its engine has gone.
    pub fn is_closed(&self) -> bool {
        match &self.fallback {
            Some(r) => r.is_closed(),
            None => self.pipe.is_closed(),
        }
    }

    pub fn close(&self) {
        self.pipe.close();
        if let Some(r) = &self.fallback {
            r.close();
        }
    }

    pub fn return_credits(&self, n: u64) {
        self.pipe.return_credits(n);
    }

    /// A DISH's join (or leave): through a connecter's engine, which
    /// remembers it for the next connection; else straight to the peer.
    pub fn send_join(&self, join: bool, group: &[u8]) {
        match &self.fallback {
            Some(r) => r.send_join(join, group),
            None => {
                let _ = self.pipe.send_once(&[u8::from(join)], group);
            }
        }
    }

    /// A RADIO's: applies to `groups` the joins and leaves its DISH peer
    /// has sent since (unless another sending thread is at it).
    pub fn apply_joins(&self, groups: &Groups) {
        let Some(joins) = &self.joins else { return };
        let Ok(mut joins) = joins.try_lock() else {
            return;
        };
        while let Taken::Message(()) = joins.take(|_, m| {
            if let [flag @ (0 | 1), group @ ..] = m {
                apply_join(groups, *flag == 1, group);
            }
        }) {}
    }
}

/// Passes the wake-ups of a socket's doorbell (in notify mode) on to the
/// writers waiting in its room: a peer in another process that released
/// room rang the doorbell.
pub(crate) struct RoomRelay(pub Weak<Room>);

impl Wake for RoomRelay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(room) = self.0.upgrade() {
            room.signal();
        }
    }
}
