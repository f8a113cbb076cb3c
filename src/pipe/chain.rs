//! A shared-memory pipe's messages beyond its ring: a chain of segments
//! from the writer's pool.
//!
//! A ring is sized in bytes; a pipe's limit counts messages. When a
//! message finds the ring full while the pipe is under its mark, the writer
//! takes a segment ([`SEGMENT_LEN`] bytes) of its socket's chunk pool, which
//! the reader has mapped read-only, and publishes a [`LINK`](ring::LINK)
//! record naming it in the room every ring keeps for one. That message and
//! every later one go into the chain; when a message finds room in the ring
//! again, the writer ends the chain with an END record and carries on in the
//! ring, after the LINK. The reader reads the ring up to the LINK, the chain
//! up to its END, then the ring after the LINK: order holds.
//!
//! # Invariants
//!
//! 1. A segment holds records laid out as a ring's (an 8-byte header word,
//!    payload length in the low 32 bits and flags in the high 32 with
//!    `LIVE` always among them; the payload padded to 8), packed one after
//!    the other from offset 0, never wrapping. Flags: `MORE`, `DESCRIPTOR`
//!    (the frame lies in a chunk of its own), `NEXT` (the payload names the
//!    next segment; reading goes on at its start) and `END` (reading goes
//!    back to the ring).
//! 2. **Publication is in the record**, as in the ring: the writer writes a
//!    batch (one whole message, maybe with the NEXT records it crosses),
//!    every header but the first plain, and publishes it by storing the
//!    first header last with `Release`. The reader `Acquire`-loads the
//!    header word where it stands: zero means nothing yet.
//! 3. **The word where the next record goes is zero** before anything that
//!    leads the reader there is published: a segment's first word before
//!    the LINK or NEXT naming it, the word after each record before its
//!    batch. Segments are reused, so nothing else in them is.
//! 4. The writer keeps room at the end of every segment for a NEXT or END
//!    record after any frame, so that the reader never reads past a
//!    segment.
//! 5. **Segments go back with the LINK.** The reader writes nothing here; it
//!    stays on the ring's LINK record until it reads END, then moves past
//!    it. The writer enters every chunk the chain names in the pipe's
//!    ledger at the LINK record's end, so they come back together once the
//!    reader has released the ring past it (see [`ledger`]).
//! 6. Both sides count the chain's messages as the ring's (the ring counts
//!    neither the LINK nor the END): the high-water mark holds across both.
//!
//! Everything read is validated (flags, lengths, descriptors against the
//! pool's layout and generations); a hostile writer gets [`Corrupt`].
//!
//! [`ledger`]: super::ledger

use super::ring::{self, Corrupt, Record};
use super::{spill, PipeEnd, WriteError};
use crate::sync::Ordering;
use crate::transport::ipc::pool::{Chunk, ChunkPool, PeerPool, CHUNK_MIN, DESC_LEN, SEGMENT_LEN};
use std::sync::Arc;

const HEADER: usize = 8;
/// As the ring's: a published header is never zero.
const LIVE: u32 = 1 << 31;
/// The payload names the segment reading goes on in.
const NEXT: u32 = 1 << 8;
/// The chain ends here: reading goes back to the ring.
const END: u32 = 1 << 9;
const KNOWN: u32 = LIVE | ring::MORE | ring::DESCRIPTOR | NEXT | END;
/// Room kept after every frame: a NEXT record (an END is smaller).
const TAIL_ROOM: usize = HEADER + DESC_LEN;

fn record_size(len: usize) -> usize {
    HEADER + len.next_multiple_of(8)
}

fn header(len: usize, flags: u32) -> u64 {
    len as u64 | (((flags | LIVE) as u64) << 32)
}

/// The writing side of a chain.
pub(super) struct Writer {
    /// Our handles on the segments from the one the unpublished batch
    /// starts in to the one being written, the last. (The reader's
    /// references are in the ledger.)
    segs: Vec<Chunk>,
    /// Where the next record goes in the last segment.
    pos: usize,
    /// The batch's first record: its offset in `segs[0]` and its header,
    /// held back for the publish (0: the batch is empty).
    first: (usize, u64),
    /// Large frames the unpublished batch names.
    frames: Vec<Chunk>,
    /// The claimed record: offset in the last segment, payload length.
    claimed: Option<(usize, usize)>,
    /// A claimed frame's own chunk (the record is then its descriptor).
    claimed_chunk: Option<Chunk>,
    /// Frames of a message are committed, its last one not yet.
    mid_message: bool,
    /// The ring position just past the LINK: the ledger's key for every
    /// chunk of the chain.
    link_end: u64,
}

impl Writer {
    /// A chain starting at `seg`, whose first word is zero, linked by a
    /// LINK record that ends at ring position `link_end`.
    fn new(seg: Chunk, link_end: u64) -> Writer {
        Writer {
            segs: vec![seg],
            pos: 0,
            first: (0, 0),
            frames: Vec::new(),
            claimed: None,
            claimed_chunk: None,
            mid_message: false,
            link_end,
        }
    }

    fn last(&self) -> &Chunk {
        &self.segs[self.segs.len() - 1]
    }

    /// Copies `data` into the last segment at `at`.
    fn write(&self, at: usize, data: &[u8]) {
        assert!(at + data.len() <= SEGMENT_LEN);
        // SAFETY: inside the segment (checked); the segment is ours to
        // write (allocated to this chain, not yet published past `pos`),
        // and `data` is not in it.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.last().as_ptr().add(at), data.len())
        };
    }

    /// Stores the header of the record at `at` in the last segment, or
    /// holds it back if it is the batch's first.
    fn put_header(&mut self, at: usize, word: u64) {
        if self.first.1 == 0 {
            debug_assert_eq!(self.segs.len(), 1);
            self.first = (at, word);
        } else {
            self.last().word(at).store(word, Ordering::Relaxed);
        }
    }

    /// Where a record of `len` payload bytes goes: here, or at the start
    /// of a new segment that a NEXT record here names.
    fn room(&mut self, pool: &Arc<ChunkPool>, len: usize) -> Result<usize, WriteError> {
        if self.pos + record_size(len) + TAIL_ROOM <= SEGMENT_LEN {
            return Ok(self.pos);
        }
        let seg = pool.alloc_segment().ok_or(WriteError::Full)?;
        seg.word(0).store(0, Ordering::Relaxed);
        let mut desc = [0; DESC_LEN];
        seg.descriptor().encode(&mut desc);
        let at = self.pos;
        self.write(at + HEADER, &desc);
        self.put_header(at, header(DESC_LEN, NEXT));
        self.segs.push(seg);
        self.pos = 0;
        Ok(0)
    }

    /// Room for a frame of `len` bytes: in the segment, or in a chunk of
    /// its own for a large one.
    fn claim(&mut self, pool: &Arc<ChunkPool>, len: usize) -> Result<&mut [u8], WriteError> {
        self.claimed = None;
        self.claimed_chunk = None;
        if len > CHUNK_MIN {
            let chunk = match pool.alloc(len) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Err(WriteError::Full),
                Err(()) => return Err(WriteError::TooLarge),
            };
            let at = self.room(pool, DESC_LEN)?;
            self.claimed = Some((at, DESC_LEN));
            return Ok(self.claimed_chunk.insert(chunk).bytes_mut());
        }
        let at = self.room(pool, len)?;
        self.claimed = Some((at, len));
        Ok(self.claimed_mut().unwrap_or_default())
    }

    /// The claimed frame, still claimed.
    fn claimed_mut(&mut self) -> Option<&mut [u8]> {
        if self.claimed_chunk.is_some() {
            return self.claimed_chunk.as_mut().map(Chunk::bytes_mut);
        }
        let (at, len) = self.claimed?;
        // SAFETY: `room` placed `[at + HEADER, at + HEADER + len)` inside
        // the last segment, past everything published; only this writer
        // writes there, and the borrow of `self` keeps it from doing so
        // through another path meanwhile.
        unsafe {
            Some(std::slice::from_raw_parts_mut(
                self.last().as_ptr().add(at + HEADER),
                len,
            ))
        }
    }

    /// Commits the claimed frame with its first `len` bytes.
    fn commit(&mut self, len: usize, more: bool) {
        let Some((at, claimed)) = self.claimed.take() else {
            return;
        };
        let (len, flags) = match self.claimed_chunk.take() {
            Some(mut chunk) => {
                chunk.truncate(len);
                self.put_descriptor_payload(at, &chunk);
                self.frames.push(chunk);
                (DESC_LEN, ring::DESCRIPTOR)
            }
            None => {
                assert!(
                    len <= claimed,
                    "commit of {len} bytes exceeds claim of {claimed}"
                );
                (len, 0)
            }
        };
        self.put_record(at, len, flags | if more { ring::MORE } else { 0 });
    }

    fn put_descriptor_payload(&self, at: usize, chunk: &Chunk) {
        let mut desc = [0; DESC_LEN];
        chunk.descriptor().encode(&mut desc);
        self.write(at + HEADER, &desc);
    }

    /// The record at `at` is written but for its header: the word after it
    /// is zeroed (invariant 3), then the header stored or held back.
    fn put_record(&mut self, at: usize, len: usize, flags: u32) {
        let next = at + record_size(len);
        self.last().word(next).store(0, Ordering::Relaxed);
        self.put_header(at, header(len, flags));
        self.pos = next;
        self.mid_message = flags & ring::MORE != 0;
    }

    /// Sends `chunk`'s frame (a handle of our own on a chunk of `pool`) by
    /// its descriptor.
    fn put_chunk(
        &mut self,
        pool: &Arc<ChunkPool>,
        chunk: Chunk,
        more: bool,
    ) -> Result<(), WriteError> {
        self.claimed = None;
        self.claimed_chunk = None;
        let at = self.room(pool, DESC_LEN)?;
        self.put_descriptor_payload(at, &chunk);
        self.frames.push(chunk);
        let more = if more { ring::MORE } else { 0 };
        self.put_record(at, DESC_LEN, ring::DESCRIPTOR | more);
        Ok(())
    }

    /// Publishes the batch: its first header, with `Release`; every chunk
    /// it named goes into reader `id`'s ledger at the LINK.
    fn publish(&mut self, pool: &ChunkPool, id: usize) {
        let (at, word) = std::mem::take(&mut self.first);
        if word == 0 {
            return;
        }
        self.segs[0].word(at).store(word, Ordering::Release);
        for chunk in self.segs[1..].iter().chain(&self.frames) {
            pool.sent(id, chunk, self.link_end, None);
        }
        self.frames.clear();
        self.segs.drain(..self.segs.len() - 1);
    }

    /// Drops the unpublished batch: its segments and frames go back, and
    /// writing starts again where it started.
    fn rollback(&mut self) {
        self.claimed = None;
        self.claimed_chunk = None;
        self.frames.clear();
        self.segs.truncate(1);
        let (at, word) = std::mem::take(&mut self.first);
        if word != 0 {
            // Its header was never stored: the word there is still zero.
            self.pos = at;
        }
        self.mid_message = false;
    }

    /// Ends the chain: an END record, published with whatever the batch
    /// holds (a NEXT an abandoned claim left).
    fn end(mut self, pool: &ChunkPool, id: usize) {
        debug_assert!(!self.mid_message);
        self.claimed = None;
        self.claimed_chunk = None;
        let at = self.pos;
        self.put_header(at, header(0, END));
        self.publish(pool, id);
    }
}

/// The reading side of a chain.
pub(super) struct Reader {
    /// The ring's LINK record, moved past once the chain is read.
    link: Record,
    /// Where the segment being read starts in the peer's pool mapping.
    seg: usize,
    /// Where the next record is in it.
    pos: usize,
    /// The last frame read had MORE.
    mid_message: bool,
}

/// What a reader finds next.
enum Step {
    Frame(Record),
    Empty,
    End,
}

impl Reader {
    /// The next record, following NEXT records. A DESCRIPTOR's frame is
    /// resolved into `current`.
    fn step(&mut self, peer: &PeerPool, current: &mut (usize, usize)) -> Result<Step, Corrupt> {
        // An honest writer's NEXT leads to a record, never to another NEXT.
        for _ in 0..2 {
            let word = peer.word(self.seg + self.pos).load(Ordering::Acquire);
            if word == 0 {
                return Ok(Step::Empty);
            }
            let (len, flags) = (word as u32 as usize, (word >> 32) as u32);
            let end = self.pos + record_size(len);
            if flags & LIVE == 0 || flags & !KNOWN != 0 || end > SEGMENT_LEN {
                return Err(Corrupt);
            }
            let payload = peer.slice(self.seg + self.pos + HEADER, len);
            match flags & !LIVE {
                NEXT if len == DESC_LEN => {
                    self.seg = peer.resolve_segment(payload)?;
                    self.pos = 0;
                }
                END if len == 0 && !self.mid_message => return Ok(Step::End),
                f if f & (NEXT | END) == 0 && end + HEADER <= SEGMENT_LEN => {
                    if f & ring::DESCRIPTOR != 0 {
                        *current = peer.resolve(payload)?;
                    }
                    return Ok(Step::Frame(Record::outside(len, f)));
                }
                _ => return Err(Corrupt),
            }
        }
        Err(Corrupt)
    }

    /// The payload of the frame `step` returned.
    fn payload<'p>(&self, peer: &'p PeerPool, rec: &Record) -> &'p [u8] {
        peer.slice(self.seg + self.pos + HEADER, rec.len())
    }

    fn consumed(&mut self, rec: &Record) {
        self.pos += record_size(rec.len());
        self.mid_message = rec.more();
    }
}

impl PipeEnd {
    /// Whether this end can link a chain: it writes a shared ring and has
    /// a pool.
    pub(super) fn may_chain(&self) -> bool {
        self.remote && self.chunk_flags & super::chunked::WRITES != 0
    }

    /// Starts a chain: a segment, and the LINK record naming it.
    #[cold]
    fn chain_start(&mut self) -> Result<(), WriteError> {
        let Some((pool, id)) = self.chunks.as_ref().and_then(|l| l.pool.clone()) else {
            return Err(WriteError::Full);
        };
        let seg = pool.alloc_segment().ok_or(WriteError::Full)?;
        seg.word(0).store(0, Ordering::Relaxed);
        let mut desc = [0; DESC_LEN];
        seg.descriptor().encode(&mut desc);
        match self.tx.push_link(&desc) {
            Ok(()) => {}
            Err(ring::ClaimError::Corrupt) => return Err(WriteError::Closed),
            Err(_) => return Err(WriteError::Full),
        }
        let link_end = self.tx.position();
        pool.sent(id, &seg, link_end, Some(self.tx.published_position()));
        self.spill_state().chain_tx = Some(Writer::new(seg, link_end));
        self.spill_flags |= spill::WRITING;
        Ok(())
    }

    /// Whether the message starting with a frame of `len` bytes goes into
    /// the chain; if not, the chain ends here.
    pub(super) fn chain_continues(&mut self, len: usize) -> bool {
        let mid_message = match self.chain_writer() {
            Some(w) => w.mid_message,
            None => {
                self.spill_flags &= !spill::WRITING;
                return false;
            }
        };
        if mid_message || !self.has_room_in_ring(len) {
            return true;
        }
        let writer = self.spill.as_mut().and_then(|s| s.chain_tx.take());
        let pool = self.chunks.as_ref().and_then(|l| l.pool.as_ref());
        if let (Some(w), Some((pool, id))) = (writer, pool) {
            w.end(pool, *id);
        }
        self.spill_flags &= !spill::WRITING;
        // A reader waiting at the end of the chain goes back to the ring.
        self.notify_peer();
        false
    }

    fn chain_writer(&mut self) -> Option<&mut Writer> {
        self.spill.as_mut()?.chain_tx.as_mut()
    }

    /// Room for a frame of `len` bytes in the chain (started now if need be).
    #[cold]
    pub(super) fn chain_claim(&mut self, len: usize) -> Result<&mut [u8], WriteError> {
        if self.chain_writer().is_none() {
            self.chain_start()?;
        }
        let (Some(link), Some(state)) = (self.chunks.as_ref(), self.spill.as_mut()) else {
            return Err(WriteError::Full);
        };
        let (Some((pool, _)), Some(w)) = (&link.pool, &mut state.chain_tx) else {
            return Err(WriteError::Full);
        };
        let buf = w.claim(pool, len)?;
        self.spill_flags |= spill::CLAIMED;
        Ok(buf)
    }

    /// The frame claimed in the chain, still claimed.
    pub(super) fn chain_claimed(&mut self) -> Option<&mut [u8]> {
        self.chain_writer()?.claimed_mut()
    }

    /// Commits the claimed frame; the last frame of a message publishes it.
    pub(super) fn chain_commit(&mut self, len: usize, more: bool) {
        self.spill_flags &= !spill::CLAIMED;
        if let Some(w) = self.chain_writer() {
            w.commit(len, more);
        }
        if !more {
            self.chain_publish();
        }
    }

    fn chain_publish(&mut self) {
        let (Some(link), Some(state)) = (self.chunks.as_ref(), self.spill.as_mut()) else {
            return;
        };
        let (Some((pool, id)), Some(w)) = (&link.pool, &mut state.chain_tx) else {
            return;
        };
        w.publish(pool, *id);
        self.tx.count_outside(1);
        self.after_publish();
    }

    /// Sends a frame that lies in `chunk` into the chain by its descriptor.
    pub(super) fn chain_send_shared(
        &mut self,
        chunk: &Chunk,
        more: bool,
    ) -> Result<(), WriteError> {
        if self.chain_writer().is_none() {
            self.chain_start()?;
        }
        let mut desc = [0; DESC_LEN];
        chunk.descriptor().encode(&mut desc);
        let handle = chunk.pool().share(&desc).ok_or(WriteError::Full)?;
        let (Some(link), Some(state)) = (self.chunks.as_ref(), self.spill.as_mut()) else {
            return Err(WriteError::Full);
        };
        let (Some((pool, _)), Some(w)) = (&link.pool, &mut state.chain_tx) else {
            return Err(WriteError::Full);
        };
        w.put_chunk(pool, handle, more)?;
        if !more {
            self.chain_publish();
        }
        Ok(())
    }

    /// Drops the chain's unpublished frames.
    pub(super) fn chain_rollback(&mut self) {
        self.spill_flags &= !spill::CLAIMED;
        if let Some(w) = self.chain_writer() {
            w.rollback();
        }
    }

    /// The ring's head is the LINK record `link`: reading goes on in the
    /// chain it names.
    #[cold]
    pub(super) fn enter_chain(&mut self, link: Record) -> Result<(), Corrupt> {
        let peer = self
            .chunks
            .as_ref()
            .and_then(|l| l.peer.as_ref())
            .ok_or(Corrupt)?;
        let seg = peer.resolve_segment(self.rx.payload(&link))?;
        self.spill_state().chain_rx = Some(Reader {
            link,
            seg,
            pos: 0,
            mid_message: false,
        });
        self.spill_flags |= spill::READING;
        Ok(())
    }

    /// The next frame, in the chain or, once it has ended, in the ring.
    #[cold]
    pub(super) fn chain_peek(&mut self) -> Result<Option<Record>, Corrupt> {
        loop {
            let (Some(link), Some(state)) = (self.chunks.as_mut(), self.spill.as_mut()) else {
                return Err(Corrupt);
            };
            let (Some(peer), Some(r)) = (&link.peer, &mut state.chain_rx) else {
                return Err(Corrupt);
            };
            match r.step(peer, &mut link.current)? {
                Step::Frame(rec) => return Ok(Some(rec)),
                Step::Empty => {
                    if self.rx.unreleased() != 0 || self.rx.unreleased_msgs() != 0 {
                        self.release();
                    }
                    return Ok(None);
                }
                Step::End => {
                    let link = r.link;
                    state.chain_rx = None;
                    self.spill_flags &= !spill::READING;
                    self.rx.advance_link(link);
                    // The chain's segments go back with this release: not
                    // only once the pipe is found empty, which a reader of
                    // whole messages may never do.
                    self.release();
                }
            }
            // Back in the ring (each turn moves past a LINK: bounded by it).
            let Some(rec) = self.rx.peek()? else {
                self.release();
                return Ok(None);
            };
            if rec.flags() & ring::LINK == 0 {
                if rec.flags() & ring::DESCRIPTOR != 0 {
                    self.resolve_peeked(&rec)?;
                }
                return Ok(Some(rec));
            }
            self.enter_chain(rec)?;
        }
    }

    /// The bytes of a frame [`chain_peek`](Self::chain_peek) returned.
    pub(super) fn chain_payload(&self, rec: &Record) -> &[u8] {
        if rec.flags() & ring::DESCRIPTOR != 0 {
            return self.chunk_payload();
        }
        match (self.chunks.as_deref(), self.spill.as_deref()) {
            (Some(link), Some(state)) => match (&link.peer, &state.chain_rx) {
                (Some(peer), Some(r)) => r.payload(peer, rec),
                _ => &[],
            },
            _ => &[],
        }
    }

    /// Done with frame `rec` of the chain.
    pub(super) fn chain_consumed(&mut self, rec: Record) {
        if let Some(r) = self.spill.as_mut().and_then(|s| s.chain_rx.as_mut()) {
            r.consumed(&rec);
        }
        if !rec.more() {
            self.rx.count_outside(1);
            if self.rx.unreleased_msgs() >= self.release_msgs {
                self.release();
            }
        }
    }
}

/// Reads a hostile chain starting at `seg` (an offset into `peer`): each
/// of `ops` steps the reader and reads what it finds, or has `rewrite`
/// change a word of the segments. Anything but a frame's bytes inside its
/// segment or chunk, `Corrupt` or the end of the chain is a bug.
#[cfg(fuzzing)]
pub(crate) fn fuzz(
    peer: &PeerPool,
    seg: usize,
    ops: &mut dyn Iterator<Item = u8>,
    rewrite: &mut dyn FnMut(&mut dyn Iterator<Item = u8>),
) {
    let mut r = Reader {
        link: Record::outside(0, 0),
        seg,
        pos: 0,
        mid_message: false,
    };
    let mut current = (0, 0);
    for _ in 0..4096 {
        let Some(op) = ops.next() else { break };
        if op % 3 == 2 {
            rewrite(ops);
            continue;
        }
        match r.step(peer, &mut current) {
            Ok(Step::Frame(rec)) => {
                let payload = if rec.flags() & ring::DESCRIPTOR != 0 {
                    peer.slice(current.0, current.1)
                } else {
                    r.payload(peer, &rec)
                };
                // Touch both ends: out of bounds would fault.
                std::hint::black_box((payload.first(), payload.last()));
                r.consumed(&rec);
            }
            Ok(Step::Empty) => {}
            Ok(Step::End) | Err(Corrupt) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::chunked::tests::pipe_pair_with;
    use super::*;

    /// Sends `n` numbered messages of `len` bytes from `start`, as far as
    /// the mark lets it; how many went.
    fn send(w: &mut PipeEnd, start: u64, n: u64, len: usize) -> u64 {
        for i in 0..n {
            if !w.can_start_message() {
                return i;
            }
            let buf = match w.claim(len) {
                Ok(buf) => buf,
                Err(WriteError::Full) => return i,
                Err(e) => panic!("message {i}: {e:?}"),
            };
            buf.fill((start + i) as u8);
            buf[..8].copy_from_slice(&(start + i).to_le_bytes());
            w.commit(len, false);
        }
        n
    }

    /// Reads messages `start..start + n` of `len` bytes, in order.
    fn recv(r: &mut PipeEnd, start: u64, n: u64, len: usize) {
        for i in start..start + n {
            let rec = r
                .peek()
                .unwrap()
                .unwrap_or_else(|| panic!("message {i} missing"));
            let data = r.payload(&rec);
            assert_eq!(data.len(), len, "message {i}");
            assert_eq!(data[..8], i.to_le_bytes(), "message {i}");
            assert!(data[8..].iter().all(|&b| b == i as u8), "message {i}");
            assert!(!rec.more());
            r.consume(rec);
        }
    }

    /// Sends messages of `len` bytes while the ring has room for them;
    /// how many.
    fn fill_ring(w: &mut PipeEnd, len: usize) -> u64 {
        let mut n = 0;
        while w.tx.has_room(len) {
            assert_eq!(send(w, n, 1, len), 1);
            n += 1;
        }
        assert_eq!(w.spill_flags & spill::WRITING, 0, "all in the ring");
        n
    }

    fn drained(r: &mut PipeEnd, pool: &ChunkPool) {
        assert_eq!(r.peek(), Ok(None));
        pool.reclaim_now();
    }

    /// The reader has read everything: the writer's next message goes
    /// into the ring and ends the chain, and once that is read every
    /// chunk the chain held is back.
    fn chain_given_back(w: &mut PipeEnd, r: &mut PipeEnd, pool: &ChunkPool) {
        drained(r, pool);
        assert_ne!(pool.in_use(), 0, "the chain is held until it ends");
        assert_eq!(send(w, 77, 1, 8), 1);
        assert_eq!(w.spill_flags & spill::WRITING, 0, "back in the ring");
        recv(r, 77, 1, 8);
        drained(r, pool);
        assert_eq!(pool.in_use(), 0, "every chunk back once read");
    }

    #[test]
    fn the_mark_not_the_ring_limits_the_pipe_and_order_holds() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair_with(&pool, 5000);
        // 5,000 messages of 100 bytes: 30 times the 4 KiB ring.
        assert_eq!(send(&mut w, 0, 6000, 100), 5000, "exactly the mark");
        assert!(pool.in_use() >= 2, "the chain spans segments");
        // The reader releases at its low-water mark (half the mark).
        recv(&mut r, 0, 2500, 100);
        // The reader is in the chain: the writer goes back to the ring,
        // under the mark again.
        assert_eq!(send(&mut w, 5000, 1000, 100), 1000);
        recv(&mut r, 2500, 3500, 100);
        // The writer went into a second chain.
        chain_given_back(&mut w, &mut r, &pool);
        // And round again.
        assert_eq!(send(&mut w, 6000, 6000, 100), 5000);
        recv(&mut r, 6000, 5000, 100);
        chain_given_back(&mut w, &mut r, &pool);
    }

    #[test]
    fn multipart_messages_cross_segments_whole_and_roll_back_whole() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair_with(&pool, 0);
        let n = fill_ring(&mut w, 8);
        let frames = |i: usize| if i == 3 { 40_000 } else { 30_000 };
        // Twelve frames, one of them in a chunk of its own: more than a
        // segment. The first try is dropped half-way.
        for round in 0..2u8 {
            for i in 0..12 {
                let buf = w.claim(frames(i)).unwrap();
                buf.fill(round * 16 + i as u8);
                if round == 0 && i == 9 {
                    w.rollback();
                    pool.reclaim_now();
                    assert_eq!(pool.in_use(), 1, "only the chain's first segment");
                    break;
                }
                w.commit(frames(i), i < 11);
            }
        }
        assert_eq!(
            w.spill_flags & spill::WRITING,
            spill::WRITING,
            "in the chain"
        );
        assert_eq!(send(&mut w, n, 1, 1000), 1, "after it, in the chain");
        recv(&mut r, 0, n, 8);
        for i in 0..12 {
            let rec = r.peek().unwrap().unwrap();
            assert_eq!(rec.more(), i < 11);
            let data = r.payload(&rec);
            assert_eq!(data.len(), frames(i));
            assert!(data.iter().all(|&b| b == 16 + i as u8), "frame {i}");
            r.consume(rec);
        }
        recv(&mut r, n, 1, 1000);
        chain_given_back(&mut w, &mut r, &pool);
    }

    #[test]
    fn a_shared_chunk_goes_into_the_chain_by_its_descriptor() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let (mut w, mut r) = pipe_pair_with(&pool, 0);
        let n = fill_ring(&mut w, 8);
        let mut chunk = pool.alloc(1 << 20).unwrap().unwrap();
        chunk.bytes_mut().fill(5);
        w.send_shared(&chunk, false).unwrap();
        assert_eq!(
            w.spill_flags & spill::WRITING,
            spill::WRITING,
            "in the chain"
        );
        drop(chunk);
        recv(&mut r, 0, n, 8);
        let rec = r.peek().unwrap().unwrap();
        assert!(r.payload(&rec).len() == 1 << 20 && r.payload(&rec).iter().all(|&b| b == 5));
        r.consume(rec);
        chain_given_back(&mut w, &mut r, &pool);
    }

    /// The words of the writer's current segment, to scribble on as a
    /// hostile writer would.
    fn segment_word(w: &mut PipeEnd, off: usize) -> &crate::sync::AtomicU64 {
        w.chain_writer().unwrap().last().word(off)
    }

    #[test]
    fn hostile_chain_records_are_corrupt_never_a_panic() {
        let desc_of = |pool: &Arc<ChunkPool>, frame: bool| {
            let c = if frame {
                pool.alloc(100_000).unwrap().unwrap()
            } else {
                pool.alloc_segment().unwrap()
            };
            let mut d = [0u8; DESC_LEN];
            c.descriptor().encode(&mut d);
            (c, d)
        };
        type Scribble<'a> = &'a dyn Fn(&mut PipeEnd, &Arc<ChunkPool>);
        let bad: [Scribble; 6] = [
            // Unknown flag.
            &|w, _| segment_word(w, 0).store(header(8, 1 << 12), Ordering::Release),
            // Longer than the segment.
            &|w, _| segment_word(w, 0).store(header(SEGMENT_LEN, 0), Ordering::Release),
            // END in the middle of a message.
            &|w, _| {
                segment_word(w, 0).store(header(8, ring::MORE), Ordering::Release);
                segment_word(w, 16).store(header(0, END), Ordering::Release);
            },
            // NEXT to a frame's chunk, not a segment.
            &|w, pool| {
                let (_c, d) = desc_of(pool, true);
                w.chain_writer().unwrap().write(HEADER, &d);
                segment_word(w, 0).store(header(DESC_LEN, NEXT), Ordering::Release);
            },
            // NEXT to a segment that starts with NEXT.
            &|w, pool| {
                let (c, d) = desc_of(pool, false);
                c.word(0).store(header(DESC_LEN, NEXT), Ordering::Release);
                w.chain_writer().unwrap().write(HEADER, &d);
                segment_word(w, 0).store(header(DESC_LEN, NEXT), Ordering::Release);
                std::mem::forget(c);
            },
            // A record that leaves no room for the word after it.
            &|w, _| segment_word(w, 0).store(header(SEGMENT_LEN - HEADER, 0), Ordering::Release),
        ];
        for (i, scribble) in bad.iter().enumerate() {
            let pool = Arc::new(ChunkPool::create().unwrap());
            let (mut w, mut r) = pipe_pair_with(&pool, 0);
            let n = fill_ring(&mut w, 1000);
            // A message claimed and dropped: the chain is linked, empty.
            w.claim(1000).unwrap();
            w.rollback();
            recv(&mut r, 0, n, 1000);
            assert_eq!(r.peek(), Ok(None), "case {i}: nothing yet");
            scribble(&mut w, &pool);
            let mut found = r.peek();
            if let Ok(Some(rec)) = found {
                r.consume(rec);
                found = r.peek();
            }
            assert_eq!(found, Err(Corrupt), "case {i}");
        }
    }
}
