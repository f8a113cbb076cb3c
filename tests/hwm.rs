//! High-water marks count messages: a pipe holds up to SNDHWM + RCVHWM
//! messages (inproc; each side's own mark over tcp), whatever its ring's
//! bytes, as libzmq's pipes do. Messages beyond the ring spill (see
//! `pipe::spill`) and still arrive whole and in order.

mod common;
use common::*;
use zeroring::{Context, Error, SocketType::*, DONTWAIT};

/// How many 1 KiB messages a PUSH with default options takes with
/// DONTWAIT before it would block, its PULL reading nothing.
fn zr_push_capacity(endpoint: &str) -> usize {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind(endpoint).unwrap();
    let push = socket(&ctx, Push);
    push.connect(endpoint).unwrap();
    let msg = [1u8; 1024];
    let mut n = 0;
    loop {
        match push.send(&msg[..], DONTWAIT) {
            Ok(()) => n += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("send {n}: {e}"),
        }
        assert!(n <= 1_000_000, "never would-blocked");
    }
    for i in 0..n {
        assert_eq!(pull.recv_bytes(0).unwrap().len(), 1024, "message {i}");
    }
    n
}

#[test]
fn push_takes_as_many_messages_as_libzmq_before_would_block() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://cap").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect("inproc://cap").unwrap();
    let mut libzmq = 0;
    while push.send(&[1u8; 1024][..], zmq::DONTWAIT).is_ok() {
        libzmq += 1;
    }
    assert_eq!(libzmq, 2000, "libzmq 4.3: both default marks summed");
    assert_eq!(zr_push_capacity("inproc://cap"), libzmq);
}

#[test]
fn a_burst_beyond_the_ring_reaches_a_slow_subscriber_whole() {
    // libzmq delivers all 1,500 at default options (the marks sum to
    // 2,000 over inproc); 1,500 KiB is six times a default ring.
    let ctx = Context::new();
    let publisher = socket(&ctx, XPub);
    publisher.bind("inproc://burst").unwrap();
    let sub = socket(&ctx, Sub);
    sub.connect("inproc://burst").unwrap();
    sub.set_subscribe(b"").unwrap();
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x01");
    for i in 0..1500u32 {
        let mut msg = vec![0u8; 1024];
        msg[..4].copy_from_slice(&i.to_le_bytes());
        publisher.send(msg, 0).unwrap();
    }
    for i in 0..1500u32 {
        let msg = sub.recv_bytes(0).unwrap();
        assert_eq!(msg.len(), 1024);
        assert_eq!(msg[..4], i.to_le_bytes(), "in order, none dropped");
    }
    assert!(matches!(sub.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

/// zguide's syncpub/syncsub, scaled down tenfold (HWM 110,000, 100,000
/// updates, ten subscribers that read nothing until the last update is
/// sent): every subscriber gets every update, then END.
fn syncpub_shape(endpoint: &str) {
    const UPDATES: u32 = 100_000;
    const SUBSCRIBERS: usize = 10;
    let ctx = Context::new();
    let publisher = socket(&ctx, XPub);
    publisher.set_sndhwm(110_000).unwrap();
    publisher.set_xpub_verbose(true).unwrap();
    publisher.bind(endpoint).unwrap();
    let endpoint = publisher.get_last_endpoint().unwrap().unwrap();
    let subs: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let s = socket(&ctx, Sub);
            s.set_rcvhwm(110_000).unwrap();
            s.connect(&endpoint).unwrap();
            s.set_subscribe(b"").unwrap();
            s
        })
        .collect();
    // Synchronised on the subscriptions themselves, one per subscriber.
    for _ in 0..SUBSCRIBERS {
        assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x01");
    }
    for i in 0..UPDATES {
        publisher.send(i.to_le_bytes(), 0).unwrap();
    }
    publisher.send("END", 0).unwrap();
    let readers: Vec<_> = subs
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || {
                for i in 0..UPDATES {
                    assert_eq!(s.recv_bytes(0).unwrap(), i.to_le_bytes(), "update {i}");
                }
                assert_eq!(s.recv_bytes(0).unwrap(), b"END");
            })
        })
        .collect();
    bounded(move || {
        for r in readers {
            r.join().unwrap();
        }
    });
}

#[test]
fn syncpub_every_subscriber_gets_every_update_inproc() {
    syncpub_shape("inproc://syncpub");
}

#[test]
fn syncpub_every_subscriber_gets_every_update_ipc() {
    let path = std::env::temp_dir().join(format!("zr-hwm-{}-syncpub", std::process::id()));
    let _ = std::fs::remove_file(&path);
    syncpub_shape(&format!("ipc://{}", path.display()));
}

#[test]
fn syncpub_every_subscriber_gets_every_update_tcp() {
    syncpub_shape("tcp://127.0.0.1:0");
}

#[test]
fn a_multipart_message_spills_whole_and_stays_in_order() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ring_capacity(4096).unwrap();
    pull.bind("inproc://spill-multipart").unwrap();
    let push = socket(&ctx, Push);
    push.set_ring_capacity(4096).unwrap();
    push.connect("inproc://spill-multipart").unwrap();
    // 300 two-frame messages of two lines each, in a 4 KiB ring.
    for i in 0..300u32 {
        push.send_multipart([i.to_le_bytes().to_vec(), vec![7u8; 100]], 0)
            .unwrap();
    }
    for i in 0..300u32 {
        let msg = pull.recv_multipart(0).unwrap();
        assert_eq!(msg, vec![i.to_le_bytes().to_vec(), vec![7u8; 100]]);
    }
}

#[test]
fn conflate_pipes_never_grow_beyond_their_ring() {
    // CONFLATE lifts the message limit (libzmq keeps one message); the
    // ring stays the bound, as before messages could spill.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_conflate(true).unwrap();
    pull.set_ring_capacity(4096).unwrap();
    pull.bind("inproc://conflate-bound").unwrap();
    let push = socket(&ctx, Push);
    push.set_conflate(true).unwrap();
    push.set_ring_capacity(4096).unwrap();
    push.connect("inproc://conflate-bound").unwrap();
    let mut sent = 0u32;
    while push.send([1u8; 1000], DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent < 100, "grew past a 4 KiB ring");
    }
    assert!(sent >= 2, "{sent}");
    assert_eq!(pull.recv_bytes(0).unwrap().len(), 1000, "the newest");
}

#[test]
fn order_holds_while_the_writer_goes_in_and_out_of_the_spill() {
    // A small ring and a reader that keeps up only now and then: the
    // writer spills, the reader empties the spill, the writer is back in
    // the ring, many times over, with both threads running.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ring_capacity(4096).unwrap();
    pull.bind("inproc://spill-order").unwrap();
    let push = socket(&ctx, Push);
    push.set_ring_capacity(4096).unwrap();
    push.connect("inproc://spill-order").unwrap();
    const N: u32 = 200_000;
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            // Sizes from 4 to 300 bytes: some inline in the spill, some not.
            let mut msg = vec![0u8; 4 + (i as usize * 7919) % 297];
            msg[..4].copy_from_slice(&i.to_le_bytes());
            push.send(msg, 0).unwrap();
        }
        push
    });
    bounded(move || {
        for i in 0..N {
            let msg = pull.recv_bytes(0).unwrap();
            assert_eq!(msg.len(), 4 + (i as usize * 7919) % 297);
            assert_eq!(msg[..4], i.to_le_bytes(), "message {i} out of order");
            if i % 5000 == 0 {
                // Let the writer run ahead into the spill.
                std::thread::yield_now();
            }
        }
    });
    drop(sender.join().unwrap());
}

/// The same steps on libzmq (the `zmq` crate) and on zeroring: a PUSH and
/// a PULL over inproc, as libzmq's test_sockopt_hwm and test_hwm make
/// them; the closure's counts must agree.
macro_rules! on_both {
    (|$ctx:ident, $push:ident, $pull:ident, $dontwait:ident| $body:block) => {{
        let libzmq = {
            let $ctx = zmq::Context::new();
            let $push = $ctx.socket(zmq::PUSH).unwrap();
            let $pull = $ctx.socket(zmq::PULL).unwrap();
            let $dontwait = zmq::DONTWAIT;
            $body
        };
        let zeroring = {
            let $ctx = Context::new();
            let $push = socket(&$ctx, Push);
            let $pull = socket(&$ctx, Pull);
            let $dontwait = DONTWAIT;
            $body
        };
        assert_eq!(zeroring, libzmq, "zeroring's counts, then libzmq's");
    }};
}

#[test]
fn a_changed_sndhwm_applies_to_connected_pipes_as_in_libzmq() {
    on_both!(|ctx, push, pull, dontwait| {
        pull.set_rcvhwm(1).unwrap();
        push.set_sndhwm(1).unwrap();
        pull.connect("inproc://hwm-change").unwrap();
        push.bind("inproc://hwm-change").unwrap();
        push.set_sndhwm(5).unwrap();
        assert_eq!(push.get_sndhwm().unwrap(), 5);
        let mut sent = 0;
        while sent < 100 && push.send(&b""[..], dontwait).is_ok() {
            sent += 1;
        }
        let mut read = 0;
        while pull.recv_bytes(dontwait).is_ok() {
            read += 1;
        }
        (sent, read)
    });
}

#[test]
fn room_comes_back_in_low_water_marks_as_in_libzmq() {
    // libzmq's reader tells its writer what it read once per low-water
    // mark (half the pipe's mark): a writer at its mark of 7 gets room
    // only after 4 reads, and 4 messages' room after reading all 7.
    on_both!(|ctx, push, pull, dontwait| {
        pull.set_rcvhwm(3).unwrap();
        pull.bind("inproc://lwm").unwrap();
        push.set_sndhwm(4).unwrap();
        push.connect("inproc://lwm").unwrap();
        let fill = || {
            // libzmq's writer learns of reads by a command it processes
            // when asked for its events (a send alone looks only now and
            // then).
            push.get_events().unwrap();
            let mut n = 0;
            while n < 100 && push.send(&b"m"[..], dontwait).is_ok() {
                n += 1;
            }
            n
        };
        let first = fill();
        pull.recv_bytes(0).unwrap();
        let after_one = fill();
        for _ in 0..first - 1 {
            pull.recv_bytes(0).unwrap();
        }
        let after_all = fill();
        (first, after_one, after_all)
    });
}

#[test]
fn a_lowered_sndhwm_holds_what_is_queued_and_applies_after() {
    // libzmq's test_decrease_when_full: nothing queued is dropped, and
    // the next fill stops at the new mark (SNDHWM 70 + RCVHWM 1).
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    push.set_sndhwm(100).unwrap();
    push.bind("inproc://hwm-lower").unwrap();
    pull.connect("inproc://hwm-lower").unwrap();
    let fill = |from: u32| {
        let mut n = from;
        while push.send(&n.to_le_bytes()[..], DONTWAIT).is_ok() {
            n += 1;
        }
        n - from
    };
    assert_eq!(fill(0), 101);
    push.set_sndhwm(70).unwrap();
    for i in 0..101u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes(), "message {i}");
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    let again = fill(101);
    assert!(
        (8..=71).contains(&again),
        "{again} sent after lowering to 70"
    );
}

#[test]
fn a_raised_rcvhwm_reaches_the_writer_at_its_mark() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://hwm-raise");
    pull.set_rcvhwm(2).unwrap();
    push.set_sndhwm(2).unwrap();
    let fill = || {
        let mut n = 0;
        while n < 1000 && push.send("m", DONTWAIT).is_ok() {
            n += 1;
        }
        n
    };
    assert_eq!(fill(), 4, "2 + 2 on the existing pipe");
    pull.set_rcvhwm(10).unwrap();
    assert_eq!(fill(), 8, "2 + 10 in all");
    for _ in 0..12 {
        pull.recv_bytes(0).unwrap();
    }
}

#[test]
fn a_raised_rcvhwm_reaches_the_writer_of_a_shared_memory_pipe() {
    // Over ipc between zeroring sockets the writer's limit is its SNDHWM
    // plus the reader's RCVHWM, the reader in another process as far as
    // the pipe knows: a change made after the handshake reaches it as it
    // does in process.
    let path = std::env::temp_dir().join(format!("zr-hwm-raise-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let endpoint = format!("ipc://{}", path.display());
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(2).unwrap();
    pull.bind(&endpoint).unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(2).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("up", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"up");
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains("zeroring-pipe"), "not in shared memory");
    let fill = || {
        let mut n = 0;
        while n < 1000 && push.send("m", DONTWAIT).is_ok() {
            n += 1;
        }
        n
    };
    // "up" may still count: the reader tells the writer what it read once
    // per low-water mark, as libzmq's pipes do.
    let first = fill();
    assert!((3..=4).contains(&first), "{first} within 2 + 2");
    pull.set_rcvhwm(10).unwrap();
    assert_eq!(fill(), 8, "2 + 10 in all");
    for _ in 0..first + 8 {
        assert_eq!(pull.recv_bytes(0).unwrap(), b"m");
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}
