//! Traffic after the handshake: message frames both ways, subscriptions in
//! the form the peer's version expects, and heartbeats.

use std::collections::VecDeque;
use std::time::Instant;

use super::command::{split_name, Command, MAX_PING_CONTEXT};
use super::curve::MessageCipher;
use super::error::{escape, ZmtpError};
use super::frame::{encode_message, parse_header, FrameKind};
use super::heartbeat::{Due, Heartbeat, HeartbeatConfig};

/// What a [`Session`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A message frame arrived; `more` says further frames of the same
    /// message follow. Frames of a ZMTP 3.0 peer's subscriptions (`0x01` /
    /// `0x00` + topic) arrive as message frames too: they are the XPUB/PUB
    /// pattern's to read.
    Message {
        /// The frame body.
        payload: Vec<u8>,
        /// The MORE flag.
        more: bool,
    },
    /// The peer sent a SUBSCRIBE command (ZMTP 3.1).
    Subscribe(Vec<u8>),
    /// The peer sent a CANCEL command (ZMTP 3.1).
    Cancel(Vec<u8>),
    /// The peer (a DISH) sent a JOIN command for the group.
    Join(Vec<u8>),
    /// The peer (a DISH) sent a LEAVE command for the group.
    Leave(Vec<u8>),
    /// The connection failed; close it after flushing what
    /// [`poll_transmit`](Session::poll_transmit) still holds.
    Failed(ZmtpError),
}

/// What [`Session::read`] finds at the front of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The input ends inside a frame: read again once it holds at least this
    /// many octets.
    Need(usize),
    /// A message frame, borrowed from the input (see [`SessionEvent::Message`]).
    Message {
        /// The frame body.
        payload: &'a [u8],
        /// The MORE flag.
        more: bool,
    },
    /// The peer sent a SUBSCRIBE command (ZMTP 3.1).
    Subscribe(Vec<u8>),
    /// The peer sent a CANCEL command (ZMTP 3.1).
    Cancel(Vec<u8>),
    /// The peer (a DISH) sent a JOIN command for the group.
    Join(Vec<u8>),
    /// The peer (a DISH) sent a LEAVE command for the group.
    Leave(Vec<u8>),
    /// A command the session dealt with itself (a PING answered, a PONG).
    Handled,
}

/// One connection after a successful handshake.
///
/// Bytes from the peer are taken in place with [`read`](Self::read), one
/// frame at a time, by a caller that keeps them in its own buffer; or they go
/// in through [`feed`](Self::feed), which copies, and events come out of
/// [`poll_event`](Self::poll_event). After a CURVE handshake every frame
/// travels in a MESSAGE command, encrypted and decrypted in place. Frames to send are encoded into one
/// buffer that [`poll_transmit`](Self::poll_transmit) hands over, so many
/// small frames leave in one write. Time only enters as arguments: call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`next_timeout`](Self::next_timeout).
/// Octets of output below which a PING's PONG is queued at once, not
/// merged with the next PING's (see `Session::pong`).
const PONG_BACKLOG: usize = 4096;

#[derive(Debug)]
pub struct Session {
    max_frame_size: Option<u64>,
    /// [`feed`](Self::feed)'s octets not yet taken: the start of a frame.
    unread: Vec<u8>,
    out: Vec<u8>,
    /// The context of the PONG owed for the latest PING, encoded when the
    /// output is taken or the next PING comes: each PING is answered (as
    /// libzmq's engine writes a PONG for each as it reads it), but a peer
    /// that floods PINGs without taking its PONGs gets [`PONG_BACKLOG`]
    /// octets of them and then one for the latest.
    pong: Option<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    minor: u8,
    heartbeat: Heartbeat,
    error: Option<ZmtpError>,
    /// CURVE: the MESSAGE cipher.
    cipher: Option<MessageCipher>,
    /// CURVE: the frame at the front of the input, decrypted in place and
    /// handed out, not yet [`taken`](Self::taken).
    front: Option<Front>,
}

/// A decrypted frame at the front of the caller's input.
#[derive(Debug, Clone, Copy)]
struct Front {
    /// The whole (MESSAGE) frame's length.
    len: usize,
    /// Where its frame body (a message's payload, a topic) starts.
    at: usize,
    kind: FrontKind,
}

#[derive(Debug, Clone, Copy)]
enum FrontKind {
    Message { more: bool },
    Subscribe,
    Cancel,
    Join,
    Leave,
}

impl Session {
    /// A session with a peer speaking ZMTP 3.`minor`, ready at `now`, for a
    /// connection whose handshake happened elsewhere.
    /// [`Handshake::into_session`](super::Handshake::into_session) is the
    /// usual way to get one.
    pub fn new(
        minor: u8,
        max_frame_size: Option<u64>,
        heartbeat: &HeartbeatConfig,
        now: Instant,
    ) -> Session {
        Session::resume(max_frame_size, Vec::new(), minor, heartbeat, now, None)
    }

    /// Continues a handshake's connection (stopped between two frames) with
    /// its unsent output.
    pub(crate) fn resume(
        max_frame_size: Option<u64>,
        out: Vec<u8>,
        minor: u8,
        heartbeat: &HeartbeatConfig,
        now: Instant,
        cipher: Option<MessageCipher>,
    ) -> Session {
        Session {
            max_frame_size,
            unread: Vec::new(),
            out,
            pong: None,
            events: VecDeque::new(),
            minor,
            // A ZMTP 3.0 peer is PINGed too, as libzmq does (its 3.0
            // framing has the command flag; RFC 37 names the commands).
            heartbeat: Heartbeat::new(heartbeat, now),
            error: None,
            cipher,
            front: None,
        }
    }

    /// Whether frames are encrypted (the handshake was CURVE's).
    pub fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// The ZMTP 3 minor version both sides speak (0 or 1).
    pub fn minor_version(&self) -> u8 {
        self.minor
    }

    /// The error the session failed with, if it did.
    pub fn error(&self) -> Option<&ZmtpError> {
        self.error.as_ref()
    }

    /// Reads the frame at the front of `input`, octets that arrived from the
    /// peer by `now`, and returns its length with what it holds. An
    /// encrypted (CURVE) frame is decrypted in place, which is why `input`
    /// is mutable; a plain one is left as it is.
    ///
    /// A message, SUBSCRIBE or CANCEL is left for the caller: it takes the
    /// octets once it has passed the frame on, and then calls
    /// [`taken`](Self::taken); until then it may read the same frame again,
    /// with the same octets at the front of `input`. Other commands are
    /// acted on at once (a PING makes a PONG owed; a later PING's replaces it
    /// until the output is taken) and their octets must be taken. An error
    /// fails the session, for good.
    pub fn read<'a>(
        &mut self,
        input: &'a mut [u8],
        now: Instant,
    ) -> Result<(usize, Incoming<'a>), ZmtpError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !input.is_empty() {
            self.heartbeat.on_traffic();
        }
        self.read_frame(input, now).map_err(|e| self.fail(e))
    }

    /// For a caller that reads a large message body straight into its own
    /// place: the header of the message frame at the front of `input`, as
    /// `(header_len, body_len, more)`, if it is complete and valid (never
    /// for an encrypted session, whose frames must be decrypted first). A
    /// message frame changes nothing in the session, so the caller may take
    /// it over from here; it reports the body's octets with
    /// [`note_traffic`](Self::note_traffic).
    pub fn message_header(&self, input: &[u8]) -> Option<(usize, usize, bool)> {
        if self.cipher.is_some() {
            // Encrypted: a frame's body is a MESSAGE, not the payload.
            return None;
        }
        match parse_header(input, self.max_frame_size) {
            Ok(Some(h)) => match h.kind {
                FrameKind::Message { more } => Some((h.header_len, h.body_len, more)),
                FrameKind::Command => None,
            },
            _ => None,
        }
    }

    /// Octets arrived that the caller took itself (a body read in place):
    /// the peer is alive.
    pub fn note_traffic(&mut self) {
        self.heartbeat.on_traffic();
    }

    /// The caller took the frame [`read`](Self::read) handed it: the next
    /// read starts at the next frame. Only encrypted sessions need to know
    /// (a plain frame reads the same twice); calling it always is right.
    pub fn taken(&mut self) {
        self.front = None;
    }

    fn read_frame<'a>(
        &mut self,
        input: &'a mut [u8],
        now: Instant,
    ) -> Result<(usize, Incoming<'a>), ZmtpError> {
        if let Some(front) = self.front {
            // Read again: the same frame, decrypted already.
            if front.at <= front.len && front.len <= input.len() {
                return Ok((front.len, front.incoming(&input[front.at..front.len])));
            }
            self.front = None;
        }
        let Some(header) = parse_header(input, self.max_frame_size)? else {
            return Ok((0, Incoming::Need(input.len() + 1)));
        };
        let len = header.frame_len();
        if input.len() < len {
            return Ok((0, Incoming::Need(len)));
        }
        if let Some(cipher) = &mut self.cipher {
            // A MESSAGE comes in a message frame (libzmq's way) or a command
            // frame (RFC 26's word); either way only the boxed flags count.
            let opened = cipher.open_frame(&mut input[header.header_len..len])?;
            let at = header.header_len + opened.at;
            let kind = if opened.command {
                let body = &input[at..len];
                match Command::decode(body)? {
                    Command::Subscribe(_) => FrontKind::Subscribe,
                    Command::Cancel(_) => FrontKind::Cancel,
                    Command::Join(_) => FrontKind::Join,
                    Command::Leave(_) => FrontKind::Leave,
                    cmd => {
                        self.on_command(cmd, now)?;
                        return Ok((len, Incoming::Handled));
                    }
                }
            } else {
                FrontKind::Message { more: opened.more }
            };
            let at = match kind {
                FrontKind::Message { .. } => at,
                // The topic follows the command's name.
                _ => at + 1 + split_name(&input[at..len])?.0.len(),
            };
            let front = Front { len, at, kind };
            self.front = Some(front);
            return Ok((len, front.incoming(&input[at..len])));
        }
        let body = &input[header.header_len..len];
        let incoming = match header.kind {
            FrameKind::Message { more } => Incoming::Message {
                payload: body,
                more,
            },
            FrameKind::Command => match Command::decode(body)? {
                Command::Subscribe(topic) => Incoming::Subscribe(topic),
                Command::Cancel(topic) => Incoming::Cancel(topic),
                Command::Join(group) => Incoming::Join(group),
                Command::Leave(group) => Incoming::Leave(group),
                cmd => {
                    self.on_command(cmd, now)?;
                    Incoming::Handled
                }
            },
        };
        Ok((len, incoming))
    }

    /// Takes octets that arrived from the peer at `now`, cut anywhere, and
    /// turns the frames they complete into events (copies of the bodies);
    /// PINGs make a PONG owed (see [`read`](Self::read)). Returns the error
    /// if the connection failed, now or before.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Result<(), ZmtpError> {
        let mut unread = std::mem::take(&mut self.unread);
        unread.extend_from_slice(bytes);
        let mut at = 0;
        let result = loop {
            let (n, incoming) = match self.read(&mut unread[at..], now) {
                Ok(step) => step,
                Err(e) => break Err(e),
            };
            at += n;
            self.front = None;
            self.events.push_back(match incoming {
                Incoming::Need(_) => break Ok(()),
                Incoming::Message { payload, more } => SessionEvent::Message {
                    payload: payload.to_vec(),
                    more,
                },
                Incoming::Subscribe(topic) => SessionEvent::Subscribe(topic),
                Incoming::Cancel(topic) => SessionEvent::Cancel(topic),
                Incoming::Join(group) => SessionEvent::Join(group),
                Incoming::Leave(group) => SessionEvent::Leave(group),
                Incoming::Handled => continue,
            });
        };
        unread.drain(..at);
        self.unread = unread;
        result
    }

    fn on_command(&mut self, cmd: Command, now: Instant) -> Result<(), ZmtpError> {
        match cmd {
            Command::Ping {
                ttl_deciseconds,
                mut context,
            } => {
                self.heartbeat.on_ping(ttl_deciseconds, now);
                context.truncate(MAX_PING_CONTEXT);
                if self.out.len() < PONG_BACKLOG {
                    self.queue_pong();
                }
                self.pong = Some(context);
            }
            Command::Error { reason } => return Err(ZmtpError::PeerError(escape(&reason))),
            // PONG only shows life, which any traffic does; other commands
            // (a repeated READY, ones from later versions) are ignored, as
            // libzmq ignores them.
            _ => {}
        }
        Ok(())
    }

    /// Records the first failure, reported once as an event.
    fn fail(&mut self, e: ZmtpError) -> ZmtpError {
        if self.error.is_none() {
            self.error = Some(e.clone());
            self.events.push_back(SessionEvent::Failed(e.clone()));
        }
        e
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Queues one message frame (encrypted in a MESSAGE, after CURVE).
    /// Nothing is queued once the session failed.
    pub fn send_frame(&mut self, payload: &[u8], more: bool) {
        if self.error.is_some() {
            return;
        }
        match &mut self.cipher {
            None => encode_message(&mut self.out, payload, more),
            Some(c) => {
                if let Err(e) = c.seal_frame(&mut self.out, false, more, &[payload]) {
                    self.fail(e);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn send_command_for_tests(&mut self, cmd: &Command) {
        self.send_command(cmd);
    }

    /// Queues a command frame (in a MESSAGE with the command flag, after
    /// CURVE).
    fn send_command(&mut self, cmd: &Command) {
        match &mut self.cipher {
            None => cmd.encode_frame(&mut self.out),
            Some(c) => {
                let mut body = Vec::with_capacity(cmd.body_len());
                cmd.encode_body(&mut body);
                if let Err(e) = c.seal_frame(&mut self.out, true, false, &[&body]) {
                    self.fail(e);
                }
            }
        }
    }

    /// Queues a whole message: MORE on every frame but the last.
    pub fn send_message<B: AsRef<[u8]>>(&mut self, frames: &[B]) {
        let last = frames.len().saturating_sub(1);
        for (i, f) in frames.iter().enumerate() {
            self.send_frame(f.as_ref(), i < last);
        }
    }

    /// Queues a subscription to `topic`: a SUBSCRIBE command for a ZMTP 3.1
    /// peer, a `0x01` + topic message for a 3.0 peer.
    pub fn subscribe(&mut self, topic: &[u8]) {
        self.send_subscription(true, topic);
    }

    /// Queues the cancellation of one subscription to `topic`: a CANCEL
    /// command for a ZMTP 3.1 peer, a `0x00` + topic message for a 3.0 peer.
    pub fn cancel(&mut self, topic: &[u8]) {
        self.send_subscription(false, topic);
    }

    /// Queues a JOIN command for `group` (a DISH's; libzmq has RADIO and
    /// DISH over ZMTP 3.1 only).
    pub fn join(&mut self, group: &[u8]) {
        if self.error.is_none() {
            self.send_command(&Command::Join(group.to_vec()));
        }
    }

    /// Queues a LEAVE command for `group`.
    pub fn leave(&mut self, group: &[u8]) {
        if self.error.is_none() {
            self.send_command(&Command::Leave(group.to_vec()));
        }
    }

    fn send_subscription(&mut self, subscribe: bool, topic: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.minor >= 1 {
            let topic = topic.to_vec();
            let cmd = if subscribe {
                Command::Subscribe(topic)
            } else {
                Command::Cancel(topic)
            };
            self.send_command(&cmd);
        } else {
            let mut body = Vec::with_capacity(1 + topic.len());
            body.push(u8::from(subscribe));
            body.extend_from_slice(topic);
            self.send_frame(&body, false);
        }
    }

    /// All octets queued for the peer, if any, in one buffer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.queue_pong();
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    fn queue_pong(&mut self) {
        if let Some(context) = self.pong.take() {
            if self.error.is_none() {
                self.send_command(&Command::Pong { context });
            }
        }
    }

    /// Moves all octets queued for the peer to the end of `out`. Buffers
    /// are swapped, not copied, when `out` is empty, so a caller that writes
    /// everything out each time keeps reusing two allocations.
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) {
        self.queue_pong();
        if out.is_empty() {
            std::mem::swap(out, &mut self.out);
        } else {
            out.extend_from_slice(&self.out);
            self.out.clear();
        }
    }

    /// How many octets are queued for the peer.
    pub fn pending_transmit(&self) -> usize {
        let sealed = if self.cipher.is_some() {
            super::curve::MESSAGE_OVERHEAD
        } else {
            0
        };
        let pong = self.pong.as_ref().map_or(0, |c| 2 + 5 + c.len() + sealed);
        self.out.len() + pong
    }

    /// Runs the heartbeat timers due at `now`: queues a PING, or fails the
    /// session with [`ZmtpError::HeartbeatTimeout`] (reported as an event).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.error.is_some() {
            return;
        }
        match self.heartbeat.poll(now) {
            Ok(Some(Due::Ping(ttl_deciseconds))) => self.send_command(&Command::Ping {
                ttl_deciseconds,
                context: Vec::new(),
            }),
            Ok(None) => {}
            Err(e) => {
                self.fail(e);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work, if ever.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            None
        } else {
            self.heartbeat.next_timeout()
        }
    }
}

impl Front {
    /// What the frame holds, from its body.
    fn incoming(self, body: &[u8]) -> Incoming<'_> {
        match self.kind {
            FrontKind::Message { more } => Incoming::Message {
                payload: body,
                more,
            },
            FrontKind::Subscribe => Incoming::Subscribe(body.to_vec()),
            FrontKind::Cancel => Incoming::Cancel(body.to_vec()),
            FrontKind::Join => Incoming::Join(body.to_vec()),
            FrontKind::Leave => Incoming::Leave(body.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::zmtp::frame::{encode_command, Frame, FrameDecoder};

    fn decode(bytes: &[u8]) -> Vec<Frame> {
        let mut d = FrameDecoder::new(None);
        let mut rest = bytes;
        let mut frames = Vec::new();
        while let (n, Some(f)) = d.decode(rest).unwrap() {
            rest = &rest[n..];
            frames.push(f);
        }
        assert!(rest.is_empty() && d.is_at_boundary());
        frames
    }

    fn events(s: &mut Session) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn msg(payload: &[u8], more: bool) -> SessionEvent {
        SessionEvent::Message {
            payload: payload.to_vec(),
            more,
        }
    }

    #[test]
    fn batches_outgoing_frames_into_one_buffer() {
        let t0 = Instant::now();
        let mut s = Session::new(1, None, &HeartbeatConfig::default(), t0);
        assert_eq!(s.poll_transmit(), None);
        s.send_message(&[&b"id"[..], b"", b"body"]);
        s.send_frame(b"single", false);
        s.send_message::<&[u8]>(&[]);
        assert_eq!(s.pending_transmit(), 4 + 2 + 6 + 8);
        let out = s.poll_transmit().unwrap();
        assert_eq!(
            decode(&out),
            vec![
                Frame::message(b"id".to_vec(), true),
                Frame::message(Vec::new(), true),
                Frame::message(b"body".to_vec(), false),
                Frame::message(b"single".to_vec(), false),
            ]
        );
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn incoming_frames_cut_anywhere() {
        let t0 = Instant::now();
        let mut wire = Vec::new();
        encode_message(&mut wire, b"a", true);
        encode_message(&mut wire, &[9; 300], false);
        encode_message(&mut wire, b"\x01topic", false);
        let mut s = Session::new(1, None, &HeartbeatConfig::default(), t0);
        for b in &wire {
            s.feed(std::slice::from_ref(b), t0).unwrap();
        }
        assert_eq!(
            events(&mut s),
            vec![
                msg(b"a", true),
                msg(&[9; 300], false),
                msg(b"\x01topic", false)
            ]
        );
    }

    #[test]
    fn subscriptions_follow_the_peer_version() {
        let t0 = Instant::now();
        let mut v31 = Session::new(1, None, &HeartbeatConfig::default(), t0);
        v31.subscribe(b"A");
        v31.cancel(b"");
        assert_eq!(
            v31.poll_transmit().unwrap(),
            b"\x04\x0b\x09SUBSCRIBEA\x04\x07\x06CANCEL"
        );
        let mut v30 = Session::new(0, None, &HeartbeatConfig::default(), t0);
        v30.subscribe(b"A");
        v30.cancel(b"B");
        assert_eq!(v30.poll_transmit().unwrap(), b"\x00\x02\x01A\x00\x02\x00B");
    }

    #[test]
    fn incoming_subscribe_and_cancel_commands() {
        let t0 = Instant::now();
        let mut s = Session::new(1, None, &HeartbeatConfig::default(), t0);
        let mut wire = Vec::new();
        Command::Subscribe(b"news".to_vec()).encode_frame(&mut wire);
        Command::Cancel(b"news".to_vec()).encode_frame(&mut wire);
        Command::Pong {
            context: Vec::new(),
        }
        .encode_frame(&mut wire);
        Command::Unknown {
            name: b"FUTURE".to_vec(),
            data: b"g".to_vec(),
        }
        .encode_frame(&mut wire);
        s.feed(&wire, t0).unwrap();
        assert_eq!(
            events(&mut s),
            vec![
                SessionEvent::Subscribe(b"news".to_vec()),
                SessionEvent::Cancel(b"news".to_vec())
            ]
        );
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn join_and_leave_both_ways() {
        let t0 = Instant::now();
        let mut dish = Session::new(1, None, &HeartbeatConfig::default(), t0);
        dish.join(b"tv");
        dish.leave(b"tv");
        let wire = dish.poll_transmit().unwrap();
        assert_eq!(wire, b"\x04\x07\x04JOINtv\x04\x08\x05LEAVEtv");
        let mut radio = Session::new(1, None, &HeartbeatConfig::default(), t0);
        radio.feed(&wire, t0).unwrap();
        assert_eq!(
            events(&mut radio),
            vec![
                SessionEvent::Join(b"tv".to_vec()),
                SessionEvent::Leave(b"tv".to_vec())
            ]
        );
    }

    #[test]
    fn ping_gets_a_pong_echoing_at_most_16_octets() {
        let t0 = Instant::now();
        let mut s = Session::new(1, None, &HeartbeatConfig::default(), t0);
        let mut wire = Vec::new();
        encode_command(&mut wire, b"\x04PING\x00\x00ctx");
        s.feed(&wire, t0).unwrap();
        let mut out = s.poll_transmit().unwrap();
        let mut long = b"\x04PING\x00\x00".to_vec();
        long.extend_from_slice(&[5; 20]);
        let mut wire = Vec::new();
        encode_command(&mut wire, &long);
        s.feed(&wire, t0).unwrap();
        s.transmit_into(&mut out);
        let mut pong2 = b"\x04PONG".to_vec();
        pong2.extend_from_slice(&[5; 16]);
        assert_eq!(
            decode(&out),
            vec![
                Frame::command(b"\x04PONGctx".to_vec()),
                Frame::command(pong2)
            ]
        );
        assert!(events(&mut s).is_empty());
    }

    #[test]
    fn a_ping_flood_owes_a_bounded_backlog_of_pongs() {
        let t0 = Instant::now();
        let mut s = Session::new(1, None, &HeartbeatConfig::default(), t0);
        let mut wire = Vec::new();
        for i in 0..10_000u16 {
            let mut ping = b"\x04PING\x00\x00".to_vec();
            ping.extend_from_slice(&i.to_be_bytes());
            encode_command(&mut wire, &ping);
        }
        s.feed(&wire, t0).unwrap();
        // PONGs up to the backlog, then only the latest PING's.
        let out = s.poll_transmit().unwrap();
        assert!(out.len() <= PONG_BACKLOG + 2 * 9, "{}", out.len());
        assert!(out.starts_with(b"\x04\x07\x04PONG\x00\x00\x04\x07\x04PONG\x00\x01"));
        assert!(out.ends_with(b"\x04\x07\x04PONG\x27\x0f"));
        assert_eq!(s.pending_transmit(), 0);
    }

    #[test]
    fn each_ping_is_answered() {
        // libzmq's test_heartbeats: two PINGs in one read, two PONGs, each
        // with its context (at most 16 octets of it).
        let t0 = Instant::now();
        let mut s = Session::new(0, None, &HeartbeatConfig::default(), t0);
        let mut wire = Vec::new();
        encode_command(&mut wire, b"\x04PING\x00\x00LOL");
        let mut long = b"\x04PING\x00\x00LOL".to_vec();
        long.extend_from_slice(&[b'z'; 55]);
        encode_command(&mut wire, &long);
        s.feed(&wire, t0).unwrap();
        let mut want = Vec::new();
        encode_command(&mut want, b"\x04PONGLOL");
        let mut pong = b"\x04PONGLOL".to_vec();
        pong.extend_from_slice(&[b'z'; 13]);
        encode_command(&mut want, &pong);
        assert_eq!(s.poll_transmit().unwrap(), want);
    }

    #[test]
    fn sends_pings_and_times_out() {
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        let hb = HeartbeatConfig {
            interval: Some(100 * ms),
            timeout: Some(300 * ms),
            ttl: 2000 * ms,
        };
        let mut s = Session::new(1, None, &hb, t0);
        assert_eq!(s.next_timeout(), Some(t0 + 100 * ms));
        s.handle_timeout(t0 + 50 * ms);
        assert_eq!(s.poll_transmit(), None);
        s.handle_timeout(t0 + 100 * ms);
        assert_eq!(s.poll_transmit().unwrap(), b"\x04\x07\x04PING\x00\x14");
        // Traffic from the peer keeps the connection alive.
        let mut pong = Vec::new();
        encode_command(&mut pong, b"\x04PONG");
        s.feed(&pong, t0 + 150 * ms).unwrap();
        s.handle_timeout(t0 + 200 * ms);
        s.handle_timeout(t0 + 300 * ms);
        s.handle_timeout(t0 + 400 * ms);
        assert_eq!(s.next_timeout(), Some(t0 + 500 * ms));
        s.handle_timeout(t0 + 500 * ms);
        assert_eq!(
            events(&mut s),
            vec![SessionEvent::Failed(ZmtpError::HeartbeatTimeout)]
        );
        assert_eq!(s.next_timeout(), None);
        assert_eq!(s.feed(&pong, t0), Err(ZmtpError::HeartbeatTimeout));
        assert_eq!(s.error(), Some(&ZmtpError::HeartbeatTimeout));
        // Nothing more is queued or reported.
        let _ = s.poll_transmit();
        s.send_frame(b"x", false);
        s.subscribe(b"x");
        assert_eq!(s.poll_transmit(), None);
        assert!(events(&mut s).is_empty());
    }

    #[test]
    fn a_3_0_peer_is_pinged_and_its_pings_are_answered() {
        // As libzmq: HEARTBEAT_IVL applies whatever the peer's minor version.
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        let hb = HeartbeatConfig {
            interval: Some(10 * ms),
            ..HeartbeatConfig::default()
        };
        let mut s = Session::new(0, None, &hb, t0);
        assert_eq!(s.minor_version(), 0);
        assert_eq!(s.next_timeout(), Some(t0 + 10 * ms));
        let mut ping = Vec::new();
        encode_command(&mut ping, b"\x04PING\x00\x0a");
        s.feed(&ping, t0).unwrap();
        assert_eq!(s.poll_transmit().unwrap(), b"\x04\x05\x04PONG");
        s.handle_timeout(t0 + 10 * ms);
        assert_eq!(s.poll_transmit().unwrap(), b"\x04\x07\x04PING\x00\x00");
        // Silent past the timeout (the interval): dropped.
        s.handle_timeout(t0 + 20 * ms);
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::Failed(ZmtpError::HeartbeatTimeout))
        );
    }

    #[test]
    fn protocol_errors_fail_the_session() {
        let t0 = Instant::now();
        let cases: Vec<(Vec<u8>, ZmtpError)> = vec![
            (vec![0x08, 0], ZmtpError::ReservedFlags(0x08)),
            (
                vec![0x00, 200],
                ZmtpError::FrameTooLarge {
                    size: 200,
                    max: 100,
                },
            ),
            (
                b"\x04\x05\x04PING".to_vec(),
                ZmtpError::MalformedCommand("PING without a TTL"),
            ),
            (
                b"\x04\x0a\x05ERROR\x03bye".to_vec(),
                ZmtpError::PeerError("bye".into()),
            ),
        ];
        for (wire, want) in cases {
            let mut s = Session::new(1, Some(100), &HeartbeatConfig::default(), t0);
            let mut input = b"\x00\x02ok".to_vec();
            input.extend_from_slice(&wire);
            assert_eq!(s.feed(&input, t0), Err(want.clone()));
            assert_eq!(
                events(&mut s),
                vec![msg(b"ok", false), SessionEvent::Failed(want.clone())]
            );
            assert_eq!(s.feed(b"\x00\x00", t0), Err(want));
            assert!(events(&mut s).is_empty());
        }
    }
}
