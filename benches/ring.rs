//! The frame ring alone, across two threads pinned to different cores.
//!
//! A producer thread writes 32-byte records one at a time (claim, copy,
//! commit, publish per record); a consumer thread, alive for the whole
//! benchmark, reads each one (peek, payload, advance) and releases space back
//! when it has caught up with what it last saw published, or when a quarter of
//! the ring is waiting to be released (the pipes' policy, see
//! `PipeEnd::consume`). Reported as records per second.
//!
//! One sample: the producer is handed `iters` through a channel, takes the
//! time, writes `iters` records and spins until the consumer reports having
//! released all of them; the time is end to end and spawns no thread. The
//! benchmark's main thread stays unpinned and asleep while a sample runs.
//!
//! `cargo bench --bench ring`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zeroring::ring::{self, ClaimError, Consumer, Producer};

const RECORD: usize = 32;

/// Pins the calling thread to the `n`th of `cores` (read before any pinning).
fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

/// What the consumer thread shares with the producer side.
struct Shared {
    /// Records released so far; stored at every release.
    /// Padded: the producer polls it, so it shares no line with anything.
    released: CachePadded<AtomicU64>,
    stop: AtomicBool,
}

fn consume(mut rx: Consumer, shared: Arc<Shared>) {
    let mut seen = 0u64;
    let mut idle = 0u32;
    loop {
        match rx.peek().expect("ring corrupt") {
            Some(rec) => {
                idle = 0;
                black_box(rx.payload(&rec));
                rx.advance(rec);
                seen += 1;
                if rx.caught_up() || rx.unreleased() * 4 >= rx.capacity() {
                    rx.release();
                    shared.released.store(seen, Ordering::Release);
                }
            }
            None => {
                idle = idle.wrapping_add(1);
                if idle % 1024 == 0 {
                    if shared.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    // Long idle (between benchmarks, during analysis): let
                    // other threads have the core.
                    if idle >= 1 << 20 {
                        std::thread::yield_now();
                    }
                }
                std::hint::spin_loop();
            }
        }
    }
}

/// A producer thread and a consumer thread on their own cores.
struct Pair {
    cmd: Option<mpsc::Sender<u64>>,
    result: mpsc::Receiver<Duration>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Pair {
    fn new(cores: &[core_affinity::CoreId], capacity: usize) -> Self {
        let (tx, rx) = ring::ring(capacity);
        let shared = Arc::new(Shared {
            released: CachePadded::new(AtomicU64::new(0)),
            stop: AtomicBool::new(false),
        });
        let (cmd_tx, cmd_rx) = mpsc::channel::<u64>();
        let (res_tx, res_rx) = mpsc::channel();

        let c = cores.to_vec();
        let s = shared.clone();
        let consumer = std::thread::spawn(move || {
            pin(&c, 1);
            consume(rx, s);
        });
        let c = cores.to_vec();
        let s = shared.clone();
        let producer = std::thread::spawn(move || {
            pin(&c, 0);
            produce(tx, s, cmd_rx, res_tx);
        });
        Pair {
            cmd: Some(cmd_tx),
            result: res_rx,
            shared,
            threads: vec![producer, consumer],
        }
    }

    fn run(&self, n: u64) -> Duration {
        self.cmd.as_ref().unwrap().send(n).unwrap();
        self.result.recv().unwrap()
    }
}

fn produce(
    mut tx: Producer,
    shared: Arc<Shared>,
    cmd: mpsc::Receiver<u64>,
    result: mpsc::Sender<Duration>,
) {
    let payload = [0x5au8; RECORD];
    let mut sent = 0u64;
    while let Ok(n) = cmd.recv() {
        let start = Instant::now();
        for _ in 0..n {
            loop {
                match tx.claim(RECORD) {
                    Ok(buf) => {
                        buf.copy_from_slice(black_box(&payload));
                        break;
                    }
                    Err(ClaimError::Full) => std::hint::spin_loop(),
                    Err(e) => panic!("claim failed: {e:?}"),
                }
            }
            tx.commit(RECORD, 0);
            tx.publish();
        }
        sent += n;
        while shared.released.load(Ordering::Acquire) < sent {
            std::hint::spin_loop();
        }
        result.send(start.elapsed()).unwrap();
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.cmd.take();
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

fn bench_ring(c: &mut Criterion) {
    // Read once, before anything is pinned: a thread spawned by a pinned
    // thread would see only its parent's core.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let mut g = c.benchmark_group("ring_spsc_32B");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    // 4 KiB fits in L1 beside everything else; 256 KiB is a socket pipe's
    // default ring.
    for capacity in [4 << 10, zeroring::DEFAULT_RING_CAPACITY] {
        let pair = Pair::new(&cores, capacity);
        g.bench_function(
            BenchmarkId::from_parameter(format!("{}KiB", capacity >> 10)),
            |b| b.iter_custom(|iters| pair.run(iters)),
        );
        drop(pair);
    }
    g.finish();
}

criterion_group!(benches, bench_ring);
criterion_main!(benches);
