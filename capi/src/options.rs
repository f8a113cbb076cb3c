//! `zmq_setsockopt`/`zmq_getsockopt`: every option zeroring has, with
//! libzmq's value types and length rules; EINVAL for the rest (GSSAPI, VMCI, multicast-only sizes, TCP_ACCEPT_FILTER ...).

use crate::socket::{socket, socket_type_number};
use crate::{err, guard, CResult};
use std::ffi::{c_int, c_void};
use zeroring::{Mechanism, Socket};

// libzmq's option numbers (include/zmq.h).
const AFFINITY: c_int = 4;
const ROUTING_ID: c_int = 5;
const SUBSCRIBE: c_int = 6;
const UNSUBSCRIBE: c_int = 7;
const RATE: c_int = 8;
const RECOVERY_IVL: c_int = 9;
const SNDBUF: c_int = 11;
const RCVBUF: c_int = 12;
const RCVMORE: c_int = 13;
const FD: c_int = 14;
const EVENTS: c_int = 15;
const TYPE: c_int = 16;
const LINGER: c_int = 17;
const RECONNECT_IVL: c_int = 18;
const BACKLOG: c_int = 19;
const RECONNECT_IVL_MAX: c_int = 21;
const MAXMSGSIZE: c_int = 22;
const SNDHWM: c_int = 23;
const RCVHWM: c_int = 24;
const MULTICAST_HOPS: c_int = 25;
const RCVTIMEO: c_int = 27;
const SNDTIMEO: c_int = 28;
const IPV4ONLY: c_int = 31;
const LAST_ENDPOINT: c_int = 32;
const ROUTER_MANDATORY: c_int = 33;
const TCP_KEEPALIVE: c_int = 34;
const TCP_KEEPALIVE_CNT: c_int = 35;
const TCP_KEEPALIVE_IDLE: c_int = 36;
const TCP_KEEPALIVE_INTVL: c_int = 37;
const TCP_ACCEPT_FILTER: c_int = 38;
const IMMEDIATE: c_int = 39;
const XPUB_VERBOSE: c_int = 40;
const ROUTER_RAW: c_int = 41;
const IPV6: c_int = 42;
const MECHANISM: c_int = 43;
const PLAIN_SERVER: c_int = 44;
const PLAIN_USERNAME: c_int = 45;
const PLAIN_PASSWORD: c_int = 46;
const CURVE_SERVER: c_int = 47;
const CURVE_PUBLICKEY: c_int = 48;
const CURVE_SECRETKEY: c_int = 49;
const CURVE_SERVERKEY: c_int = 50;
const PROBE_ROUTER: c_int = 51;
const REQ_CORRELATE: c_int = 52;
const REQ_RELAXED: c_int = 53;
const CONFLATE: c_int = 54;
const ZAP_DOMAIN: c_int = 55;
const ROUTER_HANDOVER: c_int = 56;
const TOS: c_int = 57;
const IPC_FILTER_PID: c_int = 58;
const IPC_FILTER_UID: c_int = 59;
const IPC_FILTER_GID: c_int = 60;
const CONNECT_ROUTING_ID: c_int = 61;
const HANDSHAKE_IVL: c_int = 66;
const SOCKS_PROXY: c_int = 68;
const XPUB_NODROP: c_int = 69;
const XPUB_MANUAL: c_int = 71;
const XPUB_WELCOME_MSG: c_int = 72;
const STREAM_NOTIFY: c_int = 73;
const INVERT_MATCHING: c_int = 74;
const HEARTBEAT_IVL: c_int = 75;
const HEARTBEAT_TTL: c_int = 76;
const HEARTBEAT_TIMEOUT: c_int = 77;
const XPUB_VERBOSER: c_int = 78;
const CONNECT_TIMEOUT: c_int = 79;
const TCP_MAXRT: c_int = 80;
const THREAD_SAFE: c_int = 81;
const USE_FD: c_int = 89;
const BINDTODEVICE: c_int = 92;

/// The value of a `zmq_setsockopt` call.
struct Value<'a>(&'a [u8], bool);

impl Value<'_> {
    /// An `int` value: exactly `sizeof(int)` bytes, as libzmq wants.
    fn int(&self) -> CResult<c_int> {
        let bytes: [u8; 4] = self.0.try_into().map_err(|_| libc::EINVAL)?;
        Ok(c_int::from_ne_bytes(bytes))
    }

    /// A boolean given as an `int` 0 or 1 (libzmq's strict form).
    fn strict_bool(&self) -> CResult<bool> {
        match self.int()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(libc::EINVAL),
        }
    }

    /// A boolean given as any `int` (non-zero is true).
    fn relaxed_bool(&self) -> CResult<bool> {
        Ok(self.int()? != 0)
    }

    fn i64(&self) -> CResult<i64> {
        let bytes: [u8; 8] = self.0.try_into().map_err(|_| libc::EINVAL)?;
        Ok(i64::from_ne_bytes(bytes))
    }

    fn u64(&self) -> CResult<u64> {
        let bytes: [u8; 8] = self.0.try_into().map_err(|_| libc::EINVAL)?;
        Ok(u64::from_ne_bytes(bytes))
    }

    /// A string option; `None` for a null value of length 0 (clears it).
    fn text(&self) -> CResult<Option<&str>> {
        if self.0.is_empty() && self.1 {
            return Ok(None);
        }
        // A C string may come with its NUL counted.
        let bytes = self.0.strip_suffix(&[0]).unwrap_or(self.0);
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| libc::EINVAL)
    }
}

fn zr(r: zeroring::Result<()>) -> CResult<()> {
    r.map_err(err)
}

/// Sets option `option` of `socket` to `value`.
fn set(socket: &Socket, option: c_int, value: Value<'_>) -> CResult<()> {
    match option {
        SNDHWM => zr(socket.set_sndhwm(value.int()?)),
        RCVHWM => zr(socket.set_rcvhwm(value.int()?)),
        AFFINITY => zr(socket.set_affinity(value.u64()?)),
        ROUTING_ID => {
            if value.0.is_empty() || value.0.len() > 255 {
                return Err(libc::EINVAL);
            }
            zr(socket.set_routing_id(value.0))
        }
        SUBSCRIBE => zr(socket.set_subscribe(value.0)),
        UNSUBSCRIBE => zr(socket.set_unsubscribe(value.0)),
        RATE => match value.int()? {
            v if v > 0 => zr(socket.set_rate(v)),
            _ => Err(libc::EINVAL),
        },
        RECOVERY_IVL => match value.int()? {
            v if v >= 0 => zr(socket.set_recovery_ivl(v)),
            _ => Err(libc::EINVAL),
        },
        MULTICAST_HOPS => match value.int()? {
            v if v > 0 => zr(socket.set_multicast_hops(v)),
            _ => Err(libc::EINVAL),
        },
        SNDBUF => zr(socket.set_sndbuf(value.int()?)),
        RCVBUF => zr(socket.set_rcvbuf(value.int()?)),
        TOS => zr(socket.set_tos(value.int()?)),
        LINGER => zr(socket.set_linger(value.int()?)),
        CONNECT_TIMEOUT => zr(socket.set_connect_timeout(value.int()?)),
        TCP_MAXRT => zr(socket.set_tcp_maxrt(value.int()?)),
        RECONNECT_IVL => zr(socket.set_reconnect_ivl(value.int()?)),
        RECONNECT_IVL_MAX => zr(socket.set_reconnect_ivl_max(value.int()?)),
        BACKLOG => zr(socket.set_backlog(value.int()?)),
        MAXMSGSIZE => zr(socket.set_maxmsgsize(value.i64()?)),
        RCVTIMEO => zr(socket.set_rcvtimeo(value.int()?)),
        SNDTIMEO => zr(socket.set_sndtimeo(value.int()?)),
        IPV4ONLY => zr(socket.set_ipv6(!value.strict_bool()?)),
        IPV6 => zr(socket.set_ipv6(value.strict_bool()?)),
        // libzmq's "allow empty strict": NULL clears it, "" is EINVAL.
        SOCKS_PROXY => match value.text()? {
            Some("") => Err(libc::EINVAL),
            proxy => zr(socket.set_socks_proxy(proxy)),
        },
        TCP_KEEPALIVE => match value.int()? {
            v @ -1..=1 => zr(socket.set_tcp_keepalive(v)),
            _ => Err(libc::EINVAL),
        },
        TCP_KEEPALIVE_CNT => zr(socket.set_tcp_keepalive_cnt(value.int()?)),
        TCP_KEEPALIVE_IDLE => zr(socket.set_tcp_keepalive_idle(value.int()?)),
        TCP_KEEPALIVE_INTVL => zr(socket.set_tcp_keepalive_intvl(value.int()?)),
        IMMEDIATE => zr(socket.set_immediate(value.strict_bool()?)),
        // libzmq takes the string without its NUL; empty clears.
        TCP_ACCEPT_FILTER => match value.text()?.filter(|s| !s.is_empty()) {
            None => zr(socket.clear_tcp_accept_filters()),
            Some(f) => zr(socket.add_tcp_accept_filter(f)),
        },
        IPC_FILTER_UID | IPC_FILTER_GID | IPC_FILTER_PID => {
            if value.0.is_empty() && value.1 {
                return zr(socket.clear_ipc_filters());
            }
            let id = value.int()?;
            zr(match option {
                IPC_FILTER_UID => socket.add_ipc_filter_uid(id as u32),
                IPC_FILTER_GID => socket.add_ipc_filter_gid(id as u32),
                _ => socket.add_ipc_filter_pid(id),
            })
        }
        PLAIN_SERVER => zr(socket.set_plain_server(value.strict_bool()?)),
        PLAIN_USERNAME => zr(socket.set_plain_username(value.text()?)),
        PLAIN_PASSWORD => zr(socket.set_plain_password(value.text()?)),
        CURVE_SERVER => zr(socket.set_curve_server(value.strict_bool()?)),
        // 32 bytes, or 40 Z85 characters (41 with a NUL), as libzmq.
        CURVE_PUBLICKEY => zr(socket.set_curve_publickey(value.0)),
        CURVE_SECRETKEY => zr(socket.set_curve_secretkey(value.0)),
        CURVE_SERVERKEY => zr(socket.set_curve_serverkey(value.0)),
        ZAP_DOMAIN => {
            if value.0.is_empty() || value.0.len() > 255 {
                return Err(libc::EINVAL);
            }
            zr(socket.set_zap_domain(value.text()?.unwrap_or("")))
        }
        CONFLATE => zr(socket.set_conflate(value.strict_bool()?)),
        HANDSHAKE_IVL => zr(socket.set_handshake_ivl(value.int()?)),
        INVERT_MATCHING => zr(socket.set_invert_matching(value.relaxed_bool()?)),
        HEARTBEAT_IVL => zr(socket.set_heartbeat_ivl(value.int()?)),
        HEARTBEAT_TTL => zr(socket.set_heartbeat_ttl(value.int()?)),
        HEARTBEAT_TIMEOUT => zr(socket.set_heartbeat_timeout(value.int()?)),
        USE_FD => zr(socket.set_use_fd(value.int()?)),
        BINDTODEVICE => zr(socket.set_bindtodevice(value.text()?.unwrap_or(""))),
        // The options of some socket types only.
        ROUTER_MANDATORY => zr(socket.set_router_mandatory(value.relaxed_bool()?)),
        ROUTER_HANDOVER => zr(socket.set_router_handover(value.relaxed_bool()?)),
        ROUTER_RAW => zr(socket.set_router_raw(value.relaxed_bool()?)),
        PROBE_ROUTER => zr(socket.set_probe_router(value.relaxed_bool()?)),
        REQ_CORRELATE => zr(socket.set_req_correlate(value.relaxed_bool()?)),
        REQ_RELAXED => zr(socket.set_req_relaxed(value.relaxed_bool()?)),
        XPUB_VERBOSE => zr(socket.set_xpub_verbose(value.relaxed_bool()?)),
        XPUB_VERBOSER => zr(socket.set_xpub_verboser(value.relaxed_bool()?)),
        XPUB_NODROP => zr(socket.set_xpub_nodrop(value.relaxed_bool()?)),
        XPUB_MANUAL => zr(socket.set_xpub_manual(value.relaxed_bool()?)),
        XPUB_WELCOME_MSG => {
            let msg = (!value.0.is_empty()).then_some(value.0);
            zr(socket.set_xpub_welcome_msg(msg))
        }
        STREAM_NOTIFY => zr(socket.set_stream_notify(value.relaxed_bool()?)),
        CONNECT_ROUTING_ID => {
            if value.0.is_empty() || value.0.len() > 255 {
                return Err(libc::EINVAL);
            }
            zr(socket.set_connect_routing_id(value.0))
        }
        _ => Err(libc::EINVAL),
    }
}

/// What a `zmq_getsockopt` call returns.
enum Got {
    /// An `int` (its buffer must be exactly `sizeof(int)`).
    Int(c_int),
    /// An `int` under libzmq's looser rule (a buffer at least that large).
    LooseInt(c_int),
    I64(i64),
    U64(u64),
    /// Bytes, as they are (a routing id).
    Bytes(Vec<u8>),
    /// A string, NUL-terminated in the buffer.
    Text(String),
    /// A CURVE key: 32 bytes into a buffer of exactly 32, or 40 Z85
    /// characters and a NUL into one of exactly 41, as libzmq.
    Key(Vec<u8>),
}

fn text(r: zeroring::Result<Result<String, Vec<u8>>>) -> CResult<Got> {
    match r.map_err(err)? {
        Ok(s) => Ok(Got::Text(s)),
        Err(b) => Ok(Got::Bytes(b)),
    }
}

/// Reads option `option` of `socket`.
fn get(socket: &Socket, option: c_int) -> CResult<Got> {
    let int = |r: zeroring::Result<i32>| r.map(Got::Int).map_err(err);
    let flag = |r: zeroring::Result<bool>| r.map(|b| Got::Int(b as c_int)).map_err(err);
    match option {
        RCVMORE => Ok(Got::LooseInt(socket.get_rcvmore().map_err(err)? as c_int)),
        FD => Ok(Got::LooseInt(socket.get_fd().map_err(err)?)),
        EVENTS => Ok(Got::LooseInt(
            socket.get_events().map_err(err)?.bits() as c_int
        )),
        LAST_ENDPOINT => text(socket.get_last_endpoint()),
        THREAD_SAFE => Ok(Got::LooseInt(0)),
        TYPE => Ok(Got::Int(socket_type_number(
            socket.get_socket_type().map_err(err)?,
        ))),
        SNDHWM => int(socket.get_sndhwm()),
        RCVHWM => int(socket.get_rcvhwm()),
        AFFINITY => Ok(Got::U64(socket.get_affinity().map_err(err)?)),
        ROUTING_ID => Ok(Got::Bytes(socket.get_routing_id().map_err(err)?)),
        RATE => int(socket.get_rate()),
        RECOVERY_IVL => int(socket.get_recovery_ivl()),
        MULTICAST_HOPS => int(socket.get_multicast_hops()),
        SNDBUF => int(socket.get_sndbuf()),
        RCVBUF => int(socket.get_rcvbuf()),
        TOS => int(socket.get_tos()),
        LINGER => int(socket.get_linger()),
        CONNECT_TIMEOUT => int(socket.get_connect_timeout()),
        TCP_MAXRT => int(socket.get_tcp_maxrt()),
        RECONNECT_IVL => int(socket.get_reconnect_ivl()),
        RECONNECT_IVL_MAX => int(socket.get_reconnect_ivl_max()),
        BACKLOG => int(socket.get_backlog()),
        MAXMSGSIZE => Ok(Got::I64(socket.get_maxmsgsize().map_err(err)?)),
        RCVTIMEO => int(socket.get_rcvtimeo()),
        SNDTIMEO => int(socket.get_sndtimeo()),
        IPV4ONLY => flag(socket.get_ipv6().map(|v| !v)),
        IPV6 => flag(socket.get_ipv6()),
        SOCKS_PROXY => text(socket.get_socks_proxy()),
        TCP_KEEPALIVE => int(socket.get_tcp_keepalive()),
        TCP_KEEPALIVE_CNT => int(socket.get_tcp_keepalive_cnt()),
        TCP_KEEPALIVE_IDLE => int(socket.get_tcp_keepalive_idle()),
        TCP_KEEPALIVE_INTVL => int(socket.get_tcp_keepalive_intvl()),
        IMMEDIATE => flag(socket.get_immediate()),
        MECHANISM => Ok(Got::Int(match socket.get_mechanism().map_err(err)? {
            Mechanism::ZMQ_NULL => 0,
            Mechanism::ZMQ_PLAIN => 1,
            Mechanism::ZMQ_CURVE => 2,
            Mechanism::ZMQ_GSSAPI => 3,
        })),
        PLAIN_SERVER => flag(socket.get_plain_server()),
        PLAIN_USERNAME => text(socket.get_plain_username()),
        PLAIN_PASSWORD => text(socket.get_plain_password()),
        CURVE_SERVER => flag(socket.is_curve_server()),
        CURVE_PUBLICKEY => Ok(Got::Key(socket.get_curve_publickey().map_err(err)?)),
        CURVE_SECRETKEY => Ok(Got::Key(socket.get_curve_secretkey().map_err(err)?)),
        CURVE_SERVERKEY => Ok(Got::Key(socket.get_curve_serverkey().map_err(err)?)),
        ZAP_DOMAIN => text(socket.get_zap_domain()),
        CONFLATE => flag(socket.get_conflate()),
        HANDSHAKE_IVL => int(socket.get_handshake_ivl()),
        INVERT_MATCHING => flag(socket.get_invert_matching()),
        HEARTBEAT_IVL => int(socket.get_heartbeat_ivl()),
        HEARTBEAT_TTL => int(socket.get_heartbeat_ttl()),
        HEARTBEAT_TIMEOUT => int(socket.get_heartbeat_timeout()),
        USE_FD => int(socket.get_use_fd()),
        BINDTODEVICE => text(socket.get_bindtodevice()),
        ROUTER_MANDATORY => flag(socket.get_router_mandatory()),
        ROUTER_HANDOVER => flag(socket.get_router_handover()),
        ROUTER_RAW => flag(socket.get_router_raw()),
        PROBE_ROUTER => flag(socket.get_probe_router()),
        REQ_CORRELATE => flag(socket.get_req_correlate()),
        REQ_RELAXED => flag(socket.get_req_relaxed()),
        XPUB_VERBOSE => flag(socket.get_xpub_verbose()),
        XPUB_VERBOSER => flag(socket.get_xpub_verboser()),
        XPUB_NODROP => flag(socket.get_xpub_nodrop()),
        XPUB_MANUAL => flag(socket.get_xpub_manual()),
        STREAM_NOTIFY => flag(socket.get_stream_notify()),
        _ => Err(libc::EINVAL),
    }
}

/// Sets a socket option.
///
/// # Safety
///
/// `s` is null or a socket handle; `optval` is valid for `optvallen` bytes
/// (or null with `optvallen` 0).
#[no_mangle]
pub unsafe extern "C" fn zmq_setsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *const c_void,
    optvallen: usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let socket = unsafe { socket(s) }?;
        let bytes: &[u8] = if optvallen == 0 {
            &[]
        } else if optval.is_null() {
            return Err(libc::EINVAL);
        } else {
            // SAFETY: per this function's contract.
            unsafe { std::slice::from_raw_parts(optval.cast(), optvallen) }
        };
        set(socket, option, Value(bytes, optval.is_null()))?;
        Ok(0)
    })
}

/// Reads a socket option into `optval` (room for `*optvallen` bytes),
/// setting `*optvallen` to the value's size.
///
/// # Safety
///
/// `s` is null or a socket handle; `optvallen` is null or valid, and
/// `optval` valid for `*optvallen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_getsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *mut c_void,
    optvallen: *mut usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: per this function's contract.
        let socket = unsafe { socket(s) }?;
        // SAFETY: per this function's contract (checked for null).
        let room = unsafe { optvallen.as_mut() }.ok_or(libc::EFAULT)?;
        let got = get(socket, option)?;
        let (bytes, exact): (Vec<u8>, bool) = match got {
            Got::Int(v) => (v.to_ne_bytes().to_vec(), true),
            Got::LooseInt(v) => (v.to_ne_bytes().to_vec(), false),
            Got::I64(v) => (v.to_ne_bytes().to_vec(), true),
            Got::U64(v) => (v.to_ne_bytes().to_vec(), true),
            Got::Bytes(b) => (b, false),
            Got::Text(t) => {
                let mut b = t.into_bytes();
                b.push(0);
                (b, false)
            }
            Got::Key(key) if *room == key.len() => (key, true),
            Got::Key(key) if *room == 41 => {
                let mut b = zeroring::z85_encode(&key)
                    .map_err(|_| libc::EINVAL)?
                    .into_bytes();
                b.push(0);
                (b, true)
            }
            Got::Key(_) => return Err(libc::EINVAL),
        };
        if (exact && *room != bytes.len()) || *room < bytes.len() {
            return Err(libc::EINVAL);
        }
        if optval.is_null() && !bytes.is_empty() {
            return Err(libc::EFAULT);
        }
        // SAFETY: `optval` has room for `*room` bytes, at least
        // `bytes.len()` (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), optval.cast::<u8>(), bytes.len());
            if !exact {
                // libzmq zeroes the rest of the buffer.
                std::ptr::write_bytes(optval.cast::<u8>().add(bytes.len()), 0, *room - bytes.len());
            }
        }
        *room = bytes.len();
        Ok(0)
    })
}
