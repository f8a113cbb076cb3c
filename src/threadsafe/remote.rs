//! A thread-safe socket's peer over the I/O thread (tcp, ipc): one of the
//! single-producer pipes the ZMTP engine serves, behind a mutex, since any
//! thread may write it. The mutex is the cost of this first step: the
//! engine reads and writes single-producer rings only, and the kernel's
//! socket dominates a tcp send anyway.

use super::core::Groups;
use super::pipe::{Refused, Taken};
use crate::pipe::{PipeEnd, WriteError};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

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

    /// Sends `prefix` then `data` as a one-frame message (`prefix`: a
    /// RADIO's group, its length first, which its engine sends as the
    /// group frame).
    pub fn try_send(&self, prefix: &[u8], data: &[u8]) -> Result<(), Refused> {
        let mut e = self.lock();
        let Some(end) = e.end.as_mut().filter(|end| !end.peer_closed()) else {
            return Err(Refused::Closed);
        };
        if !end.can_start_message() {
            end.want_room();
            return Err(Refused::Full);
        }
        let sent = if prefix.is_empty() {
            end.push(data)
        } else {
            let len = prefix.len() + data.len();
            end.claim(len).map(|buf| {
                buf[..prefix.len()].copy_from_slice(prefix);
                buf[prefix.len()..len].copy_from_slice(data);
            })
        };
        match sent {
            Ok(()) => {
                if !prefix.is_empty() {
                    end.commit(prefix.len() + data.len(), false);
                }
                Ok(())
            }
            Err(WriteError::Full) => {
                end.want_room();
                Err(Refused::Full)
            }
            Err(WriteError::TooLarge | WriteError::Closed) => Err(Refused::Closed),
        }
    }

    /// A DISH's: tells the peer's engine to send JOIN (or LEAVE) for
    /// `group`. Lost only if the DISH has SNDHWM joins and leaves queued
    /// for a peer that does not come.
    pub fn send_join(&self, join: bool, group: &[u8]) {
        let _ = self.try_send(&[u8::from(join)], group);
    }

    /// A RADIO's: applies the JOINs (`1` + group) and LEAVEs (`0` + group)
    /// the peer's engine has passed on to `groups`, the groups the RADIO
    /// sends this peer. Anything else a peer sends a RADIO is dropped.
    pub fn take_joins(&self, groups: &Groups) {
        let mut e = self.lock();
        let Some(end) = e.end.as_mut() else { return };
        let mut changed: Option<HashSet<Box<[u8]>>> = None;
        while let Ok(Some(rec)) = end.peek() {
            let payload = end.payload(&rec);
            if let (Some((&flag @ (0 | 1), group)), false) = (payload.split_first(), rec.more()) {
                let set = changed.get_or_insert_with(|| (**groups.load()).clone());
                if flag == 1 {
                    set.insert(group.into());
                } else {
                    set.remove(group);
                }
            }
            end.consume(rec);
        }
        if let Some(set) = changed {
            groups.store(Arc::new(set));
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
