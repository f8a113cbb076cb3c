//! A thread-safe socket's peer over the I/O thread (tcp, ipc), in two
//! halves.
//!
//! - Sending (sockets that [`write`](super::core::writes) only: a GATHER
//!   has no ring): a multi-producer [`Pipe`] (its credits toward SNDHWM, the
//!   socket's [`Room`], the reader's doorbell) that any thread publishes
//!   into without a lock, and whose one reader is the connection's engine
//!   ([`Outbound`]), on the I/O thread: the I/O thread's doorbell is the
//!   pipe's, and the engine's releases signal the writers' room. Frames
//!   above the pipe's inline limit go by heap descriptor, which the engine,
//!   in the same process, reads as the socket's peers in process do.
//! - Receiving: the single-producer pipe the engine writes what the peer
//!   sends into, read by the socket's receivers, who already hold the
//!   socket's receive lock: its mutex is only ever theirs (and the close's).
//!
//! A RADIO's peer's groups are kept by its engine, which applies the
//! peer's JOINs and LEAVEs to them as they come: the RADIO's senders read
//! them, and never the receiving half.
//!
//! Whoever makes the connection's pipe makes its [`Outbound`] too: the
//! socket, at a connect (so that messages queue before the connection is
//! up, and across reconnects, as the pipe); the engine, for a connection
//! a listener accepted, which the socket then gets in its mailbox.

use super::core::Groups;
use super::pipe::{InPipe, Link, Pipe, Refused, Room, Taken};
use crate::pipe::ring::Record;
use crate::pipe::{Doorbell, PipeEnd};
use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};

/// The socket's half of a connection's way out.
pub(crate) struct Sending {
    pipe: Arc<Pipe>,
    /// The groups the peer joined (a RADIO's).
    groups: Arc<Groups>,
}

/// The engine's half: the reading end of the senders' pipe.
pub(crate) struct Outbound {
    pub rx: InPipe,
    groups: Arc<Groups>,
}

/// A connection's way out: the socket's half and the engine's. `bell`:
/// the I/O thread's doorbell; `room`: where the socket's writers wait.
pub(crate) fn outbound(
    capacity: usize,
    sndhwm: u64,
    bell: Arc<Doorbell>,
    room: Arc<Room>,
) -> (Sending, Outbound) {
    let (pipe, rx) = Pipe::new(capacity, sndhwm, bell, room);
    let groups = Arc::new(Groups::default());
    let sending = Sending {
        pipe: pipe.clone(),
        groups: groups.clone(),
    };
    (
        sending,
        Outbound {
            rx: InPipe::new(pipe, rx, 0),
            groups,
        },
    )
}

impl Outbound {
    /// The peer joined (or left) `group`: a RADIO sends it the group's
    /// messages from now on (or no more).
    pub fn join(&self, join: bool, group: &[u8]) {
        apply_join(&self.groups, join, group);
    }

    /// The link of the ring the socket's threads send into (what a shared
    /// pipe that carries on for it is known by).
    pub fn link(&self) -> &Arc<Link> {
        self.rx.link()
    }

    /// The connection is lost: the next one's peer joins afresh.
    pub fn forget_groups(&self) {
        if !self.groups.load().is_empty() {
            self.groups.store(Arc::default());
        }
    }
}

/// A peer joined (or left) `group`: into (or out of) `groups`.
pub(crate) fn apply_join(groups: &Groups, join: bool, group: &[u8]) {
    groups.rcu(|set| {
        let mut set = (**set).clone();
        if join {
            set.insert(group.into());
        } else {
            set.remove(group);
        }
        set
    });
}

pub(crate) struct Remote {
    /// `None` for a socket that never writes (GATHER).
    pipe: Option<Arc<Pipe>>,
    /// The groups the peer joined (a RADIO's).
    pub groups: Arc<Groups>,
    recv: Mutex<Receiving>,
}

struct Receiving {
    /// `None` once closed (dropping the end tells the I/O thread).
    end: Option<PipeEnd>,
    /// Dropping the frames of a multipart message (thread-safe sockets
    /// take single frames; libzmq's drop the others too).
    skipping: bool,
}

impl Remote {
    pub fn new(end: PipeEnd, sending: Option<Sending>) -> Self {
        let (pipe, groups) = sending.map(|s| (s.pipe, s.groups)).unzip();
        Self {
            pipe,
            groups: groups.unwrap_or_default(),
            recv: Mutex::new(Receiving {
                end: Some(end),
                skipping: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Receiving> {
        self.recv.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine has gone (it closes the pipe when it drops its end); a
    /// peer without a ring is never written to.
    pub fn is_closed(&self) -> bool {
        self.pipe.as_ref().map_or(true, |p| p.is_closed())
    }

    /// Whether everything the socket's threads sent has reached the
    /// engine (none in flight: a thread may then write past it).
    pub fn drained(&self) -> bool {
        self.pipe.as_ref().map_or(true, |p| p.drained())
    }

    /// Whether this is the peer whose threads send into `link`'s ring.
    pub fn sends_through(&self, link: &Arc<Link>) -> bool {
        self.pipe
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p.link(), link))
    }

    /// Whether a message would be taken now, as far as SNDHWM goes.
    pub fn has_room(&self, credit: &Cell<u64>) -> bool {
        self.pipe.as_ref().is_some_and(|p| p.has_room(credit))
    }

    /// Lets go of both halves: the engine sends what is queued (as LINGER
    /// says) and ends the connection.
    pub fn close(&self) {
        if let Some(p) = &self.pipe {
            p.close();
        }
        drop(self.lock().end.take());
    }

    /// Sends `prefix` then `data` as a one-frame message (`prefix`: a
    /// RADIO's group, its length first, which its engine sends as the
    /// group frame), with the calling thread's `credit`s.
    #[inline]
    pub fn try_send(&self, prefix: &[u8], data: &[u8], credit: &Cell<u64>) -> Result<(), Refused> {
        match &self.pipe {
            Some(p) => p.try_send(prefix, data, credit),
            None => Err(Refused::Closed),
        }
    }

    /// Gives back credits a thread will not use.
    pub fn return_credits(&self, n: u64) {
        if let Some(p) = &self.pipe {
            p.return_credits(n);
        }
    }

    /// A DISH's: tells the peer's engine to send JOIN (or LEAVE) for
    /// `group`. Lost only if the DISH has SNDHWM joins and leaves queued
    /// for a peer that does not come.
    pub fn send_join(&self, join: bool, group: &[u8]) {
        let _ = self.send_once(&[u8::from(join)], group);
    }

    /// As [`Pipe::send_once`].
    ///
    /// # Errors
    ///
    /// As [`Pipe::send_once`]; [`Refused::Closed`] once the connection
    /// has ended.
    pub fn send_once(&self, prefix: &[u8], data: &[u8]) -> Result<(), Refused> {
        match &self.pipe {
            Some(p) => p.send_once(prefix, data),
            None => Err(Refused::Closed),
        }
    }

    /// Reads the next single-frame message through `f`, if one is there.
    pub fn take<R>(&self, id: u32, f: impl FnOnce(u32, &[u8]) -> R) -> Taken<R> {
        let mut e = self.lock();
        let Receiving { end, skipping } = &mut *e;
        let Some(end) = end.as_mut() else {
            return Taken::Done;
        };
        match head(end, skipping) {
            Taken::Message(rec) => {
                let r = f(id, end.payload(&rec));
                end.consume(rec);
                Taken::Message(r)
            }
            Taken::Empty => Taken::Empty,
            Taken::Done => Taken::Done,
        }
    }

    /// Looks at the next single-frame message through `f`, leaving it.
    pub fn peek<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let mut e = self.lock();
        let Receiving { end, skipping } = &mut *e;
        let end = end.as_mut()?;
        match head(end, skipping) {
            Taken::Message(rec) => Some(f(end.payload(&rec))),
            Taken::Empty | Taken::Done => None,
        }
    }
}

/// The next single-frame message at `end`'s head, dropping the frames of
/// multipart ones on the way (`skipping`: within one).
fn head(end: &mut PipeEnd, skipping: &mut bool) -> Taken<Record> {
    loop {
        match end.peek() {
            Ok(Some(rec)) => {
                if *skipping || rec.more() {
                    *skipping = rec.more();
                    end.consume(rec);
                    continue;
                }
                return Taken::Message(rec);
            }
            Ok(None) if end.peer_closed() => {
                // Published before the close: visible now.
                return match end.peek() {
                    Ok(None) | Err(_) => Taken::Done,
                    Ok(Some(_)) => Taken::Empty,
                };
            }
            Ok(None) => return Taken::Empty,
            Err(_) => return Taken::Done,
        }
    }
}
