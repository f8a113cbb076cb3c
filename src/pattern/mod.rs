//! Socket patterns, composed from small building blocks as libzmq composes
//! them: [`LoadBalance`] (round-robin out), [`FairQueue`] (turn-taking in),
//! [`Distribute`] (fan-out), the subscription trie and the routing table.
//!
//! A pattern sees only pipes, by key, never a transport. It is driven by the
//! socket core through four non-blocking calls; each may answer
//! [`Fail::WouldBlock`](crate::Fail::WouldBlock), and the core then waits
//! for a peer and calls again:
//!
//! - [`Pattern::reserve`]: room for the next outbound frame, in a pipe
//!   ([`Slot::Pipe`], written in place then [`Pattern::commit`]ted) or, where
//!   the pattern must see the bytes first (a ROUTER's routing id, a PUB's
//!   topic), nowhere yet ([`Slot::Scratch`], then [`Pattern::send_bytes`]).
//! - [`Pattern::recv`]: the next inbound frame, in a pipe or held by the
//!   pattern (a routing id it prepends), then [`Pattern::consumed`].

mod dealer;
mod dist;
mod fq;
mod lb;
mod pair;
mod pipeline;
mod pubsub;
mod reqrep;
mod rotation;
mod router;
mod stream;
mod trie;

pub(crate) use dist::Distribute;
pub(crate) use fq::FairQueue;
pub(crate) use lb::LoadBalance;

use crate::error::Fail;
use crate::pipe::ring::Record;
use crate::pipe::{PipeEnd, WriteError};
use crate::SocketType;
use slab::Slab;
use std::sync::Arc;

/// A pipe's stable name within its socket.
pub(crate) type PipeKey = usize;

/// A pipe as a socket's pattern sees it.
pub(crate) struct Pipe {
    pub end: PipeEnd,
    /// The endpoint that made it: unbind and disconnect close by endpoint.
    pub endpoint: Arc<str>,
    /// The peer broke the ring; drop the pipe.
    pub broken: bool,
    /// The routing id CONNECT_ROUTING_ID gave this connection's peer: a
    /// ROUTER knows the peer by it, whatever the peer asks for.
    pub given_id: Option<Box<[u8]>>,
}

impl Pipe {
    /// Nothing more will ever come out of, or go into, this pipe (one that
    /// is being handed over stays until its replacement comes).
    pub fn finished(&mut self) -> bool {
        self.broken || (self.end.peer_closed() && !self.end.readable() && !self.end.handing_over())
    }
}

/// Options that change what a pattern does (libzmq's socket options).
#[derive(Debug, Clone, Default)]
pub(crate) struct PatternOptions {
    pub routing_id: Option<Vec<u8>>,
    /// CONNECT_ROUTING_ID: the id the next connect's peer gets.
    pub connect_routing_id: Option<Vec<u8>>,
    pub immediate: bool,
    pub probe_router: bool,
    pub router_mandatory: bool,
    pub router_handover: bool,
    pub req_relaxed: bool,
    pub req_correlate: bool,
    pub xpub_verbose: bool,
    pub xpub_verboser: bool,
    pub xpub_nodrop: bool,
    pub xpub_manual: bool,
    pub xpub_welcome_msg: Option<Vec<u8>>,
    pub invert_matching: bool,
    pub conflate: bool,
}

/// The pipes of one socket, and what its pattern may do with them.
pub(crate) struct Io {
    pub pipes: Slab<Pipe>,
    /// The socket's own doorbell (for its pokes).
    pub bell: std::sync::Arc<crate::pipe::Doorbell>,
    pub opts: PatternOptions,
    /// Some pipe may be finished: the core drops such pipes.
    pub reap: bool,
    /// The socket's pipe when it has exactly one (the one whose reader may
    /// trail a stream: see `PipeEnd::set_slip`).
    pub only_pipe: Option<PipeKey>,
    /// The chunk a loan's frame lies in, while it is being sent: a
    /// fan-out shares it instead of copying the frame.
    #[cfg(not(loom))]
    pub loaned: Option<Arc<crate::transport::ipc::pool::Chunk>>,
}

/// What a receive hands a frame's bytes to: any `FnMut(&[u8]) -> R`, or
/// a reader that also takes the properties of the connection the frame
/// came on, looked up while the pattern has the frame's pipe in hand.
pub(crate) trait ReadFrame<R> {
    /// Whether [`properties`](Self::properties) is wanted: the look-up is
    /// made only then.
    const PROPERTIES: bool = false;
    /// Reads the frame's bytes.
    fn read(&mut self, data: &[u8]) -> R;
    /// Takes the properties of `end`, the pipe the frame just read came
    /// from (`None`: not from a pipe).
    #[inline(always)]
    fn properties(&mut self, end: Option<&mut PipeEnd>) {
        let _ = end;
    }
}

impl<R, F: FnMut(&[u8]) -> R> ReadFrame<R> for F {
    #[inline(always)]
    fn read(&mut self, data: &[u8]) -> R {
        self(data)
    }
}

/// The next frame waiting in pipe `p`, if any. A pipe found finished
/// (peer gone and drained) or broken sets `reap`.
#[inline(always)]
pub(crate) fn peek(p: &mut Pipe, reap: &mut bool) -> Option<Record> {
    match p.end.peek() {
        Ok(Some(rec)) => Some(rec),
        Ok(None) => {
            if p.end.peer_closed() {
                *reap = true;
            }
            None
        }
        Err(_) => {
            p.broken = true;
            *reap = true;
            None
        }
    }
}

/// Whether pipe `p` can take a new message now: its peer is there (or,
/// unless `immediate`, may still come) and it is below its high-water
/// mark. A pipe whose peer is gone sets `reap`.
#[inline(always)]
fn can_start(p: &mut Pipe, immediate: bool, reap: &mut bool) -> bool {
    if p.broken || p.end.peer_closed() {
        *reap = true;
        return false;
    }
    (!immediate || p.end.peer_attached()) && p.end.can_start_message()
}

impl Io {
    /// Asks every peer to wake this socket when it makes room: the socket
    /// is about to sleep until it can send.
    pub fn want_room(&self) {
        for (_, p) in self.pipes.iter() {
            p.end.want_room();
        }
    }

    /// Whether every peer rings this socket with full fences (see
    /// `PipeEnd::set_strong`).
    pub fn all_peers_strong(&self) -> bool {
        self.pipes.iter().all(|(_, p)| p.end.peer_strong())
    }

    /// Why [`can_start`](Self::can_start) said no, for the `tracing` event
    /// of the message dropped for it.
    #[cfg(feature = "tracing")]
    pub fn refusal(&self, key: PipeKey) -> &'static str {
        let p = &self.pipes[key];
        if p.broken || p.end.peer_closed() {
            "the peer is gone"
        } else if self.opts.immediate && !p.end.peer_attached() {
            "the peer is not connected yet (IMMEDIATE)"
        } else {
            "the peer's pipe is at its high-water mark"
        }
    }

    /// Whether `key` can take a new message now: its peer is there (or, unless
    /// IMMEDIATE, may still come) and it is below its high-water mark.
    #[inline(always)]
    pub fn can_start(&mut self, key: PipeKey) -> bool {
        let immediate = self.opts.immediate;
        can_start(&mut self.pipes[key], immediate, &mut self.reap)
    }

    /// Whether `data` goes into a ring as it is: not a loan's frame (its
    /// chunk is shared), not large enough for a chunk of its own.
    #[inline(always)]
    #[cfg_attr(loom, allow(unused_variables))]
    pub fn fits_ring(&self, data: &[u8]) -> bool {
        #[cfg(not(loom))]
        return data.len() <= crate::transport::ipc::pool::CHUNK_MIN && self.loaned.is_none();
        #[cfg(loom)]
        return true;
    }

    /// Passes on the outcome of a write into `key`; a pipe found broken is
    /// dropped at the next reap.
    #[inline(always)]
    fn checked(&mut self, key: PipeKey, done: Result<(), WriteError>) -> Result<(), WriteError> {
        if done == Err(WriteError::Closed) {
            self.pipes[key].broken = true;
            self.reap = true;
        }
        done
    }

    /// Reserves room for a frame of `len` bytes in `key`.
    #[inline(always)]
    pub fn claim(&mut self, key: PipeKey, len: usize) -> Result<(), WriteError> {
        let done = self.pipes[key].end.claim(len).map(|_| ());
        self.checked(key, done)
    }

    /// Copies `data` into `key` as one frame (claim, copy, commit).
    #[inline(always)]
    pub fn write(&mut self, key: PipeKey, data: &[u8], more: bool) -> Result<(), WriteError> {
        let end = &mut self.pipes[key].end;
        let done = end
            .claim(data.len())
            .map(|buf| crate::copy::copy(buf, data));
        if done.is_ok() {
            end.commit(data.len(), more);
        }
        self.checked(key, done)
    }

    /// Sends `data` into `key` as a whole one-frame message (no message
    /// in progress there).
    #[inline(always)]
    pub fn push(&mut self, key: PipeKey, data: &[u8]) -> Result<(), WriteError> {
        let done = self.pipes[key].end.push(data);
        self.checked(key, done)
    }

    /// Whether `key` can take a new message now ([`can_start`](Self::can_start))
    /// and has room for its first frame of `len` bytes: one look-up of
    /// the pipe for both.
    #[inline(always)]
    pub fn can_take(&mut self, key: PipeKey, len: usize) -> bool {
        let immediate = self.opts.immediate;
        let p = &mut self.pipes[key];
        can_start(p, immediate, &mut self.reap) && p.end.has_room(len)
    }

    /// [`push`](Self::push) if [`can_start`](Self::can_start) says it may
    /// take one: `None` if not, else how the write went. One look-up of
    /// the pipe for both.
    #[inline(always)]
    pub fn push_if_startable(
        &mut self,
        key: PipeKey,
        data: &[u8],
    ) -> Option<Result<(), WriteError>> {
        self.if_startable(
            key,
            #[inline(always)]
            |end| end.push(data),
        )
    }

    /// [`push_if_startable`](Self::push_if_startable) of the two-frame
    /// message of an empty delimiter then `data`
    /// ([`PipeEnd::push_delimited`]).
    #[inline(always)]
    pub fn push_delimited_if_startable(
        &mut self,
        key: PipeKey,
        data: &[u8],
    ) -> Option<Result<(), WriteError>> {
        self.if_startable(
            key,
            #[inline(always)]
            |end| end.push_delimited(data),
        )
    }

    #[inline(always)]
    fn if_startable(
        &mut self,
        key: PipeKey,
        send: impl FnOnce(&mut PipeEnd) -> Result<(), WriteError>,
    ) -> Option<Result<(), WriteError>> {
        let immediate = self.opts.immediate;
        let p = &mut self.pipes[key];
        if !can_start(p, immediate, &mut self.reap) {
            return None;
        }
        let done = send(&mut p.end);
        Some(self.checked(key, done))
    }

    /// Sends a frame that lies in `chunk` into `key` by its descriptor,
    /// when `key` writes into the chunk's pool; `None` when it does not
    /// (copy the frame instead).
    #[cfg(not(loom))]
    pub fn write_shared(
        &mut self,
        key: PipeKey,
        chunk: &crate::transport::ipc::pool::Chunk,
        more: bool,
    ) -> Option<Result<(), WriteError>> {
        let end = &mut self.pipes[key].end;
        if !end.shares_pool(chunk.pool()) {
            return None;
        }
        let done = end.send_shared(chunk, more);
        Some(self.checked(key, done))
    }

    /// The room reserved in `key` by the last successful claim.
    #[inline(always)]
    pub fn reserved(&mut self, key: PipeKey) -> &mut [u8] {
        match self.pipes[key].end.claimed_mut() {
            Some(buf) => buf,
            None => unreachable!("no room reserved in pipe {key}"),
        }
    }

    /// Commits the frame written into the reserved room of `key`.
    #[inline(always)]
    pub fn commit(&mut self, key: PipeKey, len: usize, more: bool) {
        self.pipes[key].end.commit(len, more);
    }

    /// The next inbound frame of `key`, if any.
    #[inline(always)]
    pub fn peek(&mut self, key: PipeKey) -> Option<Record> {
        peek(&mut self.pipes[key], &mut self.reap)
    }

    /// The bytes of a frame from [`peek`](Self::peek).
    #[inline(always)]
    pub fn payload(&self, key: PipeKey, rec: &Record) -> &[u8] {
        self.pipes[key].end.payload(rec)
    }

    /// Done with a frame from [`peek`](Self::peek).
    #[inline(always)]
    pub fn consume(&mut self, key: PipeKey, rec: Record) {
        self.pipes[key].end.consume(rec);
    }

    /// Consumes the rest of a message whose frame `rec` was just peeked.
    pub fn skip_message(&mut self, key: PipeKey, mut rec: Record) {
        loop {
            let more = rec.more();
            self.consume(key, rec);
            if !more {
                return;
            }
            // A message is published whole, so its frames are all there.
            match self.peek(key) {
                Some(next) => rec = next,
                None => return,
            }
        }
    }

    /// The routing id of the peer of `key`: the one we gave it
    /// (CONNECT_ROUTING_ID), else the one it asked for (its ROUTING_ID
    /// option), once known.
    pub fn peer_routing_id(&self, key: PipeKey) -> Option<&[u8]> {
        let p = &self.pipes[key];
        p.given_id.as_deref().or_else(|| p.end.peer_routing_id())
    }
}

/// Where the next outbound frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Into pipe `key`, where room is reserved: write it, then `commit`.
    /// (A `u32`, like [`In`]'s, so results carrying it stay in registers.)
    Pipe(u32),
    /// The pattern needs the bytes: pass them to `send_bytes`.
    Scratch,
    /// Nowhere: the rest of this message is dropped (its pipe went away).
    Discard,
}

/// An inbound frame. Kept to 16 bytes, so it travels in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum In {
    /// A frame in pipe `key`'s ring.
    Pipe(u32, Record),
    /// A frame the pattern holds (see [`Pattern::held`]), and whether more
    /// frames follow it.
    Held(bool),
    /// A whole message the socket core holds (CONFLATE's newest).
    Kept,
}

impl In {
    /// Whether more frames of the same message follow.
    #[inline(always)]
    pub fn more(&self) -> bool {
        match self {
            In::Pipe(_, rec) => rec.more(),
            In::Held(more) => *more,
            In::Kept => false,
        }
    }
}

/// What every socket type implements. Defaults refuse the direction.
pub(crate) trait Behaviour {
    /// A new pipe joined.
    fn attach(&mut self, io: &mut Io, key: PipeKey);
    /// A pipe is going away (before it is removed from `io`).
    fn detach(&mut self, io: &mut Io, key: PipeKey);
    /// A new pipe that carries on for `old`, which goes away once drained
    /// (an ipc connection that came up in shared memory): what was sent
    /// into `old` went on through `new`.
    fn attach_replacing(&mut self, io: &mut Io, _old: PipeKey, new: PipeKey) {
        self.attach(io, new);
    }
    /// Room for the next outbound frame of `len` bytes; `more` if frames of
    /// the same message follow it.
    fn reserve(&mut self, _io: &mut Io, _len: usize, _more: bool) -> Result<Slot, Fail> {
        Err(Fail::NotSupported)
    }
    /// The frame in the room `reserve` gave is written: send it on.
    fn commit(&mut self, _io: &mut Io, _slot: Slot, _len: usize, _more: bool) {}
    /// A whole one-frame message `data`, with no message in progress:
    /// `reserve`, copy and `commit` in one call, so the frame's slot never
    /// travels through the socket core. Patterns that put the frame in a
    /// pipe as it is (PUSH, DEALER, PAIR; REQ and REP behind the empty
    /// delimiter) do it in one step of the ring.
    #[inline(always)]
    fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail>
    where
        Self: Sized,
    {
        push_by_reserve(self, io, data)
    }
    /// Abandons the outbound message in progress (nothing of it is published).
    fn abort(&mut self, _io: &mut Io) {}
    /// The next outbound frame, for patterns that answered [`Slot::Scratch`].
    fn send_bytes(&mut self, _io: &mut Io, _data: &[u8], _more: bool) -> Result<(), Fail> {
        Err(Fail::NotSupported)
    }
    /// The next inbound frame.
    fn recv(&mut self, _io: &mut Io) -> Result<In, Fail> {
        Err(Fail::NotSupported)
    }
    /// The frame `recv` gave has been read.
    fn consumed(&mut self, _io: &mut Io, _frame: In) {}
    /// [`recv`](Self::recv), `read` of the frame's bytes, then
    /// [`consumed`](Self::consumed): one call where a receive that copies
    /// the frame out needs no more, so the frame never leaves registers.
    /// Returns what `read` returned and whether more frames follow.
    #[inline(always)]
    fn recv_with<R, F: ReadFrame<R>>(
        &mut self,
        io: &mut Io,
        read: &mut F,
    ) -> Result<(R, bool), Fail>
    where
        Self: Sized,
    {
        let frame = self.recv(io)?;
        let (got, source) = match frame {
            In::Pipe(key, rec) => (
                read.read(io.payload(key as usize, &rec)),
                Some(key as PipeKey),
            ),
            _ => (read.read(self.held()), self.held_source()),
        };
        if F::PROPERTIES {
            read.properties(source.and_then(|k| io.pipes.get_mut(k)).map(|p| &mut p.end));
        }
        self.consumed(io, frame);
        Ok((got, frame.more()))
    }
    /// The bytes of an [`In::Held`] frame.
    fn held(&self) -> &[u8] {
        &[]
    }
    /// The pipe an [`In::Held`] frame stands for (a ROUTER's routing id:
    /// its peer's pipe), if any.
    fn held_source(&self) -> Option<PipeKey> {
        None
    }
    /// Whether a message could be received now.
    fn readable(&mut self, _io: &mut Io) -> bool {
        false
    }
    /// Whether a message could be sent now.
    fn writable(&mut self, _io: &mut Io) -> bool {
        false
    }
    /// SUBSCRIBE / UNSUBSCRIBE (SUB, XSUB; XPUB with XPUB_MANUAL).
    fn subscribe(&mut self, _io: &mut Io, _topic: &[u8], _on: bool) -> Result<(), Fail> {
        Err(Fail::NotSupported)
    }
    /// Whether a second peer is refused (PAIR).
    fn single_peer(&self) -> bool {
        false
    }
    /// Whether a message is still being sent after a frame sent with
    /// `more` (STREAM ends it at the data frame, whatever `more` says).
    #[inline(always)]
    fn sending(&self, more: bool) -> bool {
        more
    }
}

/// [`Behaviour::push`] as `reserve`, copy and `commit`: what a pattern
/// with no one-step way for a message does.
#[inline(always)]
pub(crate) fn push_by_reserve<B: Behaviour>(
    b: &mut B,
    io: &mut Io,
    data: &[u8],
) -> Result<(), Fail> {
    match b.reserve(io, data.len(), false)? {
        Slot::Pipe(key) => {
            crate::copy::copy(io.reserved(key as usize), data);
            b.commit(io, Slot::Pipe(key), data.len(), false);
        }
        Slot::Scratch => return b.send_bytes(io, data, false),
        Slot::Discard => b.commit(io, Slot::Discard, data.len(), false),
    }
    Ok(())
}

/// Every socket type's pattern, dispatched statically so the hot path inlines.
pub(crate) enum Pattern {
    Push(pipeline::Push),
    Pull(pipeline::Pull),
    Pair(pair::Pair),
    Dealer(dealer::Dealer),
    Req(reqrep::Req),
    Rep(reqrep::Rep),
    Router(router::Router),
    Stream(stream::Stream),
    Pub(pubsub::Pub),
    Sub(pubsub::Sub),
}

macro_rules! dispatch {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            Pattern::Push($p) => $e,
            Pattern::Pull($p) => $e,
            Pattern::Pair($p) => $e,
            Pattern::Dealer($p) => $e,
            Pattern::Req($p) => $e,
            Pattern::Rep($p) => $e,
            Pattern::Router($p) => $e,
            Pattern::Stream($p) => $e,
            Pattern::Pub($p) => $e,
            Pattern::Sub($p) => $e,
        }
    };
}

impl Pattern {
    /// A ROUTER's pattern under ROUTER_RAW.
    pub fn router_raw() -> Pattern {
        Pattern::Stream(stream::Stream::router_raw())
    }

    /// The pattern of `kind`.
    pub fn of(kind: SocketType) -> Option<Pattern> {
        Some(match kind {
            SocketType::Push => Pattern::Push(Default::default()),
            SocketType::Pull => Pattern::Pull(Default::default()),
            SocketType::Pair => Pattern::Pair(Default::default()),
            SocketType::Dealer => Pattern::Dealer(Default::default()),
            SocketType::Req => Pattern::Req(Default::default()),
            SocketType::Rep => Pattern::Rep(Default::default()),
            SocketType::Router => Pattern::Router(Default::default()),
            SocketType::Pub => Pattern::Pub(pubsub::Pub::new(false)),
            SocketType::XPub => Pattern::Pub(pubsub::Pub::new(true)),
            SocketType::Sub => Pattern::Sub(pubsub::Sub::new(false)),
            SocketType::XSub => Pattern::Sub(pubsub::Sub::new(true)),
            SocketType::Stream => Pattern::Stream(Default::default()),
            // Thread-safe types: `Context::client`/`server`, not a Socket.
            SocketType::Client
            | SocketType::Server
            | SocketType::Scatter
            | SocketType::Gather
            | SocketType::Radio
            | SocketType::Dish => return None,
        })
    }

    #[inline(always)]
    pub fn attach(&mut self, io: &mut Io, key: PipeKey) {
        dispatch!(self, p => p.attach(io, key))
    }
    #[inline(always)]
    pub fn detach(&mut self, io: &mut Io, key: PipeKey) {
        dispatch!(self, p => p.detach(io, key))
    }
    pub fn attach_replacing(&mut self, io: &mut Io, old: PipeKey, new: PipeKey) {
        dispatch!(self, p => p.attach_replacing(io, old, new))
    }
    #[inline(always)]
    pub fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        dispatch!(self, p => p.reserve(io, len, more))
    }
    #[inline(always)]
    pub fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        dispatch!(self, p => p.commit(io, slot, len, more))
    }
    pub fn abort(&mut self, io: &mut Io) {
        dispatch!(self, p => p.abort(io))
    }
    /// Whether [`reserve`](Self::reserve) always answers [`Slot::Scratch`]
    /// (PUB and XPUB look at every frame before it goes anywhere), so a
    /// send may go straight to [`send_bytes`](Self::send_bytes).
    #[inline(always)]
    pub fn always_scratch(&self) -> bool {
        matches!(self, Pattern::Pub(_))
    }
    #[inline(always)]
    pub fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail> {
        dispatch!(self, p => p.push(io, data))
    }
    #[inline(always)]
    pub fn send_bytes(&mut self, io: &mut Io, data: &[u8], more: bool) -> Result<(), Fail> {
        dispatch!(self, p => p.send_bytes(io, data, more))
    }
    #[inline(always)]
    pub fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        dispatch!(self, p => p.recv(io))
    }
    #[inline(always)]
    pub fn recv_with<R>(
        &mut self,
        io: &mut Io,
        read: &mut impl ReadFrame<R>,
    ) -> Result<(R, bool), Fail> {
        dispatch!(self, p => p.recv_with(io, read))
    }
    #[inline(always)]
    pub fn consumed(&mut self, io: &mut Io, frame: In) {
        dispatch!(self, p => p.consumed(io, frame))
    }
    #[inline(always)]
    pub fn held(&self) -> &[u8] {
        dispatch!(self, p => p.held())
    }
    #[cfg_attr(loom, allow(dead_code))]
    pub fn held_source(&self) -> Option<PipeKey> {
        dispatch!(self, p => p.held_source())
    }
    #[inline(always)]
    pub fn sending(&self, more: bool) -> bool {
        dispatch!(self, p => p.sending(more))
    }
    pub fn readable(&mut self, io: &mut Io) -> bool {
        dispatch!(self, p => p.readable(io))
    }
    pub fn writable(&mut self, io: &mut Io) -> bool {
        dispatch!(self, p => p.writable(io))
    }
    pub fn subscribe(&mut self, io: &mut Io, topic: &[u8], on: bool) -> Result<(), Fail> {
        dispatch!(self, p => p.subscribe(io, topic, on))
    }
    pub fn single_peer(&self) -> bool {
        dispatch!(self, p => p.single_peer())
    }
}
