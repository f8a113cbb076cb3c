//! The address part of `tcp://` endpoints, as libzmq reads it:
//!
//! - bind: `host:port`, where host is `*` (every interface), an IP literal
//!   (`[...]` for IPv6) or a name, and port is a number or `*`/`0`
//!   (ephemeral). Resolved at once, on the caller's thread.
//! - connect: `[source;]host:port`. `connect` itself only checks the
//!   address's form, as libzmq's `socket_base_t::connect` does (its
//!   characters, and a port that starts with a digit: anything else is
//!   EINVAL). What passes is parsed, but an address that cannot work (an
//!   IPv6 literal without IPV6, a port out of range, a source that names
//!   no interface) fails only when the connecter tries it, and it tries
//!   again after RECONNECT_IVL, as libzmq's `tcp_connecter_t` does. A host
//!   name is resolved at each attempt, on a helper thread
//!   ([`resolve_in_background`]), never on the caller's or the I/O thread.
//!   The source is `*`, an interface name (`lo`) or an IP literal, with a
//!   port (`*` or `0`: any), resolved at each attempt without DNS (libzmq's
//!   `tcp_address_t::resolve`).
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
    /// An address no attempt can use (why): each fails, as in libzmq.
    Unusable(&'static str),
}

/// A connect endpoint's address, parsed but not resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectAddress {
    /// The local address to connect from, as written (`host:port`),
    /// resolved at each attempt ([`source_for`](Self::source_for)).
    pub source: Option<String>,
    pub host: Host,
    pub port: u16,
    /// IPV6 was on: names may resolve to IPv6 addresses.
    pub ipv6: bool,
    /// This is a SOCKS proxy's address: once connected, ask it for this.
    pub socks: Option<super::socks::SocksDest>,
}

impl ConnectAddress {
    /// The address to bind before connecting to `dest`, if any, resolved
    /// as libzmq resolves a source: an interface's first address of the
    /// family IPV6 asks for, else an IP literal; never a DNS name. (A `*`
    /// source cannot pass `connect`'s check, in libzmq as here.)
    pub fn source_for(&self, dest: SocketAddr) -> io::Result<Option<SocketAddr>> {
        let Some(source) = &self.source else {
            return Ok(None);
        };
        let unusable = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_owned());
        let (host, port) = source
            .rsplit_once(':')
            .ok_or_else(|| unusable("the source has no port"))?;
        let port = match port {
            "*" => 0,
            p => p
                .parse()
                .map_err(|_| unusable("the source's port is not a number"))?,
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip = match interface_address(host, self.ipv6)? {
            Some(ip) => ip,
            None => match host.parse::<IpAddr>() {
                Ok(ip) if self.ipv6 || ip.is_ipv4() => ip,
                _ => return Err(unusable("the source is no interface or IP address")),
            },
        };
        // An IPv4 source for an IPv6 destination (IPV6 on): as the
        // IPv4-mapped address libzmq's resolver gives.
        let ip = match (ip, dest) {
            (IpAddr::V4(v4), SocketAddr::V6(_)) => IpAddr::V6(v4.to_ipv6_mapped()),
            _ => ip,
        };
        Ok(Some(SocketAddr::new(ip, port)))
    }
}

/// The first address of interface `name` of the family libzmq would use
/// (IPv6 with IPV6, IPv4 without), if there is such an interface.
fn interface_address(name: &str, ipv6: bool) -> io::Result<Option<IpAddr>> {
    let found = nix::ifaddrs::getifaddrs()?
        .filter(|i| i.interface_name == name)
        .filter_map(|i| i.address)
        .find_map(|a| match (ipv6, a.as_sockaddr_in(), a.as_sockaddr_in6()) {
            (false, Some(v4), _) => Some(IpAddr::V4(v4.ip())),
            (true, _, Some(v6)) => Some(IpAddr::V6(v6.ip())),
            _ => None,
        });
    Ok(found)
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

/// libzmq's quick check of a tcp connect address (`socket_base_t::connect`):
/// it starts with a letter, digit, `[` or `:`, holds only letters, digits
/// and `.-:%;[]_*`, and its last `:` is followed by a digit.
fn plausible(address: &str) -> bool {
    let b = address.as_bytes();
    let first_ok = b
        .first()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'[' | b':'));
    let rest_ok = b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || b".-:%;[]_*".contains(c));
    let port_ok = address
        .rfind(':')
        .is_some_and(|i| b.get(i + 1).is_some_and(u8::is_ascii_digit));
    first_ok && rest_ok && port_ok
}

/// Parses a connect endpoint's address. Only a malformed one is an error
/// (as in libzmq); names are left for the connecter, and so is finding out
/// that an address cannot work (see the module's documentation).
pub(crate) fn connect_address(endpoint: &str, address: &str, ipv6: bool) -> Result<ConnectAddress> {
    if !plausible(address) {
        return Err(invalid(endpoint, "not a tcp address (host:port)"));
    }
    let (source, dest) = match address.rsplit_once(';') {
        Some((src, dest)) => (Some(src.to_owned()), dest),
        None => (None, address),
    };
    // `plausible` saw a `:` followed by a digit.
    let (host, port) = dest.rsplit_once(':').unwrap_or((dest, ""));
    let (host, port) = match port.parse::<u16>() {
        Ok(port) => (connect_host(host, ipv6), port),
        Err(_) => (
            Host::Unusable("the port is not a number from 0 to 65535"),
            0,
        ),
    };
    Ok(ConnectAddress {
        source,
        host,
        port,
        ipv6,
        socks: None,
    })
}

/// What a connecter does with a host: connect to an IP literal, resolve a
/// name, or fail at each attempt.
fn connect_host(host: &str, ipv6: bool) -> Host {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match literal.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) if !ipv6 => Host::Unusable("an IPv6 address needs IPV6"),
        Ok(ip) => Host::Ip(ip),
        Err(_) if literal.is_empty() || literal == "*" => Host::Unusable("connect needs a host"),
        // The resolver has the last word (a link-local address with its
        // zone, `fe80::1%eth0`, is one for it too).
        Err(_) => Host::Name(literal.to_owned()),
    }
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
        assert_eq!(a.source.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(a.host, Host::Name("localhost".into()));
        assert_eq!(a.port, 5555);
        let dest: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        assert_eq!(
            a.source_for(dest).unwrap(),
            Some("127.0.0.1:0".parse().unwrap())
        );

        let v6 = connect("[::1]:4000;[::1]:5", true).unwrap();
        assert_eq!(v6.host, Host::Ip("::1".parse().unwrap()));
        let dest6: SocketAddr = "[::1]:5".parse().unwrap();
        assert_eq!(
            v6.source_for(dest6).unwrap(),
            Some("[::1]:4000".parse().unwrap())
        );
        let none = connect("10.0.0.1:1", false).unwrap();
        assert_eq!(none.source_for(dest).unwrap(), None);
    }

    #[test]
    fn a_source_is_an_interface_or_a_literal_never_a_dns_name() {
        let dest: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let lo = connect("lo:*;127.0.0.1:5555", false).unwrap();
        assert_eq!(
            lo.source_for(dest).unwrap(),
            Some("127.0.0.1:0".parse().unwrap())
        );
        // libzmq resolves a source without DNS: `localhost` is no
        // interface, so every attempt fails (connect itself does not).
        let name = connect("localhost:5555;127.0.0.1:1235", false).unwrap();
        assert!(name.source_for(dest).is_err());
        let v6 = connect("[::1]:1;127.0.0.1:5", false).unwrap();
        assert!(v6.source_for(dest).is_err(), "IPv6 needs the option");
        let no_port = connect("127.0.0.1;127.0.0.1:5", false).unwrap();
        assert!(no_port.source_for(dest).is_err());
    }

    #[test]
    fn connect_refuses_only_what_libzmq_refuses_at_once() {
        for bad in [
            "*:5555",
            "*:4000;127.0.0.1:5",
            "127.0.0.1:*",
            "127.0.0.1",
            "127.0.0.1:port",
            "localhost:invalid",
            "bad host:5",
            "in val id:1234",
            "",
            "\u{e9}:5",
            "a/b:5",
        ] {
            assert!(connect(bad, true).is_err(), "{bad}");
        }
        // The rest is for the connecter to find out, at each attempt.
        for (later, ipv6) in [
            ("[::1]:5", false),
            ("[::1:5", true),
            (":5", true),
            ("127.0.0.1:70000", true),
        ] {
            let a = connect(later, ipv6).unwrap();
            assert!(
                matches!(a.host, Host::Unusable(_) | Host::Name(_)),
                "{later}: {a:?}"
            );
        }
        assert_eq!(
            connect("[::1]:5", true).unwrap().host,
            Host::Ip("::1".parse().unwrap())
        );
        // libzmq's resolver takes the brackets off whatever they hold.
        assert_eq!(
            connect("[1.2.3.4]:5", false).unwrap().host,
            Host::Ip("1.2.3.4".parse().unwrap())
        );
        assert_eq!(connect("127.0.0.1:0", false).unwrap().port, 0);
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
