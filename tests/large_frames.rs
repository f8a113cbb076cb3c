//! Frames larger than a pipe's ring, in one process: they travel in chunks
//! of the sending socket's pool (only a descriptor enters the ring), over
//! inproc and through the tcp engine, up to the pool's largest chunk.

mod common;
use common::*;
use zeroring::{Context, SocketType::*};

const MIB: usize = 1 << 20;

/// A frame whose bytes say where they are, so a misplaced or stale byte
/// shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn inproc_carries_frames_larger_than_the_ring() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://large");
    for (n, len) in [300_000, MIB, 5 * MIB, 40 * MIB].into_iter().enumerate() {
        let msg = pattern(len, n as u8);
        push.send(&msg[..], 0).unwrap();
        assert!(pull.recv_bytes(0).unwrap() == msg, "frame of {len} bytes");
    }
    // Many in a row: the pool's chunks come back as they are read.
    let msg = pattern(2 * MIB, 7);
    let reader = std::thread::spawn(move || {
        for _ in 0..200 {
            assert_eq!(pull.recv_bytes(0).unwrap().len(), 2 * MIB);
        }
        pull
    });
    for _ in 0..200 {
        push.send(&msg[..], 0).unwrap();
    }
    reader.join().unwrap();
}

#[test]
fn multipart_messages_mix_ring_and_chunk_frames() {
    let ctx = Context::new();
    let (rep, req) = pair_of(&ctx, Rep, Req, "inproc://large-multi");
    let parts = vec![b"head".to_vec(), pattern(3 * MIB, 1), b"tail".to_vec()];
    req.send_multipart(parts.clone(), 0).unwrap();
    assert_eq!(rep.recv_multipart(0).unwrap(), parts);
    rep.send(&pattern(MIB, 2)[..], 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), pattern(MIB, 2));
}

#[test]
fn pub_fans_large_frames_out_to_every_subscriber() {
    let ctx = Context::new();
    let publ = socket(&ctx, XPub);
    // Every subscription comes up, so all three are there to count.
    publ.set_xpub_verbose(true).unwrap();
    publ.bind("inproc://large-pub").unwrap();
    let subs: Vec<_> = (0..3)
        .map(|_| {
            let s = socket(&ctx, Sub);
            s.connect("inproc://large-pub").unwrap();
            s.set_subscribe(b"").unwrap();
            s
        })
        .collect();
    for _ in &subs {
        assert_eq!(publ.recv_bytes(0).unwrap(), [1]);
    }
    let msg = pattern(MIB, 3);
    publ.send(&msg[..], 0).unwrap();
    for s in &subs {
        assert!(s.recv_bytes(0).unwrap() == msg);
    }
}

#[test]
fn a_frame_above_the_largest_chunk_is_refused() {
    let ctx = Context::new();
    let (_pull, push) = pair_of(&ctx, Pull, Push, "inproc://too-large");
    let err = push.send(vec![0u8; 65 * MIB], 0).unwrap_err();
    assert!(
        matches!(err, zeroring::Error::MessageTooLarge { .. }),
        "{err:?}"
    );
}

#[test]
fn tcp_carries_frames_larger_than_the_ring_both_ways() {
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let ep = rep.get_last_endpoint().unwrap().unwrap();
    let req = socket(&ctx, Req);
    req.connect(&ep).unwrap();
    for (n, len) in [200_000, 3 * MIB, 20 * MIB].into_iter().enumerate() {
        let msg = pattern(len, n as u8);
        req.send(&msg[..], 0).unwrap();
        let got = rep.recv_bytes(0).unwrap();
        assert!(got == msg, "request of {len} bytes");
        rep.send(&got[..], 0).unwrap();
        assert!(req.recv_bytes(0).unwrap() == msg, "reply of {len} bytes");
    }
}

#[test]
fn libzmq_sends_frames_larger_than_the_ring_over_tcp() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    let zctx = zmq::Context::new();
    let push = zctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    for (n, len) in [500_000, 8 * MIB].into_iter().enumerate() {
        let msg = pattern(len, n as u8);
        push.send(&msg[..], 0).unwrap();
        assert!(pull.recv_bytes(0).unwrap() == msg, "frame of {len} bytes");
    }
}

#[test]
fn a_loan_larger_than_the_ring_is_written_in_place_and_read_borrowed() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://large-loan");
    for seed in 0..3u8 {
        let msg = pattern(3 * MIB, seed);
        let mut loan = push.loan(msg.len(), 0).unwrap();
        loan.copy_from_slice(&msg);
        loan.send().unwrap();
        let frame = pull.recv_frame(0).unwrap();
        assert!(*frame == msg[..], "loan {seed}");
    }
}

#[test]
fn a_large_frame_sent_before_the_peer_binds_arrives() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.connect("inproc://large-late").unwrap();
    let msg = pattern(2 * MIB, 9);
    push.send(&msg[..], 0).unwrap();
    let pull = socket(&ctx, Pull);
    pull.bind("inproc://large-late").unwrap();
    assert!(pull.recv_bytes(0).unwrap() == msg);
}
