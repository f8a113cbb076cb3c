//! The per-frame cost of CURVE, without a network: one 32-byte message
//! frame sealed into a MESSAGE by a session (`seal`), and read and opened
//! in place by the peer's session (`open`), as the tcp engine does, after
//! an in-memory handshake. Beside them, `crypto_box` seals the same
//! plaintext (the flags octet and 32 bytes) with RustCrypto's `SalsaBox`:
//! the box zeroring used per frame before, where `poly1305`'s AVX2 code
//! (chosen at run time on any CPU with AVX2) costs most of the time.
//!
//! `cargo bench --bench curve_message`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crypto_box::aead::{generic_array::GenericArray, AeadInPlace};
use std::hint::black_box;
use std::time::{Duration, Instant};
use zeroring::zmtp::{
    CurveSecretKey, Handshake, HandshakeConfig, Incoming, MechanismConfig, Session,
};
use zeroring::SocketType;

const SIZE: usize = 32;
/// Frames sealed (untimed) before each timed batch of opens.
const BATCH: u64 = 4096;

/// A PUSH (CURVE client) session and a PULL (CURVE server) session after a
/// handshake passed between them in memory.
fn sessions() -> (Session, Session) {
    let server_secret = CurveSecretKey::generate().unwrap();
    let server_public = server_secret.public_key();
    let client_secret = CurveSecretKey::generate().unwrap();
    let client_public = client_secret.public_key();
    let mut client = Handshake::new(HandshakeConfig {
        mechanism: MechanismConfig::curve_client(client_public, client_secret, server_public),
        ..HandshakeConfig::new(SocketType::Push)
    })
    .unwrap();
    let mut server = Handshake::new(HandshakeConfig {
        mechanism: MechanismConfig::CurveServer {
            secret_key: server_secret,
            authenticator: Some(std::sync::Arc::new(|_| true)),
        },
        ..HandshakeConfig::new(SocketType::Pull)
    })
    .unwrap();
    for _ in 0..16 {
        if let Some(bytes) = client.poll_transmit() {
            server.feed(&bytes).unwrap();
        }
        if let Some(bytes) = server.poll_transmit() {
            client.feed(&bytes).unwrap();
        }
    }
    assert!(client.is_ready() && server.is_ready(), "handshake done");
    let now = Instant::now();
    let (Ok((c, rest_c)), Ok((s, rest_s))) = (client.into_session(now), server.into_session(now))
    else {
        panic!("ready handshakes become sessions");
    };
    assert!(rest_c.is_empty() && rest_s.is_empty());
    assert!(c.is_encrypted() && s.is_encrypted());
    (c, s)
}

/// Reads every frame in `wire` in place, as the engine does.
fn read_all(s: &mut Session, wire: &mut [u8], now: Instant) -> u64 {
    let mut at = 0;
    let mut frames = 0;
    while at < wire.len() {
        let (len, incoming) = s.read(&mut wire[at..], now).unwrap();
        match incoming {
            Incoming::Message { payload, .. } => {
                black_box(payload);
            }
            other => panic!("not a message: {other:?}"),
        }
        s.taken();
        at += len;
        frames += 1;
    }
    frames
}

fn message(c: &mut Criterion) {
    let mut g = c.benchmark_group("curve_message_32B");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    let payload = [0x5au8; SIZE];

    let (mut client, _server) = sessions();
    let mut out = Vec::with_capacity(1 << 16);
    g.bench_function("seal", |b| {
        b.iter(|| {
            client.send_frame(black_box(&payload), false);
            client.transmit_into(&mut out);
            black_box(&out);
            out.clear();
        })
    });

    let (mut client, mut server) = sessions();
    let mut wire = Vec::with_capacity(BATCH as usize * (SIZE + 64));
    g.bench_function("open", |b| {
        b.iter_custom(|n| {
            let now = Instant::now();
            let mut elapsed = Duration::ZERO;
            let mut left = n;
            while left > 0 {
                let batch = left.min(BATCH);
                wire.clear();
                for _ in 0..batch {
                    client.send_frame(&payload, false);
                }
                client.transmit_into(&mut wire);
                let start = Instant::now();
                assert_eq!(read_all(&mut server, &mut wire, now), batch);
                elapsed += start.elapsed();
                left -= batch;
            }
            elapsed
        })
    });

    let a = crypto_box::SecretKey::from_bytes([3; 32]);
    let b = crypto_box::SecretKey::from_bytes([5; 32]);
    let salsa_box = crypto_box::SalsaBox::new(&b.public_key(), &a);
    let mut plain = [0x5au8; 1 + SIZE];
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(b"CurveZMQMESSAGEC");
    let mut n = 0u64;
    g.bench_function("crypto_box_seal", |bench| {
        bench.iter(|| {
            n += 1;
            nonce[16..].copy_from_slice(&n.to_be_bytes());
            let tag = salsa_box
                .encrypt_in_place_detached(GenericArray::from_slice(&nonce), b"", &mut plain)
                .unwrap();
            black_box(tag);
        })
    });
    g.finish();
}

criterion_group!(benches, message);
criterion_main!(benches);
