//! A SOCKS5 client (RFC 1928) for tcp connecters with `ZMQ_SOCKS_PROXY`,
//! sans-IO: the engine connects to the proxy, sends [`Socks::new`]'s
//! greeting, feeds the proxy's replies to [`Socks::feed`] and starts ZMTP
//! once it says the tunnel is up. As libzmq's `socks_connecter_t`: no
//! authentication, the CONNECT command, and the destination as the
//! endpoint names it (an IPv4 or IPv6 literal, else a domain name the
//! proxy resolves).

use std::net::IpAddr;

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// Where the proxy is asked to connect: the endpoint's host, unresolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SocksDest {
    pub host: String,
    pub port: u16,
}

impl SocksDest {
    /// The destination of a tcp connect address (`host:port`, the host
    /// possibly in brackets), or `None` if it has no usable port or its
    /// host cannot be sent (empty, over 255 octets).
    pub fn parse(address: &str) -> Option<SocksDest> {
        let dest = address.rsplit_once(';').map_or(address, |(_, d)| d);
        let (host, port) = dest.rsplit_once(':')?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = port.parse().ok()?;
        (!host.is_empty() && host.len() <= 255).then(|| SocksDest {
            host: host.to_owned(),
            port,
        })
    }

    /// The CONNECT request.
    fn request(&self) -> Vec<u8> {
        let mut req = vec![VERSION, CONNECT, 0];
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                req.push(ATYP_IPV4);
                req.extend_from_slice(&ip.octets());
            }
            Ok(IpAddr::V6(ip)) => {
                req.push(ATYP_IPV6);
                req.extend_from_slice(&ip.octets());
            }
            Err(_) => {
                req.push(ATYP_DOMAIN);
                // `parse` kept it to 255 octets.
                req.push(self.host.len() as u8);
                req.extend_from_slice(self.host.as_bytes());
            }
        }
        req.extend_from_slice(&self.port.to_be_bytes());
        req
    }
}

/// Where the exchange with the proxy is.
#[derive(Debug)]
enum State {
    /// Our greeting is out; the proxy's method choice is awaited.
    Method,
    /// Our CONNECT is out; the proxy's reply is awaited.
    Reply,
}

/// One connection's exchange with the proxy.
#[derive(Debug)]
pub(crate) struct Socks {
    dest: SocksDest,
    state: State,
}

/// What the proxy's octets so far amount to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// More octets are needed.
    Need,
    /// The tunnel is up after this many octets: ZMTP starts.
    Done(usize),
}

impl Socks {
    /// A new exchange, and the greeting to send the proxy.
    pub fn new(dest: SocksDest) -> (Socks, Vec<u8>) {
        let s = Socks {
            dest,
            state: State::Method,
        };
        (s, vec![VERSION, 1, NO_AUTH])
    }

    /// Takes the proxy's octets (all received so far, from the first):
    /// what to send next goes to `out`. An error ends the connection (the
    /// connecter tries again later).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Step, &'static str> {
        loop {
            match self.state {
                State::Method => {
                    let Some(reply) = input.get(..2) else {
                        return Ok(Step::Need);
                    };
                    if reply[0] != VERSION {
                        return Err("the proxy does not speak SOCKS5");
                    }
                    if reply[1] != NO_AUTH {
                        return Err("the proxy wants an authentication we do not offer");
                    }
                    out.extend_from_slice(&self.dest.request());
                    self.state = State::Reply;
                }
                State::Reply => {
                    let reply = &input[2..];
                    let Some(head) = reply.get(..4) else {
                        return Ok(Step::Need);
                    };
                    if head[0] != VERSION {
                        return Err("the proxy does not speak SOCKS5");
                    }
                    if head[1] != 0 {
                        return Err("the proxy could not connect");
                    }
                    let addr_len = match head[3] {
                        ATYP_IPV4 => 4,
                        ATYP_IPV6 => 16,
                        ATYP_DOMAIN => match reply.get(4) {
                            Some(&n) => 1 + usize::from(n),
                            None => return Ok(Step::Need),
                        },
                        _ => return Err("the proxy's reply has an unknown address type"),
                    };
                    let len = 4 + addr_len + 2;
                    return Ok(if reply.len() >= len {
                        Step::Done(2 + len)
                    } else {
                        Step::Need
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(a: &str) -> SocksDest {
        SocksDest::parse(a).unwrap()
    }

    #[test]
    fn requests_name_the_destination_as_written() {
        assert_eq!(
            dest("127.0.0.1:5555").request(),
            [5, 1, 0, 1, 127, 0, 0, 1, 0x15, 0xb3]
        );
        let mut v6 = vec![5, 1, 0, 4];
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(&[1, 0, 80]);
        assert_eq!(dest("[::1]:80").request(), v6);
        assert_eq!(dest("::1:80").request(), v6);
        assert_eq!(
            dest("1.2.3.4:1;example.org:80").request(),
            [[5, 1, 0, 3, 11].as_slice(), b"example.org", &[0, 80]].concat()
        );
        assert_eq!(SocksDest::parse(":80"), None);
        assert_eq!(SocksDest::parse("host:port"), None);
    }

    #[test]
    fn a_whole_exchange_in_pieces() {
        let (mut s, greeting) = Socks::new(dest("example.org:80"));
        assert_eq!(greeting, [5, 1, 0]);
        let mut out = Vec::new();
        assert_eq!(s.feed(&[5], &mut out), Ok(Step::Need));
        let mut input = vec![5, 0];
        assert_eq!(s.feed(&input, &mut out), Ok(Step::Need));
        assert_eq!(out, dest("example.org:80").request());
        // A reply naming a domain: 4 + 1 + 9 + 2 octets.
        input.extend_from_slice(&[5, 0, 0, 3, 9]);
        assert_eq!(s.feed(&input, &mut out), Ok(Step::Need));
        input.extend_from_slice(b"localhost");
        input.extend_from_slice(&[0x1f, 0x90]);
        input.extend_from_slice(b"ZMTP");
        assert_eq!(s.feed(&input, &mut out), Ok(Step::Done(2 + 16)));
    }

    #[test]
    fn refusals_are_errors() {
        let (mut s, _) = Socks::new(dest("127.0.0.1:1"));
        let mut out = Vec::new();
        assert!(s.feed(&[5, 0xff], &mut out).is_err());
        let (mut s, _) = Socks::new(dest("127.0.0.1:1"));
        assert!(s.feed(&[4, 0], &mut out).is_err());
        let (mut s, _) = Socks::new(dest("127.0.0.1:1"));
        assert!(s
            .feed(&[5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0], &mut out)
            .is_err());
    }
}
