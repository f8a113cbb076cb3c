//! Load-balance: each new message goes to the next pipe, round-robin, that
//! is below its high-water mark and has room for the first frame.

use super::Pipe;
use crate::error::{Error, Result};
use crate::pipe::WriteError;

#[derive(Debug, Default)]
pub(crate) struct LoadBalance {
    next: usize,
}

impl LoadBalance {
    /// Finds the pipe for a message whose first frame is `len` bytes; room for
    /// that frame is reserved in it. Sets `reap` if it passed a closed pipe.
    #[inline]
    pub fn select(&mut self, pipes: &mut [Pipe], len: usize, reap: &mut bool) -> Result<usize> {
        let n = pipes.len();
        let mut next = if self.next < n { self.next } else { 0 };
        for _ in 0..n {
            let idx = next;
            next = if next + 1 < n { next + 1 } else { 0 };
            let p = &mut pipes[idx];
            if p.broken || p.end.peer_closed() {
                *reap = true;
                continue;
            }
            if !p.end.can_start_message() {
                continue;
            }
            match p.end.claim(len).map(|_| ()) {
                Ok(()) => return Ok(idx),
                Err(WriteError::Full) => continue,
                Err(WriteError::TooLarge) => {
                    return Err(Error::MessageTooLarge { size: len, max: p.end.max_frame() })
                }
                Err(WriteError::Closed) => {
                    p.broken = true;
                    *reap = true;
                }
            }
        }
        Err(Error::WouldBlock)
    }

    /// The message just sent went to `idx`; the next goes to the one after.
    #[inline]
    pub fn sent(&mut self, idx: usize) {
        self.next = idx + 1;
    }
}
