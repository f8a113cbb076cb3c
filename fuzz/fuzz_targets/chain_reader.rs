//! The reader's side of a chain of segments beyond a shared ring, whose
//! records come from the fuzzer, with a hostile writer rewriting words of
//! two segments as the reader reads: no panic, no access outside a segment
//! or a chunk, no endless loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zeroring::fuzz_hooks::hostile_chain_reader(data);
});
