//! Chunk pools: frames too large for a ring, shared between processes
//! without a copy.
//!
//! Each socket that has shared-memory pipes owns one pool: a memfd of fixed
//! size classes of chunks, created on the socket's first upgrade and passed
//! to every peer with the pipe's other segments. A frame above
//! [`CHUNK_MIN`] is written into a chunk (in place, for a loan) and the
//! ring carries only a [`Descriptor`]; a PUB writes the chunk once and puts
//! its descriptor in every subscriber's ring.
//!
//! Ownership never leaves the writer's process. Reference counts and free
//! lists are process-local (under a mutex, touched once or twice per large
//! frame); a reader hands a chunk back only by releasing its ring past the
//! descriptor (see [`ledger`](crate::pipe::ledger)), and a reader whose
//! connection ended (killed, say) gives back everything it held. The pool
//! is sealed against writable mappings before any peer sees it
//! (`F_SEAL_FUTURE_WRITE`), so a subscriber cannot scribble over what other
//! subscribers read; a reader validates every descriptor against the
//! layout it computes itself and the generation the writer stamped.

use super::segment::Segment;
use crate::pipe::ledger::Ledger;
use crate::pipe::ring::{Corrupt, HeadWatch};
use nix::fcntl::{fallocate, FallocateFlags};
use slab::Slab;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Frames larger than this go into chunks over shared-memory pipes.
pub(crate) const CHUNK_MIN: usize = 32 * 1024;

/// Chunk sizes and how many of each: the frame classes by size, then the
/// segments pipes link beyond their rings (see `pipe::chain`). The memfd is
/// sparse: a chunk costs memory once written, and keeps it while free (it
/// is reused, warm) within [`WARM_MAX`]; beyond, a freed chunk's pages go
/// back to the system.
const CLASSES: [(usize, u32); 7] = [
    (64 << 10, 64),
    (256 << 10, 32),
    (1 << 20, 32),
    (4 << 20, 16),
    (16 << 20, 8),
    (64 << 20, 4),
    (SEGMENT_LEN, 1024),
];
/// Bytes of free chunks that keep their pages for the next frames: one
/// chunk of the largest class, or all the smaller ones. A freed chunk that
/// would go over is emptied (a hole punched in the memfd), so a burst of
/// large frames, a peer's or an attacker's, leaves at most this much
/// behind. A pool shared with other processes is sealed against writing
/// (and so against punching): it keeps what it has touched.
const WARM_MAX: usize = CHUNK_MAX;

/// How many of `CLASSES` hold frames.
const FRAME_CLASSES: usize = 6;
const SEGMENT_CLASS: usize = FRAME_CLASSES;

/// Bytes in a segment of a chain: enough for a frame that does not go into
/// a chunk of its own (up to [`CHUNK_MIN`]) several times over. The 1,024
/// of them bound what a socket's shared-memory pipes hold beyond their
/// rings to 256 MiB.
pub(crate) const SEGMENT_LEN: usize = 256 << 10;

/// The largest frame a chunk holds.
pub(crate) const CHUNK_MAX: usize = CLASSES[FRAME_CLASSES - 1].0;

const fn total_chunks() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < CLASSES.len() {
        n += CLASSES[i].1 as usize;
        i += 1;
    }
    n
}
const CHUNKS: usize = total_chunks();

pub(crate) const MAGIC: &[u8; 8] = b"ZRPOOL\0\x02";
/// Magic, then one generation word per chunk.
const GEN_OFFSET: usize = 64;
const HEAD_LEN: usize = 16384;
const _: () = assert!(GEN_OFFSET + 8 * CHUNKS <= HEAD_LEN);

/// Where chunk `global` starts in the segment, its class and its size.
fn layout(global: usize) -> Option<(usize, usize, usize)> {
    let mut off = HEAD_LEN;
    let mut first = 0;
    for (class, &(size, count)) in CLASSES.iter().enumerate() {
        let count = count as usize;
        if global < first + count {
            return Some((off + (global - first) * size, class, size));
        }
        off += count * size;
        first += count;
    }
    None
}

/// The pool segment's size: what a peer's must be.
pub(crate) fn segment_len() -> usize {
    HEAD_LEN + CLASSES.iter().map(|&(s, c)| s * c as usize).sum::<usize>()
}

/// The first global index of `class`.
fn class_start(class: usize) -> usize {
    CLASSES[..class].iter().map(|&(_, c)| c as usize).sum()
}

/// What a DESCRIPTOR record carries: which chunk, stamped with which
/// generation, and how many of its bytes are the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Descriptor {
    /// Size class.
    pub class: u32,
    /// Chunk within the class.
    pub index: u32,
    /// The writer's count of the chunk's uses, when it was filled.
    pub generation: u64,
    /// Frame length.
    pub len: u64,
}

/// A descriptor's size in the ring.
pub(crate) const DESC_LEN: usize = 24;

impl Descriptor {
    /// Little-endian, as every word of the ring.
    pub fn encode(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.class.to_le_bytes());
        out[4..8].copy_from_slice(&self.index.to_le_bytes());
        out[8..16].copy_from_slice(&self.generation.to_le_bytes());
        out[16..24].copy_from_slice(&self.len.to_le_bytes());
    }

    /// Parses a record's payload (not validated against any pool).
    pub fn decode(b: &[u8]) -> Option<Descriptor> {
        if b.len() != DESC_LEN {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Some(Descriptor {
            class: u32_at(0),
            index: u32_at(4),
            generation: u64_at(8),
            len: u64_at(16),
        })
    }

    /// The chunk it names, by its place among all chunks, if the layout
    /// has such a chunk and the frame fits in it.
    fn global(&self) -> Option<usize> {
        let &(size, count) = CLASSES.get(self.class as usize)?;
        (self.index < count && self.len <= size as u64)
            .then(|| class_start(self.class as usize) + self.index as usize)
    }
}

/// One pipe's part of a pool: its ledger, how to read its reader's head,
/// and whether its reader is gone.
struct Reader {
    ledger: Ledger,
    /// Loads the reader's released head (`Acquire`).
    head: Box<dyn Fn() -> u64 + Send>,
    gone: Box<dyn Fn() -> bool + Send>,
    /// The pipe end was dropped: the entry goes once its reader is done.
    orphan: bool,
}

struct State {
    /// Free chunks of each class: those emptied first, then the warm ones,
    /// which go out first (popped from the back).
    free: [Vec<u32>; CLASSES.len()],
    /// Free chunks whose pages are (likely) resident, and their bytes.
    warm: Vec<bool>,
    warm_free: usize,
    /// The memfd, to punch holes in; not once `sealed` for peers.
    fd: Arc<OwnedFd>,
    sealed: bool,
    refs: Vec<u32>,
    generations: Vec<u64>,
    readers: Slab<Reader>,
}

impl State {
    fn unref(&mut self, global: u32) {
        let g = global as usize;
        let r = &mut self.refs[g];
        *r -= 1;
        if *r > 0 {
            return;
        }
        let Some((offset, class, size)) = layout(g) else {
            return;
        };
        let keep = self.sealed || self.warm_free + size <= WARM_MAX;
        if keep || !self.punch(offset, size) {
            self.warm[g] = true;
            self.warm_free += size;
            self.free[class].push(global);
        } else {
            self.warm[g] = false;
            self.free[class].insert(0, global);
        }
    }

    /// Gives the pages of `offset..offset + len` back to the system (they
    /// read as zeros after); whether it could.
    fn punch(&self, offset: usize, len: usize) -> bool {
        let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len))
        else {
            return false;
        };
        let mode = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
        fallocate(&*self.fd, mode, offset, len).is_ok()
    }

    /// Takes the free chunk at the back of `class`'s list.
    fn take_free(&mut self, class: usize) -> Option<u32> {
        let global = self.free[class].pop()?;
        let g = global as usize;
        if std::mem::replace(&mut self.warm[g], false) {
            self.warm_free -= CLASSES[class].0;
        }
        Some(global)
    }

    /// Takes back what readers have released, or hold no more.
    fn reclaim(&mut self) {
        let mut freed = Vec::new();
        let mut done = Vec::new();
        for (id, r) in self.readers.iter_mut() {
            if r.ledger.is_empty() {
                // Nothing to take back: skip the calls (this runs before
                // every allocation, over every pipe that ever got a chunk).
                if r.orphan {
                    done.push(id);
                }
                continue;
            }
            if (r.gone)() {
                r.ledger.drain(|c| freed.push(c));
            } else {
                r.ledger.reclaim((r.head)(), |c| freed.push(c));
            }
            if r.orphan && r.ledger.is_empty() {
                done.push(id);
            }
        }
        for id in done {
            self.readers.remove(id);
        }
        for c in freed {
            self.unref(c);
        }
    }
}

/// A socket's pool of chunks, as its writer.
pub(crate) struct ChunkPool {
    seg: Segment,
    fd: Arc<OwnedFd>,
    state: Mutex<State>,
}

// SAFETY: the segment is only written through chunks handed out once (one
// `Chunk` per free chunk) and the generation words (atomics); the rest of
// the state is behind the mutex.
unsafe impl Send for ChunkPool {}
// SAFETY: as above.
unsafe impl Sync for ChunkPool {}

impl ChunkPool {
    /// A new pool, sealed so that peers can map it only to read once it
    /// is first passed on (see [`fd`](Self::fd)).
    pub fn create() -> io::Result<ChunkPool> {
        let (seg, fd) = Segment::create_unshared(c"zeroring-pool", segment_len())?;
        let fd = Arc::new(fd);
        // SAFETY: the fresh mapping is at least HEAD_LEN bytes; nobody else
        // has it yet.
        unsafe {
            seg.base()
                .as_ptr()
                .copy_from_nonoverlapping(MAGIC.as_ptr(), 8)
        };
        let free = std::array::from_fn(|class| {
            let start = class_start(class) as u32;
            // Popped from the back: the lowest chunks go first.
            (start..start + CLASSES[class].1).rev().collect()
        });
        Ok(ChunkPool {
            seg,
            fd: fd.clone(),
            state: Mutex::new(State {
                free,
                warm: vec![false; CHUNKS],
                warm_free: 0,
                fd,
                sealed: false,
                refs: vec![0; CHUNKS],
                generations: vec![0; CHUNKS],
                readers: Slab::new(),
            }),
        })
    }

    /// The descriptor to pass to peers in other processes: sealed first,
    /// once, against every writable mapping but ours, so that no reader
    /// can scribble over what others read. (From then on freed chunks keep
    /// their pages: the seal forbids punching holes. A pool the seal could
    /// not be added to is refused by peers, which check it.)
    pub fn fd(&self) -> BorrowedFd<'_> {
        let mut s = self.state();
        if !s.sealed {
            s.sealed = Segment::seal_writer_only(&self.fd).is_ok();
        }
        self.fd.as_fd()
    }

    /// A reader of this pool in this process (a pipe end reading chunks
    /// its peer end wrote), which leaves the pool unsealed.
    pub fn local_reader(&self) -> io::Result<PeerPool> {
        let seg = Segment::open_own_read_only(&self.fd, segment_len())?;
        Ok(PeerPool { seg })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation_word(&self, global: usize) -> &AtomicU64 {
        // SAFETY: the generation table lies in the header, inside the
        // mapping, 8-aligned (GEN_OFFSET and the page-aligned base), and
        // lives as long as `self`; an AtomicU64 is valid in any bit pattern.
        unsafe {
            &*self
                .seg
                .base()
                .as_ptr()
                .add(GEN_OFFSET + 8 * global)
                .cast::<AtomicU64>()
        }
    }

    /// Starts tracking a pipe whose reader's head `head` reads; `gone`
    /// says whether that reader's connection has ended.
    pub fn register(&self, head: HeadWatch, gone: Box<dyn Fn() -> bool + Send>) -> usize {
        self.register_with(Box::new(move || head.load()), gone)
    }

    /// As [`register`](Self::register), for a ring whose released head
    /// `head` loads (`Acquire`): a multi-producer ring's.
    pub fn register_with(
        &self,
        head: Box<dyn Fn() -> u64 + Send>,
        gone: Box<dyn Fn() -> bool + Send>,
    ) -> usize {
        self.state().readers.insert(Reader {
            ledger: Ledger::default(),
            head,
            gone,
            orphan: false,
        })
    }

    /// The pipe end went: its reader may still read what was published, so
    /// its chunks come back as it releases them (or all, once it is gone).
    pub fn unregister(&self, reader: usize) {
        let mut s = self.state();
        if let Some(r) = s.readers.get_mut(reader) {
            let mut freed = Vec::new();
            r.ledger.rollback(|c| freed.push(c));
            r.orphan = true;
            for c in freed {
                s.unref(c);
            }
        }
        s.reclaim();
    }

    /// Whether [`alloc`](Self::alloc) would find a chunk for `len` bytes
    /// now (true for sizes no chunk takes: alloc refuses those itself).
    pub fn can_alloc(&self, len: usize) -> bool {
        let Some(class) = class_for(len) else {
            return true;
        };
        let mut s = self.state();
        if s.free[class].is_empty() {
            s.reclaim();
        }
        !s.free[class].is_empty()
    }

    /// A free chunk for `len` bytes: `Ok(None)` when every chunk of its
    /// size is held (wait for readers), `Err(())` when `len` exceeds
    /// [`CHUNK_MAX`].
    pub fn alloc(self: &Arc<Self>, len: usize) -> Result<Option<Chunk>, ()> {
        let class = class_for(len).ok_or(())?;
        Ok(self.alloc_in(class, len))
    }

    /// How many segments [`alloc_segment`](Self::alloc_segment) would hand
    /// out now.
    pub fn segments_free(&self) -> usize {
        let mut s = self.state();
        s.reclaim();
        s.free[SEGMENT_CLASS].len()
    }

    /// A free segment of [`SEGMENT_LEN`] bytes, if there is one.
    pub fn alloc_segment(self: &Arc<Self>) -> Option<Chunk> {
        self.alloc_in(SEGMENT_CLASS, SEGMENT_LEN)
    }

    fn alloc_in(self: &Arc<Self>, class: usize, len: usize) -> Option<Chunk> {
        let mut s = self.state();
        // Take back first: the chunk freed last goes out again while its
        // lines are still in the cache, instead of cycling through the pool.
        s.reclaim();
        let global = s.take_free(class)?;
        let g = global as usize;
        s.refs[g] = 1;
        s.generations[g] += 1;
        let generation = s.generations[g];
        drop(s);
        // Readers check a descriptor's generation against this word; the
        // ring's publish (Release) carries it to them with the data.
        self.generation_word(g).store(generation, Ordering::Relaxed);
        let (offset, _, _) = layout(g)?;
        Some(Chunk {
            pool: self.clone(),
            global,
            class: class as u32,
            index: global - class_start(class) as u32,
            generation,
            offset,
            len,
        })
    }

    /// Reader `reader`'s ring got a record naming `chunk`, ending at ring
    /// position `end`; with `published`, everything up to it is published.
    pub fn sent(&self, reader: usize, chunk: &Chunk, end: u64, published: Option<u64>) {
        let mut s = self.state();
        s.refs[chunk.global as usize] += 1;
        if let Some(r) = s.readers.get_mut(reader) {
            r.ledger.push(end, chunk.global);
            if let Some(p) = published {
                r.ledger.publish(p);
            }
        }
    }

    /// Another handle on the chunk that descriptor `desc` (a record's
    /// payload) names, if the chunk is still out to some reader with that
    /// frame: to send the frame on to one more reader without a copy.
    pub fn share(self: &Arc<Self>, desc: &[u8]) -> Option<Chunk> {
        let d = Descriptor::decode(desc)?;
        let global = d.global()?;
        let (offset, _, _) = layout(global)?;
        let mut s = self.state();
        if s.refs[global] == 0 || s.generations[global] != d.generation {
            return None;
        }
        s.refs[global] += 1;
        Some(Chunk {
            pool: self.clone(),
            global: global as u32,
            class: d.class,
            index: d.index,
            generation: d.generation,
            offset,
            len: d.len as usize,
        })
    }

    /// Reader `reader`'s ring is published up to `tail`.
    pub fn published(&self, reader: usize, tail: u64) {
        if let Some(r) = self.state().readers.get_mut(reader) {
            r.ledger.publish(tail);
        }
    }

    /// Reader `reader`'s unpublished records were dropped.
    pub fn rollback(&self, reader: usize) {
        let mut s = self.state();
        let mut freed = Vec::new();
        if let Some(r) = s.readers.get_mut(reader) {
            r.ledger.rollback(|c| freed.push(c));
        }
        for c in freed {
            s.unref(c);
        }
    }

    /// Takes back what readers have released.
    pub fn reclaim_now(&self) {
        self.state().reclaim();
    }

    /// Chunks held now (by loans and readers).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn in_use(&self) -> usize {
        self.state().refs.iter().filter(|&&r| r > 0).count()
    }

    /// Chunks held once what readers have released, or hold no more
    /// (gone), is taken back: the tests' leak check.
    pub fn held(&self) -> usize {
        self.reclaim_now();
        self.in_use()
    }
}

/// A chunk being filled (or shared out): one reference, dropped with it.
pub(crate) struct Chunk {
    pool: Arc<ChunkPool>,
    global: u32,
    class: u32,
    index: u32,
    generation: u64,
    offset: usize,
    len: usize,
}

impl Chunk {
    /// The frame's bytes, to write in place.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `offset..offset + size` is this chunk's span inside the
        // mapping (from `layout`) and `len <= size`; the chunk was free, so
        // no reader holds it, and this `Chunk` is its only writer until it
        // is dropped; peers can only map the pool read-only.
        unsafe {
            std::slice::from_raw_parts_mut(self.pool.seg.base().as_ptr().add(self.offset), self.len)
        }
    }

    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: as in `bytes_mut`.
        unsafe {
            std::slice::from_raw_parts(self.pool.seg.base().as_ptr().add(self.offset), self.len)
        }
    }

    /// The chunk's start, for a writer that lays out records itself (a
    /// chain's segment): [`len`](Self::len) bytes, written only by this
    /// handle's owner, read by peers once published.
    pub fn as_ptr(&self) -> *mut u8 {
        // SAFETY: `offset` lies inside the mapping (from `layout`).
        unsafe { self.pool.seg.base().as_ptr().add(self.offset) }
    }

    /// The 8-byte word at `off` within the chunk, as an atomic: a chain's
    /// record header, which its reader polls.
    ///
    /// # Panics
    /// If `off` is not 8-aligned or the word is not within the chunk.
    pub fn word(&self, off: usize) -> &AtomicU64 {
        assert!(off % 8 == 0 && off + 8 <= self.len, "word {off} of a chunk");
        // SAFETY: inside the chunk (checked), 8-aligned (chunk offsets are
        // multiples of 8: HEAD_LEN and every class size are); the mapping
        // lives as long as `self.pool`; any bit pattern is an AtomicU64.
        unsafe { &*self.as_ptr().add(off).cast::<AtomicU64>() }
    }

    /// Shrinks the frame to `len` bytes (a loan committed shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The descriptor naming this chunk's frame.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            class: self.class,
            index: self.index,
            generation: self.generation,
            len: self.len as u64,
        }
    }

    /// The pool it belongs to.
    pub fn pool(&self) -> &Arc<ChunkPool> {
        &self.pool
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.pool.state().unref(self.global);
    }
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("class", &self.class)
            .field("index", &self.index)
            .field("len", &self.len)
            .finish()
    }
}

/// The smallest frame class whose chunks take `len` bytes.
fn class_for(len: usize) -> Option<usize> {
    CLASSES[..FRAME_CLASSES]
        .iter()
        .position(|&(size, _)| size >= len)
}

/// A socket's pool, made on first use (`None` inside: the system refused
/// one). Shared by the socket and its pipes' ends, which make it when a
/// frame too large for a ring comes along.
#[derive(Clone, Default)]
pub(crate) struct PoolSlot(Arc<std::sync::OnceLock<Option<Arc<ChunkPool>>>>);

impl PoolSlot {
    /// The pool, made now if it is the first call.
    pub fn get_or_make(&self) -> Option<&Arc<ChunkPool>> {
        self.0
            .get_or_init(|| ChunkPool::create().ok().map(Arc::new))
            .as_ref()
    }

    /// The pool, if it has been made.
    pub fn existing(&self) -> Option<&Arc<ChunkPool>> {
        self.0.get()?.as_ref()
    }
}

/// A peer's pool, mapped read-only, as its reader.
pub(crate) struct PeerPool {
    seg: Segment,
}

impl PeerPool {
    /// Maps the pool a peer sent.
    pub fn open(fd: OwnedFd) -> io::Result<PeerPool> {
        let seg = Segment::open_read_only(fd, segment_len())?;
        let mut magic = [0u8; 8];
        // SAFETY: the mapping is longer than 8 bytes; any bytes may be
        // copied out, and only the copy is compared.
        unsafe {
            seg.base()
                .as_ptr()
                .copy_to_nonoverlapping(magic.as_mut_ptr(), 8)
        };
        if magic != *MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a zeroring chunk pool",
            ));
        }
        Ok(PeerPool { seg })
    }

    /// Where the frame a descriptor names lies: `(offset, len)` within the
    /// mapping, checked against the layout and the chunk's generation.
    pub fn resolve(&self, payload: &[u8]) -> Result<(usize, usize), Corrupt> {
        let d = Descriptor::decode(payload).ok_or(Corrupt)?;
        let global = d.global().ok_or(Corrupt)?;
        // SAFETY: `global < CHUNKS`, so the word lies in the header, inside
        // the mapping and 8-aligned; it holds any bit pattern.
        let word = unsafe {
            &*self
                .seg
                .base()
                .as_ptr()
                .add(GEN_OFFSET + 8 * global)
                .cast::<AtomicU64>()
        };
        if word.load(Ordering::Relaxed) != d.generation {
            return Err(Corrupt);
        }
        let (offset, _, _) = layout(global).ok_or(Corrupt)?;
        Ok((offset, d.len as usize))
    }

    /// Where the segment a LINK or NEXT record's descriptor names starts
    /// within the mapping: checked as [`resolve`](Self::resolve) checks,
    /// and it must be a whole segment.
    pub fn resolve_segment(&self, payload: &[u8]) -> Result<usize, Corrupt> {
        let d = Descriptor::decode(payload).ok_or(Corrupt)?;
        if d.class as usize != SEGMENT_CLASS || d.len != SEGMENT_LEN as u64 {
            return Err(Corrupt);
        }
        self.resolve(payload).map(|(offset, _)| offset)
    }

    /// The word at `offset` within the mapping (a chain's record header),
    /// as an atomic to poll.
    ///
    /// # Panics
    /// If `offset` is not 8-aligned or the word is outside the mapping.
    pub fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset % 8 == 0 && offset + 8 <= self.seg.len());
        // SAFETY: inside the mapping (checked) and 8-aligned; it lives as
        // long as `self`; any bit pattern is an AtomicU64, and a read-only
        // mapping is only ever loaded from.
        unsafe { &*self.seg.base().as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// The bytes at a span [`resolve`](Self::resolve) returned.
    pub fn slice(&self, offset: usize, len: usize) -> &[u8] {
        debug_assert!(offset + len <= self.seg.len());
        // SAFETY: `resolve` placed `offset..offset + len` inside one chunk
        // of the mapping, which lives as long as `self`. The writer does
        // not rewrite a chunk until our ring releases its descriptor (see
        // the ledger), which happens only after the borrow ends; a hostile
        // writer can garble these bytes, never move them out of bounds.
        unsafe { std::slice::from_raw_parts(self.seg.base().as_ptr().add(offset), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::ring;

    fn pair() -> (Arc<ChunkPool>, PeerPool) {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let fd = pool.fd().try_clone_to_owned().unwrap();
        (pool, PeerPool::open(fd).unwrap())
    }

    #[test]
    fn a_chunk_goes_back_when_its_reader_releases_it() {
        let (pool, peer) = pair();
        let (mut tx, mut rx) = ring::ring(4096);
        let reader = pool.register(tx.head_watch(), Box::new(|| false));
        let mut chunk = pool.alloc(100_000).unwrap().unwrap();
        chunk.bytes_mut().fill(7);
        chunk.descriptor().encode(tx.claim(DESC_LEN).unwrap());
        tx.commit(DESC_LEN, ring::DESCRIPTOR);
        tx.publish();
        pool.sent(reader, &chunk, tx.position(), Some(tx.published_position()));
        drop(chunk);
        assert_eq!(pool.in_use(), 1);
        let rec = rx.peek().unwrap().unwrap();
        let (off, len) = peer.resolve(rx.payload(&rec)).unwrap();
        assert_eq!(len, 100_000);
        assert!(peer.slice(off, len).iter().all(|&b| b == 7));
        rx.advance(rec);
        // Not released yet: nothing comes back.
        pool.state().reclaim();
        assert_eq!(pool.in_use(), 1);
        rx.release();
        pool.state().reclaim();
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn a_gone_reader_gives_back_everything() {
        let (pool, _peer) = pair();
        let (mut tx, _rx) = ring::ring(4096);
        let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let g = gone.clone();
        let reader = pool.register(tx.head_watch(), Box::new(move || g.load(Ordering::Relaxed)));
        // Every 64 KiB chunk is sent and never read.
        while let Ok(Some(chunk)) = pool.alloc(50_000) {
            tx.claim(DESC_LEN).unwrap();
            tx.commit(DESC_LEN, ring::DESCRIPTOR);
            tx.publish();
            pool.sent(reader, &chunk, tx.position(), Some(tx.published_position()));
        }
        assert_eq!(pool.in_use(), 64);
        gone.store(true, Ordering::Relaxed);
        let fresh = pool.alloc(50_000).unwrap();
        assert!(fresh.is_some());
        assert_eq!(pool.in_use(), 1, "only the new chunk");
    }

    #[test]
    fn bad_descriptors_are_refused() {
        let (pool, peer) = pair();
        let chunk = pool.alloc(1 << 20).unwrap().unwrap();
        let good = chunk.descriptor();
        let enc = |d: Descriptor| {
            let mut b = [0u8; DESC_LEN];
            d.encode(&mut b);
            b
        };
        assert!(peer.resolve(&enc(good)).is_ok());
        for bad in [
            Descriptor { class: 6, ..good },
            Descriptor { index: 32, ..good },
            Descriptor {
                len: (1 << 20) + 1,
                ..good
            },
            Descriptor {
                generation: 99,
                ..good
            },
        ] {
            assert_eq!(peer.resolve(&enc(bad)), Err(Corrupt), "{bad:?}");
        }
        assert_eq!(peer.resolve(&[0; 8]), Err(Corrupt));
        assert!(pool.alloc(CHUNK_MAX + 1).is_err());
    }

    /// How many of the pages of `len` bytes at `ptr` (page-aligned) are
    /// resident.
    fn resident_pages(ptr: *mut u8, len: usize) -> usize {
        let mut vec = vec![0u8; len.div_ceil(4096)];
        // SAFETY: `ptr..ptr + len` lies in a live mapping (a chunk of a
        // pool the caller holds), page-aligned; `vec` has a byte per page.
        let rc = unsafe { libc::mincore(ptr.cast(), len, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", io::Error::last_os_error());
        vec.iter().filter(|&&b| b & 1 != 0).count()
    }

    #[test]
    fn freed_chunks_beyond_the_warm_budget_give_their_pages_back() {
        let pool = Arc::new(ChunkPool::create().unwrap());
        let pages = CHUNK_MAX / 4096;
        let mut a = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        let mut b = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        a.bytes_mut().fill(1);
        b.bytes_mut().fill(2);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        assert_eq!(resident_pages(pb, CHUNK_MAX), pages);
        drop(a);
        drop(b);
        // One stays warm for the next large frame; the other went back.
        assert_eq!(resident_pages(pa, CHUNK_MAX), pages);
        assert_eq!(resident_pages(pb, CHUNK_MAX), 0);
        // The warm one goes out first, then cold ones.
        let a = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        assert_eq!(a.as_ptr(), pa);
        let b = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        assert_eq!(resident_pages(b.as_ptr(), CHUNK_MAX), 0);
        drop((a, b));
        // Small chunks fit the budget: they stay warm.
        let pool = Arc::new(ChunkPool::create().unwrap());
        let mut small: Vec<Chunk> = (0..32)
            .map(|_| pool.alloc(100_000).unwrap().unwrap())
            .collect();
        small.iter_mut().for_each(|c| c.bytes_mut().fill(3));
        let ptrs: Vec<_> = small.iter().map(Chunk::as_ptr).collect();
        drop(small);
        for p in ptrs {
            assert_eq!(resident_pages(p, 100_000), 100_000usize.div_ceil(4096));
        }
    }

    #[test]
    fn a_pool_shared_with_peers_keeps_its_pages() {
        let (pool, _peer) = pair();
        let mut a = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        let mut b = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        a.bytes_mut().fill(1);
        b.bytes_mut().fill(2);
        let pb = b.as_ptr();
        drop((a, b));
        assert_eq!(resident_pages(pb, CHUNK_MAX), CHUNK_MAX / 4096);
        let b = pool.alloc(CHUNK_MAX).unwrap().unwrap();
        assert!(b.bytes().iter().all(|&x| x == 2 || x == 1));
    }

    #[test]
    fn peers_cannot_map_the_pool_writable() {
        let (pool, _) = pair();
        let fd = pool.fd().try_clone_to_owned().unwrap();
        assert!(memmap2::MmapOptions::new()
            .len(segment_len())
            .map_raw(&fd)
            .is_err());
    }
}
