//! The reader's side of a shared ring whose header and records come from
//! the fuzzer, with a hostile writer moving the tail and rewriting records
//! as the consumer reads, and DESCRIPTOR records resolved against a real
//! chunk pool: no panic, no access outside the region or a chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zeroring::fuzz_hooks::hostile_ring_reader(data);
});
