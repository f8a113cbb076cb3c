//! REQ, REP, DEALER and ROUTER, after libzmq's test_spec_req, test_spec_rep,
//! test_spec_dealer, test_spec_router, test_router_mandatory,
//! test_router_handover, test_req_relaxed, test_req_correlate and
//! test_probe_router.

mod common;
use common::*;
use zeroring::{Context, Error, Socket, SocketType::*, DONTWAIT, SNDMORE};

fn msg(frames: &[&[u8]]) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.to_vec()).collect()
}

#[test]
fn req_rep_round_trip_and_strict_alternation() {
    let ctx = Context::new();
    let (rep, req) = pair_of(&ctx, Rep, Req, "inproc://rr-basic");
    assert!(
        matches!(req.recv_bytes(DONTWAIT), Err(Error::WrongState)),
        "REQ must send first"
    );
    assert!(
        matches!(rep.send("x", DONTWAIT), Err(Error::WrongState)),
        "REP must receive first"
    );
    for i in 0..10u8 {
        req.send([b'Q', i], 0).unwrap();
        assert!(matches!(
            req.send("again", DONTWAIT),
            Err(Error::WrongState)
        ));
        assert_eq!(rep.recv_bytes(0).unwrap(), [b'Q', i]);
        assert!(matches!(rep.recv_bytes(DONTWAIT), Err(Error::WrongState)));
        rep.send([b'A', i], 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), [b'A', i]);
    }
}

#[test]
fn req_with_no_peer_blocks() {
    let ctx = Context::new();
    let req = ctx.socket(Req).unwrap();
    assert!(matches!(req.send("x", DONTWAIT), Err(Error::WouldBlock)));
    req.connect("inproc://nobody").unwrap();
    req.set_immediate(true).unwrap();
    assert!(
        matches!(req.send("x", DONTWAIT), Err(Error::WouldBlock)),
        "IMMEDIATE: no bound peer yet"
    );
}

#[test]
fn req_round_robins_requests_over_reps() {
    let ctx = Context::new();
    let req = socket(&ctx, Req);
    req.bind("inproc://rr-req-lb").unwrap();
    let reps: Vec<Socket> = (0..3)
        .map(|_| {
            let r = socket(&ctx, Rep);
            r.connect("inproc://rr-req-lb").unwrap();
            r
        })
        .collect();
    for round in 0..2 {
        for (i, rep) in reps.iter().enumerate() {
            req.send(format!("{round}-{i}"), 0).unwrap();
            assert_eq!(
                rep.recv_bytes(0).unwrap(),
                format!("{round}-{i}").as_bytes()
            );
            rep.send("ok", 0).unwrap();
            assert_eq!(req.recv_bytes(0).unwrap(), b"ok");
        }
    }
}

#[test]
fn req_envelope_seen_from_a_router_and_only_the_asked_peer_answers() {
    let ctx = Context::new();
    let req = socket(&ctx, Req);
    req.set_routing_id(b"REQ").unwrap();
    let routers: Vec<Socket> = (0..3)
        .map(|i| {
            let r = socket(&ctx, Router);
            r.bind(&format!("inproc://req-only-{i}")).unwrap();
            req.connect(&format!("inproc://req-only-{i}")).unwrap();
            r
        })
        .collect();
    req.send_multipart(["ABC", "DEF"], 0).unwrap();
    // The request went to the first router, in libzmq's format.
    assert_eq!(
        routers[0].recv_multipart(0).unwrap(),
        msg(&[b"REQ", b"", b"ABC", b"DEF"])
    );
    for r in &routers[1..] {
        assert!(matches!(r.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    }
    // The others answer first; their replies are not the REQ's to take.
    for (i, r) in routers.iter().enumerate().skip(1) {
        r.send_multipart([&b"REQ"[..], b"", format!("reply {i}").as_bytes()], 0)
            .unwrap();
    }
    assert!(matches!(req.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    routers[0]
        .send_multipart([&b"REQ"[..], b"", b"reply 0"], 0)
        .unwrap();
    assert_eq!(req.recv_multipart(0).unwrap(), msg(&[b"reply 0"]));
    // The stale replies are gone: the next request's answer is the real one.
    req.send("again", 0).unwrap();
    let to = routers
        .iter()
        .position(|r| r.readable().unwrap())
        .expect("someone got it");
    let got = routers[to].recv_multipart(0).unwrap();
    assert_eq!(got[1..], msg(&[b"", b"again"])[..]);
    routers[to]
        .send_multipart([&got[0][..], b"", b"fresh"], 0)
        .unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"fresh");
}

#[test]
fn rep_keeps_the_envelope_and_drops_malformed_requests() {
    let ctx = Context::new();
    let (rep, dealer) = pair_of(&ctx, Rep, Dealer, "inproc://rep-envelope");
    // No delimiter: not a request; dropped.
    dealer.send("garbage", 0).unwrap();
    dealer.send_multipart(["X", "Y", "", "body"], 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"body");
    assert!(!rep.get_rcvmore().unwrap());
    rep.send_multipart(["reply", "more"], 0).unwrap();
    assert_eq!(
        dealer.recv_multipart(0).unwrap(),
        msg(&[b"X", b"Y", b"", b"reply", b"more"])
    );
}

/// A REP answers a DEALER that sends REQ-shaped requests (an empty
/// delimiter, a body) and reads none of the replies yet: the replies go
/// on beyond the reader's ring (heap over inproc, segments over ipc) and
/// come back whole and in order; at its high-water mark the REP drops a
/// reply instead of waiting, as libzmq's does.
#[test]
fn rep_replies_beyond_the_ring_in_order_and_drops_at_the_mark() {
    const N: u32 = 20_000; // at least 24 bytes each: more than a 256 KiB ring
    let dir = std::env::temp_dir().join(format!("zr-rep-beyond-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ipc = format!("ipc://{}", dir.join("s").display());
    for endpoint in ["inproc://rep-beyond", ipc.as_str()] {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let dealer = socket(&ctx, Dealer);
        for s in [&rep, &dealer] {
            s.set_sndhwm(0).unwrap();
            s.set_rcvhwm(0).unwrap();
        }
        rep.bind(endpoint).unwrap();
        dealer.connect(endpoint).unwrap();
        for i in 0..N {
            dealer
                .send_multipart([&b""[..], &i.to_be_bytes()], 0)
                .unwrap();
            let q = rep.recv_bytes(0).unwrap();
            assert_eq!(q, i.to_be_bytes(), "{endpoint}");
            rep.send([&q[..], b"A"].concat(), 0).unwrap();
        }
        for i in 0..N {
            let reply = dealer.recv_multipart(0).unwrap();
            let body = [&i.to_be_bytes()[..], b"A"].concat();
            assert_eq!(reply, vec![vec![], body], "{endpoint}: reply {i}");
        }
        assert!(
            dealer.recv_bytes(DONTWAIT).is_err(),
            "{endpoint}: one reply each"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // Marks of 1 and 1: the asker's pipe takes two replies, the rest are
    // dropped and the REP goes on.
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    let dealer = socket(&ctx, Dealer);
    rep.set_sndhwm(1).unwrap();
    dealer.set_rcvhwm(1).unwrap();
    rep.bind("inproc://rep-mark").unwrap();
    dealer.connect("inproc://rep-mark").unwrap();
    for i in 0..5u8 {
        dealer.send_multipart([&b""[..], &[i]], 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), [i]);
        rep.send([i], DONTWAIT).unwrap();
    }
    assert_eq!(dealer.recv_multipart(0).unwrap(), msg(&[b"", &[0]]));
    assert_eq!(dealer.recv_multipart(0).unwrap(), msg(&[b"", &[1]]));
    assert!(matches!(
        dealer.recv_bytes(DONTWAIT),
        Err(Error::WouldBlock)
    ));
}

#[test]
fn rep_fair_queues_requests_and_answers_each_asker() {
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    rep.bind("inproc://rep-fq").unwrap();
    let reqs: Vec<Socket> = (0..3)
        .map(|_| {
            let r = socket(&ctx, Req);
            r.connect("inproc://rep-fq").unwrap();
            r
        })
        .collect();
    for (i, r) in reqs.iter().enumerate() {
        r.send(format!("from {i}"), 0).unwrap();
    }
    for _ in 0..3 {
        let q = rep.recv_bytes(0).unwrap();
        rep.send([b"re: ".as_slice(), &q].concat(), 0).unwrap();
    }
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r.recv_bytes(0).unwrap(), format!("re: from {i}").as_bytes());
    }
}

#[test]
fn rep_reply_to_a_departed_asker_is_dropped_silently() {
    let ctx = Context::new();
    let (rep, req) = pair_of(&ctx, Rep, Req, "inproc://rep-gone");
    req.send("q", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"q");
    drop(req);
    rep.send("nobody hears", 0).unwrap();
    let req2 = socket(&ctx, Req);
    req2.connect("inproc://rep-gone").unwrap();
    req2.send("q2", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"q2");
    rep.send("a2", 0).unwrap();
    assert_eq!(req2.recv_bytes(0).unwrap(), b"a2");
}

#[test]
fn req_relaxed_allows_resend_and_correlate_drops_stale_replies() {
    let ctx = Context::new();
    let req = socket(&ctx, Req);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.bind("inproc://relaxed").unwrap();
    let router = socket(&ctx, Router);
    router.connect("inproc://relaxed").unwrap();

    req.send("first", 0).unwrap();
    let first = router.recv_multipart(0).unwrap();
    assert_eq!(first.len(), 4, "id, request id, delimiter, body: {first:?}");
    assert_eq!(first[1].len(), 4);
    assert_eq!(first[2..], msg(&[b"", b"first"])[..]);
    // Give up on the first request and ask again (EFSM without RELAXED).
    req.send("second", 0).unwrap();
    let second = router.recv_multipart(0).unwrap();
    assert_ne!(first[1], second[1], "each request gets a new id");
    // The late answer to the first request is dropped; the second's is taken.
    router
        .send_multipart([&first[0][..], &first[1], b"", b"late"], 0)
        .unwrap();
    router
        .send_multipart([&second[0][..], &second[1], b"", b"current"], 0)
        .unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"current");
    assert!(matches!(req.recv_bytes(DONTWAIT), Err(Error::WrongState)));
}

#[test]
fn dealer_round_robins_out_and_fair_queues_in() {
    let ctx = Context::new();
    let dealer = socket(&ctx, Dealer);
    dealer.bind("inproc://dealer").unwrap();
    let peers: Vec<Socket> = (0..3)
        .map(|_| {
            let p = socket(&ctx, Dealer);
            p.connect("inproc://dealer").unwrap();
            p
        })
        .collect();
    for i in 0..6u8 {
        dealer.send([i], 0).unwrap();
    }
    for (k, p) in peers.iter().enumerate() {
        assert_eq!(p.recv_bytes(0).unwrap(), [k as u8]);
        assert_eq!(p.recv_bytes(0).unwrap(), [k as u8 + 3]);
    }
    for (k, p) in peers.iter().enumerate() {
        p.send_multipart([[k as u8], [1]], 0).unwrap();
        p.send_multipart([[k as u8], [2]], 0).unwrap();
    }
    let order: Vec<Vec<Vec<u8>>> = (0..6).map(|_| dealer.recv_multipart(0).unwrap()).collect();
    let firsts: Vec<u8> = order.iter().map(|m| m[0][0]).collect();
    assert_eq!(firsts, [0, 1, 2, 0, 1, 2], "one message per peer in turn");
}

#[test]
fn router_prefixes_ids_and_routes_by_them() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.bind("inproc://router").unwrap();
    let a = socket(&ctx, Dealer);
    a.set_routing_id(b"A").unwrap();
    a.connect("inproc://router").unwrap();
    let b = socket(&ctx, Dealer);
    b.set_routing_id(b"B").unwrap();
    b.connect("inproc://router").unwrap();
    let anon = socket(&ctx, Dealer);
    anon.connect("inproc://router").unwrap();

    a.send_multipart(["hello", "there"], 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        msg(&[b"A", b"hello", b"there"])
    );
    anon.send("who am i", 0).unwrap();
    let m = router.recv_multipart(0).unwrap();
    assert_eq!(m[0].len(), 5, "automatic ids are 5 bytes");
    assert_eq!(m[0][0], 0, "automatic ids start with a zero byte");
    router
        .send_multipart([&m[0][..], b"you are you"], 0)
        .unwrap();
    assert_eq!(anon.recv_bytes(0).unwrap(), b"you are you");

    router
        .send_multipart(["B", "for b", "two frames"], 0)
        .unwrap();
    assert_eq!(
        b.recv_multipart(0).unwrap(),
        msg(&[b"for b", b"two frames"])
    );
    // Unknown ids are dropped silently without ROUTER_MANDATORY.
    router.send_multipart(["nobody", "lost"], 0).unwrap();
    router.send_multipart(["A", "found"], 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"found");
}

/// A ROUTER finds the peer it last heard from without a look-up by id:
/// once that peer has gone and another has taken its id, a message to the
/// id goes to the newcomer, and one to another id still goes to its peer.
#[test]
fn router_replies_reach_the_peer_that_holds_the_id_now() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.set_rcvtimeo(5000).unwrap();
    router.bind("inproc://router-last").unwrap();
    let b = socket(&ctx, Dealer);
    b.set_routing_id(b"B").unwrap();
    b.set_rcvtimeo(5000).unwrap();
    b.connect("inproc://router-last").unwrap();
    let first = socket(&ctx, Dealer);
    first.set_routing_id(b"X").unwrap();
    first.connect("inproc://router-last").unwrap();
    first.send("from the first", 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        msg(&[b"X", b"from the first"])
    );
    drop(first);
    // Until the ROUTER has let go of the first's pipe, X is taken (and a
    // newcomer asking for it refused): nothing announces that over
    // inproc, so look with ROUTER_MANDATORY, bounded.
    router.set_router_mandatory(true).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match router.send_multipart(["X", "probe"], DONTWAIT) {
            Err(Error::HostUnreachable) => break,
            Ok(()) | Err(Error::WouldBlock) => {}
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first peer's pipe outlived it by 5 s"
        );
        std::thread::yield_now();
    }
    let second = socket(&ctx, Dealer);
    second.set_routing_id(b"X").unwrap();
    second.set_rcvtimeo(5000).unwrap();
    second.connect("inproc://router-last").unwrap();
    second.send("from the second", 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        msg(&[b"X", b"from the second"])
    );
    router.send_multipart(["B", "to b"], 0).unwrap();
    router.send_multipart(["X", "to x"], 0).unwrap();
    router.send_multipart(["X", "to x again"], 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"to b");
    assert_eq!(second.recv_bytes(0).unwrap(), b"to x");
    assert_eq!(second.recv_bytes(0).unwrap(), b"to x again");
}

#[test]
fn router_connecting_first_learns_the_binders_id_at_bind() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.set_router_mandatory(true).unwrap();
    router.connect("inproc://router-first").unwrap();
    assert!(matches!(
        router.send_multipart(["D", "x"], 0),
        Err(Error::HostUnreachable)
    ));
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"D").unwrap();
    dealer.bind("inproc://router-first").unwrap();
    router.send_multipart(["D", "now"], 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"now");
}

#[test]
fn router_mandatory_reports_unreachable_and_full_peers() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.set_router_mandatory(true).unwrap();
    router.set_sndhwm(1).unwrap();
    router.bind("inproc://mandatory").unwrap();
    let d = socket(&ctx, Dealer);
    d.set_routing_id(b"D").unwrap();
    d.set_rcvhwm(1).unwrap();
    d.connect("inproc://mandatory").unwrap();
    // An empty message lets the router attach the pipe.
    d.send("", 0).unwrap();
    router.recv_multipart(0).unwrap();

    assert!(matches!(
        router.send_multipart(["X", "m"], 0),
        Err(Error::HostUnreachable)
    ));
    let mut sent = 0;
    loop {
        match router.send_multipart(["D", "m"], DONTWAIT) {
            Ok(()) => sent += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(sent, 2, "1 + 1 messages fit, then would-block");
    // Without MANDATORY the same sends are dropped instead.
    router.set_router_mandatory(false).unwrap();
    router.send_multipart(["D", "dropped"], DONTWAIT).unwrap();
    assert_eq!(d.recv_multipart(0).unwrap(), msg(&[b"m"]));
}

#[test]
fn router_refuses_a_duplicate_id_unless_handover() {
    for handover in [false, true] {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        router.set_router_handover(handover).unwrap();
        router.bind("inproc://handover").unwrap();
        let first = socket(&ctx, Dealer);
        first.set_routing_id(b"X").unwrap();
        first.connect("inproc://handover").unwrap();
        first.send("one", 0).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), msg(&[b"X", b"one"]));
        let second = socket(&ctx, Dealer);
        second.set_routing_id(b"X").unwrap();
        second.connect("inproc://handover").unwrap();
        second.send("two", 0).unwrap();
        router.send_multipart(["X", "to x"], 0).unwrap();
        if handover {
            assert_eq!(router.recv_multipart(0).unwrap(), msg(&[b"X", b"two"]));
            assert_eq!(second.recv_bytes(0).unwrap(), b"to x");
            assert!(matches!(first.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
        } else {
            assert_eq!(first.recv_bytes(0).unwrap(), b"to x");
            assert!(
                matches!(router.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
                "newcomer refused"
            );
        }
    }
}

#[test]
fn probe_router_announces_a_new_connection() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.bind("inproc://probe").unwrap();
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"P").unwrap();
    dealer.set_probe_router(true).unwrap();
    dealer.connect("inproc://probe").unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), msg(&[b"P", b""]));
    router.send_multipart(["P", "welcome"], 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"welcome");
}

#[test]
fn req_rep_through_a_router_dealer_broker_keeps_the_envelope() {
    let ctx = Context::new();
    let frontend = socket(&ctx, Router);
    frontend.bind("inproc://broker-front").unwrap();
    let backend = socket(&ctx, Dealer);
    backend.bind("inproc://broker-back").unwrap();
    let clients: Vec<Socket> = (0..3)
        .map(|_| {
            let c = socket(&ctx, Req);
            c.connect("inproc://broker-front").unwrap();
            c
        })
        .collect();
    let worker = socket(&ctx, Rep);
    worker.connect("inproc://broker-back").unwrap();
    for (i, c) in clients.iter().enumerate() {
        c.send(format!("job {i}"), 0).unwrap();
    }
    for _ in 0..3 {
        // broker: client -> worker
        let m = frontend.recv_multipart(0).unwrap();
        backend.send_multipart(&m, 0).unwrap();
        // worker
        let job = worker.recv_bytes(0).unwrap();
        worker
            .send([b"done: ".as_slice(), &job].concat(), 0)
            .unwrap();
        // broker: worker -> client
        let r = backend.recv_multipart(0).unwrap();
        frontend.send_multipart(&r, 0).unwrap();
    }
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(
            c.recv_bytes(0).unwrap(),
            format!("done: job {i}").as_bytes()
        );
    }
}

#[test]
fn router_recv_frame_by_frame_sets_rcvmore() {
    let ctx = Context::new();
    let (router, dealer) = pair_of(&ctx, Router, Dealer, "inproc://rcvmore");
    dealer.set_routing_id(b"unused-after-connect").unwrap();
    dealer.send("a", SNDMORE).unwrap();
    dealer.send("b", 0).unwrap();
    let id = router.recv_bytes(0).unwrap();
    assert!(router.get_rcvmore().unwrap());
    assert_eq!(router.recv_bytes(0).unwrap(), b"a");
    assert!(router.get_rcvmore().unwrap());
    assert_eq!(router.recv_bytes(0).unwrap(), b"b");
    assert!(!router.get_rcvmore().unwrap());
    router.send(&id, SNDMORE).unwrap();
    router.send("back", 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"back");
}

#[test]
fn routing_ids_may_start_with_a_zero_byte_as_in_libzmq() {
    // zguide's rtreq/rtdealer pick random ids; libzmq 4.3.4 takes those
    // starting with 0 too (only ROUTER's own ids are made so).
    for endpoint in ["inproc://zero-led-id", "tcp://127.0.0.1:0"] {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        router.bind(endpoint).unwrap();
        let endpoint = router.get_last_endpoint().unwrap().unwrap();
        let dealer = socket(&ctx, Dealer);
        dealer.set_routing_id(&[0, 7, 42]).unwrap();
        assert_eq!(dealer.get_routing_id().unwrap(), [0, 7, 42]);
        dealer.connect(&endpoint).unwrap();
        dealer.send("hi", 0).unwrap();
        assert_eq!(
            router.recv_multipart(0).unwrap(),
            msg(&[&[0, 7, 42], b"hi"])
        );
        router
            .send_multipart([&[0u8, 7, 42][..], b"back"], 0)
            .unwrap();
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"back");
    }
}

#[test]
fn a_zero_led_id_taken_by_an_automatic_one_is_refused_as_a_duplicate() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.bind("inproc://zero-led-dup").unwrap();
    let anonymous = socket(&ctx, Dealer);
    anonymous.connect("inproc://zero-led-dup").unwrap();
    anonymous.send("one", 0).unwrap();
    let got = router.recv_multipart(0).unwrap();
    let auto = got[0].clone();
    assert_eq!((auto.len(), auto[0]), (5, 0), "libzmq's automatic id shape");
    let copycat = socket(&ctx, Dealer);
    copycat.set_routing_id(&auto).unwrap();
    copycat.connect("inproc://zero-led-dup").unwrap();
    copycat.send("two", 0).unwrap();
    router.send_multipart([&auto[..], b"to auto"], 0).unwrap();
    assert_eq!(anonymous.recv_bytes(0).unwrap(), b"to auto");
    assert!(
        matches!(router.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
        "the copycat is refused, as any duplicate"
    );
}

#[test]
fn connect_routing_id_names_the_next_connections_peer() {
    // libzmq's test_connect_rid: a ROUTER that connects can address its
    // peer at once by the id it gave it, before the peer says anything.
    for (first, second) in [
        ("inproc://connect-rid-1", "inproc://connect-rid-2"),
        ("tcp://127.0.0.1:0", "tcp://127.0.0.1:0"),
    ] {
        let ctx = Context::new();
        let server = socket(&ctx, Router);
        server.bind(first).unwrap();
        let first = server.get_last_endpoint().unwrap().unwrap();
        let other = socket(&ctx, Router);
        other.set_routing_id(b"other").unwrap();
        other.bind(second).unwrap();
        let second = other.get_last_endpoint().unwrap().unwrap();

        let client = socket(&ctx, Router);
        client.set_routing_id(b"client").unwrap();
        client.set_router_mandatory(true).unwrap();
        client.set_connect_routing_id(b"srv").unwrap();
        client.connect(&first).unwrap();
        // The id served that connect only: the next peer is known by its own.
        client.connect(&second).unwrap();

        client.send_multipart(["srv", "hello"], 0).unwrap();
        assert_eq!(
            server.recv_multipart(0).unwrap(),
            msg(&[b"client", b"hello"])
        );
        server.send_multipart(["client", "back"], 0).unwrap();
        assert_eq!(client.recv_multipart(0).unwrap(), msg(&[b"srv", b"back"]));

        let deadline = std::time::Instant::now() + BOUND;
        // `other` is known once its handshake tells its id.
        while let Err(e) = client.send_multipart(["other", "hi"], 0) {
            assert!(matches!(e, Error::HostUnreachable), "{e}");
            assert!(std::time::Instant::now() < deadline, "never routable");
            std::thread::yield_now();
        }
        assert_eq!(other.recv_multipart(0).unwrap(), msg(&[b"client", b"hi"]));
    }
}

#[test]
fn connect_routing_id_is_refused_where_there_are_no_routing_ids() {
    let ctx = Context::new();
    let dealer = socket(&ctx, Dealer);
    assert!(matches!(
        dealer.set_connect_routing_id(b"x"),
        Err(Error::InvalidArgument(_))
    ));
    let router = socket(&ctx, Router);
    assert!(matches!(
        router.set_connect_routing_id(b""),
        Err(Error::InvalidArgument(_))
    ));
}

/// A REQ and a REP in two threads, as in a latency test: every request
/// gets its reply, over many round trips. A REQ drops stale replies before
/// its request is out, never after (a draft of a faster send did it after,
/// and lost a fast REP's reply within a few thousand rounds). A lost
/// message fails on RCVTIMEO, not a hang.
#[test]
fn req_rep_across_threads_lose_no_reply() {
    const ROUNDS: u32 = 20_000;
    let ctx = Context::new();
    let (rep, req) = pair_of(&ctx, Rep, Req, "inproc://rr-threads");
    rep.set_rcvtimeo(30_000).unwrap();
    req.set_rcvtimeo(30_000).unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..ROUNDS {
            let n = rep.recv_into(&mut buf, 0).expect("a request");
            rep.send(&buf[..n], 0).unwrap();
        }
    });
    for i in 0..ROUNDS {
        req.send(i.to_le_bytes(), 0).unwrap();
        let reply = req
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("reply {i}: {e}"));
        assert_eq!(reply, i.to_le_bytes());
    }
    echo.join().unwrap();
}
