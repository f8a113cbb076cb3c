//! What libzmq 4.3's `ZMQ_FD` does for inproc, established against libzmq
//! itself (the `zmq` crate): the README compares zeroring's readiness
//! descriptor with it. It is edge-triggered: it turns readable when a
//! message arrives at a socket that had found nothing to read, inproc as
//! over any transport, and says nothing of further messages until the
//! socket has been found empty again.

mod common;
use common::readable_within;

/// Long enough for any wake-up on a loaded machine; a wake-up that does
/// not come fails the test after it.
const BOUND_MS: i32 = 10_000;

/// To show that no wake-up comes: a wake-up, if libzmq sent one, is in the
/// descriptor before `send` returns (inproc has no I/O thread), so this
/// only has to outlast the scheduler.
const QUIET_MS: i32 = 200;

#[test]
fn libzmq_zmq_fd_fires_for_an_inproc_message_once_until_the_socket_is_found_empty() {
    let ctx = zmq::Context::new();
    let receiver = ctx.socket(zmq::PAIR).unwrap();
    receiver.bind("inproc://libzmq-fd").unwrap();
    let sender = ctx.socket(zmq::PAIR).unwrap();
    sender.connect("inproc://libzmq-fd").unwrap();
    let fd = receiver.get_fd().unwrap();

    // ZMQ_EVENTS takes the commands the connection left (they may have
    // signalled the descriptor) and finds nothing to read.
    assert!(!receiver.get_events().unwrap().contains(zmq::POLLIN));
    assert!(!readable_within(fd, 0), "ZMQ_FD readable with nothing sent");

    sender.send("one", 0).unwrap();
    assert!(
        readable_within(fd, BOUND_MS),
        "ZMQ_FD did not fire for an inproc message"
    );
    assert!(receiver.get_events().unwrap().contains(zmq::POLLIN));
    // Edge-triggered: ZMQ_EVENTS took the wake-up; a message is still there.
    assert!(!readable_within(fd, 0), "ZMQ_FD is level-triggered");

    // A second message to a socket not found empty since: no wake-up.
    sender.send("two", 0).unwrap();
    assert!(
        !readable_within(fd, QUIET_MS),
        "ZMQ_FD fired again before the socket was found empty"
    );
    assert_eq!(receiver.recv_bytes(0).unwrap(), b"one");
    assert_eq!(receiver.recv_bytes(0).unwrap(), b"two");

    // Found empty again (recv's DONTWAIT fails), the next message wakes.
    assert_eq!(receiver.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
    sender.send("three", 0).unwrap();
    assert!(
        readable_within(fd, BOUND_MS),
        "ZMQ_FD did not fire for a message after the socket was found empty"
    );
    assert!(receiver.get_events().unwrap().contains(zmq::POLLIN));
}
