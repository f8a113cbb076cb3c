//! Fair-queue: take one whole message from each pipe that has one, in turn,
//! so a busy peer cannot starve a quiet one.

use super::Pipe;
use crate::error::{Error, Result};
use crate::pipe::ring::Record;

#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    next: usize,
}

impl FairQueue {
    /// The first frame of the next message, and the pipe it is in. Sets
    /// `reap` if a pipe is finished.
    #[inline]
    pub fn select(&mut self, pipes: &mut [Pipe], reap: &mut bool) -> Result<(usize, Record)> {
        let n = pipes.len();
        let mut idx = if self.next < n { self.next } else { 0 };
        for _ in 0..n {
            let p = &mut pipes[idx];
            match p.end.peek() {
                Ok(Some(rec)) => return Ok((idx, rec)),
                Ok(None) => {
                    if p.end.peer_closed() {
                        *reap = true;
                    }
                }
                Err(_) => {
                    p.broken = true;
                    *reap = true;
                }
            }
            idx = if idx + 1 < n { idx + 1 } else { 0 };
        }
        Err(Error::WouldBlock)
    }

    /// The message just read came from `idx`; the next turn is the one after.
    #[inline]
    pub fn received(&mut self, idx: usize) {
        self.next = idx + 1;
    }
}
