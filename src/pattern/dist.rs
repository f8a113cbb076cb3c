//! Distribute: fan one message out to many pipes. A pipe that cannot take it
//! (at its high-water mark when the message starts, or out of room in the
//! middle of it) misses that message; the others get it. Never blocks.

use super::{Io, PipeKey};
use crate::trace::dropped;

#[derive(Debug, Default)]
pub(crate) struct Distribute {
    keys: Vec<PipeKey>,
    /// The pipes the message in progress goes to.
    active: Vec<PipeKey>,
    in_progress: bool,
}

impl Distribute {
    pub fn attach(&mut self, key: PipeKey) {
        self.keys.push(key);
    }

    pub fn detach(&mut self, key: PipeKey) {
        self.keys.retain(|&k| k != key);
        self.active.retain(|&k| k != key);
    }

    /// Whether a message is being written.
    pub fn in_progress(&self) -> bool {
        self.in_progress
    }

    /// Starts a message whose first frame is `first` bytes for every pipe
    /// `wanted` picks that can take it, or, with `all`, only if every one of
    /// them can, ring room for the first frame included (else starts nothing
    /// and returns false: XPUB_NODROP's would-block).
    #[inline]
    pub fn start(
        &mut self,
        io: &mut Io,
        all: bool,
        first: usize,
        mut wanted: impl FnMut(PipeKey) -> bool,
    ) -> bool {
        self.active.clear();
        for &key in &self.keys {
            if wanted(key) {
                let ok = if all {
                    io.can_take(key, first)
                } else {
                    io.can_start(key)
                };
                if ok {
                    self.active.push(key);
                } else if all {
                    self.active.clear();
                    return false;
                } else {
                    dropped!(endpoint = %io.pipes[key].endpoint, reason = io.refusal(key));
                }
            }
        }
        self.in_progress = true;
        true
    }

    /// A whole message of one frame that a ring carries as it is (see
    /// [`Io::fits_ring`]) to every pipe `wanted` picks that can take it, or,
    /// with `all`, to every one of them or (returning false) to none:
    /// [`start`](Self::start) and [`write`](Self::write) in one step.
    #[inline]
    pub fn send_whole(
        &mut self,
        io: &mut Io,
        all: bool,
        data: &[u8],
        mut wanted: impl FnMut(PipeKey) -> bool,
    ) -> bool {
        debug_assert!(!self.in_progress && io.fits_ring(data));
        let len = data.len();
        if all
            && !self
                .keys
                .iter()
                .all(|&key| !wanted(key) || io.can_take(key, len))
        {
            return false;
        }
        for &key in &self.keys {
            if !wanted(key) {
                continue;
            }
            // With `all`, every pipe was found able to take it above.
            let pushed = if all {
                Some(io.push(key, data))
            } else {
                io.push_if_startable(key, data)
            };
            match pushed {
                Some(Ok(())) => {}
                None => {
                    dropped!(endpoint = %io.pipes[key].endpoint, reason = io.refusal(key));
                }
                // A pipe without room misses the message.
                Some(Err(_)) => {
                    dropped!(
                        endpoint = %io.pipes[key].endpoint,
                        reason = "no room in the peer's ring"
                    );
                }
            }
        }
        true
    }

    /// Whether every pipe `wanted` picks could take a new message now.
    pub fn all_can_start(&self, io: &mut Io, mut wanted: impl FnMut(PipeKey) -> bool) -> bool {
        self.keys.iter().all(|&k| !wanted(k) || io.can_start(k))
    }

    /// Writes one frame of the message in progress to each of its pipes; a
    /// pipe without room drops what it had of the message.
    #[inline]
    pub fn write(&mut self, io: &mut Io, data: &[u8], more: bool) {
        #[cfg(not(loom))]
        if let Some(chunk) = io.loaned.clone() {
            if std::ptr::eq(chunk.bytes(), data) {
                return self.write_chunk(io, &chunk, data, more);
            }
        }
        #[cfg(not(loom))]
        if data.len() > crate::transport::ipc::pool::CHUNK_MIN {
            if let Some(chunk) = self.shared_chunk(io, data) {
                return self.write_chunk(io, &chunk, data, more);
            }
        }
        self.write_each(io, more, |io, key| io.write(key, data, more).is_ok());
    }

    /// Sends one frame to each pipe of the message with `send`; a pipe it
    /// fails drops what it had of the message. `more`: frames follow.
    #[inline]
    fn write_each(
        &mut self,
        io: &mut Io,
        more: bool,
        mut send: impl FnMut(&mut Io, PipeKey) -> bool,
    ) {
        let mut i = 0;
        while let Some(&key) = self.active.get(i) {
            if send(io, key) {
                i += 1;
            } else {
                io.pipes[key].end.rollback();
                dropped!(
                    endpoint = %io.pipes[key].endpoint,
                    reason = "no room for the rest of the message"
                );
                // Order does not matter: each pipe gets the same frames.
                self.active.swap_remove(i);
            }
        }
        if !more {
            self.active.clear();
            self.in_progress = false;
        }
    }

    /// A large frame, copied once into a chunk of the pool that the
    /// message's shared-memory pipes write into, so that each of them
    /// carries only its descriptor; `None` if no pipe has a pool or the
    /// pool is spent (each pipe then copies, or drops, as usual).
    #[cfg(not(loom))]
    fn shared_chunk(&self, io: &Io, data: &[u8]) -> Option<crate::transport::ipc::pool::Chunk> {
        let pool = self
            .active
            .iter()
            .find_map(|&key| io.pipes[key].end.chunk_pool())?;
        let mut chunk = pool.alloc(data.len()).ok()??;
        crate::copy::copy(chunk.bytes_mut(), data);
        Some(chunk)
    }

    /// [`write`](Self::write), with the frame also in `chunk`.
    #[cfg(not(loom))]
    #[inline(never)]
    pub fn write_chunk(
        &mut self,
        io: &mut Io,
        chunk: &crate::transport::ipc::pool::Chunk,
        data: &[u8],
        more: bool,
    ) {
        self.write_each(io, more, |io, key| {
            match io.write_shared(key, chunk, more) {
                Some(done) => done.is_ok(),
                None => io.write(key, data, more).is_ok(),
            }
        });
    }

    /// Abandons the message in progress in every pipe.
    pub fn rollback(&mut self, io: &mut Io) {
        for &key in &self.active {
            io.pipes[key].end.rollback();
        }
        self.active.clear();
        self.in_progress = false;
    }

    /// Every pipe.
    pub fn keys(&self) -> &[PipeKey] {
        &self.keys
    }
}
