//! A thread-safe socket's peer over the I/O thread (tcp): one of the
//! single-producer pipes the ZMTP engine serves, behind a mutex, since any
//! thread may write it. The mutex is the cost of this first step: the
//! engine reads and writes single-producer rings only, and the kernel's
//! socket dominates a tcp send anyway.

use super::pipe::{Refused, Taken};
use crate::pipe::{PipeEnd, WriteError};
use std::sync::{Mutex, MutexGuard};

pub(crate) struct Remote {
    end: Mutex<End>,
}

struct End {
    /// `None` once closed (dropping the end tells the I/O thread).
    end: Option<PipeEnd>,
    /// Dropping the frames of a multipart message (thread-safe sockets
    /// take single frames; libzmq's drop the others too).
    skipping: bool,
}

impl Remote {
    pub fn new(end: PipeEnd) -> Self {
        Self {
            end: Mutex::new(End {
                end: Some(end),
                skipping: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, End> {
        self.end.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_closed(&self) -> bool {
        !matches!(&self.lock().end, Some(end) if !end.peer_closed())
    }

    /// Lets go of the pipe: its engine sends what is queued (as LINGER
    /// says) and ends the connection.
    pub fn close(&self) {
        drop(self.lock().end.take());
    }

    /// Sends `data` as a one-frame message.
    pub fn try_send(&self, data: &[u8]) -> Result<(), Refused> {
        let mut e = self.lock();
        let Some(end) = e.end.as_mut().filter(|end| !end.peer_closed()) else {
            return Err(Refused::Closed);
        };
        if !end.can_start_message() {
            end.want_room();
            return Err(Refused::Full);
        }
        match end.push(data) {
            Ok(()) => Ok(()),
            Err(WriteError::Full) => {
                end.want_room();
                Err(Refused::Full)
            }
            Err(WriteError::TooLarge | WriteError::Closed) => Err(Refused::Closed),
        }
    }

    /// Reads the next single-frame message through `f`, if one is there.
    pub fn take<R>(&self, id: u32, f: impl FnOnce(u32, &[u8]) -> R) -> Taken<R> {
        let mut e = self.lock();
        let End { end, skipping } = &mut *e;
        let Some(end) = end.as_mut() else {
            return Taken::Done;
        };
        loop {
            match end.peek() {
                Ok(Some(rec)) => {
                    if *skipping || rec.more() {
                        *skipping = rec.more();
                        end.consume(rec);
                        continue;
                    }
                    let r = f(id, end.payload(&rec));
                    end.consume(rec);
                    return Taken::Message(r);
                }
                Ok(None) if end.peer_closed() => {
                    // Published before the close: visible now.
                    return match end.peek() {
                        Ok(None) | Err(_) => Taken::Done,
                        Ok(Some(_)) => Taken::Empty,
                    };
                }
                Ok(None) => return Taken::Empty,
                Err(_) => return Taken::Done,
            }
        }
    }
}
