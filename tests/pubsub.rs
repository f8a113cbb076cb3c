//! PUB, SUB, XPUB and XSUB, after libzmq's test_pubsub, test_hwm_pubsub,
//! test_xpub_nodrop, test_xpub_verbose, test_xpub_manual and
//! test_xpub_welcome_msg. Over inproc a subscription is in the pipe when
//! `set_subscribe` returns and the publisher reads it before its next send,
//! so these tests need no sleeps.

mod common;
use common::*;
use zeroring::{Context, Error, Socket, SocketType::*, DONTWAIT};

fn drain(s: &Socket) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| s.recv_bytes(DONTWAIT).ok()).collect()
}

#[test]
fn sub_starts_with_nothing_and_matches_prefixes() {
    let ctx = Context::new();
    let (publ, sub) = pair_of(&ctx, Pub, Sub, "inproc://ps-prefix");
    publ.send("nobody asked", 0).unwrap();
    sub.set_subscribe(b"wea").unwrap();
    for m in ["weather 1", "sports 1", "weat", "we", "weather 2"] {
        publ.send(m, 0).unwrap();
    }
    assert_eq!(
        drain(&sub),
        vec![
            b"weather 1".to_vec(),
            b"weat".to_vec(),
            b"weather 2".to_vec()
        ]
    );
    sub.set_subscribe(b"").unwrap();
    publ.send("anything", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"anything".to_vec()]);
}

#[test]
fn subscriptions_are_counted() {
    let ctx = Context::new();
    let (publ, sub) = pair_of(&ctx, Pub, Sub, "inproc://ps-count");
    sub.set_subscribe(b"A").unwrap();
    sub.set_subscribe(b"A").unwrap();
    sub.set_unsubscribe(b"A").unwrap();
    publ.send("A1", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"A1".to_vec()], "one reference left");
    sub.set_unsubscribe(b"A").unwrap();
    publ.send("A2", 0).unwrap();
    assert!(drain(&sub).is_empty());
}

#[test]
fn filtering_happens_at_the_publisher() {
    // With a window of two messages, unfiltered traffic would crowd out the
    // one message the subscriber wants.
    let ctx = Context::new();
    let publ = socket(&ctx, Pub);
    publ.set_sndhwm(1).unwrap();
    publ.bind("inproc://ps-at-pub").unwrap();
    let sub = socket(&ctx, Sub);
    sub.set_rcvhwm(1).unwrap();
    sub.connect("inproc://ps-at-pub").unwrap();
    sub.set_subscribe(b"keep").unwrap();
    for _ in 0..1000 {
        publ.send("skip", 0).unwrap();
    }
    publ.send("keep me", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"keep me".to_vec()]);
}

#[test]
fn multipart_messages_are_filtered_on_the_first_frame_and_arrive_whole() {
    let ctx = Context::new();
    let (publ, sub) = pair_of(&ctx, Pub, Sub, "inproc://ps-mp");
    sub.set_subscribe(b"t").unwrap();
    publ.send_multipart(["t1", "body", "tail"], 0).unwrap();
    publ.send_multipart(["x1", "t-not-first"], 0).unwrap();
    assert_eq!(
        sub.recv_multipart(0).unwrap(),
        vec![b"t1".to_vec(), b"body".to_vec(), b"tail".to_vec()]
    );
    assert!(drain(&sub).is_empty());
}

#[test]
fn slow_subscriber_loses_only_its_own_messages_and_never_blocks_the_publisher() {
    let ctx = Context::new();
    let publ = socket(&ctx, Pub);
    publ.set_sndhwm(10).unwrap();
    publ.bind("inproc://ps-slow").unwrap();
    let slow = socket(&ctx, Sub);
    slow.set_rcvhwm(10).unwrap();
    slow.connect("inproc://ps-slow").unwrap();
    slow.set_subscribe(b"").unwrap();
    let fast = socket(&ctx, Sub);
    fast.connect("inproc://ps-slow").unwrap();
    fast.set_subscribe(b"").unwrap();
    let mut fast_got = 0u32;
    for i in 0..5000u32 {
        publ.send(i.to_le_bytes(), DONTWAIT)
            .expect("PUB never blocks");
        while let Ok(m) = fast.recv_bytes(DONTWAIT) {
            assert_eq!(
                m,
                fast_got.to_le_bytes(),
                "the fast subscriber misses nothing"
            );
            fast_got += 1;
        }
    }
    assert_eq!(fast_got, 5000);
    let slow_got = drain(&slow);
    assert_eq!(slow_got.len(), 20, "the slow one holds its window: 10 + 10");
    assert_eq!(slow_got[0], 0u32.to_le_bytes(), "and keeps the oldest");
}

#[test]
fn publisher_without_subscribers_drops() {
    let ctx = Context::new();
    let publ = ctx.socket(Pub).unwrap();
    for _ in 0..10_000 {
        publ.send("into the void", DONTWAIT).unwrap();
    }
    let sub = socket(&ctx, Sub);
    publ.bind("inproc://ps-void").unwrap();
    sub.connect("inproc://ps-void").unwrap();
    sub.set_subscribe(b"").unwrap();
    publ.send("after", 0).unwrap();
    assert_eq!(
        drain(&sub),
        vec![b"after".to_vec()],
        "a late subscriber sees only what follows"
    );
}

#[test]
fn one_subscriber_many_publishers_fair_queued() {
    let ctx = Context::new();
    let sub = socket(&ctx, Sub);
    sub.set_subscribe(b"").unwrap();
    let pubs: Vec<Socket> = (0..3)
        .map(|i| {
            let p = socket(&ctx, Pub);
            p.bind(&format!("inproc://ps-many-{i}")).unwrap();
            sub.connect(&format!("inproc://ps-many-{i}")).unwrap();
            p
        })
        .collect();
    for (i, p) in pubs.iter().enumerate() {
        for k in 0..100u8 {
            p.send([i as u8, k], 0).unwrap();
        }
    }
    let got = drain(&sub);
    assert_eq!(got.len(), 300);
    let sources: Vec<u8> = got[..6].iter().map(|m| m[0]).collect();
    assert_eq!(sources, [0, 1, 2, 0, 1, 2], "fair-queued");
    for i in 0..3u8 {
        let seq: Vec<u8> = got.iter().filter(|m| m[0] == i).map(|m| m[1]).collect();
        assert_eq!(seq, (0..100).collect::<Vec<u8>>());
    }
}

#[test]
fn subscriptions_are_resent_to_every_new_connection() {
    let ctx = Context::new();
    let sub = socket(&ctx, Sub);
    sub.set_subscribe(b"x").unwrap();
    let p1 = socket(&ctx, Pub);
    p1.bind("inproc://ps-resend").unwrap();
    sub.connect("inproc://ps-resend").unwrap();
    p1.send("x1", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"x1".to_vec()]);
    // Reconnect: the new pipe gets the subscriptions again.
    sub.disconnect("inproc://ps-resend").unwrap();
    sub.connect("inproc://ps-resend").unwrap();
    p1.send("x2", 0).unwrap();
    p1.send("y2", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"x2".to_vec()]);
}

#[test]
fn xpub_sees_new_topics_and_last_cancels() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.bind("inproc://xpub").unwrap();
    let s1 = socket(&ctx, Sub);
    s1.connect("inproc://xpub").unwrap();
    let s2 = socket(&ctx, Sub);
    s2.connect("inproc://xpub").unwrap();
    s1.set_subscribe(b"A").unwrap();
    s2.set_subscribe(b"A").unwrap();
    s2.set_subscribe(b"B").unwrap();
    assert_eq!(
        drain(&xpub),
        vec![b"\x01A".to_vec(), b"\x01B".to_vec()],
        "duplicates are not passed on"
    );
    s1.set_unsubscribe(b"A").unwrap();
    assert!(drain(&xpub).is_empty(), "A still has a subscriber");
    s2.set_unsubscribe(b"A").unwrap();
    assert_eq!(drain(&xpub), vec![b"\x00A".to_vec()]);
    // A subscriber going away cancels what it held.
    drop(s2);
    assert_eq!(drain(&xpub), vec![b"\x00B".to_vec()]);
}

#[test]
fn xpub_verbose_and_verboser() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.set_xpub_verbose(true).unwrap();
    xpub.bind("inproc://xpub-verbose").unwrap();
    let s1 = socket(&ctx, Sub);
    s1.connect("inproc://xpub-verbose").unwrap();
    let s2 = socket(&ctx, Sub);
    s2.connect("inproc://xpub-verbose").unwrap();
    s1.set_subscribe(b"A").unwrap();
    s2.set_subscribe(b"A").unwrap();
    assert_eq!(drain(&xpub), vec![b"\x01A".to_vec(), b"\x01A".to_vec()]);
    s1.set_unsubscribe(b"A").unwrap();
    assert!(
        drain(&xpub).is_empty(),
        "VERBOSE alone passes only the last cancel"
    );
    xpub.set_xpub_verboser(true).unwrap();
    s1.set_subscribe(b"A").unwrap();
    s1.set_unsubscribe(b"A").unwrap();
    assert_eq!(drain(&xpub), vec![b"\x01A".to_vec(), b"\x00A".to_vec()]);
}

#[test]
fn xpub_manual_lets_the_application_decide() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.set_xpub_manual(true).unwrap();
    xpub.bind("inproc://xpub-manual").unwrap();
    // An XSUB, as in libzmq's test: a SUB would filter locally on "A" too.
    let sub = socket(&ctx, XSub);
    sub.connect("inproc://xpub-manual").unwrap();
    sub.send(b"\x01A", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    // Not applied: the application subscribes the peer to something else.
    xpub.set_subscribe(b"B").unwrap();
    xpub.send("A: not delivered", 0).unwrap();
    xpub.send("B: delivered", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"B: delivered".to_vec()]);
}

#[test]
fn xpub_welcome_message_greets_each_subscriber() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.set_xpub_welcome_msg(Some(b"W")).unwrap();
    xpub.bind("inproc://xpub-welcome").unwrap();
    let sub = socket(&ctx, Sub);
    sub.set_subscribe(b"W").unwrap();
    sub.connect("inproc://xpub-welcome").unwrap();
    // The welcome is sent when the XPUB takes the connection.
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01W");
    assert_eq!(sub.recv_bytes(0).unwrap(), b"W");
}

#[test]
fn xpub_nodrop_would_block_instead_of_dropping() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_sndhwm(5).unwrap();
    xpub.bind("inproc://xpub-nodrop").unwrap();
    let sub = socket(&ctx, Sub);
    sub.set_rcvhwm(5).unwrap();
    sub.connect("inproc://xpub-nodrop").unwrap();
    sub.set_subscribe(b"").unwrap();
    let mut sent = 0;
    while xpub.send("m", DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 10, "never more than the window");
    }
    assert_eq!(sent, 10);
    assert!(matches!(xpub.send("m", DONTWAIT), Err(Error::WouldBlock)));
    assert_eq!(drain(&sub).len(), 10, "nothing was dropped");
    xpub.send("m", DONTWAIT).unwrap();
}

/// XPUB_NODROP would-blocks at the high-water mark, not when the ring is
/// full: big messages in a small ring spill beyond it, and nothing is
/// dropped (libzmq's pipes are bounded by the mark alone).
#[test]
fn xpub_nodrop_would_block_at_the_mark_not_at_the_ring() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_ring_capacity(4096).unwrap();
    xpub.set_sndhwm(10).unwrap();
    xpub.bind("inproc://xpub-nodrop-ring").unwrap();
    let sub = socket(&ctx, Sub);
    sub.set_ring_capacity(4096).unwrap();
    sub.set_rcvhwm(10).unwrap();
    sub.connect("inproc://xpub-nodrop-ring").unwrap();
    sub.set_subscribe(b"").unwrap();
    let big = [7u8; 1000];
    let mut sent = 0;
    while xpub.send(&big[..], DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 20, "past the two marks");
    }
    assert_eq!(sent, 20, "inproc: SNDHWM + RCVHWM, whatever the ring holds");
    assert_eq!(drain(&sub).len(), sent, "nothing was dropped");
    xpub.send(&big[..], DONTWAIT).unwrap();
}

#[test]
fn xsub_forwards_subscriptions_as_messages_and_filters_nothing() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.bind("inproc://xsub").unwrap();
    let xsub = socket(&ctx, XSub);
    xsub.connect("inproc://xsub").unwrap();
    xsub.send(b"\x01topic", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01topic");
    xpub.send("topic: yes", 0).unwrap();
    xpub.send("other: filtered at the publisher", 0).unwrap();
    assert_eq!(drain(&xsub), vec![b"topic: yes".to_vec()]);
    xsub.send(b"\x00topic", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00topic");
}

#[test]
fn invert_matching_delivers_what_does_not_match() {
    let ctx = Context::new();
    let publ = socket(&ctx, Pub);
    publ.set_invert_matching(true).unwrap();
    publ.bind("inproc://invert").unwrap();
    let sub = socket(&ctx, Sub);
    sub.set_invert_matching(true).unwrap();
    sub.connect("inproc://invert").unwrap();
    sub.set_subscribe(b"noise").unwrap();
    publ.send("noise 1", 0).unwrap();
    publ.send("signal 1", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"signal 1".to_vec()]);
}

#[test]
fn subscribe_on_a_non_subscriber_is_an_error() {
    let ctx = Context::new();
    let push = ctx.socket(Push).unwrap();
    assert!(matches!(
        push.set_subscribe(b"x"),
        Err(Error::InvalidArgument(_))
    ));
    let publ = ctx.socket(Pub).unwrap();
    assert!(matches!(
        publ.recv_bytes(DONTWAIT),
        Err(Error::NotSupported)
    ));
    let sub = ctx.socket(Sub).unwrap();
    assert!(matches!(sub.send("x", DONTWAIT), Err(Error::NotSupported)));
}

#[test]
fn at_the_high_water_mark_each_type_blocks_or_drops_as_libzmq_documents() {
    // (sender, receiver, blocks?) — zmq_socket(3) "action in mute state".
    let cases = [
        (Push, Pull, true),
        (Dealer, Dealer, true),
        (Pair, Pair, true),
        (Pub, Sub, false),
        (XPub, Sub, false),
    ];
    for (i, (tx_kind, rx_kind, blocks)) in cases.into_iter().enumerate() {
        let ctx = Context::new();
        let ep = format!("inproc://mute-{i}");
        let tx = socket(&ctx, tx_kind);
        tx.set_sndhwm(2).unwrap();
        tx.bind(&ep).unwrap();
        let rx = socket(&ctx, rx_kind);
        rx.set_rcvhwm(2).unwrap();
        rx.connect(&ep).unwrap();
        if rx_kind == Sub {
            rx.set_subscribe(b"").unwrap();
        }
        let mut outcomes = Vec::new();
        for _ in 0..6 {
            outcomes.push(tx.send("m", DONTWAIT).is_ok());
        }
        let received = drain(&rx).len();
        if blocks {
            assert_eq!(
                outcomes,
                [true, true, true, true, false, false],
                "{tx_kind:?} blocks"
            );
        } else {
            assert!(outcomes.iter().all(|&ok| ok), "{tx_kind:?} never blocks");
        }
        assert_eq!(received, 4, "{tx_kind:?}: the window is 2 + 2");
    }
    // ROUTER drops at the mark too (see reqrep_router for ROUTER_MANDATORY).
}

#[test]
fn xpub_passes_other_upstream_messages_whole() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.bind("inproc://xpub-upstream").unwrap();
    let xsub = socket(&ctx, XSub);
    xsub.connect("inproc://xpub-upstream").unwrap();
    xsub.send_multipart(["hello", "upstream"], 0).unwrap();
    assert_eq!(
        xpub.recv_multipart(0).unwrap(),
        vec![b"hello".to_vec(), b"upstream".to_vec()]
    );
}

/// libzmq's mtrie holds a topic once per pipe: a SUB that subscribed
/// twice (both go upstream) and cancels twice (only the last goes) ends
/// the topic at the XPUB (test_xpub_verbose's verboser_one_sub).
#[test]
fn xpub_holds_a_topic_once_per_pipe() {
    let ctx = Context::new();
    let (xpub, sub) = pair_of(&ctx, XPub, Sub, "inproc://xpub-once");
    sub.set_subscribe(b"A").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    sub.set_subscribe(b"A").unwrap();
    assert!(drain(&xpub).is_empty(), "a duplicate is not told");
    sub.set_unsubscribe(b"A").unwrap();
    sub.set_unsubscribe(b"A").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00A");
    xpub.send("A: to nobody", 0).unwrap();
    sub.set_subscribe(b"B").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01B");
    xpub.send("B", 0).unwrap();
    assert_eq!(drain(&sub), vec![b"B".to_vec()]);
}

/// With XPUB_MANUAL a subscriber that goes leaves a cancel for each topic
/// it subscribed to itself (not for those the application gave its pipe),
/// and the application's unsubscribe after it does nothing
/// (test_xpub_manual's unsubscribe_manual and unsubscribe_cleanup).
#[test]
fn xpub_manual_cancels_what_a_departed_subscriber_held() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    xpub.set_xpub_manual(true).unwrap();
    xpub.bind("inproc://xpub-manual-gone").unwrap();
    let sub = socket(&ctx, XSub);
    sub.connect("inproc://xpub-manual-gone").unwrap();
    sub.send(b"\x01A", 0).unwrap();
    sub.send(b"\x01B", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01A");
    xpub.set_subscribe(b"XA").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01B");
    xpub.set_subscribe(b"XB").unwrap();
    sub.send(b"\x00A", 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00A");
    xpub.set_unsubscribe(b"XA").unwrap();
    xpub.send("XA", 0).unwrap();
    xpub.send("XB", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"XB");
    drop(sub);
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00B");
    xpub.set_unsubscribe(b"XB").unwrap();
    assert!(drain(&xpub).is_empty());
}

/// Without XPUB_MANUAL the application cannot subscribe a pipe.
#[test]
fn xpub_subscribe_needs_xpub_manual() {
    let ctx = Context::new();
    let xpub = socket(&ctx, XPub);
    assert!(matches!(
        xpub.set_subscribe(b"A"),
        Err(Error::InvalidArgument(_) | Error::NotSupported)
    ));
}
