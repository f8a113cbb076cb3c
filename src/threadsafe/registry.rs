//! The context's inproc names for thread-safe sockets, and the list of
//! them its shutdown wakes.
//!
//! A connect before the bind waits here and is completed by the bind, as
//! for the other sockets. The names are apart from the classic sockets'
//! (a CLIENT cannot talk to them anyway).

use super::core::Core;
use super::core::{receives, sends, Inbound};
use super::peers::Out;
use super::peers::Peer;
use super::pipe::{InPipe, Pipe};
use crate::error::{Error, Result};
use crate::SocketType;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

#[derive(Default)]
struct State {
    bound: HashMap<String, Weak<Core>>,
    waiting: HashMap<String, Vec<Weak<Core>>>,
    all: Vec<Weak<Core>>,
}

/// Thread-safe sockets' inproc endpoints.
#[derive(Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
}

fn compatible(a: SocketType, b: SocketType) -> bool {
    use SocketType::*;
    matches!(
        (a, b),
        (Client, Server)
            | (Server, Client)
            | (Scatter, Gather)
            | (Gather, Scatter)
            | (Radio, Dish)
            | (Dish, Radio)
    )
}

fn sum_hwm(snd: i32, rcv: i32) -> u64 {
    if snd == 0 || rcv == 0 {
        0
    } else {
        snd as u64 + rcv as u64
    }
}

/// Connects `a` and `b` through `inproc://name` with a pipe each way
/// their types send.
fn link(a: &Core, b: &Core, name: &str) {
    let endpoint: Arc<str> = format!("inproc://{name}").into();
    // The pipe `w` writes and `r` reads (`w` knows `r` as `id_at_w`, and
    // `r` knows `w` as `id_at_r`).
    let pipe = |w: &Core, r: &Core, id_at_w: u32, id_at_r: u32| {
        if !(sends(w.kind) && receives(r.kind)) {
            return (None, None);
        }
        let hwm = sum_hwm(
            w.opts.sndhwm.load(Ordering::Relaxed),
            r.opts.rcvhwm.load(Ordering::Relaxed),
        );
        let cap = w.opts.ring_capacity.load(Ordering::Relaxed);
        let (pipe, rx) = Pipe::new(cap, hwm, r.bell.clone(), w.room.clone());
        let groups = (r.kind == SocketType::Dish).then(|| r.groups.clone());
        let peer = Peer {
            id: id_at_w,
            out: Out::Ring(pipe.clone()),
            endpoint: endpoint.clone(),
            groups,
        };
        let inp = Inbound::Ring(InPipe::new(pipe, rx, id_at_r));
        (Some(peer), Some(inp))
    };
    let (id_at_a, id_at_b) = (a.new_peer_id(), b.new_peer_id());
    let (a_out, b_in) = pipe(a, b, id_at_a, id_at_b);
    let (b_out, a_in) = pipe(b, a, id_at_b, id_at_a);
    a.attach(&endpoint, a_out, a_in);
    b.attach(&endpoint, b_out, b_in);
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a new socket, for [`stop`](Self::stop).
    pub fn add(&self, core: &Arc<Core>) {
        let mut s = self.lock();
        s.all.retain(|w| w.strong_count() > 0);
        s.all.push(Arc::downgrade(core));
    }

    pub fn bind(&self, name: &str, core: &Arc<Core>) -> Result<()> {
        let mut s = self.lock();
        if s.bound.get(name).is_some_and(|w| w.strong_count() > 0) {
            return Err(Error::AddrInUse(format!("inproc://{name}")));
        }
        let waiting = s.waiting.remove(name).unwrap_or_default();
        let waiting: Vec<_> = waiting.iter().filter_map(Weak::upgrade).collect();
        if let Some(c) = waiting.iter().find(|c| !compatible(core.kind, c.kind)) {
            s.waiting.insert(
                name.to_owned(),
                waiting.iter().map(Arc::downgrade).collect(),
            );
            return Err(Error::IncompatibleSocketType {
                local: core.kind.name(),
                peer: c.kind.name(),
            });
        }
        s.bound.insert(name.to_owned(), Arc::downgrade(core));
        for c in &waiting {
            link(c, core, name);
        }
        Ok(())
    }

    pub fn connect(&self, name: &str, core: &Arc<Core>) -> Result<()> {
        let mut s = self.lock();
        match s.bound.get(name).and_then(Weak::upgrade) {
            Some(b) if !compatible(core.kind, b.kind) => Err(Error::IncompatibleSocketType {
                local: core.kind.name(),
                peer: b.kind.name(),
            }),
            Some(b) => {
                link(core, &b, name);
                Ok(())
            }
            None => {
                let w = s.waiting.entry(name.to_owned()).or_default();
                w.retain(|w| w.strong_count() > 0);
                w.push(Arc::downgrade(core));
                Ok(())
            }
        }
    }

    /// Frees `name` if `core` is bound to it.
    ///
    /// # Errors
    ///
    /// [`Error::EndpointNotFound`] if it is not.
    pub fn unbind(&self, name: &str, core: &Arc<Core>) -> Result<()> {
        let mut s = self.lock();
        let me = Arc::downgrade(core);
        if !s.bound.get(name).is_some_and(|w| w.ptr_eq(&me)) {
            return Err(Error::EndpointNotFound(format!("inproc://{name}")));
        }
        s.bound.remove(name);
        Ok(())
    }

    /// Takes back `core`'s connects to `name` that wait for a bind.
    pub fn unpark(&self, name: &str, core: &Arc<Core>) {
        let mut s = self.lock();
        let me = Arc::downgrade(core);
        if let Some(w) = s.waiting.get_mut(name) {
            w.retain(|w| !w.ptr_eq(&me) && w.strong_count() > 0);
            if w.is_empty() {
                s.waiting.remove(name);
            }
        }
    }

    /// Frees the names `core`, a socket that is going, holds.
    pub fn remove(&self, core: &Arc<Core>) {
        let mut s = self.lock();
        let me = Arc::downgrade(core);
        s.bound.retain(|_, w| !w.ptr_eq(&me));
        for w in s.waiting.values_mut() {
            w.retain(|w| !w.ptr_eq(&me));
        }
        s.all.retain(|w| !w.ptr_eq(&me));
    }

    /// Wakes every blocked call of every thread-safe socket (shutdown).
    pub fn stop(&self) {
        let all: Vec<_> = self.lock().all.iter().filter_map(Weak::upgrade).collect();
        for c in all {
            c.wake_all();
        }
    }
}
