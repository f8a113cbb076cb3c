//! Pipes: the only thing socket patterns see of a connection.
//!
//! A pipe is two [`ring`]s, one each way, and a control block: each side's
//! closed flag, each side's socket [`Doorbell`], and the high-water mark of
//! each direction. Each of the two sockets holds one [`PipeEnd`]: it writes
//! one ring, reads the other, and rings the peer's doorbell whenever it
//! publishes (the peer may wait for data) or goes away, and when it releases
//! room that the peer said it waits for (a want-room flag per direction, so
//! a reader does not wake a writer that sleeps for something else).
//!
//! A side that closes publishes nothing more; its peer reads everything that
//! was published before, then sees the pipe closed.
//!
//! Over ipc the rings lie in a segment shared with the peer process and the
//! control block stays local: the peer's side of it is played by the
//! connection's engine ([`PipeWatch`]), which marks the peer closed when the
//! connection ends, and is woken when our socket lets go of its end.

#[doc(hidden)]
pub mod breaks;
#[cfg(not(loom))]
mod chain;
#[cfg(fuzzing)]
pub(crate) use chain::fuzz as chain_fuzz;
#[cfg(not(loom))]
mod chunked;
pub mod doorbell;
pub(crate) mod futex;
mod heap;
pub mod ledger;
#[cfg(not(loom))]
pub mod metadata;
pub mod mpsc;
pub(crate) mod notify;
pub mod ring;
#[cfg(not(loom))]
mod spill;

pub use doorbell::Doorbell;
use ring::{ClaimError, Consumer, Corrupt, Producer, Record};

use crate::sync::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Bytes read (sixteen lines) after which a reader that has caught up
/// releases at once (see [`PipeEnd::consume`]).
const RELEASE_AFTER_BURST: usize = 1024;

/// The control block both ends of a pipe share; read on every operation,
/// written almost never, so it gets cache lines of its own.
#[repr(align(128))]
struct Control {
    closed: [AtomicBool; 2],
    bells: [OnceLock<Arc<Doorbell>>; 2],
    /// The high-water mark of the ring side `i` writes, as its two sockets
    /// set it ([`Hwm::pack`]ed: each socket changes its half alone).
    hwm: [AtomicU64; 2],
    /// The routing id side `i`'s socket asked for (empty: none), once known.
    ids: [OnceLock<Box<[u8]>>; 2],
    /// Side `i`'s writer waits for room in the ring it writes.
    want_room: [AtomicBool; 2],
    /// Side `i` rings with full fences.
    strong: [AtomicBool; 2],
    /// Rung when side 0 closes, for an engine that stands in for side 1.
    #[cfg(not(loom))]
    watcher: Option<Arc<Doorbell>>,
    /// Side 0 found a ring broken (a peer process wrote nonsense into it)
    /// before it closed: the engine reports a protocol error.
    broken: AtomicBool,
    /// The I/O thread's side hands the pipe over to one that replaces it
    /// (see [`PipeEnd::begin_handover`]).
    handover: AtomicBool,
    /// Side 1 (a connecter's I/O thread) is between connections: its pipe
    /// waits for the next one, but the socket's peer is not there.
    away: AtomicBool,
    /// In-process pipes: the pool side `i` writes frames too large for a
    /// ring into, set before its first such frame is published.
    #[cfg(not(loom))]
    pools: [OnceLock<Arc<crate::transport::ipc::pool::ChunkPool>>; 2],
    /// In-process pipes: the messages side `i` wrote beyond its ring.
    #[cfg(not(loom))]
    spills: [spill::Queue; 2],
    /// Neither side spills (a CONFLATE socket's pipe: see
    /// [`PipeEnd::forbid_spill`]).
    #[cfg(not(loom))]
    no_spill: AtomicBool,
    /// The properties of the connection behind the pipe (tcp, ipc).
    #[cfg(not(loom))]
    metadata: metadata::MetadataSlot,
    /// A pipe shared with a peer process: where each socket tells the
    /// other's writer its RCVHWM.
    #[cfg(not(loom))]
    marks: Option<RemoteMarks>,
}

/// Two words of a shared pipe's segment through which each reader tells
/// the writer of its ring its RCVHWM, so that a change made after the
/// handshake reaches the peer process's writer as it reaches an inproc
/// peer's (libzmq's `send_hwms_to_peer`). A word holds the mark plus one;
/// zero means "as offered in the handshake".
#[cfg(not(loom))]
pub(crate) struct RemoteMarks {
    /// Ours, for the peer's writer.
    ours: std::ptr::NonNull<AtomicU64>,
    /// The peer's, for our writer: any value a peer writes is a mark.
    theirs: std::ptr::NonNull<AtomicU64>,
    /// Keeps the words mapped.
    _mem: Arc<dyn Send + Sync>,
}

// SAFETY: the words are atomics in a mapping `_mem` keeps alive; nothing
// else is reached through the pointers.
#[cfg(not(loom))]
unsafe impl Send for RemoteMarks {}
// SAFETY: as above: every access is atomic.
#[cfg(not(loom))]
unsafe impl Sync for RemoteMarks {}

#[cfg(not(loom))]
impl RemoteMarks {
    /// The two words at `ours` and `theirs`.
    ///
    /// # Safety
    /// Both are 8-aligned words that stay mapped, readable and writable,
    /// while `mem` lives.
    pub unsafe fn new(
        ours: std::ptr::NonNull<AtomicU64>,
        theirs: std::ptr::NonNull<AtomicU64>,
        mem: Arc<dyn Send + Sync>,
    ) -> Self {
        Self {
            ours,
            theirs,
            _mem: mem,
        }
    }

    fn publish(&self, rcvhwm: u64) {
        // SAFETY: mapped while `_mem` lives (see `new`).
        let ours = unsafe { self.ours.as_ref() };
        ours.store(rcvhwm.min(i32::MAX as u64) + 1, Ordering::Relaxed);
    }

    /// The peer's RCVHWM, if it changed it since the handshake.
    fn peer_rcvhwm(&self) -> Option<u64> {
        // SAFETY: mapped while `_mem` lives (see `new`).
        let theirs = unsafe { self.theirs.as_ref() };
        let v = theirs.load(Ordering::Relaxed);
        (v != 0).then(|| (v - 1).min(i32::MAX as u64))
    }
}

/// One direction's high-water mark as the two sockets set it: the
/// writer's SNDHWM and the reader's RCVHWM, `None` where no socket has a
/// say (an I/O thread's end, an inproc peer that has yet to bind). As in
/// libzmq, the limit is their sum, and either at 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Hwm {
    pub snd: Option<u64>,
    pub rcv: Option<u64>,
}

impl Hwm {
    /// No socket sets a limit: none.
    #[cfg_attr(loom, allow(dead_code))]
    pub const NONE: Hwm = Hwm {
        snd: None,
        rcv: None,
    };
    const ABSENT: u64 = u32::MAX as u64;

    /// Only the writer's SNDHWM counts.
    pub fn snd(v: u64) -> Hwm {
        Hwm {
            snd: Some(v),
            rcv: None,
        }
    }

    /// Only the reader's RCVHWM counts.
    pub fn rcv(v: u64) -> Hwm {
        Hwm {
            snd: None,
            rcv: Some(v),
        }
    }

    /// The limit in messages, 0 for none.
    pub fn limit(self) -> u64 {
        match (self.snd, self.rcv) {
            (Some(0), _) | (_, Some(0)) => 0,
            (Some(a), Some(b)) => a + b,
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => 0,
        }
    }

    /// Both halves in one word (options are at most `i32::MAX`).
    fn pack(self) -> u64 {
        let half = |v: Option<u64>| v.map_or(Self::ABSENT, |v| v.min(Self::ABSENT - 1));
        half(self.snd) << 32 | half(self.rcv)
    }

    fn unpack(word: u64) -> Hwm {
        let half = |v: u64| (v != Self::ABSENT).then_some(v);
        Hwm {
            snd: half(word >> 32),
            rcv: half(word & Self::ABSENT),
        }
    }
}

/// The most slips a reader skips after one that waited in vain: a release
/// comes every few hundred messages, so at full speed that is some
/// milliseconds, after which a writer back on its own core is trailed again.
#[cfg_attr(loom, allow(dead_code))]
const SLIP_BACKOFF_MAX: u16 = 1023;

/// When a reader's due slips (see [`ring::Consumer::slip`]) run: a slip
/// that waited in vain (its writer shares the core, or stalled) makes the
/// next ones be skipped, twice as many each time it happens again, up to
/// [`SLIP_BACKOFF_MAX`]; one that works ends that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SlipBackoff {
    /// Slips still to skip.
    skip: u16,
    /// How many the last miss made it skip.
    misses: u16,
}

impl SlipBackoff {
    /// Runs `slip` (true if it worked) unless this one is skipped.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn run(&mut self, slip: impl FnOnce() -> bool) {
        if self.skip > 0 {
            self.skip -= 1;
        } else if slip() {
            self.misses = 0;
        } else {
            self.misses = (self.misses * 2 + 1).min(SLIP_BACKOFF_MAX);
            self.skip = self.misses;
        }
    }
}

/// How many messages a reader may read before its writer gets the room
/// back: half the mark, as libzmq's low-water mark (`pipe_t::compute_lwm`).
/// Its pipes tell the writer what was read once per low-water mark, so a
/// writer at its mark goes on only once that many messages are read.
fn low_water_mark(limit: u64) -> u64 {
    limit.div_ceil(2).max(1)
}

/// The low-water mark of an inbound direction: the reader releases what
/// it read at each multiple of it (see [`PipeEnd::consume`]).
fn inbound_lwm(inbound: Hwm) -> u64 {
    match inbound.limit() {
        0 => u64::MAX,
        h => low_water_mark(h),
    }
}

/// How to build a pipe.
#[derive(Debug, Clone)]
pub(crate) struct PipeConfig {
    /// Bytes in each ring (a power of two).
    pub ring_capacity: usize,
    /// High-water marks: `[a to b, b to a]`.
    pub hwm: [Hwm; 2],
    /// Routing ids of `[a, b]`'s sockets, where already known.
    pub ids: [Option<Box<[u8]>>; 2],
}

/// Held rings (see [`PipeEnd::hold_rings`]): one per this many messages.
pub(crate) const RING_EVERY: u32 = 256;

/// Creates a pipe and returns its two ends, `a` and `b`.
pub(crate) fn pipe(mut cfg: PipeConfig) -> (PipeEnd, PipeEnd) {
    let (a_tx, b_rx) = ring::ring(cfg.ring_capacity);
    let (b_tx, a_rx) = ring::ring(cfg.ring_capacity);
    let ctl = Arc::new(Control {
        closed: [AtomicBool::new(false), AtomicBool::new(false)],
        bells: [OnceLock::new(), OnceLock::new()],
        hwm: [
            AtomicU64::new(cfg.hwm[0].pack()),
            AtomicU64::new(cfg.hwm[1].pack()),
        ],
        ids: [OnceLock::new(), OnceLock::new()],
        want_room: [AtomicBool::new(false), AtomicBool::new(false)],
        strong: [AtomicBool::new(false), AtomicBool::new(false)],
        #[cfg(not(loom))]
        watcher: None,
        broken: AtomicBool::new(false),
        handover: AtomicBool::new(false),
        away: AtomicBool::new(false),
        #[cfg(not(loom))]
        pools: [OnceLock::new(), OnceLock::new()],
        #[cfg(not(loom))]
        spills: Default::default(),
        #[cfg(not(loom))]
        no_spill: AtomicBool::new(false),
        #[cfg(not(loom))]
        metadata: Default::default(),
        #[cfg(not(loom))]
        marks: None,
    });
    for (slot, id) in ctl.ids.iter().zip(cfg.ids.iter_mut()) {
        if let Some(id) = id.take() {
            let _ = slot.set(id);
        }
    }
    let end = |side: usize, tx, rx| PipeEnd {
        tx,
        rx,
        ctl: ctl.clone(),
        side,
        peer_bell: None,
        hwm: cfg.hwm[side].limit(),
        release_bytes: cfg.ring_capacity / 4,
        lwm_in: inbound_lwm(cfg.hwm[1 - side]),
        release_msgs: inbound_lwm(cfg.hwm[1 - side]),
        slip: false,
        slip_due: false,
        slip_backoff: SlipBackoff::default(),
        upstream: false,
        strong: false,
        full_fence: true,
        held: None,
        remote: false,
        #[cfg(not(loom))]
        chunks: None,
        #[cfg(not(loom))]
        chunk_flags: 0,
        #[cfg(not(loom))]
        pool_slot: None,
        #[cfg(not(loom))]
        spill: None,
        #[cfg(not(loom))]
        spill_flags: 0,
        #[cfg(not(loom))]
        metadata_seen: 0,
        #[cfg(not(loom))]
        metadata: None,
    };
    (end(0, a_tx, a_rx), end(1, b_tx, b_rx))
}

/// A socket's end of a pipe whose rings lie in a mapping shared with a peer
/// process: it writes `tx`, reads `rx` and rings `peer_bell` (the peer
/// socket's doorbell, mapped from the peer). Limits: `hwm[0]` out, `hwm[1]`
/// in (the peer process applies its own to what it writes; a change of
/// our RCVHWM reaches it through `marks`, as the peer's reaches us);
/// `ids`: this side's and the peer's routing ids.
/// The returned watch lets the connection's engine play the peer's part of
/// the control block; `watcher` is rung when the socket drops its end.
#[cfg(not(loom))]
pub(crate) fn remote_end(
    tx: Producer,
    rx: Consumer,
    peer_bell: Arc<Doorbell>,
    hwm: [Hwm; 2],
    ids: [Box<[u8]>; 2],
    watcher: Arc<Doorbell>,
    marks: RemoteMarks,
) -> (PipeEnd, PipeWatch) {
    let capacity = tx.capacity();
    let [own_id, peer_id] = ids;
    let ctl = Arc::new(Control {
        closed: [AtomicBool::new(false), AtomicBool::new(false)],
        bells: [OnceLock::new(), OnceLock::from(peer_bell)],
        hwm: [AtomicU64::new(hwm[0].pack()), AtomicU64::new(hwm[1].pack())],
        ids: [OnceLock::from(own_id), OnceLock::from(peer_id)],
        want_room: [AtomicBool::new(false), AtomicBool::new(false)],
        strong: [AtomicBool::new(false), AtomicBool::new(false)],
        watcher: Some(watcher),
        broken: AtomicBool::new(false),
        handover: AtomicBool::new(false),
        away: AtomicBool::new(false),
        #[cfg(not(loom))]
        pools: [OnceLock::new(), OnceLock::new()],
        spills: Default::default(),
        no_spill: AtomicBool::new(false),
        metadata: Default::default(),
        marks: Some(marks),
    });
    let end = PipeEnd {
        tx,
        rx,
        ctl: ctl.clone(),
        side: 0,
        peer_bell: None,
        hwm: hwm[0].limit(),
        release_bytes: capacity / 4,
        lwm_in: inbound_lwm(hwm[1]),
        release_msgs: inbound_lwm(hwm[1]),
        slip: false,
        slip_due: false,
        slip_backoff: SlipBackoff::default(),
        upstream: false,
        strong: false,
        full_fence: true,
        held: None,
        remote: true,
        chunks: None,
        chunk_flags: 0,
        pool_slot: None,
        spill: None,
        spill_flags: 0,
        metadata_seen: 0,
        metadata: None,
    };
    (end, PipeWatch { ctl })
}

/// The engine's hold on a [`remote_end`]'s control block: it stands in for
/// the peer process, whose own flags we cannot see.
#[cfg(not(loom))]
pub(crate) struct PipeWatch {
    ctl: Arc<Control>,
}

#[cfg(not(loom))]
impl PipeWatch {
    /// The peer is gone (its connection ended): once our socket has read
    /// what the peer published, it sees the pipe closed.
    pub fn close_peer(&self) {
        self.ctl.closed[1].store(true, Ordering::Release);
        // As in `notify_peer`: either the socket's bell is there to ring, or
        // the socket attaches later and then sees the flag.
        fence(Ordering::SeqCst);
        if let Some(bell) = self.ctl.bells[0].get() {
            // A publisher looks at its subscribers' pipes only when poked.
            bell.poke();
            bell.ring_from(true);
        }
    }

    /// Whether our socket has let go of its end.
    pub fn local_closed(&self) -> bool {
        self.ctl.closed[0].load(Ordering::Acquire)
    }

    /// Our socket dropped its end because the peer broke a ring (read
    /// after [`local_closed`](Self::local_closed) said so).
    pub fn local_broken(&self) -> bool {
        self.ctl.broken.load(Ordering::Relaxed)
    }
}

/// One socket's end of a pipe. Its cursors change on every frame, so it
/// shares no cache line with anything, in particular not with the peer's end.
#[repr(align(128))]
pub(crate) struct PipeEnd {
    tx: Producer,
    rx: Consumer,
    ctl: Arc<Control>,
    side: usize,
    /// The peer's doorbell, once the peer has attached.
    peer_bell: Option<Arc<Doorbell>>,
    /// Our private copy of the shared limit, read again when we reach it
    /// (and at once when our own socket changes it).
    hwm: u64,
    /// Release inbound space once this many bytes are consumed (or when
    /// caught up): a quarter of the ring.
    release_bytes: usize,
    /// The inbound direction's low-water mark, and how many messages are
    /// left to read until the next multiple of it, where the reader
    /// releases (the writer counts what was read only in such steps).
    lwm_in: u64,
    release_msgs: u64,
    /// The reader may trail a stream (see [`set_slip`](Self::set_slip)).
    slip: bool,
    /// The reader released in a stream: its next blocking read trails the
    /// writer first (see [`slip_if_due`](Self::slip_if_due)).
    slip_due: bool,
    /// Which due slips run (see [`slip_if_due`](Self::slip_if_due)).
    #[cfg_attr(loom, allow(dead_code))]
    slip_backoff: SlipBackoff,
    /// Poke the peer on each publish (see [`set_upstream`](Self::set_upstream)).
    upstream: bool,
    /// This side rings with full fences (see [`set_strong`](Self::set_strong)).
    strong: bool,
    /// Ringing the peer's bell takes a full fence (see
    /// [`choose_fence`](Self::choose_fence)); true until the bell is found.
    full_fence: bool,
    /// While set, messages published since the last ring, whose ring is
    /// held (see [`hold_rings`](Self::hold_rings)).
    held: Option<u32>,
    /// The peer is in another process and cannot see our control block
    /// (its want-room flag included): every release rings it.
    remote: bool,
    /// Over shared memory: the chunk pools large frames travel in.
    #[cfg(not(loom))]
    chunks: Option<Box<chunked::Link>>,
    /// What `chunks` holds (`chunked::WRITES`, `PENDING`, `UNPUBLISHED`),
    /// here so that small frames test a bit rather than follow the box.
    #[cfg(not(loom))]
    chunk_flags: u8,
    /// In-process: the socket's pool, for frames too large for the ring.
    #[cfg(not(loom))]
    pool_slot: Option<crate::transport::ipc::pool::PoolSlot>,
    /// Messages beyond the ring, written or being read (see [`spill`]).
    #[cfg(not(loom))]
    spill: Option<Box<spill::State>>,
    /// What `spill` holds (`spill::WRITING`, `CLAIMED`, `READING`).
    #[cfg(not(loom))]
    spill_flags: u8,
    /// The generation of the connection's properties last read (0: never
    /// set), and those properties (see [`metadata`](Self::metadata)).
    #[cfg(not(loom))]
    metadata_seen: u64,
    #[cfg(not(loom))]
    metadata: Option<Arc<metadata::PeerMetadata>>,
}

/// What stops a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// At the high-water mark, or the ring is full: wait for the reader.
    Full,
    /// The frame (or message) can never fit in this pipe.
    TooLarge,
    /// The peer is gone, or broke the ring.
    Closed,
}

#[cfg(not(loom))]
impl PipeEnd {
    /// Sets the properties of the connection behind the pipe, for both
    /// ends (`None`: none, as while a connecter is between connections).
    pub fn set_metadata(&self, md: Option<Arc<metadata::PeerMetadata>>) {
        self.ctl.metadata.set(md);
    }

    /// The properties of the connection behind the pipe, if any.
    #[inline(always)]
    pub fn metadata(&mut self) -> Option<&Arc<metadata::PeerMetadata>> {
        // Asked at every `zmq_msg_recv`: one load and compare while they
        // stay as last read (never set: generation 0, nothing cached).
        self.ctl
            .metadata
            .read(&mut self.metadata_seen, &mut self.metadata);
        self.metadata.as_ref()
    }
}

impl PipeEnd {
    /// Joins this end to the socket whose doorbell is `bell`; from now on
    /// the peer wakes that socket.
    pub fn attach(&mut self, bell: Arc<Doorbell>) {
        let _ = self.ctl.bells[self.side].set(bell);
        // Pairs with the fence in `notify_peer`: either the peer sees our
        // bell, or our next scan sees what it published.
        fence(Ordering::SeqCst);
        // A peer may be waiting for us to be there (IMMEDIATE sends only
        // to attached peers): a rare event, rung with a full fence.
        if let Some(peer) = self.ctl.bells[1 - self.side].get() {
            peer.ring_from(true);
        }
    }

    /// Records the routing id this side's socket asked for (empty: none).
    pub fn set_routing_id(&self, id: &[u8]) {
        let _ = self.ctl.ids[self.side].set(id.into());
    }

    /// The routing id the peer's socket asked for (empty: none), once known.
    pub fn peer_routing_id(&self) -> Option<&[u8]> {
        self.ctl.ids[1 - self.side].get().map(|id| &**id)
    }

    /// The I/O thread's end of a connecter's pipe: from now on
    /// the socket starts no message here, and another pipe will carry on
    /// for this one once the socket has stopped writing it
    /// ([`close_writing`](Self::close_writing)) and everything it wrote is
    /// read. The socket keeps this pipe until then ([`Pipe::finished`]).
    ///
    /// [`Pipe::finished`]: crate::pattern::Pipe::finished
    #[cfg(not(loom))]
    pub fn begin_handover(&mut self, bell: Arc<Doorbell>) {
        self.attach(bell);
        self.ctl.handover.store(true, Ordering::Release);
        self.ctl.closed[self.side].store(true, Ordering::Release);
        // As in `Drop`: the socket, woken, sees the flags.
        self.notify_peer();
    }

    /// The pipe that carries on for this one has reached the socket (or
    /// never will): it may go once drained.
    pub fn end_handover(&self) {
        self.ctl.handover.store(false, Ordering::Release);
    }

    /// Whether the peer hands this pipe over (see
    /// [`begin_handover`](Self::begin_handover)).
    pub fn handing_over(&self) -> bool {
        self.ctl.handover.load(Ordering::Acquire)
    }

    /// Publishes nothing more here (nothing may be in progress): the peer
    /// reads what was published, then sees this side closed. The end stays
    /// to read what the peer published.
    pub fn close_writing(&mut self) {
        self.ctl.closed[self.side].store(true, Ordering::Release);
        self.notify_peer();
    }

    /// Whether this side has stopped writing (closed or dropped).
    pub fn writing_closed(&self) -> bool {
        self.ctl.closed[self.side].load(Ordering::Relaxed)
    }

    /// The descriptor a DESCRIPTOR record from [`peek`](Self::peek)
    /// carries (the frame itself lies in a chunk), if `rec` is one.
    #[cfg(not(loom))]
    pub fn descriptor(&self, rec: &Record) -> Option<&[u8]> {
        (rec.flags() & ring::DESCRIPTOR != 0).then(|| self.rx.payload(rec))
    }

    /// Whether `other` is an end of the same pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.ctl, &other.ctl)
    }

    /// Whether the peer's socket has taken its end of the pipe.
    pub fn peer_attached(&self) -> bool {
        self.ctl.bells[1 - self.side].get().is_some() && !self.ctl.away.load(Ordering::Relaxed)
    }

    /// A connecter's I/O thread lost its connection (`true`) and keeps
    /// this pipe for the next one, or has that next one (`false`, before it
    /// attaches again, which wakes the socket): the socket counts the peer
    /// as there only while connected (IMMEDIATE).
    #[cfg_attr(loom, allow(dead_code))]
    pub fn set_away(&self, away: bool) {
        self.ctl.away.store(away, Ordering::Relaxed);
    }

    /// Sets this side's socket's share of the pipe's marks: its SNDHWM
    /// for what it writes, its RCVHWM for what it reads (libzmq's
    /// `pipe_t::set_hwms` when a socket's option changes, and its inproc
    /// boost, where a connect-before-bind learns the binder's marks late).
    /// The writer of the other direction sees the change when it next
    /// reaches the limit it knew, in a peer process too.
    pub fn set_hwm(&mut self, snd: u64, rcv: u64) {
        let set = |i: usize, f: &dyn Fn(&mut Hwm)| {
            let _ = self.ctl.hwm[i].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                let mut h = Hwm::unpack(w);
                f(&mut h);
                Some(h.pack())
            });
        };
        set(self.side, &|h| h.snd = Some(snd));
        set(1 - self.side, &|h| h.rcv = Some(rcv));
        self.hwm = self.limit(self.side);
        self.lwm_in = inbound_lwm(Hwm::unpack(
            self.ctl.hwm[1 - self.side].load(Ordering::Relaxed),
        ));
        self.next_release_at_lwm();
        #[cfg(not(loom))]
        if let Some(marks) = &self.ctl.marks {
            marks.publish(rcv);
            // A writer asleep at the mark it knew looks again.
            self.notify_peer();
        }
    }

    /// The current limit of the ring side `i` writes.
    #[inline]
    fn limit(&self, i: usize) -> u64 {
        #[allow(unused_mut)]
        let mut hwm = Hwm::unpack(self.ctl.hwm[i].load(Ordering::Relaxed));
        #[cfg(not(loom))]
        if let (true, Some(marks)) = (i == self.side, &self.ctl.marks) {
            if let Some(rcv) = marks.peer_rcvhwm() {
                hwm.rcv = Some(rcv);
            }
        }
        hwm.limit()
    }

    /// Whether fewer than `limit` (non-zero) messages are queued, read
    /// messages counting in whole low-water marks.
    #[inline]
    fn below(&mut self, limit: u64) -> bool {
        self.tx.below(limit, low_water_mark(limit))
    }

    #[inline(always)]
    fn notify_peer(&mut self) {
        let full_fence = self.full_fence;
        if let Some(bell) = self.peer_bell() {
            bell.ring_fenced(full_fence);
        }
    }

    /// The peer's doorbell, once it has attached.
    #[inline(always)]
    fn peer_bell(&mut self) -> Option<&Doorbell> {
        if self.peer_bell.is_none() {
            self.find_peer_bell();
        }
        self.peer_bell.as_deref()
    }

    #[cold]
    #[inline(never)]
    fn find_peer_bell(&mut self) {
        // Pairs with the fence in `attach`.
        fence(Ordering::SeqCst);
        self.peer_bell = self.ctl.bells[1 - self.side].get().cloned();
        self.choose_fence();
    }

    /// Chooses the barrier every ring of the peer's bell takes (see
    /// [`Doorbell::needs_full_fence`]), as this side's strength and the
    /// bell say.
    fn choose_fence(&mut self) {
        if let Some(bell) = &self.peer_bell {
            self.full_fence = bell.needs_full_fence(self.strong);
        }
    }

    /// The peer broke the pipe (a ring it writes failed validation): the
    /// end is about to be dropped, and whoever watches it reports why.
    pub fn mark_broken(&self) {
        // Published by the Release store of `closed` when the end drops.
        self.ctl.broken.store(true, Ordering::Relaxed);
    }

    /// Whether the peer has gone.
    #[inline]
    pub fn peer_closed(&self) -> bool {
        self.ctl.closed[1 - self.side].load(Ordering::Acquire)
    }

    /// Whether a new message may start now (below the high-water mark,
    /// counting the messages spilled beyond the ring). Ring space is
    /// checked frame by frame in [`claim`](Self::claim).
    #[inline(always)]
    pub fn can_start_message(&mut self) -> bool {
        #[cfg(not(loom))]
        if self.spill_flags & spill::WRITING != 0 {
            return self.can_start_spilling();
        }
        self.hwm == 0 || self.tx.below_cached(self.hwm) || self.can_start_counted()
    }

    /// [`can_start_message`](Self::can_start_message) once the cached count
    /// says the mark is reached: counts again, under the current mark.
    #[inline(never)]
    fn can_start_counted(&mut self) -> bool {
        if self.below(self.hwm) {
            return true;
        }
        self.hwm = self.limit(self.side);
        self.hwm == 0 || self.below(self.hwm)
    }

    /// [`can_start_message`](Self::can_start_message) while spilling.
    /// Counts the ring's released messages exactly, not in low-water
    /// marks: with them rounded down, a tcp connection's writer spilling
    /// 100 KB frames into its socket's pipe stopped for good once the
    /// reader had read the mark's worth (tests/io_idle.rs, one run in two;
    /// not understood yet).
    #[cfg(not(loom))]
    #[cold]
    fn can_start_spilling(&mut self) -> bool {
        self.hwm = self.limit(self.side);
        self.hwm == 0 || self.tx.queued_msgs(1) + self.ctl.spill(self.side).len() < self.hwm
    }

    /// Room for a frame of `len` bytes, written in place: in the ring, or
    /// beyond it (see [`spill`]) when a message finds the ring full.
    #[inline(always)]
    pub fn claim(&mut self, len: usize) -> Result<&mut [u8], WriteError> {
        #[cfg(not(loom))]
        if self.spill_flags & spill::WRITING != 0 && self.still_spilling(len) {
            return self.spill_claim(len);
        }
        #[cfg(not(loom))]
        if self.chunk_flags != 0 {
            if self.wants_chunk(len) {
                return self.claim_chunk_or_spill(len);
            }
            // A second claim abandons the first, a chunk's too.
            self.drop_pending_chunk();
        }
        #[cfg(not(loom))]
        if self.would_link(len) && self.link_local_writer() {
            return self.claim_chunk_or_spill(len);
        }
        // Reserve, then borrow: a borrow returned from one arm would stay
        // held in the others.
        match self.tx.reserve(len) {
            Ok(()) => Ok(self.tx.reserved()),
            #[cfg(not(loom))]
            Err(ClaimError::Full) if self.may_spill() => self.spill_claim(len),
            #[cfg(not(loom))]
            Err(e @ (ClaimError::Full | ClaimError::TooLarge)) => self.claim_beyond(len, e),
            #[cfg(loom)]
            Err(ClaimError::Full) => Err(WriteError::Full),
            #[cfg(loom)]
            Err(ClaimError::TooLarge) => Err(WriteError::TooLarge),
            Err(ClaimError::Corrupt) => Err(WriteError::Closed),
        }
    }

    /// The ring has no room for the frame (`e`): a message in progress
    /// goes on beyond it, with what it has written so far (see
    /// [`move_beyond`](Self::move_beyond)), if it can. Out of line: the
    /// hot path only tests the ring.
    #[cfg(not(loom))]
    #[cold]
    #[inline(never)]
    fn claim_beyond(&mut self, len: usize, e: ClaimError) -> Result<&mut [u8], WriteError> {
        if self.may_move_beyond() {
            if !self.move_beyond()? {
                return Err(WriteError::Full);
            }
            return self.spill_claim(len);
        }
        Err(match e {
            ClaimError::Full => WriteError::Full,
            _ => WriteError::TooLarge,
        })
    }

    /// A chunk for a large frame, or (no chunk free, or no room for its
    /// descriptor: what [`has_room`](Self::has_room) asks) the spill.
    #[cfg(not(loom))]
    #[cold]
    fn claim_chunk_or_spill(&mut self, len: usize) -> Result<&mut [u8], WriteError> {
        if !self.has_room_in_ring(len) {
            if self.may_spill() {
                return self.spill_claim(len);
            }
            if self.may_move_beyond() {
                return self.claim_beyond(len, ClaimError::Full);
            }
        }
        self.claim_chunk(len)
    }

    /// Sends `data` as a whole one-frame message: [`claim`](Self::claim),
    /// copy and [`commit`](Self::commit) in one step where the ring takes
    /// the frame as it is. No message may be in progress.
    #[inline(always)]
    pub fn push(&mut self, data: &[u8]) -> Result<(), WriteError> {
        #[cfg(not(loom))]
        if !self.straight_into_ring(data.len()) {
            return self.push_by_claim(data);
        }
        match self.tx.push(data) {
            Ok(()) => {
                self.after_publish();
                Ok(())
            }
            #[cfg(not(loom))]
            Err(ClaimError::Full) if self.may_spill() => self.push_by_claim(data),
            Err(ClaimError::Full) => Err(WriteError::Full),
            Err(ClaimError::TooLarge) => Err(WriteError::TooLarge),
            Err(ClaimError::Corrupt) => Err(WriteError::Closed),
        }
    }

    /// Whether a frame of `len` bytes may go into the ring in one step:
    /// no chunk or spill in progress (an end that writes chunks, ipc, takes
    /// a small frame in its ring as any other end does) and not chunk-sized.
    #[cfg(not(loom))]
    #[inline(always)]
    fn straight_into_ring(&self, len: usize) -> bool {
        self.chunk_flags & !chunked::WRITES == 0 && self.spill_flags == 0 && !self.chunk_sized(len)
    }

    /// [`push`](Self::push) where chunks may be involved.
    #[cfg(not(loom))]
    #[inline(never)]
    fn push_by_claim(&mut self, data: &[u8]) -> Result<(), WriteError> {
        crate::copy::copy(self.claim(data.len())?, data);
        self.commit(data.len(), false);
        Ok(())
    }

    /// Sends the two-frame message of an empty frame then `data` (REQ/REP's
    /// delimiter and body), as [`push`](Self::push) sends a one-frame
    /// message: in one step of the ring where it takes both as they are,
    /// else frame by frame. On failure nothing of it stays.
    #[inline(always)]
    pub fn push_delimited(&mut self, data: &[u8]) -> Result<(), WriteError> {
        #[cfg(not(loom))]
        if !self.straight_into_ring(data.len()) {
            return self.push_delimited_by_claim(data);
        }
        match self.tx.push_delimited(data) {
            Ok(()) => {
                self.after_publish();
                Ok(())
            }
            // Beyond the ring, or two records apart around its end: the
            // frames one by one decide.
            Err(ClaimError::Full | ClaimError::TooLarge) => self.push_delimited_by_claim(data),
            Err(ClaimError::Corrupt) => Err(WriteError::Closed),
        }
    }

    #[inline(never)]
    fn push_delimited_by_claim(&mut self, data: &[u8]) -> Result<(), WriteError> {
        self.claim(0)?;
        self.commit(0, true);
        match self.claim(data.len()) {
            Ok(buf) => {
                crate::copy::copy(buf, data);
                self.commit(data.len(), false);
                Ok(())
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// Whether a frame of `len` bytes would fit now (not counting the
    /// high-water mark: see [`can_start_message`](Self::can_start_message)),
    /// in the ring or beyond it.
    #[inline(always)]
    pub fn has_room(&mut self, len: usize) -> bool {
        #[cfg(not(loom))]
        if self.spill_flags & spill::WRITING != 0 {
            return self.may_spill();
        }
        // The cheaper question first: a pipe that may spill (every
        // in-process one) has room whatever its ring holds.
        self.may_spill() || self.has_room_in_ring(len)
    }

    /// No spilling under loom: the models are of the ring and its bells.
    #[cfg(loom)]
    fn may_spill(&self) -> bool {
        false
    }

    #[inline(always)]
    fn has_room_in_ring(&mut self, len: usize) -> bool {
        #[cfg(not(loom))]
        if self.chunk_sized(len) && self.may_chunk() {
            // Only a descriptor enters the ring; the frame needs a chunk.
            return self.tx.has_room(crate::transport::ipc::pool::DESC_LEN) && self.chunk_free(len);
        }
        self.tx.has_room(len)
    }

    /// The room reserved by the last successful [`claim`](Self::claim).
    #[inline]
    pub fn claimed_mut(&mut self) -> Option<&mut [u8]> {
        #[cfg(not(loom))]
        if self.spill_flags & spill::CLAIMED != 0 {
            return self.spill_claimed();
        }
        #[cfg(not(loom))]
        if self.chunk_flags & chunked::PENDING != 0 {
            return self.pending_chunk().map(|c| c.bytes_mut());
        }
        self.tx.claimed_mut()
    }

    /// Commits the claimed frame; the last frame of a message publishes the
    /// whole message and wakes the peer.
    #[inline(always)]
    pub fn commit(&mut self, len: usize, more: bool) {
        #[cfg(not(loom))]
        if self.spill_flags & spill::CLAIMED != 0 {
            return self.spill_commit(len, more);
        }
        #[cfg(not(loom))]
        if self.chunk_flags & chunked::PENDING != 0 {
            if let Some(chunk) = self.take_pending() {
                return self.commit_chunk(chunk, len, more);
            }
        }
        self.tx.commit(len, if more { ring::MORE } else { 0 });
        if !more {
            self.tx.publish();
            self.after_publish();
        }
    }

    /// A whole message is published: tell the peer.
    #[inline(always)]
    fn after_publish(&mut self) {
        #[cfg(not(loom))]
        if self.chunk_flags & chunked::UNPUBLISHED != 0 {
            self.chunks_published();
        }
        self.poke_if_upstream();
        match &mut self.held {
            Some(n) if *n + 1 < RING_EVERY => *n += 1,
            Some(n) => {
                *n = 0;
                self.notify_peer();
            }
            None => self.notify_peer(),
        }
    }

    /// Holds the peer's wake-up for each message published from now on
    /// until [`release_rings`](Self::release_rings), ringing once per
    /// [`RING_EVERY`] of them meanwhile: an I/O thread delivering a batch of
    /// frames wakes the socket once for the batch, as libzmq's session
    /// flushes its pipe once per batch, rather than for every message
    /// while the socket, woken each time, takes one and sleeps again.
    /// Closing and dropping still ring at once.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn hold_rings(&mut self) {
        self.held.get_or_insert(0);
    }

    /// Rings for the messages published since [`hold_rings`](Self::hold_rings)
    /// (if any) and stops holding. A reader that went to sleep after they
    /// were published is woken now: the ring is the same Dekker handshake,
    /// later.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn release_rings(&mut self) {
        if self.held.take().is_some_and(|n| n > 0) {
            self.notify_peer();
        }
    }

    /// Between publishing (or closing) and ringing, so that a peer woken by
    /// the ring sees the poke.
    #[inline(always)]
    fn poke_if_upstream(&mut self) {
        if self.upstream {
            self.poke_upstream();
        }
    }

    /// A subscriber's poke, out of every other writer's way: a call on
    /// each publish makes the caller keep its values in saved registers or
    /// spill them, stores that queue behind the frame's.
    #[cold]
    #[inline(never)]
    fn poke_upstream(&mut self) {
        if let Some(bell) = self.peer_bell() {
            bell.poke();
        }
    }

    /// Makes this side a strong writer: it rings the peer with full fences,
    /// so a peer whose writers are all strong sleeps without `membarrier`.
    /// The I/O thread's ends are: it can afford a fence per batch; so are
    /// an async socket's. May be called at any time (an async socket
    /// becomes strong with the pipes it has): a peer that sees the flag
    /// (Acquire) also sees every ring made before it, weak ones included.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn set_strong(&mut self) {
        self.strong = true;
        self.choose_fence();
        self.ctl.strong[self.side].store(true, Ordering::Release);
    }

    /// Whether the peer rings with full fences. A stale `false` only costs
    /// the sleeper a `membarrier`.
    pub fn peer_strong(&self) -> bool {
        self.ctl.strong[1 - self.side].load(Ordering::Acquire)
    }

    /// Whether the peer is in another process (an ipc shared-memory pipe):
    /// it can wake this socket only through the futex.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// Marks this end as a subscriber's: each message it publishes pokes
    /// the publisher, which reads its subscribers' pipes only when poked.
    pub fn set_upstream(&mut self) {
        self.upstream = true;
    }

    /// Abandons the unpublished frames of a message being written.
    pub fn rollback(&mut self) {
        self.tx.rollback();
        #[cfg(not(loom))]
        self.chunks_rolled_back();
        #[cfg(not(loom))]
        self.spill_rollback();
    }

    /// The largest frame this pipe carries.
    pub fn max_frame(&self) -> usize {
        #[cfg(not(loom))]
        if let Some(max) = self.chunk_max() {
            return max;
        }
        #[cfg(not(loom))]
        if self.may_link_local() {
            return crate::transport::ipc::pool::CHUNK_MAX;
        }
        self.tx.max_payload()
    }

    /// The next inbound frame, if one is published. Finding none, hands
    /// back what was read: the reader is about to wait or look elsewhere.
    #[inline(always)]
    pub fn peek(&mut self) -> Result<Option<Record>, Corrupt> {
        #[cfg(not(loom))]
        if self.spill_flags & spill::READING != 0 {
            return self.peek_beyond();
        }
        let rec = self.rx.peek()?;
        if rec.is_none() {
            if self.rx.unreleased() != 0 {
                self.release();
            }
            #[cfg(not(loom))]
            if self.ctl.spill(1 - self.side).len() != 0 {
                return self.peek_spilled();
            }
        }
        #[cfg(not(loom))]
        if let Some(r) = rec {
            if r.flags() & (ring::DESCRIPTOR | ring::LINK) != 0 {
                return self.peek_marked(r);
            }
        }
        Ok(rec)
    }

    /// A DESCRIPTOR record peeked in the ring (resolved into the peer's
    /// pool), or a LINK (reading goes on in its chain).
    #[cfg(not(loom))]
    #[inline(never)]
    fn peek_marked(&mut self, rec: Record) -> Result<Option<Record>, Corrupt> {
        if rec.flags() & ring::LINK != 0 {
            if !self.remote {
                return Err(Corrupt);
            }
            self.enter_chain(rec)?;
            return self.chain_peek();
        }
        self.resolve_peeked(&rec)?;
        Ok(Some(rec))
    }

    /// The peer spilled: what it published in the ring before comes
    /// first (the count's Acquire shows it, if the first look missed it).
    #[cfg(not(loom))]
    #[cold]
    fn peek_spilled(&mut self) -> Result<Option<Record>, Corrupt> {
        match self.rx.peek()? {
            Some(rec) if rec.flags() & (ring::DESCRIPTOR | ring::LINK) != 0 => {
                self.peek_marked(rec)
            }
            Some(rec) => Ok(Some(rec)),
            None => Ok(self.take_spilled()),
        }
    }

    /// The bytes of a frame from [`peek`](Self::peek).
    #[inline(always)]
    pub fn payload(&self, rec: &Record) -> &[u8] {
        #[cfg(not(loom))]
        if self.spill_flags & spill::READING != 0 {
            return self.spilled_payload(rec);
        }
        #[cfg(not(loom))]
        if rec.flags() & ring::DESCRIPTOR != 0 {
            return self.chunk_payload();
        }
        self.rx.payload(rec)
    }

    /// Done with `rec`. Space goes back to the writer in batches: when a
    /// quarter of the ring is waiting to be released, or the messages read
    /// reach a multiple of the low-water mark (the writer counts no
    /// others); when the reader has caught up after a burst (the writer
    /// streams, and will want the room); else when [`peek`](Self::peek)
    /// next finds nothing. Not at once after a message or two: the reader
    /// may be about to answer, and the release's stores (which wait for
    /// lines the writer holds) would hold up the answer's.
    #[inline(always)]
    pub fn consume(&mut self, rec: Record) {
        #[cfg(not(loom))]
        if self.spill_flags & spill::READING != 0 {
            return self.spilled_consumed(rec);
        }
        self.rx.advance(rec);
        if rec.more() {
            return;
        }
        // A chunk goes back to its writer only with the release.
        // Whether the reader is in a stream (see `slip`): it caught up after
        // a burst, or read much without catching up, whose writer could get
        // ahead if it had that much in flight.
        let streaming = if rec.flags() & ring::DESCRIPTOR != 0 {
            false
        } else if self.rx.unreleased() >= RELEASE_AFTER_BURST && self.rx.caught_up() {
            self.slip_after(self.rx.unreleased_msgs() >= ring::SLIP_AFTER_MSGS)
        } else if self.rx.unreleased() >= self.release_bytes
            || self.rx.unreleased_msgs() >= self.release_msgs
        {
            self.slip_after(self.rx.unreleased() >= ring::SLIP_AFTER)
        } else {
            return;
        };
        self.release();
        self.slip_due = streaming;
    }

    /// Whether to slip after this release: `stream` on a pipe that may.
    #[inline(always)]
    fn slip_after(&self, stream: bool) -> bool {
        self.slip && stream && cfg!(not(loom))
    }

    /// Before a read: after a release in a stream, and if the read may
    /// wait (`blocking`), waits for the writer to get ahead
    /// ([`ring::Consumer::slip`]). At the next read rather than right after
    /// the release, so that a non-blocking read never waits, and the wait
    /// falls where the reader would wait anyway.
    ///
    /// Which due slips run: [`SlipBackoff`].
    #[inline(always)]
    #[cfg_attr(loom, allow(unused_variables))]
    pub(crate) fn slip_if_due(&mut self, blocking: bool) {
        if self.slip_due {
            self.slip_due = false;
            #[cfg(not(loom))]
            if blocking {
                self.slip_now();
            }
        }
    }

    #[cfg(not(loom))]
    #[inline(never)]
    fn slip_now(&mut self) {
        self.slip_backoff.run(|| self.rx.slip());
    }

    /// Lets the reader trail a stream ([`ring::Consumer::slip`]): for the
    /// one pipe a socket reads. A socket fair-queuing several would wait on
    /// each pipe's writer in turn, each of which writes a share of the
    /// stream, and an I/O thread serves other connections meanwhile.
    pub(crate) fn set_slip(&mut self, on: bool) {
        self.slip = on;
        self.slip_due &= on;
    }

    /// Hands what was read back to the writer, and wakes it if it waits.
    #[inline(never)]
    fn release(&mut self) {
        self.rx.release();
        self.next_release_at_lwm();
        self.wake_writer();
    }

    /// Aims the next release at the next multiple of the low-water mark.
    fn next_release_at_lwm(&mut self) {
        self.release_msgs = self.lwm_in - self.rx.released_msgs() % self.lwm_in;
    }

    /// Room was made (released, or a spilled message taken): wake the
    /// peer if it waits for it.
    #[inline(never)]
    fn wake_writer(&mut self) {
        self.peer_bell();
        if let Some(bell) = &self.peer_bell {
            if self.remote {
                bell.ring_from(self.strong);
            } else {
                bell.ring_if_wanted(&self.ctl.want_room[1 - self.side], self.strong);
            }
        }
    }

    /// Asks the peer to ring this side's doorbell when it next releases
    /// room. A writer calls it before it sleeps for room, every time.
    pub fn want_room(&self) {
        // A swap, not a store: loom misplaces plain stores against the
        // reader's swap (see `Doorbell::announce`); this path is cold.
        let _ = self.ctl.want_room[self.side].swap(true, Ordering::Relaxed);
    }

    /// Whether an inbound message is ready.
    #[inline]
    pub fn readable(&mut self) -> bool {
        #[cfg(not(loom))]
        if self.spill_flags & spill::READING != 0 {
            // A chain may have nothing yet.
            return !self.remote || matches!(self.peek(), Ok(Some(_)));
        }
        #[cfg(not(loom))]
        if self.ctl.spill(1 - self.side).len() != 0 {
            return true;
        }
        match self.rx.peek() {
            Ok(Some(rec)) if rec.flags() & ring::LINK != 0 => matches!(self.peek(), Ok(Some(_))),
            Ok(Some(_)) => true,
            _ => false,
        }
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        #[cfg(not(loom))]
        self.unlink_pools();
        self.ctl.closed[self.side].store(true, Ordering::Release);
        self.poke_if_upstream();
        self.notify_peer();
        #[cfg(not(loom))]
        if let Some(w) = &self.ctl.watcher {
            w.ring();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Held rings wake a sleeping reader once per [`RING_EVERY`] messages
    /// and on release, never for each message; without a hold, each
    /// message rings.
    #[test]
    fn held_rings_wake_the_reader_per_batch() {
        let (mut w, mut r) = pipe(PipeConfig {
            ring_capacity: 1 << 16,
            hwm: [Hwm::NONE; 2],
            ids: [None, None],
        });
        let bell = Arc::new(Doorbell::new());
        r.attach(bell.clone());
        let woken = |seen: u32| bell.word().load(Ordering::Acquire) != seen;

        let seen = bell.arm();
        w.hold_rings();
        for _ in 0..RING_EVERY - 1 {
            w.push(b"m").unwrap();
        }
        assert!(!woken(seen), "held: no ring yet");
        w.push(b"m").unwrap();
        assert!(woken(seen), "the batch's last message rings");

        let seen = bell.arm();
        w.push(b"m").unwrap();
        assert!(!woken(seen));
        w.release_rings();
        assert!(woken(seen), "release rings for what is held");

        let seen = bell.arm();
        w.release_rings();
        w.push(b"m").unwrap();
        assert!(woken(seen), "not held: each message rings");

        let seen = bell.arm();
        w.hold_rings();
        w.release_rings();
        assert!(!woken(seen), "nothing held, nothing rung");
        bell.disarm();
        let mut n = 0;
        while let Ok(Some(rec)) = r.peek() {
            r.consume(rec);
            n += 1;
        }
        assert_eq!(n, RING_EVERY + 2);
    }

    /// A slip that waits in vain (the writer never gets ahead: here it
    /// writes nothing more, its message still unread) makes the reader skip
    /// the next 1, then 3, then 7 slips; once the writer is ahead, a slip
    /// that works ends the backoff.
    #[test]
    fn slips_that_wait_in_vain_back_off() {
        let (mut w, mut r) = pipe(PipeConfig {
            ring_capacity: 1 << 18,
            hwm: [Hwm::NONE; 2],
            ids: [None, None],
        });
        w.push(b"m").unwrap();
        r.slip = true;
        let slip = |r: &mut PipeEnd| {
            r.slip_due = true;
            r.slip_if_due(true);
            (r.slip_backoff.skip, r.slip_backoff.misses)
        };
        assert_eq!(slip(&mut r), (1, 1), "waited in vain: skip the next one");
        assert_eq!(slip(&mut r), (0, 1), "skipped");
        assert_eq!(slip(&mut r), (3, 3), "in vain again: skip three");
        for left in (0..3).rev() {
            assert_eq!(slip(&mut r), (left, 3));
        }
        assert_eq!(slip(&mut r), (7, 7));
        // The writer gets well past the slip's distance (16 KiB) ahead of
        // the reader's head, which is still at the ring's start.
        while w.tx.published_position() < 64 << 10 {
            w.push(&[1; 1000]).unwrap();
        }
        for _ in 0..7 {
            slip(&mut r);
        }
        assert_eq!(slip(&mut r), (0, 0), "a slip that works ends the backoff");

        // A non-blocking read never slips, and clears the slip due.
        r.slip_due = true;
        r.slip_if_due(false);
        assert!(!r.slip_due);
        assert_eq!(r.slip_backoff, SlipBackoff::default());
    }
}
