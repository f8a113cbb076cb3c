//! The shared-memory upgrade of an ipc connection between two zeroring
//! sockets.
//!
//! 1. Each side's READY carries [`PROPERTY`], an [`Offer`]: protocol
//!    version, how its doorbells fence, its receive limit and ring size.
//!    libzmq ignores it; a side that sees none stays with ZMTP.
//! 2. When both offered compatibly, neither starts a ZMTP session. The
//!    connecter creates the pipe segment ([`PipeSegment`]: a header, then
//!    ring 0 (connecter to binder) and ring 1) and sends a [`MSG_LEN`]-byte
//!    message with the segment and its socket's doorbell segment attached
//!    (SCM_RIGHTS); the binder sends one with its doorbell segment. Each
//!    also attaches its socket's chunk pool (see [`pool`](super::pool)),
//!    mapped read-only by the other, for frames too large for a ring.
//! 3. Each socket then gets a pipe end over the shared rings, which rings
//!    the peer's doorbell; frames never touch the unix socket again. The
//!    socket stays open for liveness only: its end (the peer exited or was
//!    killed) closes the pipe, after what was published is read.
//!
//! Thread-safe sockets make the same exchange with an offer and a segment
//! of their own (multi-producer rings, see
//! [`mpsc_segment`](super::mpsc_segment)).
//!
//! Nothing read from a peer's segment is trusted: the segment's size gives
//! the ring size (the header's copy is only compared), the rings validate
//! every cursor and record, and a doorbell holds only atomics.

use super::segment::Segment;
use crate::pipe::doorbell::Doorbell;
use crate::pipe::ring::{self, Consumer, Producer};
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// The READY property announcing shared-memory pipes.
pub(crate) const PROPERTY: &str = "X-ZR-Shm";
/// The offer's own format (3: the ring's layout version follows it; 4:
/// the pipe segment's head carries each reader's RCVHWM).
const VERSION: u8 = 4;
/// Offer flag: this process's doorbell writers rely on membarrier (their
/// fence is a compiler fence). Both sides must agree, or a sleeper could
/// miss a wake-up: the fences pair across processes.
const FLAG_MEMBARRIER: u8 = 1;
/// Smallest and largest ring a peer may ask for.
const MIN_RING: u64 = 4096;
const MAX_RING: u64 = 1 << 31;

/// This process's offer flags (the thread-safe sockets' offer carries
/// them too).
pub(crate) fn our_flags() -> u8 {
    if crate::sync::barrier::asymmetric() {
        FLAG_MEMBARRIER
    } else {
        0
    }
}

/// Whether a ring size a peer asks for is one we take.
pub(crate) fn ring_size_ok(cap: u64) -> bool {
    cap.is_power_of_two() && (MIN_RING..=MAX_RING).contains(&cap)
}

/// What one side offers in its READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    flags: u8,
    /// The side's RCVHWM (0: none): the sender's limit adds it, as the
    /// receiving queue of libzmq's would.
    pub rcvhwm: u64,
    /// The ring size the side would use.
    pub ring_capacity: u64,
}

impl Offer {
    /// This process's offer for a socket with these options.
    pub fn ours(rcvhwm: u64, ring_capacity: usize) -> Offer {
        Offer {
            flags: our_flags(),
            rcvhwm,
            ring_capacity: ring_capacity as u64,
        }
    }

    /// The property's value: version, the ring's layout version, flags,
    /// RCVHWM and ring size (u64 big-endian). Two builds whose rings are
    /// laid out differently refuse each other's offers and stay with ZMTP.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![VERSION, ring::LAYOUT_VERSION, self.flags];
        v.extend_from_slice(&self.rcvhwm.to_be_bytes());
        v.extend_from_slice(&self.ring_capacity.to_be_bytes());
        v
    }

    /// A peer's offer, if well-formed and of our version and ring layout.
    pub fn decode(v: &[u8]) -> Option<Offer> {
        let [VERSION, ring::LAYOUT_VERSION, flags, rest @ ..] = v else {
            return None;
        };
        let (hwm, cap) = rest.split_at_checked(8)?;
        let offer = Offer {
            flags: *flags,
            rcvhwm: u64::from_be_bytes(hwm.try_into().ok()?),
            ring_capacity: u64::from_be_bytes(cap.try_into().ok()?),
        };
        ring_size_ok(offer.ring_capacity).then_some(offer)
    }

    /// Whether the two offers allow shared memory.
    pub fn compatible(&self, peer: &Offer) -> bool {
        self.flags == peer.flags
    }

    /// The ring size both use: the larger wish.
    pub fn ring_with(&self, peer: &Offer) -> usize {
        self.ring_capacity.max(peer.ring_capacity) as usize
    }
}

/// The attach message: magic, which side sent it, and its flags.
pub(crate) const MSG_LEN: usize = 16;
pub(crate) const MAGIC: &[u8; 8] = b"ZRSHM\0\0\x02";
/// Attach flag: the sender's chunk pool is the last descriptor attached
/// (see [`pool`](super::pool)); without it, the sender writes no chunks.
pub(crate) const WITH_POOL: u8 = 1;
/// From the connecter, with the pipe segment and its doorbell.
pub(crate) const FROM_CONNECTER: u8 = 1;
/// From the binder, with its doorbell.
pub(crate) const FROM_BINDER: u8 = 2;

/// The attach message sent by `from`, with `flags`.
pub(crate) fn message(from: u8, flags: u8) -> [u8; MSG_LEN] {
    let mut m = [0; MSG_LEN];
    m[..8].copy_from_slice(MAGIC);
    m[8] = from;
    m[9] = flags;
    m
}

/// Who sent an attach message, and its flags, if it is one.
pub(crate) fn parse_message(m: &[u8]) -> Option<(u8, u8)> {
    let ok = m.len() == MSG_LEN
        && m[..8] == *MAGIC
        && m[9] & !WITH_POOL == 0
        && m[10..].iter().all(|&b| b == 0);
    ok.then(|| (m[8], m[9]))
}

/// The pipe segment's first bytes: a magic and the ring size, for a
/// recognisable layout (the receiver computes the size from the segment's
/// length and only compares); at [`MARKS_AT`], a word per ring.
const HEAD_LEN: usize = 128;
/// Where in the head the reader of ring `i` publishes its RCVHWM (plus
/// one; zero: as offered) for the ring's writer, in word `i`.
const MARKS_AT: usize = 64;

/// The pipe segment's size for rings of `capacity` bytes.
pub(crate) fn segment_len(capacity: usize) -> usize {
    HEAD_LEN + 2 * ring::span(capacity)
}

/// Two rings in one segment: ring 0 carries connecter to binder, ring 1
/// the other way.
pub(crate) struct PipeSegment {
    seg: Arc<Segment>,
    capacity: usize,
}

impl PipeSegment {
    /// A new segment for rings of `capacity` bytes, and its descriptor.
    pub fn create(capacity: usize) -> io::Result<(PipeSegment, OwnedFd)> {
        let (seg, fd) = Segment::create(c"zeroring-pipe", segment_len(capacity))?;
        let head = seg.base().as_ptr();
        // SAFETY: the new mapping is at least HEAD_LEN bytes, page-aligned,
        // and nobody else has it yet.
        unsafe {
            head.copy_from_nonoverlapping(MAGIC.as_ptr(), 8);
            head.add(8).cast::<u64>().write((capacity as u64).to_le());
        }
        Ok((
            PipeSegment {
                seg: Arc::new(seg),
                capacity,
            },
            fd,
        ))
    }

    /// Maps the segment a connecter sent, which must hold rings of
    /// `capacity` bytes.
    pub fn open(fd: OwnedFd, capacity: usize) -> io::Result<PipeSegment> {
        let seg = Segment::open(fd, segment_len(capacity))?;
        let head = seg.base().as_ptr();
        let mut found = [0u8; 16];
        // SAFETY: the mapping is segment_len(capacity) > 16 bytes; bytes of
        // any value are fine to copy out (the peer may change them after,
        // but we only compare this copy).
        unsafe { head.copy_to_nonoverlapping(found.as_mut_ptr(), 16) };
        if found[..8] != *MAGIC || found[8..] != (capacity as u64).to_le_bytes() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a zeroring pipe segment",
            ));
        }
        Ok(PipeSegment {
            seg: Arc::new(seg),
            capacity,
        })
    }

    /// Side `side`'s words for RCVHWM: ours (that of the reader of ring
    /// `1 - side`) and the peer's (ring `side`'s reader).
    pub fn marks(&self, side: usize) -> crate::pipe::RemoteMarks {
        let word = |i: usize| {
            // SAFETY: MARKS_AT + 16 <= HEAD_LEN, inside the page-aligned
            // mapping, so each word is in bounds and 8-aligned.
            unsafe {
                std::ptr::NonNull::new_unchecked(
                    self.seg.base().as_ptr().add(MARKS_AT + 8 * i).cast(),
                )
            }
        };
        // SAFETY: both words lie in the mapping, which the segment's Arc
        // keeps; they are only ever accessed atomically.
        unsafe { crate::pipe::RemoteMarks::new(word(1 - side), word(side), self.seg.clone()) }
    }

    /// Side `side`'s ends (0: the connecter): it writes ring `side` and
    /// reads the other. Each process takes one side, once.
    pub fn ends(&self, side: usize) -> (Producer, Consumer) {
        let ring_at = |i: usize| {
            // SAFETY: ring i starts at HEAD_LEN + i * span, inside the
            // segment (its length is segment_len(capacity)).
            unsafe {
                std::ptr::NonNull::new_unchecked(
                    self.seg
                        .base()
                        .as_ptr()
                        .add(HEAD_LEN + i * ring::span(self.capacity)),
                )
            }
        };
        let mem = || -> Arc<dyn Send + Sync> { self.seg.clone() };
        // SAFETY: the segment is page-aligned and HEAD_LEN and span() are
        // multiples of 128, so each ring is 128-aligned; both rings lie
        // within the mapping, which `mem` keeps; this side makes one
        // producer of its ring and one consumer of the other (the peer
        // process the opposite), and the rings validate what the peer writes.
        unsafe {
            (
                ring::producer_in(ring_at(side), self.capacity, mem()),
                ring::consumer_in(ring_at(1 - side), self.capacity, mem()),
            )
        }
    }
}

/// A doorbell segment: one page, the doorbell's words at its start.
pub(crate) const BELL_LEN: usize = 4096;

/// A socket's own doorbell in a segment of its own (so peers in other
/// processes can ring it), and the segment's descriptor to pass to them.
/// `None` if the system will not make one; the socket then uses a heap
/// doorbell and its ipc connections stay ZMTP.
pub(crate) fn socket_bell() -> Option<(Doorbell, OwnedFd)> {
    let (seg, fd) = Segment::create(c"zeroring-bell", BELL_LEN).ok()?;
    let seg = Arc::new(seg);
    let bell = Doorbell::in_mapping(seg.base(), seg.len(), seg.clone(), true)?;
    Some((bell, fd))
}

/// A peer socket's doorbell, from the segment it sent.
pub(crate) fn peer_bell(fd: OwnedFd) -> io::Result<Doorbell> {
    let seg = Arc::new(Segment::open(fd, BELL_LEN)?);
    Doorbell::in_mapping(seg.base(), seg.len(), seg.clone(), false)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad doorbell segment"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn offers_round_trip_and_bad_ones_are_refused() {
        let o = Offer::ours(1000, 1 << 18);
        assert_eq!(Offer::decode(&o.encode()), Some(o));
        let mut bad = o.encode();
        bad[0] = 2;
        assert_eq!(Offer::decode(&bad), None, "other version");
        let mut bad = o.encode();
        bad[1] = ring::LAYOUT_VERSION - 1;
        assert_eq!(Offer::decode(&bad), None, "other ring layout");
        assert_eq!(Offer::decode(&o.encode()[..10]), None, "short");
        let mut odd = Offer::ours(0, 4096);
        odd.ring_capacity = 5000;
        assert_eq!(Offer::decode(&odd.encode()), None, "not a power of two");
        odd.ring_capacity = 1 << 40;
        assert_eq!(Offer::decode(&odd.encode()), None, "too large");
    }

    #[test]
    fn messages() {
        assert_eq!(
            parse_message(&message(FROM_BINDER, 0)),
            Some((FROM_BINDER, 0))
        );
        assert_eq!(
            parse_message(&message(FROM_BINDER, WITH_POOL)),
            Some((FROM_BINDER, WITH_POOL))
        );
        assert_eq!(parse_message(&message(FROM_BINDER, 2)), None);
        let mut m = message(FROM_CONNECTER, 0);
        m[12] = 1;
        assert_eq!(parse_message(&m), None);
        assert_eq!(parse_message(&m[..8]), None);
    }

    #[test]
    fn both_sides_of_a_segment_talk() {
        let (a, fd) = PipeSegment::create(4096).unwrap();
        let dup = fd.as_fd().try_clone_to_owned().unwrap();
        assert!(PipeSegment::open(dup, 8192).is_err(), "wrong size");
        let b = PipeSegment::open(fd, 4096).unwrap();
        let (mut atx, mut arx) = a.ends(0);
        let (mut btx, mut brx) = b.ends(1);
        atx.claim(3).unwrap().copy_from_slice(b"a2b");
        atx.commit(3, 0);
        atx.publish();
        btx.claim(3).unwrap().copy_from_slice(b"b2a");
        btx.commit(3, 0);
        btx.publish();
        let rec = brx.peek().unwrap().unwrap();
        assert_eq!(brx.payload(&rec), b"a2b");
        let rec = arx.peek().unwrap().unwrap();
        assert_eq!(arx.payload(&rec), b"b2a");
    }

    #[test]
    fn bells_ring_across_mappings() {
        let (own, fd) = socket_bell().unwrap();
        let peer = peer_bell(fd).unwrap();
        let flag = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                flag.store(true, std::sync::atomic::Ordering::Release);
                peer.ring();
            });
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while own
                .sleep_until(Some(std::time::Duration::from_secs(1)), || {
                    flag.load(std::sync::atomic::Ordering::Acquire)
                        .then_some(())
                })
                .is_none()
            {
                assert!(std::time::Instant::now() < deadline);
            }
        });
    }
}
