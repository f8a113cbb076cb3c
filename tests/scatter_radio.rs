//! SCATTER/GATHER and RADIO/DISH over inproc: the thread-safe pipeline
//! and group publishing, with libzmq 4.3's draft semantics.

use std::sync::Arc;
use std::thread;
use zeroring::{Context, Error, DONTWAIT, SNDMORE};

/// Long enough never to expire on a loaded machine unless something hangs.
const PATIENCE_MS: i32 = 30_000;

#[test]
fn scatter_threads_into_gather_lose_nothing_and_keep_order() {
    const THREADS: u32 = 4;
    const PER_THREAD: u32 = 10_000;
    let ctx = Context::new();
    let gather = ctx.gather().unwrap();
    gather.set_rcvtimeo(PATIENCE_MS).unwrap();
    gather.bind("inproc://sg").unwrap();
    let scatter = Arc::new(ctx.scatter().unwrap());
    scatter.set_sndtimeo(PATIENCE_MS).unwrap();
    scatter.set_sndhwm(10).unwrap();
    scatter.connect("inproc://sg").unwrap();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let scatter = scatter.clone();
            thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    let mut m = [0u8; 8];
                    m[..4].copy_from_slice(&t.to_le_bytes());
                    m[4..].copy_from_slice(&seq.to_le_bytes());
                    scatter.send(m, 0).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0u32; THREADS as usize];
    let mut buf = [0u8; 8];
    for _ in 0..THREADS * PER_THREAD {
        assert_eq!(gather.recv_into(&mut buf, 0).unwrap(), 8);
        let t = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        let seq = u32::from_le_bytes(buf[4..].try_into().unwrap());
        assert_eq!(seq, next[t]);
        next[t] += 1;
    }
    for s in senders {
        s.join().unwrap();
    }
    assert!(matches!(
        gather.recv_bytes(DONTWAIT),
        Err(Error::WouldBlock)
    ));
}

#[test]
fn scatter_round_robins_and_refuses_multipart() {
    let ctx = Context::new();
    let gathers: Vec<_> = (0..2)
        .map(|i| {
            let g = ctx.gather().unwrap();
            g.bind(&format!("inproc://rr-{i}")).unwrap();
            g
        })
        .collect();
    let scatter = ctx.scatter().unwrap();
    assert!(matches!(
        scatter.send("x", DONTWAIT),
        Err(Error::WouldBlock)
    ));
    for i in 0..2 {
        scatter.connect(&format!("inproc://rr-{i}")).unwrap();
    }
    assert!(matches!(
        scatter.send("x", SNDMORE),
        Err(Error::InvalidArgument(_))
    ));
    for i in 0..4u8 {
        scatter.send([i], 0).unwrap();
    }
    for g in &gathers {
        assert!(g.recv_bytes(DONTWAIT).is_ok());
        assert!(g.recv_bytes(DONTWAIT).is_ok());
        assert!(matches!(g.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    }
    // The wrong kinds of peer are refused.
    let client = ctx.client().unwrap();
    assert!(matches!(
        client.connect("inproc://rr-0"),
        Err(Error::IncompatibleSocketType { .. })
    ));
}

#[test]
fn dish_gets_only_the_groups_it_joined() {
    let ctx = Context::new();
    let radio = ctx.radio().unwrap();
    radio.bind("inproc://groups").unwrap();
    let dishes: Vec<_> = ["a", "b"]
        .iter()
        .map(|g| {
            let d = ctx.dish().unwrap();
            d.set_rcvtimeo(PATIENCE_MS).unwrap();
            d.join(g).unwrap();
            d.connect("inproc://groups").unwrap();
            d
        })
        .collect();
    dishes[1].join("both").unwrap();
    dishes[0].join("both").unwrap();
    for (g, m) in [("a", "1"), ("b", "2"), ("c", "3"), ("both", "4"), ("", "5")] {
        radio.send(g, m, 0).unwrap();
    }
    let got = |d: &zeroring::Dish| {
        let mut v = Vec::new();
        while let Ok((g, m)) = d.recv_group(DONTWAIT) {
            v.push((String::from_utf8(g).unwrap(), String::from_utf8(m).unwrap()));
        }
        v
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(g, m)| (g.to_string(), m.to_string()))
            .collect()
    };
    assert_eq!(got(&dishes[0]), pairs(&[("a", "1"), ("both", "4")]));
    assert_eq!(got(&dishes[1]), pairs(&[("b", "2"), ("both", "4")]));

    // After a leave nothing more of that group arrives, even what was
    // already on its way.
    radio.send("a", "6", 0).unwrap();
    dishes[0].leave("a").unwrap();
    radio.send("a", "7", 0).unwrap();
    radio.send("both", "8", 0).unwrap();
    assert_eq!(got(&dishes[0]), pairs(&[("both", "8")]));
}

#[test]
fn group_rules() {
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    let radio = ctx.radio().unwrap();
    // RFC 48's and libzmq 4.3.3's (15 before).
    assert_eq!(zeroring::GROUP_MAX_LENGTH, 255);
    dish.join([b'g'; 255]).unwrap();
    assert!(matches!(
        dish.join([b'g'; 256]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dish.join([b'g'; 255]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dish.leave("never"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        radio.send([b'g'; 256], "x", 0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        radio.send("g", "x", SNDMORE),
        Err(Error::InvalidArgument(_))
    ));
    // No peer: the message is dropped, not waited for.
    radio.send("g", "x", 0).unwrap();
}

/// The longest group travels whole, and only to its own DISH.
#[test]
fn the_longest_group_travels() {
    let ctx = Context::new();
    let longest = [b'g'; zeroring::GROUP_MAX_LENGTH];
    let mut shorter = longest;
    shorter[254] = b'h';
    let dish = ctx.dish().unwrap();
    dish.set_rcvtimeo(PATIENCE_MS).unwrap();
    dish.bind("inproc://radio-longest").unwrap();
    dish.join(longest).unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect("inproc://radio-longest").unwrap();
    radio.send(shorter, "not joined", 0).unwrap();
    radio.send(longest, "joined", 0).unwrap();
    let (group, msg) = dish.recv_group(0).unwrap();
    assert_eq!((&group[..], &msg[..]), (&longest[..], &b"joined"[..]));
}

/// A RADIO never blocks: a DISH at its high-water mark misses messages.
#[test]
fn radio_drops_at_the_mark() {
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.set_rcvhwm(2).unwrap();
    dish.join("g").unwrap();
    dish.bind("inproc://radio-hwm").unwrap();
    let radio = ctx.radio().unwrap();
    radio.set_sndhwm(3).unwrap();
    radio.connect("inproc://radio-hwm").unwrap();
    for i in 0..100u8 {
        radio.send("g", [i], 0).unwrap();
    }
    let got: Vec<u8> = std::iter::from_fn(|| dish.recv_group(DONTWAIT).ok())
        .map(|(_, m)| m[0])
        .collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

/// Many threads publishing on one RADIO: each DISH gets every message of
/// its group, each thread's in order.
#[test]
fn radio_threads_reach_every_joined_dish() {
    const THREADS: u8 = 4;
    // All of it fits in one ring (a RADIO drops when the ring is full too).
    const PER_THREAD: u32 = 1_000;
    let ctx = Context::new();
    let radio = Arc::new(ctx.radio().unwrap());
    radio.bind("inproc://radio-threads").unwrap();
    let dishes: Vec<_> = (0..2)
        .map(|_| {
            let d = ctx.dish().unwrap();
            d.set_rcvhwm(0).unwrap();
            d.set_rcvtimeo(PATIENCE_MS).unwrap();
            d.join("all").unwrap();
            d.connect("inproc://radio-threads").unwrap();
            d
        })
        .collect();
    radio.set_sndhwm(0).unwrap();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let radio = radio.clone();
            thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    let mut m = [t; 5];
                    m[1..].copy_from_slice(&seq.to_le_bytes());
                    radio.send("all", m, 0).unwrap();
                }
            })
        })
        .collect();
    for d in &dishes {
        let mut next = [0u32; THREADS as usize];
        for _ in 0..THREADS as u32 * PER_THREAD {
            let (_, m) = d.recv_group(0).unwrap();
            let seq = u32::from_le_bytes(m[1..].try_into().unwrap());
            assert_eq!(seq, next[m[0] as usize]);
            next[m[0] as usize] += 1;
        }
    }
    for s in senders {
        s.join().unwrap();
    }
}
