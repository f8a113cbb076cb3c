//! REQ and REP: the request-reply state machines of libzmq 4.3.
//!
//! REQ is a DEALER that puts an empty delimiter (and with `REQ_CORRELATE` a
//! request id before it) in front of each request, and accepts only a reply
//! that comes back through the same pipe with the same envelope. REP is a
//! fair-queued receiver that keeps each request's envelope — every frame up
//! to and including the empty delimiter — and puts it back in front of the
//! reply, which goes to the pipe the request came from.

use super::{push_by_reserve, Behaviour, FairQueue, In, Io, LoadBalance, PipeKey, ReadFrame, Slot};
use crate::error::Fail;
use crate::pipe::WriteError;
use crate::trace::dropped;

/// REQ: strict send, receive, send, receive…
#[derive(Debug, Default)]
pub(crate) struct Req {
    lb: LoadBalance,
    fq: FairQueue,
    /// A request was sent and its reply is awaited.
    receiving_reply: bool,
    /// The envelope of the request being sent is written.
    request_started: bool,
    /// The envelope of the reply being read has been checked.
    reply_started: bool,
    reply_pipe: Option<PipeKey>,
    request_id: u32,
}

impl Req {
    /// Writes the envelope of a new request into the next pipe that can take
    /// one, and drops replies still waiting from earlier requests.
    fn start_request(&mut self, io: &mut Io) -> Result<(), Fail> {
        let correlate = io.opts.req_correlate;
        let first = if correlate { 4 } else { 0 };
        let Slot::Pipe(key) = self.lb.reserve(io, first, true)? else {
            return Err(Fail::WouldBlock);
        };
        let key = key as usize;
        if correlate {
            self.request_id = self.request_id.wrapping_add(1);
            io.reserved(key)
                .copy_from_slice(&self.request_id.to_ne_bytes());
            self.lb.commit(io, Slot::Pipe(key as u32), 4, true);
            if io.claim(key, 0).is_err() {
                self.lb.rollback(io);
                return Err(Fail::WouldBlock);
            }
        }
        self.lb.commit(io, Slot::Pipe(key as u32), 0, true);
        self.request_started = true;
        self.reply_pipe = Some(key);
        self.fq.drain(io);
        Ok(())
    }

    /// Whether a request may be sent now: not while a reply is awaited,
    /// unless REQ_RELAXED, which gives up on it.
    fn may_send(&mut self, io: &Io) -> Result<(), Fail> {
        if self.receiving_reply {
            if !io.opts.req_relaxed {
                return Err(Fail::WrongState);
            }
            self.end_reply();
        }
        Ok(())
    }

    /// The reply's last frame is read: the next request may go.
    fn end_reply(&mut self) {
        self.receiving_reply = false;
        self.reply_started = false;
    }

    /// Reads and checks the envelope of the next reply from the pipe asked.
    fn start_reply(&mut self, io: &mut Io) -> Result<(), Fail> {
        loop {
            let (key, mut rec) = self.fq.recv(io)?;
            if Some(key) != self.reply_pipe {
                self.fq.skip(io, key, rec);
                continue;
            }
            if io.opts.req_correlate {
                let id_ok = rec.more() && io.payload(key, &rec) == self.request_id.to_ne_bytes();
                if !id_ok {
                    self.fq.skip(io, key, rec);
                    continue;
                }
                self.fq.consumed(io, key, rec);
                rec = match io.peek(key) {
                    Some(r) => r,
                    None => continue,
                };
            }
            if !(rec.more() && rec.is_empty()) {
                self.fq.skip(io, key, rec);
                continue;
            }
            self.fq.consumed(io, key, rec);
            self.reply_started = true;
            return Ok(());
        }
    }
}

impl Behaviour for Req {
    fn attach(&mut self, _io: &mut Io, key: PipeKey) {
        self.lb.attach(key);
        self.fq.attach(key);
    }

    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.lb.detach(key);
        self.fq.detach(key);
        if self.reply_pipe == Some(key) {
            self.reply_pipe = None;
        }
    }

    fn attach_replacing(&mut self, io: &mut Io, old: PipeKey, new: PipeKey) {
        self.attach(io, new);
        // The request went on through the new pipe: its reply comes back
        // there.
        if self.reply_pipe == Some(old) {
            self.reply_pipe = Some(new);
        }
    }

    fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        self.may_send(io)?;
        if !self.request_started {
            self.start_request(io)?;
        }
        self.lb.reserve(io, len, more)
    }

    fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        self.lb.commit(io, slot, len, more);
        if !more {
            self.receiving_reply = true;
            self.request_started = false;
            self.reply_started = false;
        }
    }

    /// A one-frame request goes out with its delimiter in one step of the
    /// ring (with REQ_CORRELATE, frame by frame).
    #[inline(always)]
    fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail> {
        if io.opts.req_correlate || self.request_started {
            return push_by_reserve(self, io, data);
        }
        self.may_send(io)?;
        // Before the request is out, so that its reply is never taken for
        // an old one.
        self.fq.drain(io);
        self.reply_pipe = Some(self.lb.push_delimited(io, data)?);
        self.receiving_reply = true;
        Ok(())
    }

    fn abort(&mut self, io: &mut Io) {
        self.lb.rollback(io);
        self.request_started = false;
    }

    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        if !self.receiving_reply {
            return Err(Fail::WrongState);
        }
        if !self.reply_started {
            self.start_reply(io)?;
        }
        let (key, rec) = self.fq.recv(io)?;
        Ok(In::Pipe(key as u32, rec))
    }

    fn consumed(&mut self, io: &mut Io, frame: In) {
        if let In::Pipe(key, rec) = frame {
            let key = key as usize;
            self.fq.consumed(io, key, rec);
            if !rec.more() {
                self.end_reply();
            }
        }
    }

    /// [`recv`](Self::recv), read and [`consumed`](Self::consumed) with
    /// one look-up of the pipe per frame.
    #[inline(always)]
    fn recv_with<R, F: ReadFrame<R>>(
        &mut self,
        io: &mut Io,
        read: &mut F,
    ) -> Result<(R, bool), Fail> {
        if !self.receiving_reply {
            return Err(Fail::WrongState);
        }
        if !self.reply_started {
            self.start_reply(io)?;
        }
        let (got, more) = self.fq.recv_with(io, |_| true, read)?;
        if !more {
            self.end_reply();
        }
        Ok((got, more))
    }

    fn readable(&mut self, io: &mut Io) -> bool {
        self.receiving_reply && self.fq.readable(io)
    }

    fn writable(&mut self, io: &mut Io) -> bool {
        (!self.receiving_reply || io.opts.req_relaxed) && self.lb.writable(io)
    }
}

/// REP: receive a request, send its reply, receive…
#[derive(Debug, Default)]
pub(crate) struct Rep {
    fq: FairQueue,
    /// A request was read and its reply is due.
    sending_reply: bool,
    /// The envelope of the request being read has been read.
    request_started: bool,
    envelope: Vec<Vec<u8>>,
    reply_pipe: Option<PipeKey>,
    /// The envelope of the reply being sent is written (or dropped).
    reply_started: bool,
    /// The reply being sent goes nowhere: its asker is gone or full.
    dropping: bool,
}

impl Rep {
    /// Reads the envelope of the next well-formed request; malformed ones
    /// (no empty delimiter) are dropped.
    fn start_request(&mut self, io: &mut Io) -> Result<(), Fail> {
        loop {
            let (key, mut rec) = self.fq.recv(io)?;
            self.envelope.clear();
            let delimited = loop {
                if !rec.more() {
                    dropped!(
                        endpoint = %io.pipes[key].endpoint,
                        reason = "a request without an envelope (no empty delimiter)"
                    );
                    self.fq.skip(io, key, rec);
                    break false;
                }
                let bottom = rec.is_empty();
                self.envelope.push(io.payload(key, &rec).to_vec());
                self.fq.consumed(io, key, rec);
                if bottom {
                    break true;
                }
                match io.peek(key) {
                    Some(r) => rec = r,
                    None => break false,
                }
            };
            if delimited {
                self.reply_pipe = Some(key);
                self.request_started = true;
                return Ok(());
            }
        }
    }

    /// The request's last frame is read: its reply is due.
    fn end_request(&mut self) {
        self.sending_reply = true;
        self.request_started = false;
    }

    /// Writes the saved envelope in front of the reply, or decides to drop
    /// the reply (the asker is gone, or at its high-water mark: REP, like
    /// libzmq's, never blocks on a reply).
    fn start_reply(&mut self, io: &mut Io) {
        self.reply_started = true;
        self.dropping = true;
        let Some(key) = self.reply_pipe else {
            dropped!(reason = "the reply's asker is gone");
            return;
        };
        if !io.can_start(key) {
            dropped!(endpoint = %io.pipes[key].endpoint, reason = io.refusal(key));
            return;
        }
        for frame in &self.envelope {
            if io.write(key, frame, true).is_err() {
                dropped!(
                    endpoint = %io.pipes[key].endpoint,
                    reason = "no room in the asker's ring"
                );
                io.pipes[key].end.rollback();
                return;
            }
        }
        self.dropping = false;
    }
}

impl Behaviour for Rep {
    fn attach(&mut self, _io: &mut Io, key: PipeKey) {
        self.fq.attach(key);
    }

    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.fq.detach(key);
        if self.reply_pipe == Some(key) {
            self.reply_pipe = None;
            self.dropping = true;
        }
    }

    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        if self.sending_reply {
            return Err(Fail::WrongState);
        }
        if !self.request_started {
            self.start_request(io)?;
        }
        let (key, rec) = self.fq.recv(io)?;
        Ok(In::Pipe(key as u32, rec))
    }

    fn consumed(&mut self, io: &mut Io, frame: In) {
        if let In::Pipe(key, rec) = frame {
            let key = key as usize;
            self.fq.consumed(io, key, rec);
            if !rec.more() {
                self.end_request();
            }
        }
    }

    /// [`recv`](Self::recv), read and [`consumed`](Self::consumed) with
    /// one look-up of the pipe per frame.
    #[inline(always)]
    fn recv_with<R, F: ReadFrame<R>>(
        &mut self,
        io: &mut Io,
        read: &mut F,
    ) -> Result<(R, bool), Fail> {
        if self.sending_reply {
            return Err(Fail::WrongState);
        }
        if !self.request_started {
            self.start_request(io)?;
        }
        let (got, more) = self.fq.recv_with(io, |_| true, read)?;
        if !more {
            self.end_request();
        }
        Ok((got, more))
    }

    fn reserve(&mut self, io: &mut Io, len: usize, more: bool) -> Result<Slot, Fail> {
        if !self.sending_reply {
            return Err(Fail::WrongState);
        }
        if !self.reply_started {
            self.start_reply(io);
        }
        let Some(key) = self.reply_pipe.filter(|_| !self.dropping) else {
            return Ok(Slot::Discard);
        };
        match io.claim(key, len) {
            Ok(()) => Ok(Slot::Pipe(key as u32)),
            Err(WriteError::TooLarge) => {
                let max = io.pipes[key].end.max_frame() as u32;
                io.pipes[key].end.rollback();
                self.dropping = true;
                if !more {
                    self.commit(io, Slot::Discard, 0, false);
                }
                Err(Fail::TooLarge { max })
            }
            Err(_) => {
                dropped!(
                    endpoint = %io.pipes[key].endpoint,
                    reason = "no room for the rest of the reply"
                );
                io.pipes[key].end.rollback();
                self.dropping = true;
                Ok(Slot::Discard)
            }
        }
    }

    fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, more: bool) {
        if let Slot::Pipe(key) = slot {
            io.commit(key as usize, len, more);
        }
        if !more {
            self.sending_reply = false;
            self.reply_started = false;
            self.dropping = false;
        }
    }

    /// A one-frame reply to a REQ (whose envelope is the delimiter alone)
    /// goes out with it in one step of the ring; any other, frame by frame.
    /// Dropped, never waited for, where the asker is gone or full.
    #[inline(always)]
    fn push(&mut self, io: &mut Io, data: &[u8]) -> Result<(), Fail> {
        let to_req = matches!(&self.envelope[..], [delimiter] if delimiter.is_empty());
        if !self.sending_reply || self.reply_started || !to_req {
            return push_by_reserve(self, io, data);
        }
        let sent = match self.reply_pipe {
            None => {
                dropped!(reason = "the reply's asker is gone");
                Ok(())
            }
            Some(key) => match io.push_delimited_if_startable(key, data) {
                Some(Ok(())) => Ok(()),
                None => {
                    dropped!(endpoint = %io.pipes[key].endpoint, reason = io.refusal(key));
                    Ok(())
                }
                Some(Err(WriteError::TooLarge)) => Err(Fail::TooLarge {
                    max: io.pipes[key].end.max_frame() as u32,
                }),
                Some(Err(_)) => {
                    dropped!(
                        endpoint = %io.pipes[key].endpoint,
                        reason = "no room in the asker's ring"
                    );
                    Ok(())
                }
            },
        };
        self.commit(io, Slot::Discard, 0, false);
        sent
    }

    fn abort(&mut self, io: &mut Io) {
        if let Some(key) = self
            .reply_pipe
            .filter(|_| self.reply_started && !self.dropping)
        {
            io.pipes[key].end.rollback();
        }
        self.reply_started = false;
        self.dropping = false;
    }

    fn readable(&mut self, io: &mut Io) -> bool {
        !self.sending_reply && self.fq.readable(io)
    }

    fn writable(&mut self, _io: &mut Io) -> bool {
        self.sending_reply
    }
}
