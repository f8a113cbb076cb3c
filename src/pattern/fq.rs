//! Fair-queue: take one whole message from each pipe that has one, in turn,
//! so a busy peer cannot starve a quiet one.

use super::rotation::Rotation;
use super::{Io, PipeKey, ReadFrame};
use crate::error::Fail;
use crate::pipe::ring::Record;

#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    pipes: Rotation,
    /// The pipe of the message being read.
    current: Option<PipeKey>,
}

impl FairQueue {
    pub fn attach(&mut self, key: PipeKey) {
        self.pipes.attach(key);
    }

    pub fn detach(&mut self, key: PipeKey) {
        self.pipes.detach(key);
        if self.current == Some(key) {
            self.current = None;
        }
    }

    /// The next frame: the rest of the current message, or the first frame of
    /// the next pipe's message, in turn.
    #[inline(always)]
    pub fn recv(&mut self, io: &mut Io) -> Result<(PipeKey, Record), Fail> {
        if let Some(key) = self.current {
            // A message is published whole, so the rest of it is there unless
            // the peer broke the ring.
            if let Some(rec) = io.peek(key) {
                return Ok((key, rec));
            }
            self.current = None;
        }
        self.pipes
            .find_map(
                #[inline(always)]
                |key| io.peek(key).map(|rec| (key, rec)),
            )
            .ok_or(Fail::WouldBlock)
    }

    /// The next frame, handed to `read` and consumed, with whether more
    /// frames follow: [`recv`](Self::recv) and [`consumed`](Self::consumed)
    /// with one look-up of the pipe. A message whose first frame `keep`
    /// refuses is dropped whole.
    #[inline(always)]
    pub fn recv_with<R>(
        &mut self,
        io: &mut Io,
        mut keep: impl FnMut(&[u8]) -> bool,
        read: &mut impl ReadFrame<R>,
    ) -> Result<(R, bool), Fail> {
        loop {
            let starting = self.current.is_none();
            // A message is published whole, so the rest of the current one
            // is there unless the peer broke the ring.
            let mut found = self
                .current
                .and_then(|key| take(io, key, starting, &mut keep, read));
            if found.is_none() {
                self.current = None;
                found = self.pipes.find_map(
                    #[inline(always)]
                    |key| take(io, key, starting, &mut keep, read),
                );
            }
            let (key, rec, got) = found.ok_or(Fail::WouldBlock)?;
            let Some(got) = got else {
                self.skip(io, key, rec);
                continue;
            };
            self.current = rec.more().then_some(key);
            return Ok((got, rec.more()));
        }
    }

    /// The frame `rec` from `key` has been read.
    #[inline(always)]
    pub fn consumed(&mut self, io: &mut Io, key: PipeKey, rec: Record) {
        io.consume(key, rec);
        self.current = rec.more().then_some(key);
    }

    /// Whether a message is being read.
    pub fn busy(&self) -> bool {
        self.current.is_some()
    }

    /// Drops the rest of the message whose frame `rec` was just read.
    pub fn skip(&mut self, io: &mut Io, key: PipeKey, rec: Record) {
        io.skip_message(key, rec);
        self.current = None;
    }

    /// Whether a message is waiting.
    pub fn readable(&self, io: &mut Io) -> bool {
        self.current.is_some() || self.pipes.keys().iter().any(|&k| io.peek(k).is_some())
    }

    /// Drops every message already waiting, from every pipe.
    pub fn drain(&mut self, io: &mut Io) {
        while let Ok((key, rec)) = self.recv(io) {
            io.skip_message(key, rec);
            self.current = None;
        }
    }
}

/// Peeks, reads and consumes the next frame of `key` with one look-up of
/// the pipe: the frame's record and what `read` made of it, or `None` in
/// place of that when the frame starts a message (`starting`) that `keep`
/// refuses (nothing consumed then).
#[inline(always)]
#[allow(clippy::type_complexity)]
fn take<R, F: ReadFrame<R>>(
    io: &mut Io,
    key: PipeKey,
    starting: bool,
    keep: &mut impl FnMut(&[u8]) -> bool,
    read: &mut F,
) -> Option<(PipeKey, Record, Option<R>)> {
    let p = &mut io.pipes[key];
    let rec = super::peek(p, &mut io.reap)?;
    let data = p.end.payload(&rec);
    if starting && !keep(data) {
        return Some((key, rec, None));
    }
    let got = read.read(data);
    if F::PROPERTIES {
        read.properties(Some(&mut p.end));
    }
    p.end.consume(rec);
    Some((key, rec, Some(got)))
}
