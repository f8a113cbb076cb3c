//! A pipe's messages beyond what its ring holds.
//!
//! A ring is sized in bytes; a pipe's limit counts messages (SNDHWM plus
//! RCVHWM, as libzmq's pipes do). When the first frame of a message finds
//! the ring full while the pipe is under its mark, the whole message goes
//! to the writer's spill queue instead, and so does every later message
//! until the reader has emptied the queue. The reader takes from the queue
//! only when it finds the ring empty, so order holds: everything in the
//! ring was published before the first spilled message, and nothing enters
//! the ring again before the last spilled one has been taken.
//!
//! In-process pipes (inproc, and a socket's pipes to its I/O thread, which
//! carry tcp and ipc's ZMTP): the queue is a mutex-guarded deque in the
//! pipe's control block, touched only while spilling. Shared-memory pipes
//! spill into a chain of segments the reader can map (see
//! [`chain`](super::chain)), behind the same flags. The hot paths
//! test one flag of their own and, when a reader finds its ring empty, one
//! counter of a line that is written only while spilling.

use super::ring::Record;
use super::{Control, PipeEnd, WriteError};
use crate::sync::{AtomicU64, Ordering};
use std::collections::VecDeque;
use std::sync::Mutex;

/// `PipeEnd::spill_flags`: this end's messages go to its queue.
pub(super) const WRITING: u8 = 1;
/// A frame of the spill queue is claimed.
pub(super) const CLAIMED: u8 = 2;
/// The message being read came from the peer's queue.
pub(super) const READING: u8 = 4;

/// One frame of a spilled message of several.
struct Frame {
    data: Vec<u8>,
    more: bool,
}

/// What a frame of a message beyond the ring costs besides its payload
/// (its `Frame`, and its slot once the message is queued), counted
/// against [`State::limit`] so that empty frames are not free.
const FRAME_COST: usize = 2 * std::mem::size_of::<Frame>();

/// Payloads up to this size are kept inside the queue's slot.
const SMALL: usize = 30;

/// A spilled message. Most are one small frame: those take no allocation
/// of their own, only their slot in the queue.
enum Message {
    Small {
        len: u8,
        bytes: [u8; SMALL],
    },
    One(Vec<u8>),
    /// Frames not yet read, in order.
    Frames(VecDeque<Frame>),
}

impl Message {
    /// The frame to read next, and whether more follow.
    fn front(&self) -> Option<(&[u8], bool)> {
        match self {
            Message::Small { len, bytes } => Some((&bytes[..*len as usize], false)),
            Message::One(data) => Some((data, false)),
            Message::Frames(frames) => frames.front().map(|f| (&f.data[..], f.more)),
        }
    }

    /// Drops the front frame; whether the message is done.
    fn pop_front(&mut self) -> bool {
        match self {
            Message::Frames(frames) => {
                frames.pop_front();
                frames.is_empty()
            }
            _ => true,
        }
    }
}

/// The messages one side wrote beyond its ring, oldest first.
#[derive(Default)]
pub(super) struct Queue {
    messages: Mutex<VecDeque<Message>>,
    /// How many `messages` holds: read without the lock.
    len: AtomicU64,
}

impl Queue {
    /// Messages waiting.
    #[inline(always)]
    pub(super) fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    fn push(&self, msg: Message) {
        let mut q = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(msg);
        // Under the lock: a reader that sees the count finds the message.
        self.len.store(q.len() as u64, Ordering::Release);
    }

    fn pop(&self) -> Option<Message> {
        let mut q = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        let msg = q.pop_front();
        self.len.store(q.len() as u64, Ordering::Release);
        msg
    }
}

/// A pipe end's spilling state (boxed: most ends never spill).
#[derive(Default)]
pub(super) struct State {
    /// Frames of the message being spilled, committed.
    frames: Vec<Frame>,
    /// The frame claimed, being written.
    claimed: Vec<u8>,
    /// The rest of the spilled message being read.
    reading: Option<Message>,
    /// Shared memory: the chain this end writes, while it does.
    pub(super) chain_tx: Option<super::chain::Writer>,
    /// Shared memory: the chain this end reads, while it does.
    pub(super) chain_rx: Option<super::chain::Reader>,
    /// The most bytes one message may hold beyond the ring (0: no limit).
    limit: usize,
    /// Bytes of the message being written that lie beyond the ring.
    bytes: usize,
}

impl Control {
    /// The spill queue side `side` writes.
    pub(super) fn spill(&self, side: usize) -> &Queue {
        &self.spills[side]
    }
}

impl PipeEnd {
    pub(super) fn spill_state(&mut self) -> &mut State {
        self.spill.get_or_insert_with(Default::default)
    }

    /// Whether this end may start a message beyond its ring: it may go
    /// there, and its ring writes are all published (a message is spilled
    /// whole or not at all).
    #[inline]
    pub(super) fn may_spill(&self) -> bool {
        self.tx.unpublished() == 0 && self.may_go_beyond()
    }

    /// Whether this end may write beyond its ring: in-process or able to
    /// chain, not a CONFLATE socket's pipe, not closed.
    #[inline]
    fn may_go_beyond(&self) -> bool {
        (!self.remote || self.may_chain())
            && !self.writing_closed()
            && !self.ctl.no_spill.load(Ordering::Relaxed)
    }

    /// Whether the message being written, which found the ring without
    /// room for its next frame, may move beyond it
    /// ([`move_beyond`](Self::move_beyond)).
    #[inline]
    pub(super) fn may_move_beyond(&self) -> bool {
        self.tx.unpublished() != 0 && self.may_go_beyond()
    }

    /// The message being written found no room in the ring for its next
    /// frame (the ring is full, or too small for the whole message): its
    /// frames so far, unpublished, move out of the ring into the spill
    /// queue or a chain, where the rest of it follows. Order holds as when
    /// a message spills from its first frame: nothing of it was published.
    /// `Ok(false)`: a chain lacks the segments, nothing moved (the message
    /// waits in the ring, as before). An error abandons the message.
    #[cold]
    #[inline(never)]
    pub(super) fn move_beyond(&mut self) -> Result<bool, WriteError> {
        use crate::transport::ipc::pool::{Chunk, SEGMENT_LEN};
        enum Moved {
            Bytes(Vec<u8>),
            Shared(Chunk),
        }
        let pool = self.chunk_pool().cloned();
        if self.remote {
            // A segment for the LINK's chain, and room for the frames: a
            // segment takes at least half its length of records (none is
            // larger than CHUNK_MIN, an eighth of it).
            let need = 2 + self.tx.unpublished() / (SEGMENT_LEN / 2);
            if pool.as_ref().map_or(true, |p| p.segments_free() < need) {
                return Ok(false);
            }
        }
        let mut frames = Vec::new();
        let mut lost = false;
        self.tx.for_each_unpublished(|payload, flags| {
            if flags & super::ring::DESCRIPTOR == 0 {
                frames.push(Moved::Bytes(payload.to_vec()));
                return;
            }
            // A large frame lies in a chunk of our pool: keep a handle on
            // it past the ring's rollback.
            match pool.as_ref().and_then(|p| p.share(payload)) {
                Some(chunk) => frames.push(Moved::Shared(chunk)),
                None => lost = true,
            }
        });
        if lost {
            return Ok(false);
        }
        self.tx.rollback();
        self.chunks_rolled_back();
        if !self.remote {
            let state = self.spill_state();
            for frame in frames {
                let data = match frame {
                    Moved::Bytes(data) => data,
                    Moved::Shared(chunk) => chunk.bytes().to_vec(),
                };
                state.bytes += data.len() + FRAME_COST;
                state.frames.push(Frame { data, more: true });
            }
            self.spill_flags |= WRITING;
            return Ok(true);
        }
        for frame in frames {
            let sent = match frame {
                Moved::Bytes(data) => match self.chain_claim(data.len()) {
                    Ok(buf) => {
                        buf.copy_from_slice(&data);
                        self.chain_commit(data.len(), true);
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Moved::Shared(chunk) => self.chain_send_shared(&chunk, true),
            };
            if let Err(e) = sent {
                // The segments were counted: only a broken ring gets here.
                self.rollback();
                return Err(e);
            }
        }
        Ok(true)
    }

    /// Bounds what one message may hold beyond the ring to `bytes`: for
    /// the I/O thread's ends, written as a peer sends, so that a peer that
    /// never ends its message costs it its connection (the write fails
    /// with [`WriteError::TooLarge`]), not the process its memory.
    pub(crate) fn limit_message_beyond_ring(&mut self, bytes: usize) {
        self.spill_state().limit = bytes;
    }

    /// Keeps both sides of this pipe within its ring: a CONFLATE socket's
    /// pipes have no message limit, and libzmq keeps one message there,
    /// so nothing may grow beyond the ring.
    pub(crate) fn forbid_spill(&self) {
        self.ctl.no_spill.store(true, Ordering::Relaxed);
    }

    /// Whether the next frame, of `len` bytes, goes beyond the ring: this
    /// end is spilling, and it is in the middle of a message or the reader
    /// has not yet emptied the queue (then the ring is used again; a chain
    /// ends once the ring has room).
    #[inline]
    pub(super) fn still_spilling(&mut self, len: usize) -> bool {
        if self.spill_flags & WRITING == 0 {
            return false;
        }
        if self.remote {
            return self.chain_continues(len);
        }
        let mid_message = self.spill.as_ref().is_some_and(|s| !s.frames.is_empty());
        if mid_message || self.ctl.spill(self.side).len() != 0 {
            return true;
        }
        self.spill_flags &= !WRITING;
        false
    }

    /// A frame of `len` bytes in the queue, to be written in place.
    #[cold]
    pub(super) fn spill_claim(&mut self, len: usize) -> Result<&mut [u8], WriteError> {
        if self.remote {
            return self.chain_claim(len);
        }
        if len > crate::transport::ipc::pool::CHUNK_MAX {
            return Err(WriteError::TooLarge);
        }
        let state = self.spill_state();
        if state.limit != 0 && state.bytes + len + FRAME_COST > state.limit {
            return Err(WriteError::TooLarge);
        }
        self.spill_flags |= WRITING | CLAIMED;
        let buf = &mut self.spill_state().claimed;
        buf.clear();
        buf.resize(len, 0);
        Ok(buf)
    }

    /// The claimed frame, still claimed.
    pub(super) fn spill_claimed(&mut self) -> Option<&mut [u8]> {
        if self.remote {
            return self.chain_claimed();
        }
        (self.spill_flags & CLAIMED != 0).then(|| &mut self.spill_state().claimed[..])
    }

    /// Commits the claimed frame's first `len` bytes; the last frame of a
    /// message queues the message and tells the peer.
    #[cold]
    pub(super) fn spill_commit(&mut self, len: usize, more: bool) {
        if self.remote {
            return self.chain_commit(len, more);
        }
        self.spill_flags &= !CLAIMED;
        let state = self.spill_state();
        let msg = if state.frames.is_empty() && !more && len <= SMALL {
            // The claimed buffer stays for the next claim.
            let mut bytes = [0; SMALL];
            bytes[..len].copy_from_slice(&state.claimed[..len]);
            let len = len as u8;
            Message::Small { len, bytes }
        } else {
            let mut data = std::mem::take(&mut state.claimed);
            data.truncate(len);
            if state.frames.is_empty() && !more {
                Message::One(data)
            } else {
                state.frames.push(Frame { data, more });
                if more {
                    state.bytes += len + FRAME_COST;
                    return;
                }
                state.bytes = 0;
                Message::Frames(std::mem::take(&mut state.frames).into())
            }
        };
        self.ctl.spill(self.side).push(msg);
        self.after_publish();
    }

    /// Drops the frames of a spilled message not yet queued.
    pub(super) fn spill_rollback(&mut self) {
        if self.remote {
            return self.chain_rollback();
        }
        self.spill_flags &= !CLAIMED;
        if let Some(s) = &mut self.spill {
            s.frames.clear();
            s.bytes = 0;
        }
    }

    /// Sends the frame in `chunk` beyond the ring: by its descriptor into
    /// a chain, or copied into the queue.
    #[cold]
    pub(super) fn spill_shared(
        &mut self,
        chunk: &crate::transport::ipc::pool::Chunk,
        more: bool,
    ) -> Result<(), WriteError> {
        if self.remote {
            return self.chain_send_shared(chunk, more);
        }
        let data = chunk.bytes();
        crate::copy::copy(self.spill_claim(data.len())?, data);
        self.spill_commit(data.len(), more);
        Ok(())
    }

    /// The next frame beyond the ring, while reading there.
    #[cold]
    pub(super) fn peek_beyond(&mut self) -> Result<Option<Record>, super::ring::Corrupt> {
        if self.remote {
            return self.chain_peek();
        }
        Ok(self.spilled_front())
    }

    /// The peer's oldest spilled message, if there is one and the ring
    /// has been read to its end: its first frame.
    #[cold]
    pub(super) fn take_spilled(&mut self) -> Option<Record> {
        let msg = self.ctl.spill(1 - self.side).pop()?;
        self.spill_state().reading = Some(msg);
        self.spill_flags |= READING;
        // The writer's count went down: it may wait for that.
        self.wake_writer();
        self.spilled_front()
    }

    /// The frame of the spilled message to read next.
    #[inline]
    pub(super) fn spilled_front(&self) -> Option<Record> {
        let (data, more) = self.spill.as_ref()?.reading.as_ref()?.front()?;
        Some(Record::outside(
            data.len(),
            if more { super::ring::MORE } else { 0 },
        ))
    }

    /// The bytes of the frame read beyond the ring.
    pub(super) fn spilled_payload(&self, rec: &Record) -> &[u8] {
        if self.remote {
            return self.chain_payload(rec);
        }
        self.spill
            .as_ref()
            .and_then(|s| s.reading.as_ref()?.front())
            .map_or(&[], |(data, _)| data)
    }

    /// Done with frame `rec` read beyond the ring.
    pub(super) fn spilled_consumed(&mut self, rec: Record) {
        if self.remote {
            return self.chain_consumed(rec);
        }
        if let Some(s) = &mut self.spill {
            if s.reading.as_mut().map_or(true, Message::pop_front) {
                s.reading = None;
                self.spill_flags &= !READING;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::chunked::tests::pipe_pair_with;
    use super::super::{pipe, Hwm, PipeConfig, PipeEnd};
    use super::*;
    use crate::transport::ipc::pool::{ChunkPool, PoolSlot, CHUNK_MIN};
    use std::sync::Arc;

    /// Frame `i` of the big message: 100 bytes, but frame 3 goes in a
    /// chunk of its own (a DESCRIPTOR record in the ring).
    fn frame(i: usize) -> Vec<u8> {
        let len = if i == 3 { CHUNK_MIN + 1 } else { 100 };
        let mut f = vec![i as u8; len];
        f[..8].copy_from_slice(&(i as u64).to_le_bytes());
        f
    }

    const FRAMES: usize = 1000;

    /// A message first, then one of 1,000 frames (about 27 times the 4 KiB
    /// ring), written with nothing read: every claim succeeds (the message
    /// moves beyond the ring when it outgrows it); the reader gets the
    /// first message, then the big one whole and in order.
    fn outgrow(w: &mut PipeEnd, r: &mut PipeEnd) {
        w.claim(5).unwrap().copy_from_slice(b"first");
        w.commit(5, false);
        for i in 0..FRAMES {
            let f = frame(i);
            let buf = w
                .claim(f.len())
                .unwrap_or_else(|e| panic!("frame {i}: {e:?}"));
            buf.copy_from_slice(&f);
            w.commit(f.len(), i + 1 < FRAMES);
        }
        assert_ne!(w.spill_flags & WRITING, 0, "beyond the ring");
        let rec = r.peek().unwrap().unwrap();
        assert_eq!(r.payload(&rec), b"first");
        r.consume(rec);
        for i in 0..FRAMES {
            let rec = r
                .peek()
                .unwrap()
                .unwrap_or_else(|| panic!("frame {i} missing"));
            assert!(r.payload(&rec) == frame(i), "frame {i}");
            assert_eq!(rec.more(), i + 1 < FRAMES, "frame {i}");
            r.consume(rec);
        }
        assert_eq!(r.peek(), Ok(None));
    }

    #[test]
    fn a_message_outgrowing_the_ring_moves_into_the_spill_queue() {
        let (mut w, mut r) = pipe(PipeConfig {
            ring_capacity: 4096,
            hwm: [Hwm::NONE; 2],
            ids: [None, None],
        });
        w.set_pool_slot(PoolSlot::default());
        outgrow(&mut w, &mut r);
        // The ring again, once the queue is read.
        w.claim(4).unwrap().copy_from_slice(b"next");
        w.commit(4, false);
        assert_eq!(w.spill_flags & WRITING, 0, "back in the ring");
        let rec = r.peek().unwrap().unwrap();
        assert_eq!(r.payload(&rec), b"next");
    }

    #[test]
    fn a_message_beyond_the_ring_is_bounded_where_asked() {
        let (mut w, mut r) = pipe(PipeConfig {
            ring_capacity: 4096,
            hwm: [Hwm::NONE; 2],
            ids: [None, None],
        });
        w.limit_message_beyond_ring(64 << 10);
        // Empty frames cost too: they do not go on for ever.
        let mut n = 0;
        let refused = loop {
            match w.claim(0) {
                Ok(_) => w.commit(0, true),
                Err(e) => break e,
            }
            n += 1;
            assert!(n < 10_000, "no bound");
        };
        assert_eq!(refused, WriteError::TooLarge);
        assert!(n > 500, "{n} frames: the ring's worth and more");
        w.rollback();
        assert_eq!(r.peek(), Ok(None), "nothing of it was published");
        // The next message starts afresh, beyond the ring again.
        for i in 0..700 {
            w.claim(0).unwrap();
            w.commit(0, i + 1 < 700);
            if i == 650 {
                assert_ne!(w.spill_flags & WRITING, 0, "beyond the ring");
            }
        }
        let mut got = 0;
        while let Ok(Some(rec)) = r.peek() {
            got += 1;
            r.consume(rec);
        }
        assert_eq!(got, 700);
    }

    /// A reader that takes each message whole, as `recv_multipart` does,
    /// never finds the pipe empty: the chains it has read still go back
    /// (at each chain's end), so a writer whose every message outgrows
    /// the ring does not run its pool dry.
    #[test]
    fn chains_come_back_from_a_reader_that_never_finds_the_pipe_empty() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair_with(&pool, 0);
        for round in 0..40 {
            for i in 0..FRAMES {
                w.claim(100).unwrap().fill(i as u8);
                w.commit(100, i + 1 < FRAMES);
            }
            for i in 0..FRAMES {
                let rec = r.peek().unwrap().unwrap();
                assert_eq!(r.payload(&rec)[0], i as u8);
                r.consume(rec);
            }
            pool.reclaim_now();
            assert!(pool.in_use() <= 4, "round {round}: {} held", pool.in_use());
        }
    }

    #[test]
    fn a_message_outgrowing_a_shared_ring_moves_into_a_chain() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair_with(&pool, 0);
        outgrow(&mut w, &mut r);
        pool.reclaim_now();
        assert_ne!(pool.in_use(), 0, "the chain is held until it ends");
        w.claim(4).unwrap().copy_from_slice(b"next");
        w.commit(4, false);
        assert_eq!(w.spill_flags & WRITING, 0, "back in the ring");
        let rec = r.peek().unwrap().unwrap();
        assert_eq!(r.payload(&rec), b"next");
        r.consume(rec);
        assert_eq!(r.peek(), Ok(None));
        pool.reclaim_now();
        assert_eq!(pool.in_use(), 0, "every chunk back once read");
    }
}
