//! ROUTER: every inbound message is prefixed with its peer's routing id;
//! every outbound message starts with the routing id of the peer it goes to.
//!
//! A peer's routing id is the one it asked for with `ROUTING_ID`, or else an
//! automatic 5-byte id (`0x00` and a 32-bit counter), as libzmq makes them.
//! A pipe is only routable once its peer's choice is known (a connect made
//! before the bind learns it at the bind). Messages to an unknown id, or to a
//! peer at its high-water mark, are dropped, unless `ROUTER_MANDATORY` makes
//! them an error (`HostUnreachable`, or would-block). A second peer asking for
//! an id in use is refused, unless `ROUTER_HANDOVER` lets it take the id over.

use super::{Behaviour, FairQueue, In, Io, PipeKey, Slot};
use crate::error::Fail;
use crate::pipe::WriteError;
use crate::trace::dropped;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

#[derive(Debug, Default)]
enum Out {
    /// The next frame sent is a routing id.
    #[default]
    Idle,
    /// The message goes to this pipe.
    To(PipeKey),
    /// The message goes nowhere.
    Dropping,
}

#[derive(Debug, Default)]
pub(crate) struct Router {
    fq: FairQueue,
    /// Ids a peer may choose (ZMTP's Identity): SipHash keeps chosen
    /// collisions out.
    by_id: HashMap<Vec<u8>, PipeKey>,
    /// Keyed by this socket's own pipe keys, looked up by every receive:
    /// a fast hash is safe.
    ids: FxHashMap<PipeKey, Vec<u8>>,
    /// The pipe a message came from or went to last: a reply (or the next
    /// message to the same peer) finds it by `ids`, which is keyed by this
    /// socket's own keys, instead of hashing the id with SipHash. Only a
    /// hint, checked against `ids` each time (the pipe may have gone, its
    /// key been reused).
    last: Option<PipeKey>,
    /// Pipes whose peer has not told its routing id yet.
    unidentified: Vec<PipeKey>,
    next_auto: u32,
    /// The id frame handed out last, and the pipe whose message follows it.
    held: Vec<u8>,
    held_for: Option<PipeKey>,
    /// The pipe whose message is being read, after its id frame.
    reading: Option<PipeKey>,
    out: Out,
    /// Raw peers (STREAM, ROUTER_RAW): every peer gets an automatic id
    /// (or the one CONNECT_ROUTING_ID gave it) at once.
    raw: bool,
    /// STREAM: a send to an unknown or full peer fails, as under
    /// ROUTER_MANDATORY.
    mandatory: bool,
}

impl Router {
    /// A ROUTER of raw peers (see `raw`), always `mandatory` (STREAM) or
    /// as ROUTER_MANDATORY says (ROUTER_RAW).
    pub(super) fn raw(mandatory: bool) -> Self {
        Router {
            raw: true,
            mandatory,
            ..Default::default()
        }
    }

    /// The pipe the message being sent goes to, once its id frame is in.
    pub(super) fn target(&self) -> Option<PipeKey> {
        match self.out {
            Out::To(key) => Some(key),
            _ => None,
        }
    }

    /// The routing id `key`'s peer goes by, once it has one.
    pub(super) fn id_of(&self, key: PipeKey) -> Option<&[u8]> {
        self.ids.get(&key).map(Vec::as_slice)
    }

    fn auto_id(&mut self) -> Vec<u8> {
        loop {
            self.next_auto = self.next_auto.wrapping_add(1);
            let mut id = vec![0u8];
            id.extend_from_slice(&self.next_auto.to_be_bytes());
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// Gives `key` its routing id, once its peer's choice is known; whether
    /// it could.
    fn identify(&mut self, io: &mut Io, key: PipeKey) -> bool {
        let asked = if self.raw {
            // A raw peer asks for nothing: known from the start.
            io.pipes[key].given_id.as_deref().unwrap_or_default()
        } else {
            match io.peer_routing_id(key) {
                Some(asked) => asked,
                None => return false,
            }
        };
        let id = if asked.is_empty() {
            self.auto_id()
        } else {
            asked.to_vec()
        };
        if let Some(&old) = self.by_id.get(&id) {
            if !io.opts.router_handover {
                // Refused: the newcomer's pipe is closed.
                io.pipes[key].broken = true;
                io.reap = true;
                return true;
            }
            // The newcomer takes the id over; the old pipe is closed.
            self.ids.remove(&old);
            self.fq.detach(old);
            io.pipes[old].broken = true;
            io.reap = true;
        }
        self.by_id.insert(id.clone(), key);
        self.ids.insert(key, id);
        self.fq.attach(key);
        true
    }

    /// The pipe whose peer goes by `id`. `ids` and `by_id` are each
    /// other's inverse (a handover takes the old pipe's entry out of
    /// `ids`), so a pipe whose id in `ids` is `id` is the one `by_id` has.
    #[inline]
    fn find(&mut self, id: &[u8]) -> Option<PipeKey> {
        if let Some(key) = self.last {
            if self
                .ids
                .get(&key)
                .is_some_and(|known| known.as_slice() == id)
            {
                return Some(key);
            }
        }
        let found = self.by_id.get(id).copied();
        if found.is_some() {
            self.last = found;
        }
        found
    }

    fn identify_waiting(&mut self, io: &mut Io) {
        if !self.unidentified.is_empty() {
            let waiting = std::mem::take(&mut self.unidentified);
            for key in waiting {
                if !self.identify(io, key) {
                    self.unidentified.push(key);
                }
            }
        }
    }
}

impl Behaviour for Router {
    fn attach(&mut self, io: &mut Io, key: PipeKey) {
        if !self.identify(io, key) {
            self.unidentified.push(key);
        }
    }

    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.fq.detach(key);
        self.unidentified.retain(|&k| k != key);
        if let Some(id) = self.ids.remove(&key) {
            if self.by_id.get(&id) == Some(&key) {
                self.by_id.remove(&id);
            }
        }
        if self.reading == Some(key) {
            self.reading = None;
        }
        if self.held_for == Some(key) {
            self.held_for = None;
        }
        if matches!(self.out, Out::To(k) if k == key) {
            self.out = Out::Dropping;
        }
    }

    fn send_bytes(&mut self, io: &mut Io, id: &[u8], more: bool) -> Result<(), Fail> {
        self.identify_waiting(io);
        if !more {
            // A routing id with nothing after it routes nothing.
            return Ok(());
        }
        let mandatory = io.opts.router_mandatory || self.mandatory;
        self.out = match self.find(id) {
            Some(key) if io.can_start(key) => Out::To(key),
            Some(_) if mandatory => return Err(Fail::WouldBlock),
            None if mandatory => return Err(Fail::HostUnreachable),
            // (`key` is for the `tracing` event only.)
            #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
            Some(key) => {
                dropped!(endpoint = %io.pipes[key].endpoint, reason = io.refusal(key));
                Out::Dropping
            }
            None => {
                dropped!(
                    routing_id = %id.escape_ascii(),
                    reason = "no peer has this routing id (no ROUTER_MANDATORY)"
                );
                Out::Dropping
            }
        };
        Ok(())
    }

    fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        match self.out {
            Out::Idle => Ok(Slot::Scratch),
            Out::Dropping => Ok(Slot::Discard),
            Out::To(key) => match io.claim(key, len) {
                Ok(()) => Ok(Slot::Pipe(key as u32)),
                Err(WriteError::TooLarge) => {
                    let max = io.pipes[key].end.max_frame() as u32;
                    io.pipes[key].end.rollback();
                    self.out = if more { Out::Dropping } else { Out::Idle };
                    Err(Fail::TooLarge { max })
                }
                // A ROUTER never blocks inside a message: the rest is dropped.
                Err(_) => {
                    dropped!(
                        endpoint = %io.pipes[key].endpoint,
                        reason = "no room for the rest of the message"
                    );
                    io.pipes[key].end.rollback();
                    self.out = Out::Dropping;
                    Ok(Slot::Discard)
                }
            },
        }
    }

    fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        if let Slot::Pipe(key) = slot {
            io.commit(key as usize, len, more);
        }
        if !more {
            self.out = Out::Idle;
        }
    }

    fn abort(&mut self, io: &mut Io) {
        if let Out::To(key) = self.out {
            io.pipes[key].end.rollback();
        }
        self.out = Out::Idle;
    }

    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        self.identify_waiting(io);
        if let Some(key) = self.reading {
            if let Some(rec) = io.peek(key) {
                return Ok(In::Pipe(key as u32, rec));
            }
            self.reading = None;
        }
        let (key, _) = self.fq.recv(io)?;
        self.held.clear();
        self.held.extend_from_slice(&self.ids[&key]);
        self.held_for = Some(key);
        self.last = Some(key);
        Ok(In::Held(true))
    }

    fn held_source(&self) -> Option<PipeKey> {
        self.held_for
    }

    fn consumed(&mut self, io: &mut Io, frame: In) {
        match frame {
            In::Held(_) => self.reading = self.held_for.take(),
            In::Pipe(key, rec) => {
                self.fq.consumed(io, key as usize, rec);
                if !rec.more() {
                    self.reading = None;
                }
            }
            In::Kept => {}
        }
    }

    fn held(&self) -> &[u8] {
        &self.held
    }

    fn readable(&mut self, io: &mut Io) -> bool {
        self.identify_waiting(io);
        self.reading.is_some() || self.fq.readable(io)
    }

    fn writable(&mut self, _io: &mut Io) -> bool {
        true
    }
}
