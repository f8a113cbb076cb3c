//! PAIR: exactly one peer, both directions. It is a DEALER that refuses a
//! second pipe.

use super::dealer::Dealer;
use super::{Behaviour, In, Io, PipeKey, Slot};
use crate::error::Fail;

#[derive(Debug, Default)]
pub(crate) struct Pair {
    inner: Dealer,
}

impl Behaviour for Pair {
    fn attach(&mut self, io: &mut Io, key: PipeKey) {
        self.inner.attach(io, key);
    }
    fn detach(&mut self, io: &mut Io, key: PipeKey) {
        self.inner.detach(io, key);
    }
    #[inline(always)]
    fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        self.inner.reserve(io, len, more)
    }
    #[inline(always)]
    fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail> {
        self.inner.push(io, data)
    }
    #[inline(always)]
    fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        self.inner.commit(io, slot, len, more);
    }
    #[inline(always)]
    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        self.inner.recv(io)
    }
    #[inline(always)]
    fn consumed(&mut self, io: &mut Io, frame: In) {
        self.inner.consumed(io, frame);
    }
    fn readable(&mut self, io: &mut Io) -> bool {
        self.inner.readable(io)
    }
    fn writable(&mut self, io: &mut Io) -> bool {
        self.inner.writable(io)
    }
    fn abort(&mut self, io: &mut Io) {
        self.inner.abort(io);
    }
    fn single_peer(&self) -> bool {
        true
    }
}
