//! Entry points for the cargo-fuzz targets in `fuzz/` (built only with
//! `--cfg fuzzing`, which cargo-fuzz sets): they reach parts that are not
//! public API.

use crate::pipe::ring::{self, DESCRIPTOR};
use crate::transport::ipc::pool::{ChunkPool, PeerPool};
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
