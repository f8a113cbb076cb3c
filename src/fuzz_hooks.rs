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
