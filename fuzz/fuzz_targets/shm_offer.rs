//! A hostile peer's shared-memory offer: READY property, attach message,
//! and a forged descriptor for the pipe segment, a doorbell or a chunk
//! pool (wrong sizes, missing seals, not a memfd, resized after sealing,
//! forged headers), used while the peer rewrites its words: refused or
//! used safely, never a fault or a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zeroring::fuzz_hooks::hostile_shm_offer(data);
});
