//! Endpoints and the transports behind them. Patterns never see these: a
//! transport's only product is pipes.

pub(crate) mod inproc;
#[cfg(not(loom))]
pub(crate) mod ipc;
#[cfg(not(loom))]
pub(crate) mod stream;
#[cfg(not(loom))]
pub(crate) mod tcp;
#[cfg(not(loom))]
pub(crate) mod use_fd;

use crate::error::{Error, Result};

/// Hands heap memory freed by ended connections back to the system. The
/// allocator keeps what it has freed for reuse, and a burst of connections
/// leaves it fragmented: without this a server keeps its peak resident
/// after its peers have gone. glibc only (others have no such call).
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn give_back_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `inproc://name`
    Inproc(String),
    /// `tcp://host:port`
    Tcp(String),
    /// `ipc:///abs/path`, `ipc://relative/path` or `ipc://@abstract-name`
    Ipc(String),
}

/// Splits `transport://address` and checks what this build can carry.
pub(crate) fn parse(endpoint: &str) -> Result<Endpoint> {
    let invalid = |reason| Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let (transport, address) = endpoint
        .split_once("://")
        .ok_or_else(|| invalid("expected `transport://address`"))?;
    if address.is_empty() {
        return Err(invalid("the address is empty"));
    }
    match transport {
        "inproc" => Ok(Endpoint::Inproc(address.to_owned())),
        "tcp" => Ok(Endpoint::Tcp(address.to_owned())),
        "ipc" => Ok(Endpoint::Ipc(address.to_owned())),
        "pgm" | "epgm" | "vmci" | "udp" | "tipc" | "ws" | "wss" => {
            Err(Error::TransportNotSupported(endpoint.to_owned()))
        }
        _ => Err(invalid("unknown transport")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            parse("inproc://a/b").unwrap(),
            Endpoint::Inproc("a/b".into())
        );
        assert!(matches!(
            parse("inproc://"),
            Err(Error::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            parse("nonsense"),
            Err(Error::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            parse("carrier://x"),
            Err(Error::InvalidEndpoint { .. })
        ));
        assert_eq!(
            parse("tcp://127.0.0.1:5555").unwrap(),
            Endpoint::Tcp("127.0.0.1:5555".into())
        );
        assert_eq!(
            parse("ipc:///tmp/x").unwrap(),
            Endpoint::Ipc("/tmp/x".into())
        );
        assert!(matches!(
            parse("pgm://eth0;239.192.1.1:5555"),
            Err(Error::TransportNotSupported(_))
        ));
    }
}
