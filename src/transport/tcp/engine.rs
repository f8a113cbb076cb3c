//! One tcp connection: the ZMTP handshake, then frames both ways between
//! the stream and the far end of the socket's pipe.
//!
//! - In: bytes → [`Session`] → frames, queued until the pipe takes them
//!   (its high-water mark is the backpressure: while the queue is long the
//!   engine stops reading the stream, and TCP pushes back on the peer).
//!   A ZMTP 3.1 peer's SUBSCRIBE/CANCEL commands become the `0x01`/`0x00`
//!   messages PUB/XPUB patterns read.
//! - Out: pipe → [`Session`] (many frames encoded into one buffer) → one
//!   write. A SUB/XSUB's `0x01`/`0x00` messages become subscriptions in the
//!   form the peer's ZMTP version expects, and are remembered so a
//!   reconnected peer gets them again.
//! - A connecter keeps its pipe across reconnects; a binder's connection
//!   and pipe end together.
//! - Setting up: a connecter resolves a host name on a helper thread, then
//!   connects (within CONNECT_TIMEOUT); every connection then has
//!   HANDSHAKE_IVL to finish its handshake.

use super::address::{resolve_in_background, ConnectAddress, Host};
use super::{net, SocketDesc};
use crate::pipe::doorbell::Doorbell;
use crate::pipe::{pipe, PipeConfig, PipeEnd, WriteError};
use crate::socket::NewPipe;
use crate::zmtp::{Handshake, HandshakeConfig, HandshakeEvent, Session, SessionEvent};
use crate::SocketType;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Stop reading the stream while this many frames wait for the pipe.
const INBOUND_LIMIT: usize = 4096;
/// Stop taking frames from the pipe while this much waits to be written.
const OUTBOUND_LIMIT: usize = 256 * 1024;
const READ_CHUNK: usize = 64 * 1024;

enum Proto {
    Idle,
    Handshake(Box<Handshake>),
    Session(Box<Session>),
}

pub(crate) struct Engine {
    token: Token,
    desc: SocketDesc,
    endpoint: String,
    bell: Arc<Doorbell>,
    stream: Option<TcpStream>,
    /// A non-blocking connect is in progress.
    connecting: bool,
    proto: Proto,
    end: Option<PipeEnd>,
    /// Connecter: where to (re)connect, when, and the next backoff.
    target: Option<ConnectAddress>,
    /// A host name lookup in progress, and its answer once in.
    resolving: Option<mpsc::Receiver<std::io::Result<SocketAddr>>>,
    resolved: Option<std::io::Result<SocketAddr>>,
    /// The connection's far end, for a PLAIN server's authenticator.
    peer: Option<SocketAddr>,
    /// When the connect (CONNECT_TIMEOUT) or the handshake (HANDSHAKE_IVL)
    /// in progress is given up.
    deadline: Option<Instant>,
    reconnect_at: Option<Instant>,
    backoff: Duration,
    out: Vec<u8>,
    out_pos: usize,
    inbound: VecDeque<(Vec<u8>, bool)>,
    /// The inbound frame to write next starts a message.
    in_msg_start: bool,
    /// The outbound frame to read next starts a message.
    out_msg_start: bool,
    /// The stream may hold bytes not read yet (mio is edge-triggered).
    read_ready: bool,
    /// The peer closed (or reset) the stream: deliver what it sent, then go.
    ended: bool,
    read_buf: Vec<u8>,
    /// SUB/XSUB: subscriptions sent, with counts, for a reconnected peer.
    subs: BTreeMap<Vec<u8>, u32>,
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
            end: None,
            target: None,
            resolving: None,
            resolved: None,
            peer: None,
            deadline: None,
            reconnect_at: None,
            backoff,
            out: Vec::new(),
            out_pos: 0,
            inbound: VecDeque::new(),
            in_msg_start: true,
            out_msg_start: true,
            read_ready: false,
            ended: false,
            read_buf: vec![0; READ_CHUNK],
            subs: BTreeMap::new(),
            done: false,
        }
    }

    /// An engine that connects to `addr` (now, and again after losses).
    pub fn connecter(
        token: Token,
        addr: ConnectAddress,
        end: PipeEnd,
        desc: SocketDesc,
        endpoint: String,
        bell: Arc<Doorbell>,
    ) -> Self {
        let mut e = Engine::new(token, desc, endpoint, bell);
        e.target = Some(addr);
        e.end = Some(end);
        e.reconnect_at = Some(Instant::now());
        e
    }

    /// An engine for a connection a listener accepted.
    pub fn accepted(
        token: Token,
        mut stream: TcpStream,
        peer: SocketAddr,
        desc: SocketDesc,
        endpoint: String,
        bell: Arc<Doorbell>,
        registry: &Registry,
    ) -> Self {
        let mut e = Engine::new(token, desc, endpoint, bell);
        net::tune(&stream, &e.desc.keepalive);
        e.peer = Some(peer);
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
        self.out_pos == self.out.len() && !self.end.as_mut().is_some_and(|e| e.readable())
    }

    /// Whether the engine has a live connection.
    pub fn connected(&self) -> bool {
        self.stream.is_some() && !self.connecting && matches!(self.proto, Proto::Session(_))
    }

    /// The socket closed its end of the pipe.
    fn socket_gone(&self) -> bool {
        self.end.as_ref().is_some_and(|e| e.peer_closed())
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
        match (timer, self.deadline) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        }
    }

    /// Readiness from the poll.
    pub fn on_event(&mut self, readable: bool, writable: bool) {
        if self.connecting && (writable || readable) {
            let Some(stream) = &self.stream else { return };
            match stream.take_error() {
                // Refused, unreachable, ...: drop it and retry later.
                Ok(Some(_)) | Err(_) => return self.lost(),
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => {
                        self.connecting = false;
                        self.start_handshake();
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
        let outbound = open
            && matches!(self.proto, Proto::Session(_))
            && self.end.as_mut().is_some_and(|e| e.readable());
        let inbound =
            !self.inbound.is_empty() && self.end.as_mut().is_some_and(|e| e.can_start_message());
        let gone = self.socket_gone();
        outbound
            || inbound
            || gone
            || self.poll_resolver()
            || (open && self.read_ready && self.inbound.len() < INBOUND_LIMIT)
    }

    /// Moves whatever can move without blocking; whether anything did.
    pub fn pump(&mut self, registry: &Registry, now: Instant) -> bool {
        if self.done {
            return false;
        }
        if self.socket_gone() && (self.stream.is_none() || self.flushed()) {
            // The socket is gone (or disconnected) and what it sent has left.
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
        if self.deadline.is_some_and(|d| now >= d) {
            // CONNECT_TIMEOUT or HANDSHAKE_IVL ran out: a connecter retries.
            self.lost();
            return true;
        }
        let mut work = self.flush_inbound();
        if self.read_ready && self.inbound.len() < INBOUND_LIMIT && !self.connecting && !self.ended
        {
            work |= self.read(now);
        }
        work |= self.flush_inbound();
        if self.ended {
            if self.inbound.is_empty() {
                // Everything the peer sent before it left is in the pipe.
                self.lost();
                return true;
            }
            return work;
        }
        work |= self.pull_outbound();
        work |= self.write();
        let mut dead = false;
        if let Proto::Session(s) = &mut self.proto {
            s.handle_timeout(now);
            if let Some(bytes) = s.poll_transmit() {
                self.out.extend_from_slice(&bytes);
            }
            dead = s.error().is_some();
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

    fn handshake_config(&self) -> HandshakeConfig {
        let mut cfg = HandshakeConfig::new(self.desc.kind);
        // The handshake announces it only for REQ, DEALER and ROUTER, as libzmq.
        cfg.routing_id = self.desc.routing_id.clone();
        cfg.max_frame_size = self.desc.max_msg_size;
        cfg.heartbeat = self.desc.heartbeat;
        cfg.mechanism = self.desc.mechanism.clone();
        cfg.peer_address = self.peer;
        cfg
    }

    fn start_handshake(&mut self) {
        self.deadline = self.desc.handshake_ivl.map(|d| Instant::now() + d);
        match Handshake::new(self.handshake_config()) {
            Ok(mut h) => {
                while let Some(bytes) = h.poll_transmit() {
                    self.out.extend_from_slice(&bytes);
                }
                self.proto = Proto::Handshake(Box::new(h));
            }
            Err(_) => self.lost(),
        }
    }

    fn start_connect(&mut self, registry: &Registry, now: Instant) {
        self.reconnect_at = None;
        let Some(target) = &self.target else { return };
        match &target.host {
            Host::Ip(ip) => {
                let addr = SocketAddr::new(*ip, target.port);
                self.connect_to(addr, registry, now);
            }
            // Resolved at each attempt, as libzmq does: the name may point
            // elsewhere by now.
            Host::Name(name) => match resolve_in_background(
                name.clone(),
                target.port,
                target.ipv6,
                self.bell.clone(),
            ) {
                Ok(rx) => self.resolving = Some(rx),
                Err(_) => self.schedule_reconnect(),
            },
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

    fn connect_to(&mut self, addr: SocketAddr, registry: &Registry, now: Instant) {
        let source = self.target.as_ref().and_then(|t| t.source_for(addr));
        match net::connect(addr, source) {
            Ok(mut stream) => {
                net::tune(&stream, &self.desc.keepalive);
                self.peer = Some(addr);
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
                    self.deadline = self.desc.connect_timeout.map(|d| now + d);
                } else {
                    self.schedule_reconnect();
                }
            }
            Err(_) => self.schedule_reconnect(),
        }
    }

    fn schedule_reconnect(&mut self) {
        match self.desc.reconnect_ivl {
            Some(_) => {
                self.reconnect_at = Some(Instant::now() + self.backoff);
                if let Some(max) = self.desc.reconnect_ivl_max {
                    self.backoff = (self.backoff * 2).min(max);
                }
            }
            None => self.target = None,
        }
    }

    /// The connection is lost (or failed): drop it; a connecter tries again.
    fn lost(&mut self) {
        if let Some(mut s) = self.stream.take() {
            let _ = s.flush();
        }
        self.connecting = false;
        self.deadline = None;
        self.proto = Proto::Idle;
        self.out.clear();
        self.out_pos = 0;
        self.inbound.clear();
        self.read_ready = false;
        self.ended = false;
        if let Some(end) = &mut self.end {
            // Frames of a message cut off mid-way were never published.
            end.rollback();
        }
        self.in_msg_start = true;
        self.out_msg_start = true;
        if self.target.is_some() {
            self.schedule_reconnect();
        } else {
            // A binder's pipe ends with its connection.
            self.end = None;
            self.done = true;
        }
    }

    fn close(&mut self, registry: &Registry) {
        if let Some(mut s) = self.stream.take() {
            let _ = registry.deregister(&mut s);
        }
        self.end = None;
        self.done = true;
    }

    /// Reads what the stream has (bounded per turn); whether it read.
    fn read(&mut self, now: Instant) -> bool {
        let mut any = false;
        for _ in 0..16 {
            let Some(stream) = &mut self.stream else {
                return any;
            };
            match stream.read(&mut self.read_buf) {
                Ok(0) => {
                    self.ended = true;
                    return true;
                }
                Ok(n) => {
                    any = true;
                    let chunk = std::mem::take(&mut self.read_buf);
                    self.feed(&chunk[..n], now);
                    self.read_buf = chunk;
                    if self.inbound.len() >= INBOUND_LIMIT || self.stream.is_none() {
                        return any;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.read_ready = false;
                    return any;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.ended = true;
                    return true;
                }
            }
        }
        any
    }

    fn feed(&mut self, bytes: &[u8], now: Instant) {
        match std::mem::replace(&mut self.proto, Proto::Idle) {
            Proto::Idle => {}
            Proto::Handshake(mut h) => {
                let _ = h.feed(bytes);
                while let Some(bytes) = h.poll_transmit() {
                    self.out.extend_from_slice(&bytes);
                }
                match h.poll_event() {
                    Some(HandshakeEvent::Ready {
                        peer_routing_id, ..
                    }) => match h.into_session(now) {
                        Ok(session) => {
                            self.proto = Proto::Session(Box::new(session));
                            self.on_ready(peer_routing_id.unwrap_or_default());
                            self.drain_session();
                        }
                        Err(_) => self.lost(),
                    },
                    Some(HandshakeEvent::Failed(_)) => {
                        let _ = self.write();
                        self.lost();
                    }
                    None => self.proto = Proto::Handshake(h),
                }
            }
            Proto::Session(mut s) => {
                let _ = s.feed(bytes, now);
                self.proto = Proto::Session(s);
                self.drain_session();
            }
        }
    }

    fn on_ready(&mut self, peer_id: Vec<u8>) {
        self.deadline = None;
        self.backoff = self.desc.reconnect_ivl.unwrap_or_default();
        match &mut self.end {
            Some(end) => {
                end.set_routing_id(&peer_id);
                end.attach(self.bell.clone());
            }
            None => {
                let (mut ours, theirs) = pipe(PipeConfig {
                    ring_capacity: self.desc.ring_capacity,
                    hwm: [self.desc.rcvhwm, self.desc.sndhwm],
                    ids: [
                        Some(peer_id.into()),
                        Some(self.desc.routing_id.clone().into()),
                    ],
                });
                ours.attach(self.bell.clone());
                self.desc.shared.deliver(NewPipe {
                    end: theirs,
                    endpoint: self.endpoint.as_str().into(),
                });
                self.end = Some(ours);
            }
        }
        if let Proto::Session(s) = &mut self.proto {
            for topic in self.subs.keys() {
                s.subscribe(topic);
            }
        }
    }

    fn drain_session(&mut self) {
        let Proto::Session(s) = &mut self.proto else {
            return;
        };
        let mut failed = false;
        while let Some(ev) = s.poll_event() {
            match ev {
                SessionEvent::Message { payload, more } => self.inbound.push_back((payload, more)),
                SessionEvent::Subscribe(topic) => self
                    .inbound
                    .push_back(([&[1u8][..], &topic].concat(), false)),
                SessionEvent::Cancel(topic) => self
                    .inbound
                    .push_back(([&[0u8][..], &topic].concat(), false)),
                SessionEvent::Failed(_) => failed = true,
            }
        }
        if let Some(bytes) = s.poll_transmit() {
            self.out.extend_from_slice(&bytes);
        }
        if failed {
            let _ = self.write();
            self.lost();
        }
    }

    /// Moves decoded frames into the pipe, as far as it takes them.
    fn flush_inbound(&mut self) -> bool {
        let Some(end) = &mut self.end else {
            return false;
        };
        let mut moved = false;
        while let Some((payload, more)) = self.inbound.front() {
            if self.in_msg_start && !end.can_start_message() {
                break;
            }
            match end.claim(payload.len()) {
                Ok(buf) => crate::copy::copy(buf, payload),
                Err(WriteError::Full) => break,
                Err(_) => {
                    // Larger than the pipe can ever carry: the connection
                    // is unusable, as with MAXMSGSIZE.
                    self.lost();
                    return true;
                }
            }
            let (len, more) = (payload.len(), *more);
            end.commit(len, more);
            self.in_msg_start = !more;
            self.inbound.pop_front();
            moved = true;
        }
        moved
    }

    /// Takes frames from the pipe into the session's output.
    fn pull_outbound(&mut self) -> bool {
        let (Some(end), Proto::Session(s)) = (&mut self.end, &mut self.proto) else {
            return false;
        };
        let subscriber = matches!(self.desc.kind, SocketType::Sub | SocketType::XSub);
        let mut moved = false;
        while self.out.len() - self.out_pos + s.pending_transmit() < OUTBOUND_LIMIT {
            let Ok(Some(rec)) = end.peek() else { break };
            let payload = end.payload(&rec);
            let single = self.out_msg_start && !rec.more();
            match payload.first() {
                Some(&flag @ (0 | 1)) if subscriber && single => {
                    let topic = &payload[1..];
                    if flag == 1 {
                        *self.subs.entry(topic.to_vec()).or_default() += 1;
                        s.subscribe(topic);
                    } else {
                        if let Some(n) = self.subs.get_mut(topic) {
                            *n -= 1;
                            if *n == 0 {
                                self.subs.remove(topic);
                            }
                        }
                        s.cancel(topic);
                    }
                }
                _ => s.send_frame(payload, rec.more()),
            }
            self.out_msg_start = !rec.more();
            end.consume(rec);
            moved = true;
        }
        if let Some(bytes) = s.poll_transmit() {
            self.out.extend_from_slice(&bytes);
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
                Err(_) => {
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
