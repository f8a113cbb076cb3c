//! The `zmq` crate's examples on libzmq: `ZMQ_EXAMPLE=NAME` runs one.

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

fn main() {
    let name = std::env::var("ZMQ_EXAMPLE").expect("set ZMQ_EXAMPLE to an example's name");
    run(&name);
}
