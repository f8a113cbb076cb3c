//! tcp and ipc endpoints of the thread-safe sockets: the classic sockets'
//! ZMTP engine on the context's I/O thread, which hands each connection
//! over as a single-producer pipe ([`Remote`](super::remote::Remote)).
//! ipc stays ZMTP over the unix socket (no shared-memory upgrade: see the
//! engine's `shm_offer`). The options
//! the thread-safe sockets do not offer yet (security, heartbeats,
//! reconnect intervals ...) keep libzmq's defaults.

use super::core::Core;
use crate::error::Result;
use crate::transport::ipc::{self, BoundFile, IpcAddr};
use crate::transport::stream::{IpcFilters, Target};
use crate::transport::tcp::{self, IoThread, SocketDesc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A socket's tcp and ipc side: its I/O thread (from its first such
/// endpoint) and the id the I/O thread knows it by.
pub(crate) struct Tcp {
    id: u64,
    io: Mutex<Option<Arc<IoThread>>>,
    bound: AtomicBool,
    last_endpoint: Mutex<Option<String>>,
    /// ipc: the endpoints bound, and the socket files to remove at close.
    ipc_bound: Mutex<Vec<(String, Option<BoundFile>)>>,
}

impl Tcp {
    pub fn new(id: u64) -> Self {
        Self {
            id,
            io: Mutex::default(),
            bound: AtomicBool::new(false),
            last_endpoint: Mutex::default(),
            ipc_bound: Mutex::default(),
        }
    }

    fn io(&self, core: &Core) -> Result<Arc<IoThread>> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(io) = &*io {
            return Ok(io.clone());
        }
        let t = core.ctx.io_for(self.id, 0)?;
        *io = Some(t.clone());
        Ok(t)
    }

    fn desc(&self, core: &Core) -> SocketDesc {
        // Only the marks and the ring's size are options of a thread-safe
        // socket; the rest are libzmq's defaults.
        let hwm = |v: i32| v.max(0) as u64;
        SocketDesc {
            sndhwm: hwm(core.opts.sndhwm.load(Ordering::Relaxed)),
            rcvhwm: hwm(core.opts.rcvhwm.load(Ordering::Relaxed)),
            ring_capacity: core.opts.ring_capacity.load(Ordering::Relaxed),
            ..crate::socket::tcp_desc(
                &crate::socket::options::Options::default(),
                self.id,
                &core.shared,
                core.kind,
                &core.ctx,
            )
        }
    }

    pub fn bind(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = tcp::bind_address(endpoint, address, false)?;
        let io = self.io(core)?;
        core.expect_remote();
        let (local, _fd) = tcp::bind(&io, endpoint, addr, self.desc(core), None, Vec::new())?;
        self.bound.store(true, Ordering::Relaxed);
        *self.last_endpoint.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("tcp://{local}"));
        Ok(())
    }

    pub fn connect(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = tcp::connect_address(endpoint, address, false)?;
        let io = self.io(core)?;
        let desc = self.desc(core);
        let theirs = Self::engine_pipe(core, &desc);
        tcp::connect(&io, addr, theirs, desc, endpoint.to_owned());
        self.set_last_endpoint(endpoint.to_owned());
        Ok(())
    }

    /// Listens at `ipc://address`.
    pub fn bind_ipc(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = IpcAddr::parse(endpoint, address)?;
        let mut bound = self.ipc_bound.lock().unwrap_or_else(|e| e.into_inner());
        if bound.iter().any(|(e, _)| e == endpoint) {
            return Err(crate::Error::AddrInUse(endpoint.to_owned()));
        }
        let io = self.io(core)?;
        core.expect_remote();
        let filters = IpcFilters::default();
        let (file, _fd) = ipc::bind(&io, endpoint, &addr, self.desc(core), &filters, None)?;
        bound.push((endpoint.to_owned(), file));
        self.bound.store(true, Ordering::Relaxed);
        self.set_last_endpoint(endpoint.to_owned());
        Ok(())
    }

    /// Connects to `ipc://address` (retried until someone listens there).
    pub fn connect_ipc(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = IpcAddr::parse(endpoint, address)?;
        let io = self.io(core)?;
        let desc = self.desc(core);
        let theirs = Self::engine_pipe(core, &desc);
        io.connect(Target::Ipc(addr), Some(theirs), desc, endpoint.to_owned());
        self.set_last_endpoint(endpoint.to_owned());
        Ok(())
    }

    /// A pipe to the engine of a connect, made at once so that messages
    /// queue before the connection is up (as libzmq's do): our end joins
    /// the socket's peers, the engine's is returned.
    fn engine_pipe(core: &Core, desc: &SocketDesc) -> crate::pipe::PipeEnd {
        let (ours, mut theirs) = crate::pipe::pipe(crate::pipe::PipeConfig {
            ring_capacity: desc.ring_capacity,
            hwm: [
                crate::pipe::Hwm::snd(desc.sndhwm),
                crate::pipe::Hwm::rcv(desc.rcvhwm),
            ],
            ids: [Some(Vec::new().into()), None],
        });
        theirs.set_strong();
        theirs.set_pool_slot(core.shared.pool_slot());
        theirs.limit_message_beyond_ring(ipc::pool::CHUNK_MAX);
        core.attach_remote(ours);
        theirs
    }

    fn set_last_endpoint(&self, endpoint: String) {
        *self.last_endpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(endpoint);
    }

    /// The endpoint last bound (with the port chosen) or connected.
    pub fn last_endpoint(&self) -> Option<String> {
        self.last_endpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops listening and removes our socket files (the socket is going).
    pub fn close(&self) {
        if self.bound.load(Ordering::Relaxed) {
            if let Some(io) = &*self.io.lock().unwrap_or_else(|e| e.into_inner()) {
                io.unbind(self.id, None);
            }
        }
        let bound = std::mem::take(&mut *self.ipc_bound.lock().unwrap_or_else(|e| e.into_inner()));
        for file in bound.into_iter().filter_map(|(_, f)| f) {
            file.remove();
        }
    }
}
