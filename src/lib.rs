//! # zeroring
//!
//! ZeroMQ's socket patterns carried by lock-free rings in shared memory:
//! threads talk through single-producer single-consumer frame rings in the
//! heap (`inproc://`), with libzmq's socket semantics (high-water marks,
//! multipart atomicity, blocking and non-blocking calls, timeouts) and an API
//! shaped like the `zmq` crate's.
//!
//! ```
//! use zeroring::{Context, SocketType};
//!
//! let ctx = Context::new();
//! let pull = ctx.socket(SocketType::Pull)?;
//! pull.bind("inproc://pipeline")?;
//! let push = ctx.socket(SocketType::Push)?;
//! push.connect("inproc://pipeline")?;
//!
//! std::thread::spawn(move || {
//!     for i in 0..3u8 {
//!         push.send([i], 0).unwrap();
//!     }
//! });
//! for i in 0..3u8 {
//!     assert_eq!(pull.recv_bytes(0)?, [i]);
//! }
//! # Ok::<(), zeroring::Error>(())
//! ```
//!
//! A program written for the `zmq` crate (0.10) builds with
//! `use zeroring as zmq;`: its names (`zmq::PUSH`, `Message`,
//! `recv_string`, `Error::EAGAIN` ...) are zeroring's too (README's porting
//! section says what still differs).
//!
//! The layers, bottom up: the frame ring (single producer, single
//! consumer), the doorbell that sleeps without losing a wake-up, pipes (two
//! rings and a control block), patterns (load-balance, fair-queue),
//! transports, and the [`Socket`] API.
//!
//! Thread-safe sockets ([`Client`]/[`Server`], [`Scatter`]/[`Gather`],
//! [`Radio`]/[`Dish`]: libzmq's draft types) are shared by many threads at
//! once, sending without a lock through multi-producer rings (inproc; tcp
//! and ipc through the ZMTP engine).
//!
//! # Cargo features
//!
//! - `async` (alias `tokio`): `AsyncSocket`, sockets to `.await` on any
//!   executor, and the thread-safe sockets' `*_async` methods.
//! - `tracing`: [`tracing`](https://docs.rs/tracing) events. Every socket
//!   monitor event ([`monitor`]), with or without a monitor, on target
//!   `zeroring::connection` with fields `event`, `endpoint`, `value` and
//!   `reason`: `DEBUG`, or `WARN` for failures and for peers dropped for
//!   breaking the protocol. Every message dropped without an error to its
//!   sender (a PUB or ROUTER at a peer's high-water mark, a ROUTER's
//!   unroutable message ...), `DEBUG` on target `zeroring::drop` with
//!   `endpoint` (or `routing_id`) and `reason`. Without the feature the
//!   calls compile to nothing.
//! - `unstable-internals`: the layers below the socket API (the frame ring,
//!   the multi-producer ring, the chunk ledger, the doorbell, the thread-safe
//!   sockets' pipe and receive lock, the sans-IO ZMTP codec), for zeroring's
//!   own benches, loom models, fuzz targets and wire-level tests. Not part of
//!   the public API: outside semver, hidden from these docs, and free to
//!   change in any release.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc, clippy::missing_panics_doc)]
// docs.rs (`--cfg docsrs`, nightly) marks each feature-gated item with the
// feature it needs. `doc_cfg` does it on its own: `doc_auto_cfg` was folded
// into it, and naming `doc_auto_cfg` fails the build on today's toolchains.
#![cfg_attr(docsrs, feature(doc_cfg))]
// `not(loom)` is the model checker's build, no user's concern.
#![cfg_attr(docsrs, doc(auto_cfg(hide(loom))))]

#[cfg(all(not(loom), feature = "async"))]
mod async_socket;
#[cfg(not(loom))]
mod bridge;
mod compat;
mod context;
#[cfg(not(loom))]
mod context_options;
mod copy;
/// zeroring's copy of a frame's bytes (a small frame without a call to
/// `memcpy`), for zeroring-capi's `zmq_msg_recv` into a message's inline
/// bytes. Not public API: outside semver.
#[doc(hidden)]
pub use copy::copy as copy_frame;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_hooks;
pub mod monitor;
mod pattern;
mod pipe;
// poll sleeps in poll(2) on eventfds, which loom cannot model; the loom
// build checks the rings, the doorbell and the thread-safe sockets' own
// protocols (below) only.
#[cfg(not(loom))]
mod poll;
#[cfg(not(loom))]
mod proxy;
mod socket;
mod socket_type;
mod sync;
#[cfg(not(loom))]
mod threadsafe;
// The loom build checks the thread-safe sockets' own protocols (the receive
// lock, the room writers wait in, the credits toward a pipe's mark), not the
// sockets.
#[cfg(loom)]
mod threadsafe {
    pub mod pipe;
    pub mod spin;
    mod wakers;
}
mod trace;
mod transport;
// The codec's `pub` items are its API for the engine and, under
// `unstable-internals`, for the fuzz targets and wire-level tests: without
// the feature some of them are used by neither.
#[cfg(feature = "unstable-internals")]
#[doc(hidden)]
pub mod zmtp;
#[cfg(not(feature = "unstable-internals"))]
#[allow(dead_code, unused_imports)]
mod zmtp;

#[cfg(all(not(loom), feature = "async"))]
pub use async_socket::AsyncSocket;
pub use compat::socket_types::*;
pub use compat::{
    curve_keypair, curve_public, has, version, z85_decode, z85_encode, CurveKeyPair, DecodeError,
    EncodeError, Mechanism, Message, SocketEvent,
};
pub use context::Context;
pub use error::{Error, Result};
pub use monitor::MonitorEvent;
#[cfg(feature = "unstable-internals")]
#[doc(hidden)]
pub use pipe::{ledger, mpsc, ring, Doorbell};
#[cfg(not(loom))]
pub use poll::{poll, PollEvents, PollItem, POLLERR, POLLIN, POLLOUT};
#[cfg(not(loom))]
pub use proxy::{
    proxy, proxy_steerable, proxy_steerable_with_capture, proxy_with_capture, ProxyStats,
};
#[cfg(not(loom))]
pub use socket::Properties;
pub use socket::{Frame, Loan, Socket, WaitStrategy, DEFAULT_RING_CAPACITY, DONTWAIT, SNDMORE};
pub use socket_type::SocketType;
#[cfg(feature = "unstable-internals")]
#[doc(hidden)]
pub use threadsafe::{pipe as threadsafe_pipe, spin as threadsafe_spin};
#[cfg(not(loom))]
pub use threadsafe::{Client, Dish, Gather, Radio, RoutingId, Scatter, Server, GROUP_MAX_LENGTH};
pub use zmtp::{CurveCredentials, PlainCredentials};
