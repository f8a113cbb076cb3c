//! CURVE keys as the `zmq` crate and libzmq hand them out:
//! `CurveKeyPair::new` (`zmq_curve_keypair`) and `curve_public`
//! (`zmq_curve_public`).

use crate::error::{Error, Result};
use crate::zmtp::curve::parse_key;
use crate::zmtp::CurveSecretKey;
use zeroize::Zeroize;

/// A CURVE key pair, as the `zmq` crate's: both keys as 32 raw bytes
/// (`z85_encode` gives the 40-character text libzmq's C API uses).
///
/// The secret key is zeroized when the pair is dropped, and `Debug` does
/// not show it.
#[derive(Clone)]
pub struct CurveKeyPair {
    /// The public key, 32 bytes.
    pub public_key: [u8; 32],
    /// The secret key, 32 bytes.
    pub secret_key: [u8; 32],
}

impl std::fmt::Debug for CurveKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveKeyPair")
            .field("public_key", &crate::zmtp::curve::z85(&self.public_key))
            .field("secret_key", &"<hidden>")
            .finish()
    }
}

impl Drop for CurveKeyPair {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

impl CurveKeyPair {
    /// A new random key pair (`zmq_curve_keypair`), from the operating
    /// system's generator.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the operating system has no random bytes to give.
    pub fn new() -> Result<CurveKeyPair> {
        let secret = CurveSecretKey::generate().map_err(|e| Error::Io(std::io::Error::other(e)))?;
        Ok(CurveKeyPair {
            public_key: secret.public_key(),
            secret_key: *secret.as_bytes(),
        })
    }
}

/// A new random CURVE key pair: [`CurveKeyPair::new`] under libzmq's name.
///
/// # Errors
///
/// As [`CurveKeyPair::new`].
pub fn curve_keypair() -> Result<CurveKeyPair> {
    CurveKeyPair::new()
}

/// The public key that goes with a CURVE secret key (`zmq_curve_public`);
/// the secret is 32 bytes or 40 Z85 characters, the public key comes back
/// as 32 bytes.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for a key of another length or a bad Z85
/// character.
pub fn curve_public(secret_key: &[u8]) -> Result<[u8; 32]> {
    let mut bytes = parse_key(secret_key).ok_or(Error::InvalidArgument(
        "a CURVE key is 32 bytes or 40 Z85 characters",
    ))?;
    let secret = CurveSecretKey::from_bytes(bytes);
    bytes.zeroize();
    Ok(secret.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypairs_and_public_keys_as_libzmq() {
        // tests/test_sodium.cpp: zmq_curve_public of this secret.
        let public = curve_public(b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs").unwrap();
        assert_eq!(
            crate::z85_encode(&public).unwrap(),
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        );
        let pair = curve_keypair().unwrap();
        assert_eq!(curve_public(&pair.secret_key).unwrap(), pair.public_key);
        assert!(!format!("{pair:?}").contains(&format!("{:?}", pair.secret_key)));
        assert!(curve_public(b"short").is_err());
    }
}
