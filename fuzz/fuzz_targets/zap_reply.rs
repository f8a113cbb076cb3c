//! A ZAP handler's reply, any frames at all, to a handshake waiting for
//! its authentication decision (a PLAIN server at a client's HELLO, or NULL
//! with a ZAP domain). The frames go through `ZapReplyReader` as the engine
//! reads them from the handler's pipe, and its answer to the handshake.
//! Checks that:
//!
//! * nothing panics;
//! * the reader answers at most once, and always by the time it has seen a
//!   frame without MORE or seven frames; a well-formed reply (built from
//!   fuzzed fields) is read back field for field;
//! * the answer either admits (200: both sides reach Ready, the server's
//!   event carrying the reply's user id and metadata), refuses (300, 400,
//!   500: the matching error, an ERROR to the client for 400 and 500 only)
//!   or is a ZAP protocol error (no ERROR); nothing else.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use zeroring::zmtp::{
    AuthAnswer, Handshake, HandshakeConfig, HandshakeEvent, MechanismConfig, Metadata,
    ZapReplyReader, ZmtpError,
};
use zeroring::SocketType;

#[derive(Arbitrary, Debug)]
struct Case {
    /// NULL with a ZAP domain, else a PLAIN server without authenticator.
    null: bool,
    /// A well-formed reply from these fields, else `frames` as they are.
    valid: Option<Valid>,
    /// Frames and their MORE flags.
    frames: Vec<(Vec<u8>, bool)>,
}

#[derive(Arbitrary, Debug)]
struct Valid {
    /// `% 4`: 200, 300, 400, 500.
    status: u8,
    text: Vec<u8>,
    user_id: Vec<u8>,
    /// `X-<n>` properties.
    metadata: Vec<(u8, Vec<u8>)>,
}

/// Runs two handshakes against each other until neither sends more.
fn pump(a: &mut Handshake, b: &mut Handshake) {
    loop {
        let mut moved = false;
        if let Some(bytes) = a.poll_transmit() {
            let _ = b.feed(&bytes);
            moved = true;
        }
        if let Some(bytes) = b.poll_transmit() {
            let _ = a.feed(&bytes);
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

fn events(h: &mut Handshake) -> Vec<HandshakeEvent> {
    std::iter::from_fn(|| h.poll_event()).collect()
}

fuzz_target!(|case: Case| {
    let (client_mech, server_mech, domain) = if case.null {
        (MechanismConfig::Null, MechanismConfig::Null, "domain")
    } else {
        (
            MechanismConfig::plain_client("admin", "pw"),
            MechanismConfig::plain_server_zap(),
            "",
        )
    };
    let mut client = Handshake::new(HandshakeConfig {
        mechanism: client_mech,
        ..HandshakeConfig::new(SocketType::Dealer)
    })
    .expect("valid configuration");
    let mut server = Handshake::new(HandshakeConfig {
        mechanism: server_mech,
        zap_domain: domain.into(),
        ..HandshakeConfig::new(SocketType::Router)
    })
    .expect("valid configuration");
    pump(&mut client, &mut server);
    assert!(server.is_authenticating());
    assert!(matches!(
        events(&mut server).as_slice(),
        [HandshakeEvent::Authenticate(_)]
    ));

    let mut expected_metadata = Metadata::new();
    let frames: Vec<(Vec<u8>, bool)> = match &case.valid {
        Some(v) => {
            let status = [b"200", b"300", b"400", b"500"][usize::from(v.status % 4)];
            for (n, value) in &v.metadata {
                expected_metadata.push(format!("X-{n}"), value.clone());
            }
            let mut md = Vec::new();
            expected_metadata.encode(&mut md);
            [
                Vec::new(),
                b"1.0".to_vec(),
                b"1".to_vec(),
                status.to_vec(),
                v.text.clone(),
                v.user_id.clone(),
                md,
            ]
            .into_iter()
            .enumerate()
            .map(|(i, f)| (f, i < 6))
            .collect()
        }
        None => case.frames.clone(),
    };

    let mut reader = ZapReplyReader::new();
    let mut answer = None;
    for (i, (frame, more)) in frames.iter().enumerate() {
        let got = reader.push(frame, *more);
        if answer.is_some() {
            assert!(got.is_none(), "answered twice");
            continue;
        }
        answer = got;
        if answer.is_none() {
            assert!(*more && i < 6, "a reply's end left unanswered");
        }
    }
    let Some(answer) = answer else {
        // Incomplete: the handshake still waits (HANDSHAKE_IVL ends it in
        // the engine).
        assert!(server.is_authenticating());
        return;
    };
    if let Some(v) = &case.valid {
        let AuthAnswer::Reply(reply) = &answer else {
            panic!("a well-formed reply read as {answer:?}");
        };
        assert_eq!(reply.user_id, v.user_id);
        assert_eq!(reply.status_text, v.text);
        assert_eq!(reply.metadata, expected_metadata);
    }

    let result = server.authenticate(answer.clone());
    let out = server.poll_transmit();
    let sent_error = out.as_ref().is_some_and(|b| !b.is_empty());
    match (&answer, &result) {
        (AuthAnswer::Reply(r), Ok(())) => {
            assert_eq!(r.status_code, 200);
            // The server's WELCOME or READY goes out; the client finishes.
            client.feed(&out.unwrap_or_default()).expect("the client goes on");
            pump(&mut client, &mut server);
            assert!(server.is_ready() && client.is_ready());
            match events(&mut server).as_slice() {
                [HandshakeEvent::Ready { auth: Some(a), .. }] => assert_eq!(a, r),
                other => panic!("expected Ready, got {other:?}"),
            }
        }
        (AuthAnswer::Reply(r), Err(e)) => {
            let want = match r.status_code {
                300 => ZmtpError::AuthTemporaryFailure,
                400 => ZmtpError::AuthenticationFailed,
                500 => ZmtpError::AuthInternalError,
                other => panic!("status {other} read from a reply"),
            };
            assert_eq!(e, &want);
            assert_eq!(sent_error, r.status_code != 300);
        }
        (AuthAnswer::Invalid(z), Err(e)) => {
            assert_eq!(e, &ZmtpError::ZapProtocol(*z));
            assert!(!sent_error);
        }
        (answer, result) => panic!("{answer:?} gave {result:?}"),
    }
    if let Err(e) = result {
        assert_eq!(server.error(), Some(&e));
        assert_eq!(events(&mut server), vec![HandshakeEvent::Failed(e)]);
    }
});
