//! Load-balance: each new message goes to the next pipe, round-robin, that
//! can take it (peer present, below its high-water mark, room for the first
//! frame); the rest of the message follows it into the same pipe.

use super::rotation::Rotation;
use super::{Io, PipeKey, Slot};
use crate::error::Fail;
use crate::pipe::WriteError;
use crate::trace::dropped;

#[derive(Debug, Default)]
pub(crate) struct LoadBalance {
    pipes: Rotation,
    /// The pipe of the message in progress.
    current: Option<PipeKey>,
    /// The message in progress lost its pipe: drop the rest of it.
    dropping: bool,
}

impl LoadBalance {
    pub fn attach(&mut self, key: PipeKey) {
        self.pipes.attach(key);
    }

    pub fn detach(&mut self, key: PipeKey) {
        self.pipes.detach(key);
        if self.current == Some(key) {
            dropped!(reason = "the peer went away in the middle of the message");
            self.current = None;
            self.dropping = true;
        }
    }

    /// Room for the next frame: in the current message's pipe, or for a new
    /// message in the next pipe that can take it.
    #[inline(always)]
    pub fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        if self.dropping {
            return Ok(Slot::Discard);
        }
        if let Some(key) = self.current {
            return match io.claim(key, len) {
                Ok(()) => Ok(Slot::Pipe(key as u32)),
                Err(WriteError::Full) if !io.pipes[key].end.peer_closed() => Err(Fail::WouldBlock),
                Err(WriteError::TooLarge) => {
                    let max = io.pipes[key].end.max_frame() as u32;
                    self.abandon(io, more);
                    Err(Fail::TooLarge { max })
                }
                Err(_) => {
                    dropped!(
                        endpoint = %io.pipes[key].endpoint,
                        reason = "the peer went away in the middle of the message"
                    );
                    self.abandon(io, true);
                    Ok(Slot::Discard)
                }
            };
        }
        let found = self.pipes.find_map(|key| {
            if !io.can_start(key) {
                return None;
            }
            match io.claim(key, len) {
                Ok(()) => Some(Ok(Slot::Pipe(key as u32))),
                Err(WriteError::TooLarge) => {
                    let max = io.pipes[key].end.max_frame() as u32;
                    Some(Err(Fail::TooLarge { max }))
                }
                Err(_) => None,
            }
        });
        found.unwrap_or(Err(Fail::WouldBlock))
    }

    /// Sends `data` as a whole one-frame message into the next pipe that
    /// takes it: [`reserve`](Self::reserve), copy and
    /// [`commit`](Self::commit) in one step, for a socket with no message
    /// in progress.
    #[inline(always)]
    pub fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail> {
        self.push_by(
            io,
            #[inline(always)]
            |io, key| io.push_if_startable(key, data),
            |_| (),
        )
    }

    /// [`push`](Self::push) of the two-frame message of an empty delimiter
    /// then `data` (a REQ's request): the pipe it went to.
    #[inline(always)]
    pub fn push_delimited(&mut self, io: &mut Io, data: &[u8]) -> Result<PipeKey, Fail> {
        self.push_by(
            io,
            #[inline(always)]
            |io, key| io.push_delimited_if_startable(key, data),
            |key| key,
        )
    }

    /// Offers a new message to the pipes in turn with `send`; `sent` says
    /// what the caller learns of the pipe that took it (a push keeps
    /// nothing of it, which spares it a register).
    #[inline(always)]
    fn push_by<T>(
        &mut self,
        io: &mut Io,
        mut send: impl FnMut(&mut Io, PipeKey) -> Option<Result<(), WriteError>>,
        sent: impl Fn(PipeKey) -> T,
    ) -> Result<T, Fail> {
        debug_assert!(self.current.is_none() && !self.dropping);
        let found = self.pipes.find_map(
            #[inline(always)]
            |key| match send(io, key)? {
                Ok(()) => Some(Ok(sent(key))),
                Err(WriteError::TooLarge) => {
                    let max = io.pipes[key].end.max_frame() as u32;
                    Some(Err(Fail::TooLarge { max }))
                }
                Err(_) => None,
            },
        );
        found.unwrap_or(Err(Fail::WouldBlock))
    }

    /// Drops what was written of the current message; with `more`, the
    /// frames still to come are dropped too.
    fn abandon(&mut self, io: &mut Io, more: bool) {
        if let Some(key) = self.current.take() {
            io.pipes[key].end.rollback();
        }
        self.dropping = more;
    }

    /// The frame in `slot` is written.
    #[inline(always)]
    pub fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        match slot {
            Slot::Pipe(key) => {
                let key = key as usize;
                io.commit(key, len, more);
                self.current = more.then_some(key);
            }
            Slot::Discard | Slot::Scratch => self.dropping = more,
        }
    }

    /// Abandons the message in progress (the socket gave up on it).
    pub fn rollback(&mut self, io: &mut Io) {
        self.abandon(io, false);
    }

    /// Whether some pipe could take a new message now.
    pub fn writable(&self, io: &mut Io) -> bool {
        self.pipes.keys().iter().any(|&k| io.can_start(k))
    }
}
