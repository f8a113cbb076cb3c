//! ZMTP 3.x frames: encoding, and a decoder fed chunks of any size.
//!
//! A frame is a flags octet (bit 0 MORE, bit 1 LONG, bit 2 COMMAND, bits
//! 3-7 reserved and zero), a size (one octet, or eight big-endian octets
//! when LONG is set) and that many body octets. MORE is zero on commands.
//!
//! The decoder checks the size field against the maximum frame size before
//! it buffers any body octet, and grows the body only as octets arrive, so a
//! peer that announces a huge frame and sends nothing makes it allocate
//! nothing.

use super::error::ZmtpError;

/// Flags bit 0: more frames of this message follow.
pub const FLAG_MORE: u8 = 0x01;
/// Flags bit 1: the size is 8 octets.
pub const FLAG_LONG: u8 = 0x02;
/// Flags bit 2: the frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
const RESERVED: u8 = !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND);
/// The largest body a frame may announce (2^63-1).
pub const MAX_BODY: u64 = i64::MAX as u64;
/// The largest header: flags and an 8-octet size.
pub const MAX_HEADER_LEN: usize = 9;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A frame of an application message; `more` says further frames of the
    /// same message follow.
    Message {
        /// The MORE flag.
        more: bool,
    },
    /// A command frame (always a single frame).
    Command,
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Message or command.
    pub kind: FrameKind,
    /// The body octets.
    pub body: Vec<u8>,
}

impl Frame {
    /// A message frame.
    pub fn message(body: Vec<u8>, more: bool) -> Frame {
        Frame {
            kind: FrameKind::Message { more },
            body,
        }
    }

    /// A command frame.
    pub fn command(body: Vec<u8>) -> Frame {
        Frame {
            kind: FrameKind::Command,
            body,
        }
    }

    /// Whether this is a command frame.
    pub fn is_command(&self) -> bool {
        self.kind == FrameKind::Command
    }

    /// Whether this is a message frame with MORE set.
    pub fn more(&self) -> bool {
        self.kind == FrameKind::Message { more: true }
    }

    /// Appends the frame's wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        FrameHeader::new(self.kind, self.body.len()).write(out);
        out.extend_from_slice(&self.body);
    }
}

/// A frame header (flags and size) on its own, for writing a large body
/// from where it lies (vectored I/O) instead of copying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl FrameHeader {
    /// The header of a frame of `kind` with a body of `body_len` octets:
    /// the short form up to 255 octets, the long form above.
    pub fn new(kind: FrameKind, body_len: usize) -> FrameHeader {
        let mut flags = match kind {
            FrameKind::Message { more: true } => FLAG_MORE,
            FrameKind::Message { more: false } => 0,
            FrameKind::Command => FLAG_COMMAND,
        };
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let len = match u8::try_from(body_len) {
            Ok(short) => {
                bytes[1] = short;
                2
            }
            Err(_) => {
                flags |= FLAG_LONG;
                bytes[1..].copy_from_slice(&(body_len as u64).to_be_bytes());
                MAX_HEADER_LEN as u8
            }
        };
        bytes[0] = flags;
        FrameHeader { bytes, len }
    }

    /// The header octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Appends the header octets to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

/// Appends a message frame to `out`.
pub fn encode_message(out: &mut Vec<u8>, body: &[u8], more: bool) {
    FrameHeader::new(FrameKind::Message { more }, body.len()).write(out);
    out.extend_from_slice(body);
}

/// Appends a command frame with `body` to `out`.
pub fn encode_command(out: &mut Vec<u8>, body: &[u8]) {
    FrameHeader::new(FrameKind::Command, body.len()).write(out);
    out.extend_from_slice(body);
}

#[derive(Debug)]
enum State {
    Flags,
    ShortSize {
        kind: FrameKind,
    },
    LongSize {
        kind: FrameKind,
        size: [u8; 8],
        have: u8,
    },
    Body {
        kind: FrameKind,
        remaining: usize,
        body: Vec<u8>,
    },
    Failed(ZmtpError),
}

/// Turns a stream of octets, cut anywhere, into frames.
///
/// Feed it with [`decode`](FrameDecoder::decode) until it reports a frame or
/// has taken all the input. Errors are sticky: once an error is reported,
/// every later call reports it again and takes nothing.
#[derive(Debug)]
pub struct FrameDecoder {
    max_size: Option<u64>,
    state: State,
    /// Header and body octets taken for the frame in progress.
    partial: usize,
}

impl FrameDecoder {
    /// A decoder rejecting frames whose size field is above `max_size`
    /// octets (`None`: no limit, libzmq's MAXMSGSIZE of -1).
    pub fn new(max_size: Option<u64>) -> FrameDecoder {
        FrameDecoder {
            max_size,
            state: State::Flags,
            partial: 0,
        }
    }

    /// The maximum frame size this decoder enforces.
    pub fn max_size(&self) -> Option<u64> {
        self.max_size
    }

    /// Octets taken for a frame not yet complete (header and body so far):
    /// every octet taken is either in a returned frame or counted here.
    pub fn buffered(&self) -> usize {
        self.partial
    }

    /// Whether the decoder sits between two frames.
    pub fn is_at_boundary(&self) -> bool {
        matches!(self.state, State::Flags)
    }

    /// Takes octets from the front of `input` up to the end of the next frame
    /// and returns how many it took and that frame, if one completed. Takes
    /// all of `input` when no frame completes in it.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<Frame>), ZmtpError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        match self.step(input) {
            Ok((n, frame)) => {
                self.partial = if frame.is_some() { 0 } else { self.partial + n };
                Ok((n, frame))
            }
            Err(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    fn step(&mut self, input: &[u8]) -> Result<(usize, Option<Frame>), ZmtpError> {
        let mut pos = 0;
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Flags => {
                    let Some(&flags) = input.get(pos) else {
                        return Ok((pos, None));
                    };
                    pos += 1;
                    let kind = kind_of(flags)?;
                    self.state = if flags & FLAG_LONG != 0 {
                        State::LongSize {
                            kind,
                            size: [0; 8],
                            have: 0,
                        }
                    } else {
                        State::ShortSize { kind }
                    };
                }
                State::ShortSize { kind } => {
                    let Some(&size) = input.get(pos) else {
                        return Ok((pos, None));
                    };
                    pos += 1;
                    let kind = *kind;
                    self.start_body(kind, u64::from(size))?;
                }
                State::LongSize { kind, size, have } => {
                    let want = 8 - usize::from(*have);
                    let take = want.min(input.len() - pos);
                    let at = usize::from(*have);
                    size[at..at + take].copy_from_slice(&input[pos..pos + take]);
                    pos += take;
                    // take <= 8, so this fits.
                    *have += take as u8;
                    if usize::from(*have) < 8 {
                        return Ok((pos, None));
                    }
                    let (kind, size) = (*kind, u64::from_be_bytes(*size));
                    self.start_body(kind, size)?;
                }
                State::Body {
                    kind,
                    remaining,
                    body,
                } => {
                    let take = (*remaining).min(input.len() - pos);
                    body.extend_from_slice(&input[pos..pos + take]);
                    pos += take;
                    *remaining -= take;
                    if *remaining > 0 {
                        return Ok((pos, None));
                    }
                    let frame = Frame {
                        kind: *kind,
                        body: std::mem::take(body),
                    };
                    self.state = State::Flags;
                    return Ok((pos, Some(frame)));
                }
            }
        }
    }

    /// Checks the announced size and moves to the body, allocating nothing
    /// for it yet.
    fn start_body(&mut self, kind: FrameKind, size: u64) -> Result<(), ZmtpError> {
        let remaining = body_len(size, self.max_size)?;
        self.state = State::Body {
            kind,
            remaining,
            body: Vec::new(),
        };
        Ok(())
    }
}

/// A frame header read from the front of a buffer by [`parse_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message or command.
    pub kind: FrameKind,
    /// Octets of flags and size (2 or 9).
    pub header_len: usize,
    /// Octets of body that follow the header.
    pub body_len: usize,
}

impl Header {
    /// Header and body octets together.
    pub fn frame_len(&self) -> usize {
        self.header_len + self.body_len
    }
}

/// Reads the header at the front of `input` without taking anything: `None`
/// while `input` ends inside it. The checks are [`FrameDecoder`]'s (reserved
/// bits, MORE on a command, the size against `max_size`), so a caller that
/// holds its own buffer can take frames in place, with no copy of the body.
pub fn parse_header(input: &[u8], max_size: Option<u64>) -> Result<Option<Header>, ZmtpError> {
    let Some(&flags) = input.first() else {
        return Ok(None);
    };
    let kind = kind_of(flags)?;
    let (header_len, size) = if flags & FLAG_LONG != 0 {
        let Some(&size) = input.get(1..MAX_HEADER_LEN).and_then(|s| s.first_chunk()) else {
            return Ok(None);
        };
        (MAX_HEADER_LEN, u64::from_be_bytes(size))
    } else {
        let Some(&size) = input.get(1) else {
            return Ok(None);
        };
        (2, u64::from(size))
    };
    Ok(Some(Header {
        kind,
        header_len,
        body_len: body_len(size, max_size)?,
    }))
}

/// The kind a flags octet announces, if its bits are legal.
fn kind_of(flags: u8) -> Result<FrameKind, ZmtpError> {
    if flags & RESERVED != 0 {
        return Err(ZmtpError::ReservedFlags(flags));
    }
    if flags & FLAG_COMMAND == 0 {
        return Ok(FrameKind::Message {
            more: flags & FLAG_MORE != 0,
        });
    }
    if flags & FLAG_MORE != 0 {
        return Err(ZmtpError::MalformedFrame("MORE set on a command frame"));
    }
    Ok(FrameKind::Command)
}

/// The body length a size field announces, if it is within the limits.
fn body_len(size: u64, max_size: Option<u64>) -> Result<usize, ZmtpError> {
    if size > MAX_BODY {
        return Err(ZmtpError::MalformedFrame("size above 2^63-1"));
    }
    if let Some(max) = max_size {
        if size > max {
            return Err(ZmtpError::FrameTooLarge { size, max });
        }
    }
    // A 2^40 frame is refused on a 32-bit target only: it could not be held.
    usize::try_from(size).map_err(|_| ZmtpError::MalformedFrame("size does not fit in memory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(d: &mut FrameDecoder, mut input: &[u8]) -> Result<Vec<Frame>, ZmtpError> {
        let mut out = Vec::new();
        loop {
            let (n, f) = d.decode(input)?;
            input = &input[n..];
            match f {
                Some(f) => out.push(f),
                None => {
                    assert!(input.is_empty());
                    return Ok(out);
                }
            }
        }
    }

    #[test]
    fn encodes_short_and_long_forms() {
        let mut out = Vec::new();
        encode_message(&mut out, b"hi", true);
        encode_message(&mut out, b"", false);
        encode_command(&mut out, b"\x04PING\x00\x00");
        assert_eq!(out, b"\x01\x02hi\x00\x00\x04\x07\x04PING\x00\x00");

        let body = vec![7u8; 256];
        let mut out = Vec::new();
        encode_message(&mut out, &body, false);
        assert_eq!(&out[..9], &[0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(out.len(), 9 + 256);
        let mut out = Vec::new();
        encode_command(&mut out, &body);
        assert_eq!(out[0], 0x06);
        let mut out = Vec::new();
        encode_message(&mut out, &body[..255], true);
        assert_eq!(&out[..2], &[0x01, 0xFF]);
        assert_eq!(
            FrameHeader::new(FrameKind::Message { more: true }, 300).as_bytes()[0],
            0x03
        );
    }

    #[test]
    fn round_trip_whole_and_byte_by_byte() {
        let frames = vec![
            Frame::message(b"first".to_vec(), true),
            Frame::message(Vec::new(), true),
            Frame::message(vec![0xAB; 70_000], false),
            Frame::command(b"\x05READY".to_vec()),
            Frame::message(vec![1; 255], false),
            Frame::message(vec![2; 256], false),
        ];
        let mut wire = Vec::new();
        for f in &frames {
            f.encode(&mut wire);
        }
        let mut d = FrameDecoder::new(None);
        assert_eq!(decode_all(&mut d, &wire).unwrap(), frames);
        assert!(d.is_at_boundary());

        let mut d = FrameDecoder::new(None);
        let mut got = Vec::new();
        let mut taken = 0;
        for b in &wire {
            let (n, f) = d.decode(std::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            taken += n;
            if let Some(f) = f {
                got.push(f);
            }
        }
        assert_eq!(taken, wire.len());
        assert_eq!(got, frames);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn stops_at_the_end_of_each_frame_and_counts_partials() {
        let mut wire = Vec::new();
        encode_message(&mut wire, b"abc", false);
        encode_message(&mut wire, b"de", false);
        let mut d = FrameDecoder::new(None);
        let (n, f) = d.decode(&wire).unwrap();
        assert_eq!((n, f.unwrap().body), (5, b"abc".to_vec()));
        let (n, f) = d.decode(&wire[5..7]).unwrap();
        assert_eq!((n, f), (2, None));
        assert_eq!(d.buffered(), 2);
        assert!(!d.is_at_boundary());
        let (n, f) = d.decode(&wire[7..]).unwrap();
        assert_eq!((n, f.unwrap().body), (2, b"de".to_vec()));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn accepts_the_long_form_for_small_bodies() {
        let mut wire = vec![0x06, 0, 0, 0, 0, 0, 0, 0, 5];
        wire.extend_from_slice(b"\x04PONG");
        let mut d = FrameDecoder::new(None);
        assert_eq!(
            decode_all(&mut d, &wire).unwrap(),
            vec![Frame::command(b"\x04PONG".to_vec())]
        );
    }

    #[test]
    fn parse_header_agrees_with_the_decoder() {
        let mut wire = Vec::new();
        encode_message(&mut wire, b"ab", true);
        encode_message(&mut wire, &[1; 300], false);
        encode_command(&mut wire, b"\x04PING\x00\x00");
        let mut d = FrameDecoder::new(None);
        let mut rest = &wire[..];
        while !rest.is_empty() {
            let h = parse_header(rest, None).unwrap().unwrap();
            // Every cut inside the header asks for more.
            for cut in 0..h.header_len {
                assert_eq!(parse_header(&rest[..cut], None), Ok(None));
            }
            let (n, frame) = d.decode(rest).unwrap();
            let frame = frame.unwrap();
            assert_eq!((n, h.kind), (h.frame_len(), frame.kind));
            assert_eq!(&rest[h.header_len..n], &frame.body[..]);
            rest = &rest[n..];
        }
        for bad in [&[0x08u8, 0][..], &[0x05, 0], &[0x00, 11]] {
            let mut d = FrameDecoder::new(Some(10));
            assert_eq!(parse_header(bad, Some(10)), d.decode(bad).map(|_| None));
        }
    }

    #[test]
    fn rejects_reserved_bits_and_sticks() {
        for flags in [0x08u8, 0x10, 0x20, 0x40, 0x80, 0xFF] {
            let mut d = FrameDecoder::new(None);
            assert_eq!(d.decode(&[flags, 0]), Err(ZmtpError::ReservedFlags(flags)));
            assert_eq!(d.decode(&[0, 0]), Err(ZmtpError::ReservedFlags(flags)));
        }
    }

    #[test]
    fn rejects_more_on_commands() {
        let mut d = FrameDecoder::new(None);
        assert!(matches!(
            d.decode(&[0x05, 0]),
            Err(ZmtpError::MalformedFrame(_))
        ));
        let mut d = FrameDecoder::new(None);
        assert!(matches!(
            d.decode(&[0x07]),
            Err(ZmtpError::MalformedFrame(_))
        ));
    }

    #[test]
    fn checks_the_size_before_buffering_the_body() {
        let mut d = FrameDecoder::new(Some(10));
        assert_eq!(
            d.decode(&[0x00, 11]),
            Err(ZmtpError::FrameTooLarge { size: 11, max: 10 })
        );
        let mut d = FrameDecoder::new(Some(10));
        let mut wire = vec![0x00, 10];
        wire.extend_from_slice(&[0; 10]);
        assert_eq!(decode_all(&mut d, &wire).unwrap().len(), 1);

        // A long frame claiming an exabyte: rejected from the size alone.
        let mut d = FrameDecoder::new(Some(1 << 20));
        let mut wire = vec![0x02];
        wire.extend_from_slice(&(1u64 << 60).to_be_bytes());
        assert_eq!(
            d.decode(&wire),
            Err(ZmtpError::FrameTooLarge {
                size: 1 << 60,
                max: 1 << 20
            })
        );
        // Commands are limited too.
        let mut d = FrameDecoder::new(Some(3));
        assert!(matches!(
            d.decode(&[0x04, 4]),
            Err(ZmtpError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn rejects_sizes_above_2_pow_63() {
        let mut d = FrameDecoder::new(None);
        let mut wire = vec![0x02];
        wire.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(d.decode(&wire), Err(ZmtpError::MalformedFrame(_))));
    }

    #[test]
    fn allocates_only_what_arrived() {
        // Unlimited decoder, frame claiming 2^40 octets, 3 octets sent.
        let mut d = FrameDecoder::new(None);
        let mut wire = vec![0x02];
        wire.extend_from_slice(&(1u64 << 40).to_be_bytes());
        wire.extend_from_slice(b"abc");
        if usize::BITS < 64 {
            assert!(d.decode(&wire).is_err());
            return;
        }
        assert_eq!(d.decode(&wire).unwrap(), (12, None));
        match &d.state {
            State::Body {
                body, remaining, ..
            } => {
                assert_eq!(body.len(), 3);
                assert!(body.capacity() < 1024);
                assert_eq!(*remaining, (1 << 40) - 3);
            }
            other => panic!("unexpected state {other:?}"),
        }
        assert_eq!(d.buffered(), 12);
    }

    #[test]
    fn empty_frames_complete_on_their_size_octet() {
        let mut d = FrameDecoder::new(Some(0));
        assert_eq!(d.decode(&[0x00]).unwrap(), (1, None));
        assert_eq!(
            d.decode(&[0x00, 0x01]).unwrap(),
            (1, Some(Frame::message(Vec::new(), false)))
        );
        assert_eq!(d.decode(&[]).unwrap(), (0, None));
    }
}
