//! Entry points for the cargo-fuzz targets in `fuzz/` (built only with
//! `--cfg fuzzing`, which cargo-fuzz sets): they reach parts that are not
//! public API.

use crate::pipe::ring::{self, DESCRIPTOR};
use crate::transport::ipc::pool::{Chunk, ChunkPool, PeerPool, DESC_LEN, SEGMENT_LEN};
use std::sync::{Arc, OnceLock};

/// A pool with a few chunks stamped, and its read-only peer mapping, so
/// that some fuzzed descriptors are valid.
fn pools() -> &'static (Arc<ChunkPool>, PeerPool) {
    static POOLS: OnceLock<(Arc<ChunkPool>, PeerPool)> = OnceLock::new();
    POOLS.get_or_init(|| {
        let pool = Arc::new(ChunkPool::create().expect("chunk pool"));
        for len in [1 << 16, 1 << 20, 100] {
            if let Ok(Some(c)) = pool.alloc(len) {
                std::mem::forget(c);
            }
        }
        let fd = pool.fd().try_clone_to_owned().expect("dup");
        let peer = PeerPool::open(fd).expect("peer pool");
        (pool, peer)
    })
}

/// The reader's side of a shared ring whose records are `data`: the first
/// byte picks the region's size (64 B to 4 KiB), then the region's bytes;
/// what follows drives the consumer (peek, read, advance, release) while a
/// hostile writer rewrites words of the region (headers included: that is
/// how a record is published). DESCRIPTOR records are resolved against
/// a real peer pool. Panics only if a payload or chunk slice falls outside
/// its memory: every other outcome (records, `Corrupt`) is fine.
pub fn hostile_ring_reader(data: &[u8]) {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let capacity = ring::MIN_CAPACITY << (size % 7);
    let (region, ops) = rest.split_at(rest.len().min(capacity));
    let (mut rx, set_word) = ring::hostile(capacity, region);
    let (_, peer) = pools();
    let mut ops = ops.iter().copied();
    let word = |ops: &mut dyn Iterator<Item = u8>| {
        let mut w = [0u8; 8];
        for b in &mut w {
            *b = ops.next().unwrap_or(0);
        }
        u64::from_le_bytes(w)
    };
    for _ in 0..4096 {
        let Some(op) = ops.next() else { break };
        match op % 3 {
            0 | 1 => match rx.peek() {
                Ok(Some(rec)) => {
                    let payload = rx.payload(&rec);
                    assert_eq!(payload.len(), rec.len());
                    if rec.flags() & DESCRIPTOR != 0 {
                        if let Ok((off, len)) = peer.resolve(payload) {
                            let chunk = peer.slice(off, len);
                            // Touch both ends: out of bounds would fault.
                            std::hint::black_box((chunk.first(), chunk.last()));
                        }
                    }
                    std::hint::black_box((payload.first(), payload.last()));
                    rx.advance(rec);
                    if op % 3 == 1 {
                        rx.release();
                    }
                }
                Ok(None) | Err(_) => {}
            },
            _ => {
                let off = word(&mut ops) as usize;
                set_word(off, word(&mut ops));
            }
        }
    }
}

/// Two segments of the fuzzing pool, for chains.
fn segments() -> &'static [Chunk; 2] {
    static SEGMENTS: OnceLock<[Chunk; 2]> = OnceLock::new();
    SEGMENTS.get_or_init(|| {
        let (pool, _) = pools();
        let seg = || pool.alloc_segment().expect("a segment");
        [seg(), seg()]
    })
}

/// The reader's side of a chain: the first byte says how many 16-byte
/// units of what follows the first segment starts with (the second holds
/// the first's descriptor at its start, for NEXT records to find), the
/// rest of `data` drives the reader
/// (step, read, move on) while a hostile writer rewrites words of either
/// segment. Panics only if a payload or chunk slice falls outside its
/// memory, or the reader does not stop.
pub fn hostile_chain_reader(data: &[u8]) {
    let segs = segments();
    let Some((&units, rest)) = data.split_first() else {
        return;
    };
    let (region, ops) = rest.split_at(rest.len().min(units as usize * 16));
    // SAFETY: the segments are this (single-threaded) target's alone, and
    // every write stays inside them.
    unsafe {
        for s in segs {
            s.as_ptr().write_bytes(0, SEGMENT_LEN);
        }
        segs[0]
            .as_ptr()
            .copy_from_nonoverlapping(region.as_ptr(), region.len());
        let mut desc = [0u8; DESC_LEN];
        segs[0].descriptor().encode(&mut desc);
        segs[1]
            .as_ptr()
            .copy_from_nonoverlapping(desc.as_ptr(), DESC_LEN);
    }
    let (_, peer) = pools();
    let mut desc = [0u8; DESC_LEN];
    segs[0].descriptor().encode(&mut desc);
    let Ok(start) = peer.resolve_segment(&desc) else {
        panic!("the fuzzing pool's own segment does not resolve");
    };
    let mut ops = ops.iter().copied();
    let mut rewrite = |ops: &mut dyn Iterator<Item = u8>| {
        let mut w = [0u8; 8];
        let which = ops.next().unwrap_or(0) as usize % 2;
        let mut off = [0u8; 4];
        for b in off.iter_mut().chain(&mut w) {
            *b = ops.next().unwrap_or(0);
        }
        let off = u32::from_le_bytes(off) as usize % SEGMENT_LEN & !7;
        segs[which]
            .word(off)
            .store(u64::from_le_bytes(w), std::sync::atomic::Ordering::Release);
    };
    crate::pipe::chain_fuzz(peer, start, &mut ops, &mut rewrite);
}

/// Bytes of the fuzzer's input, taken in order, zeros once it runs out.
struct Input<'a>(std::slice::Iter<'a, u8>);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }

    fn word(&mut self) -> u64 {
        u64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }

    fn done(&self) -> bool {
        self.0.len() == 0
    }
}

/// A shared-memory offer as a hostile peer would make it, from `data`:
/// the READY property (raw, or ours with a byte changed), the attach
/// message, and a descriptor passed as the pipe segment, a doorbell or a
/// chunk pool: a memfd or not, sealed or not (any subset of the five
/// seals), of the expected size or not, its first bytes forged, resized
/// after sealing if it can be. What opens is then used (rings read and
/// written, the bell rung, descriptors resolved) while the peer rewrites
/// words of the segment through a mapping of its own. Panics only if
/// something faults or a check lets a bad segment through.
pub fn hostile_shm_offer(data: &[u8]) {
    use crate::transport::ipc::{pool, shm};
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MFdFlags};
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;

    let mut input = Input(data.iter());
    // The READY property, and whether both sides would agree on it.
    let property = if input.byte() % 2 == 0 {
        (0..19).map(|_| input.byte()).collect::<Vec<_>>()
    } else {
        let mut v = shm::Offer::ours(0, 4096 << (input.byte() % 20)).encode();
        let at = input.byte() as usize % v.len();
        v[at] ^= input.byte();
        v
    };
    let ours = shm::Offer::ours(0, 4096);
    let capacity = shm::Offer::decode(&property)
        .filter(|peer| ours.compatible(peer))
        .map_or(4096, |peer| ours.ring_with(&peer));
    let mut message = [0u8; shm::MSG_LEN];
    message.iter_mut().for_each(|b| *b = input.byte());
    if input.byte() % 2 == 0 {
        message = shm::message(input.byte() % 4, input.byte() % 4);
    }
    std::hint::black_box(shm::parse_message(&message));

    let what = input.byte() % 3;
    let expected = match what {
        0 => shm::segment_len(capacity),
        1 => shm::BELL_LEN,
        _ => pool::segment_len(),
    };
    let len = match input.byte() % 4 {
        0 => expected,
        1 => expected.saturating_sub(8 << (input.byte() % 12)),
        2 => expected + (8 << (input.byte() % 12)),
        _ => input.word() as usize % (1 << 24),
    };
    let fd_kind = input.byte() % 4;
    let seals = input.byte();
    let resize = input.byte();
    let fd: OwnedFd = match fd_kind {
        0 | 1 => {
            let flags = if fd_kind == 0 {
                MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING
            } else {
                MFdFlags::MFD_CLOEXEC
            };
            let Ok(fd) = memfd_create(c"zeroring-fuzz", flags) else {
                return;
            };
            if nix::unistd::ftruncate(&fd, len as libc::off_t).is_err() {
                return;
            }
            fd
        }
        2 => std::fs::File::open("/dev/null").expect("/dev/null").into(),
        _ => match std::fs::File::options()
            .read(true)
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .open(std::env::temp_dir())
        {
            Ok(f) => {
                let _ = f.set_len(len as u64);
                f.into()
            }
            Err(_) => return,
        },
    };
    // The peer's own mapping, made before any seal could forbid it (or
    // none, so that F_SEAL_WRITE can be added).
    let peer_map = memmap2::MmapOptions::new()
        .len(len.max(1))
        .map_raw(&fd)
        .ok()
        .filter(|_| len > 0 && resize & 8 == 0);
    // Its forged first bytes (the magic, the ring size, bell words).
    let forged = input.byte();
    let mut head: Vec<u8> = match (forged % 2, what) {
        // What an honest peer writes there, for forging to start from.
        (0, 0) => [&shm::MAGIC[..], &(capacity as u64).to_le_bytes()].concat(),
        (0, 2) => pool::MAGIC.to_vec(),
        _ => (0..input.byte() % 64).map(|_| input.byte()).collect(),
    };
    if forged % 4 == 2 && !head.is_empty() {
        let at = input.byte() as usize % head.len();
        head[at] ^= input.byte();
    }
    let _ = nix::sys::uio::pwrite(&fd, &head, 0);
    let seal_bits = [
        SealFlag::F_SEAL_SHRINK,
        SealFlag::F_SEAL_GROW,
        SealFlag::F_SEAL_WRITE,
        SealFlag::F_SEAL_FUTURE_WRITE,
        SealFlag::F_SEAL_SEAL,
    ];
    for (i, seal) in seal_bits.into_iter().enumerate() {
        if seals & (1 << i) != 0 {
            // F_SEAL_WRITE fails while the peer's writable mapping exists.
            let _ = fcntl(&fd, FcntlArg::F_ADD_SEALS(seal));
        }
    }
    if resize % 4 == 0 {
        let _ = nix::unistd::ftruncate(&fd, (len / 2) as libc::off_t);
    }
    let ours_fd = fd.as_fd().try_clone_to_owned().expect("dup");
    // After we opened it, the peer tries to cut it short under our mapping
    // (a SIGBUS, were the seals not checked).
    let cut = || {
        if resize % 4 == 1 {
            let _ = nix::unistd::ftruncate(&fd, 0);
        }
    };
    // Rewrites a word of the segment as the peer (within its size now).
    let scribble = |input: &mut Input| {
        let (off, value) = (input.word(), input.word());
        if let Some(map) = &peer_map {
            let size = nix::sys::stat::fstat(&fd).map_or(0, |st| st.st_size as usize);
            let size = size.min(map.len());
            if size >= 8 {
                let off = (off as usize % size) & !7;
                // SAFETY: the offset is 8-aligned and within both the
                // mapping and the file's current size, so the store cannot
                // fault; the segment is shared memory made for this.
                unsafe { (map.as_mut_ptr().add(off) as *mut u64).write_volatile(value) };
            }
        }
    };
    match what {
        0 => {
            let Ok(seg) = shm::PipeSegment::open(ours_fd, capacity) else {
                return;
            };
            cut();
            let side = input.byte() as usize % 2;
            let (mut tx, mut rx) = seg.ends(side);
            for _ in 0..256 {
                if input.done() {
                    break;
                }
                match input.byte() % 4 {
                    0 => {
                        if let Ok(Some(rec)) = rx.peek() {
                            let payload = rx.payload(&rec);
                            std::hint::black_box((payload.first(), payload.last()));
                            rx.advance(rec);
                            rx.release();
                        }
                    }
                    1 => {
                        let n = input.byte() as usize * 8;
                        if let Ok(buf) = tx.claim(n) {
                            buf.fill(0xa5);
                            tx.commit(n, 0);
                            tx.publish();
                        }
                    }
                    _ => scribble(&mut input),
                }
            }
        }
        1 => {
            let Ok(bell) = shm::peer_bell(ours_fd) else {
                return;
            };
            cut();
            for _ in 0..64 {
                if input.done() {
                    break;
                }
                scribble(&mut input);
                bell.ring();
                bell.poke();
            }
        }
        _ => {
            let Ok(peer) = PeerPool::open(ours_fd) else {
                return;
            };
            cut();
            for _ in 0..64 {
                if input.done() {
                    break;
                }
                scribble(&mut input);
                let desc: Vec<u8> = (0..DESC_LEN).map(|_| input.byte()).collect();
                if let Ok((off, len)) = peer.resolve(&desc) {
                    let chunk = peer.slice(off, len);
                    std::hint::black_box((chunk.first(), chunk.last()));
                }
            }
        }
    }
}
