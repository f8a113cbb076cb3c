extern crate zeroring as zmq;
#[cfg(unix)]
#[path = "poll/unix.rs"]
mod unix;
