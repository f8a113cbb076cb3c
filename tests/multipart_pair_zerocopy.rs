//! Multipart atomicity, PAIR, zero-copy loans and frames, and API errors.

mod common;
use common::*;
use zeroring::{Context, Error, SocketType, SocketType::*, DONTWAIT, SNDMORE};

#[test]
fn multipart_arrives_whole_or_not_at_all() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://mp");
    push.send("a", SNDMORE).unwrap();
    push.send("b", SNDMORE).unwrap();
    // Nothing of an unfinished message is visible.
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    push.send("c", 0).unwrap();
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"a");
    assert!(pull.get_rcvmore().unwrap());
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"b");
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"c");
    assert!(!pull.get_rcvmore().unwrap());
}

#[test]
fn multipart_stays_atomic_across_the_high_water_mark() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://mp-hwm").unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://mp-hwm").unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..2_000u32 {
            let n = 1 + i % 5;
            for k in 0..n {
                let flags = if k + 1 < n { SNDMORE } else { 0 };
                push.send(
                    [i.to_le_bytes(), k.to_le_bytes(), n.to_le_bytes()].concat(),
                    flags,
                )
                .unwrap();
            }
        }
    });
    bounded(move || {
        for i in 0..2_000u32 {
            let first = pull.recv_bytes(0).unwrap();
            let n = u32::from_le_bytes(first[8..12].try_into().unwrap());
            assert_eq!(u32::from_le_bytes(first[..4].try_into().unwrap()), i);
            // Once the first frame is here, the rest must be too.
            for k in 1..n {
                let f = pull
                    .recv_bytes(DONTWAIT)
                    .expect("rest of a message must be there");
                assert_eq!(
                    f,
                    [i.to_le_bytes(), k.to_le_bytes(), n.to_le_bytes()].concat()
                );
            }
            assert!(!pull.get_rcvmore().unwrap());
        }
    });
    sender.join().unwrap();
}

#[test]
fn a_message_cut_off_by_close_is_never_seen() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("inproc://cut").unwrap();
    let push = socket(&ctx, Push);
    push.connect("inproc://cut").unwrap();
    push.send("whole", 0).unwrap();
    push.send("half", SNDMORE).unwrap();
    drop(push);
    assert_eq!(pull.recv_bytes(0).unwrap(), b"whole");
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn send_multipart_is_all_or_nothing() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ring_capacity(4096).unwrap();
    pull.bind("inproc://smp").unwrap();
    let push = socket(&ctx, Push);
    push.set_ring_capacity(4096).unwrap();
    push.connect("inproc://smp").unwrap();
    push.send_multipart(["k", "v1", "v2"], 0).unwrap();
    assert_eq!(
        pull.recv_multipart(0).unwrap(),
        vec![b"k".to_vec(), b"v1".to_vec(), b"v2".to_vec()]
    );
    // A message larger than the ring (each frame fits alone, under half
    // the ring and too small for a chunk) goes beyond it, whole.
    let big = vec![5u8; 1536];
    push.send_multipart([&big[..], &big[..], &big[..]], 0)
        .unwrap();
    assert_eq!(pull.recv_multipart(0).unwrap(), vec![big.clone(); 3]);
    // One that fails fails whole and leaves nothing behind.
    let huge = vec![0u8; 64 * 1024 * 1024 + 1];
    let err = push
        .send_multipart([&big[..], &big[..], &huge[..]], 0)
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { .. }), "{err}");
    push.send_multipart(["after"], 0).unwrap();
    assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"after".to_vec()]);
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn oversized_frame_is_refused_and_the_socket_goes_on() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ring_capacity(4096).unwrap();
    pull.bind("inproc://big").unwrap();
    let push = socket(&ctx, Push);
    push.set_ring_capacity(4096).unwrap();
    push.connect("inproc://big").unwrap();
    // Larger than the ring: it goes in a chunk of the sender's pool.
    push.send(vec![2u8; 4000], 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), vec![2u8; 4000]);
    // Larger than the largest chunk: refused, and nothing else is lost.
    let size = 64 * 1024 * 1024 + 1;
    match push.send(vec![0u8; size], 0) {
        Err(Error::MessageTooLarge { size: s, max }) => {
            assert_eq!((s, max), (size, 64 * 1024 * 1024))
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    push.send(vec![1u8; 2040], 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), vec![1u8; 2040]);
}

#[test]
fn recv_into_truncates_and_reports_the_full_size() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://trunc");
    push.send("0123456789", 0).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(pull.recv_into(&mut buf, 0).unwrap(), 10);
    assert_eq!(&buf, b"0123");
}

#[test]
fn pair_talks_both_ways_and_refuses_a_second_peer() {
    let ctx = Context::new();
    let (a, b) = pair_of(&ctx, Pair, Pair, "inproc://pair");
    b.send("ping", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"ping");
    a.send("pong", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"pong");

    let intruder = socket(&ctx, Pair);
    intruder.connect("inproc://pair").unwrap();
    // The binder keeps its peer; the intruder's messages go nowhere.
    a.send("still you", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"still you");
    assert!(matches!(
        intruder.send("hi", DONTWAIT),
        Err(Error::WouldBlock)
    ));
    assert!(matches!(a.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn loan_writes_in_place_and_frame_reads_in_place() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://zc");
    for i in 0..100u64 {
        let mut buf = push.loan(16, 0).unwrap();
        buf[..8].copy_from_slice(&i.to_le_bytes());
        buf[8..].copy_from_slice(&(!i).to_le_bytes());
        buf.send().unwrap();
    }
    for i in 0..100u64 {
        let frame = pull.recv_frame(0).unwrap();
        assert!(!frame.more());
        assert_eq!(&frame[..8], i.to_le_bytes());
        assert_eq!(&frame[8..], (!i).to_le_bytes());
    }
    // A loan dropped unsent sends nothing.
    drop(push.loan(8, 0).unwrap());
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    // Loans compose into multipart messages.
    let mut head = push.loan(1, SNDMORE).unwrap();
    head[0] = b'h';
    head.send().unwrap();
    push.send("tail", 0).unwrap();
    assert_eq!(
        pull.recv_multipart(0).unwrap(),
        vec![b"h".to_vec(), b"tail".to_vec()]
    );
}

#[test]
fn a_borrowed_frame_holds_the_socket() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://hold");
    push.send("one", 0).unwrap();
    push.send("two", 0).unwrap();
    let frame = pull.recv_frame(0).unwrap();
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WrongState)));
    assert_eq!(&*frame, b"one");
    drop(frame);
    assert_eq!(pull.recv_bytes(0).unwrap(), b"two");
}

#[test]
fn endpoints_errors_and_wrong_directions() {
    let ctx = Context::new();
    let pull = ctx.socket(Pull).unwrap();
    pull.bind("inproc://taken").unwrap();
    let other = ctx.socket(Pull).unwrap();
    assert!(matches!(
        other.bind("inproc://taken"),
        Err(Error::AddrInUse(_))
    ));
    assert!(matches!(
        other.bind("inproc://"),
        Err(Error::InvalidEndpoint { .. })
    ));
    assert!(matches!(
        other.connect("no-scheme"),
        Err(Error::InvalidEndpoint { .. })
    ));
    assert!(matches!(
        other.bind("pgm://eth0;239.192.1.1:5555"),
        Err(Error::TransportNotSupported(_))
    ));
    assert!(matches!(
        other.bind("tcp://127.0.0.1:notaport"),
        Err(Error::InvalidEndpoint { .. })
    ));
    assert!(matches!(
        other.unbind("inproc://taken"),
        Err(Error::EndpointNotFound(_))
    ));
    assert!(matches!(
        other.disconnect("inproc://nowhere"),
        Err(Error::EndpointNotFound(_))
    ));
    assert!(matches!(pull.send("x", DONTWAIT), Err(Error::NotSupported)));
    let push = ctx.socket(Push).unwrap();
    assert!(matches!(
        push.recv_bytes(DONTWAIT),
        Err(Error::NotSupported)
    ));
    assert!(matches!(
        push.set_sndhwm(-1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        push.set_ring_capacity(5000),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(pull.get_last_endpoint().unwrap().unwrap(), "inproc://taken");
    assert_eq!(pull.get_socket_type().unwrap(), SocketType::Pull);
}

/// libzmq 4.3 does not check socket types over inproc (its
/// test_inproc_connect connects PAIRs to a PULL): neither does zeroring,
/// whichever of bind and connect comes first.
#[test]
fn inproc_does_not_check_socket_types() {
    let ctx = Context::new();
    let early = socket(&ctx, Pair);
    early.connect("inproc://typed").unwrap();
    early.send("early", 0).unwrap();
    let pull = socket(&ctx, Pull);
    pull.bind("inproc://typed").unwrap();
    let late = socket(&ctx, Pair);
    late.connect("inproc://typed").unwrap();
    late.send("late", 0).unwrap();
    let mut got = [pull.recv_bytes(0).unwrap(), pull.recv_bytes(0).unwrap()];
    got.sort();
    assert_eq!(got, [b"early".to_vec(), b"late".to_vec()]);

    let push = socket(&ctx, Push);
    let other_push = socket(&ctx, Push);
    other_push.bind("inproc://push-bound").unwrap();
    push.connect("inproc://push-bound").unwrap();
}

#[test]
fn unbind_and_disconnect_close_their_pipes() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://ub");
    push.send("before", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"before");
    pull.unbind("inproc://ub").unwrap();
    assert!(
        matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)),
        "no peer after unbind"
    );
    // The name is free again, and a new connect reaches the new binder.
    let pull2 = socket(&ctx, Pull);
    pull2.bind("inproc://ub").unwrap();
    push.connect("inproc://ub").unwrap();
    push.send("again", 0).unwrap();
    assert_eq!(pull2.recv_bytes(0).unwrap(), b"again");

    push.disconnect("inproc://ub").unwrap();
    assert!(
        matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)),
        "no peer after disconnect"
    );
    // A connect parked before any bind can be taken back too.
    push.connect("inproc://nobody-yet").unwrap();
    push.disconnect("inproc://nobody-yet").unwrap();
    let late = socket(&ctx, Pull);
    late.bind("inproc://nobody-yet").unwrap();
    assert!(matches!(late.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn linger_zero_discards_messages_to_an_unbound_name() {
    let ctx = Context::new();
    for (linger, expect) in [(-1, true), (0, false)] {
        let name = format!("inproc://linger{linger}");
        let push = socket(&ctx, Push);
        push.set_linger(linger).unwrap();
        push.connect(&name).unwrap();
        push.send("queued", 0).unwrap();
        drop(push);
        let pull = socket(&ctx, Pull);
        pull.bind(&name).unwrap();
        assert_eq!(pull.recv_bytes(DONTWAIT).is_ok(), expect, "linger {linger}");
    }
}

#[test]
fn ping_pong_works_with_every_wait_strategy() {
    use std::time::Duration;
    use zeroring::WaitStrategy::*;
    for wait in [
        BusySpin,
        Park,
        SpinThenPark {
            spin: Duration::from_micros(5),
        },
    ] {
        let ctx = Context::new();
        let (a, b) = pair_of(&ctx, Pair, Pair, "inproc://pp");
        a.set_wait_strategy(wait).unwrap();
        b.set_wait_strategy(wait).unwrap();
        let echo = std::thread::spawn(move || {
            for _ in 0..2000 {
                let m = b.recv_bytes(0).unwrap();
                b.send(m, 0).unwrap();
            }
        });
        bounded(move || {
            for i in 0..2000u32 {
                a.send(i.to_le_bytes(), 0).unwrap();
                assert_eq!(a.recv_bytes(0).unwrap(), i.to_le_bytes());
            }
        });
        echo.join().unwrap();
    }
}

#[test]
fn sockets_are_send() {
    fn is_send<T: Send>() {}
    is_send::<zeroring::Socket>();
    is_send::<zeroring::Context>();
}
