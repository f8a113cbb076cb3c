//! PUSH (load-balanced out) and PULL (fair-queued in).

use super::{Behaviour, FairQueue, In, Io, LoadBalance, PipeKey, ReadFrame, Slot};
use crate::error::Fail;

/// PUSH: round-robin to pullers; blocks when none can take a message.
#[derive(Debug, Default)]
pub(crate) struct Push {
    lb: LoadBalance,
}

impl Behaviour for Push {
    fn attach(&mut self, _io: &mut Io, key: PipeKey) {
        self.lb.attach(key);
    }
    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.lb.detach(key);
    }
    #[inline(always)]
    fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        self.lb.reserve(io, len, more)
    }
    #[inline(always)]
    fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail> {
        self.lb.push(io, data)
    }
    #[inline(always)]
    fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        self.lb.commit(io, slot, len, more);
    }
    fn writable(&mut self, io: &mut Io) -> bool {
        self.lb.writable(io)
    }
    fn abort(&mut self, io: &mut Io) {
        self.lb.rollback(io);
    }
}

/// PULL: fair-queued from pushers.
#[derive(Debug, Default)]
pub(crate) struct Pull {
    fq: FairQueue,
}

impl Behaviour for Pull {
    fn attach(&mut self, _io: &mut Io, key: PipeKey) {
        self.fq.attach(key);
    }
    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.fq.detach(key);
    }
    #[inline(always)]
    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        let (key, rec) = self.fq.recv(io)?;
        Ok(In::Pipe(key as u32, rec))
    }
    #[inline(always)]
    fn consumed(&mut self, io: &mut Io, frame: In) {
        if let In::Pipe(key, rec) = frame {
            let key = key as usize;
            self.fq.consumed(io, key, rec);
        }
    }
    #[inline(always)]
    fn recv_with<R, F: ReadFrame<R>>(
        &mut self,
        io: &mut Io,
        read: &mut F,
    ) -> Result<(R, bool), Fail> {
        self.fq.recv_with(io, |_| true, read)
    }
    fn readable(&mut self, io: &mut Io) -> bool {
        self.fq.readable(io)
    }
}
