//! Builds libzmq 4.3.4 with CURVE, against the libsodium that
//! libsodium-sys-stable built from source (its build script tells us where
//! through `DEP_SODIUM_INCLUDE` and `DEP_SODIUM_LIB`), and with its draft
//! API (CLIENT, SERVER, RADIO, DISH ... and `zmq_msg_routing_id`), for the
//! thread-safe sockets' interop tests.

use std::env;

fn main() {
    let include =
        env::var("DEP_SODIUM_INCLUDE").expect("libsodium-sys-stable gives its include dir");
    let lib = env::var("DEP_SODIUM_LIB").expect("libsodium-sys-stable gives its lib dir");
    zeromq_src::Build::new()
        .with_libsodium(Some(zeromq_src::LibLocation::new(lib, include)))
        .enable_draft(true)
        .build();
}
