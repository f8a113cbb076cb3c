//! DEALER: load-balanced out, fair-queued in, no envelope handling.

use super::{Behaviour, FairQueue, In, Io, LoadBalance, PipeKey, ReadFrame, Slot};
use crate::error::Fail;

#[derive(Debug, Default)]
pub(crate) struct Dealer {
    lb: LoadBalance,
    fq: FairQueue,
}

impl Behaviour for Dealer {
    fn attach(&mut self, _io: &mut Io, key: PipeKey) {
        self.lb.attach(key);
        self.fq.attach(key);
    }
    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.lb.detach(key);
        self.fq.detach(key);
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
    fn writable(&mut self, io: &mut Io) -> bool {
        self.lb.writable(io)
    }
    fn abort(&mut self, io: &mut Io) {
        self.lb.rollback(io);
    }
}
