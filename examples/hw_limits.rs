//! The hardware's own limits between two pinned cores, for the ratios the
//! other perf tools quote: what no messaging library on this machine can
//! beat, measured in the same run as the thing compared with it.
//!
//! - **cache-line ping-pong**: two threads take turns writing one counter on
//!   a line of its own; a round trip is two line transfers, and half of it
//!   is the floor of any one-way hand-off between the cores.
//! - **one line per direction**: the same with a line each way (one thread
//!   writes A and waits on B, the other the reverse), as a request queue
//!   and a reply queue must be; the floor of any round trip through two
//!   queues.
//! - **rtrb SPSC**: the `rtrb` crate's wait-free queue of `[u8; 32]`, one
//!   element pushed and popped at a time: a well-made fixed-size queue,
//!   which a ring of variable-length frames should match.
//!
//! `cargo run --release --example hw_limits [-- <rounds>]` prints medians of
//! `<rounds>` (default 5) and the CPU it ran on.

#[path = "common/hw.rs"]
mod hw;
use hw::{cpu_name, median, ping_pong, ping_pong_two_lines, rtrb_spsc};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("rounds"))
        .unwrap_or(5);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    println!("cpu: {}, {} cores", cpu_name(), cores.len());
    // Each measurement on fresh threads: pinning is per thread.
    let run = |f: &(dyn Fn() -> f64 + Sync)| {
        median(
            (0..rounds)
                .map(|_| std::thread::scope(|s| s.spawn(f).join().unwrap()))
                .collect(),
        )
    };
    let hop = run(&|| ping_pong(&cores, 2_000_000));
    println!("cache-line hand-off (half a ping-pong round trip): {hop:.1} ns");
    let two = run(&|| ping_pong_two_lines(&cores, 2_000_000));
    println!("one line per direction (half a round trip): {two:.1} ns");
    let q = run(&|| rtrb_spsc(&cores, 20_000_000));
    println!("rtrb SPSC [u8; 32], one at a time: {:.1} M msg/s", q / 1e6);
}
