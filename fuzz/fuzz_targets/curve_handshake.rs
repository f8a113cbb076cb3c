//! CURVE's handshake and MESSAGE traffic with a tampering man in the
//! middle, for both roles. An honest zeroring peer of the other role makes
//! real boxes; the fuzzer decides what of them reaches the side under test:
//! each unit of output as it is, with a bit flipped, cut short, lengthened,
//! replaced by an earlier one (a replay) or by raw octets, in arbitrary
//! chunks. So the fuzzer reaches WELCOME, INITIATE, READY and the session
//! without forging a box. Checks that:
//!
//! * nothing panics;
//! * the side under test ends Ready, Failed or waiting, its events saying
//!   the same (one Ready or one Failed);
//! * a client given a wrong server key is never Ready;
//! * after Ready, the session delivers exactly the honest peer's frames
//!   when they are untouched, and nothing but the genuine frame when they
//!   are tampered with (a box that changed never opens).

#![no_main]

use std::time::Instant;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use zeroring::zmtp::{
    CurveSecretKey, Handshake, HandshakeConfig, HandshakeEvent, MechanismConfig, SessionEvent,
};
use zeroring::SocketType;

const PAIRS: [(SocketType, SocketType); 4] = [
    (SocketType::Req, SocketType::Rep),
    (SocketType::Dealer, SocketType::Router),
    (SocketType::Sub, SocketType::Pub),
    (SocketType::Push, SocketType::Pull),
];

#[derive(Arbitrary, Debug)]
struct Case {
    /// Test the server (else the client).
    server_under_test: bool,
    pair: u8,
    /// The client was given another server key.
    wrong_server_key: bool,
    /// What happens to each unit the honest peer sends during the
    /// handshake (untouched once these run out).
    handshake: Vec<Tamper>,
    /// Chunk sizes, used in a cycle (`% 64 + 1`).
    chunks: Vec<u8>,
    /// Frames the honest peer sends after the handshake, each tampered with
    /// or not.
    traffic: Vec<(Vec<u8>, bool, Tamper)>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Tamper {
    Keep,
    Flip { at: u16, bit: u8 },
    Cut(u16),
    Extend(Vec<u8>),
    /// An earlier unit again instead of this one.
    Replay(u8),
    Raw(Vec<u8>),
    /// Nothing instead of this unit.
    Drop,
}

impl Tamper {
    /// What reaches the side under test instead of `unit`; `None` if it is
    /// `unit` itself.
    fn apply(&self, unit: &[u8], history: &[Vec<u8>]) -> Option<Vec<u8>> {
        let mut u = unit.to_vec();
        match self {
            Tamper::Keep => return None,
            Tamper::Flip { at, bit } => {
                if u.is_empty() {
                    return None;
                }
                let i = usize::from(*at) % u.len();
                u[i] ^= 1 << (bit % 8);
            }
            Tamper::Cut(n) => u.truncate(usize::from(*n) % u.len().max(1)),
            Tamper::Extend(more) => {
                if more.is_empty() {
                    return None;
                }
                u.extend_from_slice(more);
            }
            Tamper::Replay(i) => {
                if history.is_empty() {
                    return None;
                }
                u = history[usize::from(*i) % history.len()].clone();
            }
            Tamper::Raw(bytes) => u = bytes.clone(),
            Tamper::Drop => u.clear(),
        }
        (u != unit).then_some(u)
    }
}

fn feed_chunked(h: &mut Handshake, bytes: &[u8], sizes: &mut impl Iterator<Item = usize>) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(sizes.next().unwrap_or(rest.len()).min(rest.len()));
        rest = tail;
        let _ = h.feed(chunk);
    }
}

fuzz_target!(|case: Case| {
    let (client_type, server_type) = PAIRS[usize::from(case.pair) % PAIRS.len()];
    let server_secret = CurveSecretKey::from_bytes([3; 32]);
    let server_public = server_secret.public_key();
    let client_secret = CurveSecretKey::from_bytes([5; 32]);
    let client_public = client_secret.public_key();
    let told = if case.wrong_server_key {
        CurveSecretKey::from_bytes([9; 32]).public_key()
    } else {
        server_public
    };
    let client_cfg = HandshakeConfig {
        routing_id: b"fuzz".to_vec(),
        mechanism: MechanismConfig::curve_client(client_public, client_secret, told),
        ..HandshakeConfig::new(client_type)
    };
    let server_cfg = HandshakeConfig {
        // Its closure admits every client at once (the driver is
        // zmtp_handshake's to fuzz).
        mechanism: MechanismConfig::CurveServer {
            secret_key: server_secret,
            authenticator: Some(std::sync::Arc::new(|_| true)),
        },
        ..HandshakeConfig::new(server_type)
    };
    let (tested_cfg, honest_cfg) = if case.server_under_test {
        (server_cfg, client_cfg)
    } else {
        (client_cfg, server_cfg)
    };
    let mut tested = Handshake::new(tested_cfg).expect("valid configuration");
    let mut honest = Handshake::new(honest_cfg).expect("valid configuration");

    let cycle: Vec<usize> = case.chunks.iter().map(|&c| usize::from(c) % 64 + 1).collect();
    let mut sizes = cycle.iter().copied().cycle();
    let mut tamper = case.handshake.iter();
    let mut history: Vec<Vec<u8>> = Vec::new();
    let mut tampered = false;
    for _ in 0..8 {
        let mut moved = false;
        if let Some(bytes) = tested.poll_transmit() {
            // The honest side gets what the tested side sends, untouched.
            let _ = honest.feed(&bytes);
            moved = true;
        }
        if let Some(unit) = honest.poll_transmit() {
            let t = tamper.next().cloned().unwrap_or(Tamper::Keep);
            let delivered = match t.apply(&unit, &history) {
                Some(other) => {
                    tampered = true;
                    other
                }
                None => unit.clone(),
            };
            history.push(unit);
            feed_chunked(&mut tested, &delivered, &mut sizes);
            moved = true;
        }
        if !moved {
            break;
        }
    }

    let events: Vec<HandshakeEvent> = std::iter::from_fn(|| tested.poll_event()).collect();
    match (tested.is_ready(), tested.error()) {
        (true, None) => {
            assert!(matches!(events.as_slice(), [HandshakeEvent::Ready { .. }]));
            assert!(!case.wrong_server_key, "ready with a wrong server key");
        }
        (false, Some(e)) => assert_eq!(events, vec![HandshakeEvent::Failed(e.clone())]),
        (false, None) => assert!(events.is_empty(), "waiting but reported {events:?}"),
        (true, Some(_)) => panic!("ready and failed"),
    }
    if !tested.is_ready() || !honest.is_ready() {
        return;
    }
    // Tampering may get through the handshake where it touched nothing
    // checked (the greeting's padding, octets after READY): the boxes are
    // what the session below relies on. Octets added after READY put the
    // session out of step with the frames to come, so only an untampered
    // handshake must deliver every later frame.
    let strict = !tampered;

    let now = Instant::now();
    let (Ok((mut t, rest)), Ok((mut h, _))) = (tested.into_session(now), honest.into_session(now))
    else {
        panic!("ready handshakes become sessions");
    };
    let _ = t.feed(&rest, now);
    while t.poll_event().is_some() {}
    let mut history: Vec<Vec<u8>> = Vec::new();
    for (payload, more, tamper) in &case.traffic {
        if t.error().is_some() {
            break;
        }
        h.send_frame(payload, *more);
        let Some(unit) = h.poll_transmit() else {
            panic!("a frame was queued");
        };
        let changed = tamper.apply(&unit, &history);
        let delivered = changed.clone().unwrap_or_else(|| unit.clone());
        history.push(unit);
        let result = t.feed(&delivered, now);
        let events: Vec<SessionEvent> = std::iter::from_fn(|| t.poll_event()).collect();
        match changed {
            None if strict => {
                assert_eq!(result, Ok(()));
                assert_eq!(
                    events,
                    vec![SessionEvent::Message {
                        payload: payload.clone(),
                        more: *more
                    }]
                );
            }
            None => {
                let genuine = SessionEvent::Message {
                    payload: payload.clone(),
                    more: *more,
                };
                for e in &events {
                    if let SessionEvent::Message { .. } = e {
                        assert_eq!(e, &genuine, "only the genuine frame may arrive");
                    }
                }
            }
            Some(_) => {
                // Tampering never delivers anything but the genuine frame
                // (it may, when it touched only the unauthenticated frame
                // flags or added octets after it), and that once.
                let genuine = SessionEvent::Message {
                    payload: payload.clone(),
                    more: *more,
                };
                let delivered: Vec<&SessionEvent> = events
                    .iter()
                    .filter(|e| matches!(e, SessionEvent::Message { .. }))
                    .collect();
                assert!(
                    delivered.is_empty() || delivered == [&genuine],
                    "a tampered MESSAGE delivered {events:?}"
                );
                let _ = tamper;
                if result.is_err() {
                    assert!(matches!(events.last(), Some(SessionEvent::Failed(_))));
                }
                // What follows a cut or extension is out of step: stop.
                break;
            }
        }
    }
});
