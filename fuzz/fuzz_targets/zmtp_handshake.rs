//! Plays the peer's side of a ZMTP handshake, for NULL (with and without a
//! ZAP domain), PLAIN client and PLAIN server (answering with its closure,
//! or asking its driver, which answers with a fuzzed authentication
//! answer), CURVE client and CURVE server (asking its driver), and every
//! socket type. The peer's octets are an optional
//! valid greeting followed by pieces: raw octets, frames with arbitrary
//! flags, and well-formed commands with fuzzed fields (READY with any
//! Socket-Type, HELLO with right or wrong credentials, ERROR, PING, ...), so
//! the fuzzer reaches READY and the session instead of guessing property
//! names; CURVE's commands come with their exact sizes and fuzzed boxes
//! (which never open: `curve_handshake` drives CURVE past its boxes). The
//! whole is cut into arbitrary chunks. Checks that:
//!
//! * nothing panics;
//! * the handshake ends Ready, Failed, or still waiting for input, and its
//!   events say the same: one `Ready` or one `Failed`, or none while waiting
//!   (besides at most one `Authenticate`, answered at once);
//!   an error returned by `feed` is the one `error()` and the event report,
//!   and every later `feed` returns it again;
//! * what we send is our greeting and then well-formed command frames;
//! * after Ready, the session takes the rest of the input and some timer
//!   ticks without panicking, and what it sends is well-formed frames.

#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use zeroring::zmtp::{
    AuthAnswer, AuthReply, Command, CurveSecretKey, Frame, FrameDecoder, FrameKind, Greeting,
    Handshake, HandshakeConfig, HandshakeEvent, HeartbeatConfig, MechanismConfig, Metadata,
    SessionEvent, ZapError, ZmtpError,
};
use zeroring::SocketType;

const TYPES: [SocketType; 11] = [
    SocketType::Pair,
    SocketType::Pub,
    SocketType::Sub,
    SocketType::Req,
    SocketType::Rep,
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Pull,
    SocketType::Push,
    SocketType::XPub,
    SocketType::XSub,
];

#[derive(Arbitrary, Debug)]
struct Case {
    /// `% 7`: NULL, PLAIN client, PLAIN server with its closure, PLAIN
    /// server asking its driver, NULL with a ZAP domain, CURVE client,
    /// CURVE server asking its driver; `/ 7 % 11`: socket type.
    role: u8,
    /// What the driver answers when asked.
    answer: Answer,
    /// ZAP_ENFORCE_DOMAIN.
    enforce: bool,
    /// Put a valid greeting for our mechanism and the opposite role first.
    valid_greeting: bool,
    /// The minor version of that greeting.
    minor: u8,
    /// Limit frames to 512 octets.
    limited: bool,
    /// Chunk sizes, used in a cycle (`% 80 + 1`).
    chunks: Vec<u8>,
    pieces: Vec<Piece>,
    /// Milliseconds between timer ticks once the session runs.
    ticks: Vec<u16>,
}

/// The driver's answer to an authentication request.
#[derive(Arbitrary, Debug)]
enum Answer {
    /// `% 4`: 200, 300, 400, 500.
    Status(u8, Vec<u8>),
    NoHandler,
    Invalid,
}

impl Answer {
    fn to_answer(&self) -> AuthAnswer {
        match self {
            Answer::Status(s, user) => AuthAnswer::Reply(AuthReply {
                status_code: [200, 300, 400, 500][usize::from(s % 4)],
                ..AuthReply::ok(user.clone())
            }),
            Answer::NoHandler => AuthAnswer::NoHandler,
            Answer::Invalid => AuthAnswer::Invalid(ZapError::MalformedReply),
        }
    }
}

/// What the peer sends after the greeting.
#[derive(Arbitrary, Debug)]
enum Piece {
    /// Octets as they are.
    Raw(Vec<u8>),
    /// One frame with arbitrary flags (reserved bits, MORE, LONG, COMMAND)
    /// and a size field that says the body's length.
    Frame {
        flags: u8,
        body: Vec<u8>,
    },
    /// READY or INITIATE with a Socket-Type, maybe an Identity and more.
    Metadata {
        initiate: bool,
        socket_type: u8,
        name_case: u8,
        identity: Option<Vec<u8>>,
        extra: Vec<(u8, Vec<u8>)>,
    },
    /// HELLO with the right credentials or fuzzed ones.
    Hello {
        good: bool,
        username: Vec<u8>,
        password: Vec<u8>,
    },
    Welcome,
    Error(Vec<u8>),
    Ping {
        ttl: u16,
        context: Vec<u8>,
    },
    Pong(Vec<u8>),
    Subscribe(Vec<u8>),
    Cancel(Vec<u8>),
    Join(Vec<u8>),
    Leave(Vec<u8>),
    Message {
        body: Vec<u8>,
        more: bool,
    },
    /// A CURVE command of its exact size (HELLO 200, WELCOME 168,
    /// INITIATE 257 + extra, READY 30 + extra, MESSAGE 33 + extra), fuzzed
    /// data after its name and version; `kind % 5` picks which.
    Curve {
        kind: u8,
        fill: Vec<u8>,
        extra: u8,
        /// In a message frame (libzmq's way for MESSAGE).
        message_frame: bool,
    },
    /// Any command name with any data.
    Other {
        name: Vec<u8>,
        data: Vec<u8>,
    },
}

/// Socket-Type values: ours plus ones zeroring has no socket for.
const TYPE_NAMES: [&str; 14] = [
    "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
    "CLIENT", "pull", "",
];

impl Piece {
    fn encode(&self, out: &mut Vec<u8>) {
        let cmd = match self {
            Piece::Raw(bytes) => return out.extend_from_slice(bytes),
            Piece::Frame { flags, body } => {
                out.push(*flags);
                if flags & 0x02 != 0 {
                    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
                } else {
                    out.push(body.len().min(255) as u8);
                }
                return out.extend_from_slice(body);
            }
            Piece::Message { body, more } => {
                return Frame::message(body.clone(), *more).encode(out);
            }
            Piece::Metadata {
                initiate,
                socket_type,
                name_case,
                identity,
                extra,
            } => {
                let mut md = Metadata::new();
                let name = match name_case % 3 {
                    0 => "Socket-Type",
                    1 => "socket-type",
                    _ => "X-Socket-Type",
                };
                md.push(
                    name,
                    TYPE_NAMES[usize::from(*socket_type) % TYPE_NAMES.len()],
                );
                if let Some(id) = identity {
                    md.push("Identity", id.clone());
                }
                for (n, v) in extra {
                    md.push(format!("X-{n}"), v.clone());
                }
                if *initiate {
                    Command::Initiate(md)
                } else {
                    Command::Ready(md)
                }
            }
            Piece::Hello {
                good,
                username,
                password,
            } => Command::Hello {
                username: if *good {
                    b"admin".to_vec()
                } else {
                    username.clone()
                },
                password: if *good {
                    b"pw".to_vec()
                } else {
                    password.clone()
                },
            },
            Piece::Welcome => Command::Welcome,
            Piece::Error(reason) => Command::Error {
                reason: reason.clone(),
            },
            Piece::Ping { ttl, context } => Command::Ping {
                ttl_deciseconds: *ttl,
                context: context.clone(),
            },
            Piece::Pong(context) => Command::Pong {
                context: context.clone(),
            },
            Piece::Subscribe(t) => Command::Subscribe(t.clone()),
            Piece::Cancel(t) => Command::Cancel(t.clone()),
            Piece::Join(g) => Command::Join(g.clone()),
            Piece::Leave(g) => Command::Leave(g.clone()),
            Piece::Curve {
                kind,
                fill,
                extra,
                message_frame,
            } => {
                let (name, len): (&[u8], usize) = match kind % 5 {
                    0 => (b"\x05HELLO\x01\x00", 200),
                    1 => (b"\x07WELCOME", 168),
                    2 => (b"\x08INITIATE", 257),
                    3 => (b"\x05READY", 30),
                    _ => (b"\x07MESSAGE", 33),
                };
                let len = len + usize::from(*extra);
                let mut body = name.to_vec();
                let mut i = 0;
                while body.len() < len {
                    body.push(fill.get(i % fill.len().max(1)).copied().unwrap_or(0));
                    i += 1;
                }
                let frame = if *message_frame {
                    Frame::message(body, false)
                } else {
                    Frame::command(body)
                };
                return frame.encode(out);
            }
            Piece::Other { name, data } => Command::Unknown {
                name: name.clone(),
                data: data.clone(),
            },
        };
        cmd.encode_frame(out);
    }
}

/// CURVE's handshake commands, whose data is boxes (not NULL/PLAIN grammar).
const CURVE_NAMES: [&[u8]; 4] = [b"HELLO", b"WELCOME", b"INITIATE", b"READY"];

/// Checks that `out` is whole command frames (or, for a session, frames).
fn well_formed(out: &[u8], commands_only: bool) {
    let mut d = FrameDecoder::new(None);
    let mut rest = out;
    while !rest.is_empty() {
        let (n, frame) = d.decode(rest).expect("we send only valid frames");
        rest = &rest[n..];
        let Some(frame) = frame else {
            panic!("we send only whole frames");
        };
        if frame.kind == FrameKind::Command {
            let len = frame.body.first().map_or(0, |&n| usize::from(n));
            let name = frame.body.get(1..=len);
            if !name.is_some_and(|n| CURVE_NAMES.contains(&n)) {
                Command::decode(&frame.body).expect("we send only valid commands");
            }
        } else {
            assert!(!commands_only, "a message frame during the handshake");
        }
    }
}

fuzz_target!(|case: Case| {
    let socket_type = TYPES[usize::from(case.role / 7) % TYPES.len()];
    let curve_key = CurveSecretKey::from_bytes([7; 32]);
    let mechanism = match case.role % 7 {
        0 | 4 => MechanismConfig::Null,
        1 => MechanismConfig::plain_client("admin", "pw"),
        2 => MechanismConfig::plain_server(|c| c.username == "admin" && c.password == b"pw"),
        3 => MechanismConfig::plain_server_zap(),
        5 => MechanismConfig::curve_client([1; 32], curve_key, [2; 32]),
        _ => MechanismConfig::curve_server(curve_key),
    };
    let zap_domain = if case.role % 7 == 4 { "fuzz" } else { "" };
    let config = HandshakeConfig {
        routing_id: b"fuzz".to_vec(),
        mechanism,
        max_frame_size: case.limited.then_some(512),
        heartbeat: HeartbeatConfig {
            interval: Some(Duration::from_millis(100)),
            timeout: None,
            ttl: Duration::from_secs(1),
        },
        zap_domain: zap_domain.into(),
        zap_enforce_domain: case.enforce,
        ..HandshakeConfig::new(socket_type)
    };
    let ours = Greeting::new(config.mechanism.name(), config.as_server());
    let mut input = Vec::new();
    if case.valid_greeting {
        let mut peer = Greeting::new(config.mechanism.name(), !config.as_server());
        peer.minor = case.minor;
        input.extend_from_slice(&peer.encode());
    }
    for piece in &case.pieces {
        piece.encode(&mut input);
    }

    let mut hs = Handshake::new(config).expect("the configuration is valid");
    let mut sent = Vec::new();
    let mut returned: Option<ZmtpError> = None;
    // Events other than Authenticate, which is answered as it comes.
    let mut events: Vec<HandshakeEvent> = Vec::new();
    let mut asked = 0;
    let mut sizes = case.chunks.iter().map(|&c| usize::from(c) % 80 + 1).cycle();
    let mut rest = &input[..];
    while !rest.is_empty() {
        let size = if case.chunks.is_empty() {
            rest.len()
        } else {
            sizes.next().unwrap_or(1)
        };
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let mut results = vec![hs.feed(chunk)];
        while let Some(event) = hs.poll_event() {
            match event {
                HandshakeEvent::Authenticate(_) => {
                    asked += 1;
                    // (Input after the request may have failed it since.)
                    assert_eq!(hs.is_authenticating(), hs.error().is_none());
                    results.push(hs.authenticate(case.answer.to_answer()));
                    assert!(!hs.is_authenticating());
                }
                other => events.push(other),
            }
        }
        if let Some(bytes) = hs.poll_transmit() {
            sent.extend_from_slice(&bytes);
        }
        for r in results {
            match (&returned, r) {
                (None, Ok(())) => {}
                (None, Err(e)) => {
                    assert_eq!(hs.error(), Some(&e));
                    returned = Some(e);
                }
                (Some(before), r) => assert_eq!(r.as_ref(), Err(before)),
            }
        }
    }
    assert!(asked <= 1, "asked {asked} times");

    if let Some(bytes) = hs.poll_transmit() {
        sent.extend_from_slice(&bytes);
    }
    // Our greeting, then command frames only.
    assert_eq!(&sent[..64], &ours.encode());
    well_formed(&sent[64..], true);

    events.extend(std::iter::from_fn(|| hs.poll_event()));
    match (hs.is_ready(), hs.error()) {
        (true, None) => {
            assert!(returned.is_none());
            assert!(matches!(events.as_slice(), [HandshakeEvent::Ready { .. }]));
        }
        (false, Some(e)) => {
            assert_eq!(returned.as_ref(), Some(e));
            assert_eq!(events, vec![HandshakeEvent::Failed(e.clone())]);
        }
        (false, None) => {
            assert!(returned.is_none());
            assert!(
                events.is_empty(),
                "waiting for input but reported {events:?}"
            );
        }
        (true, Some(_)) => panic!("ready and failed"),
    }

    if !hs.is_ready() {
        return;
    }
    let mut now = Instant::now();
    let Ok((mut session, rest)) = hs.into_session(now) else {
        panic!("a ready handshake becomes a session");
    };
    let _ = session.feed(&rest, now);
    let mut out = Vec::new();
    for (i, tick) in case.ticks.iter().enumerate() {
        now += Duration::from_millis(u64::from(*tick));
        session.handle_timeout(now);
        if i % 2 == 0 {
            session.send_frame(b"msg", i % 4 == 0);
        } else {
            session.subscribe(b"topic");
        }
        if let Some(bytes) = session.poll_transmit() {
            out.extend_from_slice(&bytes);
        }
        // Whatever was due has run.
        if let Some(deadline) = session.next_timeout() {
            assert!(deadline > now);
        }
    }
    // Close the last message.
    session.send_frame(b"end", false);
    if let Some(bytes) = session.poll_transmit() {
        out.extend_from_slice(&bytes);
    }
    well_formed(&out, false);
    let mut failed = 0;
    while let Some(event) = session.poll_event() {
        if let SessionEvent::Failed(e) = event {
            failed += 1;
            assert_eq!(session.error(), Some(&e));
        }
    }
    assert!(failed <= 1);
    assert_eq!(failed == 1, session.error().is_some());
});
