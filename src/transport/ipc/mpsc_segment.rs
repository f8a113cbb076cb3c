//! The shared memory of an ipc connection between two thread-safe sockets
//! (CLIENT/SERVER, RADIO/DISH, SCATTER/GATHER): one memfd holding a
//! multi-producer ring per direction, and per direction the words a
//! thread-safe [`Pipe`](crate::threadsafe::pipe::Pipe) shares between its
//! writers and its reader.
//!
//! The handshake is the classic upgrade's (see [`shm`](super::shm)), with
//! an offer of its own ([`PROPERTY`]) that only thread-safe sockets make
//! and look for, so a classic socket and a thread-safe one never mix
//! layouts, and a peer of another build, version or kind (libzmq) stays
//! with ZMTP. Only the segment created and what the sockets get at the
//! end differ. A socket that writes to its peer passes its chunk pool, as
//! a classic one does: messages above `CHUNK_MIN` go there (see
//! `threadsafe::chunks`).
//!
//! Layout (offsets from the segment's page-aligned start):
//!
//! ```text
//! 0            head: MAGIC, ring size (u64 LE), mpsc::LAYOUT_VERSION
//! HEAD_LEN     words of direction 0 (connecter to binder), then of 1
//! RINGS_AT     ring 0 (mpsc::span(capacity) bytes), then ring 1
//! ```
//!
//! Each direction's [`PipeWords`]: `received` (messages its reader has
//! released, which its writers compare with their own count of what they
//! sent: the high-water mark in messages across processes) and `closed`
//! (either side has gone), each on its own cache line. What the writers
//! alone read and write (`sent`) stays in their process.
//!
//! The connecter creates the segment, sealed at its size as every
//! [`Segment`] is; the binder opens it, computing every offset from the
//! ring size it agreed in the handshake and only comparing the head's
//! copy. Nothing read from the segment is trusted: the rings validate
//! every cursor and record (see [`mpsc`]), `received` only moves a
//! writer's view of the mark (a lie costs the liar's own backpressure,
//! never memory safety), and any `closed` value but zero means closed.

use super::segment::Segment;
use super::shm;
use crate::pipe::mpsc::{self, Consumer, Producer};
use crate::threadsafe::pipe::{PipeWords, Words};
use std::io;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::Arc;

/// The READY property announcing shared multi-producer pipes.
pub(crate) const PROPERTY: &str = "X-ZR-Mpsc";
/// The offer's own format (2: writers pass their chunk pool).
const VERSION: u8 = 2;

/// What one side offers in its READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    flags: u8,
    /// The side's SNDHWM and RCVHWM (0: none): a direction's mark is its
    /// writer's SNDHWM plus its reader's RCVHWM, as the two queues of a
    /// ZMTP connection would hold.
    pub sndhwm: u64,
    pub rcvhwm: u64,
    /// The ring size the side would use.
    pub ring_capacity: u64,
}

impl Offer {
    /// This process's offer for a socket with these options.
    pub fn ours(sndhwm: u64, rcvhwm: u64, ring_capacity: usize) -> Offer {
        // The classic offer's flags: the doorbells' fences pair across
        // processes.
        Offer {
            flags: shm::our_flags(),
            sndhwm,
            rcvhwm,
            ring_capacity: ring_capacity as u64,
        }
    }

    /// The property's value: version, the ring's layout version, flags,
    /// then SNDHWM, RCVHWM and ring size (u64 big-endian).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![VERSION, mpsc::LAYOUT_VERSION, self.flags];
        for x in [self.sndhwm, self.rcvhwm, self.ring_capacity] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    /// A peer's offer, if well-formed and of our version and ring layout.
    pub fn decode(v: &[u8]) -> Option<Offer> {
        let [VERSION, mpsc::LAYOUT_VERSION, flags, rest @ ..] = v else {
            return None;
        };
        if rest.len() != 24 {
            return None;
        }
        let word = |i: usize| u64::from_be_bytes(rest[i * 8..i * 8 + 8].try_into().expect("8"));
        let offer = Offer {
            flags: *flags,
            sndhwm: word(0),
            rcvhwm: word(1),
            ring_capacity: word(2),
        };
        shm::ring_size_ok(offer.ring_capacity).then_some(offer)
    }

    /// Whether the two offers allow shared memory.
    pub fn compatible(&self, peer: &Offer) -> bool {
        self.flags == peer.flags
    }

    /// The ring size both use: the larger wish.
    pub fn ring_with(&self, peer: &Offer) -> usize {
        self.ring_capacity.max(peer.ring_capacity) as usize
    }

    /// The mark of the direction from `writer` to `reader` (0: none).
    pub fn mark(writer: &Offer, reader: &Offer) -> u64 {
        match (writer.sndhwm, reader.rcvhwm) {
            (0, _) | (_, 0) => 0,
            (s, r) => s.saturating_add(r),
        }
    }
}

/// The segment's first bytes.
const MAGIC: &[u8; 8] = b"ZRMPSC\0\x01";
/// The head: magic, ring size, layout version; a line of its own.
const HEAD_LEN: usize = 128;
/// Bytes of one direction's words, rounded up to whole 128-byte lines.
const WORDS_LEN: usize = (std::mem::size_of::<PipeWords>() + 127) & !127;
/// Where ring 0 starts.
const RINGS_AT: usize = HEAD_LEN + 2 * WORDS_LEN;
/// Owner ids in the rings' claims: the connecter's threads and the
/// binder's. The reader of a ring blames a dead peer's abandoned claim by
/// the other side's id ([`Side::peer_owner`]).
const OWNERS: [u16; 2] = [1, 2];

/// The segment's size for rings of `capacity` bytes.
pub(crate) fn segment_len(capacity: usize) -> usize {
    RINGS_AT + 2 * mpsc::span(capacity)
}

/// Two multi-producer rings and their pipes' words in one segment.
#[derive(Clone)]
pub(crate) struct MpscSegment {
    seg: Arc<Segment>,
    capacity: usize,
}

/// One side's view of a segment: what it writes and what it reads.
pub(crate) struct Side {
    /// The ring this side's threads publish into (owner id: this side's).
    pub tx: Producer,
    /// The words of the direction this side writes.
    pub tx_words: Words,
    /// The ring this side's socket reads.
    pub rx: Consumer,
    /// The words of the direction this side reads.
    pub rx_words: Words,
    /// The owner id in the claims of the peer's threads.
    pub peer_owner: u16,
}

impl MpscSegment {
    /// A new segment for rings of `capacity` bytes (a power of two the
    /// rings accept), and its descriptor to pass to the binder.
    pub fn create(capacity: usize) -> io::Result<(MpscSegment, OwnedFd)> {
        if !capacity.is_power_of_two() || !(mpsc::MIN_CAPACITY..=1 << 31).contains(&capacity) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ring size must be a power of two in [64, 2^31]",
            ));
        }
        let (seg, fd) = Segment::create(c"zeroring-mpsc", segment_len(capacity))?;
        let head = seg.base().as_ptr();
        // SAFETY: the new mapping is at least HEAD_LEN bytes, page-aligned,
        // and nobody else has it yet.
        unsafe {
            head.copy_from_nonoverlapping(MAGIC.as_ptr(), 8);
            head.add(8).cast::<u64>().write((capacity as u64).to_le());
            head.add(16).write(mpsc::LAYOUT_VERSION);
        }
        Ok((
            MpscSegment {
                seg: Arc::new(seg),
                capacity,
            },
            fd,
        ))
    }

    /// Maps the segment a connecter sent, which must hold rings of
    /// `capacity` bytes (as agreed) laid out as ours are.
    pub fn open(fd: OwnedFd, capacity: usize) -> io::Result<MpscSegment> {
        let invalid = || io::Error::new(io::ErrorKind::InvalidData, "not a zeroring mpsc segment");
        if !capacity.is_power_of_two() || !(mpsc::MIN_CAPACITY..=1 << 31).contains(&capacity) {
            return Err(invalid());
        }
        let seg = Segment::open(fd, segment_len(capacity))?;
        let mut found = [0u8; 17];
        // SAFETY: the mapping is longer than 17 bytes; bytes of any value
        // are fine to copy out (the peer may change them after, but only
        // this copy is compared).
        unsafe {
            seg.base()
                .as_ptr()
                .copy_to_nonoverlapping(found.as_mut_ptr(), 17)
        };
        if found[..8] != *MAGIC
            || found[8..16] != (capacity as u64).to_le_bytes()
            || found[16] != mpsc::LAYOUT_VERSION
        {
            return Err(invalid());
        }
        Ok(MpscSegment {
            seg: Arc::new(seg),
            capacity,
        })
    }

    fn words(&self, dir: usize) -> Words {
        // SAFETY: HEAD_LEN + dir * WORDS_LEN + WORDS_LEN <= RINGS_AT lies
        // inside the mapping; the offset is a multiple of 128 from a
        // page-aligned base, enough for PipeWords' alignment; the mapping
        // stays while the segment's Arc does, and the words are atomics
        // that both processes access only atomically.
        unsafe {
            let at = self.seg.base().as_ptr().add(HEAD_LEN + dir * WORDS_LEN);
            Words::in_mapping(NonNull::new_unchecked(at).cast(), self.seg.clone())
        }
    }

    fn ring(&self, dir: usize) -> NonNull<u8> {
        // SAFETY: ring `dir` starts at RINGS_AT + dir * span, and it and its
        // span lie inside the segment (of segment_len(capacity) bytes).
        unsafe {
            NonNull::new_unchecked(
                self.seg
                    .base()
                    .as_ptr()
                    .add(RINGS_AT + dir * mpsc::span(self.capacity)),
            )
        }
    }

    /// Side `side`'s ends (0: the connecter): it writes direction `side`
    /// and reads the other. Each process takes one side, once (the
    /// ring's one consumer).
    pub fn side(&self, side: usize) -> Side {
        let side = side & 1;
        let mem = || -> Arc<dyn Send + Sync> { self.seg.clone() };
        // SAFETY: both rings lie inside the mapping, which `mem` keeps, at
        // offsets that are multiples of 128 from a page-aligned base (the
        // head and words are whole lines, span() a multiple of 128); the
        // capacity was checked at create or open. This side makes the one
        // consumer of ring `1 - side` (the peer process consumes the
        // other), and the rings validate whatever the peer writes.
        let (tx, rx) = unsafe {
            (
                mpsc::producer_in(self.ring(side), self.capacity, mem(), OWNERS[side]),
                mpsc::consumer_in(self.ring(1 - side), self.capacity, mem()),
            )
        };
        Side {
            tx,
            tx_words: self.words(side),
            rx,
            rx_words: self.words(1 - side),
            peer_owner: OWNERS[1 - side],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn both_sides_talk_through_their_own_mappings() {
        let (a, fd) = MpscSegment::create(4096).unwrap();
        let b = MpscSegment::open(fd, 4096).unwrap();
        let (mut a, mut b) = (a.side(0), b.side(1));
        a.tx.push(b"a2b").unwrap();
        b.tx.push(b"b2a").unwrap();
        let rec = b.rx.peek().unwrap().unwrap();
        assert_eq!(b.rx.payload(&rec), b"a2b");
        let rec = a.rx.peek().unwrap().unwrap();
        assert_eq!(a.rx.payload(&rec), b"b2a");
        assert_eq!((a.tx.owner(), a.peer_owner), (1, 2));
        assert_eq!((b.tx.owner(), b.peer_owner), (2, 1));
    }

    #[test]
    fn the_wrong_size_or_layout_is_refused() {
        let (a, fd) = MpscSegment::create(4096).unwrap();
        let dup = || fd.as_fd().try_clone_to_owned().unwrap();
        assert!(MpscSegment::open(dup(), 8192).is_err(), "other size");
        assert!(
            MpscSegment::open(dup(), 5000).is_err(),
            "not a power of two"
        );
        assert!(MpscSegment::create(5000).is_err());
        // A head that says another layout (or another kind of segment).
        // SAFETY: byte 16 of our own mapping; nobody else uses it.
        unsafe {
            a.seg
                .base()
                .as_ptr()
                .add(16)
                .write(mpsc::LAYOUT_VERSION + 1)
        };
        let err = MpscSegment::open(dup(), 4096).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // A classic pipe segment of the same length is not one either.
        let (classic, cfd) = Segment::create(c"zeroring-test", segment_len(4096)).unwrap();
        drop(classic);
        assert!(MpscSegment::open(cfd, 4096).is_err());
    }

    #[test]
    fn offers_round_trip_and_bad_ones_are_refused() {
        let o = Offer::ours(1000, 500, 1 << 18);
        assert_eq!(Offer::decode(&o.encode()), Some(o));
        let mut bad = o.encode();
        bad[0] = VERSION + 1;
        assert_eq!(Offer::decode(&bad), None, "other version");
        let mut bad = o.encode();
        bad[1] = mpsc::LAYOUT_VERSION + 1;
        assert_eq!(Offer::decode(&bad), None, "other ring layout");
        assert_eq!(Offer::decode(&o.encode()[..20]), None, "short");
        let mut long = o.encode();
        long.push(0);
        assert_eq!(Offer::decode(&long), None, "long");
        let classic = shm::Offer::ours(1000, 1 << 18).encode();
        assert_eq!(Offer::decode(&classic), None, "a classic socket's");
        let mut odd = Offer::ours(0, 0, 4096);
        odd.ring_capacity = 5000;
        assert_eq!(Offer::decode(&odd.encode()), None, "not a power of two");
        assert_eq!(Offer::mark(&o, &o), 1500);
        assert_eq!(Offer::mark(&Offer::ours(0, 5, 4096), &o), 0, "no limit");
    }

    #[test]
    fn layout_keeps_lines_apart() {
        assert_eq!(WORDS_LEN % 128, 0);
        assert!(WORDS_LEN >= std::mem::size_of::<PipeWords>());
        assert_eq!(RINGS_AT % 128, 0);
        assert_eq!(segment_len(4096), RINGS_AT + 2 * mpsc::span(4096));
    }
}
