//! The `zmq` crate's examples on libzmq: `ZMQ_EXAMPLE=NAME` runs one as
//! written, and with `ZMQ_EXAMPLE_TRANSPORT=ipc` its copy whose tcp
//! endpoints are ipc ones.

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

fn main() {
    let name = std::env::var("ZMQ_EXAMPLE").expect("set ZMQ_EXAMPLE to an example's name");
    match std::env::var("ZMQ_EXAMPLE_TRANSPORT").as_deref() {
        Ok("ipc") => over_ipc::run(&name),
        Ok(other) => panic!("ZMQ_EXAMPLE_TRANSPORT is ipc or unset, not {}", other),
        Err(_) => as_written::run(&name),
    }
}
