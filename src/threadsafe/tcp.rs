//! tcp and ipc endpoints of the thread-safe sockets: the classic sockets'
//! ZMTP engine on the context's I/O thread, which hands each connection
//! over as a single-producer pipe for what the peer sends and a
//! multi-producer ring the socket's threads send into without a lock
//! ([`Remote`](super::remote::Remote)): made here for a connect, by the
//! engine for a connection a listener accepted (it knows the socket's
//! room from the socket's [`SocketDesc`]).
//! An ipc connection to another zeroring thread-safe socket then moves to
//! shared multi-producer rings (see [`shared`](super::shared) and
//! `transport::ipc::mpsc_segment`); a connect's `Remote` stays, for what is
//! queued before each connection. The options
//! the thread-safe sockets do not offer yet (security, heartbeats,
//! reconnect intervals ...) keep libzmq's defaults.

use super::core::{writes, Core};
use super::remote::{outbound, Outbound};
use crate::error::{Error, Result};
use crate::pipe::PipeEnd;
use crate::transport::ipc::{self, BoundFile, IpcAddr};
use crate::transport::stream::{IpcFilters, Target};
use crate::transport::tcp::{self, IoThread, SocketDesc};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

/// A tcp or ipc endpoint bound.
struct Bound {
    /// As given to `bind`.
    given: String,
    /// As the I/O thread names it (tcp: with the address and port bound).
    local: String,
    /// ipc: the socket file, removed at unbind and close.
    file: Option<BoundFile>,
}

/// A socket's tcp and ipc side: its I/O thread (from its first such
/// endpoint) and the id the I/O thread knows it by.
pub(crate) struct Tcp {
    id: u64,
    io: Mutex<Option<Arc<IoThread>>>,
    last_endpoint: Mutex<Option<String>>,
    bound: Mutex<Vec<Bound>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stops taking the connections accepted on `endpoint`.
fn forget_listening(core: &Core, endpoint: &str) {
    let mut listening = core.listening();
    if let Some(i) = listening.iter().position(|e| **e == *endpoint) {
        listening.remove(i);
    }
}

impl Tcp {
    pub fn new(id: u64) -> Self {
        Self {
            id,
            io: Mutex::default(),
            last_endpoint: Mutex::default(),
            bound: Mutex::default(),
        }
    }

    fn io(&self, core: &Core) -> Result<Arc<IoThread>> {
        let mut io = lock(&self.io);
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
            room: Some(core.room.clone()),
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
        let mut listening = core.listening();
        let (local, _fd) = tcp::bind(&io, endpoint, addr, self.desc(core), None, Vec::new())?;
        let local = format!("tcp://{local}");
        listening.push(local.as_str().into());
        drop(listening);
        self.set_last_endpoint(local.clone());
        lock(&self.bound).push(Bound {
            given: endpoint.to_owned(),
            local,
            file: None,
        });
        Ok(())
    }

    pub fn connect(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = tcp::connect_address(endpoint, address, false)?;
        let io = self.io(core)?;
        let desc = self.desc(core);
        let (theirs, outbound) = Self::engine_pipe(core, &desc, &io, endpoint);
        tcp::connect(&io, addr, theirs, outbound, desc, endpoint.to_owned());
        self.set_last_endpoint(endpoint.to_owned());
        Ok(())
    }

    /// Listens at `ipc://address`.
    pub fn bind_ipc(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = IpcAddr::parse(endpoint, address)?;
        let mut bound = lock(&self.bound);
        if bound.iter().any(|b| b.local == endpoint) {
            return Err(Error::AddrInUse(endpoint.to_owned()));
        }
        let io = self.io(core)?;
        let filters = IpcFilters::default();
        // Named before the bind (which may wait its turn in the directory)
        // rather than with the guard held through it.
        core.listening().push(endpoint.into());
        let file = match ipc::bind(&io, endpoint, &addr, self.desc(core), &filters, None) {
            Ok((file, _fd)) => file,
            Err(e) => {
                forget_listening(core, endpoint);
                return Err(e);
            }
        };
        bound.push(Bound {
            given: endpoint.to_owned(),
            local: endpoint.to_owned(),
            file,
        });
        self.set_last_endpoint(endpoint.to_owned());
        Ok(())
    }

    /// Connects to `ipc://address` (retried until someone listens there).
    pub fn connect_ipc(&self, core: &Core, endpoint: &str, address: &str) -> Result<()> {
        let addr = IpcAddr::parse(endpoint, address)?;
        let io = self.io(core)?;
        let desc = self.desc(core);
        let (theirs, outbound) = Self::engine_pipe(core, &desc, &io, endpoint);
        let target = Target::Ipc(addr);
        io.connect(target, Some(theirs), outbound, desc, endpoint.to_owned());
        self.set_last_endpoint(endpoint.to_owned());
        Ok(())
    }

    /// Stops listening on `endpoint` (as bound, or as
    /// [`last_endpoint`](Self::last_endpoint) told it) and closes the
    /// connections accepted there; an ipc socket file goes too. Returns
    /// once the port or path is free for another bind.
    pub fn unbind(&self, core: &Core, endpoint: &str) -> Result<()> {
        let b = {
            let mut bound = lock(&self.bound);
            let i = bound
                .iter()
                .position(|b| b.given == endpoint || b.local == endpoint)
                .ok_or_else(|| Error::EndpointNotFound(endpoint.to_owned()))?;
            bound.remove(i)
        };
        forget_listening(core, &b.local);
        let io = lock(&self.io).clone();
        if let Some(io) = io {
            io.unbind_and_wait(self.id, b.local.clone());
        }
        if let Some(file) = &b.file {
            file.remove();
        }
        core.close_endpoint(&b.local);
        Ok(())
    }

    /// A pipe and (if the socket [`writes`]) a ring to the engine of a
    /// connect to `endpoint`, made at once so that messages queue before
    /// the connection is up (as libzmq's do): our ends join the socket's
    /// peers, the engine's are returned.
    fn engine_pipe(
        core: &Core,
        desc: &SocketDesc,
        io: &IoThread,
        endpoint: &str,
    ) -> (PipeEnd, Option<Outbound>) {
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
        let ring = writes(core.kind).then(|| {
            outbound(
                desc.ring_capacity,
                desc.sndhwm,
                io.bell(),
                core.room.clone(),
            )
        });
        let (sending, outbound) = ring.unzip();
        core.attach_remote(ours, sending, endpoint.into());
        (theirs, outbound)
    }

    /// Remembers `endpoint` as the last bound or connected (any transport).
    pub fn set_last_endpoint(&self, endpoint: String) {
        *lock(&self.last_endpoint) = Some(endpoint);
    }

    /// The endpoint last bound (with the port chosen) or connected.
    pub fn last_endpoint(&self) -> Option<String> {
        lock(&self.last_endpoint).clone()
    }

    /// Stops listening and removes our socket files (the socket is going).
    pub fn close(&self) {
        let bound = std::mem::take(&mut *lock(&self.bound));
        if bound.is_empty() {
            return;
        }
        if let Some(io) = &*lock(&self.io) {
            io.unbind_all(self.id);
        }
        for file in bound.iter().filter_map(|b| b.file.as_ref()) {
            file.remove();
        }
    }
}
