//! The state behind a [`Socket`](super::Socket): its pipes, its pattern, the
//! message in progress each way, and the loop that blocks until the pattern
//! can go on.

use super::options::{Options, WaitStrategy};
use super::{NewPipe, SocketShared};
use crate::error::{Error, Result};
use crate::pattern::{FairQueue, LoadBalance, Pipe, Shape};
use crate::pipe::ring::Record;
use crate::pipe::WriteError;
use crate::sync::spin_hint;
use crate::{Context, SocketType, DONTWAIT};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the next outbound frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Into this pipe, where room for it is already reserved.
    Pipe(usize),
    /// Nowhere: the message's pipe closed mid-message and the rest is dropped.
    Discard,
}

pub(crate) struct Core {
    pub ctx: Context,
    pub id: u64,
    pub kind: SocketType,
    pub shape: Shape,
    pub shared: Arc<SocketShared>,
    pub opts: Options,
    pub pipes: Vec<Pipe>,
    lb: LoadBalance,
    fq: FairQueue,
    /// The pipe of the outbound message in progress, if any.
    out: Option<Target>,
    /// The pipe of the inbound message in progress, if any.
    inn: Option<usize>,
    pub rcvmore: bool,
    /// Some pipe may be finished: drop such pipes at the next message boundary.
    reap: bool,
    pub bound: Vec<String>,
    pub last_endpoint: String,
}

impl Core {
    pub fn new(ctx: Context, kind: SocketType, shape: Shape, id: u64) -> Self {
        Self {
            ctx,
            id,
            kind,
            shape,
            shared: Arc::new(SocketShared::new()),
            opts: Options::default(),
            pipes: Vec::new(),
            lb: LoadBalance::default(),
            fq: FairQueue::default(),
            out: None,
            inn: None,
            rcvmore: false,
            reap: false,
            bound: Vec::new(),
            last_endpoint: String::new(),
        }
    }

    /// Takes a new pipe into the pattern, unless the pattern refuses it
    /// (PAIR has a peer already), in which case the peer sees it closed.
    pub fn attach(&mut self, np: NewPipe) {
        let NewPipe { mut end, endpoint } = np;
        if self.shape.single_peer && self.pipes.iter_mut().any(|p| !p.finished()) {
            return;
        }
        end.attach(self.shared.bell.clone());
        self.pipes.push(Pipe { end, endpoint, broken: false });
    }

    #[inline]
    fn process_mail(&mut self) {
        if self.shared.has_mail() {
            for np in self.shared.take_mail() {
                self.attach(np);
            }
        }
    }

    /// Drops finished pipes, but only between messages: indices of the
    /// messages in progress must stay valid.
    #[inline]
    fn maybe_reap(&mut self) {
        if self.reap && self.out.is_none() && self.inn.is_none() {
            self.pipes.retain_mut(|p| !p.finished());
            self.reap = self.pipes.iter().any(|p| p.end.peer_closed());
        }
    }

    /// Closes every pipe that `endpoint` made (unbind, disconnect); whether
    /// there was any. A message in progress on a closed pipe is cut off.
    pub fn close_endpoint(&mut self, endpoint: &str) -> bool {
        self.process_mail();
        let mut kept = 0;
        let remap: Vec<Option<usize>> = self
            .pipes
            .iter()
            .map(|p| {
                (&*p.endpoint != endpoint).then(|| {
                    kept += 1;
                    kept - 1
                })
            })
            .collect();
        if kept == self.pipes.len() {
            return false;
        }
        self.pipes.retain(|p| &*p.endpoint != endpoint);
        if let Some(Target::Pipe(i)) = self.out {
            self.out = Some(remap[i].map_or(Target::Discard, Target::Pipe));
        }
        if let Some(i) = self.inn {
            self.inn = remap[i];
            self.rcvmore &= self.inn.is_some();
        }
        true
    }

    /// Runs `op` until it stops saying [`Error::WouldBlock`], waiting as the
    /// socket's strategy says in between, within `flags` and `timeout_ms`.
    #[inline(always)]
    pub fn block<T>(
        &mut self,
        flags: i32,
        timeout_ms: i32,
        mut op: impl FnMut(&mut Core) -> Result<T>,
    ) -> Result<T> {
        match self.attempt(&mut op) {
            Some(done) => done,
            None if flags & DONTWAIT != 0 || timeout_ms == 0 => Err(Error::WouldBlock),
            None => self.wait(timeout_ms, op),
        }
    }

    /// One try of `op`: `None` if it would block.
    #[inline(always)]
    fn attempt<T>(&mut self, op: &mut impl FnMut(&mut Core) -> Result<T>) -> Option<Result<T>> {
        if self.ctx.is_terminated() {
            return Some(Err(Error::Terminated));
        }
        self.process_mail();
        match op(self) {
            Err(Error::WouldBlock) => None,
            done => Some(done),
        }
    }

    /// The slow half of [`block`](Self::block): spin, yield, then sleep on
    /// the doorbell, retrying `op` each time, until it succeeds or time is up.
    #[cold]
    #[inline(never)]
    fn wait<T>(&mut self, timeout_ms: i32, mut op: impl FnMut(&mut Core) -> Result<T>) -> Result<T> {
        let start = Instant::now();
        let deadline = u64::try_from(timeout_ms)
            .ok()
            .map(|ms| start + Duration::from_millis(ms));
        let spin = match self.opts.wait {
            WaitStrategy::BusySpin => None,
            WaitStrategy::SpinThenPark { spin } => Some(spin),
            WaitStrategy::Park => Some(Duration::ZERO),
        };
        if spin != Some(Duration::ZERO) {
            let mut yielding = false;
            let mut i = 0u32;
            loop {
                if let Some(done) = self.attempt(&mut op) {
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
                        return Err(Error::TimedOut);
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
                    _ => return Err(Error::TimedOut),
                },
                None => None,
            };
            if let Some(done) = bell.sleep_until(left, || self.attempt(&mut op)) {
                return done;
            }
        }
    }

    // ---- outbound ----

    /// Non-blocking: where a frame of `len` bytes goes, with room reserved.
    #[inline]
    pub fn try_target(&mut self, len: usize) -> Result<Target> {
        match self.out {
            None => {
                self.maybe_reap();
                self.lb.select(&mut self.pipes, len, &mut self.reap).map(Target::Pipe)
            }
            Some(Target::Discard) => Ok(Target::Discard),
            Some(Target::Pipe(idx)) => {
                let p = &mut self.pipes[idx];
                match p.end.claim(len).map(|_| ()) {
                    Ok(()) => Ok(Target::Pipe(idx)),
                    Err(WriteError::Full) if !p.end.peer_closed() => Err(Error::WouldBlock),
                    Err(WriteError::TooLarge) => {
                        let max = p.end.max_frame();
                        p.end.rollback();
                        // The rest of this message follows it into the void.
                        self.out = Some(Target::Discard);
                        Err(Error::MessageTooLarge { size: len, max })
                    }
                    Err(_) => {
                        p.end.rollback();
                        self.reap = true;
                        self.out = Some(Target::Discard);
                        Ok(Target::Discard)
                    }
                }
            }
        }
    }

    /// Blocking per `flags` and SNDTIMEO: where a frame of `len` bytes goes.
    #[inline]
    pub fn target(&mut self, len: usize, flags: i32) -> Result<Target> {
        if !self.shape.sends {
            return Err(Error::NotSupported);
        }
        let timeo = self.opts.sndtimeo;
        self.block(flags, timeo, |c| c.try_target(len))
    }

    /// The room `target` reserved in pipe `idx`.
    #[inline]
    pub fn reserved(&mut self, idx: usize) -> &mut [u8] {
        match self.pipes[idx].end.claimed_mut() {
            Some(buf) => buf,
            None => unreachable!("target() returned a pipe without reserving room in it"),
        }
    }

    /// Commits the frame written into the reserved room of `target`.
    #[inline]
    pub fn commit(&mut self, target: Target, len: usize, more: bool) {
        if let Target::Pipe(idx) = target {
            self.pipes[idx].end.commit(len, more);
        }
        if more {
            self.out = Some(target);
        } else {
            self.out = None;
            if let Target::Pipe(idx) = target {
                self.lb.sent(idx);
            }
        }
    }

    /// Sends one frame by copy.
    #[inline]
    pub fn send_frame(&mut self, data: &[u8], more: bool, flags: i32) -> Result<()> {
        let target = self.target(data.len(), flags)?;
        if let Target::Pipe(idx) = target {
            crate::copy::copy(self.reserved(idx), data);
        }
        self.commit(target, data.len(), more);
        Ok(())
    }

    /// Abandons the outbound message in progress: nothing of it was
    /// published, so the peer never sees any of it.
    pub fn abort_message(&mut self) {
        if let Some(Target::Pipe(idx)) = self.out.take() {
            self.pipes[idx].end.rollback();
        }
    }

    /// Whether an outbound message is in progress.
    pub fn sending(&self) -> bool {
        self.out.is_some()
    }

    // ---- inbound ----

    /// Non-blocking: the next inbound frame and its pipe.
    #[inline]
    fn try_next(&mut self) -> Result<(usize, Record)> {
        if let Some(idx) = self.inn {
            // A message is published whole, so the rest of it is there.
            match self.pipes[idx].end.peek() {
                Ok(Some(rec)) => return Ok((idx, rec)),
                _ => {
                    self.pipes[idx].broken = true;
                    self.reap = true;
                    self.inn = None;
                    self.rcvmore = false;
                }
            }
        }
        self.maybe_reap();
        self.fq.select(&mut self.pipes, &mut self.reap)
    }

    /// Blocking per `flags` and RCVTIMEO: the next inbound frame.
    #[inline]
    pub fn next_frame(&mut self, flags: i32) -> Result<(usize, Record)> {
        if !self.shape.receives {
            return Err(Error::NotSupported);
        }
        let timeo = self.opts.rcvtimeo;
        self.block(flags, timeo, Core::try_next)
    }

    /// The payload of a frame from [`next_frame`](Self::next_frame).
    #[inline]
    pub fn payload(&self, idx: usize, rec: &Record) -> &[u8] {
        self.pipes[idx].end.payload(rec)
    }

    /// Done with a frame from [`next_frame`](Self::next_frame).
    #[inline]
    pub fn consume(&mut self, idx: usize, rec: Record) {
        self.pipes[idx].end.consume(rec);
        self.rcvmore = rec.more();
        if rec.more() {
            self.inn = Some(idx);
        } else {
            self.inn = None;
            self.fq.received(idx);
        }
    }

    /// Whether a message could be received now without blocking.
    pub fn readable(&mut self) -> bool {
        self.process_mail();
        self.inn.is_some() || self.pipes.iter_mut().any(|p| p.end.readable())
    }

    /// The options that travel to the inproc registry.
    pub fn peer_desc(&self) -> crate::transport::inproc::Peer<'_> {
        let hwm = |v: i32| v.max(0) as u64;
        crate::transport::inproc::Peer {
            id: self.id,
            shared: &self.shared,
            kind: self.kind,
            sndhwm: hwm(self.opts.sndhwm),
            rcvhwm: hwm(self.opts.rcvhwm),
            ring_capacity: self.opts.ring_capacity,
        }
    }
}
