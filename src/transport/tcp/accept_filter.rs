//! libzmq's `ZMQ_TCP_ACCEPT_FILTER` (deprecated in 4.3, still there): the
//! networks a tcp listener admits peers from, `address[/bits]` each.

use crate::error::{Error, Result};
use std::net::IpAddr;

/// One network a listener admits peers from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcceptFilter {
    net: IpAddr,
    bits: u8,
}

impl AcceptFilter {
    /// Parses `address[/bits]` as libzmq's `tcp_address_mask_t::resolve`
    /// does: a numeric address (IPv6 only with `ipv6`), no bits meaning
    /// the whole address, an empty or out-of-range mask refused.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for anything else.
    pub fn parse(filter: &str, ipv6: bool) -> Result<AcceptFilter> {
        let bad = || Error::InvalidArgument("tcp accept filter: address[/bits] wanted");
        let (addr, bits) = match filter.rsplit_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (filter, None),
        };
        let addr = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr);
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let full = if net.is_ipv6() { 128 } else { 32 };
        if net.is_ipv6() && !ipv6 {
            return Err(bad());
        }
        let bits = match bits {
            None => full,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|&b| b <= full)
                .ok_or_else(bad)?,
        };
        Ok(AcceptFilter { net, bits })
    }

    /// Whether a peer at `peer` is in this network (an IPv4 peer seen
    /// through an IPv6 listener counts as IPv4).
    pub fn admits(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        let bytes = |a: IpAddr| match a {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        if peer.is_ipv4() != self.net.is_ipv4() {
            return false;
        }
        let (ours, theirs) = (bytes(self.net), bytes(peer));
        let whole = usize::from(self.bits / 8);
        let rest = self.bits % 8;
        ours[..whole] == theirs[..whole]
            && (rest == 0 || {
                let mask = 0xffu8 << (8 - rest);
                ours[whole] & mask == theirs[whole] & mask
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_libzmq() {
        for bad in [
            "foo",
            "0.0.0.0foo",
            "0.0.0.0/foo",
            "0.0.0.0/",
            "0.0.0.0/-1",
            "0.0.0.0/33",
            "::1",
        ] {
            assert!(AcceptFilter::parse(bad, false).is_err(), "{bad}");
        }
        assert!(AcceptFilter::parse("::1/129", true).is_err());
        assert_eq!(AcceptFilter::parse("127.0.0.1", false).unwrap().bits, 32);
        assert_eq!(AcceptFilter::parse("::1", true).unwrap().bits, 128);
    }

    #[test]
    fn admits_the_network_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let f = |s: &str| AcceptFilter::parse(s, true).unwrap();
        assert!(f("127.0.0.1/32").admits(ip("127.0.0.1")));
        assert!(!f("127.0.0.255/32").admits(ip("127.0.0.1")));
        assert!(f("0.0.0.0/0").admits(ip("10.1.2.3")));
        assert!(f("10.0.0.0/8").admits(ip("10.200.0.1")));
        assert!(f("10.128.0.0/9").admits(ip("10.200.0.1")));
        assert!(!f("10.0.0.0/9").admits(ip("10.200.0.1")));
        assert!(f("127.0.0.1").admits(ip("::ffff:127.0.0.1")));
        assert!(!f("0.0.0.0/0").admits(ip("::1")));
        assert!(f("fe80::/10").admits(ip("fe80::1")));
    }
}
