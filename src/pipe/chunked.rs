//! A shared-memory pipe's large frames: in chunks of a pool, named in the
//! ring by DESCRIPTOR records (see [`pool`](crate::transport::ipc::pool)).
//!
//! Writing: a frame above [`CHUNK_MIN`] claims a descriptor record in the
//! ring and a chunk of our socket's pool, and is written into the chunk in
//! place; its commit writes the descriptor and enters the chunk in this
//! pipe's ledger. Reading: a peeked DESCRIPTOR record is resolved against
//! the peer's pool (validated, or the ring is [`Corrupt`]) and the frame is
//! borrowed from the chunk until the record is consumed, which releases
//! the ring at once, handing the chunk back to its writer.

use super::ring::{self, Corrupt, Record};
use super::{PipeEnd, WriteError};
use crate::sync::Ordering;
use crate::transport::ipc::pool::{
    Chunk, ChunkPool, PeerPool, PoolSlot, CHUNK_MAX, CHUNK_MIN, DESC_LEN,
};
use std::sync::Arc;

/// `PipeEnd::chunk_flags`: this end writes chunks.
pub(super) const WRITES: u8 = 1;
/// A claim handed out a chunk, not yet committed.
pub(super) const PENDING: u8 = 2;
/// Descriptors were committed since the last publish.
pub(super) const UNPUBLISHED: u8 = 4;

/// A pipe end's hold on the pools of its two sides.
#[derive(Default)]
pub(crate) struct Link {
    /// Our socket's pool, and this pipe's reader id in it.
    pub(super) pool: Option<(Arc<ChunkPool>, usize)>,
    /// The peer's pool, whose chunks our ring's descriptors name.
    pub(super) peer: Option<PeerPool>,
    /// The chunk a claim handed out, until committed.
    pending: Option<Chunk>,
    /// Where the frame of the descriptor peeked last lies in `peer`.
    pub(super) current: (usize, usize),
}

impl PipeEnd {
    /// Lets this (remote) end write large frames into `pool` and read them
    /// from the peer's `peer` pool.
    pub(crate) fn link_pools(&mut self, pool: Option<Arc<ChunkPool>>, peer: Option<PeerPool>) {
        let pool = pool.map(|pool| self.register_writer(pool));
        self.chunk_flags = if pool.is_some() { WRITES } else { 0 };
        if pool.is_some() && self.remote {
            // Room for a chain's LINK: see `chain`.
            self.tx.keep_room_for_link();
        }
        self.chunks = Some(Box::new(Link {
            pool,
            peer,
            ..Link::default()
        }));
    }

    /// In-process: frames too large for the ring go into chunks of
    /// `slot`'s pool (made when the first such frame comes).
    pub(crate) fn set_pool_slot(&mut self, slot: PoolSlot) {
        if !self.remote {
            self.pool_slot = Some(slot);
        }
    }

    /// Whether a frame of `len` bytes would make an in-process end link
    /// its pool: one that goes into a chunk once linked, or one the ring
    /// cannot take at all.
    #[inline(always)]
    pub(super) fn would_link(&self, len: usize) -> bool {
        self.chunk_sized(len) && self.chunk_flags & WRITES == 0
    }

    /// Whether a frame of `len` bytes belongs in a chunk: a large one, or
    /// one the ring cannot take at all.
    #[inline(always)]
    pub(super) fn chunk_sized(&self, len: usize) -> bool {
        len > CHUNK_MIN || len > self.tx.max_payload()
    }

    /// Whether a chunk for `len` bytes is free in the pool this end writes
    /// (or will make).
    pub(super) fn chunk_free(&self, len: usize) -> bool {
        self.chunk_pool()
            .or_else(|| self.pool_slot.as_ref()?.existing())
            .map_or(true, |pool| pool.can_alloc(len))
    }

    /// Whether this in-process end could write chunks, once it links.
    #[inline]
    pub(super) fn may_link_local(&self) -> bool {
        self.pool_slot.is_some()
    }

    /// Whether this end writes chunks, or would link a pool to.
    #[inline]
    pub(super) fn may_chunk(&self) -> bool {
        self.chunk_flags & WRITES != 0 || self.may_link_local()
    }

    /// Starts writing chunks of our socket's pool (in-process ends not yet
    /// linked, on their first chunk-sized frame); whether it could.
    #[cold]
    pub(super) fn link_local_writer(&mut self) -> bool {
        let Some(pool) = self
            .pool_slot
            .as_ref()
            .and_then(|s| s.get_or_make())
            .cloned()
        else {
            return false;
        };
        // Before any descriptor of it is published: the reader finds it
        // here (the publish's Release carries it).
        let _ = self.ctl.pools[self.side].set(pool.clone());
        let registered = self.register_writer(pool);
        self.chunks.get_or_insert_with(Default::default).pool = Some(registered);
        self.chunk_flags |= WRITES;
        true
    }

    /// In-process: maps the pool the peer's descriptors name, if the peer
    /// has one.
    #[cold]
    fn link_local_reader(&mut self) -> Option<()> {
        if self.remote {
            return None;
        }
        let pool = self.ctl.pools[1 - self.side].get()?;
        let peer = pool.local_reader().ok()?;
        self.chunks.get_or_insert_with(Default::default).peer = Some(peer);
        Some(())
    }

    /// Enters this end's reader in `pool`'s ledgers.
    fn register_writer(&self, pool: Arc<ChunkPool>) -> (Arc<ChunkPool>, usize) {
        let ctl = self.ctl.clone();
        let peer_side = 1 - self.side;
        let gone = Box::new(move || ctl.closed[peer_side].load(Ordering::Acquire));
        let id = pool.register(self.tx.head_watch(), gone);
        (pool, id)
    }

    /// Whether a frame of `len` bytes goes into a chunk.
    #[inline]
    pub(super) fn wants_chunk(&self, len: usize) -> bool {
        self.chunk_sized(len) && self.chunk_flags & WRITES != 0
    }

    /// The pool our large frames go to, if any.
    pub(crate) fn chunk_pool(&self) -> Option<&Arc<ChunkPool>> {
        self.chunks.as_ref()?.pool.as_ref().map(|(p, _)| p)
    }

    /// The largest frame a chunk takes, if this end writes chunks.
    pub(super) fn chunk_max(&self) -> Option<usize> {
        self.chunk_pool().map(|_| CHUNK_MAX)
    }

    /// Room for a frame of `len` bytes in a chunk.
    #[inline(never)]
    pub(super) fn claim_chunk(&mut self, len: usize) -> Result<&mut [u8], WriteError> {
        // A second claim abandons the first.
        self.drop_pending_chunk();
        let Some(link) = self.chunks.as_mut() else {
            return Err(WriteError::TooLarge);
        };
        let Some((pool, _)) = &link.pool else {
            return Err(WriteError::TooLarge);
        };
        match pool.alloc(len) {
            Ok(Some(chunk)) => {
                match self.tx.claim(DESC_LEN) {
                    Ok(_) => {}
                    Err(ring::ClaimError::Full) => return Err(WriteError::Full),
                    Err(ring::ClaimError::TooLarge) => return Err(WriteError::TooLarge),
                    Err(ring::ClaimError::Corrupt) => return Err(WriteError::Closed),
                }
                self.chunk_flags |= PENDING;
                Ok(link.pending.insert(chunk).bytes_mut())
            }
            Ok(None) => Err(WriteError::Full),
            Err(()) => Err(WriteError::TooLarge),
        }
    }

    /// The chunk the last claim handed out, if it is still claimed.
    pub(super) fn pending_chunk(&mut self) -> Option<&mut Chunk> {
        self.chunks.as_mut()?.pending.as_mut()
    }

    /// Takes the claimed chunk, to commit it.
    #[inline]
    pub(super) fn take_pending(&mut self) -> Option<Chunk> {
        self.chunk_flags &= !PENDING;
        self.chunks.as_mut()?.pending.take()
    }

    /// Gives back a chunk claimed and never committed (a loan dropped
    /// unsent, say).
    #[inline]
    pub(super) fn drop_pending_chunk(&mut self) {
        if self.chunk_flags & PENDING != 0 {
            drop(self.take_pending());
        }
    }

    /// Commits `chunk`, holding a frame of `len` bytes, as the claimed
    /// descriptor record.
    pub(super) fn commit_chunk(&mut self, mut chunk: Chunk, len: usize, more: bool) {
        chunk.truncate(len);
        self.put_descriptor(&chunk, more);
    }

    /// Writes `chunk`'s descriptor into the record claimed for it and
    /// enters the chunk in our ledger (a reference of our reader's).
    fn put_descriptor(&mut self, chunk: &Chunk, more: bool) {
        if let Some(buf) = self.tx.claimed_mut() {
            chunk.descriptor().encode(buf);
        }
        let flags = ring::DESCRIPTOR | if more { ring::MORE } else { 0 };
        self.tx.commit(DESC_LEN, flags);
        if !more {
            self.tx.publish();
        }
        let end = self.tx.position();
        let published = (!more).then(|| self.tx.published_position());
        if let Some((pool, id)) = self.chunks.as_ref().and_then(|l| l.pool.as_ref()) {
            pool.sent(*id, chunk, end, published);
        }
        if more {
            self.chunk_flags |= UNPUBLISHED;
        } else {
            self.chunk_flags &= !UNPUBLISHED;
        }
        if !more {
            self.after_publish();
        }
    }

    /// Whether this end writes into `pool` (so it can share a chunk of it).
    pub(crate) fn shares_pool(&self, pool: &Arc<ChunkPool>) -> bool {
        self.chunk_pool().is_some_and(|p| Arc::ptr_eq(p, pool))
    }

    /// Sends a frame that already lies in `chunk` (a chunk of our pool,
    /// see [`shares_pool`](Self::shares_pool)): only its descriptor enters
    /// the ring. A PUB shares one chunk among its subscribers this way.
    pub(crate) fn send_shared(&mut self, chunk: &Chunk, more: bool) -> Result<(), WriteError> {
        self.drop_pending_chunk();
        if self.spill_flags & super::spill::WRITING != 0 && self.still_spilling(DESC_LEN) {
            return self.spill_shared(chunk, more);
        }
        match self.tx.reserve(DESC_LEN) {
            Ok(()) => {}
            Err(ring::ClaimError::Full) if self.may_spill() => {
                return self.spill_shared(chunk, more)
            }
            Err(ring::ClaimError::Full | ring::ClaimError::TooLarge) if self.may_move_beyond() => {
                if !self.move_beyond()? {
                    return Err(WriteError::Full);
                }
                return self.spill_shared(chunk, more);
            }
            Err(ring::ClaimError::Full) => return Err(WriteError::Full),
            Err(ring::ClaimError::TooLarge) => return Err(WriteError::TooLarge),
            Err(ring::ClaimError::Corrupt) => return Err(WriteError::Closed),
        }
        self.put_descriptor(chunk, more);
        Ok(())
    }

    /// After a publish: the ledger learns how far the ring is published.
    #[inline]
    pub(super) fn chunks_published(&mut self) {
        self.chunk_flags &= !UNPUBLISHED;
        if let Some((pool, id)) = self.chunks.as_ref().and_then(|l| l.pool.as_ref()) {
            pool.published(*id, self.tx.published_position());
        }
    }

    /// After a rollback: the chunks of the dropped records go back.
    pub(super) fn chunks_rolled_back(&mut self) {
        self.drop_pending_chunk();
        if self.chunk_flags & UNPUBLISHED != 0 {
            self.chunk_flags &= !UNPUBLISHED;
            if let Some((pool, id)) = self.chunks.as_ref().and_then(|l| l.pool.as_ref()) {
                pool.rollback(*id);
            }
        }
    }

    /// Resolves the DESCRIPTOR record `rec` just peeked.
    #[inline(never)]
    pub(super) fn resolve_peeked(&mut self, rec: &Record) -> Result<(), Corrupt> {
        if !self.chunks.as_ref().is_some_and(|l| l.peer.is_some()) {
            let _ = self.link_local_reader();
        }
        let span = {
            let Some(peer) = self.chunks.as_ref().and_then(|l| l.peer.as_ref()) else {
                // A descriptor from a peer that sent no pool.
                return Err(Corrupt);
            };
            peer.resolve(self.rx.payload(rec))?
        };
        if let Some(link) = self.chunks.as_mut() {
            link.current = span;
        }
        Ok(())
    }

    /// The frame of the DESCRIPTOR record peeked last.
    pub(super) fn chunk_payload(&self) -> &[u8] {
        match self.chunks.as_deref() {
            Some(Link {
                peer: Some(peer),
                current: (off, len),
                ..
            }) => peer.slice(*off, *len),
            _ => &[],
        }
    }

    /// The pipe end goes: our reader keeps what it was sent until it is
    /// done with it or gone.
    pub(super) fn unlink_pools(&mut self) {
        self.drop_pending_chunk();
        self.chunk_flags = 0;
        if let Some(link) = self.chunks.take() {
            if let Some((pool, id)) = &link.pool {
                pool.unregister(*id);
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::pipe::{remote_end, Doorbell, Hwm};
    use crate::transport::ipc::shm::PipeSegment;

    /// A writer's and a reader's end of one shared-memory pipe, in one
    /// process: the writer writes chunks of `pool`.
    fn pipe_pair(pool: &Arc<ChunkPool>) -> (PipeEnd, PipeEnd) {
        pipe_pair_with(pool, 0)
    }

    /// As `pipe_pair`, the writer limited to `hwm` messages (0: none).
    pub(in crate::pipe) fn pipe_pair_with(pool: &Arc<ChunkPool>, hwm: u64) -> (PipeEnd, PipeEnd) {
        let (a, fd) = PipeSegment::create(4096).unwrap();
        let b = PipeSegment::open(fd, 4096).unwrap();
        let end = |seg: &PipeSegment, side| {
            let (tx, rx) = seg.ends(side);
            let bell = Arc::new(Doorbell::new());
            let ids = [Box::from(&b""[..]), Box::from(&b""[..])];
            let hwm = if side == 0 {
                [Hwm::snd(hwm), Hwm::NONE]
            } else {
                [Hwm::NONE, Hwm::rcv(hwm)]
            };
            remote_end(tx, rx, bell.clone(), hwm, ids, bell, seg.marks(side)).0
        };
        let mut writer = end(&a, 0);
        writer.link_pools(Some(pool.clone()), None);
        let mut reader = end(&b, 1);
        let peer = PeerPool::open(pool.fd().try_clone_to_owned().unwrap()).unwrap();
        reader.link_pools(None, Some(peer));
        (writer, reader)
    }

    #[test]
    fn subscribers_share_one_chunk_until_the_last_lets_go() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w1, mut r1) = pipe_pair(&pool);
        let (mut w2, mut r2) = pipe_pair(&pool);
        let mut chunk = pool.alloc(MIB).unwrap().unwrap();
        chunk.bytes_mut().fill(9);
        w1.send_shared(&chunk, false).unwrap();
        w2.send_shared(&chunk, false).unwrap();
        drop(chunk);
        assert_eq!(pool.in_use(), 1, "one chunk for both");
        for r in [&mut r1, &mut r2] {
            let rec = r.peek().unwrap().unwrap();
            let payload = r.payload(&rec);
            assert_eq!(payload.len(), MIB);
            assert!(payload.iter().all(|&b| b == 9));
            r.consume(rec);
            pool.reclaim_now();
        }
        assert_eq!(pool.in_use(), 0, "back once both released it");
    }

    #[test]
    fn a_claim_writes_in_place_and_a_rollback_gives_the_chunk_back() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair(&pool);
        assert_eq!(w.max_frame(), CHUNK_MAX);
        w.claim(100_000).unwrap().fill(3);
        w.commit(100_000, true);
        assert_eq!(pool.in_use(), 1);
        w.rollback();
        assert_eq!(pool.in_use(), 0, "an unpublished chunk goes back");
        w.claim(100_000).unwrap().fill(4);
        w.commit(99_999, false);
        let rec = r.peek().unwrap().unwrap();
        assert_eq!(r.payload(&rec), &[4; 99_999][..]);
        r.consume(rec);
        drop(w);
        // The writer's end went first; the reader had released, so the
        // ledger empties and goes.
        pool.reclaim_now();
        assert_eq!(pool.in_use(), 0);
    }

    const MIB: usize = 1 << 20;

    #[test]
    fn the_chunk_released_last_is_the_next_one_handed_out() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair(&pool);
        let mut last = None;
        for round in 0..4 {
            w.claim(MIB).unwrap().fill(round);
            w.commit(MIB, false);
            let rec = r.peek().unwrap().unwrap();
            let desc = crate::transport::ipc::pool::Descriptor::decode(r.rx.payload(&rec)).unwrap();
            if let Some(prev) = last {
                // Still warm in the cache: not the next of the 32 free ones.
                assert_eq!(desc.index, prev, "round {round}");
            }
            last = Some(desc.index);
            assert!(r.payload(&rec).iter().all(|&b| b == round));
            r.consume(rec);
        }
    }

    #[test]
    fn a_chunk_claimed_and_never_committed_is_not_sent_later() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair(&pool);
        // A loan of a chunk, dropped unsent.
        w.claim(MIB).unwrap().fill(1);
        assert_eq!(pool.in_use(), 1);
        w.claim(3).unwrap().copy_from_slice(b"abc");
        assert_eq!(pool.in_use(), 0, "the abandoned chunk went back");
        w.commit(3, false);
        let rec = r.peek().unwrap().unwrap();
        assert_eq!(r.payload(&rec), b"abc");
    }

    #[test]
    fn a_descriptor_without_a_pool_breaks_the_ring() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair(&pool);
        r.chunks = None;
        w.claim(CHUNK_MIN + 1).unwrap();
        w.commit(CHUNK_MIN + 1, false);
        assert_eq!(r.peek(), Err(Corrupt));
    }
}
