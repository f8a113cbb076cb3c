//! Which shared chunks a ring's reader may still be reading.
//!
//! # Protocol
//!
//! A frame too large for the ring goes into a chunk of a pool that only its
//! writer can write, and the ring carries a DESCRIPTOR record naming it. The
//! reader never writes anything about chunks: it is done with a chunk
//! exactly when it releases the ring past the record that named it, which it
//! does already (a `Release` store of the ring's head after its last read).
//!
//! The writer keeps, per ring, a ledger of `(end, chunk)`: `end` is the ring
//! position just after the DESCRIPTOR record. Invariants:
//!
//! 1. Entries are in ring order (`end` never decreases): records are
//!    committed in order on a single-producer ring; on a multi-producer
//!    ring (a thread-safe socket's) threads enter their chunks in any
//!    order, and [`Ledger::push`] sorts them in. Every chunk a chain
//!    beyond the ring names (its segments, its large frames) is entered at
//!    the chain's LINK record: the reader moves past that record when it
//!    has read the whole chain.
//! 2. An entry with `end <= head` (head `Acquire`-loaded from the reader) is
//!    a chunk the reader has finished with: the load synchronises with the
//!    reader's release, so every read of the chunk happened before, and the
//!    writer may write it again.
//! 3. Only published entries (`end <= published`) are ever handed back by a
//!    head: a head beyond what was published is garbage from a broken or
//!    hostile reader, and must not free a chunk that is still being written
//!    (a later rollback frees those, and must find them still here).
//! 4. A reader that is gone (its connection ended) reads nothing more: all
//!    its entries go back at once ([`Ledger::drain`]).
//!
//! A reader that lies about its head can only make the writer reuse a chunk
//! under its own nose: each reader of a shared chunk (PUB fan-out) holds a
//! reference of its own, in its own ledger.

use std::collections::VecDeque;

/// The chunks one ring's reader may still hold, in ring order.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: VecDeque<(u64, u32)>,
    published: u64,
}

impl Ledger {
    /// A chunk named by a record that ends at ring position `end`
    /// (committed, maybe not yet published).
    pub fn push(&mut self, end: u64, chunk: u32) {
        if self.entries.back().map_or(true, |&(e, _)| e <= end) {
            self.entries.push_back((end, chunk));
        } else {
            // Another thread's later record was entered first.
            let at = self.entries.partition_point(|&(e, _)| e <= end);
            self.entries.insert(at, (end, chunk));
        }
    }

    /// The ring's producer published everything up to `tail`.
    pub fn publish(&mut self, tail: u64) {
        self.published = self.published.max(tail);
    }

    /// Hands back (to `free`) every chunk whose record the reader has
    /// released: `head` must come from an `Acquire` load of the reader's
    /// released position.
    pub fn reclaim(&mut self, head: u64, mut free: impl FnMut(u32)) {
        let done = head.min(self.published);
        while let Some(&(end, chunk)) = self.entries.front() {
            if end > done {
                break;
            }
            self.entries.pop_front();
            free(chunk);
        }
    }

    /// The producer dropped what it had not published: those chunks go back.
    pub fn rollback(&mut self, mut free: impl FnMut(u32)) {
        while let Some(&(end, chunk)) = self.entries.back() {
            if end <= self.published {
                break;
            }
            self.entries.pop_back();
            free(chunk);
        }
    }

    /// The reader is gone: every chunk goes back.
    pub fn drain(&mut self, mut free: impl FnMut(u32)) {
        for (_, chunk) in self.entries.drain(..) {
            free(chunk);
        }
    }

    /// Whether no chunk is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many chunk references are held.
    // For the loom model of the chunk hand-back (`unstable-internals`).
    #[cfg_attr(not(feature = "unstable-internals"), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn hands_back_in_order_and_only_what_was_published() {
        let mut l = Ledger::default();
        let mut freed = Vec::new();
        l.push(32, 1);
        l.push(64, 2);
        l.publish(64);
        l.push(96, 3);
        l.reclaim(40, |c| freed.push(c));
        assert_eq!(freed, [1]);
        // A head beyond what was published frees nothing unpublished.
        l.reclaim(1000, |c| freed.push(c));
        assert_eq!(freed, [1, 2]);
        l.rollback(|c| freed.push(c));
        assert_eq!(freed, [1, 2, 3]);
        assert!(l.is_empty());
        l.push(128, 4);
        l.publish(128);
        l.rollback(|c| freed.push(c));
        assert_eq!(l.len(), 1, "published entries survive a rollback");
        l.drain(|c| freed.push(c));
        assert_eq!(freed, [1, 2, 3, 4]);
    }

    /// Chunks entered out of ring order (threads of a multi-producer ring)
    /// still go back only once the head passed each one's record.
    #[test]
    fn entries_out_of_order_are_sorted_in() {
        let mut l = Ledger::default();
        let mut freed = Vec::new();
        l.push(96, 3);
        l.push(32, 1);
        l.push(64, 2);
        l.publish(96);
        l.reclaim(64, |c| freed.push(c));
        assert_eq!(freed, [1, 2]);
        l.reclaim(96, |c| freed.push(c));
        assert_eq!(freed, [1, 2, 3]);
    }
}
