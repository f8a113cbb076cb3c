//! `inproc://`: pipes in the heap, endpoints in the context's registry.
//!
//! A connect to a name nobody has bound yet creates the pipe at once (so the
//! connecter can queue messages, as in libzmq) and parks the far end here;
//! the bind takes it. High-water marks add up across the two sockets, as
//! libzmq's do for inproc. As in libzmq 4.3, inproc does not check that the
//! two socket types go together (ZMTP's handshake does that for tcp and ipc).

use crate::error::{Error, Result};
use crate::pipe::{pipe, Hwm, PipeConfig, PipeEnd};
use crate::socket::{NewPipe, SocketShared};
use crate::SocketType;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the registry needs to know of a socket.
pub(crate) struct Peer<'a> {
    pub id: u64,
    pub shared: &'a Arc<SocketShared>,
    pub kind: SocketType,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub ring_capacity: usize,
    pub routing_id: &'a [u8],
}

struct Binding {
    owner: u64,
    shared: Arc<SocketShared>,
    #[cfg_attr(loom, allow(dead_code))]
    kind: SocketType,
    sndhwm: u64,
    rcvhwm: u64,
    ring_capacity: usize,
    routing_id: Box<[u8]>,
}

struct Parked {
    owner: u64,
    end: PipeEnd,
}

#[derive(Default)]
struct State {
    bound: HashMap<String, Binding>,
    parked: HashMap<String, Vec<Parked>>,
}

/// The context's table of inproc names.
#[derive(Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds `name` to `me`; returns the pipes of connects that came first.
    pub fn bind(&self, name: &str, me: &Peer<'_>) -> Result<Vec<PipeEnd>> {
        let mut st = self.lock();
        if st.bound.contains_key(name) {
            return Err(Error::AddrInUse(format!("inproc://{name}")));
        }
        st.bound.insert(
            name.to_owned(),
            Binding {
                owner: me.id,
                shared: me.shared.clone(),
                kind: me.kind,
                sndhwm: me.sndhwm,
                rcvhwm: me.rcvhwm,
                ring_capacity: me.ring_capacity,
                routing_id: me.routing_id.into(),
            },
        );
        let parked = st.parked.remove(name).unwrap_or_default();
        drop(st);
        Ok(parked
            .into_iter()
            .map(|mut p| {
                p.end.set_hwm(me.sndhwm, me.rcvhwm);
                p.end.set_routing_id(me.routing_id);
                p.end
            })
            .collect())
    }

    /// Connects `me` to `name` and returns `me`'s end of the new pipe.
    pub fn connect(&self, name: &str, me: &Peer<'_>) -> Result<PipeEnd> {
        let mut st = self.lock();
        if let Some(b) = st.bound.get(name) {
            let (ours, theirs) = pipe(PipeConfig {
                ring_capacity: me.ring_capacity.max(b.ring_capacity),
                hwm: [
                    Hwm {
                        snd: Some(me.sndhwm),
                        rcv: Some(b.rcvhwm),
                    },
                    Hwm {
                        snd: Some(b.sndhwm),
                        rcv: Some(me.rcvhwm),
                    },
                ],
                ids: [Some(me.routing_id.into()), Some(b.routing_id.clone())],
            });
            let binder = b.shared.clone();
            drop(st);
            binder.deliver(NewPipe {
                end: theirs,
                endpoint: format!("inproc://{name}").into(),
                replaces: None,
                #[cfg(not(loom))]
                sending: None,
            });
            return Ok(ours);
        }
        let (ours, theirs) = pipe(PipeConfig {
            ring_capacity: me.ring_capacity,
            hwm: [Hwm::snd(me.sndhwm), Hwm::rcv(me.rcvhwm)],
            ids: [Some(me.routing_id.into()), None],
        });
        st.parked.entry(name.to_owned()).or_default().push(Parked {
            owner: me.id,
            end: theirs,
        });
        Ok(ours)
    }

    /// A pipe to the ZAP handler bound at `inproc://zeromq.zap.01` (a REP
    /// or ROUTER socket), for one authentication request: our end, `None`
    /// when no such handler is bound. As libzmq's
    /// `session_base_t::zap_connect`, neither direction has a high-water
    /// mark and our side has no routing id (a ROUTER handler makes one up).
    #[cfg_attr(loom, allow(dead_code))]
    pub fn connect_zap(&self) -> Option<PipeEnd> {
        let name = &crate::zmtp::zap::ZAP_ENDPOINT["inproc://".len()..];
        let st = self.lock();
        let b = st.bound.get(name)?;
        if !matches!(b.kind, SocketType::Rep | SocketType::Router) {
            return None;
        }
        let (ours, theirs) = pipe(PipeConfig {
            ring_capacity: b.ring_capacity,
            hwm: [Hwm::NONE; 2],
            ids: [Some(Box::default()), Some(b.routing_id.clone())],
        });
        let binder = b.shared.clone();
        drop(st);
        binder.deliver(NewPipe {
            end: theirs,
            endpoint: crate::zmtp::zap::ZAP_ENDPOINT.into(),
            replaces: None,
            #[cfg(not(loom))]
            sending: None,
        });
        Some(ours)
    }

    /// Removes `owner`'s binding of `name`.
    pub fn unbind(&self, name: &str, owner: u64) -> Result<()> {
        let mut st = self.lock();
        match st.bound.get(name) {
            Some(b) if b.owner == owner => {
                st.bound.remove(name);
                Ok(())
            }
            _ => Err(Error::EndpointNotFound(format!("inproc://{name}"))),
        }
    }

    /// Drops the pipes `owner` parked at `name`; whether there were any.
    pub fn unpark(&self, name: &str, owner: u64) -> bool {
        let mut st = self.lock();
        let Some(list) = st.parked.get_mut(name) else {
            return false;
        };
        let before = list.len();
        list.retain(|p| p.owner != owner);
        let found = list.len() != before;
        if list.is_empty() {
            st.parked.remove(name);
        }
        found
    }

    /// A socket is closing: its bindings go, and with `discard` (LINGER 0)
    /// so do the messages it queued to names nobody has bound yet.
    pub fn remove_socket(&self, owner: u64, discard: bool) {
        let mut st = self.lock();
        st.bound.retain(|_, b| b.owner != owner);
        if discard {
            st.parked.retain(|_, list| {
                list.retain(|p| p.owner != owner);
                !list.is_empty()
            });
        }
    }
}
