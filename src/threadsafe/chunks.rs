//! Large messages of a thread-safe socket's pipe to a peer in another
//! process: in chunks of the writing socket's pool, named in the shared
//! ring by DESCRIPTOR records, as the classic sockets' shared-memory pipes
//! carry theirs (see [`pool`](crate::transport::ipc::pool) and
//! [`ledger`](crate::pipe::ledger)).
//!
//! Writing, from any of the socket's threads: the message is copied into a
//! free chunk first, then a descriptor record is claimed, written and
//! published, and only then is the chunk entered in the pipe's ledger at
//! the record's end (its position is known from the claim). The thread
//! holds its own reference on the chunk until the entry is made, so the
//! chunk is never written again before the reader released past the
//! record, in whatever order the threads publish and enter theirs (the
//! ledger sorts them in), and even if a hostile reader's head runs ahead.
//! The ledger and the pool's free lists sit behind the pool's mutex: only
//! large messages take it, never the inline path.
//!
//! A pool with no free chunk of the message's size is a full pipe
//! ([`Refused::Full`]): the writer waits for room (or gets would-block) as
//! at its high-water mark, and the reader's release, which hands chunks
//! back, wakes it. A full ring after the copy gives the chunk back; the
//! next try copies again (rare: the ring holds hundreds of descriptors).
//! The pool is the socket's, shared by all its peers: a peer that never
//! reads can hold every chunk of a size, and sends of that size to the
//! others then wait too (until it reads or its connection ends, which
//! wakes them). A RADIO, which never waits, drops the message for that
//! peer, as at its mark. Readiness to send (`poll`, async) looks at the
//! mark only, as for ring bytes: a send it announces may still find the
//! pool spent.
//!
//! Reading: the descriptor is validated against the pool's layout and the
//! generation its writer stamped ([`PeerPool::resolve`]); a forged one
//! ends the pipe, and nothing outside the mapping is read. The reader
//! copies the bytes out and releases at once, handing the chunk back.
//!
//! When the connection ends (the reader's process killed, say) the pipe's
//! ledger gives back every chunk it held; the reader's mapping of a dead
//! writer's pool goes with its pipe.

use super::pipe::{Death, Refused};
use crate::pipe::mpsc::{Producer, DESCRIPTOR};
use crate::transport::ipc::pool::{ChunkPool, PeerPool, CHUNK_MAX, DESC_LEN};
use std::sync::Arc;

/// A descriptor record's bytes in the ring: its header and payload.
const RECORD_LEN: u64 = 8 + DESC_LEN as u64;
const _: () = assert!(DESC_LEN % 8 == 0);

/// A pipe's hold on its socket's pool: its reader's entry there.
pub(crate) struct Chunks {
    pool: Arc<ChunkPool>,
    reader: usize,
}

impl Chunks {
    /// Enters the reader of `tx`'s ring in `pool`; its chunks all come
    /// back once `gone` is declared (the connection ended).
    pub fn register(pool: Arc<ChunkPool>, tx: &Producer, gone: Arc<Death>) -> Chunks {
        let tx = tx.clone();
        let reader = pool.register_with(
            Box::new(move || tx.released_head()),
            Box::new(move || gone.is_dead()),
        );
        Chunks { pool, reader }
    }

    /// Publishes `prefix` then `data` as one message in a chunk.
    pub fn push(&self, tx: &Producer, prefix: &[u8], data: &[u8]) -> Result<(), Refused> {
        let len = prefix.len() + data.len();
        let mut chunk = match self.pool.alloc(len) {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Err(Refused::Full),
            Err(()) => return Err(Refused::TooLarge { max: CHUNK_MAX }),
        };
        let bytes = chunk.bytes_mut();
        crate::copy::copy(&mut bytes[..prefix.len()], prefix);
        crate::copy::copy(&mut bytes[prefix.len()..], data);
        let mut claim = tx.claim(DESC_LEN).map_err(super::pipe::refused)?;
        chunk.descriptor().encode(claim.payload());
        let end = claim.position() + RECORD_LEN;
        claim.commit(DESCRIPTOR);
        // Entered after the publish, so every entry is published; our own
        // reference (`chunk`) keeps it from reuse until then.
        self.pool.sent(self.reader, &chunk, end, Some(end));
        Ok(())
    }
}

impl Drop for Chunks {
    /// The pipe's writers are gone: its reader keeps what it was sent
    /// until it releases it or the connection ends.
    fn drop(&mut self) {
        self.pool.unregister(self.reader);
    }
}

/// The message a descriptor record names in the writer's pool `peer`, if
/// the descriptor is valid.
pub(crate) fn resolve<'a>(peer: &'a PeerPool, payload: &[u8]) -> Option<&'a [u8]> {
    let (offset, len) = peer.resolve(payload).ok()?;
    Some(peer.slice(offset, len))
}
