//! PUB, XPUB, SUB and XSUB, with filtering at the publisher.
//!
//! Subscriptions travel upstream through each pipe as messages — `0x01` and
//! the topic to subscribe, `0x00` and the topic to cancel — the form ZMTP 3.0
//! uses on the wire, so a transport forwards them unchanged (or turns them
//! into 3.1's SUBSCRIBE/CANCEL commands). The publisher keeps them in a
//! [`SubscriptionTrie`] keyed by pipe and writes each message only into the
//! pipes whose subscriptions match its first frame; a pipe at its high-water
//! mark misses the message (XPUB_NODROP: the send would-blocks instead).
//!
//! A subscriber keeps its own counted subscriptions, sends each new one
//! upstream, sends a cancel only when the last reference goes, resends them
//! all to every new pipe (so they survive a reconnect), and filters what
//! arrives as well (XSUB does not). XPUB hands subscriptions to the
//! application: new topics only, every subscription with XPUB_VERBOSE, every
//! cancel too with XPUB_VERBOSER; with XPUB_MANUAL it applies none itself and
//! the application subscribes the last pipe with `set_subscribe`. As
//! libzmq's mtrie, the publisher holds a topic for a pipe once, however
//! often the pipe subscribed (a SUB counts its own and cancels once).

use super::trie::{Added, Removed, SubscriptionTrie};
use super::{Behaviour, Distribute, FairQueue, In, Io, PipeKey, ReadFrame, Slot};
use crate::error::Fail;
use std::collections::VecDeque;

const SUBSCRIBE: u8 = 1;
const CANCEL: u8 = 0;

/// PUB and XPUB.
#[derive(Debug, Default)]
pub(crate) struct Pub {
    /// XPUB: subscriptions go to the application too.
    xpub: bool,
    dist: Distribute,
    subs: SubscriptionTrie<PipeKey>,
    /// `marks[key] == mark`: pipe `key` matches the message being sent.
    marks: Vec<u32>,
    mark: u32,
    /// XPUB: frames (and their MORE flag) waiting for the application:
    /// subscriptions, and whatever else subscribers sent upstream. With
    /// XPUB_MANUAL a subscription's entry names the pipe it came from
    /// (`Some(None)`: a cancel for a pipe that went), which its receive
    /// makes the last pipe.
    pending: VecDeque<(Vec<u8>, bool, Option<Option<PipeKey>>)>,
    held: Vec<u8>,
    /// XPUB_MANUAL: the pipe the last subscription received came from.
    last_pipe: Option<PipeKey>,
    /// XPUB_MANUAL: what each pipe's subscriber subscribed to, for the
    /// cancels the application gets when the pipe goes.
    manual_subs: SubscriptionTrie<PipeKey>,
    /// A pipe came that may hold subscriptions no poke announced.
    unread: bool,
}

impl Pub {
    pub fn new(xpub: bool) -> Self {
        Self {
            xpub,
            ..Default::default()
        }
    }

    /// Reads what subscribers sent upstream and applies it, if a subscriber
    /// poked (it does after each upstream message) or a pipe is new: sending
    /// does not look at every pipe each time.
    #[inline(always)]
    fn process_subscriptions(&mut self, io: &mut Io) {
        if io.bell.take_poke() || std::mem::take(&mut self.unread) {
            self.read_upstream(io);
        }
    }

    #[inline(never)]
    fn read_upstream(&mut self, io: &mut Io) {
        for i in 0..self.dist.keys().len() {
            let key = self.dist.keys()[i];
            while let Some(rec) = io.peek(key) {
                let msg = io.payload(key, &rec);
                if !rec.more() && matches!(msg.first(), Some(&SUBSCRIBE) | Some(&CANCEL)) {
                    let msg = msg.to_vec();
                    io.consume(key, rec);
                    self.apply(io, key, msg);
                } else if self.xpub {
                    // Anything else from a subscriber goes to the
                    // application as it came, frame by frame.
                    let mut rec = rec;
                    loop {
                        let more = rec.more();
                        self.pending
                            .push_back((io.payload(key, &rec).to_vec(), more, None));
                        io.consume(key, rec);
                        match io.peek(key).filter(|_| more) {
                            Some(next) => rec = next,
                            None => break,
                        }
                    }
                } else {
                    io.skip_message(key, rec);
                }
            }
        }
    }

    fn apply(&mut self, io: &mut Io, key: PipeKey, msg: Vec<u8>) {
        let topic = &msg[1..];
        let opts = &io.opts;
        if opts.xpub_manual && self.xpub {
            if msg[0] == SUBSCRIBE {
                add_once(&mut self.manual_subs, topic, key);
            } else {
                remove_all(&mut self.manual_subs, topic, key);
            }
            self.pending.push_back((msg, false, Some(Some(key))));
            return;
        }
        // As libzmq's xpub: a cancel is told unless other pipes still hold
        // the topic (one for a topic the pipe did not hold is told too).
        let tell = if msg[0] == SUBSCRIBE {
            let added = add_once(&mut self.subs, topic, key);
            added.first_for_topic || opts.xpub_verbose || opts.xpub_verboser
        } else {
            let removed = remove_all(&mut self.subs, topic, key);
            !removed.existed || removed.last_for_topic || opts.xpub_verboser
        };
        if self.xpub && tell {
            self.pending.push_back((msg, false, None));
        }
    }

    /// Picks the pipes the message starting with `first` goes to.
    fn mark_matching(&mut self, invert: bool, first: &[u8]) {
        self.mark = self.mark.wrapping_add(1);
        if self.mark == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.mark = 1;
        }
        let (marks, mark) = (&mut self.marks, self.mark);
        self.subs.matches(first, |key| marks[key] = mark);
        if invert {
            for key in self.dist.keys() {
                marks[*key] = if marks[*key] == mark { 0 } else { mark };
            }
        }
    }
}

impl Behaviour for Pub {
    fn attach(&mut self, io: &mut Io, key: PipeKey) {
        self.dist.attach(key);
        self.unread = true;
        if self.marks.len() <= key {
            self.marks.resize(key + 1, 0);
        }
        if self.xpub {
            if let Some(welcome) = &io.opts.xpub_welcome_msg {
                let welcome = welcome.clone();
                let _ = io.write(key, &welcome, false);
            }
        }
    }

    fn detach(&mut self, io: &mut Io, key: PipeKey) {
        self.dist.detach(key);
        if self.last_pipe == Some(key) {
            self.last_pipe = None;
        }
        let cancel = |topic: &[u8]| {
            let mut msg = vec![CANCEL];
            msg.extend_from_slice(topic);
            msg
        };
        if !self.xpub {
            self.subs.remove_key(key, |_| {});
            return;
        }
        // libzmq's xpipe_terminated: with XPUB_MANUAL, a cancel for each
        // topic the subscriber held; with XPUB_VERBOSER, for each topic the
        // pipe held; else for each topic no pipe holds any more.
        let every = if io.opts.xpub_manual {
            Some((&self.manual_subs, Some(None)))
        } else {
            io.opts.xpub_verboser.then_some((&self.subs, None))
        };
        if let Some((trie, pipe)) = every {
            let mut topics = Vec::new();
            trie.for_each_topic(|topic, k, _| {
                if k == key {
                    topics.push(cancel(topic));
                }
            });
            self.pending
                .extend(topics.into_iter().map(|msg| (msg, false, pipe)));
            self.subs.remove_key(key, |_| {});
        } else {
            let pending = &mut self.pending;
            self.subs
                .remove_key(key, |topic| pending.push_back((cancel(topic), false, None)));
        }
        self.manual_subs.remove_key(key, |_| {});
    }

    fn reserve(&mut self, _io: &mut Io, _len: usize, _more: bool) -> Result<Slot, Fail> {
        Ok(Slot::Scratch)
    }

    fn send_bytes(&mut self, io: &mut Io, data: &[u8], more: bool) -> Result<(), Fail> {
        if !self.dist.in_progress() {
            self.process_subscriptions(io);
            self.mark_matching(io.opts.invert_matching, data);
            let (marks, mark) = (&self.marks, self.mark);
            let all = io.opts.xpub_nodrop && self.xpub;
            if !more && io.fits_ring(data) {
                let sent = self
                    .dist
                    .send_whole(io, all, data, |key| marks[key] == mark);
                return if sent { Ok(()) } else { Err(Fail::WouldBlock) };
            }
            if !self
                .dist
                .start(io, all, data.len(), |key| marks[key] == mark)
            {
                return Err(Fail::WouldBlock);
            }
        }
        self.dist.write(io, data, more);
        Ok(())
    }

    fn abort(&mut self, io: &mut Io) {
        self.dist.rollback(io);
    }

    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        if !self.xpub {
            return Err(Fail::NotSupported);
        }
        self.process_subscriptions(io);
        match self.pending.pop_front() {
            Some((frame, more, pipe)) => {
                if let Some(pipe) = pipe {
                    self.last_pipe = pipe;
                }
                self.held = frame;
                Ok(In::Held(more))
            }
            None => Err(Fail::WouldBlock),
        }
    }

    fn held(&self) -> &[u8] {
        &self.held
    }

    fn readable(&mut self, io: &mut Io) -> bool {
        self.process_subscriptions(io);
        self.xpub && !self.pending.is_empty()
    }

    fn writable(&mut self, io: &mut Io) -> bool {
        !(io.opts.xpub_nodrop && self.xpub) || self.dist.all_can_start(io, |_| true)
    }

    fn subscribe(&mut self, io: &mut Io, topic: &[u8], on: bool) -> Result<(), Fail> {
        // XPUB_MANUAL: the application subscribes the pipe the last
        // subscription came from (none, as libzmq: nothing happens).
        if !self.xpub || !io.opts.xpub_manual {
            return Err(Fail::NotSupported);
        }
        if let Some(key) = self.last_pipe {
            if on {
                add_once(&mut self.subs, topic, key);
            } else {
                remove_all(&mut self.subs, topic, key);
            }
        }
        Ok(())
    }
}

/// Subscribes `key` to `topic` unless it is already.
fn add_once(trie: &mut SubscriptionTrie<PipeKey>, topic: &[u8], key: PipeKey) -> Added {
    let added = trie.add(topic, key);
    if !added.first_for_key {
        trie.remove(topic, key);
    }
    added
}

/// Cancels `key`'s subscription to `topic` (every count of it).
fn remove_all(trie: &mut SubscriptionTrie<PipeKey>, topic: &[u8], key: PipeKey) -> Removed {
    loop {
        let removed = trie.remove(topic, key);
        if !removed.existed || removed.last_for_key {
            return removed;
        }
    }
}

/// SUB and XSUB.
#[derive(Debug, Default)]
pub(crate) struct Sub {
    /// XSUB: no local filter; subscriptions arrive as messages to send.
    xsub: bool,
    fq: FairQueue,
    dist: Distribute,
    subs: SubscriptionTrie<()>,
    /// XSUB: a non-subscription message upstream is being sent.
    sending_upstream: bool,
}

impl Sub {
    pub fn new(xsub: bool) -> Self {
        Self {
            xsub,
            ..Default::default()
        }
    }

    /// Sends a subscription message to every pipe. Subscriptions are not
    /// held back by the high-water mark (libzmq can drop them there; losing
    /// one silently is worse than exceeding the mark by a message).
    fn send_upstream(&mut self, io: &mut Io, msg: &[u8]) {
        for &key in self.dist.keys() {
            let _ = io.write(key, msg, false);
        }
    }

    fn change(&mut self, io: &mut Io, topic: &[u8], on: bool) {
        let mut msg = Vec::with_capacity(topic.len() + 1);
        msg.push(if on { SUBSCRIBE } else { CANCEL });
        msg.extend_from_slice(topic);
        if on {
            self.subs.add(topic, ());
            self.send_upstream(io, &msg);
        } else if self.subs.remove(topic, ()).last_for_topic {
            self.send_upstream(io, &msg);
        }
    }
}

impl Behaviour for Sub {
    fn attach(&mut self, io: &mut Io, key: PipeKey) {
        self.attach_replacing(io, key, key);
        let mut msg = Vec::new();
        self.subs.for_each_topic(|topic, (), _count| {
            msg.clear();
            msg.push(SUBSCRIBE);
            msg.extend_from_slice(topic);
            let _ = io.write(key, &msg, false);
        });
    }

    /// Our subscriptions went on through the new pipe with the rest.
    fn attach_replacing(&mut self, io: &mut Io, _old: PipeKey, new: PipeKey) {
        self.fq.attach(new);
        self.dist.attach(new);
        io.pipes[new].end.set_upstream();
    }

    fn detach(&mut self, _io: &mut Io, key: PipeKey) {
        self.fq.detach(key);
        self.dist.detach(key);
    }

    fn reserve(&mut self, _io: &mut Io, _len: usize, _more: bool) -> Result<Slot, Fail> {
        if self.xsub {
            Ok(Slot::Scratch)
        } else {
            Err(Fail::NotSupported)
        }
    }

    fn send_bytes(&mut self, io: &mut Io, data: &[u8], more: bool) -> Result<(), Fail> {
        if !self.sending_upstream && !more {
            if let Some(&flag @ (SUBSCRIBE | CANCEL)) = data.first() {
                self.change(io, &data[1..], flag == SUBSCRIBE);
                return Ok(());
            }
        }
        // Any other message goes upstream to every publisher.
        if !self.dist.in_progress() {
            self.dist.start(io, false, data.len(), |_| true);
        }
        self.dist.write(io, data, more);
        self.sending_upstream = more;
        Ok(())
    }

    fn abort(&mut self, io: &mut Io) {
        self.dist.rollback(io);
        self.sending_upstream = false;
    }

    #[inline(always)]
    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        loop {
            let starting = !self.fq.busy();
            let (key, rec) = self.fq.recv(io)?;
            if starting && !self.xsub {
                let wanted = self.subs.is_match(io.payload(key, &rec)) != io.opts.invert_matching;
                if !wanted {
                    self.fq.skip(io, key, rec);
                    continue;
                }
            }
            return Ok(In::Pipe(key as u32, rec));
        }
    }

    #[inline(always)]
    fn consumed(&mut self, io: &mut Io, frame: In) {
        if let In::Pipe(key, rec) = frame {
            self.fq.consumed(io, key as usize, rec);
        }
    }

    #[inline(always)]
    fn recv_with<R, F: ReadFrame<R>>(
        &mut self,
        io: &mut Io,
        read: &mut F,
    ) -> Result<(R, bool), Fail> {
        let (subs, all, invert) = (&self.subs, self.xsub, io.opts.invert_matching);
        self.fq
            .recv_with(io, |first| all || subs.is_match(first) != invert, read)
    }

    fn readable(&mut self, io: &mut Io) -> bool {
        // `recv` only peeks, and drops what the filter would drop on the way.
        self.recv(io).is_ok()
    }

    fn writable(&mut self, _io: &mut Io) -> bool {
        self.xsub
    }

    fn subscribe(&mut self, io: &mut Io, topic: &[u8], on: bool) -> Result<(), Fail> {
        self.change(io, topic, on);
        Ok(())
    }
}
