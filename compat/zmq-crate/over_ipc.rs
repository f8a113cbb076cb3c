//! The `zmq` crate's examples on zeroring, each with its tcp endpoints made
//! ipc ones (`"tcp://*:5555"` is `"ipc://5555.ipc"`, relative to the working
//! directory): `ZMQ_EXAMPLE=NAME` runs one. Built by build.rs from
//! examples/, which stay as the zmq crate wrote them.

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

fn main() {
    let name = std::env::var("ZMQ_EXAMPLE").expect("set ZMQ_EXAMPLE to an example's name");
    over_ipc::run(&name);
}
