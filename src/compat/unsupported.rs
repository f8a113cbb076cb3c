//! The `zmq` crate's CURVE and GSSAPI accessors. zeroring provides neither
//! mechanism, so each fails with [`Error::NotSupported`] (a `zmq`-crate
//! program then builds, and learns at the call why it cannot run).

use crate::error::{Error, Result};
use crate::Socket;

macro_rules! unsupported {
    ($($name:ident($($arg:ty)?) -> $ty:ty;)*) => {
        impl Socket {$(
            #[doc = concat!("`", stringify!($name), "`: CURVE and GSSAPI are not provided.")]
            ///
            /// # Errors
            ///
            /// Always [`Error::NotSupported`].
            pub fn $name(&self $(, _value: $arg)?) -> Result<$ty> {
                Err(Error::NotSupported)
            }
        )*}
    };
}

unsupported! {
    set_curve_server(bool) -> ();
    is_curve_server() -> bool;
    set_curve_publickey(&[u8]) -> ();
    set_curve_secretkey(&[u8]) -> ();
    set_curve_serverkey(&[u8]) -> ();
    get_curve_publickey() -> Vec<u8>;
    get_curve_secretkey() -> Vec<u8>;
    get_curve_serverkey() -> Vec<u8>;
    set_gssapi_server(bool) -> ();
    is_gssapi_server() -> bool;
    set_gssapi_plaintext(bool) -> ();
    is_gssapi_plaintext() -> bool;
    set_gssapi_principal(&str) -> ();
    get_gssapi_principal() -> std::result::Result<String, Vec<u8>>;
    set_gssapi_service_principal(&str) -> ();
    get_gssapi_service_principal() -> std::result::Result<String, Vec<u8>>;
}

/// A CURVE key pair, as the `zmq` crate's; CURVE is not provided.
#[derive(Debug, Clone)]
pub struct CurveKeyPair {
    /// The public key, 32 bytes.
    pub public_key: [u8; 32],
    /// The secret key, 32 bytes.
    pub secret_key: [u8; 32],
}

impl CurveKeyPair {
    /// A new key pair (`zmq_curve_keypair`).
    ///
    /// # Errors
    ///
    /// Always [`Error::NotSupported`]: CURVE is not provided.
    pub fn new() -> Result<CurveKeyPair> {
        Err(Error::NotSupported)
    }
}
