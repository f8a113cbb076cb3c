//! The context: owner of the inproc endpoint registry and of every socket's
//! liveness, as `zmq::Context` is.

use crate::error::Result;
use crate::socket::{Socket, SocketShared};
use crate::transport::inproc::Registry;
use crate::SocketType;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A zeroring context. Cheap to clone; sockets keep it alive.
///
/// ```
/// use zeroring::{Context, SocketType};
/// let ctx = Context::new();
/// let mut pull = ctx.socket(SocketType::Pull).unwrap();
/// let mut push = ctx.socket(SocketType::Push).unwrap();
/// pull.bind("inproc://doc-context").unwrap();
/// push.connect("inproc://doc-context").unwrap();
/// push.send("hello", 0).unwrap();
/// assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
/// ```
#[derive(Clone, Default)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

#[derive(Default)]
pub(crate) struct ContextInner {
    pub(crate) inproc: Registry,
    terminated: AtomicBool,
    next_socket_id: AtomicU64,
    sockets: Mutex<Vec<Weak<SocketShared>>>,
    /// The I/O thread, started by the first tcp endpoint.
    #[cfg(not(loom))]
    io: Mutex<Option<Arc<crate::transport::tcp::IoThread>>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

impl Context {
    /// A new, independent context: inproc endpoints are visible only within it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a socket of `kind`.
    pub fn socket(&self, kind: SocketType) -> Result<Socket> {
        if self.is_terminated() {
            return Err(crate::Error::Terminated);
        }
        let id = self.inner.next_socket_id.fetch_add(1, Ordering::Relaxed);
        let socket = Socket::new(self.clone(), kind, id)?;
        let mut all = self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(socket.shared()));
        Ok(socket)
    }

    /// Shuts the context down, as `zmq_ctx_shutdown`: every blocking call on
    /// its sockets returns [`Error::Terminated`](crate::Error::Terminated) at
    /// once, and so does every later call.
    pub fn shutdown(&self) {
        self.inner.terminated.store(true, Ordering::Release);
        let all = self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner());
        for socket in all.iter().filter_map(Weak::upgrade) {
            socket.bell.ring_from(true);
        }
    }

    /// The I/O thread, started on first use.
    #[cfg(not(loom))]
    pub(crate) fn io(&self) -> Result<Arc<crate::transport::tcp::IoThread>> {
        let mut io = self.inner.io.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(io) = &*io {
            return Ok(io.clone());
        }
        let started = Arc::new(crate::transport::tcp::IoThread::start()?);
        *io = Some(started.clone());
        Ok(started)
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    #[inline]
    pub fn is_terminated(&self) -> bool {
        self.inner.terminated.load(Ordering::Relaxed)
    }
}
