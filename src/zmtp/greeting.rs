//! The 64-octet ZMTP 3.x greeting: encoding and incremental decoding.
//!
//! ```text
//! offset  0     1-8      9     10     11     12-31      32         33-63
//!       0xFF  padding  0x7F  major  minor  mechanism  as-server  filler
//! ```
//!
//! The decoder is fed whatever has arrived, so it works with a peer that
//! sends its greeting in one piece and with one that sends the first 11
//! octets (signature and major version), waits for ours, and then sends the
//! rest (RFC 37, "Version Negotiation"). It rejects a bad signature or a major
//! version below 3 as soon as those octets arrive, without waiting for the
//! rest.

use super::error::{escape, ZmtpError};

/// Size of a whole greeting.
pub const GREETING_LEN: usize = 64;
/// Size of the signature, the first part of a greeting a peer sends.
pub const SIGNATURE_LEN: usize = 10;
/// Size of the partial greeting a peer may send first: the signature and the
/// major version.
pub const PARTIAL_GREETING_LEN: usize = 11;
/// The ZMTP major version zeroring speaks.
pub const MAJOR_VERSION: u8 = 3;
/// The highest ZMTP 3 minor version zeroring speaks (3.1).
pub const MINOR_VERSION: u8 = 1;

const MECHANISM_AT: usize = 12;
const MECHANISM_LEN: usize = 20;
const AS_SERVER_AT: usize = 32;

/// A security mechanism name as the greeting carries it: up to 20 octets of
/// `A-Z 0-9 - _ . +`, null-padded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanismName([u8; MECHANISM_LEN]);

impl MechanismName {
    /// The NULL mechanism (no security).
    pub const NULL: MechanismName = MechanismName::pad(b"NULL");
    /// The PLAIN mechanism (RFC 24, clear-text username and password).
    pub const PLAIN: MechanismName = MechanismName::pad(b"PLAIN");
    /// The CURVE mechanism (RFC 26); zeroring does not speak it yet, but it
    /// can name it in a mismatch.
    pub const CURVE: MechanismName = MechanismName::pad(b"CURVE");

    const fn pad(name: &[u8]) -> MechanismName {
        let mut out = [0u8; MECHANISM_LEN];
        let mut i = 0;
        while i < name.len() {
            out[i] = name[i];
            i += 1;
        }
        MechanismName(out)
    }

    /// A mechanism name from text, or `None` when it is empty, longer than
    /// 20 octets, or has a character outside `A-Z 0-9 - _ . +`.
    pub fn new(name: &str) -> Option<MechanismName> {
        let ok = !name.is_empty()
            && name.len() <= MECHANISM_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.+".contains(&b));
        ok.then(|| MechanismName::pad(name.as_bytes()))
    }

    /// The 20 octets as they go on the wire.
    pub fn as_bytes(&self) -> &[u8; MECHANISM_LEN] {
        &self.0
    }

    /// The name without its null padding, non-printable octets escaped.
    pub fn name(&self) -> String {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(MECHANISM_LEN);
        escape(&self.0[..end])
    }
}

impl std::fmt::Debug for MechanismName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MechanismName({})", self.name())
    }
}

impl std::fmt::Display for MechanismName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The fields of a greeting that carry meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3 for ZMTP 3.x).
    pub major: u8,
    /// Minor version (0 for ZMTP 3.0, 1 for 3.1).
    pub minor: u8,
    /// The security mechanism the sender uses.
    pub mechanism: MechanismName,
    /// Whether the sender takes the server role of the mechanism.
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting: ZMTP 3.1 with `mechanism` and `as_server`.
    pub fn new(mechanism: MechanismName, as_server: bool) -> Greeting {
        Greeting {
            major: MAJOR_VERSION,
            minor: MINOR_VERSION,
            mechanism,
            as_server,
        }
    }

    /// The 64 octets on the wire. Padding and filler are zero.
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xFF;
        out[9] = 0x7F;
        out[10] = self.major;
        out[11] = self.minor;
        out[MECHANISM_AT..MECHANISM_AT + MECHANISM_LEN].copy_from_slice(&self.mechanism.0);
        out[AS_SERVER_AT] = u8::from(self.as_server);
        out
    }

    /// The ZMTP 3 minor version both sides speak when we (3.1) talk to the
    /// sender of this greeting: its minor version if it is 3.0, otherwise
    /// 3.1 (a peer must accept a higher version, and one above 3.1 speaks
    /// down to us).
    pub fn negotiated_minor(&self) -> u8 {
        if self.major == MAJOR_VERSION {
            self.minor.min(MINOR_VERSION)
        } else {
            MINOR_VERSION
        }
    }
}

/// Decodes a peer's greeting from chunks of any size.
#[derive(Debug, Clone)]
pub struct GreetingDecoder {
    buf: [u8; GREETING_LEN],
    len: usize,
}

impl Default for GreetingDecoder {
    fn default() -> Self {
        GreetingDecoder::new()
    }
}

impl GreetingDecoder {
    /// A decoder that has seen nothing yet.
    pub fn new() -> GreetingDecoder {
        GreetingDecoder {
            buf: [0; GREETING_LEN],
            len: 0,
        }
    }

    /// How many greeting octets have arrived so far.
    pub fn received(&self) -> usize {
        self.len
    }

    /// Whether the signature and major version (the first 11 octets) have
    /// arrived and are valid: the point where a peer doing the partial
    /// exchange waits for our greeting.
    pub fn has_partial(&self) -> bool {
        self.len >= PARTIAL_GREETING_LEN
    }

    /// Takes greeting octets from the front of `input`, never more than the
    /// greeting needs, and returns how many it took and, once all 64 have
    /// arrived, the greeting. Errors as soon as the octets that arrived show
    /// the greeting is bad; after an error the decoder must not be used again.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<Greeting>), ZmtpError> {
        let take = input.len().min(GREETING_LEN - self.len);
        let before = self.len;
        self.buf[before..before + take].copy_from_slice(&input[..take]);
        self.len += take;
        self.check_prefix(before)?;
        if self.len < GREETING_LEN {
            return Ok((take, None));
        }
        let as_server = match self.buf[AS_SERVER_AT] {
            0 => false,
            1 => true,
            _ => {
                return Err(ZmtpError::BadGreeting(
                    "the as-server octet is neither 0 nor 1",
                ))
            }
        };
        let mut mechanism = [0u8; MECHANISM_LEN];
        mechanism.copy_from_slice(&self.buf[MECHANISM_AT..MECHANISM_AT + MECHANISM_LEN]);
        Ok((
            take,
            Some(Greeting {
                major: self.buf[10],
                minor: self.buf[11],
                mechanism: MechanismName(mechanism),
                as_server,
            }),
        ))
    }

    /// Validates the signature and major octets that arrived since `before`.
    fn check_prefix(&self, before: usize) -> Result<(), ZmtpError> {
        let arrived = before..self.len;
        if arrived.contains(&0) && self.buf[0] != 0xFF {
            return Err(ZmtpError::BadGreeting(
                "the first octet is not 0xFF (not a ZMTP 2.0+ peer)",
            ));
        }
        if arrived.contains(&9) && self.buf[9] != 0x7F {
            return Err(ZmtpError::BadGreeting("the tenth octet is not 0x7F"));
        }
        if arrived.contains(&10) && self.buf[10] < MAJOR_VERSION {
            return Err(ZmtpError::UnsupportedVersion {
                major: self.buf[10],
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn libzmq_like(minor: u8, mechanism: &[u8], as_server: u8) -> [u8; 64] {
        let mut g = [0u8; 64];
        g[0] = 0xFF;
        g[8] = 1; // libzmq puts its identity length + 1 in the padding
        g[9] = 0x7F;
        g[10] = 3;
        g[11] = minor;
        g[12..12 + mechanism.len()].copy_from_slice(mechanism);
        g[32] = as_server;
        g
    }

    #[test]
    fn encodes_the_documented_layout() {
        let g = Greeting::new(MechanismName::NULL, false).encode();
        let mut want = [0u8; 64];
        want[0] = 0xFF;
        want[9] = 0x7F;
        want[10] = 3;
        want[11] = 1;
        want[12..16].copy_from_slice(b"NULL");
        assert_eq!(g, want);
        let p = Greeting::new(MechanismName::PLAIN, true).encode();
        assert_eq!(&p[12..18], b"PLAIN\0");
        assert_eq!(p[32], 1);
        assert!(p[33..].iter().all(|&b| b == 0));
    }

    #[test]
    fn round_trip_in_one_piece_and_byte_by_byte() {
        let g = Greeting::new(MechanismName::PLAIN, true);
        let bytes = g.encode();
        let mut d = GreetingDecoder::new();
        assert_eq!(d.decode(&bytes).unwrap(), (64, Some(g)));

        let mut d = GreetingDecoder::new();
        for (i, b) in bytes.iter().enumerate() {
            let (n, got) = d.decode(std::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            assert_eq!(got.is_some(), i == 63);
            assert_eq!(d.has_partial(), i >= 10);
        }
    }

    #[test]
    fn partial_exchange_and_no_overconsumption() {
        let bytes = libzmq_like(1, b"NULL", 0);
        let mut d = GreetingDecoder::new();
        // The peer sends 11 octets and waits for ours.
        assert_eq!(d.decode(&bytes[..11]).unwrap(), (11, None));
        assert!(d.has_partial());
        // Then the rest, followed by its first frame: only the greeting is taken.
        let mut rest = bytes[11..].to_vec();
        rest.extend_from_slice(&[0x04, 0x00]);
        let (n, g) = d.decode(&rest).unwrap();
        assert_eq!(n, 53);
        let g = g.unwrap();
        assert_eq!((g.major, g.minor, g.as_server), (3, 1, false));
        assert_eq!(g.mechanism, MechanismName::NULL);
        // Padding is not significant.
        assert_eq!(g.negotiated_minor(), 1);
    }

    #[test]
    fn negotiates_minor_versions() {
        let mut d = GreetingDecoder::new();
        let g = d.decode(&libzmq_like(0, b"NULL", 0)).unwrap().1.unwrap();
        assert_eq!(g.minor, 0);
        assert_eq!(g.negotiated_minor(), 0);
        let mut d = GreetingDecoder::new();
        let g = d.decode(&libzmq_like(7, b"NULL", 0)).unwrap().1.unwrap();
        assert_eq!(g.negotiated_minor(), 1);
        let mut future = libzmq_like(0, b"NULL", 0);
        future[10] = 4;
        let mut d = GreetingDecoder::new();
        let g = d.decode(&future).unwrap().1.unwrap();
        assert_eq!(g.major, 4);
        assert_eq!(g.negotiated_minor(), 1);
    }

    #[test]
    fn rejects_bad_signature_early() {
        let mut d = GreetingDecoder::new();
        assert!(matches!(d.decode(&[0x01]), Err(ZmtpError::BadGreeting(_))));
        let mut d = GreetingDecoder::new();
        let mut bad = libzmq_like(1, b"NULL", 0);
        bad[9] = 0x7E;
        assert!(d.decode(&bad[..9]).is_ok());
        assert!(matches!(
            d.decode(&bad[9..10]),
            Err(ZmtpError::BadGreeting(_))
        ));
    }

    #[test]
    fn rejects_old_major_versions_at_eleven_octets() {
        for major in [0u8, 1, 2] {
            let mut g = libzmq_like(0, b"NULL", 0);
            g[10] = major;
            let mut d = GreetingDecoder::new();
            assert_eq!(
                d.decode(&g[..11]),
                Err(ZmtpError::UnsupportedVersion { major })
            );
        }
    }

    #[test]
    fn rejects_bad_as_server_octet() {
        let mut d = GreetingDecoder::new();
        assert!(matches!(
            d.decode(&libzmq_like(1, b"NULL", 2)),
            Err(ZmtpError::BadGreeting(_))
        ));
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(MechanismName::new("PLAIN"), Some(MechanismName::PLAIN));
        assert_eq!(
            MechanismName::new("X-MINE_1.0+"),
            MechanismName::new("X-MINE_1.0+")
        );
        assert_eq!(MechanismName::new(""), None);
        assert_eq!(MechanismName::new("plain"), None);
        assert_eq!(MechanismName::new("ABCDEFGHIJKLMNOPQRSTU"), None);
        assert_eq!(MechanismName::CURVE.name(), "CURVE");
        assert_eq!(MechanismName([0xFF; 20]).name().len(), 80);
    }
}
