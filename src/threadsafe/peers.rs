//! The peers a thread-safe socket writes to, read by every send without a
//! lock or a shared atomic write.
//!
//! The table is replaced whole (under a mutex) when a peer comes or goes,
//! and a generation number moves on. Each thread keeps the tables it has
//! used in a small thread-local cache and checks the generation with one
//! load per send: a read of a line only those rare changes write. (A
//! shared `Arc` or an `arc-swap` guard per send costs locked instructions
//! that wait for the send's own stores into the ring to drain.) A stale
//! table is harmless: a pipe closed since is refused by its own flag, and
//! a sender waiting for a new peer is woken and looks again.
//!
//! The cache also holds the thread's credits toward each pipe's
//! high-water mark (see `pipe`), given back when the entry goes.
//!
//! A cached table keeps its pipes' rings alive until the thread next
//! misses its cache or exits; entries of dropped sockets go at the next
//! miss, and a thread caches at most [`CACHED`] sockets.

use super::core::Groups;
use super::pipe::{Pipe, Refused};
use super::remote::Remote;
use super::shared::Shared;
use crossbeam_utils::CachePadded;
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Sockets a thread keeps tables of.
const CACHED: usize = 16;

/// Where a socket's messages to a peer go.
#[derive(Clone)]
pub(crate) enum Out {
    /// An in-process peer's multi-producer ring.
    Ring(Arc<Pipe>),
    /// A peer over the I/O thread (tcp, ipc): a multi-producer ring too,
    /// which the peer's engine reads.
    Remote(Arc<Remote>),
    /// A peer in another process over shared memory (ipc).
    Shared(Arc<Shared>),
}

impl Out {
    /// Sends `prefix` then `data` (`prefix`: a RADIO's group, its length
    /// first).
    #[inline(always)]
    pub fn try_send(&self, prefix: &[u8], data: &[u8], credit: &Cell<u64>) -> Result<(), Refused> {
        match self {
            Out::Ring(p) => p.try_send(prefix, data, credit),
            Out::Remote(r) => r.try_send(prefix, data, credit),
            Out::Shared(s) => s.try_send(prefix, data, credit),
        }
    }

    /// Whether a message would be taken now, as far as the mark goes.
    pub fn has_room(&self, credit: &Cell<u64>) -> bool {
        match self {
            Out::Ring(p) => p.has_room(credit),
            Out::Remote(r) => r.has_room(credit),
            Out::Shared(s) => s.has_room(credit),
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Out::Ring(p) => p.is_closed(),
            Out::Remote(r) => r.is_closed(),
            Out::Shared(s) => s.is_closed(),
        }
    }

    /// Closes the way to the peer (the socket is going).
    pub fn close(&self) {
        match self {
            Out::Ring(p) => p.close(),
            Out::Remote(r) => r.close(),
            Out::Shared(s) => s.close(),
        }
    }

    fn return_credits(&self, n: u64) {
        match self {
            Out::Ring(p) => p.return_credits(n),
            Out::Remote(r) => r.return_credits(n),
            Out::Shared(s) => s.return_credits(n),
        }
    }
}

/// A peer a socket writes to.
#[derive(Clone)]
pub(crate) struct Peer {
    pub id: u32,
    pub out: Out,
    /// The endpoint it came through (bound or connected): what unbind and
    /// disconnect close.
    pub endpoint: Arc<str>,
    /// A DISH peer's groups: a RADIO sends it only those.
    pub groups: Option<Arc<Groups>>,
}

/// The peers at one time.
#[derive(Default)]
pub(crate) struct PeerTable {
    pub peers: Vec<Peer>,
    /// Ids are the socket's own counter (`Core::new_peer_id`), never a
    /// peer's choice: a fast hash is safe.
    by_id: FxHashMap<u32, usize>,
}

impl PeerTable {
    pub fn with(peers: Vec<Peer>) -> Self {
        let by_id = peers.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        Self { peers, by_id }
    }

    pub fn get(&self, id: u32) -> Option<&Out> {
        self.index(id).map(|i| &self.peers[i].out)
    }

    /// Where the peer `id` is in `peers`.
    pub fn index(&self, id: u32) -> Option<usize> {
        self.by_id.get(&id).copied()
    }
}

struct Cached {
    uid: u64,
    gen: u64,
    alive: Weak<()>,
    table: Arc<PeerTable>,
    /// This thread's credits toward each peer's pipe, by index.
    credits: Credits,
}

/// Credits toward the pipes of a table, given back when dropped.
struct Credits {
    table: Arc<PeerTable>,
    n: Box<[Cell<u64>]>,
}

impl Credits {
    fn new(table: &Arc<PeerTable>) -> Self {
        Self {
            table: table.clone(),
            n: table.peers.iter().map(|_| Cell::new(0)).collect(),
        }
    }
}

impl Drop for Credits {
    fn drop(&mut self) {
        for (p, n) in self.table.peers.iter().zip(self.n.iter()) {
            p.out.return_credits(n.get());
        }
    }
}

thread_local! {
    static TABLES: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
}

static NEXT_UID: AtomicU64 = AtomicU64::new(0);

/// A socket's peer table.
pub(crate) struct Peers {
    uid: u64,
    gen: CachePadded<AtomicU64>,
    table: Mutex<Arc<PeerTable>>,
    /// Dropped with the socket: tells caches their entry is dead.
    alive: Arc<()>,
}

impl Default for Peers {
    fn default() -> Self {
        Self {
            uid: NEXT_UID.fetch_add(1, Ordering::Relaxed),
            gen: CachePadded::new(AtomicU64::new(0)),
            table: Mutex::default(),
            alive: Arc::new(()),
        }
    }
}

impl Peers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<PeerTable>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the current table (as of a moment ago) and this
    /// thread's credits toward its pipes.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&PeerTable, &[Cell<u64>]) -> R) -> R {
        let gen = self.gen.load(Ordering::Acquire);
        TABLES.with(|cell| {
            // A socket's send never sends on another, so the borrow is
            // never taken twice.
            if let Ok(cache) = cell.try_borrow() {
                if let Some(e) = cache.iter().find(|e| e.uid == self.uid && e.gen == gen) {
                    return f(&e.table, &e.credits.n);
                }
            }
            self.refresh(cell, f)
        })
    }

    #[cold]
    fn refresh<R>(
        &self,
        cell: &RefCell<Vec<Cached>>,
        f: impl FnOnce(&PeerTable, &[Cell<u64>]) -> R,
    ) -> R {
        let (gen, table) = {
            let t = self.lock();
            (self.gen.load(Ordering::Relaxed), t.clone())
        };
        let Ok(mut cache) = cell.try_borrow_mut() else {
            let credits = Credits::new(&table);
            return f(&table, &credits.n);
        };
        // Dropped entries give their credits back.
        cache.retain(|e| e.uid != self.uid && e.alive.strong_count() > 0);
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push(Cached {
            uid: self.uid,
            gen,
            alive: Arc::downgrade(&self.alive),
            credits: Credits::new(&table),
            table,
        });
        let e = cache.last().expect("just pushed");
        f(&e.table, &e.credits.n)
    }

    /// The current table, for the rare callers that need it for a while.
    pub fn current(&self) -> Arc<PeerTable> {
        self.lock().clone()
    }

    /// Replaces the table with what `change` makes of it, if anything.
    pub fn update(&self, change: impl FnOnce(&PeerTable) -> Option<PeerTable>) {
        let mut t = self.lock();
        if let Some(new) = change(&t) {
            *t = Arc::new(new);
            self.gen.fetch_add(1, Ordering::Release);
        }
    }
}
