//! Thread-safe sockets over ipc (zeroring on both ends: the connections
//! move to shared multi-producer rings after the ZMTP handshake, which
//! each test checks): many threads on one CLIENT in a child process into
//! one SERVER here, SCATTER/GATHER, and RADIO/DISH.

mod common;
use common::proc::{self, hear, spawn, tell};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use zeroring::{Context, Error};

/// Long enough never to expire on a loaded machine unless something hangs.
const PATIENCE_MS: i32 = 60_000;
const WITHIN: Duration = Duration::from_secs(120);
const THREADS: u8 = 8;
const PER_THREAD: u32 = 4_000;

/// A fresh endpoint in the temporary directory.
fn endpoint(name: &str) -> String {
    let p = std::env::temp_dir().join(format!("zr-ts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

/// Message `seq` of thread `t`: its header, then a body whose length
/// varies (every 500th past the ring's 16 KiB records, to the chunk pool).
fn message(t: u8, seq: u32) -> Vec<u8> {
    let len = if seq % 500 == 7 {
        20_000
    } else {
        (seq % 61) as usize
    };
    let mut m = vec![t];
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend((0..len).map(|i| (i as u32 ^ seq) as u8));
    m
}

/// FNV-1a of one message; the sums of these over both sides must agree.
fn hash(m: &[u8]) -> u64 {
    m.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a child does, by role; a no-op in the parent's normal run.
#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    match role[0].as_str() {
        "client" => {
            let ctx = Context::new();
            let client = Arc::new(ctx.client().unwrap());
            client.set_sndtimeo(PATIENCE_MS).unwrap();
            client.set_rcvtimeo(PATIENCE_MS).unwrap();
            client.connect(&role[1]).unwrap();
            let senders: Vec<_> = (0..THREADS)
                .map(|t| {
                    let client = client.clone();
                    thread::spawn(move || {
                        (0..PER_THREAD).fold(0u64, |sum, seq| {
                            let m = message(t, seq);
                            let h = hash(&m);
                            client.send(m, 0).unwrap();
                            sum.wrapping_add(h)
                        })
                    })
                })
                .collect();
            let sum = senders
                .into_iter()
                .fold(0u64, |s, t| s.wrapping_add(t.join().unwrap()));
            tell(&format!("sum {sum} shm {}", client.shared_memory_peers()));
            // Stay until the server has everything (its reply says so).
            assert_eq!(client.recv_bytes(0).unwrap(), b"all");
            tell("done");
            assert_eq!(hear(), "exit");
        }
        other => panic!("no such role {other}"),
    }
}

/// Eight threads send on one CLIENT in another process to one SERVER
/// here: every message arrives once and whole (count and checksum), in
/// each thread's order, and a reply by routing id goes back.
#[test]
fn eight_client_threads_in_a_child_process_to_one_server() {
    let ep = endpoint("cs");
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind(&ep).unwrap();
    let mut child = spawn(&["client", &ep]);
    let mut next = [0u32; THREADS as usize];
    let mut sum = 0u64;
    let mut peer = None;
    for _ in 0..u32::from(THREADS) * PER_THREAD {
        let (id, m) = server.recv_from(0).unwrap();
        assert_eq!(*peer.get_or_insert(id), id, "the routing id changed");
        let t = usize::from(m[0]);
        let seq = u32::from_le_bytes(m[1..5].try_into().unwrap());
        assert_eq!(
            seq, next[t],
            "thread {t} out of order (or lost, or doubled)"
        );
        assert_eq!(m, message(m[0], seq), "thread {t} message {seq} damaged");
        next[t] += 1;
        sum = sum.wrapping_add(hash(&m));
    }
    assert_eq!(child.next(WITHIN), format!("sum {sum} shm 1"));
    assert_eq!(server.shared_memory_peers(), 1, "over shared memory");
    server.send_to(peer.unwrap(), "all", 0).unwrap();
    child.expect("done", WITHIN);
    // Nothing more: no message came twice.
    server.set_rcvtimeo(200).unwrap();
    assert!(matches!(server.recv_from(0), Err(Error::TimedOut)));
    child.say("exit");
    child.success(WITHIN);
}

/// SCATTER load-balances to two GATHERs over ipc (one bound, one
/// connected to a second endpoint of the scatter), each thread's
/// messages in order at each.
#[test]
fn scatter_to_gathers_over_ipc() {
    const SENDERS: u32 = 3;
    const EACH: u32 = 3_000;
    let (a, b) = (endpoint("sg-a"), endpoint("sg-b"));
    let ctx = Context::new();
    let first = ctx.gather().unwrap();
    first.bind(&a).unwrap();
    let scatter = Arc::new(ctx.scatter().unwrap());
    scatter.set_sndtimeo(PATIENCE_MS).unwrap();
    scatter.connect(&a).unwrap();
    scatter.bind(&b).unwrap();
    assert_eq!(scatter.get_last_endpoint().as_deref(), Some(&b[..]));
    let second = ctx.gather().unwrap();
    second.connect(&b).unwrap();
    let senders: Vec<_> = (0..SENDERS)
        .map(|t| {
            let scatter = scatter.clone();
            thread::spawn(move || {
                for seq in 0..EACH {
                    let m = [t.to_le_bytes(), seq.to_le_bytes()].concat();
                    scatter.send(m, 0).unwrap();
                }
            })
        })
        .collect();
    // Each GATHER read on its own thread until all have arrived between them.
    let got = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let readers: Vec<_> = [first, second]
        .into_iter()
        .map(|g| {
            let got = got.clone();
            thread::spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                g.set_rcvtimeo(20).unwrap();
                let mut last = [None::<u32>; SENDERS as usize];
                let deadline = std::time::Instant::now() + WITHIN;
                while got.load(Relaxed) < SENDERS * EACH {
                    assert!(std::time::Instant::now() < deadline, "{got:?} arrived");
                    match g.recv_bytes(0) {
                        Ok(m) => {
                            let t = u32::from_le_bytes(m[..4].try_into().unwrap()) as usize;
                            let seq = u32::from_le_bytes(m[4..].try_into().unwrap());
                            assert!(last[t].map_or(true, |l| l < seq), "out of order");
                            last[t] = Some(seq);
                            got.fetch_add(1, Relaxed);
                        }
                        Err(Error::TimedOut) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                last.iter().any(Option::is_some)
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(scatter.shared_memory_peers(), 2, "over shared memory");
    let both: Vec<bool> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(both, [true, true], "a gather got nothing");
    assert_eq!(
        got.load(std::sync::atomic::Ordering::Relaxed),
        SENDERS * EACH
    );
}

/// An ipc endpoint is bound once; its file goes with the socket.
#[test]
fn ipc_endpoints_are_exclusive_and_cleaned_up() {
    let ep = endpoint("excl");
    let path = ep.strip_prefix("ipc://").unwrap().to_owned();
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.bind(&ep).unwrap();
    assert!(std::path::Path::new(&path).exists());
    assert!(matches!(server.bind(&ep), Err(Error::AddrInUse(_))));
    assert!(matches!(
        ctx.server().unwrap().bind(&ep),
        Err(Error::AddrInUse(_))
    ));
    drop(server);
    assert!(!std::path::Path::new(&path).exists());
    assert!(matches!(
        ctx.server().unwrap().bind("ipc://*"),
        Err(Error::InvalidEndpoint { .. })
    ));
}

/// RADIO to DISH over ipc: the joined group arrives, as its group and
/// body; a group not joined does not, in the order the RADIO sent.
#[test]
fn radio_to_dish_over_ipc() {
    let ep = endpoint("rd");
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.bind(&ep).unwrap();
    dish.join("tv").unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect(&ep).unwrap();
    // The JOIN travels on its own time; RADIO drops what nobody joined.
    dish.set_rcvtimeo(50).unwrap();
    let mut heard = false;
    for _ in 0..600 {
        radio.send("tv", "hello", 0).unwrap();
        match dish.recv_group(0) {
            Ok(got) => {
                assert_eq!(got, (b"tv".to_vec(), b"hello".to_vec()));
                heard = true;
                break;
            }
            Err(Error::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(heard, "the joined group never arrived");
    assert_eq!(radio.shared_memory_peers(), 1, "over shared memory");
    assert_eq!(dish.shared_memory_peers(), 1, "over shared memory");
    radio.send("radio", "not joined", 0).unwrap();
    radio.send("tv", "end", 0).unwrap();
    dish.set_rcvtimeo(PATIENCE_MS).unwrap();
    loop {
        let (group, body) = dish.recv_group(0).unwrap();
        assert_eq!(group, b"tv");
        if body == b"end" {
            break;
        }
        assert_eq!(body, b"hello", "only copies of the first may come first");
    }
}
