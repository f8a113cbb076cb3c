//! One tcp or ipc connection: the ZMTP handshake, then frames both ways
//! between the stream and the far end of the socket's pipe.
//!
//! - In: the stream is read in large chunks into one buffer, and
//!   [`Session::read`] finds the frames in place; each is copied once, into
//!   the pipe. When the pipe is full (its high-water mark) the frame stays
//!   in the buffer and the engine stops reading, so TCP pushes back on the
//!   peer. A ZMTP 3.1 peer's SUBSCRIBE/CANCEL commands become the
//!   `0x01`/`0x00` messages PUB/XPUB patterns read.
//! - Out: pipe → [`Session`] (many frames encoded into one buffer) → one
//!   write. A SUB/XSUB's `0x01`/`0x00` messages become subscriptions in the
//!   form the peer's ZMTP version expects, and are remembered so a
//!   reconnected peer gets them again. A thread-safe socket's threads send
//!   into a multi-producer ring beside the pipe (see `threadsafe::remote`),
//!   which the engine reads here and releases after each batch, waking
//!   the writers waiting for room; a RADIO's peer's JOINs and LEAVEs
//!   change the groups its threads read, here, and never reach the pipe.
//!   Over ipc to another zeroring thread-safe socket the connection moves
//!   to shared multi-producer rings after the handshake (`Shm::Mpsc`, see
//!   `threadsafe::shared`): the engine then only moves on what a
//!   connecter's threads queued in that ring, and ends the pipes when the
//!   stream ends.
//! - A connecter keeps its pipe (and ring) across reconnects; a binder's
//!   connection and pipe end together.
//! - Setting up: a connecter resolves a host name on a helper thread, then
//!   connects (within CONNECT_TIMEOUT); every connection then has
//!   HANDSHAKE_IVL to finish its handshake, and once up, HANDSHAKE_IVL at
//!   most between two octets of a frame it has begun.

use super::address::{resolve_in_background, Host};
use super::fault::Fault;
use super::socks::{Socks, Step};
use super::{net, SocketDesc};
use crate::monitor::{self, Why};
use crate::pipe::doorbell::Doorbell;
use crate::pipe::metadata::PeerMetadata;
use crate::pipe::{pipe, Hwm, PipeConfig, PipeEnd, WriteError};
use crate::socket::NewPipe;
use crate::threadsafe::pipe::{Death, InPipe, Link, Pipe, Refused, Taken, Wake};
use crate::threadsafe::{outbound, Outbound, SharedPeer};
use crate::transport::ipc::mpsc_segment::{self, MpscSegment};
use crate::transport::ipc::pool::PeerPool;
use crate::transport::ipc::shm::{self, Offer, PipeSegment};
use crate::transport::stream::{connect_unix, Stream, Target, FD_QUEUE_LIMIT};
use crate::zmtp::zap::{AuthAnswer, AuthReply, AuthRequest, ZapError, ZapReplyReader};
use crate::zmtp::{
    Handshake, HandshakeConfig, HandshakeEvent, Incoming, Metadata, Session, ZmtpError,
};
use crate::SocketType;
use mio::{Interest, Registry, Token};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Stop taking frames from the pipe, and PONGs from the session, while
/// this much waits to be written.
const OUTBOUND_LIMIT: usize = 256 * 1024;
/// How soon a handover that found the shared pipe full looks again: its
/// reader frees room without waking us.
const HANDOVER_RETRY: Duration = Duration::from_micros(100);
/// The read buffer's usual size under load: it starts at [`READ_MIN`] (an
/// idle connection holds one page), doubles up to this while reads fill it,
/// grows beyond (to hold one large frame) only as the frame's octets
/// arrive, and shrinks back to this once it is empty.
const READ_CHUNK: usize = 256 * 1024;
/// The read buffer's first size.
const READ_MIN: usize = 4096;
/// Bytes a second a large frame must average, beyond HANDSHAKE_IVL's
/// allowance (see `Engine::watch_stall`).
const MIN_FRAME_RATE: u64 = 1 << 20;
/// A message frame at least this large that has not all arrived is read
/// straight into its place in the pipe, not through the read buffer.
const DIRECT_MIN: usize = 32 * 1024;

/// A large frame being read straight into the pipe (claimed there).
struct Direct {
    filled: usize,
    len: usize,
    more: bool,
}

enum Proto {
    Idle,
    Handshake(Box<Handshake>),
    Session(Box<Session>),
    /// A STREAM socket's connection: no ZMTP, each chunk read is a
    /// message, each frame taken is written as it is.
    Raw,
    /// Connected to a SOCKS proxy, asking it for the tunnel ZMTP (or raw
    /// bytes) will then go through.
    Socks(Box<Socks>),
}

/// An ipc connection between zeroring sockets moves to shared memory after
/// the handshake (see [`shm`]); meanwhile and after, `proto` is idle.
enum Shm {
    /// ZMTP carries the frames (or the handshake is not done yet).
    Off,
    /// Passing segments: ours sent yet, the peer's taken yet.
    Attaching(Box<Attaching>),
    /// The frames go through shared rings; the stream only tells of the
    /// peer's end, and this plays the peer's part of the pipe.
    Up(crate::pipe::PipeWatch),
    /// Up, but the connecter's pipe to the socket is still being handed
    /// over: what the socket queued there moves into the shared pipe, which
    /// reaches the socket once the socket has stopped writing the old one.
    HandingOver(Box<HandOver>),
    /// A thread-safe socket's connection, up in shared multi-producer
    /// rings (see `threadsafe::shared`).
    Mpsc(Box<MpscUp>),
}

/// A thread-safe socket's connection in shared memory: the socket has its
/// pipes; the engine keeps what ends them, and moves on what the socket's
/// threads queued in its ring (a connecter's).
struct MpscUp {
    /// Declared when the connection ends: our socket's reader may then skip
    /// the claims the peer's threads left half-written.
    death: Arc<Death>,
    /// Our side's links of both directions, closed when the connection ends.
    links: Vec<Arc<Link>>,
    /// A connecter's: the shared pipe what the socket's threads queued in
    /// `outbound` moves into (they write it themselves once that is empty).
    forward: Option<Arc<Pipe>>,
    /// Our credits toward `forward`'s mark.
    credit: std::cell::Cell<u64>,
    /// `forward` was full: look again then (its reader, in another process,
    /// makes room without waking us).
    retry_at: Option<Instant>,
}

impl MpscUp {
    /// Whether our socket has let go of the connection (a binder's: a
    /// connecter's socket tells through its pipe to us).
    fn socket_closed(&self) -> bool {
        self.links.iter().any(|l| l.is_closed())
    }
}

/// Which shared memory an attach sets up, agreed in the READYs.
enum Mode {
    /// Classic sockets' single-producer pipe (the peer's offer).
    Classic(Offer),
    /// Thread-safe sockets' multi-producer pipes (our offer, the peer's).
    Mpsc(mpsc_segment::Offer, mpsc_segment::Offer),
}

/// The segment an attach passes: the connecter's, or the binder's received.
enum Seg {
    Pipe(PipeSegment),
    Mpsc(MpscSegment),
}

struct HandOver {
    /// Our end of the socket's old pipe.
    old: PipeEnd,
    /// The socket's end of the shared pipe, written by us until handed over.
    new: PipeEnd,
    watch: crate::pipe::PipeWatch,
    /// The new pipe could not take a message's later frame: the rest of
    /// that message is dropped.
    dropping: bool,
    /// The new pipe has no room for the next message: try again then (its
    /// reader, in another process, frees room without waking us).
    retry_at: Option<Instant>,
}

/// A ZAP request on its way: the pipe to the context's ZAP handler (ours
/// alone: one request, then dropped) and the reply read so far.
struct ZapCall {
    end: PipeEnd,
    reply: ZapReplyReader,
}

struct Attaching {
    mode: Mode,
    peer_id: Vec<u8>,
    capacity: usize,
    /// The connecter's new segment, and its descriptor until sent.
    segment: Option<Seg>,
    segment_fd: Option<OwnedFd>,
    sent: bool,
    /// The peer's doorbell, (binder) the segment it sent, and its chunk pool.
    received: Option<(crate::pipe::Doorbell, Option<Seg>, Option<PeerPool>)>,
}

pub(crate) struct Engine {
    token: Token,
    desc: SocketDesc,
    endpoint: String,
    bell: Arc<Doorbell>,
    stream: Option<Stream>,
    /// A non-blocking connect is in progress.
    connecting: bool,
    proto: Proto,
    shm: Shm,
    end: Option<PipeEnd>,
    /// A thread-safe socket's: the ring its threads send from, which comes
    /// and goes with `end` (whose outbound ring they leave empty); a
    /// RADIO's also keeps the groups the peer joined.
    outbound: Option<Outbound>,
    /// Connecter: where to (re)connect, when, and the next backoff.
    target: Option<Target>,
    /// A host name lookup in progress, and its answer once in.
    resolving: Option<mpsc::Receiver<std::io::Result<SocketAddr>>>,
    resolved: Option<std::io::Result<SocketAddr>>,
    /// The connection's far end (tcp), for a PLAIN server's authenticator.
    peer: Option<SocketAddr>,
    /// The connection's properties once its handshake is done, for the
    /// messages received on it (`zmq_msg_gets`).
    metadata: Option<Arc<PeerMetadata>>,
    /// When the connect (CONNECT_TIMEOUT) or the handshake (HANDSHAKE_IVL)
    /// in progress is given up.
    deadline: Option<Instant>,
    /// When the frame in progress must be whole, however it trickles in
    /// (see [`watch_stall`](Self::watch_stall)).
    frame_cap: Option<Instant>,
    /// The socket disconnected this endpoint, or is gone (told to ipc
    /// connecters, whose new pipe may not have reached the socket).
    forgotten: bool,
    /// A connection of this engine came up once (its peer was there).
    was_ready: bool,
    reconnect_at: Option<Instant>,
    backoff: Duration,
    out: Vec<u8>,
    out_pos: usize,
    /// Octets read from the stream; `[in_pos, in_end)` not yet taken.
    in_buf: Vec<u8>,
    in_pos: usize,
    in_end: usize,
    /// The frame at `in_pos` waits for room in the pipe.
    in_blocked: bool,
    /// Room the blocked frame needs (its wire length: an upper bound).
    in_blocked_room: usize,
    /// Octets the frame at `in_pos` needs in all (header and body), once
    /// its header is in.
    in_need: usize,
    /// A large frame whose body is read into the pipe directly.
    direct: Option<Direct>,
    /// The inbound frame to write next starts a message.
    in_msg_start: bool,
    /// The outbound frame to read next starts a message.
    out_msg_start: bool,
    /// The stream may hold bytes not read yet (mio is edge-triggered).
    read_ready: bool,
    /// The peer closed (or reset) the stream: deliver what it sent, then go.
    ended: bool,
    /// The poll reported the peer's FIN (or an error) on this connection.
    hup_seen: bool,
    /// SUB/XSUB: subscriptions sent, with counts, for a reconnected peer;
    /// DISH: the groups joined (count 1).
    subs: BTreeMap<Vec<u8>, u32>,
    /// DISH: the group frame of the message arriving (libzmq's RADIO sends
    /// group, then body), or what is skipped of a malformed one.
    in_group: InGroup,
    /// Why the stream broke (errno; EPIPE for the peer's close), for a
    /// handshake that fails on it.
    io_errno: i32,
    /// Why we dropped the connection, when it was the peer's doing (a
    /// protocol breach, a timeout), for the monitor's `tracing` events.
    fault: Option<Fault>,
    /// When the socket went (closed or disconnected): LINGER counts from here.
    gone_at: Option<Instant>,
    /// The handshake asked the ZAP handler and waits for its reply (at most
    /// until the handshake's deadline, HANDSHAKE_IVL).
    zap: Option<Box<ZapCall>>,
    done: bool,
}

impl Engine {
    fn new(token: Token, desc: SocketDesc, endpoint: String, bell: Arc<Doorbell>) -> Self {
        let backoff = desc.reconnect_ivl.unwrap_or_default();
        Engine {
            token,
            desc,
            endpoint,
            bell,
            stream: None,
            connecting: false,
            proto: Proto::Idle,
            shm: Shm::Off,
            end: None,
            outbound: None,
            target: None,
            resolving: None,
            resolved: None,
            peer: None,
            metadata: None,
            deadline: None,
            frame_cap: None,
            forgotten: false,
            was_ready: false,
            reconnect_at: None,
            backoff,
            out: Vec::new(),
            out_pos: 0,
            in_buf: vec![0; READ_MIN],
            in_pos: 0,
            in_end: 0,
            in_blocked: false,
            in_blocked_room: 0,
            in_need: 0,
            direct: None,
            in_msg_start: true,
            out_msg_start: true,
            read_ready: false,
            ended: false,
            hup_seen: false,
            subs: BTreeMap::new(),
            in_group: InGroup::Expect,
            io_errno: 0,
            fault: None,
            gone_at: None,
            zap: None,
            done: false,
        }
    }

    /// An engine that connects to `target` (now, and again after losses).
    /// Without a pipe (and, for a thread-safe socket, its ring), it makes
    /// one once connected.
    pub fn connecter(
        token: Token,
        target: Target,
        (end, outbound): (Option<PipeEnd>, Option<Outbound>),
        desc: SocketDesc,
        endpoint: String,
        bell: Arc<Doorbell>,
    ) -> Self {
        let mut e = Engine::new(token, desc, endpoint, bell);
        e.target = Some(target);
        e.end = end.map(|end| e.hold(end));
        e.outbound = outbound;
        e.reconnect_at = Some(Instant::now());
        e
    }

    /// A connecter's pipe to its socket, kept while there is no connection:
    /// the socket rings us when it goes (so LINGER starts then, even in
    /// the middle of a handshake), but IMMEDIATE does not count us as its
    /// peer until a connection is up.
    fn hold(&self, mut end: PipeEnd) -> PipeEnd {
        end.set_away(true);
        end.attach(self.bell.clone());
        end
    }

    /// An engine for a connection a listener accepted.
    pub fn accepted(
        token: Token,
        mut stream: Stream,
        peer: Option<SocketAddr>,
        desc: SocketDesc,
        endpoint: String,
        bell: Arc<Doorbell>,
        registry: &Registry,
    ) -> Self {
        let mut e = Engine::new(token, desc, endpoint, bell);
        if let Stream::Tcp(tcp) = &stream {
            net::tune(tcp, &e.desc.keepalive, &e.desc.net, true);
        }
        e.peer = peer;
        if registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .is_err()
        {
            e.done = true;
            return e;
        }
        e.stream = Some(stream);
        e.start_handshake();
        e
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether everything the socket sent has been written to the stream.
    pub fn flushed(&mut self) -> bool {
        let handing_over = match &mut self.shm {
            Shm::HandingOver(h) => h.old.readable(),
            _ => false,
        };
        self.out_pos == self.out.len()
            && !handing_over
            && !self.end.as_mut().is_some_and(|e| e.readable())
            && !self.outbound.as_mut().is_some_and(|o| o.rx.readable())
    }

    /// Whether what the socket sent may still reach a peer: a connection
    /// is up or on its way up, or this connecter's peer has yet to come
    /// (it tries again, as libzmq's do while LINGER lasts). A peer that was
    /// there and went is not waited for.
    pub fn may_deliver(&self) -> bool {
        (self.stream.is_some() && !self.ended) || (self.target.is_some() && !self.was_ready)
    }

    /// The socket closed its end of the pipe (or, holding none, told us).
    fn socket_gone(&self) -> bool {
        // A pipe may reach the socket's mailbox just as the socket goes:
        // then only `forget` tells.
        if self.forgotten {
            return true;
        }
        match &self.shm {
            Shm::Up(watch) => return watch.local_closed(),
            Shm::Mpsc(m) if self.target.is_none() => return m.socket_closed(),
            _ => {}
        }
        self.end.as_ref().is_some_and(|e| e.peer_closed())
    }

    /// The socket `socket_id` disconnected `endpoint` (None: it is gone).
    /// Told to ipc connecters, whose pipe to the socket may still be in its
    /// mailbox.
    pub fn forget(&mut self, socket_id: u64, endpoint: Option<&str>) {
        if self.desc.socket_id == socket_id
            && self.target.is_some()
            && endpoint.map_or(true, |e| e == self.endpoint)
        {
            self.forgotten = true;
        }
    }

    /// The socket's LINGER as it closes, if this connection is its.
    pub fn set_linger(&mut self, socket_id: u64, linger: Option<Duration>) {
        if self.desc.socket_id == socket_id {
            self.desc.linger = linger;
        }
    }

    /// How long the socket lets unsent messages delay closing (LINGER).
    pub fn linger(&self) -> Option<Duration> {
        self.desc.linger
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        let timer = match &self.proto {
            Proto::Session(s) => s.next_timeout(),
            _ if self.stream.is_none() => self.reconnect_at,
            _ => None,
        };
        let linger_end = self.gone_at.zip(self.desc.linger).map(|(t, l)| t + l);
        let handover = match &self.shm {
            Shm::HandingOver(h) => h.retry_at,
            Shm::Mpsc(m) => m.retry_at,
            _ => None,
        };
        timer
            .into_iter()
            .chain(linger_end)
            .chain(self.deadline)
            .chain(handover)
            .min()
    }

    /// The socket is gone and the engine may close: what it sent has left,
    /// LINGER is up, or there is no connection left to try.
    fn may_close(&mut self, now: Instant) -> bool {
        if !self.socket_gone() {
            return false;
        }
        let since = *self.gone_at.get_or_insert(now);
        let expired = self.desc.linger.is_some_and(|l| now >= since + l);
        expired || self.flushed() || (self.stream.is_none() && self.target.is_none())
    }

    /// Readiness from the poll.
    /// `hup`: the peer closed its side (or the socket failed).
    pub fn on_event(&mut self, readable: bool, writable: bool, hup: bool) {
        self.hup_seen |= hup;
        if self.connecting && (writable || readable) {
            let Some(stream) = &self.stream else { return };
            match stream.take_error() {
                // Refused, unreachable, ...: drop it and retry later.
                Ok(Some(_)) | Err(_) => return self.lost(),
                Ok(None) => match stream.peer_connected() {
                    Ok(()) => {
                        self.connecting = false;
                        self.emit(monitor::EVENT_CONNECTED, self.fd());
                        self.start_tunnel_or_handshake();
                    }
                    // Woken before the connect finished.
                    Err(e) if e.kind() == ErrorKind::NotConnected => return,
                    Err(_) => return self.lost(),
                },
            }
        }
        if readable {
            self.read_ready = true;
        }
    }

    /// Whether the engine could make progress now (the I/O thread's
    /// re-check before it sleeps).
    pub fn has_work(&mut self) -> bool {
        if self.done {
            return false;
        }
        let open = self.stream.is_some() && !self.connecting;
        // An ended connection only delivers what it read, then goes.
        let live = open && !self.ended;
        // Frames to take only while the output has room: with the stream
        // full, the next write readiness is what brings work.
        let pending = self.out.len() - self.out_pos;
        let outbound =
            live && match &self.proto {
                Proto::Session(s) => pending + s.pending_transmit() < OUTBOUND_LIMIT,
                Proto::Raw => pending < OUTBOUND_LIMIT,
                _ => false,
            } && (self.end.as_mut().is_some_and(|e| e.readable())
                || self.outbound.as_mut().is_some_and(|o| o.rx.readable()));
        // A frame waits for the pipe: work once it would fit (below the
        // mark for a message's first frame, and ring room), not before, or
        // the thread would spin until the reader makes room.
        let (starts, room) = (self.in_msg_start, self.in_blocked_room);
        let inbound = self.in_blocked
            && self
                .end
                .as_mut()
                .is_some_and(|e| (!starts || e.can_start_message()) && e.has_room(room));
        let gone = self.may_close(Instant::now());
        let finished = open && self.ended && !self.in_blocked;
        // Handing over: the socket wrote more, or stopped writing.
        let handover = match &mut self.shm {
            Shm::HandingOver(h) => {
                h.retry_at.is_none() && (h.old.peer_closed() || h.old.readable())
            }
            // What the socket's threads queued moves into the shared pipe.
            Shm::Mpsc(m) => {
                m.forward.is_some()
                    && m.retry_at.is_none()
                    && self.outbound.as_mut().is_some_and(|o| o.rx.readable())
            }
            _ => false,
        };
        // The ZAP handler replied (or went away).
        let zap = self
            .zap
            .as_mut()
            .is_some_and(|z| z.end.readable() || z.end.peer_closed());
        outbound
            || inbound
            || zap
            || handover
            || gone
            || finished
            || self.poll_resolver()
            || (live && self.read_ready && !self.in_blocked)
    }

    /// Moves whatever can move without blocking; whether anything did.
    pub fn pump(&mut self, registry: &Registry, now: Instant) -> bool {
        if self.done {
            return false;
        }
        if matches!(&self.shm, Shm::Up(w) if w.local_broken()) {
            // Our socket found the peer's ring broken and let go of it: a
            // protocol error, as a malformed ZMTP frame would be.
            self.io_errno = libc::EPROTO;
            self.fault = Some(Fault::Other("the peer broke a shared-memory ring"));
            self.lost();
            return true;
        }
        if self.may_close(now) {
            // As libzmq, a socket closed before its connection came up
            // still has its messages delivered, within LINGER.
            self.close(registry);
            return true;
        }
        if self.stream.is_none() {
            if self.poll_resolver() {
                match self.resolved.take() {
                    Some(Ok(addr)) => self.connect_to(addr, registry, now),
                    _ => self.schedule_reconnect(),
                }
                return true;
            }
            if self.reconnect_at.is_some_and(|t| now >= t) {
                self.start_connect(registry, now);
                return true;
            }
            return false;
        }
        // (A frame's octets may be waiting to be read: that is progress.)
        let unread = matches!(self.proto, Proto::Session(_)) && self.read_ready;
        if self.deadline.is_some_and(|d| now >= d) && !unread {
            // CONNECT_TIMEOUT or HANDSHAKE_IVL ran out (for a connection,
            // its handshake, or a frame begun): a connecter retries.
            self.fault = Some(Fault::Other("CONNECT_TIMEOUT or HANDSHAKE_IVL ran out"));
            self.lost();
            return true;
        }
        let mut work = self.deliver(now);
        let mut progressed = false;
        if self.read_ready && !self.in_blocked && !self.connecting && !self.ended {
            progressed = self.read(now);
            work |= progressed;
        }
        work |= self.poll_zap(now);
        self.watch_stall(progressed, now);
        if self.ended {
            if !self.in_blocked {
                // Everything the peer sent before it left is in the pipe.
                self.lost();
                return true;
            }
            return work;
        }
        work |= self.pull_outbound();
        work |= self.write();
        work |= self.shm_step();
        let mut dead = false;
        if let Proto::Session(s) = &mut self.proto {
            s.handle_timeout(now);
            if self.out.len() - self.out_pos < OUTBOUND_LIMIT {
                s.transmit_into(&mut self.out);
            }
            if let Some(e) = s.error() {
                self.fault = Some(Fault::Zmtp(e.clone()));
                dead = true;
            }
        }
        work |= self.write();
        if dead {
            self.lost();
        }
        if self.stream.is_none() && self.target.is_none() {
            self.close(registry);
        }
        work
    }

    /// After the handshake, a frame begun must keep coming: a peer that
    /// sends nothing more of it for HANDSHAKE_IVL loses the connection, so
    /// what it sent (up to MAXMSGSIZE, in the read buffer or a chunk) is
    /// not held for ever. Nor may it trickle: the whole frame must be in
    /// within HANDSHAKE_IVL plus its size at [`MIN_FRAME_RATE`] (a 64 MiB
    /// frame: 64 s more), or an octet every so often would hold a chunk
    /// for years. Between frames a peer may be silent as long as it likes;
    /// while the pipe is full, we are the ones not reading.
    fn watch_stall(&mut self, progressed: bool, now: Instant) {
        if !matches!(self.proto, Proto::Session(_)) {
            return;
        }
        let mid_frame = self.direct.is_some() || (self.in_pos < self.in_end && !self.in_blocked);
        let Some(ivl) = self.desc.handshake_ivl.filter(|_| mid_frame) else {
            self.deadline = None;
            self.frame_cap = None;
            return;
        };
        if self.frame_cap.is_none() {
            let len = self.direct.as_ref().map_or(self.in_need, |d| d.len) as u64;
            let trickle = Duration::from_secs(len / MIN_FRAME_RATE);
            self.frame_cap = Some(now + ivl + trickle);
        }
        if progressed || self.deadline.is_none() {
            self.deadline = Some(now + ivl);
        }
        self.deadline = self.deadline.min(self.frame_cap);
    }

    fn handshake_config(&self) -> HandshakeConfig {
        let mut cfg = HandshakeConfig::new(self.desc.kind);
        // The handshake announces it only for REQ, DEALER and ROUTER, as libzmq.
        cfg.routing_id = self.desc.routing_id.clone();
        // Frames the pipe cannot carry are refused from their size alone:
        // those too large for its ring go into chunks of the socket's pool.
        let pipe_max = crate::transport::ipc::pool::CHUNK_MAX as u64;
        cfg.max_frame_size = Some(self.desc.max_msg_size.map_or(pipe_max, |m| m.min(pipe_max)));
        cfg.heartbeat = self.desc.heartbeat;
        cfg.mechanism = self.desc.mechanism.clone();
        cfg.peer_address = self.peer;
        cfg.properties.clone_from(&self.desc.metadata);
        cfg.zap_domain = self.desc.zap_domain.clone();
        cfg.zap_enforce_domain = self.desc.zap_enforce_domain;
        cfg.zap_address = self
            .stream
            .as_ref()
            .map(Stream::peer_address)
            .unwrap_or_default();
        if let Some(offer) = self.shm_offer() {
            cfg.properties.push((shm::PROPERTY.into(), offer.encode()));
        }
        if let Some(offer) = self.mpsc_offer() {
            cfg.properties
                .push((mpsc_segment::PROPERTY.into(), offer.encode()));
        }
        cfg
    }

    /// A connecter's connection is up: to the peer, or to the SOCKS proxy
    /// that will tunnel to it (within HANDSHAKE_IVL, as the handshake).
    fn start_tunnel_or_handshake(&mut self) {
        let dest = match &self.target {
            Some(Target::Tcp(t)) => t.socks.clone(),
            _ => None,
        };
        let Some(dest) = dest else {
            return self.start_handshake();
        };
        self.deadline = self.desc.handshake_ivl.map(|d| Instant::now() + d);
        let (socks, greeting) = Socks::new(dest);
        self.out.extend_from_slice(&greeting);
        self.proto = Proto::Socks(Box::new(socks));
    }

    fn start_handshake(&mut self) {
        if self.desc.raw {
            return self.start_raw();
        }
        self.deadline = self.desc.handshake_ivl.map(|d| Instant::now() + d);
        match Handshake::new(self.handshake_config()) {
            Ok(mut h) => {
                while let Some(bytes) = h.poll_transmit() {
                    self.out.extend_from_slice(&bytes);
                }
                self.proto = Proto::Handshake(Box::new(h));
            }
            Err(e) => {
                self.emit_failure(e);
                self.lost();
            }
        }
    }

    /// A raw connection (STREAM, ROUTER_RAW) is up at once: no greeting, no
    /// handshake, and (STREAM_NOTIFY) an empty message tells the socket.
    fn start_raw(&mut self) {
        self.deadline = None;
        self.proto = Proto::Raw;
        self.metadata = Some(self.connection_metadata(None, None));
        self.on_ready(Vec::new());
        self.notify_raw();
    }

    /// STREAM_NOTIFY's empty message, at a raw connection's start and end.
    /// Lost if the socket's pipe is at its mark, as libzmq's would be.
    fn notify_raw(&mut self) {
        if let (true, Some(end)) = (self.desc.stream_notify, &mut self.end) {
            let _ = put(end, &mut self.in_msg_start, &[], &[], false);
        }
    }

    /// Tells the socket's monitor, if it has one.
    fn emit(&self, id: i32, value: u32) {
        self.emit_because(id, value, Why::Nothing);
    }

    /// [`emit`](Self::emit), with why it happened.
    fn emit_because(&self, id: i32, value: u32, why: Why<'_>) {
        self.desc
            .shared
            .monitor
            .emit_because(id, value, &self.endpoint, why);
    }

    /// Reports a failed handshake, which is also why the connection ends.
    fn emit_failure(&mut self, e: ZmtpError) {
        let (id, value) = monitor::handshake_failure(&e);
        self.emit_because(id, value, Why::Fault(&e));
        self.fault = Some(Fault::Zmtp(e));
    }

    /// The stream's descriptor, as monitor events report it.
    fn fd(&self) -> u32 {
        self.stream.as_ref().map_or(0, |s| s.as_raw_fd() as u32)
    }

    fn start_connect(&mut self, registry: &Registry, now: Instant) {
        self.reconnect_at = None;
        let Some(target) = self.target.clone() else {
            return;
        };
        match &target {
            Target::Tcp(addr) => match &addr.host {
                Host::Ip(ip) => {
                    let ip = SocketAddr::new(*ip, addr.port);
                    self.connect_to(ip, registry, now);
                }
                // As libzmq's connecter, whose address fails to resolve:
                // try again later (the same way).
                Host::Unusable(_) => self.schedule_reconnect(),
                // Resolved at each attempt, as libzmq does: the name may
                // point elsewhere by now.
                Host::Name(name) => match resolve_in_background(
                    name.clone(),
                    addr.port,
                    addr.ipv6,
                    self.bell.clone(),
                ) {
                    Ok(rx) => self.resolving = Some(rx),
                    Err(_) => self.schedule_reconnect(),
                },
            },
            Target::Ipc(addr) => {
                let stream = connect_unix(addr);
                self.start_stream(stream, registry, now);
            }
        }
    }

    /// Whether a host name lookup has answered (the answer is in
    /// `resolved`).
    fn poll_resolver(&mut self) -> bool {
        if let Some(rx) = &self.resolving {
            match rx.try_recv() {
                Ok(answer) => self.resolved = Some(answer),
                Err(mpsc::TryRecvError::Empty) => return false,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.resolved = Some(Err(ErrorKind::Other.into()));
                }
            }
            self.resolving = None;
        }
        self.resolved.is_some()
    }

    /// Connects (tcp) to `addr`, from the target's source address if any.
    fn connect_to(&mut self, addr: SocketAddr, registry: &Registry, now: Instant) {
        let source = match &self.target {
            Some(Target::Tcp(t)) => t.source_for(addr),
            _ => Ok(None),
        };
        let stream = source.and_then(|source| net::connect(addr, source, &self.desc.net));
        let stream = stream.map(|s| {
            net::tune(&s, &self.desc.keepalive, &self.desc.net, false);
            Stream::Tcp(s)
        });
        self.peer = Some(addr);
        self.start_stream(stream, registry, now);
    }

    /// Watches a connect in progress.
    fn start_stream(&mut self, stream: std::io::Result<Stream>, registry: &Registry, now: Instant) {
        match stream {
            Ok(mut stream) => {
                if registry
                    .register(
                        &mut stream,
                        self.token,
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .is_ok()
                {
                    self.stream = Some(stream);
                    self.connecting = true;
                    self.emit(monitor::EVENT_CONNECT_DELAYED, libc::EINPROGRESS as u32);
                    self.deadline = self.desc.connect_timeout.map(|d| now + d);
                } else {
                    self.schedule_reconnect();
                }
            }
            Err(_) => self.schedule_reconnect(),
        }
    }

    /// The next attempt, as libzmq's connecter times it: the current
    /// interval plus a random jitter below RECONNECT_IVL (so that peers a
    /// restart disconnected together do not all come back in the same
    /// millisecond); the interval doubles, up to RECONNECT_IVL_MAX, only
    /// when that is above RECONNECT_IVL. At RECONNECT_IVL 0 libzmq arms no
    /// timer: the connecter keeps its pipe and tries no more (rather than
    /// reconnecting in a busy loop).
    fn schedule_reconnect(&mut self) {
        let Some(ivl) = self.desc.reconnect_ivl else {
            self.target = None;
            return;
        };
        if ivl.is_zero() {
            self.reconnect_at = None;
            return;
        }
        let interval = self.backoff + jitter(ivl);
        self.reconnect_at = Some(Instant::now() + interval);
        let ms = u32::try_from(interval.as_millis()).unwrap_or(u32::MAX);
        self.emit(monitor::EVENT_CONNECT_RETRIED, ms);
        if let Some(max) = self.desc.reconnect_ivl_max.filter(|&max| max > ivl) {
            self.backoff = (self.backoff * 2).min(max);
        }
    }

    /// The connection is lost (or failed): drop it; a connecter tries again.
    fn lost(&mut self) {
        let Some(mut stream) = self.stream.take() else {
            // Already lost (a failed write while flushing an ERROR, then
            // the failure itself): a second pass would schedule a second
            // reconnect and double the backoff.
            self.fault = None;
            return;
        };
        if self.fault.as_ref().is_some_and(Fault::ends_connecter) {
            // The peer broke the protocol (or refused us, with ERROR): a
            // connecter gives up, as libzmq's does.
            self.target = None;
        }
        // The shared-memory attach ends the handshake: failing it (a
        // forged segment, the peer gone) is reported as a failed handshake.
        let attaching = matches!(self.shm, Shm::Attaching(_));
        match std::mem::replace(&mut self.shm, Shm::Off) {
            Shm::Up(watch) => {
                // The peer is gone: our socket reads what it published,
                // then sees the pipe closed.
                watch.close_peer();
                if self.target.is_some() && !self.forgotten {
                    // Until the next connection, messages queue in a pipe
                    // to us.
                    self.end = Some(self.queue_pipe());
                }
            }
            Shm::HandingOver(h) => {
                // Lost while handing over: the socket still gets what the
                // peer published (what it queued and we had not moved yet
                // goes with the connection).
                self.finish_handover(*h).close_peer();
                if !self.forgotten {
                    self.end = Some(self.queue_pipe());
                }
            }
            Shm::Mpsc(m) => {
                // The peer is gone: our socket reads what it published (past
                // what its threads left half-written), then sees the pipes
                // closed; its writers go back to the ring to us (a
                // connecter's, for the next connection) or drop the peer.
                m.death.declare();
                for link in &m.links {
                    link.close();
                }
            }
            _ => {}
        }
        let _ = stream.flush();
        let fd = stream.as_raw_fd() as u32;
        drop(stream);
        if let Some(end) = &self.end {
            // Before the event: whoever sees DISCONNECTED finds IMMEDIATE
            // already counting this peer as away.
            end.set_away(true);
        }
        let attempt_failed = self.connecting;
        if self.connecting {
            // The attempt never came up: libzmq closes it, no disconnect.
            self.emit(monitor::EVENT_CLOSED, fd);
        } else {
            if attaching || matches!(self.proto, Proto::Handshake(_)) {
                // Broken mid-handshake. Protocol failures were reported
                // where they happened, and left no handshake behind.
                let errno = match self.io_errno {
                    0 => libc::EPIPE,
                    e => e,
                };
                let why = match &self.fault {
                    Some(fault) => Why::Fault(fault),
                    None => Why::Errno(errno),
                };
                self.emit_because(monitor::EVENT_HANDSHAKE_FAILED_NO_DETAIL, errno as u32, why);
            }
            let why = match &self.fault {
                Some(fault) => Why::Fault(fault),
                None => Why::Errno(self.io_errno),
            };
            self.emit_because(monitor::EVENT_DISCONNECTED, fd, why);
        }
        if matches!(self.proto, Proto::Raw) {
            self.notify_raw();
        }
        self.io_errno = 0;
        self.fault = None;
        self.connecting = false;
        self.deadline = None;
        // A request still out is forgotten: its pipe closes.
        self.zap = None;
        self.proto = Proto::Idle;
        self.out.clear();
        self.out_pos = 0;
        self.in_pos = 0;
        self.in_end = 0;
        self.in_need = 0;
        if self.in_buf.len() > READ_CHUNK {
            // A connecter lives on: not with the last frame's buffer.
            self.in_buf = vec![0; READ_CHUNK];
        }
        self.in_blocked = false;
        self.direct = None;
        self.read_ready = false;
        self.ended = false;
        self.hup_seen = false;
        if let Some(end) = &mut self.end {
            // Frames of a message cut off mid-way were never published.
            end.rollback();
            if !self.out_msg_start {
                // The rest of a message cut off on its way out has no
                // connection to finish on (it is published whole, so it
                // is all there).
                while let Ok(Some(rec)) = end.peek() {
                    end.consume(rec);
                    if !rec.more() {
                        break;
                    }
                }
            }
        }
        self.in_msg_start = true;
        self.in_group = InGroup::Expect;
        self.out_msg_start = true;
        if let Some(o) = &self.outbound {
            // The next connection's peer joins afresh.
            o.forget_groups();
        }
        if self.target.is_some() {
            self.schedule_reconnect();
        }
        // A binder's pipe ends with its connection, and so does that of a
        // connecter that will not try again: as libzmq's session, which
        // then ends the endpoint (RECONNECT_IVL -1), or ends itself (a
        // protocol error). One whose connect attempt failed without ever
        // starting a connection stays (libzmq's connecter just stops).
        if self.target.is_none() && !attempt_failed {
            self.end = None;
            self.outbound = None;
            self.done = true;
        }
    }

    fn close(&mut self, registry: &Registry) {
        if let Some(mut s) = self.stream.take() {
            let _ = registry.deregister(&mut s);
        }
        if let Shm::Mpsc(m) = std::mem::replace(&mut self.shm, Shm::Off) {
            for link in &m.links {
                link.close();
            }
        }
        self.end = None;
        self.outbound = None;
        self.done = true;
    }

    /// Acts on what the handshake has to send and to say, after input or
    /// an authentication answer: its output goes out; a request for an
    /// authentication decision goes to the ZAP handler (or is answered at
    /// once when there is none); READY starts the session; a failure ends
    /// the connection.
    fn handshake_progress(&mut self, mut h: Box<Handshake>, now: Instant) {
        loop {
            while let Some(bytes) = h.poll_transmit() {
                self.out.extend_from_slice(&bytes);
            }
            match h.poll_event() {
                Some(HandshakeEvent::Authenticate(request)) => {
                    if let Some(answer) = self.ask_zap(&request) {
                        let _ = h.authenticate(answer);
                    }
                }
                Some(HandshakeEvent::Ready {
                    peer_routing_id,
                    peer_properties,
                    auth,
                    ..
                }) => {
                    self.metadata =
                        Some(self.connection_metadata(Some(&peer_properties), auth.as_ref()));
                    match h.into_session(now) {
                        Ok((session, rest)) => {
                            // `rest` came from octets taken since the last
                            // read (none when the answer came last).
                            if self.in_buf.len() < rest.len() {
                                self.in_buf.resize(rest.len(), 0);
                            }
                            self.in_buf[..rest.len()].copy_from_slice(&rest);
                            (self.in_pos, self.in_end) = (0, rest.len());
                            // Before the pipe reaches the socket, so whoever
                            // sees a message can already see the event.
                            self.emit(monitor::EVENT_HANDSHAKE_SUCCEEDED, 0);
                            let peer_id = peer_routing_id.unwrap_or_default();
                            if let Some(peer) = self.shm_agreed(&peer_properties) {
                                self.begin_shm(Mode::Classic(peer), peer_id);
                                return;
                            }
                            if let Some(mode) = self.mpsc_agreed(&peer_properties) {
                                self.begin_shm(mode, peer_id);
                                return;
                            }
                            self.proto = Proto::Session(Box::new(session));
                            self.on_ready(peer_id);
                            self.deliver(now);
                        }
                        Err(_) => self.lost(),
                    }
                    return;
                }
                Some(HandshakeEvent::Failed(e)) => {
                    self.emit_failure(e);
                    // Flush the ERROR the handshake may have queued.
                    let _ = self.write();
                    self.lost();
                    return;
                }
                None => {
                    self.proto = Proto::Handshake(h);
                    return;
                }
            }
        }
    }

    /// Sends `request` to the ZAP handler bound in the socket's context,
    /// over a pipe of this connection's own whose replies ring the I/O
    /// thread (so nothing waits for it); the answer if there is one at once
    /// (no handler bound, or the request did not fit its pipe).
    fn ask_zap(&mut self, request: &AuthRequest) -> Option<AuthAnswer> {
        let handler = self
            .desc
            .context
            .upgrade()
            .and_then(|ctx| ctx.inproc.connect_zap());
        let Some(mut end) = handler else {
            return Some(AuthAnswer::NoHandler);
        };
        end.attach(self.bell.clone());
        end.set_strong();
        let frames = request.to_zap_frames();
        let mut start = true;
        for (i, frame) in frames.iter().enumerate() {
            if !matches!(
                put(&mut end, &mut start, &[], frame, i + 1 < frames.len()),
                Ok(true)
            ) {
                return Some(AuthAnswer::Invalid(ZapError::Unspecified));
            }
        }
        self.zap = Some(Box::new(ZapCall {
            end,
            reply: ZapReplyReader::new(),
        }));
        None
    }

    /// Reads the ZAP handler's reply, if it came, and hands the answer to
    /// the handshake; whether anything moved. A handler that went away
    /// without replying leaves the handshake to HANDSHAKE_IVL, as libzmq's
    /// does.
    fn poll_zap(&mut self, now: Instant) -> bool {
        let Some(call) = &mut self.zap else {
            return false;
        };
        let mut moved = false;
        let answer = loop {
            // Closed first: what it published before closing is then in sight.
            let closed = call.end.peer_closed();
            match call.end.peek() {
                Ok(Some(rec)) => {
                    let answer = call.reply.push(call.end.payload(&rec), rec.more());
                    call.end.consume(rec);
                    moved = true;
                    if let Some(answer) = answer {
                        break answer;
                    }
                }
                Ok(None) if closed => {
                    // The handler went without answering: as in libzmq the
                    // handshake waits on, for HANDSHAKE_IVL at most (or
                    // until the peer leaves).
                    self.zap = None;
                    return true;
                }
                Ok(None) => return moved,
                Err(_) => break AuthAnswer::Invalid(ZapError::Unspecified),
            }
        };
        // One request, one reply: the pipe goes (the handler sees it close).
        self.zap = None;
        if !matches!(self.proto, Proto::Handshake(_)) {
            return true;
        }
        if let Proto::Handshake(mut h) = std::mem::replace(&mut self.proto, Proto::Idle) {
            let _ = h.authenticate(answer);
            self.handshake_progress(h, now);
        }
        true
    }

    /// Reads what the stream has (bounded per turn) and takes the frames in
    /// it; whether it read.
    fn read(&mut self, now: Instant) -> bool {
        let mut any = false;
        for _ in 0..16 {
            if self.direct.is_some() {
                match self.read_direct() {
                    Some(true) => {
                        any = true;
                        continue;
                    }
                    Some(false) => return any,
                    None => return true,
                }
            }
            let Some(stream) = &mut self.stream else {
                return any;
            };
            if self.in_pos == self.in_end {
                self.in_pos = 0;
                self.in_end = 0;
                if self.in_buf.len() > READ_CHUNK {
                    self.in_buf = vec![0; READ_CHUNK];
                }
            } else if self.in_end == self.in_buf.len() {
                // Full: move the frame in progress to the front, or grow
                // (doubling) for a frame larger than the buffer.
                if self.in_pos > 0 {
                    self.in_buf.copy_within(self.in_pos..self.in_end, 0);
                    self.in_end -= self.in_pos;
                    self.in_pos = 0;
                } else {
                    // To a large frame's size (not double it): a fresh
                    // zeroed buffer, whose pages (mapped, for a large one)
                    // cost memory only as the frame's octets arrive. What
                    // has no known size (a command being read) doubles.
                    let len = self.in_need.max(self.in_buf.len() * 2);
                    let mut bigger = vec![0; len];
                    bigger[..self.in_end].copy_from_slice(&self.in_buf[..self.in_end]);
                    self.in_buf = bigger;
                }
            }
            let room = self.in_buf.len() - self.in_end;
            // A short tcp read empties the socket: what arrives later (data
            // or the FIN) raises a new edge, unless the FIN came with the
            // edge we are serving. Unix streams stop short at descriptors.
            let short_drains = matches!(stream, Stream::Tcp(_)) && !self.hup_seen;
            match stream.read(&mut self.in_buf[self.in_end..]) {
                Ok(0) => {
                    self.end_stream(libc::EPIPE);
                    return true;
                }
                Ok(n) => {
                    any = true;
                    self.in_end += n;
                    if n == room && self.in_buf.len() < READ_CHUNK {
                        // The peer streams: read more at once.
                        let len = (self.in_buf.len() * 2).min(READ_CHUNK);
                        self.in_buf.resize(len, 0);
                    }
                    if !self.keep_fds() {
                        self.too_many_fds();
                        return true;
                    }
                    self.take_input(now);
                    if self.in_blocked || self.stream.is_none() || self.ended {
                        return any;
                    }
                    if n < room && short_drains {
                        // Skip the read that would only say WouldBlock.
                        self.read_ready = false;
                        return any;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.read_ready = false;
                    return any;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.end_stream(e.raw_os_error().unwrap_or(libc::EIO));
                    return true;
                }
            }
        }
        any
    }

    /// Reads the body of the `direct` frame into its room in the pipe, and
    /// commits it once whole. `Some(true)`: read something; `Some(false)`:
    /// nothing to read now; `None`: the connection ended.
    fn read_direct(&mut self) -> Option<bool> {
        let (Some(stream), Some(end), Some(d)) =
            (&mut self.stream, &mut self.end, &mut self.direct)
        else {
            return Some(false);
        };
        let Some(buf) = end.claimed_mut() else {
            // Cannot happen: the claim lasts until committed or rolled back.
            self.direct = None;
            return Some(false);
        };
        match stream.read(&mut buf[d.filled..]) {
            Ok(0) => {
                self.end_stream(libc::EPIPE);
                None
            }
            Ok(n) => {
                d.filled += n;
                if let Proto::Session(s) = &mut self.proto {
                    s.note_traffic();
                }
                if d.filled == d.len {
                    end.commit(d.len, d.more);
                    self.in_msg_start = !d.more;
                    self.direct = None;
                }
                if !self.keep_fds() {
                    self.too_many_fds();
                    return None;
                }
                Some(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.read_ready = false;
                Some(false)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Some(true),
            Err(e) => {
                self.end_stream(e.raw_os_error().unwrap_or(libc::EIO));
                None
            }
        }
    }

    /// The peer sent more descriptors than a segment attach takes: a
    /// protocol breach.
    fn too_many_fds(&mut self) {
        self.fault = Some(Fault::Other("the peer sent descriptors it should not"));
        self.end_stream(libc::EPROTO);
    }

    /// The stream is finished (EOF, an error, a protocol breach; `errno` is
    /// what the monitor reports): deliver what was read, then drop it.
    fn end_stream(&mut self, errno: i32) {
        self.ended = true;
        self.io_errno = errno;
    }

    /// Hands the octets read to the handshake or the session.
    fn take_input(&mut self, now: Instant) {
        match &self.shm {
            Shm::Off => {}
            Shm::Attaching(_) => {
                self.shm_step();
                return;
            }
            // Nothing may come once the rings carry the frames.
            Shm::Up(_) | Shm::HandingOver(_) | Shm::Mpsc(_) => {
                self.end_stream(libc::EPROTO);
                return;
            }
        }
        match std::mem::replace(&mut self.proto, Proto::Idle) {
            Proto::Idle => {}
            Proto::Handshake(mut h) => {
                let _ = h.feed(&self.in_buf[self.in_pos..self.in_end]);
                self.in_pos = self.in_end;
                self.handshake_progress(h, now);
            }
            Proto::Session(s) => {
                self.proto = Proto::Session(s);
                self.deliver(now);
            }
            Proto::Raw => {
                self.proto = Proto::Raw;
                self.deliver(now);
            }
            Proto::Socks(mut socks) => {
                match socks.feed(&self.in_buf[self.in_pos..self.in_end], &mut self.out) {
                    Ok(Step::Need) => self.proto = Proto::Socks(socks),
                    Ok(Step::Done(n)) => {
                        self.in_pos += n;
                        self.start_handshake();
                        if self.in_pos < self.in_end {
                            self.take_input(now);
                        }
                    }
                    Err(why) => {
                        self.fault = Some(Fault::Other(why));
                        self.io_errno = libc::ECONNREFUSED;
                        self.lost();
                    }
                }
            }
        }
    }

    fn on_ready(&mut self, peer_id: Vec<u8>) {
        self.was_ready = true;
        self.deadline = None;
        self.backoff = self.desc.reconnect_ivl.unwrap_or_default();
        match &mut self.end {
            Some(end) => {
                end.set_routing_id(&peer_id);
                end.set_metadata(self.metadata.clone());
                end.set_away(false);
                end.attach(self.bell.clone());
            }
            None => {
                let (mut ours, theirs) = self.socket_pipe(Some(peer_id));
                ours.set_metadata(self.metadata.clone());
                ours.attach(self.bell.clone());
                // A thread-safe socket's threads send into a ring of their
                // own, which the socket gets with the pipe (one that never
                // writes, a GATHER, has none).
                let writes = crate::threadsafe::writes(self.desc.kind);
                let ring = self.desc.room.clone().filter(|_| writes).map(|room| {
                    let d = &self.desc;
                    outbound(d.ring_capacity, d.sndhwm, self.bell.clone(), room)
                });
                let (sending, ring) = ring.unzip();
                self.give_socket_with(theirs, None, sending);
                if let Some(room) = &self.desc.room {
                    // Writers waiting for a first peer look again.
                    room.signal();
                }
                self.end = Some(ours);
                self.outbound = ring;
            }
        }
        if matches!(self.desc.kind, SocketType::Pub | SocketType::XPub) {
            if let Some(end) = &mut self.end {
                // What we write is a subscriber's, for the publisher.
                end.set_upstream();
            }
        }
        if let Proto::Session(s) = &mut self.proto {
            let dish = self.desc.kind == SocketType::Dish;
            for topic in self.subs.keys() {
                if dish {
                    s.join(topic);
                } else {
                    s.subscribe(topic);
                }
            }
        }
    }

    /// The properties `zmq_msg_gets` gives of the messages of this
    /// connection, as libzmq's engine compiles them: Peer-Address (the
    /// peer's IP for tcp; `localhost:uid:gid:pid` for ipc), the User-Id
    /// and metadata of the authenticator's or ZAP handler's reply, then
    /// what the peer's READY or INITIATE carried (Socket-Type, Identity, `X-` properties; not
    /// our shared-memory offer).
    fn connection_metadata(
        &self,
        peer: Option<&Metadata>,
        auth: Option<&AuthReply>,
    ) -> Arc<PeerMetadata> {
        let mut md = PeerMetadata::default();
        if let Some(s) = &self.stream {
            md.set_src_fd(s.as_raw_fd());
        }
        let address = self.stream.as_ref().map(Stream::peer_address);
        if let Some(address) = address.filter(|a| !a.is_empty()) {
            md.insert("Peer-Address", address);
        }
        if let Some(reply) = auth {
            md.insert("User-Id", reply.user_id.clone());
            for (name, value) in reply.metadata.iter() {
                md.insert(name, value);
            }
        }
        for (name, value) in peer.into_iter().flat_map(Metadata::iter) {
            if name != shm::PROPERTY && name != mpsc_segment::PROPERTY {
                md.insert(name, value);
            }
        }
        Arc::new(md)
    }

    /// A new pipe between our socket and us (`peer_id`: the peer's routing
    /// id, once known): our end and the socket's.
    fn socket_pipe(&self, peer_id: Option<Vec<u8>>) -> (PipeEnd, PipeEnd) {
        let (mut ours, theirs) = pipe(PipeConfig {
            ring_capacity: self.desc.ring_capacity,
            hwm: [Hwm::rcv(self.desc.rcvhwm), Hwm::snd(self.desc.sndhwm)],
            ids: [
                peer_id.map(Into::into),
                Some(self.desc.routing_id.clone().into()),
            ],
        });
        ours.set_strong();
        // Frames too large for the ring go into the socket's pool.
        ours.set_pool_slot(self.desc.shared.pool_slot());
        // A peer's message is bounded beyond the ring as a frame is.
        ours.limit_message_beyond_ring(crate::transport::ipc::pool::CHUNK_MAX);
        (ours, theirs)
    }

    /// Sends the socket its end of a pipe (which carries on for `replaces`).
    fn give_socket(&self, end: PipeEnd, replaces: Option<PipeEnd>) {
        self.give_socket_with(end, replaces, None);
    }

    /// [`give_socket`](Self::give_socket), with a thread-safe socket's
    /// half of the ring we send from.
    fn give_socket_with(
        &self,
        end: PipeEnd,
        replaces: Option<PipeEnd>,
        sending: Option<crate::threadsafe::Sending>,
    ) {
        self.desc.shared.deliver(NewPipe {
            end,
            endpoint: self.endpoint.as_str().into(),
            replaces,
            sending: sending.map(Box::new),
        });
    }

    /// A pipe for messages to queue in while there is no connection, given
    /// to the socket; carried on by the next connection (or handed over to
    /// a shared-memory pipe).
    fn queue_pipe(&self) -> PipeEnd {
        let (ours, theirs) = self.socket_pipe(None);
        self.give_socket(theirs, None);
        self.hold(ours)
    }

    /// Moves the frames read into the pipe, as far as it takes them; whether
    /// any moved.
    fn deliver(&mut self, now: Instant) -> bool {
        if matches!(self.proto, Proto::Raw) {
            return self.deliver_raw();
        }
        let (Proto::Session(s), Some(end)) = (&mut self.proto, &mut self.end) else {
            return false;
        };
        self.in_blocked = false;
        let mut moved = false;
        let mut mechanism_error = None;
        // One wake-up for the socket per batch of frames, not per frame.
        end.hold_rings();
        let failed = loop {
            // In place: a CURVE frame is decrypted where it lies.
            let input = &mut self.in_buf[self.in_pos..self.in_end];
            let (len, incoming) = match s.read(input, now) {
                Ok(step) => step,
                Err(e) => {
                    if s.is_encrypted() {
                        mechanism_error = Some(e.clone());
                    }
                    self.fault = Some(Fault::Zmtp(e));
                    break true;
                }
            };
            let start = &mut self.in_msg_start;
            let radio = self.desc.kind == SocketType::Radio;
            let taken = match incoming {
                Incoming::Need(need) => {
                    self.in_need = need;
                    let input = &self.in_buf[self.in_pos..self.in_end];
                    // A large message frame still arriving: claim its room
                    // and read the rest of it there (see `read`).
                    if let Some((header, body, more)) = s.message_header(input) {
                        // (Not a DISH's: its body goes behind the group;
                        // nor a RADIO's, which drops it.)
                        if body >= DIRECT_MIN
                            && (!*start || end.can_start_message())
                            && !matches!(self.desc.kind, SocketType::Dish | SocketType::Radio)
                        {
                            if let Ok(buf) = end.claim(body) {
                                let have = input.len() - header;
                                buf[..have].copy_from_slice(&input[header..]);
                                self.direct = Some(Direct {
                                    filled: have,
                                    len: body,
                                    more,
                                });
                                self.in_pos = self.in_end;
                                moved = true;
                            }
                        }
                    }
                    break false;
                }
                // For a RADIO, the groups its threads read for this peer
                // (a ZMTP 3.0 peer's subscriptions count as joins); what
                // else a peer sends a RADIO is dropped. Others ignore
                // joins, as libzmq's do.
                Incoming::Join(group) | Incoming::Subscribe(group) if radio => {
                    join(self.outbound.as_ref(), true, &group)
                }
                Incoming::Leave(group) | Incoming::Cancel(group) if radio => {
                    join(self.outbound.as_ref(), false, &group)
                }
                Incoming::Message { .. } if radio => Ok(true),
                Incoming::Message { payload, more } if self.desc.kind == SocketType::Dish => {
                    put_grouped(end, start, &mut self.in_group, payload, more)
                }
                Incoming::Message { payload, more } => put(end, start, &[], payload, more),
                Incoming::Subscribe(topic) => put(end, start, &[1], &topic, false),
                Incoming::Cancel(topic) => put(end, start, &[0], &topic, false),
                Incoming::Join(_) | Incoming::Leave(_) => Ok(true),
                Incoming::Handled => Ok(true),
            };
            match taken {
                Ok(true) => {}
                Ok(false) => {
                    // Before the I/O thread's barrier and re-check.
                    end.want_room();
                    self.in_blocked = true;
                    self.in_blocked_room = len.max(1);
                    break false;
                }
                Err(_) => break true,
            }
            self.in_pos += len;
            s.taken();
            moved = true;
        };
        end.release_rings();
        // A PONG, unless the peer leaves what we sent unread: then the
        // session keeps owing one (the latest PING's), however many come.
        if self.out.len() - self.out_pos < OUTBOUND_LIMIT {
            s.transmit_into(&mut self.out);
        }
        if let Some(e) = mechanism_error {
            // A MESSAGE that does not decode is the mechanism's failure,
            // reported as libzmq's curve_mechanism_base_t::decode does.
            self.emit_failure(e);
        }
        if failed {
            let _ = self.write();
            // Read no further: the messages that came whole before the
            // fault are in the pipe (as libzmq delivers them); then the
            // connection is dropped.
            self.ended = true;
            return true;
        }
        moved
    }

    /// [`deliver`](Self::deliver) for a raw connection: what was read is
    /// one message.
    fn deliver_raw(&mut self) -> bool {
        let Some(end) = &mut self.end else {
            return false;
        };
        self.in_blocked = false;
        let input = &self.in_buf[self.in_pos..self.in_end];
        if input.is_empty() {
            return false;
        }
        match put(end, &mut self.in_msg_start, &[], input, false) {
            Ok(true) => {
                self.in_pos = self.in_end;
                true
            }
            Ok(false) => {
                end.want_room();
                self.in_blocked = true;
                self.in_blocked_room = input.len();
                false
            }
            Err(_) => {
                self.ended = true;
                true
            }
        }
    }

    /// Takes frames from the pipe (and a thread-safe socket's ring) into
    /// the session's output.
    fn pull_outbound(&mut self) -> bool {
        if matches!(self.proto, Proto::Raw) {
            return self.pull_raw();
        }
        let (Some(end), Proto::Session(s)) = (&mut self.end, &mut self.proto) else {
            return false;
        };
        let kind = self.desc.kind;
        let mut moved = false;
        if let Some(o) = &mut self.outbound {
            // Each message one frame (a RADIO's group goes in front).
            while self.out.len() - self.out_pos + s.pending_transmit() < OUTBOUND_LIMIT {
                let subs = &mut self.subs;
                match o.rx.take(|_, payload| send_out(s, subs, kind, payload)) {
                    Taken::Message(()) => moved = true,
                    Taken::Empty | Taken::Done => break,
                }
            }
            // Room for the writers now, not when we next look.
            o.rx.release_taken();
        }
        while self.out.len() - self.out_pos + s.pending_transmit() < OUTBOUND_LIMIT {
            let Ok(Some(rec)) = end.peek() else { break };
            let payload = end.payload(&rec);
            if self.out_msg_start && !rec.more() {
                send_out(s, &mut self.subs, kind, payload);
            } else {
                s.send_frame(payload, rec.more());
            }
            self.out_msg_start = !rec.more();
            end.consume(rec);
            moved = true;
        }
        s.transmit_into(&mut self.out);
        moved
    }

    /// [`pull_outbound`](Self::pull_outbound) for a raw connection: each
    /// frame's bytes go out as they are.
    fn pull_raw(&mut self) -> bool {
        let Some(end) = &mut self.end else {
            return false;
        };
        let mut moved = false;
        while self.out.len() - self.out_pos < OUTBOUND_LIMIT {
            let Ok(Some(rec)) = end.peek() else { break };
            self.out.extend_from_slice(end.payload(&rec));
            end.consume(rec);
            moved = true;
        }
        moved
    }

    /// Writes what is waiting; whether it wrote.
    fn write(&mut self) -> bool {
        let Some(stream) = &mut self.stream else {
            return false;
        };
        if self.connecting {
            return false;
        }
        let mut wrote = false;
        while self.out_pos < self.out.len() {
            match stream.write(&self.out[self.out_pos..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.out_pos += n;
                    wrote = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.io_errno = e.raw_os_error().unwrap_or(libc::EIO);
                    self.lost();
                    return true;
                }
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        wrote
    }
}

/// The shared-memory upgrade of ipc connections (see [`shm`]).
impl Engine {
    /// Our offer, if this connection could move to shared memory: an ipc
    /// stream to a process of our user (another user's, root reaching our
    /// file or a server squatting an abstract name, stays with ZMTP: it
    /// could write our doorbell), and a socket whose doorbell peers can map.
    /// Never for the thread-safe sockets: they offer their own
    /// ([`mpsc_offer`](Self::mpsc_offer)), so the two layouts never meet.
    fn shm_offer(&self) -> Option<Offer> {
        (self.may_share_memory() && !self.desc.kind.is_thread_safe())
            .then(|| Offer::ours(self.desc.rcvhwm, self.desc.ring_capacity))
    }

    /// What both offers ask of a connection: a peer process of our user,
    /// and a socket whose doorbell it can map.
    fn may_share_memory(&self) -> bool {
        let ours = self.stream.as_ref().is_some_and(|s| s.peer_is_same_user());
        ours && self.desc.shared.bell_fd.is_some()
    }

    /// A thread-safe socket's offer of shared multi-producer pipes, on the
    /// same terms as [`shm_offer`](Self::shm_offer)'s (see
    /// [`mpsc_segment`]).
    fn mpsc_offer(&self) -> Option<mpsc_segment::Offer> {
        let d = &self.desc;
        (self.may_share_memory() && d.kind.is_thread_safe() && d.room.is_some())
            .then(|| mpsc_segment::Offer::ours(d.sndhwm, d.rcvhwm, d.ring_capacity))
    }

    /// Both offers, if both sides offered shared multi-producer pipes
    /// compatibly.
    fn mpsc_agreed(&self, peer_properties: &Metadata) -> Option<Mode> {
        let ours = self.mpsc_offer()?;
        let peer = mpsc_segment::Offer::decode(peer_properties.get(mpsc_segment::PROPERTY)?)?;
        ours.compatible(&peer).then_some(Mode::Mpsc(ours, peer))
    }

    /// The peer's offer, if both sides offered compatibly. Both sides
    /// compute the same answer from the two READYs.
    fn shm_agreed(&self, peer_properties: &Metadata) -> Option<Offer> {
        let ours = self.shm_offer()?;
        let peer = Offer::decode(peer_properties.get(shm::PROPERTY)?)?;
        ours.compatible(&peer).then_some(peer)
    }

    /// Starts passing segments; the connecter makes the pipe's.
    fn begin_shm(&mut self, mode: Mode, peer_id: Vec<u8>) {
        self.was_ready = true;
        let capacity = match &mode {
            Mode::Classic(peer) => match self.shm_offer() {
                Some(ours) => ours.ring_with(peer),
                None => return self.lost(),
            },
            Mode::Mpsc(ours, peer) => ours.ring_with(peer),
        };
        let (segment, segment_fd) = if self.target.is_some() {
            let made = match &mode {
                Mode::Classic(_) => PipeSegment::create(capacity).map(|(s, fd)| (Seg::Pipe(s), fd)),
                Mode::Mpsc(..) => MpscSegment::create(capacity).map(|(s, fd)| (Seg::Mpsc(s), fd)),
            };
            match made {
                Ok((seg, fd)) => (Some(seg), Some(fd)),
                Err(e) => {
                    self.io_errno = e.raw_os_error().unwrap_or(libc::ENOMEM);
                    return self.lost();
                }
            }
        } else {
            (None, None)
        };
        self.shm = Shm::Attaching(Box::new(Attaching {
            mode,
            peer_id,
            capacity,
            segment,
            segment_fd,
            sent: false,
            received: None,
        }));
        self.shm_step();
    }

    /// Descriptors a peer sent: kept while segments are being passed (up
    /// to a few), dropped otherwise. False if the peer sends too many.
    fn keep_fds(&mut self) -> bool {
        let attaching =
            matches!(self.shm, Shm::Attaching(_)) || matches!(self.proto, Proto::Handshake(_));
        let Some(fds) = self.stream.as_mut().and_then(|s| s.received_fds()) else {
            return true;
        };
        if !attaching {
            fds.clear();
        }
        fds.len() <= FD_QUEUE_LIMIT
    }

    /// Sends our attach message, takes the peer's, and once both are done
    /// hands the socket its shared pipe; whether anything moved. A peer
    /// that sends anything else loses the connection.
    fn shm_step(&mut self) -> bool {
        if matches!(self.shm, Shm::HandingOver(_)) {
            return self.hand_over();
        }
        if matches!(self.shm, Shm::Mpsc(_)) {
            return self.forward();
        }
        match self.try_shm_step() {
            Ok(moved) => moved,
            Err(errno) => {
                self.io_errno = errno;
                self.lost();
                true
            }
        }
    }

    fn try_shm_step(&mut self) -> Result<bool, i32> {
        let Shm::Attaching(a) = &mut self.shm else {
            return Ok(false);
        };
        let Some(stream) = &mut self.stream else {
            return Ok(false);
        };
        let mut moved = false;
        // Ours goes after the handshake's last octets.
        if !a.sent && self.out_pos == self.out.len() {
            let Some(bell) = &self.desc.shared.bell_fd else {
                return Err(libc::EPROTO);
            };
            let (from, mut fds) = match &a.segment_fd {
                Some(seg) => (shm::FROM_CONNECTER, vec![seg.as_fd(), bell.as_fd()]),
                None => (shm::FROM_BINDER, vec![bell.as_fd()]),
            };
            // From now on the peer can write our doorbell's words.
            self.desc.shared.bell.expose();
            // Large frames go into chunks of the socket's pool (a
            // thread-safe socket's if it sends: a DISH's joins are small).
            let pool = match a.mode {
                Mode::Mpsc(..) if !crate::threadsafe::sends(self.desc.kind) => None,
                _ => self.desc.shared.chunk_pool(),
            };
            fds.extend(pool.map(|p| p.fd()));
            let msg = shm::message(from, if pool.is_some() { shm::WITH_POOL } else { 0 });
            match stream.send_with_fds(&msg, &fds) {
                Ok(n) => {
                    // The descriptors went with the first octet.
                    self.out.extend_from_slice(&msg[n..]);
                    a.sent = true;
                    a.segment_fd = None;
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.raw_os_error().unwrap_or(libc::EIO)),
            }
        }
        if a.received.is_none() && self.in_end - self.in_pos >= shm::MSG_LEN {
            let connecter = a.segment.is_some();
            let msg = &self.in_buf[self.in_pos..self.in_pos + shm::MSG_LEN];
            let expected = if connecter {
                shm::FROM_BINDER
            } else {
                shm::FROM_CONNECTER
            };
            let Some((from, flags)) = shm::parse_message(msg) else {
                return Err(libc::EPROTO);
            };
            if from != expected {
                return Err(libc::EPROTO);
            }
            self.in_pos += shm::MSG_LEN;
            // recvmsg queued the descriptors with the message's first octet.
            let mut fds = std::mem::take(stream.received_fds().ok_or(libc::EPROTO)?);
            let bad = |_| libc::EPROTO;
            let pool = if flags & shm::WITH_POOL != 0 {
                let fd = fds.pop().ok_or(libc::EPROTO)?;
                Some(PeerPool::open(fd).map_err(bad)?)
            } else {
                None
            };
            a.received = Some(match (connecter, <[OwnedFd; 1]>::try_from(fds)) {
                (true, Ok([bell])) => (shm::peer_bell(bell).map_err(bad)?, None, pool),
                (false, Err(fds)) => {
                    let [seg, bell] = <[OwnedFd; 2]>::try_from(fds).map_err(|_| libc::EPROTO)?;
                    let seg = match a.mode {
                        Mode::Classic(_) => {
                            Seg::Pipe(PipeSegment::open(seg, a.capacity).map_err(bad)?)
                        }
                        Mode::Mpsc(..) => {
                            Seg::Mpsc(MpscSegment::open(seg, a.capacity).map_err(bad)?)
                        }
                    };
                    (shm::peer_bell(bell).map_err(bad)?, Some(seg), pool)
                }
                _ => return Err(libc::EPROTO),
            });
            moved = true;
        }
        if a.received.is_some() && self.in_pos < self.in_end {
            return Err(libc::EPROTO);
        }
        if a.sent && a.received.is_some() {
            self.shm_up();
            moved = true;
        }
        Ok(moved)
    }

    /// Both segments passed: the socket gets its end of the shared pipe.
    fn shm_up(&mut self) {
        let Shm::Attaching(a) = std::mem::replace(&mut self.shm, Shm::Off) else {
            return;
        };
        let Attaching {
            mode,
            peer_id,
            segment,
            received: Some((peer_bell, received, peer_pool)),
            ..
        } = *a
        else {
            return;
        };
        let (side, Some(seg)) = (if segment.is_some() { 0 } else { 1 }, segment.or(received))
        else {
            return;
        };
        let (peer, seg) = match (mode, seg) {
            (Mode::Classic(peer), Seg::Pipe(seg)) => (peer, seg),
            (Mode::Mpsc(ours, peer), Seg::Mpsc(seg)) => {
                return self.mpsc_up(ours, peer, &seg, side, peer_bell, peer_pool);
            }
            _ => return,
        };
        let (tx, rx) = seg.ends(side);
        let (mut end, watch) = crate::pipe::remote_end(
            tx,
            rx,
            Arc::new(peer_bell),
            [
                Hwm {
                    snd: Some(self.desc.sndhwm),
                    rcv: Some(peer.rcvhwm),
                },
                Hwm::rcv(self.desc.rcvhwm),
            ],
            [self.desc.routing_id.clone().into(), peer_id.into()],
            self.bell.clone(),
            seg.marks(side),
        );
        end.link_pools(self.desc.shared.chunk_pool().cloned(), peer_pool);
        end.set_metadata(self.metadata.clone());
        // Up: HANDSHAKE_IVL is over (as `on_ready` ends it for ZMTP).
        self.deadline = None;
        self.backoff = self.desc.reconnect_ivl.unwrap_or_default();
        match self.end.take() {
            // A connecter's pipe to the socket (what was sent before this
            // connection, or during an earlier ZMTP one) hands over.
            Some(mut old) => {
                old.begin_handover(self.bell.clone());
                self.desc.shared.nudge();
                let mut end = end;
                if matches!(self.desc.kind, SocketType::Sub | SocketType::XSub) {
                    // We write for a subscriber: the publisher reads its
                    // pipes when poked.
                    end.set_upstream();
                }
                // Subscriptions an earlier ZMTP connection took from the
                // old pipe are not there to move. (From now on the shared
                // pipe holds them all; after a loss the subscriber sends
                // its own to the next pipe.)
                for topic in std::mem::take(&mut self.subs).keys() {
                    let mut msg = Vec::with_capacity(1 + topic.len());
                    msg.push(1);
                    msg.extend_from_slice(topic);
                    let _ = end.push(&msg);
                }
                self.shm = Shm::HandingOver(Box::new(HandOver {
                    old,
                    new: end,
                    watch,
                    dropping: false,
                    retry_at: None,
                }));
                self.hand_over();
            }
            None => {
                self.give_socket(end, None);
                self.shm = Shm::Up(watch);
            }
        }
    }

    /// Both segments passed, between thread-safe sockets: the socket gets
    /// its pipes over the shared rings (see `threadsafe::shared`).
    fn mpsc_up(
        &mut self,
        ours: mpsc_segment::Offer,
        peer: mpsc_segment::Offer,
        seg: &MpscSegment,
        side: usize,
        peer_bell: crate::pipe::Doorbell,
        peer_pool: Option<PeerPool>,
    ) {
        let Some(room) = self.desc.room.clone() else {
            return self.lost();
        };
        let kind = self.desc.kind;
        let s = seg.side(side);
        let peer_bell = Arc::new(peer_bell);
        let death = Death::new(s.peer_owner);
        let mut links = Vec::new();
        let out = crate::threadsafe::writes(kind).then(|| {
            let mark = mpsc_segment::Offer::mark(&ours, &peer);
            let link = Link::shared(
                s.tx_words,
                mark,
                peer_bell.clone(),
                Wake::Room(room.clone()),
            );
            links.push(link.clone());
            // The pool the attach passed (its chunks all come back when the
            // connection ends, which declares `death`).
            let pool = self.desc.shared.existing_chunk_pool().cloned();
            Pipe::shared(s.tx, link, pool, death.clone())
        });
        // The peer writes to us: messages, or (to a RADIO) its joins.
        let peer_writes = crate::threadsafe::receives(kind) || kind == SocketType::Radio;
        let inp = peer_writes.then(|| {
            let mark = mpsc_segment::Offer::mark(&peer, &ours);
            let bell = self.desc.shared.bell.clone();
            let link = Link::shared(s.rx_words, mark, bell, Wake::Bell(peer_bell.clone()));
            links.push(link.clone());
            InPipe::shared(link, s.rx, 0, death.clone(), peer_pool)
        });
        // Up: HANDSHAKE_IVL is over (as `on_ready` ends it for ZMTP).
        self.deadline = None;
        self.backoff = self.desc.reconnect_ivl.unwrap_or_default();
        let carries_on = self.outbound.as_ref().map(|o| o.link().clone());
        let forward = carries_on.as_ref().and(out.clone());
        let credit = std::cell::Cell::new(0);
        if let (Some(pipe), SocketType::Dish) = (&forward, kind) {
            // The groups an earlier connection's peer was sent, first (as
            // `on_ready` sends them over ZMTP).
            for group in self.subs.keys() {
                let _ = pipe.try_send(&[1], group, &credit);
            }
        }
        self.desc.shared.deliver_shared(SharedPeer {
            endpoint: self.endpoint.as_str().into(),
            accepted: self.target.is_none(),
            out,
            inp,
            carries_on,
        });
        // Writers waiting for a first peer look again (and adopt it).
        room.wake_all();
        self.shm = Shm::Mpsc(Box::new(MpscUp {
            death,
            links,
            forward,
            credit,
            retry_at: None,
        }));
        self.forward();
    }

    /// Moves what the socket's threads queued in the ring to us into the
    /// shared pipe (a connecter's), in order, as far as it takes them;
    /// whether anything moved. A DISH's joins and leaves are remembered
    /// for the next connection on the way.
    fn forward(&mut self) -> bool {
        let (Shm::Mpsc(m), Some(o)) = (&mut self.shm, &mut self.outbound) else {
            return false;
        };
        let Some(pipe) = &m.forward else {
            return false;
        };
        m.retry_at = None;
        let dish = self.desc.kind == SocketType::Dish;
        let mut moved = false;
        loop {
            let sent = o.rx.peek(|msg| {
                let r = pipe.try_send(&[], msg, &m.credit);
                (r, dish.then(|| msg.to_vec()))
            });
            match sent {
                None => break,
                Some((Ok(()), join)) => {
                    if let Some([flag @ (0 | 1), group @ ..]) = join.as_deref() {
                        if *flag == 1 {
                            self.subs.insert(group.to_vec(), 1);
                        } else {
                            self.subs.remove(group);
                        }
                    }
                }
                Some((Err(Refused::Full), _)) => {
                    m.retry_at = Some(Instant::now() + HANDOVER_RETRY);
                    break;
                }
                // The connection is going: the rest waits for the next.
                Some((Err(Refused::Closed), _)) => break,
                // Larger than a chunk (never: a thread-safe socket's
                // message fits the largest), or no pool (the system
                // refused one): dropped, as the threads' own sends of
                // that size are refused from now on.
                Some((Err(Refused::TooLarge { .. }), _)) => {}
            }
            let _ = o.rx.take(|_, _| ());
            moved = true;
        }
        o.rx.release_taken();
        moved
    }

    /// Moves what the socket sent into its old pipe into the shared one, in
    /// order, and hands the shared one over once the socket has stopped
    /// writing the old one; whether anything moved. (A subscriber's
    /// subscriptions are among what moves; those an earlier ZMTP connection
    /// took are sent first, see `shm_up`.)
    fn hand_over(&mut self) -> bool {
        let Shm::HandingOver(h) = &mut self.shm else {
            return false;
        };
        let mut moved = false;
        let pool = self.desc.shared.chunk_pool();
        h.retry_at = None;
        loop {
            // Closed first: what was published before it is then in sight.
            let done_writing = h.old.peer_closed();
            let mut starts = true;
            while let Ok(Some(rec)) = h.old.peek() {
                // The old pipe may hold more than the new one's ring (up to
                // its mark, beyond its ring): a message waits in the old
                // one until the new one's reader has made room for it.
                if starts && !(h.new.can_start_message() && h.new.has_room(rec.len())) {
                    h.retry_at = Some(Instant::now() + HANDOVER_RETRY);
                    return moved;
                }
                starts = !rec.more();
                // No room for a later frame of a message whose first one
                // fitted (a chunk pool spent): lost, as at a full HWM.
                if !h.dropping && !move_frame(&mut h.old, &mut h.new, &rec, pool) {
                    h.new.rollback();
                    h.dropping = true;
                }
                if !rec.more() {
                    h.dropping = false;
                }
                h.old.consume(rec);
                moved = true;
            }
            if !done_writing {
                return moved;
            }
            if !h.old.readable() {
                break;
            }
        }
        if let Shm::HandingOver(h) = std::mem::replace(&mut self.shm, Shm::Off) {
            self.shm = Shm::Up(self.finish_handover(*h));
        }
        true
    }

    /// The socket gets the shared pipe (unless it is gone: dropping its end
    /// tells the peer, once it has read everything moved).
    fn finish_handover(&self, h: HandOver) -> crate::pipe::PipeWatch {
        let HandOver {
            old, new, watch, ..
        } = h;
        if self.forgotten {
            old.end_handover();
        } else {
            // The socket keeps the old pipe until the new one is in (so
            // that what refers to the old one can move over), then ends
            // the handover itself.
            self.give_socket(new, Some(old));
        }
        watch
    }
}

/// Moves frame `rec` of `old` into `new`; whether there was room. A frame
/// in a chunk of `pool` moves by its descriptor (the pool may have no room
/// for a copy).
fn move_frame(
    old: &mut PipeEnd,
    new: &mut PipeEnd,
    rec: &crate::pipe::ring::Record,
    pool: Option<&Arc<crate::transport::ipc::pool::ChunkPool>>,
) -> bool {
    let chunk = old.descriptor(rec).and_then(|d| pool?.share(d));
    if let Some(chunk) = chunk.filter(|c| new.shares_pool(c.pool())) {
        return new.send_shared(&chunk, rec.more()).is_ok();
    }
    let data = old.payload(rec);
    match new.claim(data.len()) {
        Ok(buf) => {
            crate::copy::copy(buf, data);
            new.commit(data.len(), rec.more());
            true
        }
        Err(_) => false,
    }
}

/// Hands the session a message of one frame from our socket: a DISH's
/// join (`1` + group) or leave (`0` + group), a RADIO's message (the
/// group's length, the group, the body: on the wire the group frame, then
/// the body's), a SUB's subscription or cancel (`1`/`0` + topic, counted in
/// `subs` for a reconnected peer, as a DISH's groups are), or any other.
fn send_out(s: &mut Session, subs: &mut BTreeMap<Vec<u8>, u32>, kind: SocketType, payload: &[u8]) {
    let subscriber = matches!(kind, SocketType::Sub | SocketType::XSub);
    match payload.first() {
        Some(&flag @ (0 | 1)) if kind == SocketType::Dish => {
            let group = &payload[1..];
            if flag == 1 {
                subs.insert(group.to_vec(), 1);
                s.join(group);
            } else {
                subs.remove(group);
                s.leave(group);
            }
        }
        Some(&len) if kind == SocketType::Radio && payload.len() > usize::from(len) => {
            let (group, body) = payload[1..].split_at(usize::from(len));
            s.send_frame(group, true);
            s.send_frame(body, false);
        }
        Some(&flag @ (0 | 1)) if subscriber => {
            let topic = &payload[1..];
            if flag == 1 {
                *subs.entry(topic.to_vec()).or_default() += 1;
                s.subscribe(topic);
            } else {
                if let Some(n) = subs.get_mut(topic) {
                    *n -= 1;
                    if *n == 0 {
                        subs.remove(topic);
                    }
                }
                s.cancel(topic);
            }
        }
        _ => s.send_frame(payload, false),
    }
}

/// A RADIO's peer joined (or left) `group`: its threads send it that
/// group's messages (or no more).
fn join(outbound: Option<&Outbound>, join: bool, group: &[u8]) -> Result<bool, WriteError> {
    if let Some(o) = outbound {
        o.join(join, group);
    }
    Ok(true)
}

/// Writes one frame, `prefix` then `body`, into the pipe unless it is full
/// (or at its high-water mark, for a message's first frame); whether it did.
/// Where a DISH is in the message arriving.
#[derive(Debug)]
enum InGroup {
    /// Its first frame: the group.
    Expect,
    /// The group came; the body is next.
    Got(Vec<u8>),
    /// A message not of two frames, group and body, dropped to its end (as
    /// a thread-safe socket takes single frames; libzmq's DISH session
    /// refuses it).
    Skip,
}

/// Writes a frame of a message to a DISH: the group frame is kept, and the
/// body goes as the DISH's messages do in process, behind the group's
/// length and the group.
fn put_grouped(
    end: &mut PipeEnd,
    msg_start: &mut bool,
    state: &mut InGroup,
    payload: &[u8],
    more: bool,
) -> Result<bool, WriteError> {
    match state {
        InGroup::Skip => {
            if !more {
                *state = InGroup::Expect;
            }
            Ok(true)
        }
        InGroup::Expect => {
            *state = match u8::try_from(payload.len()) {
                Ok(_) if more => InGroup::Got(payload.to_vec()),
                _ if more => InGroup::Skip,
                _ => InGroup::Expect,
            };
            Ok(true)
        }
        InGroup::Got(_) if more => {
            *state = InGroup::Skip;
            Ok(true)
        }
        InGroup::Got(group) => {
            let mut prefix = Vec::with_capacity(1 + group.len());
            prefix.push(group.len() as u8);
            prefix.extend_from_slice(group);
            let put = put(end, msg_start, &prefix, payload, false)?;
            if put {
                *state = InGroup::Expect;
            }
            Ok(put)
        }
    }
}

fn put(
    end: &mut PipeEnd,
    msg_start: &mut bool,
    prefix: &[u8],
    body: &[u8],
    more: bool,
) -> Result<bool, WriteError> {
    if *msg_start && !end.can_start_message() {
        return Ok(false);
    }
    let len = prefix.len() + body.len();
    match end.claim(len) {
        Ok(buf) => {
            buf[..prefix.len()].copy_from_slice(prefix);
            crate::copy::copy(&mut buf[prefix.len()..], body);
        }
        Err(WriteError::Full) => return Ok(false),
        // Larger than the pipe can ever carry (the handshake's frame limit
        // should have refused it): the connection is unusable.
        Err(e) => return Err(e),
    }
    end.commit(len, more);
    *msg_start = !more;
    Ok(true)
}

/// A random duration below `ivl`, to the millisecond (libzmq's
/// `generate_random () % reconnect_ivl`).
fn jitter(ivl: Duration) -> Duration {
    use std::hash::BuildHasher;
    // Each `RandomState` is keyed afresh: hashing anything gives a new
    // random number, with no generator to keep.
    let r = std::collections::hash_map::RandomState::new().hash_one(0u8);
    let ms = ivl.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
    Duration::from_millis(r % ms)
}
