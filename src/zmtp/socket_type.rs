//! Socket-Type property values and the RFC 37 compatibility check.

use super::error::{escape, ZmtpError};
use crate::SocketType;

/// Every socket type zeroring has, for looking names up.
const ALL: [SocketType; 17] = [
    SocketType::Pair,
    SocketType::Pub,
    SocketType::Sub,
    SocketType::Req,
    SocketType::Rep,
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Pull,
    SocketType::Push,
    SocketType::XPub,
    SocketType::XSub,
    // libzmq's draft thread-safe types.
    SocketType::Client,
    SocketType::Server,
    SocketType::Scatter,
    SocketType::Gather,
    SocketType::Radio,
    SocketType::Dish,
];

/// The socket type a Socket-Type property value names, or `None` for a name
/// zeroring has no socket for over ZMTP (PEER, CHANNEL, ... or garbage).
/// Names are matched exactly, in upper case, as libzmq does.
pub fn from_name(name: &[u8]) -> Option<SocketType> {
    ALL.into_iter().find(|t| t.name().as_bytes() == name)
}

/// Checks that a peer announcing Socket-Type `peer` may talk to a `local`
/// socket, and gives the peer's type.
pub fn check_peer(local: SocketType, peer: &[u8]) -> Result<SocketType, ZmtpError> {
    match from_name(peer) {
        Some(t) if local.is_compatible(t) => Ok(t),
        _ => Err(ZmtpError::IncompatibleSocketType {
            local,
            peer: escape(peer),
        }),
    }
}

/// Whether a socket of this type announces an Identity property in its
/// metadata: libzmq sends one for REQ, DEALER and ROUTER only.
pub fn announces_identity(t: SocketType) -> bool {
    matches!(t, SocketType::Req | SocketType::Dealer | SocketType::Router)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SocketType::*;

    #[test]
    fn names_round_trip() {
        for t in ALL {
            assert_eq!(from_name(t.name().as_bytes()), Some(t));
        }
        assert_eq!(from_name(b"dealer"), None);
        assert_eq!(from_name(b"RADIO"), Some(Radio));
        assert_eq!(from_name(b"PEER"), None);
        assert_eq!(from_name(b""), None);
    }

    #[test]
    fn legal_pairs_per_rfc_37() {
        let legal = [
            (Req, Rep),
            (Req, Router),
            (Rep, Dealer),
            (Dealer, Dealer),
            (Dealer, Router),
            (Router, Router),
            (Pub, Sub),
            (Pub, XSub),
            (XPub, Sub),
            (XPub, XSub),
            (Push, Pull),
            (Pair, Pair),
            // libzmq 4.3's draft types (RFC 41, 48, 49).
            (Client, Server),
            (Scatter, Gather),
            (Radio, Dish),
        ];
        for a in ALL {
            for b in ALL {
                let want = legal.contains(&(a, b)) || legal.contains(&(b, a));
                assert_eq!(check_peer(a, b.name().as_bytes()).is_ok(), want, "{a} {b}");
            }
        }
        assert_eq!(
            check_peer(Push, b"SERVER\xff"),
            Err(ZmtpError::IncompatibleSocketType {
                local: Push,
                peer: "SERVER\\xff".into()
            })
        );
    }
}
