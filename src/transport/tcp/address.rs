//! The address part of `tcp://` endpoints, as libzmq reads it:
//!
//! - bind: `host:port`, where host is `*` (every interface), an IP literal
//!   (`[...]` for IPv6) or a name, and port is a number or `*`/`0`
//!   (ephemeral). Resolved at once, on the caller's thread.
//! - connect: `[source;]host:port`, where source is `ip:port` or `*:port`
//!   (port `*`/`0`: any). A host name is resolved at each connection
//!   attempt, on a helper thread ([`resolve_in_background`]), never on the
//!   caller's or the I/O thread.
//!
//! Without the IPV6 option only IPv4 is used (an IPv6 literal is refused and
//! names resolve to IPv4 addresses), as in libzmq; with it, `*` binds the
//! dual-stack IPv6 wildcard and names may resolve to either family.

use crate::error::{Error, Result};
use crate::pipe::Doorbell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::{mpsc, Arc};

/// Where a connecter connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// An IP literal: no resolution needed.
    Ip(IpAddr),
    /// A host name, resolved at each attempt.
    Name(String),
}

/// A connect endpoint's address, parsed but not resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectAddress {
    /// The local address to connect from: an IP (`None` for `*`) and a port
    /// (0 for any).
    pub source: Option<(Option<IpAddr>, u16)>,
    pub host: Host,
    pub port: u16,
    /// IPV6 was on: names may resolve to IPv6 addresses.
    pub ipv6: bool,
}

impl ConnectAddress {
    /// The address to bind before connecting to `dest`, if any: `*` is the
    /// wildcard of `dest`'s family.
    pub fn source_for(&self, dest: SocketAddr) -> Option<SocketAddr> {
        let (ip, port) = self.source?;
        let ip = ip.unwrap_or(match dest {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        Some(SocketAddr::new(ip, port))
    }
}

/// What a host field holds.
enum Parsed {
    Any,
    Ip(IpAddr),
    Name(String),
}

fn invalid(endpoint: &str, reason: &'static str) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    }
}

/// Splits `host:port`; the port is a number, or `*` for 0.
fn host_port<'a>(endpoint: &str, address: &'a str) -> Result<(&'a str, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| invalid(endpoint, "expected host:port"))?;
    let port = match port {
        "*" => 0,
        p => p
            .parse()
            .map_err(|_| invalid(endpoint, "the port is not a number"))?,
    };
    Ok((host, port))
}

fn parse_host(endpoint: &str, host: &str, ipv6: bool) -> Result<Parsed> {
    let parsed = if host == "*" {
        Parsed::Any
    } else if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| invalid(endpoint, "unclosed `[` in the host"))?;
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| invalid(endpoint, "not an IPv6 address inside `[]`"))?;
        Parsed::Ip(IpAddr::V6(ip))
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        Parsed::Ip(ip)
    } else if is_host_name(host) {
        Parsed::Name(host.to_owned())
    } else {
        return Err(invalid(endpoint, "the host is not an address or a name"));
    };
    if !ipv6 && matches!(parsed, Parsed::Ip(IpAddr::V6(_))) {
        return Err(invalid(endpoint, "an IPv6 address needs set_ipv6(true)"));
    }
    Ok(parsed)
}

/// RFC 1123 host name characters; the resolver has the last word.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// The address a bind of `address` listens on, resolved now.
pub(crate) fn bind_address(endpoint: &str, address: &str, ipv6: bool) -> Result<SocketAddr> {
    if address.contains(';') {
        return Err(invalid(endpoint, "a source address is for connect only"));
    }
    let (host, port) = host_port(endpoint, address)?;
    match parse_host(endpoint, host, ipv6)? {
        // With IPV6 the IPv6 wildcard, which also takes IPv4 (dual stack).
        Parsed::Any if ipv6 => Ok(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port)),
        Parsed::Any => Ok(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port)),
        Parsed::Ip(ip) => Ok(SocketAddr::new(ip, port)),
        Parsed::Name(name) => {
            resolve(&name, port, ipv6).map_err(|_| invalid(endpoint, "the host cannot be resolved"))
        }
    }
}

/// Parses a connect endpoint's address; names are left for the connecter.
pub(crate) fn connect_address(endpoint: &str, address: &str, ipv6: bool) -> Result<ConnectAddress> {
    let (source, dest) = match address.rsplit_once(';') {
        Some((src, dest)) => (Some(src), dest),
        None => (None, address),
    };
    let source = match source {
        None => None,
        Some(src) => {
            let (host, port) = host_port(endpoint, src)?;
            match parse_host(endpoint, host, ipv6)? {
                Parsed::Any => Some((None, port)),
                Parsed::Ip(ip) => Some((Some(ip), port)),
                // libzmq takes interface names here; zeroring does not.
                Parsed::Name(_) => {
                    return Err(invalid(endpoint, "the source must be an IP address or `*`"))
                }
            }
        }
    };
    let (host, port) = host_port(endpoint, dest)?;
    if port == 0 {
        return Err(invalid(endpoint, "connect needs a port"));
    }
    let host = match parse_host(endpoint, host, ipv6)? {
        Parsed::Any => return Err(invalid(endpoint, "connect needs a host, not `*`")),
        Parsed::Ip(ip) => Host::Ip(ip),
        Parsed::Name(name) => Host::Name(name),
    };
    Ok(ConnectAddress {
        source,
        host,
        port,
        ipv6,
    })
}

/// Resolves a host name (blocking): the first address, IPv4 only unless
/// `ipv6`.
pub(crate) fn resolve(name: &str, port: u16, ipv6: bool) -> io::Result<SocketAddr> {
    (name, port)
        .to_socket_addrs()?
        .find(|a| ipv6 || a.is_ipv4())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no usable address"))
}

/// Resolves a host name on a helper thread and rings `bell` when the answer
/// is in. A slow DNS server then delays this one connection only: libzmq
/// resolves on its I/O thread, where one slow lookup stalls every
/// connection.
pub(crate) fn resolve_in_background(
    name: String,
    port: u16,
    ipv6: bool,
    bell: Arc<Doorbell>,
) -> io::Result<mpsc::Receiver<io::Result<SocketAddr>>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("zeroring-resolve".into())
        .spawn(move || {
            // The engine may be gone by now; then nobody wants the answer.
            let _ = tx.send(resolve(&name, port, ipv6));
            bell.ring();
        })?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(a: &str, ipv6: bool) -> Result<SocketAddr> {
        bind_address("tcp://x", a, ipv6)
    }

    fn connect(a: &str, ipv6: bool) -> Result<ConnectAddress> {
        connect_address("tcp://x", a, ipv6)
    }

    #[test]
    fn bind_wildcard_depends_on_ipv6() {
        assert_eq!(
            bind("*:5555", false).unwrap(),
            "0.0.0.0:5555".parse().unwrap()
        );
        assert_eq!(bind("*:*", true).unwrap(), "[::]:0".parse().unwrap());
        assert_eq!(
            bind("127.0.0.1:0", false).unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(bind("[::1]:7", true).unwrap(), "[::1]:7".parse().unwrap());
        assert!(bind("[::1]:7", false).is_err(), "IPv6 needs the option");
        assert!(bind("1.2.3.4:1;127.0.0.1:5", false).is_err());
        assert_eq!(
            bind("localhost:9", false).unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
    }

    #[test]
    fn connect_parses_source_host_and_port() {
        let a = connect("127.0.0.1:0;localhost:5555", false).unwrap();
        assert_eq!(a.source, Some((Some("127.0.0.1".parse().unwrap()), 0)));
        assert_eq!(a.host, Host::Name("localhost".into()));
        assert_eq!(a.port, 5555);
        let dest: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        assert_eq!(a.source_for(dest), Some("127.0.0.1:0".parse().unwrap()));

        let any = connect("*:4000;[::1]:5", true).unwrap();
        assert_eq!(any.host, Host::Ip("::1".parse().unwrap()));
        let dest6: SocketAddr = "[::1]:5".parse().unwrap();
        assert_eq!(any.source_for(dest6), Some("[::]:4000".parse().unwrap()));
        assert_eq!(connect("10.0.0.1:1", false).unwrap().source_for(dest), None);
    }

    #[test]
    fn connect_refuses_what_cannot_work() {
        for bad in [
            "*:5555",
            "127.0.0.1:0",
            "127.0.0.1:*",
            "127.0.0.1",
            "127.0.0.1:port",
            "[::1:5",
            "[1.2.3.4]:5",
            "bad host:5",
            "eth0name;127.0.0.1:5",
            "",
            ":5",
            "\u{e9}:5",
            "127.0.0.1:70000",
        ] {
            assert!(connect(bad, true).is_err(), "{bad}");
        }
        assert!(connect("[::1]:5", false).is_err());
        assert!(connect("[::1]:1;127.0.0.1:5", false).is_err());
    }

    #[test]
    fn resolve_keeps_the_family_asked_for() {
        assert_eq!(
            resolve("127.0.0.1", 80, false).unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        assert!(resolve("::1", 80, false).is_err());
        assert_eq!(
            resolve("::1", 80, true).unwrap(),
            "[::1]:80".parse().unwrap()
        );
    }
}
