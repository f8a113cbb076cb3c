//! Feeds arbitrary octets, cut into arbitrary chunks (empty ones included),
//! to `zeroring::zmtp::FrameDecoder` with an arbitrary maximum frame size,
//! and checks it against a one-shot reference parser written here:
//!
//! * it never panics, and once it reports an error it keeps reporting the
//!   same error and takes nothing more;
//! * each call takes at most the chunk, and all of it unless a frame ended
//!   inside it;
//! * the frames (kind, MORE, body) and the first error (reserved bits, MORE
//!   on a command, size above 2^63-1, size above the maximum) are exactly the
//!   reference's;
//! * every octet is accounted for: the wire lengths of the frames returned
//!   plus `buffered()` equal the octets taken, and when there is no error
//!   everything given was taken;
//! * re-encoding the frames and decoding that again gives the same frames;
//! * `parse_header`, reading in place over the whole input, finds the same
//!   frames and the same first error, and asks for more exactly where the
//!   reference stops inside a frame.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use zeroring::zmtp::frame::{
    parse_header, FrameHeader, FLAG_COMMAND, FLAG_LONG, FLAG_MORE, MAX_BODY,
};
use zeroring::zmtp::{Frame, FrameDecoder, FrameKind, ZmtpError};

#[derive(Arbitrary, Debug)]
struct Case {
    /// `None`: no limit; otherwise the limit in octets.
    max_size: Option<u16>,
    /// Chunk sizes, used in a cycle (`% 67`, so 0 .. 66).
    chunks: Vec<u8>,
    data: Vec<u8>,
}

/// What the reference parser makes of the whole input at once: each frame
/// with its wire length, then an error or the octets of an unfinished frame.
fn reference(data: &[u8], max: Option<u64>) -> (Vec<(Frame, usize)>, Result<usize, ZmtpError>) {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let flags = data[pos];
        if flags & !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND) != 0 {
            return (frames, Err(ZmtpError::ReservedFlags(flags)));
        }
        if flags & FLAG_COMMAND != 0 && flags & FLAG_MORE != 0 {
            return (
                frames,
                Err(ZmtpError::MalformedFrame("MORE set on a command frame")),
            );
        }
        let size_len = if flags & FLAG_LONG != 0 { 8 } else { 1 };
        if data.len() - pos - 1 < size_len {
            return (frames, Ok(data.len() - pos));
        }
        let mut size = 0u64;
        for &b in &data[pos + 1..pos + 1 + size_len] {
            size = size << 8 | u64::from(b);
        }
        if size > MAX_BODY {
            return (frames, Err(ZmtpError::MalformedFrame("size above 2^63-1")));
        }
        if let Some(max) = max {
            if size > max {
                return (frames, Err(ZmtpError::FrameTooLarge { size, max }));
            }
        }
        let body_at = pos + 1 + size_len;
        let available = (data.len() - body_at) as u64;
        if size > available {
            return (frames, Ok(data.len() - pos));
        }
        let end = body_at + size as usize;
        let kind = if flags & FLAG_COMMAND != 0 {
            FrameKind::Command
        } else {
            FrameKind::Message {
                more: flags & FLAG_MORE != 0,
            }
        };
        frames.push((
            Frame {
                kind,
                body: data[body_at..end].to_vec(),
            },
            end - pos,
        ));
        pos = end;
    }
    (frames, Ok(0))
}

fuzz_target!(|case: Case| {
    let max = case.max_size.map(u64::from);
    let (want_frames, want_end) = reference(&case.data, max);

    let mut decoder = FrameDecoder::new(max);
    let mut got = Vec::new();
    let mut taken = 0usize;
    let mut error = None;
    let mut sizes = case.chunks.iter().map(|&c| usize::from(c) % 67).cycle();
    let mut rest = &case.data[..];
    'feed: loop {
        let mut size = if case.chunks.is_empty() {
            rest.len()
        } else {
            sizes.next().unwrap_or(1)
        };
        if size == 0 {
            // An empty read takes nothing and yields nothing; then move on.
            assert_eq!(decoder.decode(&[]), Ok((0, None)));
            size = 1;
        }
        let mut chunk = &rest[..size.min(rest.len())];
        rest = &rest[chunk.len()..];
        loop {
            match decoder.decode(chunk) {
                Ok((n, frame)) => {
                    assert!(n <= chunk.len());
                    taken += n;
                    chunk = &chunk[n..];
                    match frame {
                        Some(f) => {
                            assert!(n > 0);
                            got.push(f);
                        }
                        None => {
                            assert!(chunk.is_empty(), "no frame yet all input taken");
                            break;
                        }
                    }
                }
                Err(e) => {
                    // Sticky, and takes nothing more.
                    assert_eq!(decoder.decode(b"\x00\x00"), Err(e.clone()));
                    assert_eq!(decoder.decode(&[]), Err(e.clone()));
                    error = Some(e);
                    break 'feed;
                }
            }
        }
        if rest.is_empty() {
            break;
        }
    }

    // In place: header by header over the whole input.
    let mut at = 0;
    let mut in_place = Vec::new();
    let in_place_end = loop {
        match parse_header(&case.data[at..], max) {
            Err(e) => break Err(e),
            Ok(None) => break Ok(case.data.len() - at),
            Ok(Some(h)) if h.frame_len() > case.data.len() - at => break Ok(case.data.len() - at),
            Ok(Some(h)) => {
                let body = case.data[at + h.header_len..at + h.frame_len()].to_vec();
                in_place.push((Frame { kind: h.kind, body }, h.frame_len()));
                at += h.frame_len();
                if at == case.data.len() {
                    break Ok(0);
                }
            }
        }
    };
    assert_eq!(in_place, want_frames);
    assert_eq!(in_place_end, want_end);

    let want: Vec<&Frame> = want_frames.iter().map(|(f, _)| f).collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    let framed: usize = want_frames.iter().map(|&(_, len)| len).sum();
    match (want_end, error) {
        (Err(want), Some(e)) => assert_eq!(e, want),
        (Ok(partial), None) => {
            assert_eq!(taken, case.data.len());
            assert_eq!(decoder.buffered(), partial);
            assert_eq!(framed + decoder.buffered(), taken);
            assert_eq!(decoder.is_at_boundary(), partial == 0);
        }
        (want, e) => panic!("reference ended with {want:?}, decoder with {e:?}"),
    }

    // Frames re-encode to something the decoder reads back the same.
    let mut wire = Vec::new();
    for f in &got {
        f.encode(&mut wire);
        assert_eq!(
            FrameHeader::new(f.kind, f.body.len()).as_bytes().len(),
            if f.body.len() > 255 { 9 } else { 2 }
        );
    }
    let mut again = FrameDecoder::new(None);
    let mut rest = &wire[..];
    let mut back = Vec::new();
    while let Ok((n, Some(f))) = again.decode(rest) {
        rest = &rest[n..];
        back.push(f);
    }
    assert!(rest.is_empty());
    assert_eq!(back, got);
});
