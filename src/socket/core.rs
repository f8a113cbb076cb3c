//! The state behind a [`Socket`](super::Socket): its pipes, its pattern, and
//! the loop that blocks until the pattern can go on.

use super::options::{Options, WaitStrategy};
use super::{NewPipe, SocketShared};
use crate::error::Fail;
use crate::pattern::{In, Io, Pattern, PatternOptions, Pipe, ReadFrame, Slot};
use crate::sync::spin_hint;
use crate::{Context, SocketType, DONTWAIT};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a call that lets a handed-over pipe go waits for its
/// replacement (see [`Core::await_handover`]).
const HANDOVER_WAIT: Duration = Duration::from_millis(500);

/// The largest frame a socket sends: the largest chunk of its pool, where
/// frames too large for a ring travel. A larger one can never go, so it is
/// [`Fail::TooLarge`] on every socket type and transport, before any wait.
/// (`MAXMSGSIZE` limits only what peers send, as in libzmq.)
#[cfg(not(loom))]
pub(crate) const MAX_FRAME: usize = crate::transport::ipc::pool::CHUNK_MAX;
#[cfg(loom)]
pub(crate) const MAX_FRAME: usize = 64 << 20;

/// Where the readiness descriptor stands (see [`Core::refresh_fd`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) enum FdState {
    /// No descriptor: nothing to keep up.
    Off,
    /// Drained, and the doorbell armed in notify mode: a writer makes it
    /// readable (unless its bit was taken since: then re-arm).
    Armed,
    /// Signalled: the socket was readable when last looked at.
    Signalled,
}

pub(crate) struct Core {
    pub ctx: Context,
    pub id: u64,
    pub kind: SocketType,
    pub shared: Arc<SocketShared>,
    pub opts: Options,
    pub io: Io,
    pub pattern: Pattern,
    pub rcvmore: bool,
    /// An outbound message is in progress (a frame with SNDMORE was sent).
    pub sending: bool,
    /// Where the blocking loop leaves the slot or frame it found: the loop
    /// itself only carries an 8-byte `Result<(), Fail>`, which stays in a
    /// register; wider results bounced through the stack in pieces and
    /// stalled store-to-load forwarding behind the ring's cache misses.
    found_slot: Slot,
    found_frame: In,
    /// CONFLATE: the newest message, kept whole.
    kept: Vec<u8>,
    pub last_endpoint: String,
    /// tcp endpoints bound: as given, the address actually bound, and the
    /// listener's descriptor (for the monitor's CLOSED event).
    #[cfg_attr(loom, allow(dead_code))]
    pub tcp_bound: Vec<(String, std::net::SocketAddr, i32)>,
    /// ipc endpoints bound: as given, the socket file (none for abstract
    /// names), the listener's descriptor.
    #[cfg(not(loom))]
    pub ipc_bound: Vec<(String, Option<crate::transport::ipc::BoundFile>, i32)>,
    /// ipc endpoints connected, for disconnect and drop.
    #[cfg(not(loom))]
    pub ipc_connected: Vec<String>,
    /// The I/O thread of the socket's tcp and ipc endpoints, chosen (by
    /// AFFINITY) at the first.
    #[cfg(not(loom))]
    pub io_thread: Option<Arc<crate::transport::tcp::IoThread>>,
    /// Pipes ring their peers with full fences (an async socket's: a peer
    /// that waits then skips `membarrier` when all its writers do).
    pub strong: bool,
    /// The readiness descriptor.
    #[cfg_attr(loom, allow(dead_code))]
    pub fd: FdState,
    /// The futex value seen when the descriptor was last armed.
    #[cfg_attr(loom, allow(dead_code))]
    fd_seen: u32,
    /// The bridge has watched this socket's doorbell (for ipc peers).
    #[cfg_attr(loom, allow(dead_code))]
    pub bridged: bool,
    /// The message in progress was abandoned (a frame of it was too
    /// large): its frames up to the last are dropped, as a pattern drops
    /// the rest of a message whose pipe went away. (Last: the fields
    /// before it are laid out for the hot path.)
    discarding: bool,
}

impl Core {
    pub fn new(ctx: Context, kind: SocketType, pattern: Pattern, id: u64) -> Self {
        let shared = Arc::new(SocketShared::new());
        Self {
            ctx,
            id,
            kind,
            opts: Options::default(),
            io: Io {
                bell: shared.bell.clone(),
                pipes: Default::default(),
                opts: PatternOptions::default(),
                reap: false,
                only_pipe: None,
                #[cfg(not(loom))]
                loaned: None,
            },
            pattern,
            rcvmore: false,
            sending: false,
            found_slot: Slot::Discard,
            found_frame: In::Held(false),
            kept: Vec::new(),
            last_endpoint: String::new(),
            tcp_bound: Vec::new(),
            shared,
            #[cfg(not(loom))]
            ipc_bound: Vec::new(),
            #[cfg(not(loom))]
            ipc_connected: Vec::new(),
            #[cfg(not(loom))]
            io_thread: None,
            strong: false,
            fd: FdState::Off,
            fd_seen: 0,
            bridged: false,
            discarding: false,
        }
    }

    /// Takes a new pipe into the pattern, unless the pattern refuses it
    /// (PAIR has a peer already), in which case the peer sees it closed.
    pub fn attach(&mut self, np: NewPipe) {
        self.attach_as(np, None);
    }

    /// CONNECT_ROUTING_ID, for the connection being made: it names that
    /// connection's peer only, as in libzmq.
    pub fn take_connect_routing_id(&mut self) -> Option<Box<[u8]>> {
        let id = self.io.opts.connect_routing_id.take();
        id.map(Vec::into_boxed_slice)
    }

    /// [`attach`](Self::attach) a pipe whose peer this socket names
    /// `given_id` (CONNECT_ROUTING_ID); a pipe that carries on for another
    /// keeps the name the other had.
    pub fn attach_as(&mut self, np: NewPipe, given_id: Option<Box<[u8]>>) {
        let NewPipe {
            mut end,
            endpoint,
            replaces,
            ..
        } = np;
        let replaced = replaces.and_then(|old| {
            // Drained by the I/O thread: it may go (at the next reap).
            old.end_handover();
            self.io.reap = true;
            let key = self.io.pipes.iter().find(|(_, p)| p.end.same_pipe(&old));
            key.map(|(key, _)| key)
        });
        let other_peer = |(key, p): (usize, &mut Pipe)| Some(key) != replaced && !p.finished();
        if self.pattern.single_peer() && self.io.pipes.iter_mut().any(other_peer) {
            return;
        }
        end.attach(self.shared.bell.clone());
        if self.strong {
            end.set_strong();
        }
        #[cfg(not(loom))]
        end.set_pool_slot(self.shared.pool_slot());
        #[cfg(not(loom))]
        if self.io.opts.conflate {
            end.forbid_spill();
        }
        let given_id =
            given_id.or_else(|| replaced.and_then(|k| self.io.pipes[k].given_id.clone()));
        let key = self.io.pipes.insert(Pipe {
            end,
            endpoint,
            broken: false,
            given_id,
        });
        let probes = matches!(
            self.kind,
            SocketType::Router | SocketType::Dealer | SocketType::Req
        );
        // A pipe that carries on for another sent its probe already.
        if self.io.opts.probe_router && probes && replaced.is_none() {
            // PROBE_ROUTER: an empty message tells a ROUTER peer who we are.
            let _ = self.io.write(key, &[], false);
        }
        match replaced {
            Some(old) => self.pattern.attach_replacing(&mut self.io, old, key),
            None => self.pattern.attach(&mut self.io, key),
        }
        self.pipes_changed();
    }

    /// After a pipe came or went: a reader trails a stream only on the one
    /// pipe of a socket (see `PipeEnd::set_slip`).
    fn pipes_changed(&mut self) {
        let alone = self.io.pipes.len() == 1;
        self.io.only_pipe = None;
        for (key, p) in self.io.pipes.iter_mut() {
            p.end.set_slip(alone);
            if alone {
                self.io.only_pipe = Some(key);
            }
        }
    }

    /// A pipe to this socket's I/O thread for a tcp or ipc connection made
    /// by `connect(endpoint)`: the socket takes its end now (messages
    /// queue there until the connection is up), the I/O thread's end is
    /// returned.
    #[cfg(not(loom))]
    pub fn io_thread_pipe(
        &mut self,
        endpoint: &str,
        given_id: Option<Box<[u8]>>,
    ) -> crate::pipe::PipeEnd {
        let desc = self.tcp_desc();
        let (ours, mut theirs) = crate::pipe::pipe(crate::pipe::PipeConfig {
            ring_capacity: desc.ring_capacity,
            hwm: [
                crate::pipe::Hwm::snd(desc.sndhwm),
                crate::pipe::Hwm::rcv(desc.rcvhwm),
            ],
            ids: [Some(desc.routing_id.clone().into()), None],
        });
        // The I/O thread writes it, frames too large for the ring into the
        // socket's pool.
        theirs.set_strong();
        theirs.set_pool_slot(self.shared.pool_slot());
        theirs.limit_message_beyond_ring(crate::transport::ipc::pool::CHUNK_MAX);
        self.attach_as(
            NewPipe {
                end: ours,
                endpoint: endpoint.into(),
                replaces: None,
                #[cfg(not(loom))]
                sending: None,
            },
            given_id,
        );
        theirs
    }

    #[inline]
    fn process_mail(&mut self) {
        if self.shared.has_mail() {
            self.attach_mail();
        }
    }

    /// Out of line: a new pipe is rare, and its locals (a pipe end is
    /// 128-aligned) would make every send and receive realign its stack.
    #[cold]
    #[inline(never)]
    fn attach_mail(&mut self) {
        for np in self.shared.take_mail() {
            self.attach(np);
        }
        // A pipe being handed over waits for us to stop writing it, which
        // we can once no message is half-written; until then, look again
        // at every call.
        let mut closed = false;
        for (_, p) in self.io.pipes.iter_mut() {
            if p.end.handing_over() && !p.end.writing_closed() {
                if self.sending {
                    self.shared.nudge();
                } else {
                    p.end.close_writing();
                    closed = true;
                }
            }
        }
        if closed {
            self.await_handover();
        }
    }

    /// We stopped writing pipes that are handed over (an ipc connection
    /// moving to shared memory): their I/O thread moves what we wrote into
    /// the replacement and mails it to us at once. Wait for that, a little
    /// (it may wait for room in the new pipe), so that this very call sees
    /// what the peer already sent through the replacement: a non-blocking
    /// receive made once, some time after connecting, would find nothing
    /// otherwise (libzmq's test_hwm_pubsub over ipc does just that). Once
    /// per handover; microseconds unless the I/O thread cannot run.
    #[cold]
    fn await_handover(&mut self) {
        let deadline = Instant::now() + HANDOVER_WAIT;
        let pending = |io: &Io| {
            io.pipes
                .iter()
                .any(|(_, p)| p.end.handing_over() && p.end.writing_closed())
        };
        while pending(&self.io) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            // The I/O thread mails with a strong ring.
            let shared = &self.shared;
            let mailed = shared
                .bell
                .sleep_or_signal(Some(left), true, || shared.has_mail().then_some(()));
            if mailed.is_err() {
                return;
            }
            for np in self.shared.take_mail() {
                self.attach(np);
            }
        }
    }

    /// Drops the pipes that are finished (peer gone and drained, or broken).
    #[inline]
    fn reap(&mut self) {
        if self.io.reap {
            self.reap_now();
        }
    }

    #[cold]
    fn reap_now(&mut self) {
        self.io.reap = false;
        let finished: Vec<usize> = self
            .io
            .pipes
            .iter_mut()
            .filter_map(|(key, p)| p.finished().then_some(key))
            .collect();
        for key in finished {
            self.pattern.detach(&mut self.io, key);
            let pipe = self.io.pipes.remove(key);
            if pipe.broken {
                pipe.end.mark_broken();
            }
        }
        self.io.reap = self.io.pipes.iter().any(|(_, p)| p.end.peer_closed());
        self.pipes_changed();
    }

    /// Closes every pipe that `endpoint` made (unbind, disconnect); whether
    /// there was any. A message in progress on a closed pipe is cut off.
    pub fn close_endpoint(&mut self, endpoint: &str) -> bool {
        self.process_mail();
        let doomed: Vec<usize> = self
            .io
            .pipes
            .iter()
            .filter_map(|(key, p)| (&*p.endpoint == endpoint).then_some(key))
            .collect();
        for &key in &doomed {
            self.pattern.detach(&mut self.io, key);
            self.io.pipes.remove(key);
        }
        self.pipes_changed();
        !doomed.is_empty()
    }

    /// Runs `op` until it stops saying [`Fail::WouldBlock`], waiting as the
    /// socket's strategy says in between, within `flags` and `timeout_ms`.
    /// `room`: the op waits for room to send (not for a message).
    #[inline(always)]
    pub fn block<T>(
        &mut self,
        flags: i32,
        timeout_ms: i32,
        room: bool,
        mut op: impl FnMut(&mut Core) -> Result<T, Fail>,
    ) -> Result<T, Fail> {
        if !room {
            self.slip_if_due(flags & DONTWAIT == 0 && timeout_ms != 0);
        }
        let done = self.attempt(&mut op);
        if !matches!(done, Err(Fail::WouldBlock)) || flags & DONTWAIT != 0 || timeout_ms == 0 {
            return done;
        }
        self.wait(timeout_ms, room, op)
    }

    /// Before a read: the only pipe's reader trails its stream if due (see
    /// `PipeEnd::slip_if_due`).
    #[inline(always)]
    fn slip_if_due(&mut self, blocking: bool) {
        if let Some(p) = self.io.only_pipe.and_then(|key| self.io.pipes.get_mut(key)) {
            p.end.slip_if_due(blocking);
        }
    }

    /// One try of `op`. The result stays a plain `Result` (no wrapper) so
    /// that it travels in registers on the hot path.
    #[inline(always)]
    fn attempt<T>(&mut self, op: &mut impl FnMut(&mut Core) -> Result<T, Fail>) -> Result<T, Fail> {
        if self.ctx.is_terminated() {
            return Err(self.ctx.stopped());
        }
        self.process_mail();
        self.reap();
        let done = op(self);
        if matches!(done, Err(Fail::WouldBlock)) && self.io.reap {
            // The op found a pipe finished: drop it (its pattern may have
            // something to say about that, e.g. XPUB's cancels) and retry.
            self.reap_now();
            return op(self);
        }
        done
    }

    /// The slow half of [`block`](Self::block): spin, yield, then sleep on
    /// the doorbell, retrying `op` each time, until it succeeds or time is up.
    #[cold]
    #[inline(never)]
    fn wait<T>(
        &mut self,
        timeout_ms: i32,
        room: bool,
        mut op: impl FnMut(&mut Core) -> Result<T, Fail>,
    ) -> Result<T, Fail> {
        let start = Instant::now();
        let deadline = u64::try_from(timeout_ms)
            .ok()
            .map(|ms| start + Duration::from_millis(ms));
        let spin = match self.opts.wait {
            WaitStrategy::BusySpin => None,
            // Every peer is an I/O thread (tcp): what we wait for comes
            // after a network round trip, and that thread may need this
            // very core to deliver it, so spinning only delays it.
            WaitStrategy::SpinThenPark { .. }
                if !self.io.pipes.is_empty() && self.io.all_peers_strong() =>
            {
                Some(Duration::ZERO)
            }
            WaitStrategy::SpinThenPark { spin } => Some(spin),
            WaitStrategy::Park => Some(Duration::ZERO),
        };
        if spin != Some(Duration::ZERO) {
            let mut yielding = false;
            let mut i = 0u32;
            loop {
                let done = self.attempt(&mut op);
                if !matches!(done, Err(Fail::WouldBlock)) {
                    return done;
                }
                if yielding {
                    std::thread::yield_now();
                } else {
                    spin_hint();
                }
                i = i.wrapping_add(1);
                if i % 64 == 0 || yielding {
                    let now = Instant::now();
                    if deadline.is_some_and(|d| now >= d) {
                        return Err(Fail::TimedOut);
                    }
                    match spin {
                        Some(s) if now - start >= s * 2 => break,
                        Some(s) if now - start >= s => yielding = true,
                        _ => {}
                    }
                }
            }
        }
        let bell = self.shared.bell.clone();
        loop {
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(Fail::TimedOut),
                },
                None => None,
            };
            if room {
                // Before the sleep's barrier: readers release without a
                // wake-up unless asked.
                self.io.want_room();
            }
            // Pipes written by the I/O thread only (tcp): no membarrier.
            let symmetric = self.io.all_peers_strong();
            let woke = bell.sleep_or_signal(left, symmetric, || {
                let done = self.attempt(&mut op);
                if !matches!(done, Err(Fail::WouldBlock)) {
                    return Some(done);
                }
                // A pipe with a weak writer came in during the check: sleep
                // again, with the full barrier.
                (symmetric && !self.io.all_peers_strong()).then_some(Err(Fail::WouldBlock))
            });
            match woke {
                Ok(Some(Err(Fail::WouldBlock)) | None) => {}
                Ok(Some(done)) => return done,
                Err(_) => return Err(Fail::Interrupted),
            }
        }
    }

    /// Makes every pipe, now and later, ring its peer with full fences.
    #[cfg(feature = "async")]
    pub fn make_strong(&mut self) {
        self.strong = true;
        for (_, p) in self.io.pipes.iter_mut() {
            p.end.set_strong();
        }
    }

    /// One step of an async operation: `op` now if it can go on, else
    /// `Pending` with the task registered on the doorbell in notify mode
    /// (`room`: it waits for room to send). As [`wait`](Self::wait) with
    /// [`Doorbell::poll_until`](crate::pipe::Doorbell::poll_until) in place of
    /// the sleep: nothing spins, and a writer's ring wakes the task.
    #[cfg(all(not(loom), feature = "async"))]
    pub fn poll_op<T>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        room: bool,
        mut op: impl FnMut(&mut Core) -> Result<T, Fail>,
    ) -> std::task::Poll<Result<T, Fail>> {
        use std::task::Poll;
        let done = self.attempt(&mut op);
        if !matches!(done, Err(Fail::WouldBlock)) {
            return Poll::Ready(done);
        }
        let bell = self.shared.bell.clone();
        loop {
            if room {
                self.io.want_room();
            }
            let symmetric = self.io.all_peers_strong();
            let seen = bell.arm_notify(Some(cx.waker()));
            bell.sleeper_barrier(symmetric);
            let done = self.attempt(&mut op);
            if !matches!(done, Err(Fail::WouldBlock)) {
                return Poll::Ready(done);
            }
            if symmetric && !self.io.all_peers_strong() {
                // A weak writer came in during the check: arm again, with
                // the full barrier.
                continue;
            }
            self.bridge_if_remote(&bell, seen);
            return Poll::Pending;
        }
    }

    /// Writers in other processes wake only the futex: have the bridge
    /// wait there for us. Not only once such a pipe is attached: its writer
    /// may ring before the pipe reaches us (and that ring clears the
    /// notify bit, so the delivery's own ring would then wake nobody). Any
    /// such writer came through an ipc endpoint of ours. A peer that had
    /// our doorbell may still write it (see `Doorbell::expose`).
    #[cfg(not(loom))]
    fn bridge_if_remote(&mut self, bell: &Arc<crate::pipe::Doorbell>, seen: u32) {
        if !self.ipc_bound.is_empty()
            || !self.ipc_connected.is_empty()
            || bell.exposed()
            || self.io.pipes.iter().any(|(_, p)| p.end.is_remote())
        {
            self.bridged = true;
            crate::bridge::watch(bell, seen);
        }
    }

    // ---- readiness descriptor ----

    /// Keeps the readiness descriptor level-triggered: readable exactly
    /// while a message can be received (or the context is shut down, so
    /// that the event loop comes and hears it). Every call that may change
    /// that (a receive, a send, a look) ends here; without a descriptor it
    /// costs one comparison.
    #[inline]
    pub fn refresh_fd(&mut self) {
        #[cfg(not(loom))]
        if self.fd != FdState::Off {
            self.refresh_fd_now();
        }
    }

    /// Whether the descriptor should be readable.
    #[cfg(not(loom))]
    fn fd_ready(&mut self) -> bool {
        self.ctx.is_terminated() || self.readable()
    }

    #[cfg(not(loom))]
    #[cold]
    pub fn refresh_fd_now(&mut self) {
        let bell = self.shared.bell.clone();
        let Some(notify) = bell.notify() else { return };
        if self.fd_ready() {
            if self.fd != FdState::Signalled {
                notify.signal_fd();
                self.fd = FdState::Signalled;
            }
            return;
        }
        // A writer's signal may be in the counter: clear it, then arm.
        notify.drain_fd();
        if self.fd == FdState::Armed && bell.notify_armed() {
            // No writer has rung since we armed and looked.
            return;
        }
        loop {
            let symmetric = self.fd_arm(false);
            bell.sleeper_barrier(symmetric);
            self.fd_settle(true);
            if !symmetric || self.io.all_peers_strong() {
                return;
            }
        }
    }

    /// First half of arming the descriptor (poll arms many before one
    /// barrier): clear it and announce the wait. `room`: wake on room to
    /// send too. Returns whether the barrier may be symmetric.
    #[cfg(not(loom))]
    pub fn fd_arm(&mut self, room: bool) -> bool {
        let bell = &self.shared.bell;
        if let Some(notify) = bell.notify() {
            notify.drain_fd();
        }
        if room {
            self.io.want_room();
        }
        let symmetric = self.io.all_peers_strong();
        self.fd_seen = bell.arm_notify(None);
        symmetric
    }

    /// Second half, after the barrier: signal the descriptor if the socket
    /// is readable after all, else leave it armed. `level`: false for a
    /// waiter that wants only room (poll for `POLLOUT`), for which a
    /// readable socket's descriptor must stay clear, or it would never
    /// sleep; the next call on the socket signals it. Returns readability.
    #[cfg(not(loom))]
    pub fn fd_settle(&mut self, level: bool) -> bool {
        let bell = self.shared.bell.clone();
        if !level {
            self.fd = FdState::Armed;
            let seen = self.fd_seen;
            self.bridge_if_remote(&bell, seen);
            return false;
        }
        if self.fd_ready() {
            if let Some(notify) = bell.notify() {
                notify.signal_fd();
            }
            self.fd = FdState::Signalled;
            return true;
        }
        self.fd = FdState::Armed;
        let seen = self.fd_seen;
        self.bridge_if_remote(&bell, seen);
        false
    }

    // ---- outbound ----

    /// Blocking per `flags` and SNDTIMEO: where the next frame of `len`
    /// bytes goes.
    #[inline]
    pub fn reserve(&mut self, len: usize, more: bool, flags: i32) -> Result<Slot, Fail> {
        if len > MAX_FRAME || self.discarding {
            return self.refuse(more).map(|()| Slot::Discard);
        }
        self.reserve_unchecked(len, more, flags)
    }

    /// [`reserve`](Self::reserve) for a frame known to be neither too
    /// large nor one of an abandoned message.
    #[inline(always)]
    fn reserve_unchecked(&mut self, len: usize, more: bool, flags: i32) -> Result<Slot, Fail> {
        let timeo = self.opts.sndtimeo;
        self.block(flags, timeo, true, |c| {
            c.found_slot = c.pattern.reserve(&mut c.io, len, more)?;
            Ok(())
        })?;
        Ok(self.found_slot)
    }

    /// Sends the frame written in place (or, for a scratch slot, `data`).
    #[inline]
    pub fn finish_send(
        &mut self,
        slot: Slot,
        data: &[u8],
        more: bool,
        flags: i32,
    ) -> Result<(), Fail> {
        if slot == Slot::Scratch {
            let timeo = self.opts.sndtimeo;
            self.block(flags, timeo, true, |c| {
                c.pattern.send_bytes(&mut c.io, data, more)
            })?;
        } else {
            self.pattern.commit(&mut self.io, slot, data.len(), more);
        }
        self.end_frame(more);
        Ok(())
    }

    /// Sends one frame by copy.
    #[inline(always)]
    pub fn send_frame(&mut self, data: &[u8], more: bool, flags: i32) -> Result<(), Fail> {
        if data.len() > MAX_FRAME || self.discarding {
            return self.refuse_or_drop(more);
        }
        if self.pattern.always_scratch() {
            return self.finish_send(Slot::Scratch, data, more, flags);
        }
        if !more && !self.sending {
            let timeo = self.opts.sndtimeo;
            self.block(
                flags,
                timeo,
                true,
                #[inline(always)]
                |c| c.pattern.push(&mut c.io, data),
            )?;
            self.end_frame(false);
            return Ok(());
        }
        let slot = self.reserve_unchecked(data.len(), more, flags)?;
        if let Slot::Pipe(key) = slot {
            crate::copy::copy(self.io.reserved(key as usize), data);
        }
        self.finish_send(slot, data, more, flags)
    }

    /// Commits a loan's frame, written in place in `slot`.
    #[inline]
    pub fn commit(&mut self, slot: Slot, len: usize, more: bool) {
        if self.discarding {
            self.discarding = more;
        } else {
            self.pattern.commit(&mut self.io, slot, len, more);
        }
        self.end_frame(more);
    }

    /// After a frame sent with `more`: whether the message goes on, and
    /// once it is whole, the pipes the pattern let go of (a STREAM peer
    /// closed with an empty frame) go at once, not at the next call.
    #[inline(always)]
    fn end_frame(&mut self, more: bool) {
        // Stored only on a change: see `Producer::abandon_claim`.
        let sending = self.pattern.sending(more);
        if self.sending != sending {
            self.sending = sending;
        }
        if !sending {
            self.reap();
        }
    }

    /// A frame over [`MAX_FRAME`], or one of a message abandoned for such
    /// a frame: `Ok` for a frame of the abandoned message, which its
    /// [`commit`](Self::commit) drops; the oversize frame itself abandons
    /// its message (no peer sees any of it), and the frames after it up
    /// to the last are dropped.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self, more: bool) -> Result<(), Fail> {
        if self.discarding {
            return Ok(());
        }
        crate::trace::dropped!(
            reason =
                "a frame over 64 MiB: its message is abandoned (the sender gets MessageTooLarge)"
        );
        self.pattern.abort(&mut self.io);
        self.discarding = more;
        self.sending = more;
        Err(Fail::TooLarge {
            max: MAX_FRAME as u32,
        })
    }

    /// [`refuse`](Self::refuse) a frame sent by copy, or drop it (it is
    /// one of an abandoned message).
    #[cold]
    #[inline(never)]
    fn refuse_or_drop(&mut self, more: bool) -> Result<(), Fail> {
        self.refuse(more)?;
        self.discarding = more;
        self.sending = more;
        Ok(())
    }

    /// Abandons the outbound message in progress: nothing of it was
    /// published, so no peer ever sees any of it.
    pub fn abort_message(&mut self) {
        self.pattern.abort(&mut self.io);
        self.sending = false;
        self.discarding = false;
    }

    // ---- inbound ----

    /// Blocking per `flags` and RCVTIMEO: the next inbound frame.
    #[inline(always)]
    pub fn next_frame(&mut self, flags: i32) -> Result<In, Fail> {
        let timeo = self.opts.rcvtimeo;
        self.block(
            flags,
            timeo,
            false,
            #[inline(always)]
            |c| {
                c.found_frame = c.pattern.recv(&mut c.io)?;
                Ok(())
            },
        )?;
        Ok(self.took_frame())
    }

    /// Blocking per `flags` and RCVTIMEO: the next inbound frame, handed
    /// to `read` and consumed; returns what `read` returned.
    #[inline(always)]
    pub fn recv_with<R>(&mut self, flags: i32, mut read: impl ReadFrame<R>) -> Result<R, Fail> {
        if self.io.opts.conflate {
            return self.recv_conflated(flags, read);
        }
        let timeo = self.opts.rcvtimeo;
        let (got, more) = self.block(
            flags,
            timeo,
            false,
            #[inline(always)]
            |c| c.pattern.recv_with(&mut c.io, &mut read),
        )?;
        self.rcvmore = more;
        Ok(got)
    }

    /// [`recv_with`](Self::recv_with) under CONFLATE, out of its way.
    #[cold]
    #[inline(never)]
    fn recv_conflated<R, F: ReadFrame<R>>(&mut self, flags: i32, mut read: F) -> Result<R, Fail> {
        let frame = self.next_frame(flags)?;
        let got = read.read(self.payload(&frame));
        if F::PROPERTIES {
            read.properties(None);
        }
        self.consume(frame);
        Ok(got)
    }

    /// [`next_frame`](Self::next_frame) as a task's step: the frame, or
    /// `Pending` with the task woken when one may have come.
    #[cfg(all(not(loom), feature = "async"))]
    pub fn poll_next_frame(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<In, Fail>> {
        match self.poll_op(cx, false, |c| {
            c.found_frame = c.pattern.recv(&mut c.io)?;
            Ok(())
        }) {
            std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(Ok(self.took_frame())),
            std::task::Poll::Ready(Err(f)) => std::task::Poll::Ready(Err(f)),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    /// The frame the pattern just gave, through CONFLATE if set.
    #[inline]
    fn took_frame(&mut self) -> In {
        if self.io.opts.conflate && !self.rcvmore {
            self.keep_newest();
            return In::Kept;
        }
        self.found_frame
    }

    /// CONFLATE: reads every message waiting and keeps only the newest
    /// (single-frame messages, as in libzmq; later frames are dropped).
    #[cold]
    fn keep_newest(&mut self) {
        let mut frame = self.found_frame;
        loop {
            let mut kept = std::mem::take(&mut self.kept);
            kept.clear();
            kept.extend_from_slice(self.payload(&frame));
            self.kept = kept;
            while frame.more() {
                self.pattern.consumed(&mut self.io, frame);
                match self.pattern.recv(&mut self.io) {
                    Ok(next) => frame = next,
                    Err(_) => break,
                }
            }
            self.pattern.consumed(&mut self.io, frame);
            match self.pattern.recv(&mut self.io) {
                Ok(next) => frame = next,
                Err(_) => return,
            }
        }
    }

    /// The bytes of a frame from [`next_frame`](Self::next_frame).
    #[inline]
    pub fn payload(&self, frame: &In) -> &[u8] {
        match frame {
            In::Pipe(key, rec) => self.io.payload(*key as usize, rec),
            In::Held(_) => self.pattern.held(),
            In::Kept => &self.kept,
        }
    }

    /// The properties of the connection `frame` came on (tcp and ipc
    /// peers; none for inproc ones, or a CONFLATE socket's kept message).
    #[cfg(not(loom))]
    pub fn frame_metadata(
        &mut self,
        frame: &In,
    ) -> Option<&Arc<crate::pipe::metadata::PeerMetadata>> {
        let key = match frame {
            In::Pipe(key, _) => *key as usize,
            In::Held(_) => self.pattern.held_source()?,
            In::Kept => return None,
        };
        self.io.pipes.get_mut(key)?.end.metadata()
    }

    /// Done with a frame from [`next_frame`](Self::next_frame).
    #[inline(always)]
    pub fn consume(&mut self, frame: In) {
        if frame != In::Kept {
            self.pattern.consumed(&mut self.io, frame);
        }
        self.rcvmore = frame.more();
    }

    /// Whether a message could be received now without blocking.
    pub fn readable(&mut self) -> bool {
        self.process_mail();
        self.reap();
        self.rcvmore || self.pattern.readable(&mut self.io)
    }

    /// Whether a message could be sent now without blocking.
    pub fn writable(&mut self) -> bool {
        self.process_mail();
        self.reap();
        self.sending || self.pattern.writable(&mut self.io)
    }

    /// The socket's I/O thread: the one its AFFINITY picks when its first
    /// tcp or ipc endpoint is made, and the same for all later ones (a
    /// socket's connections share a thread, as its listeners and
    /// connecters are told of unbinds there).
    #[cfg(not(loom))]
    pub fn io_thread(&mut self) -> Result<Arc<crate::transport::tcp::IoThread>, crate::Error> {
        if let Some(io) = &self.io_thread {
            return Ok(io.clone());
        }
        let io = self.ctx.io_for(self.id, self.opts.affinity)?;
        self.io_thread = Some(io.clone());
        Ok(io)
    }

    /// What the tcp engines of this socket need to know.
    #[cfg(not(loom))]
    pub fn tcp_desc(&self) -> crate::transport::tcp::SocketDesc {
        let peer = self.peer_desc();
        crate::transport::tcp::SocketDesc {
            routing_id: self.io.opts.routing_id.clone().unwrap_or_default(),
            sndhwm: peer.sndhwm,
            rcvhwm: peer.rcvhwm,
            raw: self.kind == SocketType::Stream || self.opts.router_raw,
            ..tcp_desc(&self.opts, self.id, &self.shared, self.kind, &self.ctx)
        }
    }

    /// SNDHWM and RCVHWM as pipes apply them.
    fn hwms(&self) -> (u64, u64) {
        // CONFLATE keeps the newest message, so no message limit applies.
        let conflate = self.io.opts.conflate;
        let hwm = |v: i32| if conflate { 0 } else { v.max(0) as u64 };
        (hwm(self.opts.sndhwm), hwm(self.opts.rcvhwm))
    }

    /// Gives the socket's pipes its current SNDHWM and RCVHWM (libzmq's
    /// `socket_base_t::update_pipe_options`).
    pub fn update_hwm(&mut self) {
        self.process_mail();
        let (snd, rcv) = self.hwms();
        for (_, p) in self.io.pipes.iter_mut() {
            p.end.set_hwm(snd, rcv);
        }
    }

    /// The options that travel to the inproc registry.
    pub fn peer_desc(&self) -> crate::transport::inproc::Peer<'_> {
        let (sndhwm, rcvhwm) = self.hwms();
        crate::transport::inproc::Peer {
            id: self.id,
            shared: &self.shared,
            kind: self.kind,
            sndhwm,
            rcvhwm,
            ring_capacity: self.opts.ring_capacity,
            routing_id: self.io.opts.routing_id.as_deref().unwrap_or_default(),
        }
    }
}

/// What a tcp engine needs to know of a socket, from its options; the
/// socket's routing id, marks and raw mode are the caller's to set (a
/// thread-safe socket's options live elsewhere).
#[cfg(not(loom))]
pub(crate) fn tcp_desc(
    o: &Options,
    socket_id: u64,
    shared: &Arc<SocketShared>,
    kind: SocketType,
    ctx: &Context,
) -> crate::transport::tcp::SocketDesc {
    let ms = |v: i32| u64::try_from(v).ok().map(Duration::from_millis);
    crate::transport::tcp::SocketDesc {
        socket_id,
        shared: shared.clone(),
        kind,
        routing_id: Vec::new(),
        sndhwm: 0,
        rcvhwm: 0,
        ring_capacity: o.ring_capacity,
        reconnect_ivl: ms(o.reconnect_ivl),
        linger: ms(o.linger),
        reconnect_ivl_max: ms(o.reconnect_ivl_max).filter(|d| !d.is_zero()),
        max_msg_size: u64::try_from(o.maxmsgsize).ok(),
        heartbeat: crate::zmtp::HeartbeatConfig {
            interval: ms(o.heartbeat_ivl).filter(|d| !d.is_zero()),
            timeout: ms(o.heartbeat_timeout),
            ttl: ms(o.heartbeat_ttl).unwrap_or_default(),
        },
        mechanism: o.security.mechanism(),
        zap_domain: o.security.zap_domain().to_owned(),
        zap_enforce_domain: o.security.zap_enforce_domain(),
        context: Arc::downgrade(&ctx.inner),
        // 0 means none for both, as in libzmq.
        connect_timeout: ms(o.connect_timeout).filter(|d| !d.is_zero()),
        handshake_ivl: ms(o.handshake_ivl).filter(|d| !d.is_zero()),
        keepalive: crate::transport::tcp::Keepalive {
            on: o.tcp_keepalive,
            idle: o.tcp_keepalive_idle,
            cnt: o.tcp_keepalive_cnt,
            intvl: o.tcp_keepalive_intvl,
        },
        net: o.net.clone(),
        metadata: o.metadata.clone(),
        stream_notify: o.stream_notify,
        raw: false,
        room: None,
    }
}
